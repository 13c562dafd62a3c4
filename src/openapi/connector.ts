import type { HttpFunctionDefinition } from '../../functions/httpFunction';
import { buildOpenApiDocument } from './document';
import { connectorReadme } from './readme';

/** Placeholders in apiProperties.json that readme.md tells how to fill. */
export const connectorClientIdPlaceholder = '{connector-app-client-id}';
export const apiAppIdPlaceholder = '{api-app-id}';

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
    'readme.md': connectorReadme(document, { clientId: connectorClientIdPlaceholder, apiAppId: apiAppIdPlaceholder }),
  };
}

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
            redirectMode: 'Global',
            redirectUrl: 'https://global.consent.azure-apim.net/redirect',
            properties: { IsFirstParty: 'False', AzureActiveDirectoryResourceId: resource },
            customParameters: {
              loginUri: { value: 'https://login.microsoftonline.com' },
              tenantId: { value: 'common' },
              resourceUri: { value: resource },
              enableOnbehalfOfLogin: { value: 'false' },
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
      publisher: 'Graph Group Membership maintainers',
      stackOwner: 'Graph Group Membership maintainers',
    },
  };
}

export const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
