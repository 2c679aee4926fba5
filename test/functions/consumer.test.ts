/**
 * The consumer against the DynamoDB emulator (dynalite), through the real SDK client and real
 * conditional writes: the deployed handler module (cold-started with the environment the
 * construct sets, reaching the table with AWS_ENDPOINT_URL_DYNAMODB) and the batch use case
 * (`processBatch`) with the real DynamoDB store and handler registries the tests control.
 *
 * SQS events are built by hand, in the shape Lambda's event source mapping delivers, with
 * realistic Crisp bodies. Every case asserts what the handlers ran, the batch item failures,
 * the stored record and the log lines.
 */
import { randomUUID } from 'node:crypto';
import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { dynamoDbDedupeStore } from '../../functions/commons/aws/dynamodb-dedupe-store';
import { type DedupeStore, dedupeKey, recordExpiry } from '../../functions/commons/core/dedupe';
import { createLogger } from '../../functions/commons/logger';
import type { CrispEvent } from '../../functions/consumer/events';
import { type ConsumerDeps, processBatch } from '../../functions/consumer/process-batch';
import { type HandlerContext, defineHandlers } from '../../functions/consumer/registry';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { lambdaContext } from '../support/events';

type Handler = (typeof import('../../functions/consumer/handler'))['handler'];

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const TTL_HOURS = 48;
const MAX_RECEIVE_COUNT = 3;
/** Text from the sample bodies that must never reach a log line. */
const CONTENT = ['order #1042', 'hasn\'t arrived', 'jane.doe+orders@example.com', '1Z999AA10123456784'];

let db: DynamoDbEmulator;
let store: DedupeStore;
let stdout: string[];
const allStdout: string[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynamoDbEmulator();
  store = dynamoDbDedupeStore(db.client, db.tableName);
});
afterAll(async () => {
  await db.close();
});

beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    stdout.push(text);
    allStdout.push(text);
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Loads the consumer handler module fresh (a cold start) with the environment the construct sets. */
function coldStart(env: Record<string, string | undefined> = {}): Handler {
  process.env = {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    DEDUPE_TABLE_NAME: db.tableName,
    DEDUPE_TTL_HOURS: String(TTL_HOURS),
    MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    ...env,
  };
  delete process.env.AWS_PROFILE;
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  let handler!: Handler;
  jest.isolateModules(() => {
    handler = (require('../../functions/consumer/handler') as typeof import('../../functions/consumer/handler')).handler;
  });
  return handler;
}

interface RecordOptions {
  attempt?: number;
  attemptLimit?: number;
  receiveCount?: number;
  messageId?: string;
  base64?: boolean;
  /** The hookKind attribute; `null` leaves it out. Default 'plugin'. */
  hookKind?: string | null;
}

/** An SQS record as the event source mapping builds it from a message the receiver queued. */
function sqsRecord(body: string, options: RecordOptions = {}): SQSRecord {
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

const batchOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const failed = (result: SQSBatchResponse | void) => (result?.batchItemFailures ?? []).map((item) => item.itemIdentifier).sort();

/** A fresh sample event (fresh session id: a distinct event) for `event`. */
const sample = (event = 'message:send', timestampMs?: number) => sampleHookBody(event, { websiteId: WEBSITE_ID, timestampMs });

/** Every JSON line written to stdout during this test. */
const logs = () =>
  stdout
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);
const linesFor = (message: string, key?: string) => logs().filter((line) => line.message === message && (key === undefined || line.dedupeKey === key));
const processedLines = (key: string) => linesFor('crisp event processed', key);

