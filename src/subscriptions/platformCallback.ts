/**
 * The callback URLs Power Automate and Logic Apps give a webhook trigger (the connector's trigger,
 * `x-ms-notification-url`) or an HTTP Webhook step (`listCallbackUrl()`): a workflow endpoint on
 * the platform's own domain, signed with a shared-access signature in its query (`sp`, `sv`,
 * `sig`), e.g.
 * https://prod-00.westus.logic.azure.com/workflows/{id}/triggers/{name}/paths/invoke?api-version=…&sp=…&sv=1.0&sig=…
 * (https://learn.microsoft.com/azure/logic-apps/logic-apps-http-endpoint, "callback URL";
 * https://learn.microsoft.com/azure/logic-apps/logic-apps-securing-a-logic-app#generate-shared-access-signatures-sas).
 *
 * Such an endpoint cannot answer Graph's validation request: a POST to it starts a run and is
 * answered 202 with no body, never the token echoed. Graph's handshake exists to show that the
 * receiver agreed to get notifications; a URL signed by the platform for one workflow shows that
 * already (only the workflow's owner and the platform know the signature, and the owner's
 * connection is what subscribes it). So for such a URL the service sends no validation request
 * (it would start a spurious run) and creates the subscription once the URL checks pass: https
 * (plain http only to loopback under the local host), every resolved address public. Any other
 * URL, a look-alike host or an unsigned one included, gets the handshake.
 */
const platformCallbackDomains = ['.logic.azure.com'] as const;

export function isPlatformCallbackUrl(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  if (!platformCallbackDomains.some((domain) => host.endsWith(domain) && host.length > domain.length)) return false;
  if (!/^\/workflows\/[^/]+\//i.test(url.pathname)) return false;
  return (url.searchParams.get('sig') ?? '') !== '';
}
