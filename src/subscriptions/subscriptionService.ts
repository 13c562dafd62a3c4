import { randomBytes, randomUUID } from 'node:crypto';
import { callerKey, type Caller } from '../auth';
import { seesAllHiddenMemberships } from '../auth/membershipVisibility';
import type { DirectoryRepository } from '../directory/directoryRepository';
import { GraphError, graphErrors } from '../http/errors';
import { parseBody } from '../graph/validation';
import { guidPattern } from '../config/settings';
import { createSubscriptionSchema as createSchema, updateSubscriptionSchema as updateSchema } from './subscriptionSchemas';
import { checkNotificationUrl, postToChecked, UnsafeNotificationUrl, type CheckedUrl } from './notificationUrl';
import { isPlatformCallbackUrl } from './platformCallback';
import { subscriptionsPartition, ttlFor, type SubscriptionDocument, type SubscriptionStore } from './subscriptionStore';

/**
 * POST/GET/PATCH/DELETE /subscriptions (SPEC 9), as Graph's change notifications for groups
 * (https://learn.microsoft.com/graph/api/subscription-post-subscriptions,
 * https://learn.microsoft.com/graph/change-notifications-delivery-webhooks).
 */

/** Graph's maximum lifetime of a subscription to groups: 41,760 minutes (29 days). */
export const maxExpirationMinutes = 41_760;
/** Graph gives the receiver 10 seconds to answer the validation request. */
export const validationTimeoutMs = 10_000;
const maxClientStateLength = 128;
const supportedChangeTypes = ['updated', 'deleted'] as const;

const invalid = (message: string) => new GraphError('InvalidRequest', message);

/** `groups`, `groups/{id}`, `groups/{id}/members`: the group resources Graph notifies about. */
function parseResource(value: string): { resource: string; groupId?: string } {
  const match = /^\/?groups(?:\/([^/]+)(\/members)?)?\/?$/i.exec(value.trim());
  if (match === null) throw invalid(`Resource '${value}' is not supported. Supported resources: groups, groups/{id}, groups/{id}/members.`);
  const groupId = match[1]?.toLowerCase();
  if (groupId === undefined) return { resource: 'groups' };
  if (!guidPattern.test(groupId)) throw graphErrors.invalidObjectId(groupId);
  return { resource: `groups/${groupId}${match[2] === undefined ? '' : '/members'}`, groupId };
}

function parseChangeType(value: string): string {
  const types = value.split(',').map((type) => type.trim());
  for (const type of types) {
    if (!(supportedChangeTypes as readonly string[]).includes(type)) {
      throw invalid(`'${type}' is not a supported value for changeType. Supported values for groups are: updated, deleted.`);
    }
  }
  return [...new Set(types)].join(',');
}

function parseExpiration(value: string, nowMs: number): number {
  const atMs = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(atMs)) throw graphErrors.invalidPropertyValue('expirationDateTime', 'subscription');
  if (atMs <= nowMs) throw invalid('Subscription expiration time must be in the future.');
  if (atMs > nowMs + maxExpirationMinutes * 60_000) throw invalid(`Subscription expiration can only be ${maxExpirationMinutes} minutes in the future.`);
  return atMs;
}

/**
 * The validation handshake: POST {url}?validationToken=… and expect, within 10 seconds, 200 with
 * a text/plain body that is the token (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#notificationurl-validation).
 * Anything else is Graph's 400; an unsafe URL is refused before any connection.
 */
