/**
 * Issue 12, item 2: GET /groups/delta over the change log, through real HTTP.
 */
import { anyString } from '../support/matchers';
import { TestService, type TestResponse } from '../support/testService';

let service: TestService;
beforeAll(async () => {
  service = await TestService.start();
});
afterAll(() => service.stop());

type Replica = Map<string, Set<string>>;

interface DeltaEntry {
  id: string;
  '@removed'?: unknown;
  'members@delta'?: { id: string; '@odata.type': string; '@removed'?: unknown }[];
  [name: string]: unknown;
}

/** A delta client: follows nextLinks to the deltaLink, applying every page to `replica`. */
async function follow(path: string, replica: Replica, headers: Record<string, string> = {}): Promise<{ deltaLink: string; pages: TestResponse[] }> {
  const pages: TestResponse[] = [];
  let next: string | undefined = path;
  for (let guard = 0; guard < 50 && next !== undefined; guard += 1) {
    const response = await service.request('GET', next, { headers });
    expect(response.status).toBe(200);
    pages.push(response);
    for (const entry of response.json.value as DeltaEntry[]) {
      if (entry['@removed'] !== undefined) {
        replica.delete(entry.id);
        continue;
      }
      const members = replica.get(entry.id) ?? new Set<string>();
      for (const member of entry['members@delta'] ?? []) {
        if (member['@removed'] === undefined) members.add(member.id);
        else members.delete(member.id);
      }
      replica.set(entry.id, members);
    }
    const nextLink: string | undefined = response.json['@odata.nextLink'];
    const deltaLink = response.json['@odata.deltaLink'] as string | undefined;
    expect(nextLink === undefined).not.toBe(deltaLink === undefined);
    if (deltaLink !== undefined) return { deltaLink: deltaLink.slice(service.baseUrl.length), pages };
    next = nextLink!.slice(service.baseUrl.length);
  }
  throw new Error('no deltaLink');
}

/** What a direct read shows for those groups: the existing ones and their members. */
async function directRead(groupIds: readonly string[]): Promise<Replica> {
  const state: Replica = new Map();
  for (const groupId of groupIds) {
    const response = await service.request('GET', `/v1.0/groups/${groupId}/members?$top=999`);
    if (response.status === 404) continue;
    expect(response.status).toBe(200);
    state.set(groupId, new Set((response.json.value as { id: string }[]).map((member) => member.id)));
  }
  return state;
}

const idFilter = (ids: readonly string[]) => encodeURIComponent(ids.map((id) => `id eq '${id}'`).join(' or '));
const sorted = (replica: Replica) => [...replica].map(([id, members]) => [id, [...members].sort()] as const).sort(([a], [b]) => a.localeCompare(b));

