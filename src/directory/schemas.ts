import { z } from 'zod';
import { guidPattern } from '../config/settings';

/** Edm.DateTimeOffset as Graph writes it: up to seven fractional digits and an offset. */
const dateTimeOffset = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})$/)
  .refine((value) => !Number.isNaN(Date.parse(value)));
const int32 = z.number().int().min(-2147483648).max(2147483647);
const guid = z.string().regex(guidPattern);
const odataType = z.string().optional();

/** Complex types the group table names; their own `@odata.type` is tolerated. */
const assignedLabel = z.strictObject({ '@odata.type': odataType, labelId: z.string().nullable().optional(), displayName: z.string().nullable().optional() });
const assignedLicense = z.strictObject({ '@odata.type': odataType, disabledPlans: z.array(guid).optional(), skuId: guid.nullable().optional() });
const licenseProcessingState = z.strictObject({ '@odata.type': odataType, state: z.string().nullable().optional() });
const onPremisesProvisioningError = z.strictObject({
  '@odata.type': odataType,
  value: z.string().nullable().optional(),
  category: z.string().nullable().optional(),
  propertyCausingError: z.string().nullable().optional(),
  occurredDateTime: dateTimeOffset.nullable().optional(),
});

/** seeds/000 ("Create memberOf"): the directoryObject table. */
export const directoryObjectProperties = {
  id: z.string(),
  deletedDateTime: dateTimeOffset.nullable(),
};

/**
 * seeds/003 ("Add joinedGroups"): the group table, property by property, with its types. Every
 * property is nullable as in Graph's metadata. accessType is an enumeration on the wire but the
 * seed's own example sends "String", so only its type is checked.
 */
export const groupProperties = {
  ...directoryObjectProperties,
  assignedLabels: z.array(assignedLabel).nullable(),
  assignedLicenses: z.array(assignedLicense).nullable(),
  classification: z.string().nullable(),
  createdDateTime: dateTimeOffset.nullable(),
  description: z.string().nullable(),
  displayName: z.string().nullable(),
  groupTypes: z.array(z.string()).nullable(),
  hasMembersWithLicenseErrors: z.boolean().nullable(),
  isAssignableToRole: z.boolean().nullable(),
  licenseProcessingState: licenseProcessingState.nullable(),
  mail: z.string().nullable(),
  mailEnabled: z.boolean().nullable(),
  mailNickname: z.string().nullable(),
  mdmAppId: z.string().nullable(),
  membershipRule: z.string().nullable(),
  membershipRuleProcessingState: z.string().nullable(),
  onPremisesDomainName: z.string().nullable(),
  onPremisesLastSyncDateTime: dateTimeOffset.nullable(),
  onPremisesNetBiosName: z.string().nullable(),
  onPremisesProvisioningErrors: z.array(onPremisesProvisioningError).nullable(),
  onPremisesSamAccountName: z.string().nullable(),
  onPremisesSecurityIdentifier: z.string().nullable(),
  onPremisesSyncEnabled: z.boolean().nullable(),
  preferredDataLocation: z.string().nullable(),
  preferredLanguage: z.string().nullable(),
  proxyAddresses: z.array(z.string()).nullable(),
  renewedDateTime: dateTimeOffset.nullable(),
  resourceBehaviorOptions: z.array(z.string()).nullable(),
  resourceProvisioningOptions: z.array(z.string()).nullable(),
  securityEnabled: z.boolean().nullable(),
  securityIdentifier: z.string().nullable(),
  theme: z.string().nullable(),
  visibility: z.string().nullable(),
  accessType: z.string().nullable(),
  allowExternalSenders: z.boolean().nullable(),
  autoSubscribeNewMembers: z.boolean().nullable(),
  isFavorite: z.boolean().nullable(),
  isSubscribedByMail: z.boolean().nullable(),
  unseenCount: int32.nullable(),
  unseenConversationsCount: int32.nullable(),
  unseenMessagesCount: int32.nullable(),
  hideFromOutlookClients: z.boolean().nullable(),
  hideFromAddressLists: z.boolean().nullable(),
  isArchived: z.boolean().nullable(),
} as const;

/** Properties the directory sets itself: accepted on create as Graph does, never stored from input. */
export const serverManagedGroupProperties = [
  'id',
  'deletedDateTime',
  'createdDateTime',
  'renewedDateTime',
  'securityIdentifier',
  'onPremisesDomainName',
  'onPremisesLastSyncDateTime',
  'onPremisesNetBiosName',
  'onPremisesProvisioningErrors',
  'onPremisesSamAccountName',
  'onPremisesSecurityIdentifier',
  'onPremisesSyncEnabled',
  'hasMembersWithLicenseErrors',
  'licenseProcessingState',
  'membershipRuleProcessingState',
  'mail',
  'proxyAddresses',
  'isFavorite',
  'isSubscribedByMail',
  'unseenCount',
  'unseenConversationsCount',
  'unseenMessagesCount',
] as const;

