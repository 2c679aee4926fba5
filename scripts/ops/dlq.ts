/**
 * Dead-letter queue operations, with the clients passed in: status, peek (look at failed events
 * without consuming them), redrive (SQS's message-move task, with progress) and purge.
 */
import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  SendMessageCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { ATTRIBUTES } from '../../functions/commons/core/hook-envelope';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import type { OpsTarget } from './target';

export interface QueueCounts {
  waiting: number;
  inFlight: number;
  delayed: number;
}

export interface DlqStatus {
  queue: QueueCounts;
  deadLetterQueue: QueueCounts;
  /** The latest redrive task from the dead-letter queue, if SQS knows one. */
  lastMoveTask?: ListMessageMoveTasksResultEntry | undefined;
  /** Set when SQS (or an emulator) does not support listing move tasks. */
  moveTasksUnsupported?: boolean;
}

async function counts(sqs: SQSClient, queueUrl: string): Promise<QueueCounts> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const attribute = (name: string) => Number(out.Attributes?.[name as keyof typeof out.Attributes] ?? 0);
  return {
    waiting: attribute('ApproximateNumberOfMessages'),
    inFlight: attribute('ApproximateNumberOfMessagesNotVisible'),
    delayed: attribute('ApproximateNumberOfMessagesDelayed'),
  };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for ${queueUrl}`);
  return arn;
}

export async function dlqStatus(sqs: SQSClient, target: OpsTarget): Promise<DlqStatus> {
  const [queue, deadLetterQueue] = await Promise.all([counts(sqs, target.queueUrl), counts(sqs, target.deadLetterQueueUrl)]);
  try {
    const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: await queueArn(sqs, target.deadLetterQueueUrl), MaxResults: 1 }));
    return { queue, deadLetterQueue, lastMoveTask: tasks.Results?.[0] };
  } catch (error) {
    if (!isUnknownAction(error)) throw error;
    return { queue, deadLetterQueue, moveTasksUnsupported: true };
  }
}

export interface DeadLetter {
  messageId: string;
  sentAt: string | undefined;
  /** Receives by the consumer before SQS moved it here. */
  receiveCount: number | undefined;
  event: string | undefined;
  websiteId: string | undefined;
  deliveryAttempt: string | undefined;
  /**
   * Why it is here when the consumer sent it itself (a handler's `PermanentError`, an event the
   * bus refused): the `deadLetterReason` attribute; undefined when SQS moved it after the last receive.
   */
  reason: string | undefined;
  /** Its dedupe key, when the body is a readable Crisp envelope. */
  dedupeKey: string | undefined;
  /** What the dedupe table says of it: status, failures, last error. */
  record: Record<string, string | number> | undefined;
  /** Why the consumer could not read it, when it could not. */
  unreadable: string | undefined;
  body?: string | undefined;
}

/**
 * Reads up to `max` dead letters without removing them: they are hidden while read, then made
 * visible again at once. Message bodies are left out unless `showBody` (they hold customer data).
 */
export async function peekDeadLetters(
  sqs: SQSClient,
  dynamodb: DynamoDBClient | undefined,
  target: OpsTarget,
  options: { max?: number; showBody?: boolean } = {},
): Promise<DeadLetter[]> {
  const max = options.max ?? 10;
  const seen = new Map<string, { receiptHandle: string; letter: DeadLetter }>();
  while (seen.size < max) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: target.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: 30,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
      }),
    );
    const messages = (out.Messages ?? []).filter((message) => !seen.has(message.MessageId!));
    if (messages.length === 0) break;
    for (const message of messages) {
      const attributes = message.MessageAttributes ?? {};
      const text = attributes[ATTRIBUTES.bodyEncoding]?.StringValue === 'base64' ? Buffer.from(message.Body ?? '', 'base64').toString('utf8') : (message.Body ?? '');
      let key: string | undefined;
      let unreadable: string | undefined;
      try {
        key = dedupeKey(text);
      } catch (error) {
        unreadable = (error as Error).message;
      }
      const sent = message.Attributes?.SentTimestamp;
      // The DLQ's own receive count includes ours; the consumer's receives are what redrive policy counted.
      seen.set(message.MessageId!, {
        receiptHandle: message.ReceiptHandle!,
        letter: {
          messageId: message.MessageId!,
          sentAt: sent ? new Date(Number(sent)).toISOString() : undefined,
          receiveCount: message.Attributes?.ApproximateReceiveCount ? Number(message.Attributes.ApproximateReceiveCount) : undefined,
          event: attributes[ATTRIBUTES.event]?.StringValue,
          websiteId: attributes[ATTRIBUTES.websiteId]?.StringValue,
          deliveryAttempt: attributes[ATTRIBUTES.deliveryAttempt]?.StringValue,
          reason: attributes.deadLetterReason?.StringValue,
          dedupeKey: key,
          record: undefined,
          unreadable,
          ...(options.showBody ? { body: text } : {}),
        },
      });
    }
  }
  const entries = [...seen.values()];
  // Put them back at once.
  for (let i = 0; i < entries.length; i += 10) {
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: target.deadLetterQueueUrl,
        Entries: entries.slice(i, i + 10).map((entry, index) => ({ Id: String(index), ReceiptHandle: entry.receiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
  if (dynamodb && target.tableName) {
    for (const { letter } of entries) if (letter.dedupeKey) letter.record = await dedupeRecord(dynamodb, target.tableName, letter.dedupeKey);
  }
  return entries.map((entry) => entry.letter);
}

/** The dedupe record of one event (what happened to it), without anything of its content. */
export async function dedupeRecord(dynamodb: DynamoDBClient, tableName: string, key: string): Promise<Record<string, string | number> | undefined> {
  const out = await dynamodb.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  return Object.fromEntries(
    Object.entries(out.Item).map(([name, value]: [string, AttributeValue]) => [name, value.N !== undefined ? Number(value.N) : (value.S ?? JSON.stringify(value))]),
  );
}

export interface RedriveProgress {
  status: string;
  moved: number;
  toMove: number | undefined;
  failureReason?: string | undefined;
}

/**
 * Moves every dead letter back to the hook queue with SQS's message-move task, reporting progress
 * until the task ends. Events that completed meanwhile are acknowledged by the consumer as duplicates.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  target: OpsTarget,
  options: { maxPerSecond?: number; pollMs?: number; wait?: boolean; onProgress?: (progress: RedriveProgress) => void } = {},
): Promise<RedriveProgress> {
  const [sourceArn, destinationArn] = await Promise.all([queueArn(sqs, target.deadLetterQueueUrl), queueArn(sqs, target.queueUrl)]);
  try {
    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: sourceArn,
        DestinationArn: destinationArn,
        ...(options.maxPerSecond ? { MaxNumberOfMessagesPerSecond: options.maxPerSecond } : {}),
      }),
    );
  } catch (error) {
    // Emulators (fauxqs) have no message-move task: move the messages ourselves. Any other error stands.
    if (!isUnknownAction(error)) throw error;
    return moveMessagesOneByOne(sqs, target, options.onProgress);
  }
  let progress: RedriveProgress = { status: 'RUNNING', moved: 0, toMove: undefined };
  for (;;) {
    const out = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = out.Results?.[0];
    progress = {
      status: task?.Status ?? 'UNKNOWN',
      moved: task?.ApproximateNumberOfMessagesMoved ?? 0,
      toMove: task?.ApproximateNumberOfMessagesToMove,
      failureReason: task?.FailureReason,
    };
    options.onProgress?.(progress);
    if (progress.status !== 'RUNNING' || options.wait === false) return progress;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 2000));
  }
}

/**
 * Redrive without SQS's move task (where it does not exist, as in the local emulator): receive,
 * send to the hook queue with the same body and attributes, then delete only what was sent. A
 * message the hook queue refuses stays in the dead-letter queue and ends the redrive as FAILED.
 * A crash between send and delete leaves a copy in both queues, which the consumer's dedupe absorbs.
 */
async function moveMessagesOneByOne(sqs: SQSClient, target: OpsTarget, onProgress?: (progress: RedriveProgress) => void): Promise<RedriveProgress> {
  const toMove = (await counts(sqs, target.deadLetterQueueUrl)).waiting;
  let moved = 0;
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: target.deadLetterQueueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) {
      try {
        await sqs.send(new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: message.Body ?? '', MessageAttributes: message.MessageAttributes }));
      } catch (error) {
        // Not sent: keep it (and the rest of this batch) where it is, visible again for a retry.
        const rest = messages.slice(messages.indexOf(message));
        await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: target.deadLetterQueueUrl,
            Entries: rest.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })),
          }),
        );
        const failed = { status: 'FAILED', moved, toMove, failureReason: `message ${message.MessageId}: ${(error as Error).name}: ${(error as Error).message}` };
        onProgress?.(failed);
        return failed;
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: target.deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
      moved += 1;
    }
    onProgress?.({ status: 'RUNNING', moved, toMove });
  }
  const done = { status: 'COMPLETED', moved, toMove };
  onProgress?.(done);
  return done;
}

/** SQS answered that it does not know the action: an emulator without it (fauxqs). */
function isUnknownAction(error: unknown): boolean {
  const { name = '', message = '' } = (error ?? {}) as { name?: string; message?: string };
  return name === 'InvalidAction' || name.endsWith('.InvalidAction') || /^unknown action/i.test(message);
}

/** Deletes every message of the dead-letter queue. SQS allows one purge per queue every 60 s. */
export async function purgeDeadLetters(sqs: SQSClient, target: OpsTarget): Promise<number> {
  const before = await counts(sqs, target.deadLetterQueueUrl);
  await sqs.send(new PurgeQueueCommand({ QueueUrl: target.deadLetterQueueUrl }));
  return before.waiting + before.inFlight + before.delayed;
}