describe('GET /groups/delta', () => {
  it('is not taken for a group id: the first round is the full state, each group with its members, paged to a deltaLink', async () => {
    const [first, second, user, other] = [await service.createGroup(), await service.createGroup(), await service.createUser(), await service.createUser()];
    await service.addMember(first.id, user.id);
    await service.addMember(first.id, other.id);
    await service.addMember(second.id, first.id);
    const replica: Replica = new Map();
    const { pages } = await follow(`/v1.0/groups/delta?$filter=${idFilter([first.id, second.id])}`, replica, { Prefer: 'odata.maxpagesize=1' });
    expect(pages).toHaveLength(2);
    expect(pages[0]!.json['@odata.context']).toBe(`${service.baseUrl}/v1.0/$metadata#groups`);
    expect(pages[0]!.json.value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.group', displayName: anyString() });
    expect(sorted(replica)).toEqual(sorted(await directRead([first.id, second.id])));
    const secondEntry = pages.flatMap((page) => page.json.value as DeltaEntry[]).find((entry) => entry.id === second.id)!;
    expect(secondEntry['members@delta']).toEqual([{ '@odata.type': '#microsoft.graph.group', id: first.id }]);
  });

  it('replays adds and removals after the sync into exactly what a direct read shows', async () => {
    const groups = [await service.createGroup(), await service.createGroup(), await service.createGroup()];
    const users = [await service.createUser(), await service.createUser(), await service.createUser()];
    await service.addMember(groups[0]!.id, users[0]!.id);
    await service.addMember(groups[1]!.id, users[1]!.id);
    const ids = groups.map((group) => group.id);
    const replica: Replica = new Map();
    let { deltaLink } = await follow(`/v1.0/groups/delta?$filter=${idFilter(ids)}`, replica);

    await service.addMember(groups[0]!.id, users[1]!.id);
    expect((await service.request('DELETE', `/v1.0/groups/${groups[0]!.id}/members/${users[0]!.id}/$ref`)).status).toBe(204);
    await service.addMember(groups[2]!.id, groups[1]!.id);
    const round = await follow(deltaLink, replica);
    deltaLink = round.deltaLink;
    const entry = (round.pages[0]!.json.value as DeltaEntry[]).find((candidate) => candidate.id === groups[0]!.id)!;
    expect(entry['members@delta']).toEqual(
      expect.arrayContaining([
        { '@odata.type': '#microsoft.graph.user', id: users[1]!.id },
        { '@odata.type': '#microsoft.graph.user', id: users[0]!.id, '@removed': { reason: 'deleted' } },
      ]),
    );
    expect(sorted(replica)).toEqual(sorted(await directRead(ids)));

    // Removed and added again, and removed for good: the last record wins.
    expect((await service.request('DELETE', `/v1.0/groups/${groups[1]!.id}/members/${users[1]!.id}/$ref`)).status).toBe(204);
    await service.addMember(groups[1]!.id, users[1]!.id);
    expect((await service.request('DELETE', `/v1.0/groups/${groups[2]!.id}/members/${groups[1]!.id}/$ref`)).status).toBe(204);
    await follow(deltaLink, replica);
    expect(replica.get(groups[1]!.id)).toEqual(new Set([users[1]!.id]));
    expect(replica.get(groups[2]!.id)).toEqual(new Set());
    expect(sorted(replica)).toEqual(sorted(await directRead(ids)));
  });

  it('$deltatoken=latest answers no groups and a deltaLink from which the next change is reported', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    const latest = await service.request('GET', `/v1.0/groups/delta?$filter=${idFilter([group.id])}&$deltatoken=latest`);
    expect(latest.status).toBe(200);
    expect(latest.json.value).toEqual([]);
    const deltaLink = (latest.json['@odata.deltaLink'] as string).slice(service.baseUrl.length);
    // (The group's creation, within the last minute, is reported again with its whole member
    // list: lifecycle records are read again for commitLagMs, src/changes/delta.ts.)

    const other = await service.createUser();
    await service.addMember(group.id, other.id);
    const changed = await service.request('GET', deltaLink);
    expect((changed.json.value as DeltaEntry[]).find((entry) => entry.id === group.id)?.['members@delta']).toContainEqual({ '@odata.type': '#microsoft.graph.user', id: other.id });
  });

  it('$select picks properties; members only when selected', async () => {
    const [group, user] = [await service.createGroup(), await service.createUser()];
    await service.addMember(group.id, user.id);
    const plain = await service.request('GET', `/v1.0/groups/delta?$filter=${idFilter([group.id])}&$select=displayName`);
    expect(plain.json.value).toEqual([{ id: group.id, displayName: anyString() }]);
    expect(plain.json['@odata.context']).toBe(`${service.baseUrl}/v1.0/$metadata#groups(displayName)`);
    const withMembers = await service.request('GET', `/v1.0/groups/delta?$filter=${idFilter([group.id])}&$select=displayName,members`);
    expect(withMembers.json.value).toEqual([{ id: group.id, displayName: anyString(), 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: user.id }] }]);
  });

  it('answers a token older than 7 days with 410 and a Location to start again', async () => {
    const group = await service.createGroup();
    const latest = await service.request('GET', `/v1.0/groups/delta?$filter=${idFilter([group.id])}&$select=displayName&$deltatoken=latest`);
    const link = new URL(latest.json['@odata.deltaLink'] as string);
    const state = JSON.parse(Buffer.from(link.searchParams.get('$deltatoken')!, 'base64url').toString('utf8')) as { w: number };
    link.searchParams.set('$deltatoken', Buffer.from(JSON.stringify({ ...state, w: Date.now() - 8 * 24 * 3600 * 1000 })).toString('base64url'));
    const expired = await service.request('GET', `${link.pathname}${link.search}`);
    expect(expired.status).toBe(410);
    expect(expired.json.error.code).toBe('SyncStateNotFound');
    const location = new URL(expired.headers.get('location')!);
    expect(location.pathname).toBe('/v1.0/groups/delta');
    expect(location.searchParams.get('$select')).toBe('displayName');
    expect(location.searchParams.get('$filter')).toBe(`id eq '${group.id}'`);
    expect(location.searchParams.get('$deltatoken')).toBeNull();
  });

  it.each([
    ['a filter on another property', `$filter=${encodeURIComponent("displayName eq 'x'")}`, 400],
    ['more than 50 ids', `$filter=${idFilter(Array.from({ length: 51 }, (_, index) => `00000000-0000-0000-0000-${String(index).padStart(12, '0')}`))}`, 400],
    ['a token that is not ours', '$deltatoken=bm90LWEtdG9rZW4', 400],
    ['an unsupported option', '$orderby=displayName', 400],
  ])('400 for %s', async (_case, query, status) => {
    const response = await service.request('GET', `/v1.0/groups/delta?${query}`);
    expect(response.status).toBe(status);
    expect(response.json.error.code).toMatch(/BadRequest|UnsupportedQuery/);
  });

  it("refuses another tenant's token, and answers the SDKs' delta() form as delta", async () => {
    const latest = await service.request('GET', '/v1.0/groups/delta?$deltatoken=latest');
    const foreign = await service.request('GET', (latest.json['@odata.deltaLink'] as string).slice(service.baseUrl.length), {
      token: await service.appToken(['Group.Read.All'], service.otherTenantId),
    });
    expect(foreign.status).toBe(400);
    const qualified = await service.request('GET', '/v1.0/groups/microsoft.graph.delta()?$deltatoken=latest');
    expect(qualified.status).toBe(200);
    expect(qualified.json['@odata.deltaLink']).toEqual(expect.stringContaining('/v1.0/groups/microsoft.graph.delta()?$deltatoken='));
  });
});
