import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLocalCertificate } from '../../src/local/localCertificate';
import { TestService } from '../support/testService';

/**
 * Transitive membership (SPEC 7) through the Kiota-generated Microsoft Graph SDK
 * (@microsoft/msgraph-sdk with @microsoft/msgraph-sdk-users) over HTTPS. The SDK is ESM only and
 * jest runs CommonJS here, so the calls run in a child .mjs script (test/kiota/transitiveClient.mjs,
 * read from the source tree: tsc does not copy .mjs files) that prints what the SDK parsed.
 */
const script = path.resolve(__dirname, '../../../test/kiota/transitiveClient.mjs');
const run = promisify(execFile);

let service: TestService;
let ca: string;
beforeAll(async () => {
  const certificate = await createLocalCertificate();
  ca = certificate.cert;
  service = await TestService.start({ tls: certificate });
});
afterAll(() => service.stop());

it('pages transitiveMemberOf, casts it to groups, and answers checkMemberGroups and getMemberGroups as the SDK parses them', async () => {
  const groups = await Promise.all(Array.from({ length: 4 }, () => service.createGroup().then((group) => group.id)));
  const stranger = (await service.createGroup()).id;
  const user = await service.createUser();
  // top <- middle <- bottom <- user, and top <- side <- bottom: top reached by two paths.
  for (const [group, member] of [
    [groups[0]!, groups[1]!],
    [groups[1]!, groups[2]!],
    [groups[0]!, groups[3]!],
    [groups[3]!, groups[2]!],
    [groups[2]!, user.id],
  ] as const) {
    const added = await service.addMember(group, member);
    if (added.status !== 204) throw new Error(`add: ${added.status} ${added.text}`);
  }
  const input = { baseUrl: service.baseUrl, token: await service.adminToken(), ca, userId: user.id, groupIds: [stranger, groups[0]!, groups[2]!] };
  const { stdout } = await run(process.execPath, [script, JSON.stringify(input)], { cwd: path.resolve(__dirname, '../../..'), timeout: 60_000 });
  const answer = JSON.parse(stdout) as { transitiveMemberOf: { id: string; type: string }[]; groupCast: string[]; checkMemberGroups: string[]; getMemberGroups: string[] };
  const sorted = [...groups].sort();
  expect(answer.transitiveMemberOf.map((entity) => entity.id)).toEqual(sorted);
  expect(new Set(answer.transitiveMemberOf.map((entity) => entity.type))).toEqual(new Set(['#microsoft.graph.group']));
  expect(answer.groupCast).toEqual(sorted);
  expect(answer.checkMemberGroups).toEqual([groups[0], groups[2]]);
  expect(answer.getMemberGroups).toEqual(sorted);
}, 90_000);
