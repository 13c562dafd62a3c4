// Driven by test/kiota/kiotaTransitive.test.ts: the Kiota-generated Microsoft Graph SDK
// (@microsoft/msgraph-sdk, ESM only, which jest's CommonJS runtime cannot load) against the test
// service over HTTPS. The service's certificate is trusted by pinning it in an undici dispatcher
// passed through Kiota's custom fetch, never by turning checks off.
// Input: one JSON argument {baseUrl, token, ca, userId, groupIds}. Output: one JSON line on stdout.
import { AllowedHostsValidator, BaseBearerTokenAuthenticationProvider } from '@microsoft/kiota-abstractions';
import { KiotaClientFactory } from '@microsoft/kiota-http-fetchlibrary';
import { createGraphServiceClient, GraphRequestAdapter } from '@microsoft/msgraph-sdk';
import '@microsoft/msgraph-sdk-users';
import { Agent, fetch as undiciFetch } from 'undici';

const input = /** @type {{ baseUrl: string; token: string; ca: string; userId: string; groupIds: string[] }} */ (JSON.parse(process.argv[2] ?? '{}'));
const dispatcher = new Agent({ connect: { ca: input.ca } });
const host = new URL(input.baseUrl).host;
const tokens = { getAuthorizationToken: async () => input.token, getAllowedHostsValidator: () => new AllowedHostsValidator(new Set([host])) };
const authentication = new BaseBearerTokenAuthenticationProvider(tokens);
const httpClient = KiotaClientFactory.create((url, init) => undiciFetch(url, { ...init, dispatcher }));
const adapter = new GraphRequestAdapter(authentication, undefined, undefined, httpClient);
adapter.baseUrl = `${input.baseUrl}/v1.0`;
const graph = createGraphServiceClient(adapter);

const user = graph.users.byUserId(input.userId);
const first = await user.transitiveMemberOf.get({ queryParameters: { top: 2 } });
const seen = (first?.value ?? []).map((entity) => ({ id: entity.id, type: entity.odataType }));
let next = first?.odataNextLink;
while (next) {
  const page = await user.transitiveMemberOf.withUrl(next).get();
  seen.push(...(page?.value ?? []).map((entity) => ({ id: entity.id, type: entity.odataType })));
  next = page?.odataNextLink;
}
const groups = await user.transitiveMemberOf.graphGroup.get();
const checked = await user.checkMemberGroups.post({ groupIds: input.groupIds });
const all = await user.getMemberGroups.post({ securityEnabledOnly: false });
process.stdout.write(
  `${JSON.stringify({ transitiveMemberOf: seen, groupCast: (groups?.value ?? []).map((group) => group.id), checkMemberGroups: checked?.value ?? [], getMemberGroups: all?.value ?? [] })}\n`,
);
await dispatcher.close();
