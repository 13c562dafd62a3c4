import { randomUUID } from 'node:crypto';
import type { TestService } from '../support/testService';

/**
 * A model of the directory's edges and the transitive answers they imply, and a random driver of
 * adds and removals through real HTTP (several clients at once), shared by the model-check test
 * (small) and `npm run stress` (test/stress/transitiveStress.ts, thousands of operations).
 */
export class EdgeModel {
  /** group -> its direct members. */
  readonly members = new Map<string, Set<string>>();

  constructor(
    readonly groups: readonly string[],
    readonly users: readonly string[],
  ) {
    for (const group of groups) this.members.set(group, new Set());
  }

  has(groupId: string, memberId: string): boolean {
    return this.members.get(groupId)?.has(memberId) ?? false;
  }

  /** Every object below the group, through any path. */
  below(groupId: string): Set<string> {
    const found = new Set<string>();
    const stack = [groupId];
    while (stack.length > 0) {
      for (const member of this.members.get(stack.pop()!) ?? []) {
        if (found.has(member)) continue;
        found.add(member);
        if (this.members.has(member)) stack.push(member);
      }
    }
    return found;
  }

  /** Every group the object is in, through any path. */
  above(objectId: string): Set<string> {
    return new Set(this.groups.filter((group) => this.below(group).has(objectId)));
  }

  /** Would "member into group" close a cycle (or nest a group in itself)? */
  closesCycle(groupId: string, memberId: string): boolean {
    return groupId === memberId || (this.members.has(memberId) && this.below(memberId).has(groupId));
  }
}

export interface World {
  readonly model: EdgeModel;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Creates `groupCount` groups and `userCount` users (through HTTP, a few at once). */
export async function createWorld(service: TestService, groupCount: number, userCount: number): Promise<EdgeModel> {
  const groups: string[] = [];
  const users: string[] = [];
  for (let start = 0; start < groupCount + userCount; start += 8) {
    const made = await Promise.all(
      Array.from({ length: Math.min(8, groupCount + userCount - start) }, (_, offset) =>
        start + offset < groupCount ? service.createGroup({ description: randomUUID() }).then((group) => groups.push(group.id)) : service.createUser().then((user) => users.push(user.id)),
      ),
    );
    void made;
  }
  return new EdgeModel(groups, users);
}

/** What happened to one operation, for the counts a run reports. */
export type Outcome = 'added' | 'removed' | 'cycle' | 'refused' | 'retry';

/**
 * One round of `clients` concurrent operations on distinct edges: adds (users and groups) and
 * removals, each applied to the model only once the service answered it. The model predicts the
 * cycle refusals (the edges of a round are distinct, but two nestings of one round may close a
 * cycle together: then the service must refuse at least one, and the model takes what it answered).
 */
export async function runRound(service: TestService, model: EdgeModel, clients: number, removeShare = 0.3): Promise<Outcome[]> {
  const chosen = new Set<string>();
  const operations: { groupId: string; memberId: string; remove: boolean }[] = [];
  while (operations.length < clients) {
    const groupId = pick(model.groups);
    const existing = [...(model.members.get(groupId) ?? [])];
    const remove = existing.length > 0 && Math.random() < removeShare;
    const memberId = remove ? pick(existing) : Math.random() < 0.45 ? pick(model.groups) : pick(model.users);
    const key = `${groupId}|${memberId}`;
    if (chosen.has(key) || (!remove && model.has(groupId, memberId))) continue;
    chosen.add(key);
    operations.push({ groupId, memberId, remove });
  }
  return Promise.all(
    operations.map(async ({ groupId, memberId, remove }): Promise<Outcome> => {
      const predictedCycle = !remove && model.closesCycle(groupId, memberId);
      const response = remove ? await service.request('DELETE', `/v1.0/groups/${groupId}/members/${memberId}/$ref`) : await service.addMember(groupId, memberId);
      if (response.status === 204) {
        if (predictedCycle) throw new Error(`a nesting that closes a cycle was accepted: ${groupId} <- ${memberId}`);
        if (remove) model.members.get(groupId)!.delete(memberId);
        else model.members.get(groupId)!.add(memberId);
        return remove ? 'removed' : 'added';
      }
      if (response.status === 429 || response.status === 503) return 'retry';
      if (response.status === 400 && !remove && /cycle|itself/.test(response.text)) return 'cycle';
      throw new Error(`${remove ? 'DELETE' : 'POST'} ${groupId} <- ${memberId}: ${response.status} ${response.text}`);
    }),
  );
}

/** Differences between what the service answers and the model, over every object (empty: none). */
export async function compareWithModel(service: TestService, model: EdgeModel, sampleChecks = 10): Promise<string[]> {
  const problems: string[] = [];
  const ids = async (path: string): Promise<string[]> => {
    const found: string[] = [];
    let next: string | undefined = path;
    while (next !== undefined) {
      const response = await service.request('GET', next.replace(service.baseUrl, ''));
      if (response.status !== 200) throw new Error(`GET ${next}: ${response.status} ${response.text}`);
      found.push(...(response.json.value as { id: string }[]).map((entity) => entity.id));
      next = response.json['@odata.nextLink'];
    }
    return found.sort();
  };
  const sorted = (set: Iterable<string>) => [...set].sort();
  const same = (left: readonly string[], right: readonly string[]) => left.length === right.length && left.every((id, index) => id === right[index]);
  const work: (() => Promise<void>)[] = [];
  for (const group of model.groups) {
    work.push(async () => {
      const [members, memberOf] = await Promise.all([ids(`/v1.0/groups/${group}/transitiveMembers?$top=999`), ids(`/v1.0/groups/${group}/transitiveMemberOf`)]);
      if (!same(members, sorted(model.below(group)))) problems.push(`transitiveMembers of ${group}: ${members.length} answered, ${model.below(group).size} expected`);
      if (!same(memberOf, sorted(model.above(group)))) problems.push(`transitiveMemberOf of group ${group}: ${memberOf.length} answered, ${model.above(group).size} expected`);
    });
  }
  for (const user of model.users) {
    work.push(async () => {
      const memberOf = await ids(`/v1.0/users/${user}/transitiveMemberOf`);
      if (!same(memberOf, sorted(model.above(user)))) problems.push(`transitiveMemberOf of user ${user}: ${memberOf.length} answered, ${model.above(user).size} expected`);
    });
  }
  for (let check = 0; check < sampleChecks; check += 1) {
    work.push(async () => {
      const subject = pick([...model.users, ...model.groups]);
      const asked = Array.from({ length: 20 }, () => pick(model.groups));
      const response = await service.request('POST', `/v1.0/${model.members.has(subject) ? 'groups' : 'users'}/${subject}/checkMemberGroups`, { body: { groupIds: asked } });
      const expected = [...new Set(asked)].filter((group) => model.above(subject).has(group));
      if (response.status !== 200 || !same(response.json.value as unknown as string[], expected))
        problems.push(`checkMemberGroups of ${subject}: ${response.status} ${response.text}, expected ${JSON.stringify(expected)}`);
    });
  }
  for (let start = 0; start < work.length; start += 8) await Promise.all(work.slice(start, start + 8).map((task) => task()));
  return problems;
}
