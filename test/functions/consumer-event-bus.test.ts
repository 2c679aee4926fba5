/**
 * The consumer with an EventBridge bus: every event, deduplicated, put on the bus under its
 * claim (claim, put, handler, complete). Against the DynamoDB emulator (dynalite) and the local
 * EventBridge emulator (scripts/local/emulators/eventbridge.ts), both through the real SDK
 * clients: `processBatch` with the real adapters, and the consumer cold-started with BUS_NAME
 * and EVENT_SOURCE as the construct sets them.
 */
import { randomUUID } from 'node:crypto';
import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSRecord } from 'aws-lambda';
import { dynamoDbDedupeStore } from '../../functions/commons/aws/dynamodb-dedupe-store';
import { eventBridgePublisher } from '../../functions/commons/aws/eventbridge';
import { type DedupeStore, dedupeKey } from '../../functions/commons/core/dedupe';
import { createLogger } from '../../functions/commons/logger';
import type { CrispEvent } from '../../functions/consumer/events';
import { type ConsumerDeps, type DeadLetterQueue, processBatch } from '../../functions/consumer/process-batch';
import { defineHandlers } from '../../functions/consumer/registry';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { type EventBridgeEmulator, type LocalBusEvent, startEventBridgeEmulator } from '../../scripts/local/emulators/eventbridge';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { batchOf, coldStartConsumer, failedIds as failed, sqsRecord } from '../support/consumer';
import { lambdaContext } from '../support/events';
import type * as RecordingFixture from '../fixtures/handlers/recording';
import { captureTestStdout } from '../support/stdout';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SOURCE = 'crisp-bridge.TestStack';
const BUS = 'TestStack';

let db: DynamoDbEmulator;
let bus: EventBridgeEmulator;
let store: DedupeStore;
let client: EventBridgeClient;
const busLines: Array<Record<string, unknown>> = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynamoDbEmulator();
  store = dynamoDbDedupeStore(db.client, db.tableName);
  bus = await startEventBridgeEmulator({ log: (line) => busLines.push(line) });
  client = new EventBridgeClient({ endpoint: bus.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
});
afterAll(async () => {
  client?.destroy();
  await bus?.close();
  await db?.close();
});

beforeEach(() => {
  bus.events.length = 0;
  bus.calls.length = 0;
  busLines.length = 0;
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
});

// ---------------------------------------------------------------------------------------------
// Helpers.

const sample = (event = 'message:send', timestampMs?: number) => sampleHookBody(event, { websiteId: WEBSITE_ID, timestampMs });

const { linesFor } = captureTestStdout();

const published = (key: string): LocalBusEvent[] => bus.events.filter((event) => event.detail.dedupeKey === key);

