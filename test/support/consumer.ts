/**
 * The consumer as the tests run it: cold-started with a handler module of the tests' own
 * (test/fixtures/handlers/), the way the construct's generated entry calls
 * `createConsumerHandler(module)`, never with the shipped example (which users edit); and SQS
 * records in the shape Lambda's event source mapping delivers, built by hand or from messages
 * received from the SQS emulator.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ConsumerHandler } from '../../functions/consumer/create-handler';

/** Where the tests' handler modules live. */
export const HANDLER_FIXTURES = path.join(__dirname, '..', 'fixtures', 'handlers');

export interface ColdStart<M> {
  handler: ConsumerHandler;
  /** The fixture module instance the handler runs (its exported records and controls). */
  fixture: M;
}

/**
 * A cold start: sets `process.env` to `env` (variables whose value is undefined are left out;
 * the AWS SDK reads its endpoints from there), then loads the consumer and the fixture module
 * afresh, in their own module registry, and wires them. Throws what the cold start throws.
 * The caller restores `process.env`.
 */
export function coldStartConsumer<M = Record<string, unknown>>(fixture: string, env: Record<string, string | undefined>): ColdStart<M> {
  const next: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && name !== 'AWS_PROFILE') next[name] = value;
  process.env = next;
  let started!: ColdStart<M>;
  jest.isolateModules(() => {
    const { createConsumerHandler } = require('../../functions/consumer/create-handler') as typeof import('../../functions/consumer/create-handler');
    const module = require(path.join(HANDLER_FIXTURES, fixture)) as M;
    started = { handler: createConsumerHandler(module), fixture: module };
  });
  return started;
}

export const batchOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** The message ids reported for retry, sorted. */
export const failedIds = (result: SQSBatchResponse | void): string[] => (result?.batchItemFailures ?? []).map((item) => item.itemIdentifier).sort();

export interface RecordOptions {
  attempt?: number;
  attemptLimit?: number;
  receiveCount?: number;
  messageId?: string;
  base64?: boolean;
  /** The hookKind attribute; `null` leaves it out. Default 'plugin'. */
  hookKind?: string | null;
}

/** An SQS record as the event source mapping builds it from a message the receiver queued. */
export function sqsRecord(body: string, options: RecordOptions = {}): SQSRecord {
  let envelope: { event?: string; website_id?: string } = {};
  try {
    envelope = JSON.parse(body) as typeof envelope;
  } catch {
    // an invalid body: no envelope attributes
  }
  const attribute = (stringValue: string, dataType = 'String') => ({ stringValue, dataType, stringListValues: [], binaryListValues: [] });
  const messageAttributes: SQSRecord['messageAttributes'] = {
    ...(options.hookKind === null ? {} : { hookKind: attribute(options.hookKind ?? 'plugin') }),
    receivedAt: attribute(String(Date.now()), 'Number'),
    hookOrigin: attribute('plugin/rtm 38b411d9377a6a00 production'),
  };
  if (typeof envelope.event === 'string') messageAttributes.event = attribute(envelope.event);
  if (typeof envelope.website_id === 'string') messageAttributes.websiteId = attribute(envelope.website_id);
  if (options.attempt !== undefined) messageAttributes.deliveryAttempt = attribute(String(options.attempt), 'Number');
  if (options.attempt !== undefined || options.attemptLimit !== undefined) {
    messageAttributes.deliveryAttemptLimit = attribute(String(options.attemptLimit ?? 3), 'Number');
  }
  if (options.base64) messageAttributes.bodyEncoding = attribute('base64');
  const now = String(Date.now());
  return {
    messageId: options.messageId ?? randomUUID(),
    receiptHandle: `AQEB${randomUUID().replace(/-/g, '')}`,
    body: options.base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: now,
      SenderId: 'AROAEXAMPLE:crisp-bridge-hook-receiver',
      ApproximateFirstReceiveTimestamp: now,
    },
    messageAttributes,
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:crisp-bridge-hooks',
    awsRegion: 'eu-west-1',
  };
}

/** The record Lambda's event source mapping makes of a message received from a queue (the local event source's own). */
export { toRecord as sqsRecordFromMessage } from '../../scripts/local/sqs-poller';
