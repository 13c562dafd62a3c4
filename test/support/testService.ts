import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import { httpFunctions } from '../../functions/catalog';
import type { Caller } from '../../src/auth';
import { ensureCosmosResources, getCosmosStore } from '../../src/store/cosmosStore';
import { DevIssuer, type TokenRequest } from '../../src/local/devIssuer';
import { startFunctionsHost, type RunningFunctionsHost } from '../../src/local/functionsHost';
import { FaultProxy } from './faultProxy';
import { graphJsonOf, type GraphJson } from './jsonText';

export const testAudience = 'api://graph-membership-test';
export const roles = {
  globalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  groupsAdministrator: 'fdd7a751-b60b-444a-984c-02652fe8fa1c',
  userAdministrator: 'fe930be7-5e62-47db-91af-98c3a49a38b1',
  directoryWriters: '9360feb5-f418-4baa-8175-e2a00bac4301',
  privilegedRoleAdministrator: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
} as const;

export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: GraphJson;
}

export interface RequestOptions {
  readonly token?: string | null;
  readonly body?: unknown;
  /** Sent as-is instead of JSON.stringify(body). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export type TokenOptions = Omit<TokenRequest, 'tenantId' | 'audience'> & { tenantId?: string; audience?: string };

/**
 * The service as a client sees it: the local host over real HTTP, tokens from a real RS256
 * issuer on loopback found by OpenID discovery, Cosmos behind a fault-injecting proxy. Each
 * instance has its own database and two fresh tenants.
 */
export class TestService {
  readonly tenantId = randomUUID();
  readonly otherTenantId = randomUUID();
  readonly issuer = new DevIssuer();
  readonly database = `test-${randomUUID().slice(0, 8)}`;
  proxy!: FaultProxy;
  host!: RunningFunctionsHost;
  private adminTokenValue: string | undefined;
  /** Trusts the host's own certificate when it serves HTTPS. */
  private dispatcher: Agent | undefined;

  get baseUrl(): string {
    return this.host.baseUrl;
  }

  /** What functions logged through their InvocationContext, as the Functions host would collect it. */
  readonly logs: { level: string; message: unknown; details: unknown }[] = [];