/** The stored dedupe record, read consistently, as plain values. */
async function storedRecord(key: string): Promise<Record<string, string | number> | undefined> {
  const out = await db.client.send(new GetItemCommand({ TableName: db.tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  return Object.fromEntries(Object.entries(out.Item).map(([name, value]: [string, AttributeValue]) => [name, value.N !== undefined ? Number(value.N) : value.S!]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Call {
  event: CrispEvent;
  context: HandlerContext;
}

/** A registry that records each call, optionally failing or waiting first. */
function countingHandlers(behaviour: { namespaces?: string[]; fail?: (call: number) => boolean; delayMs?: number } = {}) {
  const calls: Call[] = [];
  const handler = async (event: CrispEvent, context: HandlerContext) => {
    calls.push({ event, context });
    if (behaviour.delayMs) await sleep(behaviour.delayMs);
    if (behaviour.fail?.(calls.length)) throw new Error(`downstream CRM timed out (call ${calls.length})`);
  };
  const handlers = Object.fromEntries((behaviour.namespaces ?? ['message:send']).map((namespace) => [namespace, handler]));
  return { calls, handlers };
}

/** The batch use case's dependencies, with the real DynamoDB store and a stdout logger. */
function deps(handlers: Record<string, unknown>, overrides: Partial<ConsumerDeps> = {}): ConsumerDeps {
  return {
    store,
    handlers: defineHandlers(handlers as Record<string, never>),
    logger: createLogger({ dimensions: { service: 'consumer' } }),
    now: Date.now,
    newOwner: randomUUID,
    remainingTimeMs: () => 30_000,
    ttlHours: TTL_HOURS,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// The deployed handler module.

describe('consumer handler (cold start, the shipped registry)', () => {
  it('three deliveries of one event (attempts 1, 2, 3, separate batches): the handler runs once, two duplicates', async () => {
    const handler = coldStart();
    const body = sample('message:send');
    const key = dedupeKey(body);
    const contexts = [lambdaContext(), lambdaContext(), lambdaContext()];
    const messageIds: string[] = [];
    for (const [index, attempt] of [1, 2, 3].entries()) {
      const record = sqsRecord(body, { attempt, attemptLimit: 3 });
      messageIds.push(record.messageId);
      expect(failed(await handler(batchOf(record), contexts[index]!))).toEqual([]);
    }
    // The shipped handler (count-visitor-messages) ran once.
    expect(linesFor('visitor message', key)).toHaveLength(1);
    const processed = processedLines(key);
    expect(processed).toEqual([
      expect.objectContaining({ level: 'INFO', event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key, attempt: 1, attemptLimit: 3, duplicate: false, messageId: messageIds[0], requestId: contexts[0]!.awsRequestId, EventProcessed: 1 }),
      expect.objectContaining({ event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key, attempt: 2, duplicate: true, messageId: messageIds[1], requestId: contexts[1]!.awsRequestId, EventDuplicate: 1 }),
      expect.objectContaining({ event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key, attempt: 3, duplicate: true, messageId: messageIds[2], requestId: contexts[2]!.awsRequestId, EventDuplicate: 1 }),
    ]);
    const record = await storedRecord(key);
    expect(record).toMatchObject({ status: 'COMPLETED', claims: 1, messageId: messageIds[0], deliveryAttempt: 1 });
  });

  it('stores, for operators, the delivery attempt and limit, the receive count, the event and the message id, with the dedupe lifetime as TTL', async () => {
    const handler = coldStart();
    const body = sample('message:send');
    const key = dedupeKey(body);
    const record = sqsRecord(body, { attempt: 2, attemptLimit: 5, receiveCount: 2 });
    const before = Date.now();
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([]);
    const after = Date.now();
    const stored = await storedRecord(key);
    expect(stored).toEqual({
      pk: key,
      status: 'COMPLETED',
      owner: expect.any(String),
      event: 'message:send',
      websiteId: WEBSITE_ID,
      messageId: record.messageId,
      receiveCount: 2,
      deliveryAttempt: 2,
      deliveryAttemptLimit: 5,
      claims: 1,
      leaseExpiresAt: expect.any(Number),
      expiresAt: expect.any(Number),
      claimedAt: expect.any(Number),
      firstClaimedAt: expect.any(Number),
      completedAt: expect.any(Number),
    });
    expect(stored!.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) + TTL_HOURS * 3600);
    expect(stored!.expiresAt).toBeLessThanOrEqual(Math.floor(after / 1000) + TTL_HOURS * 3600);
    expect(stored!.completedAt).toBeGreaterThanOrEqual(before);
    expect(stored!.completedAt).toBeLessThanOrEqual(after);
    // The lease was the function's remaining time (10 s in the test context) plus the 10 s margin.
    expect(stored!.leaseExpiresAt).toBeGreaterThanOrEqual(before + 20_000);
    expect(stored!.leaseExpiresAt).toBeLessThanOrEqual(after + 20_000);
    // Never the body.
    expect(JSON.stringify(stored)).not.toContain('order #1042');
  });

  it('the example handler: a visitor message logs "visitor message" with the VisitorMessages metric, and no content', async () => {
    const handler = coldStart();
    const body = sample('message:send');
    const key = dedupeKey(body);
    const { data } = JSON.parse(body) as { data: { session_id: string } };
    expect(failed(await handler(batchOf(sqsRecord(body, { attempt: 1 })), lambdaContext()))).toEqual([]);
    expect(linesFor('visitor message')).toEqual([
      expect.objectContaining({
        level: 'INFO',
        event: 'message:send',
        website_id: WEBSITE_ID,
        dedupeKey: key,
        session_id: data.session_id,
        type: 'text',
        origin: 'chat',
        VisitorMessages: 1,
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            {
              Namespace: 'CrispBridge',
              Dimensions: [['service'], ['service', 'website_id', 'origin']],
              Metrics: [{ Name: 'VisitorMessages', Unit: 'Count' }],
            },
          ],
        }),
      }),
    ]);
    const line = linesFor('visitor message')[0]!;
    expect(line).not.toHaveProperty('content');
    const all = stdout.join('');
    for (const forbidden of CONTENT) expect(all).not.toContain(forbidden);
  });

  it('the example handler: a message from an operator logs no "visitor message" (processed all the same)', async () => {
    const handler = coldStart();
    const body = JSON.stringify({ ...JSON.parse(sample('message:send')), data: { ...JSON.parse(sample('message:send')).data, from: 'operator' } });
    const key = dedupeKey(body);
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(linesFor('visitor message')).toEqual([]);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED' });
  });

  it('an event with no handler in the shipped registry is acknowledged, logged and completed', async () => {
    const handler = coldStart();
    const body = sample('session:set_email');
    const key = dedupeKey(body);
    expect(failed(await handler(batchOf(sqsRecord(body, { attempt: 1 })), lambdaContext()))).toEqual([]);
    expect(linesFor('no handler for this event namespace', key)).toEqual([expect.objectContaining({ event: 'session:set_email', EventUnhandled: 1 })]);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false, handler: 'none' })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', event: 'session:set_email' });
    expect(stdout.join('')).not.toContain('jane.doe+orders@example.com');
  });

  it('an invalid message is reported as a batch item failure and logged; the valid one next to it is processed', async () => {
    const handler = coldStart();
    const good = sample('message:send');
    const bad = sqsRecord('not json: My order #1042');
    const ok = sqsRecord(good);
    expect(failed(await handler(batchOf(bad, ok), lambdaContext()))).toEqual([bad.messageId]);
    expect(linesFor('invalid queue message')).toEqual([
      expect.objectContaining({ level: 'ERROR', messageId: bad.messageId, problem: 'not_json', receiveCount: 1, EventInvalid: 1 }),
    ]);
    expect(linesFor('visitor message')).toHaveLength(1);
    expect(processedLines(dedupeKey(good))).toEqual([expect.objectContaining({ duplicate: false })]);
    expect(stdout.join('')).not.toContain('order #1042');
  });

  it('DynamoDB unreachable: nothing processed, every record retried, the error logged; after it is back each event runs once', async () => {
    // Its own emulator, so the outage touches no other test.
    const outage = await startDynamoDbEmulator();
    try {
      const handler = coldStart({ AWS_ENDPOINT_URL_DYNAMODB: outage.endpoint, DEDUPE_TABLE_NAME: outage.tableName });
      const bodies = [sample('message:send'), sample('message:send'), sample('session:set_email')];
      const records = bodies.map((body, index) => sqsRecord(body, { attempt: 1, messageId: `m-${index}-${randomUUID()}` }));
      await outage.pause();
      let down: SQSBatchResponse | void;
      try {
        down = await handler(batchOf(...records), lambdaContext());
      } finally {
        await outage.resume();
      }
      expect(failed(down)).toEqual(records.map((record) => record.messageId).sort());
      expect(linesFor('visitor message')).toEqual([]);
      expect(linesFor('crisp event processed')).toEqual([]);
      const unavailable = linesFor('crisp event not processed: dedupe store unavailable');
      expect(unavailable.map((line) => line.messageId).sort()).toEqual(records.map((record) => record.messageId).sort());
      for (const line of unavailable) {
        expect(line).toMatchObject({ level: 'ERROR', willRetry: true, deadLetter: false, reason: 'store_unavailable', EventRetried: 1, attempt: 1 });
        expect(line.error).toEqual({ name: expect.any(String), message: expect.any(String) });
      }

      const redelivered = records.map((record) => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }));
      expect(failed(await handler(batchOf(...redelivered), lambdaContext()))).toEqual([]);
      expect(linesFor('visitor message')).toHaveLength(2);
      for (const body of bodies) {
        expect(processedLines(dedupeKey(body))).toEqual([expect.objectContaining({ duplicate: false, receiveCount: 2 })]);
        const out = await outage.client.send(new GetItemCommand({ TableName: outage.tableName, Key: { pk: { S: dedupeKey(body) } }, ConsistentRead: true }));
        expect(out.Item).toMatchObject({ status: { S: 'COMPLETED' }, claims: { N: '1' } });
      }
      // Once more, now that it is done: duplicates only.
      expect(failed(await handler(batchOf(...records), lambdaContext()))).toEqual([]);
      expect(linesFor('visitor message')).toHaveLength(2);
      expect(linesFor('crisp event processed').filter((line) => line.duplicate === true)).toHaveLength(3);
    } finally {
      await outage.close();
    }
  });

  // dynalite's server.close() drops its in-memory database: the emulator's pause() must not use it.
  it('the DynamoDB emulator keeps its table and records across pause() and resume()', async () => {
    const emulator = await startDynamoDbEmulator();
    try {
      await emulator.client.send(new PutItemCommand({ TableName: emulator.tableName, Item: { pk: { S: 'kept' } } }));
      await emulator.pause();
      await emulator.resume();
      const out = await emulator.client.send(new GetItemCommand({ TableName: emulator.tableName, Key: { pk: { S: 'kept' } } }));
      expect(out.Item).toEqual({ pk: { S: 'kept' } });
    } finally {
      await emulator.close();
    }
  });

  it('fails the cold start naming DEDUPE_TABLE_NAME when it is missing', () => {
    expect(() => coldStart({ DEDUPE_TABLE_NAME: undefined })).toThrow('DEDUPE_TABLE_NAME');
  });
});

