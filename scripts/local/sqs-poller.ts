/**
 * A local stand-in for Lambda's SQS event source mapping: long-polls the queue, hands the
 * consumer handler SQS-shaped batches, deletes what succeeded, leaves `batchItemFailures` (or the
 * whole batch when the handler throws) to reappear after the visibility timeout; the queue's
 * redrive policy then moves messages to the dead-letter queue after the configured receives,
 * as on AWS.
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface PollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  /** Loads the consumer handler (once, like a cold start). */
  load: () => Promise<SqsHandler>;
  functionName?: string;
  /** Messages per batch. Default 10. */
  batchSize?: number;
  /** Concurrent pollers (concurrent invocations). Default 2. */
  concurrency?: number;
  /** The function timeout, for `getRemainingTimeInMillis`. Default 30 s. */
  timeoutMs?: number;
  log?: (line: Record<string, unknown>) => void;
}

export interface Poller {
  stop(): Promise<void>;
}

export function startPoller(options: PollerOptions): Poller {
  let running = true;
  let handlerPromise: Promise<SqsHandler> | undefined;
  const log = options.log ?? (() => undefined);
  const functionName = options.functionName ?? 'crisp-bridge-consumer';

  const loop = async (): Promise<void> => {
    while (running) {
      let messages: Message[] = [];
      try {
        const out = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (!running) return;
        log({ level: 'WARN', message: 'local event source: receive failed', error: String(error) });
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      if (messages.length === 0) continue;

      const event: SQSEvent = { Records: messages.map((message) => toRecord(message, options.queueArn)) };
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      const context = lambdaContext(functionName, deadline);
      let failed: Set<string>;
      try {
        handlerPromise ??= options.load();
        const result = await (await handlerPromise)(event, context);
        failed = new Set((result?.batchItemFailures ?? []).map((item) => item.itemIdentifier));
      } catch (error) {
        // A thrown error fails the whole batch, as with Lambda.
        log({ level: 'ERROR', message: 'local event source: consumer threw; the whole batch will be retried', error: String(error) });
        failed = new Set(messages.map((message) => message.MessageId!));
      }
      const done = messages.filter((message) => !failed.has(message.MessageId!));
      if (done.length > 0) {
        try {
          await options.client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })),
            }),
          );
        } catch (error) {
          log({ level: 'WARN', message: 'local event source: delete failed; the messages will be redelivered', error: String(error) });
        }
      }
    }
  };

  const loops = Array.from({ length: options.concurrency ?? 2 }, () => loop());
  return {
    // Waits for the receives under way (at most their 1 s long poll) rather than cancelling
    // them: a cancelled request could still take a message and hide it for a visibility timeout.
    stop: async () => {
      running = false;
      await Promise.allSettled(loops);
    },
  };
}

/** An SQS record as Lambda's event source mapping builds it. */
export function toRecord(message: Message, queueArn: string): SQSRecord {
  const messageAttributes: SQSRecord['messageAttributes'] = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      stringValue: value.StringValue,
      stringListValues: [],
      binaryListValues: [],
    };
  }
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}

