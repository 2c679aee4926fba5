/**
 * The consumer against the DynamoDB emulator (dynalite), through the real SDK client and real
 * conditional writes: the consumer cold-started like the deployed one (`createConsumerHandler`
 * with the environment the construct sets, reaching the table with AWS_ENDPOINT_URL_DYNAMODB),
 * with a handler module of the tests' own (test/fixtures/handlers/recording.ts), never the
 * shipped example, which users edit; and the batch use case (`processBatch`) with the real
 * DynamoDB store and handler registries the tests control.
 *
 * SQS events are built by hand, in the shape Lambda's event source mapping delivers, with
 * realistic Crisp bodies. Every case asserts what the handlers ran, the batch item failures,
 * the stored record and the log lines.
 */
import { randomUUID } from 'node:crypto';
import { type AttributeValue, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { dynamoDbDedupeStore } from '../../functions/commons/aws/dynamodb-dedupe-store';
import { type DedupeStore, dedupeKey, recordExpiry } from '../../functions/commons/core/dedupe';
import { createLogger } from '../../functions/commons/logger';
import type { ConsumerHandler } from '../../functions/consumer/create-handler';
import type { CrispEvent } from '../../functions/consumer/events';
import { type ConsumerDeps, processBatch } from '../../functions/consumer/process-batch';
import { type HandlerContext, type HandlerSet, defineHandlers } from '../../functions/consumer/registry';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { batchOf, coldStartConsumer, failedIds as failed, sqsRecord } from '../support/consumer';
import { lambdaContext } from '../support/events';
import type * as RecordingFixture from '../fixtures/handlers/recording';
import { captureTestStdout } from '../support/stdout';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const TTL_HOURS = 48;
const MAX_RECEIVE_COUNT = 3;
/** Text from the sample bodies that must never reach a log line. */
const CONTENT = ['order #1042', 'hasn\'t arrived', 'jane.doe+orders@example.com', '1Z999AA10123456784'];
/** The line the recording fixture logs per run (written out here, not imported from it). */
const FIXTURE_LINE = 'fixture handler ran';

let db: DynamoDbEmulator;
let store: DedupeStore;
const captured = captureTestStdout();
const { logs, linesFor } = captured;
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynamoDbEmulator();
  store = dynamoDbDedupeStore(db.client, db.tableName);
});
afterAll(async () => {
  await db.close();
});

afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/**
 * A cold start of the consumer with the recording fixture and the environment the construct
 * sets (`env` overrides; undefined removes). Returns the handler and the runs it records.
 */
function coldStart(env: Record<string, string | undefined> = {}): { handler: ConsumerHandler; runs: RecordingFixture.Run[] } {
  const { handler, fixture } = coldStartConsumer<typeof RecordingFixture>('recording', {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    DEDUPE_TABLE_NAME: db.tableName,
    DEDUPE_TTL_HOURS: String(TTL_HOURS),
    MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    ...env,
  });
  return { handler, runs: fixture.runs };
}

/** A fresh sample event (fresh session id: a distinct event) for `event`. */
const sample = (event = 'message:send', timestampMs?: number) => sampleHookBody(event, { websiteId: WEBSITE_ID, timestampMs });

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
function deps(handlers: Record<string, unknown> | HandlerSet, overrides: Partial<ConsumerDeps> = {}): ConsumerDeps {
  return {
    store,
    handlers: isHandlerSet(handlers) ? handlers : defineHandlers(handlers as Record<string, never>),
    logger: createLogger({ dimensions: { service: 'consumer' } }),
    now: Date.now,
    newOwner: randomUUID,
    remainingTimeMs: () => 30_000,
    ttlHours: TTL_HOURS,
    maxReceiveCount: MAX_RECEIVE_COUNT,
    ...overrides,
  };
}
const isHandlerSet = (value: unknown): value is HandlerSet => (value as { kind?: unknown }).kind === 'crisp-bridge.handlers';

// ---------------------------------------------------------------------------------------------
// The consumer, cold-started with the tests' own handler module.