// ---------------------------------------------------------------------------------------------
// The batch use case with the real DynamoDB store.

describe('processBatch with the DynamoDB store: duplicates', () => {
  it.each<[string, string | null, 'plugin' | 'website']>([
    ['a verified Plugin Hook', 'plugin', 'plugin'],
    ['a Website Hook (key only)', 'website', 'website'],
    ['a message without the attribute (not known to be signed)', null, 'website'],
    ['an unknown value', 'other', 'website'],
  ])('%s: the handler context says hookKind %p', async (_name, attribute, expected) => {
    const { calls, handlers } = countingHandlers();
    expect(failed(await processBatch(batchOf(sqsRecord(sample(), { hookKind: attribute })), deps(handlers)))).toEqual([]);
    expect(calls.map((call) => call.context.hookKind)).toEqual([expected]);
  });

  it('one event delivered both as a Website Hook and as a signed Plugin Hook in one batch runs once, as plugin', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    const batch = { Records: [sqsRecord(body, { hookKind: 'website' }), sqsRecord(body, { hookKind: 'plugin' })] };
    expect(failed(await processBatch(batch, deps(handlers)))).toEqual([]);
    expect(calls.map((call) => call.context.hookKind)).toEqual(['plugin']);
  });

  it('three deliveries of one event with attempts 1, 2, 3 (separate batches, distinct message ids) run the handler once', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    const key = dedupeKey(body);
    const records = [1, 2, 3].map((attempt) => sqsRecord(body, { attempt, attemptLimit: 3 }));
    for (const record of records) expect(failed(await processBatch(batchOf(record), deps(handlers)))).toEqual([]);

    expect(calls).toHaveLength(1);
    expect(calls[0]!.context).toMatchObject({ dedupeKey: key, hookKind: 'plugin', deliveryAttempt: 1, receiveCount: 1 });
    expect(calls[0]!.event).toEqual(JSON.parse(body));
    expect(processedLines(key).map((line) => [line.attempt, line.duplicate, line.messageId])).toEqual([
      [1, false, records[0]!.messageId],
      [2, true, records[1]!.messageId],
      [3, true, records[2]!.messageId],
    ]);
    for (const line of processedLines(key)) expect(line).toMatchObject({ event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key });
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', claims: 1, messageId: records[0]!.messageId, deliveryAttempt: 1, deliveryAttemptLimit: 3 });
  });

  it('the same event twice inside one batch runs the handler once, with no failures', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    const key = dedupeKey(body);
    const first = sqsRecord(body, { attempt: 1 });
    const second = sqsRecord(JSON.stringify(JSON.parse(body), null, 2), { attempt: 2 }); // re-serialised by Crisp's retry
    expect(failed(await processBatch(batchOf(first, second), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(processedLines(key).map((line) => [line.messageId, line.duplicate])).toEqual([
      [first.messageId, false],
      [second.messageId, true],
    ]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', claims: 1, messageId: first.messageId });
  });

  it('two consumers racing on one record: the handler runs once, the loser retries, and a later redelivery is a duplicate', async () => {
    const { calls, handlers } = countingHandlers({ delayMs: 800 });
    const body = sample();
    const key = dedupeKey(body);
    const a = sqsRecord(body, { attempt: 1 });
    const b = sqsRecord(body, { attempt: 2 });
    const [resultA, resultB] = await Promise.all([processBatch(batchOf(a), deps(handlers)), processBatch(batchOf(b), deps(handlers))]);

    expect(calls).toHaveLength(1);
    const failures = [...failed(resultA), ...failed(resultB)];
    expect(failures).toHaveLength(1);
    const loser = failures[0]!;
    const winner = loser === a.messageId ? b.messageId : a.messageId;
    expect([a.messageId, b.messageId]).toContain(loser);
    expect(linesFor('crisp event in progress elsewhere, retrying later', key)).toEqual([
      expect.objectContaining({ messageId: loser, reason: 'in_progress', willRetry: true, EventRetried: 1 }),
    ]);
    // Only the winner counted it done.
    expect(processedLines(key)).toEqual([expect.objectContaining({ messageId: winner, duplicate: false })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', claims: 1, messageId: winner });

    // SQS redelivers the loser's message: acknowledged as a duplicate, the handler not run again.
    const redelivery = { ...(loser === a.messageId ? a : b), attributes: { ...a.attributes, ApproximateReceiveCount: '2' } };
    expect(failed(await processBatch(batchOf(redelivery), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(processedLines(key).map((line) => [line.messageId, line.duplicate, line.receiveCount])).toEqual([
      [winner, false, 1],
      [loser, true, 2],
    ]);
  });

  it('ten consumers racing on one record: still exactly one run', async () => {
    const { calls, handlers } = countingHandlers({ delayMs: 500 });
    const body = sample();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => processBatch(batchOf(sqsRecord(body, { attempt: i + 1 })), deps(handlers))));
    expect(calls).toHaveLength(1);
    expect(results.flatMap(failed)).toHaveLength(9);
    expect(processedLines(dedupeKey(body)).filter((line) => line.duplicate === false)).toHaveLength(1);
  });

  it('a different event with the same timestamp is not a duplicate (other session, other content, other namespace)', async () => {
    const { calls, handlers } = countingHandlers({ namespaces: ['message:send', 'message:received'] });
    const timestamp = Date.now();
    const base = JSON.parse(sample('message:send', timestamp));
    const bodies = [
      JSON.stringify(base),
      sample('message:send', timestamp), // another session id, same millisecond
      JSON.stringify({ ...base, data: { ...base.data, content: 'A second message, same session and millisecond' } }),
      JSON.stringify({ ...base, event: 'message:received' }),
    ];
    const keys = bodies.map(dedupeKey);
    expect(new Set(keys).size).toBe(4);
    for (const body of bodies) expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 1 })), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(4);
    expect(calls.map((call) => call.context.dedupeKey)).toEqual(keys);
    for (const key of keys) {
      expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false })]);
      expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', claims: 1 });
    }
  });

  it('an expired COMPLETED record (TTL deletion lags) does not block processing: claimed again', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    const key = dedupeKey(body);
    const now = Date.now();
    await db.client.send(
      new PutItemCommand({
        TableName: db.tableName,
        Item: {
          pk: { S: key },
          status: { S: 'COMPLETED' },
          owner: { S: 'a-run-long-ago' },
          leaseExpiresAt: { N: String(now - 3_600_000) },
          expiresAt: { N: String(Math.floor(now / 1000) - 60) },
          completedAt: { N: String(now - 3_600_000) },
          claims: { N: '1' },
        },
      }),
    );
    const record = sqsRecord(body, { attempt: 1 });
    expect(failed(await processBatch(batchOf(record), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false })]);
    const stored = await storedRecord(key);
    expect(stored).toMatchObject({ status: 'COMPLETED', claims: 2, messageId: record.messageId });
    expect(stored!.owner).not.toBe('a-run-long-ago');
    expect(stored!.expiresAt).toBeGreaterThan(Math.floor(now / 1000) + TTL_HOURS * 3600 - 5);
  });

  it('an unexpired COMPLETED record written by another consumer makes the event a duplicate', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    const key = dedupeKey(body);
    await db.client.send(
      new PutItemCommand({
        TableName: db.tableName,
        Item: { pk: { S: key }, status: { S: 'COMPLETED' }, owner: { S: 'other' }, leaseExpiresAt: { N: '0' }, expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) } },
      }),
    );
    expect(failed(await processBatch(batchOf(sqsRecord(body)), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(0);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: true })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', owner: 'other' });
  });
});

