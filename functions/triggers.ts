import type { InvocationContext, Timer } from '@azure/functions';
import { deliverNotificationsQueue, dispatchNotificationsTimer } from './notifications';
import { reconcileMembershipsTimer } from './reconcileMemberships';

/**
 * The functions that are not HTTP: functions/index.ts registers them with app.timer() and
 * app.storageQueue(), and the local host (src/local/triggerHost.ts) runs the same definitions.
 */
export interface TimerFunctionDefinition {
  readonly name: string;
  /** NCRONTAB, six fields (seconds first): https://learn.microsoft.com/azure/azure-functions/functions-bindings-timer#ncrontab-expressions */
  readonly schedule: string;
  readonly handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

export interface QueueFunctionDefinition {
  readonly name: string;
  readonly queueName: string;
  readonly connection: string;
  readonly handler: (queueEntry: unknown, context: InvocationContext) => Promise<void>;
}

export const timerFunctions: readonly TimerFunctionDefinition[] = [reconcileMembershipsTimer, dispatchNotificationsTimer];
export const queueFunctions: readonly QueueFunctionDefinition[] = [deliverNotificationsQueue];
