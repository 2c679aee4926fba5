/** Adapter: the consumer's `EventPublisher` port on Amazon EventBridge (PutEvents). */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventPublisher, PublishFailure } from '../../consumer/event-publishing';

/**
 * One client per execution environment; endpoint from `AWS_ENDPOINT_URL_EVENTBRIDGE` when set.
 * The SDK retries a throttled or failed call (3 attempts in all); per-entry failures come back
 * in the answer and are the consumer's to handle.
 */
export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 } });
}

/** PutEvents on `busName` (a name, or an ARN): failures by index; a failed call rejects (the publisher fails every entry of it). */
export function eventBridgePublisher(client: EventBridgeClient, busName: string): EventPublisher {
  return {
    async publish(entries) {
      const out = await client.send(
        new PutEventsCommand({
          Entries: entries.map((entry) => ({
            EventBusName: busName,
            Source: entry.source,
            DetailType: entry.detailType,
            Detail: entry.detail,
            Time: entry.time,
          })),
        }),
      );
      const failed: PublishFailure[] = [];
      entries.forEach((_, index) => {
        const result = out.Entries?.[index];
        if (!result || result.ErrorCode || !result.EventId) {
          failed.push({ index, errorCode: result?.ErrorCode || 'MissingResult', errorMessage: result?.ErrorMessage ?? 'no result for this entry' });
        }
      });
      return { failed };
    },
  };
}
