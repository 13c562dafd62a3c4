import type { OperationMetadata } from '../src/openapi/operations';

/** POST /subscriptions as the OpenAPI document describes it (the connector trigger is built on it). */
export const subscriptionTriggerMetadata: OperationMetadata = {
  path: '/v1.0/subscriptions',
  method: 'post',
  operationId: 'CreateSubscription',
  tag: 'Service',
  visibility: 'internal',
  summary: 'Create a subscription',
  description:
    'Subscribes to changes of groups (groups, groups/{id}, groups/{id}/members). The notificationUrl must answer the validation request (POST ?validationToken=…) with 200 text/plain echoing the token within 10 seconds.',
  body: { definition: 'NewSubscription', summary: 'Subscription', description: 'What to watch and where to send notifications.' },
  success: { status: 201, description: 'Created: the subscription, with a Location header.', definition: 'Subscription', location: true },
  errors: [400, 401, 403, 404, 429, 503],
};