export async function validateReceiver(property: 'notificationUrl' | 'lifecycleNotificationUrl', value: string): Promise<void> {
  const checked = await checkedReceiver(property, value);
  // The platform's signed callback URL cannot echo the token; it is checked above and not called (platformCallback.ts).
  if (isPlatformCallbackUrl(checked.url)) return;
  const token = `Validation: ${randomBytes(24).toString('base64url')}`;
  const target = new URL(checked.url);
  target.searchParams.set('validationToken', token);
  let outcome;
  try {
    outcome = await postToChecked({ url: target, address: checked.address }, '', 'text/plain; charset=utf-8', validationTimeoutMs);
  } catch (error) {
    const timedOut = (error as { name?: string }).name === 'TimeoutError' || (error as { name?: string }).name === 'AbortError';
    throw new GraphError(
      'ValidationError',
      timedOut ? 'Subscription validation request timed out.' : 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
    );
  }
  if (outcome.status !== 200) throw new GraphError('ValidationError', 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.');
  if (!/^text\/plain\b/i.test(outcome.contentType) || outcome.body !== token) {
    throw new GraphError('ValidationError', 'Subscription validation request failed. Response must exactly match validationToken query parameter.');
  }
}

/** The URL checks alone (scheme, every resolved address), with Graph's 400: no connection is made. */
async function checkedReceiver(property: 'notificationUrl' | 'lifecycleNotificationUrl', value: string): Promise<CheckedUrl> {
  try {
    return await checkNotificationUrl(value);
  } catch (error) {
    if (error instanceof UnsafeNotificationUrl) throw invalid(`The ${property} '${value}' is not allowed: ${error.message}.`);
    throw error;
  }
}

export function subscriptionEntity(document: SubscriptionDocument): Record<string, unknown> {
  return {
    id: document.id,
    resource: document.resource,
    applicationId: document.applicationId,
    changeType: document.changeType,
    clientState: document.clientState,
    notificationUrl: document.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: document.lifecycleNotificationUrl,
    expirationDateTime: document.expirationDateTime,
    creatorId: document.creatorId,
    includeResourceData: false,
    latestSupportedTlsVersion: 'v1_2',
    encryptionCertificate: null,
    encryptionCertificateId: null,
    notificationUrlAppId: null,
  };
}

export class SubscriptionService {
  constructor(
    private readonly store: SubscriptionStore,
    private readonly directory: DirectoryRepository,
  ) {}

  async create(caller: Caller, body: unknown, nowMs = Date.now()): Promise<SubscriptionDocument> {
    const input = parseBody(createSchema, body, 'subscription');
    const { resource, groupId } = parseResource(input.resource);
    const changeType = parseChangeType(input.changeType);
    const expiresAtMs = parseExpiration(input.expirationDateTime, nowMs);
    const clientState = input.clientState ?? null;
    if (clientState !== null && clientState.length > maxClientStateLength) throw invalid(`The length of clientState exceeds the maximum of ${maxClientStateLength} characters.`);
    if (groupId !== undefined) {
      const group = await this.directory.getObject(caller.tenantId, groupId);
      if (group?.objectType !== 'group') throw graphErrors.resourceNotFound(groupId);
    }
    // Checked (scheme, addresses) before any handshake, so a bad lifecycle URL makes no connection to the other.
    const lifecycleNotificationUrl = input.lifecycleNotificationUrl ?? null;
    if (lifecycleNotificationUrl !== null) await checkedReceiver('lifecycleNotificationUrl', lifecycleNotificationUrl);
    await validateReceiver('notificationUrl', input.notificationUrl);
    if (lifecycleNotificationUrl !== null) await validateReceiver('lifecycleNotificationUrl', lifecycleNotificationUrl);
    const document: SubscriptionDocument = {
      id: randomUUID(),
      pk: subscriptionsPartition(caller.tenantId),
      kind: 'subscription',
      tenantId: caller.tenantId,
      ownerKey: callerKey(caller),
      applicationId: caller.appId,
      creatorId: caller.kind === 'user' ? caller.userId : caller.appId,
      seesHiddenMemberships: seesAllHiddenMemberships(caller),
      resource,
      changeType,
      clientState,
      notificationUrl: input.notificationUrl,
      lifecycleNotificationUrl,
      expirationDateTime: new Date(expiresAtMs).toISOString(),
      expiresAtMs,
      // Taken after the handshake, just before the write: the outbox sends the changes recorded from then on.
      createdAtMs: Date.now(),
      ttl: ttlFor(expiresAtMs, nowMs),
    };
    await this.store.create(document);
    return document;
  }

  /** The caller's own subscription, live; anyone else's, or an expired one, is 404. */
  async get(caller: Caller, id: string, nowMs = Date.now()): Promise<SubscriptionDocument> {
    const document = guidPattern.test(id) ? await this.store.get(caller.tenantId, id.toLowerCase()) : undefined;
    if (document === undefined || document.ownerKey !== callerKey(caller) || document.expiresAtMs <= nowMs) {
      throw new GraphError('NotFound', `The object was not found. Subscription '${id}' does not exist.`);
    }
    return document;
  }

  async list(caller: Caller, nowMs = Date.now()): Promise<SubscriptionDocument[]> {
    const key = callerKey(caller);
    return (await this.store.listOfTenant(caller.tenantId)).filter((document) => document.ownerKey === key && document.expiresAtMs > nowMs).sort((a, b) => a.id.localeCompare(b.id));
  }

  /** PATCH: renewal, the expiry being the one property that may change. */
  async renew(caller: Caller, id: string, body: unknown, nowMs = Date.now()): Promise<SubscriptionDocument> {
    const input = parseBody(updateSchema, body, 'subscription');
    const current = await this.get(caller, id, nowMs);
    const expiresAtMs = parseExpiration(input.expirationDateTime, nowMs);
    const next: SubscriptionDocument = { ...current, expirationDateTime: new Date(expiresAtMs).toISOString(), expiresAtMs, ttl: ttlFor(expiresAtMs, nowMs) };
    await this.store.replace(next);
    return next;
  }

  /**
   * POST /subscriptions/{id}/reauthorize: the caller (its token and permission checked by the
   * pipeline, as for every request) shows it still has access; 204. The expiry does not move
   * (Graph's reauthorize: https://learn.microsoft.com/graph/api/subscription-reauthorize).
   */
  async reauthorize(caller: Caller, id: string, nowMs = Date.now()): Promise<void> {
    const current = await this.get(caller, id, nowMs);
    await this.store.replace({ ...current, reauthorizedAtMs: nowMs, seesHiddenMemberships: seesAllHiddenMemberships(caller) });
  }

  async delete(caller: Caller, id: string): Promise<void> {
    const current = await this.get(caller, id);
    await this.store.delete(current.tenantId, current.id);
  }
}