describe('consumer handler (cold start, a handler module of the tests\' own)', () => {
  it('three deliveries of one event (attempts 1, 2, 3, separate batches): the handler runs once, two duplicates', async () => {
    const { handler, runs } = coldStart();
    const body = sample('message:send');
    const key = dedupeKey(body);
    const contexts = [lambdaContext(), lambdaContext(), lambdaContext()];
    const messageIds: string[] = [];
    for (const [index, attempt] of [1, 2, 3].entries()) {
      const record = sqsRecord(body, { attempt, attemptLimit: 3 });
      messageIds.push(record.messageId);
      expect(failed(await handler(batchOf(record), contexts[index]!))).toEqual([]);
    }
    // The fixture's handler ran once, with the event's context, and said so on a line of the event.
    expect(runs).toEqual([{ namespace: 'message:send', websiteId: WEBSITE_ID, dedupeKey: key, hookKind: 'plugin', deliveryAttempt: 1, receiveCount: 1 }]);
    expect(linesFor(FIXTURE_LINE)).toEqual([
      expect.objectContaining({
        level: 'INFO',
        fixture: 'recording',
        namespace: 'message:send',
        contextDedupeKey: key,
        // From the logger the consumer hands the handler: the event, website, key, message and request.
        event: 'message:send',
        website_id: WEBSITE_ID,
        dedupeKey: key,
        messageId: messageIds[0],
        requestId: contexts[0]!.awsRequestId,
      }),
    ]);
    const processed = processedLines(key);
    expect(processed).toEqual([
      expect.objectContaining({ level: 'INFO', event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key, attempt: 1, duplicate: false, messageId: messageIds[0], requestId: contexts[0]!.awsRequestId, EventProcessed: 1 }),
      expect.objectContaining({ event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key, attempt: 2, duplicate: true, messageId: messageIds[1], requestId: contexts[1]!.awsRequestId, EventDuplicate: 1 }),
      expect.objectContaining({ event: 'message:send', website_id: WEBSITE_ID, dedupeKey: key, attempt: 3, duplicate: true, messageId: messageIds[2], requestId: contexts[2]!.awsRequestId, EventDuplicate: 1 }),
    ]);
    // Crisp's attempt limit is kept in the dedupe record, not repeated on every line.
    expect(processed.every((line) => !('attemptLimit' in line))).toBe(true);
    const record = await storedRecord(key);
    expect(record).toMatchObject({ status: 'COMPLETED', claims: 1, messageId: messageIds[0], deliveryAttempt: 1 });
  });

  it('stores, for operators, the delivery attempt and limit, the receive count, the event and the message id, with the dedupe lifetime as TTL', async () => {
    const { handler } = coldStart();
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

  it.each<[string, string | null, 'plugin' | 'website']>([
    ['a verified Plugin Hook', 'plugin', 'plugin'],
    ['a Website Hook', 'website', 'website'],
    ['no hookKind attribute', null, 'website'],
  ])('%s: the handler module\'s context says hookKind %p', async (_name, attribute, expected) => {
    const { handler, runs } = coldStart();
    const body = sample('message:received');
    expect(failed(await handler(batchOf(sqsRecord(body, { hookKind: attribute })), lambdaContext()))).toEqual([]);
    expect(runs.map((run) => [run.namespace, run.hookKind])).toEqual([['message:received', expected]]);
    expect(linesFor(FIXTURE_LINE, dedupeKey(body))).toEqual([expect.objectContaining({ hookKind: expected })]);
  });

  it('an event the module has no handler for is acknowledged, logged and completed', async () => {
    const { handler, runs } = coldStart();
    const body = sample('session:set_email');
    const key = dedupeKey(body);
    expect(failed(await handler(batchOf(sqsRecord(body, { attempt: 1 })), lambdaContext()))).toEqual([]);
    expect(runs).toEqual([]);
    expect(processedLines(key)).toEqual([expect.objectContaining({ event: 'session:set_email', duplicate: false, handler: 'none', EventUnhandled: 1 })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', event: 'session:set_email' });
    expect(captured.text()).not.toContain('jane.doe+orders@example.com');
  });

  it('an invalid message is reported as a batch item failure and logged; the valid one next to it is processed', async () => {
    const { handler, runs } = coldStart();
    const good = sample('message:send');
    const bad = sqsRecord('not json: My order #1042');
    const ok = sqsRecord(good);
    expect(failed(await handler(batchOf(bad, ok), lambdaContext()))).toEqual([bad.messageId]);
    expect(linesFor('invalid queue message')).toEqual([
      expect.objectContaining({ level: 'ERROR', messageId: bad.messageId, problem: 'not_json', receiveCount: 1, willRetry: true, deadLetter: false, EventInvalid: 1 }),
    ]);
    expect(runs.map((run) => run.dedupeKey)).toEqual([dedupeKey(good)]);
    expect(linesFor(FIXTURE_LINE)).toHaveLength(1);
    expect(processedLines(dedupeKey(good))).toEqual([expect.objectContaining({ duplicate: false })]);
    expect(captured.text()).not.toContain('order #1042');
  });

  it('an invalid message at its last receive (MAX_RECEIVE_COUNT) is logged as going to the dead-letter queue', async () => {
    const { handler } = coldStart();
    const bad = sqsRecord('not json: My order #1042', { receiveCount: MAX_RECEIVE_COUNT });
    expect(failed(await handler(batchOf(bad), lambdaContext()))).toEqual([bad.messageId]);
    expect(linesFor('invalid queue message')).toEqual([
      expect.objectContaining({ level: 'ERROR', messageId: bad.messageId, problem: 'not_json', receiveCount: MAX_RECEIVE_COUNT, willRetry: false, deadLetter: true }),
    ]);
  });

  it('DynamoDB unreachable: nothing processed, every record retried, the error logged; after it is back each event runs once', async () => {
    // Its own emulator, so the outage touches no other test.
    const outage = await startDynamoDbEmulator();
    try {
      const { handler, runs } = coldStart({ AWS_ENDPOINT_URL_DYNAMODB: outage.endpoint, DEDUPE_TABLE_NAME: outage.tableName });
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
      expect(runs).toEqual([]);
      expect(linesFor(FIXTURE_LINE)).toEqual([]);
      expect(linesFor('crisp event processed')).toEqual([]);
      const unavailable = linesFor('crisp event not processed: dedupe store unavailable');
      expect(unavailable.map((line) => line.messageId).sort()).toEqual(records.map((record) => record.messageId).sort());
      for (const line of unavailable) {
        expect(line).toMatchObject({ level: 'ERROR', willRetry: true, deadLetter: false, reason: 'store_unavailable', EventRetried: 1, attempt: 1 });
        expect(line.error).toEqual({ name: expect.any(String), message: expect.any(String), stack: expect.any(String) });
      }

      const redelivered = records.map((record) => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '2' } }));
      expect(failed(await handler(batchOf(...redelivered), lambdaContext()))).toEqual([]);
      expect(runs.map((run) => run.dedupeKey).sort()).toEqual([dedupeKey(bodies[0]!), dedupeKey(bodies[1]!)].sort());
      expect(linesFor(FIXTURE_LINE)).toHaveLength(2);
      for (const body of bodies) {
        expect(processedLines(dedupeKey(body))).toEqual([expect.objectContaining({ duplicate: false, receiveCount: 2 })]);
        const out = await outage.client.send(new GetItemCommand({ TableName: outage.tableName, Key: { pk: { S: dedupeKey(body) } }, ConsistentRead: true }));
        expect(out.Item).toMatchObject({ status: { S: 'COMPLETED' }, claims: { N: '1' } });
      }
      // Once more, now that it is done: duplicates only.
      expect(failed(await handler(batchOf(...records), lambdaContext()))).toEqual([]);
      expect(runs).toHaveLength(2);
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

  it('fails the cold start naming MAX_RECEIVE_COUNT when it is not a positive integer', () => {
    expect(() => coldStart({ MAX_RECEIVE_COUNT: 'three' })).toThrow('MAX_RECEIVE_COUNT');
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
      expect.objectContaining({
        level: 'ERROR',
        // With the stack, whose first frame is the handler that threw (countingHandlers, in this file).
        error: { name: 'Error', message: 'downstream CRM timed out (call 1)', stack: expect.stringMatching(/^Error: downstream CRM timed out \(call 1\)\n\s+at .*consumer\.test\.ts:\d+:\d+/) },
        EventFailed: 1,
      }),
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
    ]);
    // The last receive: SQS moves the message to the dead-letter queue; the line says so, not "retried".
    expect(linesFor('crisp event dead-lettered', key)).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        messageId: 'poison-message',
        receiveCount: MAX_RECEIVE_COUNT,
        reason: 'handler_failed',
        by: 'max_receives',
        willRetry: false,
        deadLetter: true,
        EventDeadLettered: 1,
      }),
    ]);
    expect(linesFor('crisp event failed', key)).toHaveLength(MAX_RECEIVE_COUNT);
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

describe('processBatch with the DynamoDB store: context.count', () => {
  it('counts ride on the outcome line, once per event: a failed run\'s counts are dropped, a redelivery adds none', async () => {
    const body = sample('message:send');
    const key = dedupeKey(body);
    let runs = 0;
    const handlers = defineHandlers({
      'message:send': (_event, { count }) => {
        runs += 1;
        count('VisitorMessages', { origin: 'chat' });
        count('Escalations');
        if (runs === 1) throw new Error('the CRM timed out');
      },
    });
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 1 })), deps(handlers)))).toHaveLength(1);
    expect(logs().filter((line) => line.dedupeKey === key && 'VisitorMessages' in line)).toEqual([]);
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 2 })), deps(handlers)))).toEqual([]);
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 3 })), deps(handlers)))).toEqual([]);
    expect(runs).toBe(2);
    const [done, duplicate] = processedLines(key);
    expect(done).toMatchObject({ duplicate: false, origin: 'chat', VisitorMessages: 1, Escalations: 1, EventProcessed: 1 });
    expect((done!._aws as { CloudWatchMetrics: unknown[] }).CloudWatchMetrics).toEqual([
      { Namespace: 'CrispBridge', Dimensions: [['service']], Metrics: [{ Name: 'EventProcessed', Unit: 'Count' }] },
      { Namespace: 'CrispBridge', Dimensions: [['service'], ['service', 'origin']], Metrics: [{ Name: 'VisitorMessages', Unit: 'Count' }] },
      { Namespace: 'CrispBridge', Dimensions: [['service']], Metrics: [{ Name: 'Escalations', Unit: 'Count' }] },
    ]);
    expect(duplicate).toMatchObject({ duplicate: true, EventDuplicate: 1 });
    expect(duplicate).not.toHaveProperty('VisitorMessages');
    // Two copies of the event in one batch: the counts are on the first copy's line only.
    const again = sample('message:send');
    expect(failed(await processBatch(batchOf(sqsRecord(again), sqsRecord(again)), deps(handlers)))).toEqual([]);
    expect(processedLines(dedupeKey(again)).map((line) => line.VisitorMessages)).toEqual([1, undefined]);
  });

  it('a count the line cannot take fails the run like any handler error, saying why, and is retried', async () => {
    const body = sample('message:send');
    const key = dedupeKey(body);
    const handlers = defineHandlers({ 'message:send': (_event, { count }) => count('duplicate') });
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 1 })), deps(handlers)))).toHaveLength(1);
    expect(linesFor('crisp event failed', key)).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ name: 'TypeError', message: expect.stringContaining('context.count: "duplicate" is a name the bridge writes on the outcome line') }) }),
    ]);
    expect(processedLines(key)).toEqual([]);
  });
});

