/**
 * Issue 8, item 4: no sequence or timing of nestings, on any number of instances, under store
 * faults, may leave a cycle. Two instances (this process's host and a second process) share one
 * store behind the fault proxy; opposing nestings are sent to both at the same moment.
 */
import { getCosmosStore } from '../../src/store/cosmosStore';
import { checkMembershipConsistency } from '../../src/tools/checkConsistency';
import { isGroupSideCreate, isMemberSideWrite } from '../support/faultProxy';
import { parseJsonOrUndefined } from '../support/jsonText';
import { TestService } from '../support/testService';
import { SecondInstance } from '../support/secondInstance';

jest.setTimeout(120_000);

let service: TestService;
let second: SecondInstance;
beforeAll(async () => {
  service = await TestService.start();
  second = await SecondInstance.start();
});
afterAll(async () => {
  await second?.stop();
  await service.stop();
});
afterEach(() => {
  service.proxy.rule = () => undefined;
});

const cycleMessage = 'The nesting would create a cycle: the group is already a direct or indirect member of the member being added.';

/** "memberId into groupId" on one of the two instances, through the documented S1 route. */
async function nest(instance: 1 | 2, groupId: string, memberId: string): Promise<{ status: number; message?: string }> {
  const baseUrl = instance === 1 ? service.baseUrl : second.baseUrl;
  // One form names a group, the other a directoryObject: the guard is read early or late.
  const collection = instance === 1 ? 'groups' : 'directoryObjects';
  const response = await fetch(`${baseUrl}/v1.0/groups/${groupId}/members/$ref`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${await service.adminToken()}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ '@odata.id': `https://graph.microsoft.com/v1.0/${collection}/${memberId}` }),
  });
  const json = parseJsonOrUndefined(await response.text()) as { error?: { message?: string } } | undefined;
  return { status: response.status, ...(json?.error?.message === undefined ? {} : { message: json.error.message }) };
}

async function cyclesInTenant(): Promise<unknown[]> {
  const store = await getCosmosStore();
  return [...(await checkMembershipConsistency(store.memberships, { tenantId: service.tenantId })).cycles];
}

const groups = (count: number) => Promise.all(Array.from({ length: count }, () => service.createGroup().then((group) => group.id)));

describe('racing nestings over two instances', () => {
  it('"A into B" and "B into A" at the same moment, 30 times: exactly one succeeds, the other is the cycle 400, no cycle is stored', async () => {
    const outcomes: string[] = [];
    const refusals: string[] = [];
    for (let trial = 0; trial < 30; trial += 1) {
      const [a, b] = await groups(2);
      const answers = await Promise.all([nest(1, b!, a!), nest(2, a!, b!)]);
      outcomes.push(
        answers
          .map((answer) => answer.status)
          .sort((x, y) => x - y)
          .join(','),
      );
      refusals.push(...answers.filter((answer) => answer.status === 400).map((answer) => answer.message ?? ''));
    }
    expect(outcomes.filter((outcome) => outcome !== '204,400')).toEqual([]);
    expect(refusals).toEqual(Array.from({ length: 30 }, () => cycleMessage));
    expect(await cyclesInTenant()).toEqual([]);
  });

  it('three-group rings split over the instances, 10 times: never all three, no cycle is stored', async () => {
    for (let trial = 0; trial < 10; trial += 1) {
      const [a, b, c] = await groups(3);
      const answers = await Promise.all([nest(1, b!, a!), nest(2, c!, b!), nest(trial % 2 === 0 ? 1 : 2, a!, c!)]);
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 204).length).toBeLessThan(3);
      expect(statuses.every((status) => status === 204 || status === 400)).toBe(true);
    }
    expect(await cyclesInTenant()).toEqual([]);
  });

  it('a nesting whose member-side write failed (503) leaves nothing, so the opposite nesting succeeds and no cycle forms', async () => {
    const [a, b] = await groups(2);
    service.proxy.rule = (request) => (isMemberSideWrite(request) ? { kind: 'status', status: 503 } : undefined);
    expect((await nest(1, b!, a!)).status).toBe(503);
    service.proxy.rule = () => undefined;
    expect(await service.storedEdges(b!, a!)).toEqual({ groupSide: false, memberSide: false });
    expect((await nest(2, a!, b!)).status).toBe(204);
    expect(await nest(1, b!, a!)).toEqual({ status: 400, message: cycleMessage });
    expect(await cyclesInTenant()).toEqual([]);
  });

  it('a nesting left half-written (member side and its take-back both failed) still counts: the opposite nesting is the cycle 400', async () => {
    const [a, b] = await groups(2);
    // The group side's take-back is a batch too (the delete and its change record): every
    // group-side batch after the add's own fails, as a DELETE does.
    let groupSideBatches = 0;
    service.proxy.rule = (request) =>
      isMemberSideWrite(request) || request.method === 'DELETE' || (isGroupSideCreate(request) && request.headers['x-ms-cosmos-is-batch-request'] !== undefined && (groupSideBatches += 1) > 1)
        ? { kind: 'status', status: 503 }
        : undefined;
    expect((await nest(1, b!, a!)).status).toBe(503);
    service.proxy.rule = () => undefined;
    // Only the group side (the truth) holds "A in B": the walk must read it, not the index.
    expect(await service.storedEdges(b!, a!)).toEqual({ groupSide: true, memberSide: false });
    expect(await nest(2, a!, b!)).toEqual({ status: 400, message: cycleMessage });
    expect(await cyclesInTenant()).toEqual([]);
    // The first nesting's retry completes it into the answer a first success gives.
    expect((await nest(2, b!, a!)).status).toBe(204);
    expect(await service.storedEdges(b!, a!)).toEqual({ groupSide: true, memberSide: true });
  });

  it('opposing nestings under 503s on a share of store requests: no cycle, every answer 204, 400, 429 or 503', async () => {
    let counter = 0;
    service.proxy.rule = () => (++counter % 5 === 0 ? { kind: 'status', status: 503 } : undefined);
    const statuses = new Set<number>();
    for (let trial = 0; trial < 15; trial += 1) {
      const [a, b] = await groups(2).catch(async () => {
        service.proxy.rule = () => undefined;
        return groups(2);
      });
      service.proxy.rule = () => (++counter % 5 === 0 ? { kind: 'status', status: 503 } : undefined);
      const answers = await Promise.all([nest(1, b!, a!), nest(2, a!, b!)]);
      for (const answer of answers) statuses.add(answer.status);
    }
    service.proxy.rule = () => undefined;
    expect([...statuses].filter((status) => ![204, 400, 429, 503].includes(status))).toEqual([]);
    expect(await cyclesInTenant()).toEqual([]);
  });
});