const bindLinks = z.array(z.string()).max(20);
export const mailNickname = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/)
  .refine((value) => !/[@()\\[\]";:<>,]/.test(value));
const groupTypeValue = z.enum(['Unified', 'DynamicMembership']);

/** POST /groups: the SPEC's required and optional properties on top of the seed's table. */
export const createGroupSchema = z
  .strictObject({
    ...Object.fromEntries(Object.entries(groupProperties).map(([name, type]) => [name, type.optional()])),
    '@odata.type': z.literal('#microsoft.graph.group').optional(),
    id: guid.optional(),
    displayName: z.string().min(1).max(256),
    mailNickname,
    mailEnabled: z.boolean(),
    securityEnabled: z.boolean(),
    groupTypes: z.array(groupTypeValue).max(2).optional(),
    isAssignableToRole: z.boolean().optional(),
    visibility: z.enum(['Public', 'Private', 'HiddenMembership']).optional(),
    membershipRule: z.string().min(1).max(3072).optional(),
    description: z.string().max(1024).nullable().optional(),
    'owners@odata.bind': bindLinks.optional(),
    'members@odata.bind': bindLinks.optional(),
  })
  .refine((group) => (group['owners@odata.bind']?.length ?? 0) + (group['members@odata.bind']?.length ?? 0) <= 20, {
    path: ['members@odata.bind'],
  })
  .refine((group) => (group.groupTypes?.includes('DynamicMembership') ?? false) === (group.membershipRule !== undefined), {
    path: ['membershipRule'],
  });

export type CreateGroupInput = z.output<typeof createGroupSchema>;

/**
 * Entra's limits for a userPrincipalName: 113 characters in all, at most 64 before the @, and
 * the characters it allows (https://learn.microsoft.com/microsoft-365/enterprise/prepare-for-directory-synchronization).
 */
export const principalNameLimits = { total: 113, localPart: 64 } as const;

export const userPrincipalName = z
  .string()
  .max(principalNameLimits.total)
  .regex(/^[A-Za-z0-9'.\-_!#^~]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$/)
  .refine((value) => !value.startsWith('.') && !value.includes('.@'));

/**
 * The user properties both POST /users and PATCH /users/{id} take, each optional. passwordProfile
 * is accepted (clients send it; password changes are Entra's business, not this service's) and
 * never stored.
 */
export const userProfileProperties = {
  mail: z
    .string()
    .max(254)
    .regex(/^[^@\s]+@[^@\s]+$/)
    .nullable()
    .optional(),
  mailNickname: mailNickname.optional(),
  accountEnabled: z.boolean().optional(),
  givenName: z.string().max(64).nullable().optional(),
  surname: z.string().max(64).nullable().optional(),
  jobTitle: z.string().max(128).nullable().optional(),
  department: z.string().max(64).nullable().optional(),
  usageLocation: z.string().length(2).nullable().optional(),
  passwordProfile: z
    .strictObject({
      password: z.string().optional(),
      forceChangePasswordNextSignIn: z.boolean().optional(),
      forceChangePasswordNextSignInWithMfa: z.boolean().optional(),
    })
    .optional(),
};

/** POST /users: SPEC section 3. */
export const createUserSchema = z.strictObject({
  '@odata.type': z.literal('#microsoft.graph.user').optional(),
  id: guid.optional(),
  displayName: z.string().min(1).max(256),
  userPrincipalName,
  ...userProfileProperties,
});

export type CreateUserInput = z.output<typeof createUserSchema>;

/**
 * The types Graph's getByIds accepts (directoryObject and the types derived from it, any case:
 * https://learn.microsoft.com/graph/api/directoryobject-getbyids). This service keeps users and
 * groups only; naming another directory type is valid and finds nothing, naming no directory
 * type at all is a 400.
 */
export const directoryObjectTypeNames = [
  'directoryObject',
  'user',
  'group',
  'device',
  'servicePrincipal',
  'application',
  'orgContact',
  'directoryRole',
  'directoryRoleTemplate',
  'administrativeUnit',
  'contract',
  'directoryObjectPartnerReference',
] as const;
const knownDirectoryTypes = new Set(directoryObjectTypeNames.map((name) => name.toLowerCase()));

/**
 * POST /directoryObjects/getByIds. The id count and the id format are checked after parsing
 * (directoryObjectReads.ts), where Graph's own wording for them is given.
 */
export const getByIdsSchema = z.strictObject({
  ids: z.array(z.string()),
  types: z.array(z.string().refine((name) => knownDirectoryTypes.has(name.toLowerCase()))).optional(),
});

export type GetByIdsInput = z.output<typeof getByIdsSchema>;
