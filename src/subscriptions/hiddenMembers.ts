import { isHiddenMembership } from '../auth/membershipVisibility';
import { isMembershipChange } from '../changes/changeLog';
import type { Repositories } from '../store/repositories';
import type { NotifiedChange } from './notificationQueue';
import type { SubscriptionDocument } from './subscriptionStore';

/**
 * SPEC 2 for change notifications: a HiddenMembership group's members reach only the subscribers
 * who may list them, as GET …/members and delta already decide. A subscription whose creator saw
 * every hidden membership (`seesHiddenMemberships`) gets every change as it is; any other gets a
 * member add or removal of a hidden group without the member (an `updated` of the group, as an
 * owner change is notified), unless its creator is a user who owns or is a member of the group,
 * or is the member itself. Without this, an outsider subscribed to `groups` read the members of a
 * hidden group in `members@delta` although GET members answered it 403.
 *
 * One filter serves one outbox run: each group's visibility, and each creator's place in a group,
 * is read once per run (point reads, only for membership changes, and only for subscriptions that
 * do not see every hidden membership). A store fault fails the run, which sends again later.
 */
export class HiddenMembershipFilter {
  private readonly hidden = new Map<string, Promise<boolean>>();
  private readonly belongs = new Map<string, Promise<boolean>>();

  constructor(
    private readonly repositories: Repositories,
    private readonly tenantId: string,
  ) {}

  async apply(subscription: SubscriptionDocument, changes: readonly NotifiedChange[]): Promise<NotifiedChange[]> {
    if (subscription.seesHiddenMemberships === true) return [...changes];
    return Promise.all(changes.map(async (change) => ((await this.mayName(subscription, change)) ? change : withoutMember(change))));
  }

  private async mayName(subscription: SubscriptionDocument, change: NotifiedChange): Promise<boolean> {
    if (change.memberId === undefined || !isMembershipChange(change)) return true;
    if (!(await this.isHidden(change.groupId))) return true;
    // Only a delegated creator can belong to the group (an app holds no memberships).
    if (!subscription.ownerKey.startsWith('user:')) return false;
    return subscription.creatorId === change.memberId || (await this.creatorBelongs(subscription.creatorId, change.groupId));
  }

  private isHidden(groupId: string): Promise<boolean> {
    let known = this.hidden.get(groupId);
    if (known === undefined) {
      // A group gone by now is treated as hidden: its members are not named on a guess.
      known = this.repositories.directory.getObject(this.tenantId, groupId).then((group) => group === undefined || isHiddenMembership(group.entity));
      this.hidden.set(groupId, known);
    }
    return known;
  }

  private creatorBelongs(userId: string, groupId: string): Promise<boolean> {
    const key = `${userId}|${groupId}`;
    let known = this.belongs.get(key);
    if (known === undefined) {
      const { memberships } = this.repositories;
      known = Promise.all([memberships.isOwner(this.tenantId, groupId, userId), memberships.getMembership(this.tenantId, groupId, userId)]).then(([owner, member]) => owner || member !== undefined);
      this.belongs.set(key, known);
    }
    return known;
  }
}

function withoutMember(change: NotifiedChange): NotifiedChange {
  const { memberId: _member, ...rest } = change;
  return rest;
}
