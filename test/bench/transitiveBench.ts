import { startEmbeddedCosmos } from '../../src/local/embeddedStores';
import { closureLimits } from '../../src/membership/closure';
import { TestService } from '../support/testService';

/**
 * npm run bench, transitive section (issue 11): checkMemberGroups of 20 ids for a user 10 levels
 * deep among 1,000 groups (store rounds and requests, p50/p99 against a bare point read, GET
 * /groups/{id}, in the same run), and the closure's write amplification (store requests and
 * request bytes per nesting add and removal) at depth 1, 5 and 10 and with 50 ancestors. The
 * service runs in this process behind the test fault proxy, which counts the store requests and
 * their body bytes; rounds are counted as waves of store requests while each is delayed 200 ms.
 */
export async function measureTransitive(): Promise<{ pass: boolean; line: string }[]> {
  const cosmos = await startEmbeddedCosmos();
  process.env.TEST_COSMOS_ENDPOINT = cosmos.connection;
  const service = await TestService.start();
  const outcomes: { pass: boolean; line: string }[] = [];
  let requests = 0;
  let bytes = 0;
  service.proxy.rule = (request) => {
    requests += 1;
    bytes += Number(request.headers['content-length'] ?? 0);
    return undefined;
  };
  const add = async (groupId: string, memberId: string) => {
    const response = await service.addMember(groupId, memberId);
    if (response.status !== 204) throw new Error(`add: ${response.status} ${response.text}`);
  };
  try {
    const groups: string[] = [];
    for (let start = 0; start < 1000; start += 25) groups.push(...(await Promise.all(Array.from({ length: 25 }, () => service.createGroup().then((group) => group.id)))));
    const user = await service.createUser();
    for (let level = 1; level < 10; level += 1) await add(groups[level - 1]!, groups[level]!);
    await add(groups[9]!, user.id);
    const asked = [...groups.slice(0, 10), ...groups.slice(500, 510)];
    const check = () => service.request('POST', `/v1.0/users/${user.id}/checkMemberGroups`, { body: { groupIds: asked } });
    const answer = await check();
    if (JSON.stringify(answer.json.value) !== JSON.stringify(groups.slice(0, 10))) throw new Error(`checkMemberGroups answered ${answer.text}`);
    const timed = async (call: () => Promise<unknown>, times: number) => {
      const samples: number[] = [];
      for (let index = 0; index < times; index += 1) {
        const started = performance.now();
        await call();
        samples.push(performance.now() - started);
      }
      samples.sort((left, right) => left - right);
      return { p50: samples[Math.floor(times * 0.5)]!, p99: samples[Math.floor(times * 0.99)]! };
    };
    requests = 0;
    await check();
    const checkRequests = requests;
    // Rounds: every store request is held `roundDelay` ms, and requests that reach the store within
    // half that of the previous one belong to the same round (a request sent after an answer comes
    // at least `roundDelay` later). Counting waves, not dividing the latency by the delay, leaves out
    // the service's own time (token checks, JSON), which is no store round.
    const roundDelay = 200;
    const countRounds = async (call: () => Promise<unknown>) => {
      const roundCounts: number[] = [];
      for (let sample = 0; sample < 5; sample += 1) {
        const arrivals: number[] = [];
        service.proxy.rule = () => {
          arrivals.push(performance.now());
          return { kind: 'delay', ms: roundDelay };
        };
        await call();
        roundCounts.push(arrivals.filter((at, index) => index === 0 || at - arrivals[index - 1]! > roundDelay / 2).length);
      }
      service.proxy.rule = (request) => {
        requests += 1;
        bytes += Number(request.headers['content-length'] ?? 0);
        return undefined;
      };
      return Math.max(...roundCounts);
    };
    const rounds = await countRounds(check);
    // The same user's transitiveMemberOf, whatever the depth: the user, the journal and its direct
    // groups; their ancestors; the groups themselves (what the list shows). The user's existence is
    // read beside the closure, not before it (that took 4 rounds).
    const listMemberOf = () => service.request('GET', `/v1.0/users/${user.id}/transitiveMemberOf`);
    requests = 0;
    const listed = await listMemberOf();
    const listRequests = requests;
    if ((listed.json.value ?? []).length !== 10) throw new Error(`transitiveMemberOf answered ${listed.text}`);
    const listRounds = await countRounds(listMemberOf);
    outcomes.push({ pass: listRounds <= 3, line: `transitiveMemberOf of a user 10 levels deep: ${listRounds} store rounds (target <= 3), ${listRequests} store requests` });
    const checkTimes = await timed(check, 200);
    const readTimes = await timed(() => service.request('GET', `/v1.0/groups/${groups[0]}`), 200);
    outcomes.push({ pass: rounds <= 2, line: `checkMemberGroups (20 ids, depth 10, 1,000 groups): ${rounds} store rounds (target <= 2), ${checkRequests} store requests` });
    outcomes.push({
      pass: true,
      line: `checkMemberGroups p50 ${checkTimes.p50.toFixed(2)} ms, p99 ${checkTimes.p99.toFixed(2)} ms; GET /groups/{id} (one point read) p50 ${readTimes.p50.toFixed(2)} ms, p99 ${readTimes.p99.toFixed(2)} ms`,
    });

    // Write amplification: nest a fresh group (with one user) under the bottom of a chain of `depth`
    // groups, then remove it; and under a group with 50 ancestors.
    const measure = async (label: string, parent: string) => {
      const child = (await service.createGroup()).id;
      await add(child, (await service.createUser()).id);
      requests = 0;
      bytes = 0;
      await add(parent, child);
      const addCost = { requests, bytes };
      requests = 0;
      bytes = 0;
      const removed = await service.request('DELETE', `/v1.0/groups/${parent}/members/${child}/$ref`);
      if (removed.status !== 204) throw new Error(`remove: ${removed.status}`);
      outcomes.push({ pass: true, line: `nesting at ${label}: add ${addCost.requests} store requests, ${addCost.bytes} bytes sent; removal ${requests} requests, ${bytes} bytes` });
    };
    await measure('depth 1 (under a group in nothing)', groups[0]!);
    await measure('depth 5', groups[4]!);
    await measure('depth 10', groups[9]!);
    // 50 ancestors: a chain of 50 more groups above the top of the 10-chain's 11th group.
    const tall = groups.slice(100, 151);
    for (let level = 1; level < tall.length; level += 1) await add(tall[level - 1]!, tall[level]!);
    await measure('50 ancestors', tall[50]!);

    // The cycle check of a new nesting reads the closure (src/membership/nestingGuard.ts): the
    // refused ring at the bottom of the 10-chain and of the 51-chain, where the check alone runs
    // (a refusal writes nothing), in rounds and requests; then the bound, refused before any write.
    const nest = (groupId: string, memberId: string) =>
      service.request('POST', `/v1.0/groups/${groupId}/members/$ref`, { body: { '@odata.id': `https://graph.microsoft.com/v1.0/groups/${memberId}` } });
    for (const [label, bottom, top] of [
      ['10', groups[9]!, groups[0]!],
      ['51', tall[50]!, tall[0]!],
    ] as const) {
      requests = 0;
      const refused = await nest(bottom, top);
      const checkCost = requests;
      const checkRounds = await countRounds(() => nest(bottom, top));
      outcomes.push({
        pass: refused.status === 400 && checkRounds <= 2,
        line: `cycle check of a nesting that would close a ring ${label} groups deep: ${refused.status}, ${checkRounds} store rounds (target <= 2; the objects and the journal, then the closure), ${checkCost} store requests`,
      });
    }
    outcomes.push({
      pass: true,
      line: `bound: at most ${closureLimits.maxDocumentsPerChange} closure documents per nesting change, refused with a 400 before any write beyond it (about ${closureLimits.requestsAroundUpdate} + ${closureLimits.requestsPerDocument} store requests per document for groups with one direct neighbour on the side recomputed; test/membership/nestingLimits.test.ts)`,
    });
  } finally {
    await service.stop();
    await cosmos.close();
  }
  return outcomes;
}
