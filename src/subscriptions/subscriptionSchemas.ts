import { z } from 'zod';
import type { SchemaObject, Visibility } from '../openapi/swagger';

/** POST /subscriptions: Graph's subscription properties, with the only values this service supports where Graph has more. */
export const createSubscriptionSchema = z.strictObject({
  '@odata.type': z.string().optional().describe('The OData type, #microsoft.graph.subscription.'),
  resource: z.string().describe('groups, groups/{id} or groups/{id}/members'),
  changeType: z.string().describe('updated, deleted, or both comma-separated'),
  notificationUrl: z.string().describe('Where notifications are POSTed: https (plain http only to loopback under the local host).'),
  expirationDateTime: z.string().describe('When the subscription ends: at most 41,760 minutes ahead.'),
  clientState: z.string().nullable().optional().describe('Sent back in every notification, up to 128 characters.'),
  lifecycleNotificationUrl: z.string().nullable().optional().describe('Where missed and subscriptionRemoved lifecycle notifications go.'),
  latestSupportedTlsVersion: z.enum(['v1_2', 'v1_3']).nullable().optional().describe('The newest TLS version the receiver supports.'),
  includeResourceData: z.literal(false).nullable().optional().describe('Rich notifications are not offered: false.'),
});

/** PATCH /subscriptions/{id}: renewal. */
export const updateSubscriptionSchema = z.strictObject({
  '@odata.type': z.string().optional().describe('The OData type, #microsoft.graph.subscription.'),
  expirationDateTime: z.string().describe('The new expiry: at most 41,760 minutes ahead.'),
});

const subscriptionSchema = z.object({
  '@odata.context': z.string().optional().describe('The OData context URL.'),
  id: z.string().describe('The subscription ID: what notifications carry as subscriptionId.'),
  resource: z.string().describe('What is watched: groups, groups/{id} or groups/{id}/members.'),
  applicationId: z.string().describe('The app that created the subscription.'),
  changeType: z.string().describe('The changes notified: updated, deleted.'),
  clientState: z.string().nullable().describe('Sent back in every notification.'),
  notificationUrl: z.string().describe('Where notifications are POSTed.'),
  lifecycleNotificationUrl: z.string().nullable().describe('Where lifecycle notifications are POSTed.'),
  expirationDateTime: z.string().describe('When the subscription ends.'),
  creatorId: z.string().describe('The user (or app) that created the subscription.'),
});

const subscriptionCollectionSchema = z.object({ '@odata.context': z.string().describe('The OData context URL.'), value: z.array(subscriptionSchema).describe('The subscriptions.') });

type Convert = (schema: z.ZodType, direction: 'input' | 'output') => SchemaObject;
type Annotate = (schema: SchemaObject, visibility: Record<string, Visibility>) => SchemaObject;

/** The definitions the subscription operations name (src/openapi/definitions.ts adds them). */
export function subscriptionDefinitions(convert: Convert, annotate: Annotate): Record<string, SchemaObject> {
  return {
    NewSubscription: annotate(convert(createSubscriptionSchema, 'input'), {
      '@odata.type': 'internal',
      resource: 'important',
      changeType: 'important',
      notificationUrl: 'important',
      expirationDateTime: 'important',
      latestSupportedTlsVersion: 'internal',
      includeResourceData: 'internal',
    }),
    SubscriptionUpdate: annotate(convert(updateSubscriptionSchema, 'input'), { '@odata.type': 'internal', expirationDateTime: 'important' }),
    Subscription: annotate(convert(subscriptionSchema, 'output'), { '@odata.context': 'internal' }),
    SubscriptionCollection: annotate(convert(subscriptionCollectionSchema, 'output'), { '@odata.context': 'internal' }),
  };
}