describe('processBatch with the DynamoDB store: failures and crashes', () => {
  it('a handler that fails once: retried, then runs again and completes once; a later delivery is a duplicate', async () => {
    const { calls, handlers } = countingHandlers({ fail: (call) => call === 1 });
    const body = sample();
    const key = dedupeKey(body);
    const message = sqsRecord(body, { attempt: 1, receiveCount: 1 });

    const first = await processBatch(batchOf(message), deps(handlers));
    expect(failed(first)).toEqual([message.messageId]);
    expect(calls).toHaveLength(1);
    const afterFailure = await storedRecord(key);
    expect(afterFailure).toMatchObject({ status: 'FAILED', failures: 1, leaseExpiresAt: 0, lastError: 'Error: downstream CRM timed out (call 1)', claims: 1 });
    expect(afterFailure).not.toHaveProperty('completedAt');
    expect(linesFor('crisp event failed', key)).toEqual([
      expect.objectContaining({ level: 'ERROR', error: { name: 'Error', message: 'downstream CRM timed out (call 1)' }, EventFailed: 1 }),
    ]);
    expect(linesFor('crisp event will be retried', key)).toEqual([expect.objectContaining({ willRetry: true, deadLetter: false, reason: 'handler_failed' })]);
    expect(processedLines(key)).toEqual([]);

    // SQS redelivers the same message after the visibility timeout.
    const again = { ...message, attributes: { ...message.attributes, ApproximateReceiveCount: '2' } };
    expect(failed(await processBatch(batchOf(again), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(2);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', failures: 1, claims: 2, receiveCount: 2 });
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false, receiveCount: 2 })]);

    // Crisp's own retry of the same event, later.
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 2 })), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(2);
    expect(processedLines(key).map((line) => line.duplicate)).toEqual([false, true]);
  });

  it('an always-failing event is retried until its last receive (logged as dead-lettered) while the rest of its batch completes', async () => {
    const { calls, handlers } = countingHandlers({ namespaces: ['session:set_email'], fail: () => true });
    const good = countingHandlers();
    const registry = { ...good.handlers, ...handlers };
    const poison = sample('session:set_email');
    const others = [sample('message:send'), sample('message:send')];
    for (let receive = 1; receive <= MAX_RECEIVE_COUNT; receive += 1) {
      const poisonRecord = sqsRecord(poison, { attempt: 1, receiveCount: receive, messageId: 'poison-message' });
      const batch = batchOf(sqsRecord(others[0]!, { receiveCount: receive }), poisonRecord, sqsRecord(others[1]!, { receiveCount: receive }));
      expect(failed(await processBatch(batch, deps(registry)))).toEqual(['poison-message']);
    }
    expect(calls).toHaveLength(MAX_RECEIVE_COUNT);
    expect(good.calls).toHaveLength(2);
    const key = dedupeKey(poison);
    expect(linesFor('crisp event will be retried', key).map((line) => [line.receiveCount, line.willRetry, line.deadLetter])).toEqual([
      [1, true, false],
      [2, true, false],
      [3, false, true],
    ]);
    expect(await storedRecord(key)).toMatchObject({ status: 'FAILED', failures: MAX_RECEIVE_COUNT, claims: MAX_RECEIVE_COUNT });
    for (const body of others) expect(processedLines(dedupeKey(body)).map((line) => line.duplicate)).toEqual([false, true, true]);
  });

  it('a run that crashed after claiming: in progress until its lease ends, then re-run and completed once', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    const key = dedupeKey(body);
    const now = Date.now();
    // The crashed run: claimed with a short lease (500 ms: short, with room for a loaded CI
    // machine to make the early delivery inside it), never completed nor released.
    const crashed = await store.claim({
      key,
      owner: 'crashed-run',
      now,
      leaseExpiresAt: now + 500,
      expiresAt: recordExpiry(now, TTL_HOURS),
      details: { event: 'message:send', websiteId: WEBSITE_ID, messageId: 'crashed-message', receiveCount: 1, deliveryAttempt: 1 },
    });
    expect(crashed).toBe('claimed');
    expect(await storedRecord(key)).toMatchObject({ status: 'IN_PROGRESS', owner: 'crashed-run', leaseExpiresAt: now + 500 });

    const early = sqsRecord(body, { attempt: 2 });
    expect(failed(await processBatch(batchOf(early), deps(handlers)))).toEqual([early.messageId]);
    expect(calls).toHaveLength(0);
    expect(linesFor('crisp event in progress elsewhere, retrying later', key)).toEqual([expect.objectContaining({ messageId: early.messageId })]);
    expect(processedLines(key)).toEqual([]);

    expect(Date.now()).toBeLessThan(now + 500); // the early delivery really came inside the lease
    await sleep(Math.max(0, now + 550 - Date.now()));
    const late = sqsRecord(body, { attempt: 3 });
    expect(failed(await processBatch(batchOf(late), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(processedLines(key)).toEqual([expect.objectContaining({ messageId: late.messageId, duplicate: false })]);
    const stored = await storedRecord(key);
    expect(stored).toMatchObject({ status: 'COMPLETED', claims: 2, messageId: late.messageId, deliveryAttempt: 3 });
    expect(stored!.owner).not.toBe('crashed-run');

    // The crashed run, were it to wake up, can neither complete nor release a claim no longer its own.
    expect(await store.complete(key, 'crashed-run', { now: Date.now(), expiresAt: recordExpiry(Date.now(), 1) })).toBe(false);
    await store.release(key, 'crashed-run', { now: Date.now(), error: 'late failure' });
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', owner: stored!.owner });
    expect(await storedRecord(key)).not.toHaveProperty('lastError');

    // And the event stays done.
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 3 })), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
  });

  it('the lease follows the invocation\'s remaining time plus the margin', async () => {
    const { handlers } = countingHandlers();
    const body = sample();
    const before = Date.now();
    await processBatch(batchOf(sqsRecord(body)), deps(handlers, { remainingTimeMs: () => 5_000 }));
    const stored = await storedRecord(dedupeKey(body));
    expect(stored!.leaseExpiresAt).toBeGreaterThanOrEqual(before + 15_000);
    expect(stored!.leaseExpiresAt).toBeLessThanOrEqual(Date.now() + 15_000);
  });
});

