import type { OperationMetadata } from '../src/openapi/operations';
import { notificationDefinition, triggerBodyDefinition, triggerOperationId } from '../src/openapi/trigger';

/**
 * POST /subscriptions as the OpenAPI document describes it: the connector's webhook trigger
 * (src/openapi/trigger.ts says how the platform calls it). Other clients send Graph's whole
 * subscription body to the same path; the service accepts both, as it is one operation.
 */
export const subscriptionTriggerMetadata: OperationMetadata = {
  path: '/v1.0/subscriptions',
  method: 'post',
  operationId: triggerOperationId,
  tag: 'Membership',
  summary: 'When a group member is added or removed',
  description:
    'Triggers when members are added to or removed from the group, through a change-notification subscription (POST /subscriptions, Graph’s body) that the platform creates when the flow is turned on and deletes when it is turned off. Each run gets Graph’s notification: value holds the changes, each with the members added, and those removed marked @removed.',
  body: { definition: triggerBodyDefinition, summary: 'Subscription', description: 'The group to watch and until when; the platform fills in its callback URL.' },
  success: { status: 201, description: 'Created: the subscription, with its URL in the Location header (the platform DELETEs it to unsubscribe).', definition: 'Subscription', location: true },
  errors: [400, 401, 403, 404, 429, 503],
  trigger: { notification: notificationDefinition, notificationDescription: 'Graph’s change notification: the group’s members added or removed.' },
};
