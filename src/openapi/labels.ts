/**
 * What a connector shows for each property: `x-ms-summary` (a Title Case label) and, where the
 * name alone does not say enough, a description. Labels come from the property name unless
 * listed here; Power Platform's guidance asks for Title Case labels and sentence-case text.
 * https://learn.microsoft.com/connectors/custom-connectors/openapi-extensions
 */
const labelOverrides: Record<string, string> = {
  '@odata.id': 'Object Reference URL',
  id: 'Object ID',
  '@odata.nextLink': 'Next Page Link',
  'owners@odata.bind': 'Owner References',
  'members@odata.bind': 'Member References',
  forceChangePasswordNextSignIn: 'Force Password Change at Next Sign-In',
  forceChangePasswordNextSignInWithMfa: 'Force Password Change with MFA',
  onPremisesNetBiosName: 'On-Premises NetBIOS Name',
  value: 'Directory Objects',
  ids: 'Object IDs',
  types: 'Object Types',
};

const descriptions: Record<string, string> = {
  '@odata.context': 'The OData context URL of the response.',
  '@odata.type': 'The object type: #microsoft.graph.user or #microsoft.graph.group.',
  '@odata.id': 'The URL of the object, e.g. https://graph.microsoft.com/v1.0/directoryObjects/{id}.',
  '@odata.nextLink': 'The URL of the next page; absent on the last page.',
  id: 'The object ID (a GUID).',
  displayName: 'The name shown in address lists.',
  userPrincipalName: 'The sign-in name, in the form alias@domain.',
  mail: 'The SMTP address.',
  mailNickname: 'The mail alias, without the domain.',
  accountEnabled: 'Whether the account can sign in.',
  givenName: 'The given (first) name.',
  surname: 'The family name.',
  jobTitle: 'The job title.',
  department: 'The department.',
  usageLocation: 'A two-letter country code (ISO 3166).',
  passwordProfile: 'Accepted for compatibility with Microsoft Graph and never stored.',
  description: 'A description of the group.',
  groupTypes: "'Unified' for a Microsoft 365 group, 'DynamicMembership' for dynamic membership; empty for a security group.",
  isAssignableToRole: 'Whether the group can be assigned to a directory role; only Global and Privileged Role Administrators manage it.',
  visibility: 'Public, Private or HiddenMembership.',
  membershipRule: 'The dynamic membership rule; required with DynamicMembership and only with it.',
  mailEnabled: 'Whether the group has a mailbox.',
  securityEnabled: 'Whether the group is a security group.',
  'owners@odata.bind': 'Owner URLs (https://graph.microsoft.com/v1.0/users/{id}); with the members, 20 at most.',
  'members@odata.bind': 'Member URLs (https://graph.microsoft.com/v1.0/directoryObjects/{id}); with the owners, 20 at most.',
  createdDateTime: 'When the object was created.',
  deletedDateTime: 'When the object was deleted; always empty here.',
  value: 'The users and groups on this page.',
  // POST /directoryObjects/getByIds.
  ids: 'The object IDs (GUIDs) to look up, 1,000 at most; IDs that match nothing are left out.',
  // POST …/checkMemberGroups and …/getMemberGroups (SPEC 7).
  groupIds: 'The group IDs (GUIDs) to check, 20 at most; the answer holds those the object is in, directly or through nesting.',
  securityEnabledOnly: 'Only security groups when true.',
  types: 'Only objects of these types: user, group or directoryObject (any case); every type when not given.',
  error: 'The error.',
  code: 'A stable error code, such as Request_ResourceNotFound.',
  message: 'What went wrong, for people.',
  innerError: 'Identifiers to quote when reporting the error.',
  date: 'When the error happened (UTC).',
  'request-id': 'The ID the service gave the request.',
  'client-request-id': 'The ID the client sent, or the request ID.',
  status: 'Healthy when the store answers.',
  // passwordProfile's parts (never stored).
  password: 'The initial password; accepted and never stored.',
  forceChangePasswordNextSignIn: 'Whether the user must change the password at the next sign-in.',
  forceChangePasswordNextSignInWithMfa: 'Whether the user must also do multifactor authentication before changing the password.',
  // The rest of the group table (seed 003), in Microsoft Graph's words.
  assignedLabels: 'The sensitivity labels of the group.',
  labelId: 'The ID of the sensitivity label.',
  assignedLicenses: 'The licenses assigned to the group.',
  disabledPlans: 'The IDs (GUIDs) of the service plans that are turned off in the license.',
  skuId: 'The ID (a GUID) of the license SKU.',
  classification: 'A classification of the group, such as low, medium or high business impact.',
  hasMembersWithLicenseErrors: 'Whether some members have license errors from the group-based license assignment.',
  licenseProcessingState: 'The state of the group-based license assignment.',
  state: 'QueueForProcessing, ProcessingInProgress or ProcessingComplete.',
  mdmAppId: 'The application ID of the mobile device management app that manages the group.',
  membershipRuleProcessingState: 'On or Paused: whether the dynamic membership rule is applied.',
  onPremisesDomainName: 'The on-premises domain of a synchronized group.',
  onPremisesLastSyncDateTime: 'When the group was last synchronized from on-premises.',
  onPremisesNetBiosName: 'The on-premises NetBIOS name of a synchronized group.',
  onPremisesProvisioningErrors: 'Errors from synchronizing the group from on-premises.',
  category: 'The kind of the error, such as PropertyConflict.',
  propertyCausingError: 'The property that caused the error.',
  occurredDateTime: 'When the error occurred.',
  onPremisesSamAccountName: 'The on-premises SAM account name of a synchronized group.',
  onPremisesSecurityIdentifier: 'The on-premises security identifier (SID) of a synchronized group.',
  onPremisesSyncEnabled: 'Whether the group is synchronized from on-premises; empty if it never was.',
  preferredDataLocation: 'The preferred data location of a Microsoft 365 group.',
  preferredLanguage: 'The preferred language of a Microsoft 365 group, such as en-US.',
  proxyAddresses: 'The email addresses of the group, such as SMTP:team@contoso.com.',
  renewedDateTime: 'When the group was last renewed.',
  resourceBehaviorOptions: 'Behaviours of a Microsoft 365 group set at creation, such as WelcomeEmailDisabled.',
  resourceProvisioningOptions: 'Resources provisioned with a Microsoft 365 group, such as Team.',
  securityIdentifier: 'The security identifier (SID) of the group.',
  theme: 'The colour theme of a Microsoft 365 group, such as Teal or Purple.',
  accessType: 'Who may join the group: None, Private, Secret or Public.',
  allowExternalSenders: 'Whether people outside the organization can send messages to the group.',
  autoSubscribeNewMembers: "Whether new members receive the group's email.",
  isFavorite: 'Whether the signed-in user marked the group as a favourite.',
  isSubscribedByMail: "Whether the signed-in user receives the group's email.",
  unseenCount: 'How many conversations have new posts the signed-in user has not seen.',
  unseenConversationsCount: 'How many conversations the signed-in user has not seen.',
  unseenMessagesCount: 'How many messages the signed-in user has not seen.',
  hideFromOutlookClients: 'Whether Outlook clients hide the group.',
  hideFromAddressLists: 'Whether address lists hide the group.',
  isArchived: 'Whether the team of the group is archived (read-only).',
  // The OpenAPI document's own top-level properties.
  swagger: 'The OpenAPI version: 2.0.',
  info: 'The title, description and version of the API.',
  host: 'The host name the document was requested from.',
  paths: 'The operations, by path.',
};

const acronyms: Record<string, string> = { id: 'ID', odata: 'OData', mdm: 'MDM', sam: 'SAM', mfa: 'MFA', url: 'URL', upn: 'UPN' };
const minorWords = new Set(['a', 'an', 'and', 'as', 'at', 'by', 'for', 'from', 'in', 'of', 'on', 'or', 'the', 'to', 'with']);

/** "userPrincipalName" → "User Principal Name", "@odata.type" → "OData Type". */
export function titleCase(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word.length > 0);
  return words
    .map((word, index) => {
      const lower = word.toLowerCase();
      if (lower in acronyms) return acronyms[lower]!;
      if (index > 0 && minorWords.has(lower)) return lower;
      return word[0]!.toUpperCase() + word.slice(1);
    })
    .join(' ')
    .replace(/^On Premises\b/, 'On-Premises');
}

export function labelFor(name: string): { summary: string; description?: string } {
  const description = descriptions[name];
  return { summary: labelOverrides[name] ?? titleCase(name), ...(description === undefined ? {} : { description }) };
}
