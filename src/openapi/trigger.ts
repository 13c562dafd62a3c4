import { triggerGroupPickerOperationId } from './operations';
import type { SchemaObject } from './swagger';

/**
 * The connector's webhook trigger "When a group member is added or removed" (SPEC 9), on POST
 * /subscriptions. How Power Automate and Logic Apps drive a webhook trigger
 * (https://learn.microsoft.com/training/modules/create-triggers-custom-connectors/2-webhook-trigger):
 * when a flow with the trigger is saved or turned on, the platform POSTs the operation's body with
 * its own callback URL in the property marked `x-ms-notification-url`; the answer must be 201 with a
 * `Location` header, which the platform keeps and DELETEs when the flow is turned off, changed or
 * deleted; every POST to the callback URL starts a run, its body read by the schema in the path's
 * `x-ms-notification-content`.
 *
 * Graph's subscription body names the group inside `resource` (`groups/{id}/members`), which no
 * picker can fill: the picker puts the group's ID in `resource`, and the connector's request policy
 * (apiProperties.json, `triggerResourcePolicy`) rewrites it to `groups/{id}/members` before the
 * request leaves the platform: the same SetProperty form Microsoft's own Azure AD connector uses
 * to turn a picked ID into an @odata.id URL (microsoft/PowerPlatformConnectors,
 * certified-connectors/AzureAD/apiProperties.json, "Append graph url").
 */
export const triggerOperationId = 'OnGroupMemberAddedOrRemoved';
export const triggerBodyDefinition = 'GroupMemberTriggerSubscription';
export const notificationDefinition = 'ChangeNotificationCollection';

/** The value the policy sets `resource` to, `{@body().resource}` being the picked group ID. */
export const triggerResourceTemplate = 'groups/{@body().resource}/members';

/** apiProperties.json's policyTemplateInstances entry that completes the trigger's `resource`. */
export function triggerResourcePolicy(): Record<string, unknown> {
  return {
    templateId: 'setproperty',
    title: 'Watch the picked group’s members',
    parameters: {
      'x-ms-apimTemplateParameter.newPropertyParentPathTemplate': '@body()',
      'x-ms-apimTemplateParameter.newPropertySubPathTemplate': 'resource',
      'x-ms-apimTemplateParameter.propertyValuePathTemplate': triggerResourceTemplate,
      'x-ms-apimTemplate-policySection': 'Request',
      'x-ms-apimTemplate-operationName': [triggerOperationId],
    },
  };
}

const text = (summary: string, description: string, extra: SchemaObject = {}): SchemaObject => ({ type: 'string', description, 'x-ms-summary': summary, ...extra });

/**
 * The trigger's body: the four properties of Graph's subscription that it needs, each one the
 * service's POST /subscriptions accepts (src/subscriptions/subscriptionSchemas.ts; a test sends the
 * body built from this definition to the service). clientState is left out: the callback URL is
 * the platform's signed URL, which no one else can call, so there is nothing for it to prove.
 */
function triggerBody(): SchemaObject {
  return {
    type: 'object',
    required: ['resource', 'changeType', 'notificationUrl', 'expirationDateTime'],
    properties: {
      resource: text('Group', 'The group whose members to watch: pick it from the list, or type its object ID.', {
        'x-ms-visibility': 'important',
        'x-ms-dynamic-values': { operationId: triggerGroupPickerOperationId, 'value-collection': 'value', 'value-path': 'id', 'value-title': 'displayName' },
      }),
      // Graph notifies a change of a group's members as an update of the group.
      changeType: text('Change Type', 'updated: members added or removed.', { 'x-ms-visibility': 'internal', default: 'updated', enum: ['updated'] }),
      notificationUrl: text('Notification URL', 'The callback URL the platform fills in.', { 'x-ms-visibility': 'internal', 'x-ms-notification-url': true }),
      expirationDateTime: text(
        'Expiration',
        'When the trigger stops (UTC), at most 29 days (41,760 minutes) ahead, for example the expression addDays(utcNow(), 28). Turn the flow off and on again to subscribe anew.',
        { format: 'date-time', 'x-ms-visibility': 'important' },
      ),
    },
  };
}

/**
 * One notification as Graph sends it for a group's members
 * (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks#change-notification-example),
 * resourceData carrying the members that changed with `"@removed": "deleted"` on those removed
 * (a string here, as Graph sends it and src/subscriptions/delivery.ts writes it; delta's is an
 * object). Open: Graph may add properties.
 */
function changeNotification(): SchemaObject {
  return {
    type: 'object',
    properties: {
      subscriptionId: text('Subscription ID', 'The subscription (the trigger) the notification is for.'),
      clientState: text('Client State', 'The clientState of the subscription; empty for the trigger.', { 'x-nullable': true }),
      changeType: text('Change Type', 'updated when members were added or removed; deleted when the group was deleted.'),
      resource: text('Resource', 'The group that changed, as Groups/{id}.'),
      tenantId: text('Tenant ID', 'The Microsoft Entra tenant of the group.'),
      subscriptionExpirationDateTime: text('Subscription Expiration', 'When the subscription ends.', { format: 'date-time' }),
      resourceData: {
        type: 'object',
        description: 'The group and the members that changed.',
        'x-ms-summary': 'Resource Data',
        properties: {
          '@odata.type': text('OData Type', 'The type of the changed object: #Microsoft.Graph.Group.'),
          '@odata.id': text('OData ID', 'The changed group, as Groups/{id}.'),
          id: text('Group ID', 'The object ID (a GUID) of the group.'),
          'members@delta': {
            type: 'array',
            description: 'The members added or removed: each with its ID, and @removed when it was removed.',
            'x-ms-summary': 'Changed Members',
            items: {
              type: 'object',
              properties: {
                id: text('Member ID', 'The object ID (a GUID) of the user or group added or removed.'),
                // A string in notifications ("deleted"), where delta answers an object ({reason}).
                '@removed': text('Removed', 'deleted when the member was removed; absent when it was added.'),
              },
            },
          },
        },
      },
    },
  };
}

export function triggerDefinitions(): Record<string, SchemaObject> {
  return {
    [triggerBodyDefinition]: triggerBody(),
    ChangeNotification: changeNotification(),
    [notificationDefinition]: {
      type: 'object',
      required: ['value'],
      properties: {
        value: {
          type: 'array',
          description: 'The changes, one or more per notification.',
          'x-ms-summary': 'Changes',
          items: { $ref: '#/definitions/ChangeNotification' },
        },
      },
    },
  };
}
