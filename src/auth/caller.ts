import { graphErrors } from '../http/errors';

/** Who is calling, as established by a verified Entra access token (never by headers). */
export type Caller = DelegatedCaller | ApplicationCaller;

export interface DelegatedCaller {
  readonly kind: 'user';
  readonly tenantId: string;
  /** The signed-in user's object id (`oid`): the user `/me` means. */
  readonly userId: string;
  /** The client application (`azp` in v2 tokens, `appid` in v1). */
  readonly appId: string;
  /** Delegated permissions (`scp`). */
  readonly scopes: ReadonlySet<string>;
  /** Directory role template ids the user holds (`wids`). */
  readonly roleIds: ReadonlySet<string>;
}

export interface ApplicationCaller {
  readonly kind: 'app';
  readonly tenantId: string;
  readonly appId: string;
  /** Application permissions (`roles`). */
  readonly roles: ReadonlySet<string>;
}

/** A stable identity for "the same caller" when replaying a retried request. */
export function callerKey(caller: Caller): string {
  return caller.kind === 'user' ? `user:${caller.userId}:${caller.appId}` : `app:${caller.appId}`;
}

/** The user `/me` means; an app-only token has none (SPEC: 400, not 403). */
export function signedInUserId(caller: Caller): string {
  if (caller.kind !== 'user') throw graphErrors.meRequiresDelegated();
  return caller.userId;
}
