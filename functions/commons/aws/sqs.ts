/** Adapters: the hook queue and its dead-letter queue, backed by Amazon SQS. */
import { type MessageAttributeValue, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DeadLetterQueue } from '../../consumer/process-batch';
import type { HookQueue } from '../../hook-receiver/receive-hook';

/**
 * One client per execution environment. Crisp wants an answer within a second, so a slow SQS
 * call is cut short and retried once rather than left to hang; the receiver then answers 503
 * and Crisp retries. The endpoint comes from the standard `AWS_ENDPOINT_URL_SQS` when set, and
 * is used for every call (`useQueueUrlAsEndpoint: false`): on AWS it is the same host as the
 * queue URL; against an emulator it is where the emulator actually listens.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 500, requestTimeout: 1500 },
    useQueueUrlAsEndpoint: false,
  });
}

export function sqsHookQueue(client: SQSClient, queueUrl: string): HookQueue {
  return {
    async send(message) {
      const out = await client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.body, MessageAttributes: message.attributes }),
      );
      return out.MessageId;
    },
  };
}

/** The dead-letter port: a copy of the record (body and attributes) plus `deadLetterReason`. */
export function sqsDeadLetterQueue(client: SQSClient, queueUrl: string): DeadLetterQueue {
  return {
    async send(record, reason) {
      const attributes: Record<string, MessageAttributeValue> = {};
      for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
        if (value.stringValue !== undefined) attributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
      }
      attributes.deadLetterReason = { DataType: 'String', StringValue: reason.slice(0, 256) || 'permanent error' };
      attributes.deadLetterSourceMessageId = { DataType: 'String', StringValue: record.messageId };
      await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: record.body, MessageAttributes: attributes }));
    },
  };
}
