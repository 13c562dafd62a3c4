import { operatorPlaceholders, publisherName } from './document';
import { groupPickerOperationId } from './operations';
import { operationsOfPath, type SwaggerDocument } from './swagger';

/** connector/readme.md, in the sections of PowerPlatformConnectors' readme template; operations come from the document. */
export function connectorReadme(document: SwaggerDocument, placeholders: { readonly clientId: string; readonly apiAppId: string; readonly redirectUri: string }): string {
  const { clientId, apiAppId, redirectUri } = placeholders;
  const picker = Object.values(document.paths)
    .flatMap((item) => operationsOfPath(item).map(([, operation]) => operation))
    .find((operation) => operation.operationId === groupPickerOperationId);
  const operations: string[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const [method, operation] of operationsOfPath(item)) {
      const hidden = operation['x-ms-visibility'] === 'internal' ? ' Hidden in the designer.' : '';
      operations.push(`### ${operation.summary} (\`${operation.operationId}\`)\n\`${method.toUpperCase()} ${path}\`: ${operation.description}${hidden}\n`);
    }
  }
  return `# ${document.info.title}
${document.info.description} This connector lets Power Automate flows, Power Apps and Logic Apps call it.

## Publisher: ${publisherName}

## Prerequisites
- A deployment of this service (an Azure Function App; \`azd up\` from the repository) and its URL.
- Two Microsoft Entra app registrations: the API (its Application ID URI is in the service's \`ENTRA_AUDIENCE\`)
  and the connector (a confidential client that signs users in; multi-tenant while \`tenantId\` is \`common\`).
- A Power Platform environment where you may create custom connectors, and, for the command line,
  the Power Platform Connectors CLI (\`pip install paconn\`).

## Supported Operations
Paths are written under \`/v1.0\`; the service answers the same paths under \`/beta\`.

${operations.join('\n')}
## Retries and the Idempotency-Key header
The five membership adds take an optional \`Idempotency-Key\` header (and \`client-request-id\`, which
the Microsoft Graph SDKs resend on retry). A request that repeats an earlier successful add by the
same caller with the same key within 24 hours gets the original answer again instead of the
"already exist" 400, so a flow's retry policy (408, 429 and 5xx) is safe. Use a value that is unique
per intended add, for example the flow run's ID and the step's name.

## Obtaining Credentials
The connector signs users in with Microsoft Entra ID (OAuth 2.0, authorization code flow) and sends
an access token issued for the API, not for Microsoft Graph.

1. **The API registration.** Under *Expose an API*, set the Application ID URI to
   \`api://${apiAppId}\` and add delegated scopes named after the permissions the operations check,
   for example \`GroupMember.ReadWrite.All\`, \`GroupMember.Read.All\`, \`Group.ReadWrite.All\`,
   \`User.Read.All\` and \`Group.Create\`. Put \`api://${apiAppId}\` in the service's \`ENTRA_AUDIENCE\`
   and your tenant ID in \`ENTRA_TENANT_ID\`.
2. **The connector registration.** Create a client secret. Under *Supported account types* choose
   *Accounts in any organizational directory* (multi-tenant): \`apiProperties.json\` signs in with tenant
   ID \`common\`, and Microsoft Entra ID refuses \`common\` for a single-tenant app (AADSTS50194). To keep
   the registration single-tenant, put your tenant ID in place of \`common\` (in \`tenantId\` in
   \`apiProperties.json\`, or on the portal's *Security* page).
3. **The redirect URI.** The connector signs users in through a redirect URI of its own
   (\`redirectMode\` \`GlobalPerConnector\`); the shared \`https://global.consent.azure-apim.net/redirect\`
   no longer works for new connections. Once the connector exists (see *Deployment Instructions*), add
   to the connector registration a *Web* redirect URI of the form

   \`\`\`
   ${redirectUri}
   \`\`\`

   where \`{connectorId}\` is the connector's ID: \`paconn create\` prints it (\`<connectorId> created
   successfully.\`), and the portal shows the whole URI as *Redirect URL* on the connector's *Security*
   page once the connector is saved. Create connections only after registering it; each connector
   (one per environment, or a re-created one) has its own ID and needs its own entry.
4. **Permissions.** Under the connector registration's *API permissions*, add *My APIs* → the API →
   the delegated scopes your flows need, then *Grant admin consent*.
5. **Placeholders.** In \`apiProperties.json\`, replace \`${clientId}\` with the connector
   registration's client ID and \`${apiAppId}\` with the API's; in \`apiDefinition.swagger.json\`,
   replace \`${document.host}\` with your Function App's host name (or import
   \`https://<your host>/openapi.json\`, which already names it). The service and its data live in your
   subscription, so the website, privacy policy and contact are your organization's: replace
   \`${operatorPlaceholders.website}\`, \`${operatorPlaceholders.privacyPolicy}\` and
   \`${operatorPlaceholders.contactEmail}\` (in \`info.contact\` and \`x-ms-connector-metadata\`).

Changing a group's members also needs a right on the group: ownership, or the Global, Groups or
User Administrator or Directory Writers role; role-assignable groups need Global or Privileged Role
Administrator. Anyone may join a public Microsoft 365 group.

## Getting Started
Add the action *Add a user to a group*, give the user's UPN, pick the group from the list (or type its
ID), and run the flow: the answer is the group, as Microsoft Graph gives it.

Every *Group ID* field offers a picker filled by *${picker?.summary ?? groupPickerOperationId}* (\`${groupPickerOperationId}\`):
the groups the signed-in user is a direct member of. A group you manage without being a member of it
is not listed: type its object ID instead.

## Trigger: When a group member is added or removed
Pick the group (the list shows the tenant's first 100 groups; or type its ID) and an expiration
(at most 29 days ahead, for example the expression \`addDays(utcNow(), 28)\`). Turning the flow on
creates a Graph change-notification subscription with the platform's callback URL; turning it off
deletes it. Each run gets Graph's notification: \`value\` holds the changes, and each change's
\`resourceData.members@delta\` the members added, those removed carrying \`@removed\`.
The picked group ID is completed to \`groups/{id}/members\` by the \`setproperty\` policy in
\`apiProperties.json\`: import both files (\`paconn create\`), not the OpenAPI file alone.

## Known Issues and Limitations
- The trigger is not renewed by the platform: turn the flow off and on again before its expiration.
- Only the \`/v1.0\` paths are listed; \`/beta\` answers the same requests.
- The seeds' forms without the trailing \`/$ref\` are accepted by the service but not listed as actions.
- A reference body may carry other properties of the object (the seeds' examples do); they are
  type-checked and ignored, and not listed here.
- Operations under \`/me\` need a delegated connection: they answer 400 to application tokens.
- The group picker shows the first page (100 groups) of the signed-in user's groups; there is no
  tenant-wide group list yet.
- User IDs, UPNs and group IDs in paths are URL-encoded once (\`x-ms-url-encoding: single\`), so UPNs
  with \`#\`, \`'\` or \`^\` reach the service as typed.
- These files are generated by \`npm run connector\` from the service's own schemas and routes; edit the
  generator (\`src/openapi/\`) or the \`openApi\` metadata on the functions (\`functions/*.ts\`), not the
  files, or the tests fail.

## Deployment Instructions
With the CLI, after \`paconn login\`:

\`\`\`
paconn create --api-def apiDefinition.swagger.json --api-prop apiProperties.json --secret <connector client secret>
\`\`\`

Or in the portal: *Custom connectors* → *New custom connector* → *Import an OpenAPI file* (choose
\`apiDefinition.swagger.json\`), then on *Security* choose OAuth 2.0 with the Azure Active Directory
identity provider: the connector's client ID and secret, login URL \`https://login.microsoftonline.com\`,
tenant ID \`common\`, resource URL \`api://${apiAppId}\` and scope \`api://${apiAppId}/.default\`.

Either way, then register the connector's redirect URI (*Obtaining Credentials*, step 3) before the
first connection is created.
`;
}
