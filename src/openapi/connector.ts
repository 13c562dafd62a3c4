import type { HttpFunctionDefinition } from '../../functions/httpFunction';
import { buildOpenApiDocument, publisherName } from './document';
import { connectorReadme } from './readme';
import { triggerResourcePolicy } from './trigger';

/** Placeholders in apiProperties.json that readme.md tells how to fill. */
export const connectorClientIdPlaceholder = '{connector-app-client-id}';
export const apiAppIdPlaceholder = '{api-app-id}';

/**
 * With GlobalPerConnector, Power Platform signs users in through a redirect URI of the
 * connector's own, this one with the connector's ID; the shared
 * https://global.consent.azure-apim.net/redirect stopped working for new connections in 2024.
 * The form is the one certified connectors register (microsoft/PowerPlatformConnectors, e.g.
 * certified-connectors/Highspot/apiProperties.json); the ID is known only once the connector exists.
 */
export const perConnectorRedirectUri = 'https://global.consent.azure-apim.net/redirect/{connectorId}';

/**
 * connector/ as Power Platform's tooling expects it (the layout of microsoft/PowerPlatformConnectors):
 * the OpenAPI 2.0 definition, the connection properties (Microsoft Entra ID OAuth) and a readme.
 * Every file is text with a final newline, the same for the same functions.
 */
export function connectorFiles(functions: readonly HttpFunctionDefinition[]): Record<string, string> {
  const document = buildOpenApiDocument(functions);
  return {
    'apiDefinition.swagger.json': json(document),
    'apiProperties.json': json(apiProperties()),
    'readme.md': connectorReadme(document, { clientId: connectorClientIdPlaceholder, apiAppId: apiAppIdPlaceholder, redirectUri: perConnectorRedirectUri }),
  };
}

/**
 * Valid against Power Platform's schema for this file (test/openapi/schemas, from
 * microsoft/PowerPlatformConnectors): `aad` takes only resourceUri, loginUri and tenantId as
 * custom parameters. No redirectUrl: with GlobalPerConnector the platform makes the URI itself.
 */
function apiProperties(): unknown {
  const resource = `api://${apiAppIdPlaceholder}`;
  return {
    properties: {
      connectionParameters: {
        token: {
          type: 'oauthSetting',
          oAuthSettings: {
            identityProvider: 'aad',
            clientId: connectorClientIdPlaceholder,
            scopes: [`${resource}/.default`],
            redirectMode: 'GlobalPerConnector',
            properties: { IsFirstParty: 'False', AzureActiveDirectoryResourceId: resource },
            customParameters: {
              loginUri: { value: 'https://login.microsoftonline.com' },
              tenantId: { value: 'common' },
              resourceUri: { value: resource },
            },
          },
        },
        'token:TenantId': {
          type: 'string',
          metadata: { sourceType: 'AzureActiveDirectoryTenant' },
          uiDefinition: { constraints: { required: 'false', hidden: 'true' } },
        },
      },
      iconBrandColor: '#0078d4',
      capabilities: [],
      // The trigger's picker fills `resource` with a group ID; Graph's body wants groups/{id}/members (src/openapi/trigger.ts).
      policyTemplateInstances: [triggerResourcePolicy()],
      publisher: publisherName,
      stackOwner: publisherName,
    },
  };
}

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
