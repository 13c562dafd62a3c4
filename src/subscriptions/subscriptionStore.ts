import type { Container } from '@azure/cosmos';

/**
 * Subscriptions (SPEC 9) are kept per tenant in the memberships container, in their own
 * partition `{tid}|subscriptions` (kind 'subscription'), beside the outbox's progress for that
 * tenant (kind 'outboxProgress', src/subscriptions/outbox.ts). A tenant's subscriptions are read as
 * one partition (pk, kind: indexed); the outbox finds every tenant with subscriptions by one
 * cross-partition query on kind. A document expires (per-item ttl) a day after its subscription
 * does, so an expired subscription still answers 404 rather than vanishing mid-renewal race,
 * and nothing lingers.
 */
export interface SubscriptionDocument {
  readonly id: string;
  readonly pk: string;
  readonly kind: 'subscription';
  readonly tenantId: string;
  /** Who created it (src/auth/caller.ts callerKey): only that caller sees and changes it. */
  readonly ownerKey: string;
  readonly applicationId: string;
  readonly creatorId: string;
  /**
   * Whether its creator saw every HiddenMembership group's members when it created (or last
   * reauthorized) it: a role, or Directory.Read.All (src/auth/membershipVisibility.ts). Absent on
   * older documents: no (src/subscriptions/hiddenMembers.ts).
   */
  readonly seesHiddenMemberships?: boolean;
  readonly resource: string;
  readonly changeType: string;
  readonly clientState: string | null;
  readonly notificationUrl: string;
  readonly lifecycleNotificationUrl: string | null;
  readonly expirationDateTime: string;
  readonly expiresAtMs: number;
  /** When it was stored (service clock): it is notified of the changes recorded from then on (src/subscriptions/outbox.ts). */
  readonly createdAtMs?: number;
  /** The expiry (expiresAtMs) a reauthorizationRequired was sent for: one challenge per expiry (src/subscriptions/reauthorization.ts). */
  readonly reauthorizationRequestedForMs?: number;
  /** When its creator last reauthorized it (POST /subscriptions/{id}/reauthorize). */
  readonly reauthorizedAtMs?: number;
  readonly ttl: number;
}

export interface OutboxProgressDocument {
  readonly id: typeof outboxProgressId;
  readonly pk: string;
  readonly kind: 'outboxProgress';
  readonly tenantId: string;
  /** Change records at or before this writer-clock time have been dispatched (minus the lag, src/changes/changeReads.ts). */
  readonly watermarkMs: number;
  /** Change ids dispatched within the lag window before the watermark: read again, never sent again. */
  readonly recent: readonly { readonly changeId: string; readonly atMs: number }[];
  /** The subscriptions the last dispatch sent to: one not listed is new, and gets every change since its creation. */
  readonly subscriptionIds: readonly string[];
  /** The run dispatching now, until when (src/subscriptions/outbox.ts): other runs wait instead of sending the same changes. */
  readonly lease?: { readonly runId: string; readonly untilMs: number };
  readonly _etag?: string;
}

export const outboxProgressId = '$outbox';
export const subscriptionsPartition = (tenantId: string): string => `${tenantId}|subscriptions`;
/** A day past expiry: long enough for any delivery in flight to see it expired and stop. */
export const ttlFor = (expiresAtMs: number, nowMs = Date.now()): number => Math.max(60, Math.ceil((expiresAtMs - nowMs) / 1000) + 24 * 3600);

export class SubscriptionStore {
  constructor(readonly container: Container) {}

  async create(document: SubscriptionDocument): Promise<void> {
    await this.container.items.create(document);
  }

  async get(tenantId: string, id: string): Promise<SubscriptionDocument | undefined> {
    try {
      const { resource } = await this.container.item(id, subscriptionsPartition(tenantId)).read<SubscriptionDocument>();
      return resource?.kind === 'subscription' ? resource : undefined;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  async listOfTenant(tenantId: string): Promise<SubscriptionDocument[]> {
    const { resources } = await this.container.items
      .query<SubscriptionDocument>(
        { query: "SELECT * FROM c WHERE c.pk = @pk AND c.kind = 'subscription'", parameters: [{ name: '@pk', value: subscriptionsPartition(tenantId) }] },
        { partitionKey: subscriptionsPartition(tenantId) },
      )
      .fetchAll();
    return resources;
  }

  /** Every subscription of every tenant (the outbox's one cross-partition read per run). */
  async listAll(): Promise<SubscriptionDocument[]> {
    const { resources } = await this.container.items.query<SubscriptionDocument>("SELECT * FROM c WHERE c.kind = 'subscription'").fetchAll();
    return resources;
  }

  async replace(document: SubscriptionDocument): Promise<void> {
    await this.container.item(document.id, document.pk).replace(document);
  }

  /**
   * Sets (or, with `undefined`, clears) the expiry a reauthorizationRequired was sent for, only if
   * the subscription is as it was read (If-Match): the stored document, or undefined when it
   * changed or went meanwhile (another instance's pass, a renewal, a deletion).
   */
  async setReauthorizationRequested(read: SubscriptionDocument, forExpiryMs: number | undefined): Promise<SubscriptionDocument | undefined> {
    const { _etag: etag, _rid, _self, _ts, _attachments, reauthorizationRequestedForMs: _previous, ...document } = read as SubscriptionDocument & Record<string, unknown>;
    void [_rid, _self, _ts, _attachments, _previous];
    try {
      const { resource } = await this.container
        .item(read.id, read.pk)
        .replace<SubscriptionDocument>(
          { ...(document as unknown as SubscriptionDocument), ...(forExpiryMs === undefined ? {} : { reauthorizationRequestedForMs: forExpiryMs }) },
          typeof etag === 'string' ? { accessCondition: { type: 'IfMatch', condition: etag } } : {},
        );
      return resource;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 404 || code === 412) return undefined;
      throw error;
    }
  }

  /** True when it existed. */
  async delete(tenantId: string, id: string): Promise<boolean> {
    try {
      await this.container.item(id, subscriptionsPartition(tenantId)).delete();
      return true;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return false;
      throw error;
    }
  }

  async readProgress(tenantId: string): Promise<OutboxProgressDocument | undefined> {
    try {
      const { resource } = await this.container.item(outboxProgressId, subscriptionsPartition(tenantId)).read<OutboxProgressDocument>();
      return resource;
    } catch (error) {
      if ((error as { code?: number }).code === 404) return undefined;
      throw error;
    }
  }

  /**
   * Writes progress only if nobody else did since it was read (If-Match), so two runs never both
   * move it: the document as stored (with its new etag), or undefined when another run wrote first.
   */
  async writeProgress(previous: OutboxProgressDocument | undefined, next: Omit<OutboxProgressDocument, '_etag'>): Promise<OutboxProgressDocument | undefined> {
    try {
      const { resource } =
        previous?._etag === undefined
          ? await this.container.items.create(next)
          : await this.container.item(next.id, next.pk).replace(next, { accessCondition: { type: 'IfMatch', condition: previous._etag } });
      return resource;
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 409 || code === 412) return undefined;
      throw error;
    }
  }
}