describe('processBatch with the DynamoDB store: messages', () => {
  it('an event with no handler (empty registry) is acknowledged, logged and completed', async () => {
    const body = sample('session:set_email');
    const key = dedupeKey(body);
    expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt: 1 })), deps(defineHandlers({}))))).toEqual([]);
    // One line, the outcome's, with the EventUnhandled metric on it.
    expect(processedLines(key)).toEqual([
      expect.objectContaining({ level: 'INFO', event: 'session:set_email', website_id: WEBSITE_ID, duplicate: false, handler: 'none', EventProcessed: 1, EventUnhandled: 1 }),
    ]);
    expect(processedLines(key)[0]!._aws).toEqual({
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [expect.objectContaining({ Dimensions: [['service']], Metrics: [{ Name: 'EventProcessed', Unit: 'Count' }, { Name: 'EventUnhandled', Unit: 'Count' }] })],
    });
    expect(logs().filter((line) => line.dedupeKey === key)).toHaveLength(1);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', event: 'session:set_email' });
    // A registry entry that is not a function is refused when the set is defined (see
    // test/core/registry.test.ts); an inherited property is no handler either.
    const proto = JSON.stringify({ ...JSON.parse(sample('session:set_email')), event: 'constructor' });
    expect(failed(await processBatch(batchOf(sqsRecord(proto)), deps(defineHandlers({}))))).toEqual([]);
    expect(processedLines(dedupeKey(proto))).toEqual([expect.objectContaining({ handler: 'none', EventUnhandled: 1 })]);
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
    expect(linesFor('invalid queue message')).toEqual([
      expect.objectContaining({ level: 'ERROR', messageId: record.messageId, problem, receiveCount: 2, willRetry: true, deadLetter: false, EventInvalid: 1 }),
    ]);
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
    const { handler } = coldStart();
    await handler(batchOf(sqsRecord(sample('message:send')), sqsRecord(send), sqsRecord('{"content":"My order #1042"')), lambdaContext());
    expect(linesFor('crisp event processed').length).toBeGreaterThanOrEqual(4);
    const all = captured.text();
    for (const forbidden of CONTENT) expect(all).not.toContain(forbidden);
  });
});

afterAll(() => {
  // Across every test of this file: no message content, no email.
  const all = captured.allText();
  for (const forbidden of CONTENT) expect(all).not.toContain(forbidden);
});
