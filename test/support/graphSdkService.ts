import { Client, type AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import { Agent } from 'undici';
import { createLocalCertificate } from '../../src/local/localCertificate';
import { TestService } from './testService';

/**
 * The test service over HTTPS for the Microsoft Graph JavaScript client, unmodified. The client
 * sends the bearer token only over https and only to Graph hosts and the custom hosts named here,
 * so the host serves TLS with a generated certificate that the client's dispatcher trusts by
 * pinning it, never by turning checks off.
 */
export class GraphSdkService {
  private constructor(
    readonly service: TestService,
    private readonly dispatcher: Agent,
  ) {}

  static async start(): Promise<GraphSdkService> {
    const certificate = await createLocalCertificate();
    const service = await TestService.start({ tls: certificate });
    return new GraphSdkService(service, new Agent({ connect: { ca: certificate.cert } }));
  }

  /** A Graph client on this service's base URL, calling as the given token. */
  client(token: string): Client {
    const authProvider: AuthenticationProvider = { getAccessToken: async () => token };
    return Client.initWithMiddleware({
      authProvider,
      baseUrl: this.service.baseUrl,
      defaultVersion: 'v1.0',
      customHosts: new Set([new URL(this.service.baseUrl).hostname]),
      fetchOptions: { dispatcher: this.dispatcher },
    });
  }

  async stop(): Promise<void> {
    await this.dispatcher.close();
    await this.service.stop();
  }
}