async function storedStatus(key: string): Promise<string | undefined> {
  const out = await db.client.send(new GetItemCommand({ TableName: db.tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
  return (out.Item?.status as AttributeValue | undefined)?.S;
}

/** A handler set recording the dedupe key of each run (optionally failing). */
function recording(fail: (event: CrispEvent) => boolean = () => false) {
  const runs: string[] = [];
  const handler = (event: CrispEvent, context: { dedupeKey: string }) => {
    runs.push(context.dedupeKey);
    if (fail(event)) throw new Error('downstream CRM timed out');
  };
  return { runs, handlers: defineHandlers({ 'message:send': handler, 'message:received': handler } as unknown as Record<string, never>) };
}

/** A dead-letter port that keeps what it is sent. */
function deadLetters(): DeadLetterQueue & { sent: Array<{ messageId: string; reason: string }> } {
  const sent: Array<{ messageId: string; reason: string }> = [];
  return {
    sent,
    async send(record: SQSRecord, reason: string) {
      sent.push({ messageId: record.messageId, reason });
    },
  };
}

function deps(overrides: Partial<ConsumerDeps> = {}): ConsumerDeps {
  return {
    store,
    handlers: recording().handlers,
    logger: createLogger({ dimensions: { service: 'consumer' } }),
    now: Date.now,
    newOwner: randomUUID,
    remainingTimeMs: () => 30_000,
    ttlHours: 24,
    maxReceiveCount: 5,
    eventBus: { publisher: eventBridgePublisher(client, BUS), source: SOURCE },
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------

describe('consumer with an event bus (processBatch, real adapters, emulators)', () => {
  it('puts the event once per dedupe key, however often the hook arrives (three batches, and three copies in one batch)', async () => {
    const { runs, handlers } = recording();
    const body = sample('message:send');
    const key = dedupeKey(body);
    for (const attempt of [1, 2, 3]) {
      expect(failed(await processBatch(batchOf(sqsRecord(body, { attempt })), deps({ handlers })))).toEqual([]);
    }
    const other = sample('message:received');
    const copies = [1, 2, 3].map((attempt) => sqsRecord(other, { attempt }));
    expect(failed(await processBatch(batchOf(...copies), deps({ handlers })))).toEqual([]);

    expect(published(key)).toHaveLength(1);
    expect(published(dedupeKey(other))).toHaveLength(1);
    expect(runs).toEqual([key, dedupeKey(other)]);
    expect(bus.calls).toEqual([{ entries: 1 }, { entries: 1 }]);
    // One line per outcome: published rides on the processed line, with its metric.
    expect(linesFor('crisp event processed', key)).toEqual([
      expect.objectContaining({ duplicate: false, published: true, EventProcessed: 1, EventPublished: 1 }),
      expect.objectContaining({ duplicate: true, EventDuplicate: 1 }),
      expect.objectContaining({ duplicate: true, EventDuplicate: 1 }),
    ]);
    expect(linesFor('crisp event processed', key)[1]).not.toHaveProperty('published');
    expect(busLines.filter((line) => line.dedupeKey === key)).toEqual([
      expect.objectContaining({ message: 'local bus event', 'detail-type': 'message:send', source: SOURCE, dedupeKey: key }),
    ]);
  });

  it('the entry: source, detail-type the namespace verbatim, time the event\'s own timestamp, detail the envelope with dedupeKey and hookKind', async () => {
    const timestamp = Date.UTC(2024, 4, 17, 9, 30, 12, 345);
    const body = sample('message:send', timestamp);
    const key = dedupeKey(body);
    expect(failed(await processBatch(batchOf(sqsRecord(body, { hookKind: 'website' })), deps()))).toEqual([]);
    const [event] = published(key);
    expect(event).toMatchObject({ source: SOURCE, 'detail-type': 'message:send', time: '2024-05-17T09:30:12Z', busName: BUS });
    expect(event!.detail).toEqual({ ...JSON.parse(body), dedupeKey: key, hookKind: 'website' });
  });

  it('batches a batch\'s events into PutEvents calls of at most 10 entries', async () => {
    const { runs, handlers } = recording();
    const bodies = Array.from({ length: 12 }, () => sample('message:send'));
    expect(failed(await processBatch(batchOf(...bodies.map((body) => sqsRecord(body))), deps({ handlers })))).toEqual([]);
    expect(bus.calls.map((call) => call.entries).sort()).toEqual([10, 2].sort());
    expect(bus.events.map((event) => event.detail.dedupeKey).sort()).toEqual(bodies.map(dedupeKey).sort());
    expect(runs.sort()).toEqual(bodies.map(dedupeKey).sort());
  });

  it('duplicates and events in progress elsewhere give up their place: the rest still go out', async () => {
    const done = sample('message:send');
    expect(failed(await processBatch(batchOf(sqsRecord(done)), deps()))).toEqual([]);
    bus.calls.length = 0;
    const fresh = sample('message:send');
    expect(failed(await processBatch(batchOf(sqsRecord(done), sqsRecord(fresh)), deps()))).toEqual([]);
    expect(bus.calls).toEqual([{ entries: 1 }]);
    expect(published(dedupeKey(done))).toHaveLength(1);
    expect(published(dedupeKey(fresh))).toHaveLength(1);
  });

  it('partial failure: only the refused entries are retried (claim released, handler not run); the retry puts them', async () => {
    const { runs, handlers } = recording();
    const bodies = Array.from({ length: 5 }, () => sample('message:send'));
    const records = bodies.map((body) => sqsRecord(body));
    bus.failNext(2, 'ThrottlingException', 'Rate exceeded');
    const first = failed(await processBatch(batchOf(...records), deps({ handlers })));
    expect(first).toHaveLength(2);
    const refused = records.filter((record) => first.includes(record.messageId)).map((record) => dedupeKey(record.body));
    expect(bus.events.map((event) => event.detail.dedupeKey).sort()).toEqual(bodies.map(dedupeKey).filter((key) => !refused.includes(key)).sort());
    expect(runs.sort()).toEqual(bodies.map(dedupeKey).filter((key) => !refused.includes(key)).sort());
    for (const key of refused) {
      expect(await storedStatus(key)).toBe('FAILED');
      expect(linesFor('crisp event not published', key)).toEqual([
        expect.objectContaining({ level: 'ERROR', errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded', retryable: true, EventPublishFailed: 1 }),
      ]);
      expect(linesFor('crisp event will be retried: the event bus did not accept it', key)).toEqual([
        expect.objectContaining({ errorCode: 'ThrottlingException', willRetry: true, EventRetried: 1, reason: 'publish_failed' }),
      ]);
    }

    // SQS redelivers the two: they go out, each once, and their handlers run.
    const retried = records.filter((record) => first.includes(record.messageId)).map((record) => sqsRecord(record.body, { receiveCount: 2 }));
    expect(failed(await processBatch(batchOf(...retried), deps({ handlers })))).toEqual([]);
    for (const body of bodies) expect(published(dedupeKey(body))).toHaveLength(1);
    expect(runs.sort()).toEqual(bodies.map(dedupeKey).sort());
  });

  it('a non-retryable refusal dead-letters the event at once, its error code logged; its handler does not run', async () => {
    const { runs, handlers } = recording();
    const deadLetter = deadLetters();
    const body = sample('message:send');
    const key = dedupeKey(body);
    const record = sqsRecord(body);
    bus.failNext(1, 'AccessDeniedException', 'not authorized to put events on this bus');
    expect(failed(await processBatch(batchOf(record), deps({ handlers, deadLetter })))).toEqual([]);
    expect(deadLetter.sent).toEqual([{ messageId: record.messageId, reason: 'the event bus refused it: AccessDeniedException' }]);
    expect(runs).toEqual([]);
    expect(published(key)).toEqual([]);
    expect(linesFor('crisp event not published', key)).toEqual([expect.objectContaining({ errorCode: 'AccessDeniedException', retryable: false, EventPublishFailed: 1 })]);
    expect(linesFor('crisp event dead-lettered', key)).toEqual([
      expect.objectContaining({ errorCode: 'AccessDeniedException', reason: 'publish_refused', by: 'event_bus', deadLetter: true, willRetry: false, EventDeadLettered: 1 }),
    ]);
    // Released: a redrive, once the bus accepts it, claims it again.
    expect(await storedStatus(key)).toBe('FAILED');
    expect(failed(await processBatch(batchOf(sqsRecord(body)), deps({ handlers, deadLetter })))).toEqual([]);
    expect(published(key)).toHaveLength(1);
    expect(runs).toEqual([key]);
  });

  it("AWS's error text is logged at most 200 characters long (it may quote what it refused)", async () => {
    const { handlers } = recording();
    const body = sample('message:send');
    const key = dedupeKey(body);
    bus.failNext(1, 'ValidationException', `Detail is invalid: ${'x'.repeat(500)}`);
    await processBatch(batchOf(sqsRecord(body)), deps({ handlers }));
    const [line] = linesFor('crisp event not published', key);
    expect(line!.errorMessage).toBe(`Detail is invalid: ${'x'.repeat(200 - 'Detail is invalid: '.length)}…`);
  });

  it('a non-retryable refusal without a dead-letter queue is retried like any failure', async () => {
    const body = sample('message:send');
    const record = sqsRecord(body);
    bus.failNext(1, 'MalformedDetail');
    expect(failed(await processBatch(batchOf(record), deps()))).toEqual([record.messageId]);
  });

  it('EventBridge down (500 after the SDK\'s retries): every event of the call is retried, none handled', async () => {
    const { runs, handlers } = recording();
    const records = [sample(), sample()].map((body) => sqsRecord(body));
    bus.setAvailable(false);
    try {
      expect(failed(await processBatch(batchOf(...records), deps({ handlers })))).toEqual(records.map((record) => record.messageId).sort());
    } finally {
      bus.setAvailable(true);
    }
    expect(runs).toEqual([]);
    expect(linesFor('crisp event not published')).toEqual([
      expect.objectContaining({ errorCode: 'InternalException', retryable: true }),
      expect.objectContaining({ errorCode: 'InternalException', retryable: true }),
    ]);
  });

  it('a handler failing after the put: retried, and the retry puts the event again with the same dedupeKey (subscribers dedupe)', async () => {
    let failing = true;
    const { runs, handlers } = recording(() => failing);
    const body = sample('message:send');
    const key = dedupeKey(body);
    expect(failed(await processBatch(batchOf(sqsRecord(body)), deps({ handlers })))).toHaveLength(1);
    failing = false;
    expect(failed(await processBatch(batchOf(sqsRecord(body, { receiveCount: 2 })), deps({ handlers })))).toEqual([]);
    expect(published(key).map((event) => event.detail.dedupeKey)).toEqual([key, key]);
    expect(runs).toEqual([key, key]);
  });

  it('an event too large for EventBridge is put without its largest fields, marked truncated, never dropped', async () => {
    const envelope = JSON.parse(sample('message:send'));
    envelope.data.content = 'x'.repeat(300 * 1024);
    const body = JSON.stringify(envelope);
    const key = dedupeKey(body);
    expect(failed(await processBatch(batchOf(sqsRecord(body)), deps()))).toEqual([]);
    const [event] = published(key);
    expect(event!.detail).toMatchObject({
      website_id: WEBSITE_ID,
      event: 'message:send',
      timestamp: envelope.timestamp,
      dedupeKey: key,
      hookKind: 'plugin',
      truncated: true,
      dropped: ['data.content'],
      data: { session_id: envelope.data.session_id, fingerprint: envelope.data.fingerprint, from: 'user' },
    });
    expect(event!.detail.data).not.toHaveProperty('content');
    expect(linesFor('crisp event processed', key)).toEqual([
      expect.objectContaining({ published: true, truncated: true, dropped: ['data.content'], EventPublished: 1, EventPublishTruncated: 1 }),
    ]);
  });

  it('rules registered on the local bus get matching events (exact detail-type, prefix)', async () => {
    const exact: string[] = [];
    const prefix: string[] = [];
    const removeExact = bus.addRule({ source: [SOURCE], 'detail-type': ['message:send'] }, (event) => void exact.push(event['detail-type']));
    const removePrefix = bus.addRule({ source: [SOURCE], 'detail-type': [{ prefix: 'session:' }], detail: { website_id: [WEBSITE_ID] } }, (event) => void prefix.push(event['detail-type']));
    try {
      const bodies = [sample('message:send'), sample('message:received'), sample('session:set_email')];
      expect(failed(await processBatch(batchOf(...bodies.map((body) => sqsRecord(body))), deps()))).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(exact).toEqual(['message:send']);
      expect(prefix).toEqual(['session:set_email']);
    } finally {
      removeExact();
      removePrefix();
    }
  });
});

describe('consumer cold start with BUS_NAME and EVENT_SOURCE', () => {
  const env = (extra: Record<string, string | undefined>) => ({
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
    DEDUPE_TABLE_NAME: db.tableName,
    ...extra,
  });

  it('publishes through AWS_ENDPOINT_URL_EVENTBRIDGE to the named bus', async () => {
    const { handler, fixture } = coldStartConsumer<typeof RecordingFixture>('recording', env({ BUS_NAME: BUS, EVENT_SOURCE: SOURCE }));
    const body = sample('message:send');
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(published(dedupeKey(body))).toEqual([expect.objectContaining({ source: SOURCE, busName: BUS, 'detail-type': 'message:send' })]);
    expect(fixture.runs).toHaveLength(1);
  });

  it('without BUS_NAME, nothing is published', async () => {
    const { handler } = coldStartConsumer<typeof RecordingFixture>('recording', env({}));
    expect(failed(await handler(batchOf(sqsRecord(sample('message:send'))), lambdaContext()))).toEqual([]);
    expect(bus.calls).toEqual([]);
    expect(linesFor('crisp event processed')[0]).not.toHaveProperty('published');
  });

  it('BUS_NAME without EVENT_SOURCE fails the cold start, naming it', () => {
    expect(() => coldStartConsumer('recording', env({ BUS_NAME: BUS }))).toThrow(/EVENT_SOURCE/);
  });
});