describe('processBatch with the DynamoDB store: messages', () => {
  it('an event with no handler (empty registry) is acknowledged, logged and completed', async () => {
    const body = sample('session:set_email');
    const key = dedupeKey(body);
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 1 })), deps({})))).toEqual([]);
    expect(linesFor('no handler for this event namespace', key)).toEqual([
      expect.objectContaining({ level: 'INFO', event: 'session:set_email', website_id: WEBSITE_ID, EventUnhandled: 1 }),
    ]);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false, handler: 'none' })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', event: 'session:set_email' });
    // A registry entry that is not a function, or an inherited property, is no handler either.
    const other = sample('session:set_email');
    expect(failed(await processBatch(batchOf(sqsRecord(other)), deps({ 'session:set_email': 'not a function' })))).toEqual([]);
    expect(linesFor('no handler for this event namespace', dedupeKey(other))).toHaveLength(1);
    const proto = JSON.stringify({ ...JSON.parse(sample('session:set_email')), event: 'constructor' });
    expect(failed(await processBatch(batchOf(sqsRecord(proto)), deps({})))).toEqual([]);
    expect(linesFor('no handler for this event namespace', dedupeKey(proto))).toHaveLength(1);
  });

  it.each([
    ['not JSON', 'not json', 'not_json'],
    ['JSON without an event', JSON.stringify({ website_id: WEBSITE_ID, timestamp: 1_700_000_000_000, data: {} }), 'missing_field (event)'],
    ['a JSON array', '[]', 'not_an_object'],
    ['an invalid event namespace', JSON.stringify({ website_id: WEBSITE_ID, event: 'message send', timestamp: 1, data: {} }), 'invalid_field (event)'],
    ['JSON nested deeper than the canonical form allows', `{"website_id":"w","event":"a:b","timestamp":1,"data":{"a":${'['.repeat(300)}${']'.repeat(300)}}}`, 'too_deep'],
    ['a number JSON cannot carry (1e400)', `{"website_id":"w","event":"a:b","timestamp":1,"data":{"n":1e400}}`, 'non_finite_number'],
    ['data that is not an object', `{"website_id":"w","event":"a:b","timestamp":1,"data":"text"}`, 'invalid_field (data)'],
    ['an empty body', '', 'not_json'],
  ])('an invalid message (%s) is reported for retry and logged; the handler is never called', async (_, body, problem) => {
    const { calls, handlers } = countingHandlers({ namespaces: ['message:send', 'a:b'] });
    const record = sqsRecord(body, { receiveCount: 2 });
    expect(failed(await processBatch(batchOf(record), deps(handlers)))).toEqual([record.messageId]);
    expect(calls).toHaveLength(0);
    expect(linesFor('invalid queue message')).toEqual([expect.objectContaining({ level: 'ERROR', messageId: record.messageId, problem, receiveCount: 2, EventInvalid: 1 })]);
    expect(linesFor('crisp event processed')).toEqual([]);
  });

  it('a base64 body (bodyEncoding=base64) is decoded: the same key and event as the plain body', async () => {
    const { calls, handlers } = countingHandlers();
    const parsed = JSON.parse(sample());
    // U+FFFF is why the receiver base64-encodes a body: SQS refuses it in a message.
    const body = JSON.stringify({ ...parsed, data: { ...parsed.data, content: 'odd \uffff character 📦' } });
    const key = dedupeKey(body);
    const record = sqsRecord(body, { base64: true, attempt: 1 });
    expect(record.body).not.toContain('{');
    expect(failed(await processBatch(batchOf(record), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.event).toEqual(JSON.parse(body));
    expect(calls[0]!.context.dedupeKey).toBe(key);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false })]);
    // The same event delivered as plain text is a duplicate of it.
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 2 })), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', claims: 1 });
  });

  it('the delivery attempt never decides on its own that an event is a duplicate', async () => {
    const { calls, handlers } = countingHandlers();
    const body = sample();
    // A first delivery that says attempt 3 of 3 (Crisp timed out on the earlier ones before we queued them).
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 3, attemptLimit: 3, receiveCount: 4 })), deps(handlers)))).toEqual([]);
    expect(calls).toHaveLength(1);
    expect(processedLines(dedupeKey(body))).toEqual([expect.objectContaining({ duplicate: false, attempt: 3, receiveCount: 4 })]);
  });

  it('logs never contain message content or emails, whatever happens to the event', async () => {
    const failing = countingHandlers({ namespaces: ['message:received'], fail: () => true });
    const { handlers } = countingHandlers();
    const registry = { ...handlers, ...failing.handlers };
    const send = sample('message:send');
    const received = sample('message:received');
    const email = sample('session:set_email');
    await processBatch(batchOf(sqsRecord(send), sqsRecord(send), sqsRecord(received), sqsRecord(email), sqsRecord(`${send.slice(0, -1)},}`)), deps(registry));
    await processBatch(batchOf(sqsRecord(send, { base64: true }), sqsRecord(received, { receiveCount: 3 })), deps(registry));
    const handler = coldStart();
    await handler(batchOf(sqsRecord(sample('message:send')), sqsRecord(send), sqsRecord('{"content":"My order #1042"')), lambdaContext());
    expect(linesFor('crisp event processed').length).toBeGreaterThanOrEqual(4);
    const all = stdout.join('');
    for (const forbidden of CONTENT) expect(all).not.toContain(forbidden);
  });
});

afterAll(() => {
  // Across every test of this file: no message content, no email.
  const all = allStdout.join('');
  for (const forbidden of CONTENT) expect(all).not.toContain(forbidden);
});