  static async start(options: { tls?: { key: string; cert: string } } = {}): Promise<TestService> {
    const service = new TestService();
    await service.issuer.addKey();
    const authority = await service.issuer.listen();
    const cosmosEndpoint = process.env.TEST_COSMOS_ENDPOINT;
    if (cosmosEndpoint === undefined) throw new Error('TEST_COSMOS_ENDPOINT is not set: run the tests through jest (npm test).');
    service.proxy = new FaultProxy(cosmosEndpoint);
    const proxied = await service.proxy.listen();
    Object.assign(process.env, {
      ENTRA_AUTHORITY: authority,
      ENTRA_TENANT_ID: `${service.tenantId},${service.otherTenantId}`,
      ENTRA_AUDIENCE: testAudience,
      COSMOS_ENDPOINT: proxied,
      COSMOS_KEY: 'embedded-cosmos-accepts-any-key',
      COSMOS_DATABASE: service.database,
      // What the local host sets (src/local/start.ts): plain http notification URLs to loopback are allowed.
      FUNCTIONS_LOCAL_HOST: 'true',
    });
    // The service's modules read these settings on first use, which is after this point.
    await ensureCosmosResources(await getCosmosStore());
    service.host = await startFunctionsHost({
      functions: httpFunctions,
      port: 0,
      logHandler: (level, message, details) => service.logs.push({ level, message, details }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
    });
    if (options.tls !== undefined) service.dispatcher = new Agent({ connect: { ca: options.tls.cert } });
    return service;
  }

  async stop(): Promise<void> {
    await this.host.close();
    await this.dispatcher?.close();
    await this.proxy.close();
    await this.issuer.close();
  }

  token(options: TokenOptions = {}): Promise<string> {
    return this.issuer.signToken({ tenantId: this.tenantId, audience: testAudience, ...options });
  }

  /** A delegated token for `userId` with the given scopes and directory roles. */
  userToken(userId: string, scopes: string[] = ['GroupMember.ReadWrite.All'], roleIds: string[] = [], tenantId?: string): Promise<string> {
    return this.token({ user: { id: userId, scopes, roleIds }, ...(tenantId === undefined ? {} : { tenantId }) });
  }

  appToken(appRoles: string[] = ['Directory.ReadWrite.All'], tenantId?: string): Promise<string> {
    return this.token({ app: { roles: appRoles }, ...(tenantId === undefined ? {} : { tenantId }) });
  }

  /** An application token that may do anything, for arranging test data. */
  async adminToken(): Promise<string> {
    this.adminTokenValue ??= await this.appToken(['Directory.ReadWrite.All', 'RoleManagement.ReadWrite.Directory']);
    return this.adminTokenValue;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? await this.adminToken() : options.token;
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    let body: string | undefined = options.rawBody;
    if (body === undefined && options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const init = { method, headers, ...(body === undefined ? {} : { body }), ...(this.dispatcher === undefined ? {} : { dispatcher: this.dispatcher }) };
    const response = await fetch(`${this.baseUrl}${path}`, init);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: graphJsonOf(text) };
  }

  async createUser(properties: Record<string, unknown> = {}, tenantToken?: string): Promise<{ id: string; userPrincipalName: string }> {
    const nickname = `u${randomUUID().slice(0, 8)}`;
    const response = await this.request('POST', '/v1.0/users', {
      ...(tenantToken === undefined ? {} : { token: tenantToken }),
      body: { displayName: nickname, userPrincipalName: `${nickname}@contoso.example`, ...properties },
    });
    if (response.status !== 201) throw new Error(`createUser: ${response.status} ${response.text}`);
    return response.json;
  }

  async createGroup(properties: Record<string, unknown> = {}, tenantToken?: string): Promise<{ id: string }> {
    const nickname = `g${randomUUID().slice(0, 8)}`;
    const response = await this.request('POST', '/v1.0/groups', {
      ...(tenantToken === undefined ? {} : { token: tenantToken }),
      body: { displayName: nickname, mailNickname: nickname, mailEnabled: false, securityEnabled: true, ...properties },
    });
    if (response.status !== 201) throw new Error(`createGroup: ${response.status} ${response.text}`);
    return response.json;
  }

  /** POST /groups/{groupId}/members/$ref with the standard @odata.id body. */
  addMember(groupId: string, memberId: string, options: RequestOptions = {}): Promise<TestResponse> {
    return this.request('POST', `/v1.0/groups/${groupId}/members/$ref`, {
      body: { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${memberId}` },
      ...options,
    });
  }

  /** What the store holds for a membership, read directly from Cosmos DB (both directions). */
  async storedEdges(groupId: string, memberId: string, tenantId = this.tenantId): Promise<{ groupSide: boolean; memberSide: boolean }> {
    const { memberships } = await getCosmosStore();
    const [groupSide, memberSide] = await Promise.all([memberships.item(memberId, `${tenantId}|group|${groupId}`).read(), memberships.item(groupId, `${tenantId}|member|${memberId}`).read()]);
    return { groupSide: groupSide.resource !== undefined, memberSide: memberSide.resource !== undefined };
  }

  /** Every document in the service's containers, for before/after comparisons. */
  async snapshotStore(): Promise<string[]> {
    const store = await getCosmosStore();
    const ids: string[] = [];
    for (const container of [store.directory, store.memberships]) {
      const { resources } = (await container.items.query('SELECT c.pk, c.id FROM c').fetchAll()) as { resources: { pk: string; id: string }[] };
      for (const resource of resources) ids.push(`${container.id}:${resource.pk}:${resource.id}`);
    }
    return ids.sort();
  }
}

export type { Caller };
