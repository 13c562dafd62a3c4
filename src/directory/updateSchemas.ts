import { z } from 'zod';
import { parseBody } from '../graph/validation';
import { graphErrors } from '../http/errors';
import { mailNickname, userPrincipalName, userProfileProperties } from './schemas';

/**
 * PATCH /users/{id} and PATCH /groups/{id} (SPEC 6): what a body may change, following Graph's
 * "Update user" and "Update group" (https://learn.microsoft.com/graph/api/user-update,
 * https://learn.microsoft.com/graph/api/group-update). Three kinds of property name:
 * - writable: typed here; a wrong type is a 400 naming the property;
 * - read-only (Graph declares them but the directory sets them): 400 "Property 'x' is read-only
 *   and cannot be set.", checked first, so that the name the caller should drop is the one named;
 * - anything else: 400 "Property 'x' does not exist as a declared property or extension
 *   property." (strictObject). An empty body changes nothing (204), as in Graph.
 */

const displayName = z.string().min(1).max(256);
const bindLinks = z.array(z.string()).max(20);

export const updateUserSchema = z.strictObject({
  '@odata.type': z.literal('#microsoft.graph.user').optional(),
  displayName: displayName.optional(),
  userPrincipalName: userPrincipalName.optional(),
  ...userProfileProperties,
});

export type UpdateUserInput = z.output<typeof updateUserSchema>;

/** User properties Graph declares and the directory sets: never from a PATCH. */
export const readOnlyUserProperties = [
  'id',
  'createdDateTime',
  'deletedDateTime',
  'creationType',
  'externalUserState',
  'externalUserStateChangeDateTime',
  'lastPasswordChangeDateTime',
  'onPremisesDistinguishedName',
  'onPremisesDomainName',
  'onPremisesLastSyncDateTime',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'onPremisesUserPrincipalName',
  'proxyAddresses',
  'securityIdentifier',
  'signInSessionsValidFromDateTime',
] as const;

export const updateGroupSchema = z
  .strictObject({
    '@odata.type': z.literal('#microsoft.graph.group').optional(),
    displayName: displayName.optional(),
    description: z.string().max(1024).nullable().optional(),
    mailNickname: mailNickname.optional(),
    visibility: z.enum(['Public', 'Private', 'HiddenMembership']).nullable().optional(),
    groupTypes: z
      .array(z.enum(['Unified', 'DynamicMembership']))
      .max(2)
      .optional(),
    membershipRule: z.string().min(1).max(3072).nullable().optional(),
    securityEnabled: z.boolean().optional(),
    classification: z.string().nullable().optional(),
    preferredDataLocation: z.string().nullable().optional(),
    preferredLanguage: z.string().nullable().optional(),
    theme: z.string().nullable().optional(),
    'owners@odata.bind': bindLinks.optional(),
    'members@odata.bind': bindLinks.optional(),
  })
  .refine((group) => (group['owners@odata.bind']?.length ?? 0) + (group['members@odata.bind']?.length ?? 0) <= 20, {
    path: ['members@odata.bind'],
  });

export type UpdateGroupInput = z.output<typeof updateGroupSchema>;

/**
 * Group properties of Graph's group type that a PATCH cannot set: what the directory sets
 * itself, and what is fixed at creation (mailEnabled, isAssignableToRole; Graph's update page
 * does not list them as updatable).
 */
export const readOnlyGroupProperties = [
  'id',
  'createdDateTime',
  'deletedDateTime',
  'renewedDateTime',
  'expirationDateTime',
  'mail',
  'mailEnabled',
  'isAssignableToRole',
  'proxyAddresses',
  'securityIdentifier',
  'membershipRuleProcessingState',
  'hasMembersWithLicenseErrors',
  'licenseProcessingState',
  'onPremisesDomainName',
  'onPremisesLastSyncDateTime',
  'onPremisesNetBiosName',
  'onPremisesProvisioningErrors',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'isFavorite',
  'isSubscribedByMail',
  'unseenCount',
  'unseenConversationsCount',
  'unseenMessagesCount',
] as const;

/** Parses a PATCH body: read-only names first, then the schema (parseBody's Graph wording). */
function parseUpdate<T extends z.ZodType>(schema: T, readOnly: readonly string[], body: unknown, resourceName: string): z.output<T> {
  if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
    const named = Object.keys(body).find((name) => readOnly.includes(name));
    if (named !== undefined) throw graphErrors.readOnlyProperty(named);
  }
  return parseBody(schema, body, resourceName);
}

export const parseUserUpdate = (body: unknown): UpdateUserInput => parseUpdate(updateUserSchema, readOnlyUserProperties, body, 'User');
export const parseGroupUpdate = (body: unknown): UpdateGroupInput => parseUpdate(updateGroupSchema, readOnlyGroupProperties, body, 'Group');
