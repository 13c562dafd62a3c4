import { permissions } from '../src/auth/permissions';
import { authenticated, type GraphRequest } from '../src/http/pipeline';
import type { GraphResult } from '../src/http/responses';
import { getCosmosStore } from '../src/store/cosmosStore';
import { getRepositories } from '../src/store/repositories';
import { SubscriptionService, subscriptionEntity } from '../src/subscriptions/subscriptionService';
import { SubscriptionStore, type SubscriptionDocument } from '../src/subscriptions/subscriptionStore';
import { graphRoute, type HttpFunctionDefinition } from './httpFunction';
import { subscriptionTriggerMetadata } from './subscriptionTrigger';

/**
 * /subscriptions (SPEC 9): Graph's change notifications for groups. Each caller (callerKey:
 * the app, or the user through the app) sees and changes only its own; another's id is a 404.
 * Permissions as Graph's for group subscriptions: Group.Read.All, GroupMember.Read.All or
 * Directory.Read.All, or a write permission that includes them
 * (https://learn.microsoft.com/graph/api/subscription-post-subscriptions#permissions).
 */
async function service(): Promise<SubscriptionService> {
  const [store, { directory }] = await Promise.all([getCosmosStore(), getRepositories()]);
  return new SubscriptionService(new SubscriptionStore(store.memberships), directory);
}

const entityResult = (request: GraphRequest, document: SubscriptionDocument, status = 200): GraphResult => {
  const root = `${request.baseUrl}/${request.apiVersion}`;
  return {
    status,
    ...(status === 201 ? { headers: { Location: `${root}/subscriptions/${document.id}` } } : {}),
    body: { '@odata.context': `${root}/$metadata#subscriptions/$entity`, ...subscriptionEntity(document) },
  };
};

const subscriptionId = '{subscriptionId}';

export const createSubscription: HttpFunctionDefinition = {
  name: 'createSubscription',
  route: graphRoute('subscriptions'),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.readGroups,
    handle: async (request) => entityResult(request, await (await service()).create(request.caller, request.body), 201),
  }),
  openApi: [subscriptionTriggerMetadata],
};

export const listSubscriptions: HttpFunctionDefinition = {
  name: 'listSubscriptions',
  route: graphRoute('subscriptions'),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readGroups,
    handle: async (request) => {
      // Graph's GET /subscriptions takes no OData query options (https://learn.microsoft.com/graph/api/subscription-list#optional-query-parameters): the pipeline refuses them.
      return {
        status: 200,
        body: { '@odata.context': `${request.baseUrl}/${request.apiVersion}/$metadata#subscriptions`, value: (await (await service()).list(request.caller)).map(subscriptionEntity) },
      };
    },
  }),
  openApi: [
    {
      path: '/v1.0/subscriptions',
      method: 'get',
      operationId: 'ListSubscriptions',
      tag: 'Service',
      visibility: 'internal',
      summary: 'List my subscriptions',
      description: 'The live change-notification subscriptions the caller created.',
      success: { status: 200, description: 'OK: the subscriptions.', definition: 'SubscriptionCollection' },
      errors: [400, 401, 403, 429, 503],
    },
  ],
};

export const getSubscription: HttpFunctionDefinition = {
  name: 'getSubscription',
  route: graphRoute(`subscriptions/${subscriptionId}`),
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readGroups,
    handle: async (request) => entityResult(request, await (await service()).get(request.caller, request.request.params.subscriptionId ?? '')),
  }),
  openApi: [
    {
      path: `/v1.0/subscriptions/${subscriptionId}`,
      method: 'get',
      operationId: 'GetSubscription',
      tag: 'Service',
      visibility: 'internal',
      summary: 'Get a subscription',
      description: 'One of the caller’s subscriptions; anyone else’s is 404.',
      success: { status: 200, description: 'OK: the subscription.', definition: 'Subscription' },
      errors: [401, 403, 404, 429, 503],
    },
  ],
};

export const updateSubscription: HttpFunctionDefinition = {
  name: 'updateSubscription',
  route: graphRoute(`subscriptions/${subscriptionId}`),
  methods: ['PATCH'],
  authLevel: 'anonymous',
  handler: authenticated({
    acceptsBody: true,
    permission: permissions.readGroups,
    handle: async (request) => entityResult(request, await (await service()).renew(request.caller, request.request.params.subscriptionId ?? '', request.body)),
  }),
  openApi: [
    {
      path: `/v1.0/subscriptions/${subscriptionId}`,
      method: 'patch',
      operationId: 'RenewSubscription',
      tag: 'Service',
      visibility: 'internal',
      summary: 'Renew a subscription',
      description: 'Moves the expiry of one of the caller’s subscriptions (at most 41,760 minutes ahead).',
      body: { definition: 'SubscriptionUpdate', summary: 'Renewal', description: 'The new expirationDateTime.' },
      success: { status: 200, description: 'OK: the renewed subscription.', definition: 'Subscription' },
      errors: [400, 401, 403, 404, 429, 503],
    },
  ],
};

export const deleteSubscription: HttpFunctionDefinition = {
  name: 'deleteSubscription',
  route: graphRoute(`subscriptions/${subscriptionId}`),
  methods: ['DELETE'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readGroups,
    handle: async (request) => {
      await (await service()).delete(request.caller, request.request.params.subscriptionId ?? '');
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: `/v1.0/subscriptions/${subscriptionId}`,
      method: 'delete',
      operationId: 'DeleteSubscription',
      tag: 'Service',
      visibility: 'internal',
      summary: 'Delete a subscription',
      description: 'Ends one of the caller’s subscriptions: the platform calls it when a flow using the trigger is turned off or deleted.',
      success: { status: 204, description: 'No Content: the subscription is gone.' },
      errors: [401, 403, 404, 429, 503],
    },
  ],
};

export const reauthorizeSubscription: HttpFunctionDefinition = {
  name: 'reauthorizeSubscription',
  route: graphRoute(`subscriptions/${subscriptionId}/reauthorize`),
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: authenticated({
    permission: permissions.readGroups,
    handle: async (request) => {
      await (await service()).reauthorize(request.caller, request.request.params.subscriptionId ?? '');
      return { status: 204 };
    },
  }),
  openApi: [
    {
      path: `/v1.0/subscriptions/${subscriptionId}/reauthorize`,
      method: 'post',
      operationId: 'ReauthorizeSubscription',
      tag: 'Service',
      visibility: 'internal',
      summary: 'Reauthorize a subscription',
      description: 'Answers a reauthorizationRequired lifecycle notification: the caller shows it still has access to one of its subscriptions (the expiry does not move; renew with PATCH).',
      success: { status: 204, description: 'No Content: reauthorized.' },
      errors: [401, 403, 404, 429, 503],
    },
  ],
};

export const subscriptionFunctions: readonly HttpFunctionDefinition[] = [createSubscription, listSubscriptions, getSubscription, updateSubscription, deleteSubscription, reauthorizeSubscription];
