/**
 * What a handler module gets from the consumer, and what the consumer does with what it throws,
 * through the real emulators: DynamoDB (dynalite) for the dedupe table, SQS (fauxqs) for the hook
 * queue and its dead-letter queue, and the Secrets Manager emulator for handler secrets, each
 * reached by the real SDK clients through the standard AWS_ENDPOINT_URL_* variables.
 *
 * The consumer is cold-started as deployed (`createConsumerHandler(module)` with the environment
 * the construct sets) with handler modules of the tests' own (test/fixtures/handlers/):
 * - settings: `context.settings` from the environment; a declared setting the environment lacks
 *   fails the cold start, naming it and where to set it;
 * - secrets: `context.secrets.get` through HANDLER_SECRETS, read once per cold start; an unusable
 *   secret has the event retried, the log naming the secret, never a value;
 * - PermanentError: a copy in the dead-letter queue, the source message acknowledged, the claim
 *   released (a redrive runs the handler again), recognised across copies of errors.ts;
 * - error lines carry the stack, pointing at the handler's own file.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import type { ConsumerHandler } from '../../functions/consumer/create-handler';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { type SqsEmulator, startSqsEmulator } from '../../scripts/local/emulators/sqs';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { HANDLER_FIXTURES, batchOf, coldStartConsumer, failedIds as failed, sqsRecord, sqsRecordFromMessage } from '../support/consumer';
import { lambdaContext } from '../support/events';
import { captureLogger } from '../support/logs';
import type * as PermanentFixture from '../fixtures/handlers/permanent';
import type * as SecretsFixture from '../fixtures/handlers/with-secrets';
import type * as SettingsFixture from '../fixtures/handlers/with-settings';
import { captureTestStdout } from '../support/stdout';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const MAX_RECEIVE_COUNT = 3;
/** The line every fixture logs per run (written out here, not imported). */
const FIXTURE_LINE = 'fixture handler ran';
/** The reason the permanent fixture gives (written out here, not imported). */
const REASON = 'the CRM has no such customer';
/** The value of the handler secret CRM_KEY: it must never reach a log line. */
const CRM_KEY_VALUE = 'crm-live-key-5d1e0b7a93c4f8a2';
/** What a secret created by the stack holds until the operator sets it. */
const PLACEHOLDER = 'CRISP_BRIDGE_PLACEHOLDER: not set yet. Set the real value (see the stack outputs for the command).';
/** Text from the sample bodies that must never reach a log line. */
const CONTENT = ['order #1042', 'hasn\'t arrived', 'jane.doe+orders@example.com'];
/** Values that must never reach a log line, in any test of this file. */
const NEVER_LOGGED = [CRM_KEY_VALUE, PLACEHOLDER, ...CONTENT];

/** The brand every copy of errors.ts puts on a PermanentError (a global symbol, written out). */
const PERMANENT_BRAND = Symbol.for('crisp-bridge.PermanentError');

const SECRET_NAMES = { crmKey: 'crisp-bridge/handler/CRM_KEY', unset: 'crisp-bridge/handler/UNSET', deleted: 'crisp-bridge/handler/DELETED' };

let db: DynamoDbEmulator;
let sqs: SqsEmulator;
let sm: SecretsManagerEmulator;
const captured = captureTestStdout();
const { logs, linesFor } = captured;
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynamoDbEmulator();
  sqs = await startSqsEmulator({ maxReceiveCount: MAX_RECEIVE_COUNT });
  sm = await startSecretsManagerEmulator({ [SECRET_NAMES.crmKey]: CRM_KEY_VALUE, [SECRET_NAMES.unset]: PLACEHOLDER });
});
afterAll(async () => {
  process.env = { ...savedEnv };
  await sm?.close();
  await sqs?.close();
  await db?.close();
});

beforeEach(async () => {
  await sqs.client.send(new PurgeQueueCommand({ QueueUrl: sqs.queueUrl }));
  await sqs.client.send(new PurgeQueueCommand({ QueueUrl: sqs.deadLetterQueueUrl }));
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
  sm.setAvailable(true);
});

afterAll(() => {
  const all = captured.allText();
  for (const value of NEVER_LOGGED) expect(all).not.toContain(value);
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/** A cold start with `fixture` and the environment the construct sets (`env` overrides; undefined removes). */
function coldStart<M>(fixture: string, env: Record<string, string | undefined> = {}) {
  return coldStartConsumer<M>(fixture, {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    DEDUPE_TABLE_NAME: db.tableName,
    DEDUPE_TTL_HOURS: '168',
    MAX_RECEIVE_COUNT: String(MAX_RECEIVE_COUNT),
    DEAD_LETTER_QUEUE_URL: sqs.deadLetterQueueUrl,
    ...env,
  });
}

const sample = (event = 'message:send') => sampleHookBody(event, { websiteId: WEBSITE_ID });


async function storedRecord(key: string): Promise<Record<string, string | number> | undefined> {
  const out = await db.client.send(new GetItemCommand({ TableName: db.tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  return Object.fromEntries(Object.entries(out.Item).map(([name, value]: [string, AttributeValue]) => [name, value.N !== undefined ? Number(value.N) : value.S!]));
}

/** The attributes the receiver puts on a queued hook (see buildQueueMessage), written out. */
function receiverAttributes(event: string): Record<string, MessageAttributeValue> {
  return {
    event: { DataType: 'String', StringValue: event },
    websiteId: { DataType: 'String', StringValue: WEBSITE_ID },
    hookKind: { DataType: 'String', StringValue: 'plugin' },
    receivedAt: { DataType: 'Number', StringValue: String(Date.now()) },
    deliveryAttempt: { DataType: 'Number', StringValue: '1' },
    deliveryAttemptLimit: { DataType: 'Number', StringValue: '3' },
    hookOrigin: { DataType: 'String', StringValue: 'plugin/rtm 38b411d9377a6a00 production' },
  };
}

async function send(queueUrl: string, body: string, attributes: Record<string, MessageAttributeValue>): Promise<void> {
  await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
}

async function receive(queueUrl: string): Promise<Message[]> {
  const out = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
  );
  return out.Messages ?? [];
}

/** Messages waiting and in flight. */
async function depth(queueUrl: string): Promise<{ waiting: number; inFlight: number }> {
  const out = await sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { waiting: Number(out.Attributes?.ApproximateNumberOfMessages), inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

/**
 * One poll of the hook queue as Lambda's event source mapping does it: receive, invoke the
 * consumer with the records, delete the messages not reported in batchItemFailures.
 */
async function deliver(handler: ConsumerHandler): Promise<{ records: SQSRecord[]; result: SQSBatchResponse | void }> {
  const messages = await receive(sqs.queueUrl);
  const records = messages.map((message) => sqsRecordFromMessage(message, sqs.queueArn));
  const result = await handler(batchOf(...records), lambdaContext());
  const retry = new Set(failed(result));
  const done = messages.filter((message) => !retry.has(message.MessageId!));
  if (done.length > 0) {
    await sqs.client.send(
      new DeleteMessageBatchCommand({ QueueUrl: sqs.queueUrl, Entries: done.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle! })) }),
    );
  }
  return { records, result };
}

/** A message's attributes as plain `{ DataType, StringValue }` pairs. */
const attributesOf = (message: Message) =>
  Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, { DataType: value.DataType, StringValue: value.StringValue }]));

// ---------------------------------------------------------------------------------------------
// Settings.

describe('handler settings (context.settings)', () => {
  it('a declared setting reaches the handler from the environment, and only declared names are there', async () => {
    const { handler, fixture } = coldStart<typeof SettingsFixture>('with-settings', { SLACK_CHANNEL: '#support-escalations', OTHER_VARIABLE: 'not a setting' });
    const body = sample('message:send');
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(fixture.seen).toEqual([{ channel: '#support-escalations', names: ['SLACK_CHANNEL'] }]);
    expect(linesFor(FIXTURE_LINE, dedupeKey(body))).toEqual([expect.objectContaining({ fixture: 'with-settings', channel: '#support-escalations' })]);
    expect(linesFor('crisp event processed', dedupeKey(body))).toEqual([expect.objectContaining({ duplicate: false })]);
  });

  it('a declared setting missing from the environment fails the cold start, naming it and where to set it', () => {
    let thrown: unknown;
    try {
      coldStart('with-settings', { SLACK_CHANNEL: undefined });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'ConfigError' });
    expect((thrown as Error).message).toContain('SLACK_CHANNEL');
    expect((thrown as Error).message).toContain('handlers.environment on the CrispBridge construct');
  });

  it.each(['', '   '])('a declared setting that is empty (%j) fails the cold start like a missing one', (value) => {
    expect(() => coldStart('with-settings', { SLACK_CHANNEL: value })).toThrow(/SLACK_CHANNEL.*\(or it is empty\)/);
  });

  it('a module that declares no secret and reads one anyway: the event is retried, the secret store never asked', async () => {
    const calls = sm.calls.length;
    const { handler, fixture } = coldStart<typeof SettingsFixture>('with-settings', { SLACK_CHANNEL: '#support' });
    const record = sqsRecord(sample('message:received'));
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect(fixture.secretErrors).toEqual([expect.objectContaining({ name: 'SecretUnavailableError', secret: 'CRM_KEY', reason: 'not declared' })]);
    expect(sm.calls.slice(calls)).toEqual([]);
    expect(linesFor('crisp event will be retried')).toEqual([expect.objectContaining({ messageId: record.messageId, reason: 'handler_failed', willRetry: true })]);
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets.

describe('handler secrets (context.secrets, HANDLER_SECRETS)', () => {
  const handlerSecrets = (ids: Record<string, unknown>) => ({ HANDLER_SECRETS: JSON.stringify(ids) });

  it('gives the declared secret\'s value, read from Secrets Manager once per cold start across several events', async () => {
    const arn = sm.arnOf(SECRET_NAMES.crmKey);
    const calls = sm.calls.length;
    const { handler, fixture } = coldStart<typeof SecretsFixture>('with-secrets', handlerSecrets({ CRM_KEY: arn }));
    // Two events at once in one batch (they share one read), then a third in the next batch.
    const first = [sample(), sample()];
    expect(failed(await handler(batchOf(...first.map((body) => sqsRecord(body))), lambdaContext()))).toEqual([]);
    const third = sample();
    expect(failed(await handler(batchOf(sqsRecord(third)), lambdaContext()))).toEqual([]);
    expect(fixture.values).toEqual([CRM_KEY_VALUE, CRM_KEY_VALUE, CRM_KEY_VALUE]);
    expect(sm.calls.slice(calls)).toEqual([{ action: 'GetSecretValue', secretId: arn }]);
    for (const body of [...first, third]) expect(linesFor('crisp event processed', dedupeKey(body))).toEqual([expect.objectContaining({ duplicate: false })]);

    // A new execution environment reads it again, once.
    const again = coldStart<typeof SecretsFixture>('with-secrets', handlerSecrets({ CRM_KEY: arn }));
    expect(failed(await again.handler(batchOf(sqsRecord(sample()), sqsRecord(sample())), lambdaContext()))).toEqual([]);
    expect(again.fixture.values).toEqual([CRM_KEY_VALUE, CRM_KEY_VALUE]);
    expect(sm.calls.slice(calls)).toEqual([
      { action: 'GetSecretValue', secretId: arn },
      { action: 'GetSecretValue', secretId: arn },
    ]);
    expect(captured.text()).not.toContain(CRM_KEY_VALUE);
  });

  it.each<[string, () => string, string]>([
    ['still holds the placeholder', () => sm.arnOf(SECRET_NAMES.unset), 'not_set'],
    ['does not exist', () => sm.arnOf(SECRET_NAMES.deleted), 'not_found'],
    ['cannot be read (Secrets Manager down)', () => sm.arnOf(SECRET_NAMES.crmKey), 'unreachable'],
  ])('a secret that %s: the event is retried, its claim released, the log names the secret and never a value', async (_name, arnFor, reason) => {
    const arn = arnFor();
    const { handler, fixture } = coldStart<typeof SecretsFixture>('with-secrets', handlerSecrets({ CRM_KEY: arn }));
    if (reason === 'unreachable') sm.setAvailable(false);
    const body = sample();
    const key = dedupeKey(body);
    const record = sqsRecord(body, { attempt: 1 });
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect(fixture.values).toEqual([]);
    expect(linesFor('secret unavailable')).toEqual([
      expect.objectContaining({ level: 'ERROR', secret: 'handler secret CRM_KEY', secretId: arn, reason, action: expect.any(String) }),
    ]);
    expect(linesFor('crisp event failed', key)).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        messageId: record.messageId,
        error: expect.objectContaining({ name: 'SecretUnavailableError', message: expect.stringContaining('"CRM_KEY"') }),
      }),
    ]);
    expect(linesFor('crisp event failed', key)[0]!.error.message).toContain(reason);
    expect(linesFor('crisp event will be retried', key)).toEqual([expect.objectContaining({ reason: 'handler_failed', willRetry: true, deadLetter: false })]);
    expect(linesFor('crisp event processed', key)).toEqual([]);
    expect(await storedRecord(key)).toMatchObject({ status: 'FAILED', leaseExpiresAt: 0, failures: 1 });
    const all = captured.text();
    expect(all).not.toContain(CRM_KEY_VALUE);
    expect(all).not.toContain(PLACEHOLDER);
  });

  it.each<[string, Record<string, string | undefined>]>([
    ['HANDLER_SECRETS is not set', { HANDLER_SECRETS: undefined }],
    ['HANDLER_SECRETS names other secrets only', { HANDLER_SECRETS: JSON.stringify({ OTHER: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:other-AbCdEf' }) }],
    ['HANDLER_SECRETS gives it no ARN', { HANDLER_SECRETS: JSON.stringify({ CRM_KEY: 42 }) }],
  ])('a declared secret the function is not given fails the cold start, naming it and where to set it (%s)', (_name, env) => {
    expect(() => coldStart('with-secrets', env)).toThrow(/the secret\(s\) CRM_KEY .*handlers\.secrets on the CrispBridge construct/);
  });

  it.each(['null', '[]', '"arn"', '42'])('HANDLER_SECRETS that is JSON but not an object (%s) fails the cold start, naming the variable', (value) => {
    expect(() => coldStart('with-secrets', { HANDLER_SECRETS: value })).toThrow('environment variable HANDLER_SECRETS must be a JSON object of secret name to ARN');
  });

  it('HANDLER_SECRETS that is not JSON fails the cold start, naming the variable', () => {
    expect(() => coldStart('with-secrets', { HANDLER_SECRETS: '{CRM_KEY: arn' })).toThrow('environment variable HANDLER_SECRETS is not JSON');
  });

  it('a name the module did not declare rejects at run time (the event is retried) and is never asked of Secrets Manager', async () => {
    const calls = sm.calls.length;
    const { handler } = coldStart<typeof SecretsFixture>('with-secrets', handlerSecrets({ CRM_KEY: sm.arnOf(SECRET_NAMES.crmKey), UNDECLARED_KEY: sm.arnOf(SECRET_NAMES.crmKey) }));
    const body = sample('message:received');
    const record = sqsRecord(body);
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect(linesFor('crisp event failed', dedupeKey(body))).toEqual([
      expect.objectContaining({
        error: expect.objectContaining({ name: 'SecretUnavailableError', message: 'the handler secret "UNDECLARED_KEY" is unavailable (not declared); the event will be retried' }),
      }),
    ]);
    expect(sm.calls.slice(calls)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// PermanentError.

describe('PermanentError, through the SQS emulator', () => {
  it('dead-letters a copy (same body and attributes, plus the reason), acknowledges the message, releases the claim; a redrive runs the handler again', async () => {
    const { handler, fixture } = coldStart<typeof PermanentFixture>('permanent');
    const body = sample('message:send');
    const key = dedupeKey(body);
    const attributes = receiverAttributes('message:send');
    await send(sqs.queueUrl, body, attributes);

    const { records, result } = await deliver(handler);
    expect(records).toHaveLength(1);
    const messageId = records[0]!.messageId;
    expect(failed(result)).toEqual([]);
    expect(fixture.runs).toEqual([key]);
    // Acknowledged: nothing waits or hides in the hook queue.
    expect(await depth(sqs.queueUrl)).toEqual({ waiting: 0, inFlight: 0 });
    // Its copy waits in the dead-letter queue.
    const dead = await receive(sqs.deadLetterQueueUrl);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.Body).toBe(body);
    expect(attributesOf(dead[0]!)).toEqual({
      ...attributes,
      deadLetterReason: { DataType: 'String', StringValue: REASON },
      deadLetterSourceMessageId: { DataType: 'String', StringValue: messageId },
    });
    // The claim is released, not completed.
    expect(await storedRecord(key)).toMatchObject({ status: 'FAILED', leaseExpiresAt: 0, failures: 1, claims: 1, lastError: `PermanentError: ${REASON}` });
    expect(await storedRecord(key)).not.toHaveProperty('completedAt');
    // The event's lines: the handler's, then the dead letter; nothing says "retried" or "processed".
    const lines = logs().filter((line) => line.dedupeKey === key);
    expect(lines.map((line) => line.message)).toEqual([FIXTURE_LINE, 'crisp event dead-lettered']);
    expect(lines[1]).toMatchObject({
      level: 'ERROR',
      event: 'message:send',
      website_id: WEBSITE_ID,
      messageId,
      by: 'handler',
      reason: 'permanent_error',
      willRetry: false,
      deadLetter: true,
      EventDeadLettered: 1,
      error: { name: 'PermanentError', message: REASON, stack: expect.stringMatching(/^PermanentError: the CRM has no such customer\n\s+at .*permanent\.ts:\d+:\d+/) },
    });

    // A redrive (what the DLQ's message-move task does: body and attributes back to the source
    // queue, the letter deleted) while the handler still refuses: it runs again (the released
    // claim is taken anew) and is dead-lettered again.
    const moveBack = async (letter: Message) => {
      await send(sqs.queueUrl, letter.Body!, letter.MessageAttributes!);
      await sqs.client.send(new DeleteMessageBatchCommand({ QueueUrl: sqs.deadLetterQueueUrl, Entries: [{ Id: '0', ReceiptHandle: letter.ReceiptHandle! }] }));
    };
    await moveBack(dead[0]!);
    const second = await deliver(handler);
    expect(failed(second.result)).toEqual([]);
    expect(fixture.runs).toEqual([key, key]);
    expect(linesFor('crisp event dead-lettered', key).map((line) => [line.messageId, line.by])).toEqual([
      [messageId, 'handler'],
      [second.records[0]!.messageId, 'handler'],
    ]);
    expect(await storedRecord(key)).toMatchObject({ status: 'FAILED', failures: 2, claims: 2 });
    const again = await receive(sqs.deadLetterQueueUrl);
    expect(again.map((letter) => [letter.Body, letter.MessageAttributes?.deadLetterSourceMessageId?.StringValue])).toEqual([[body, second.records[0]!.messageId]]);

    // Once the handler is fixed, a redrive completes the event, once.
    fixture.control.makeError = () => undefined;
    await moveBack(again[0]!);
    const third = await deliver(handler);
    expect(failed(third.result)).toEqual([]);
    expect(fixture.runs).toEqual([key, key, key]);
    expect(linesFor('crisp event processed', key)).toEqual([expect.objectContaining({ duplicate: false, messageId: third.records[0]!.messageId })]);
    expect(await storedRecord(key)).toMatchObject({ status: 'COMPLETED', claims: 3 });
    expect(await depth(sqs.queueUrl)).toEqual({ waiting: 0, inFlight: 0 });
    expect(await depth(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
  });

  it('with the dead-letter queue unreachable (no such queue): reported for retry instead, nothing dead-lettered', async () => {
    const missing = sqs.deadLetterQueueUrl.replace(/[^/]+$/, 'crisp-bridge-hooks-dlq-that-does-not-exist');
    const { handler, fixture } = coldStart<typeof PermanentFixture>('permanent', { DEAD_LETTER_QUEUE_URL: missing });
    const body = sample('message:send');
    const key = dedupeKey(body);
    await send(sqs.queueUrl, body, receiverAttributes('message:send'));
    const { records, result } = await deliver(handler);
    const messageId = records[0]!.messageId;
    expect(failed(result)).toEqual([messageId]);
    expect(fixture.runs).toEqual([key]);
    expect(linesFor('crisp event failed', key)).toEqual([
      expect.objectContaining({ level: 'ERROR', messageId, permanent: true, error: expect.objectContaining({ name: 'PermanentError', message: REASON }), EventFailed: 1 }),
    ]);
    expect(linesFor('crisp event will be retried: the dead-letter queue did not accept it', key)).toEqual([
      expect.objectContaining({ messageId, reason: 'dead_letter_unavailable', willRetry: true, deadLetter: false, EventRetried: 1, error: expect.objectContaining({ name: expect.any(String) }) }),
    ]);
    expect(linesFor('crisp event dead-lettered')).toEqual([]);
    expect(await depth(sqs.queueUrl)).toEqual({ waiting: 0, inFlight: 1 });
    expect(await depth(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
    // Released, so the retry can claim it.
    expect(await storedRecord(key)).toMatchObject({ status: 'FAILED', leaseExpiresAt: 0 });
  });

  it('with no dead-letter queue configured: retried like any failure', async () => {
    const { handler } = coldStart<typeof PermanentFixture>('permanent', { DEAD_LETTER_QUEUE_URL: undefined });
    const body = sample('message:send');
    const key = dedupeKey(body);
    await send(sqs.queueUrl, body, receiverAttributes('message:send'));
    const { records, result } = await deliver(handler);
    expect(failed(result)).toEqual([records[0]!.messageId]);
    expect(linesFor('crisp event will be retried', key)).toEqual([expect.objectContaining({ reason: 'handler_failed', willRetry: true })]);
    expect(linesFor('crisp event dead-lettered')).toEqual([]);
    expect(await depth(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
  });

  /** A PermanentError as another bundle's copy of errors.ts makes it: its own class, the same global brand. */
  class BundledPermanentError extends Error {
    override readonly name = 'PermanentError';
    readonly [PERMANENT_BRAND] = true;
    constructor(readonly reason: string) {
      super(reason);
    }
  }

  it.each<[string, () => (reason: string) => Error]>([
    [
      'errors.ts loaded a second time',
      () => {
        let Copy!: typeof import('../../functions/consumer/errors').PermanentError;
        jest.isolateModules(() => {
          Copy = (require('../../functions/consumer/errors') as typeof import('../../functions/consumer/errors')).PermanentError;
        });
        return (reason) => new Copy(reason);
      },
    ],
    ['a class of its own carrying the brand', () => (reason) => new BundledPermanentError(reason)],
  ])('a PermanentError from a different copy (%s) is still recognised', async (_name, factory) => {
    const { handler, fixture } = coldStart<typeof PermanentFixture>('permanent');
    const make = factory();
    // Really another class than the one the consumer and the fixture loaded.
    expect(make('probe')).not.toBeInstanceOf(fixture.PermanentError);
    fixture.control.makeError = make;
    const body = sample('message:send');
    const key = dedupeKey(body);
    await send(sqs.queueUrl, body, receiverAttributes('message:send'));
    const { result } = await deliver(handler);
    expect(failed(result)).toEqual([]);
    expect(linesFor('crisp event dead-lettered', key)).toEqual([expect.objectContaining({ by: 'handler', reason: 'permanent_error' })]);
    const dead = await receive(sqs.deadLetterQueueUrl);
    expect(dead.map((message) => [message.Body, message.MessageAttributes?.deadLetterReason?.StringValue])).toEqual([[body, REASON]]);
  });

  it('an error merely named PermanentError, without the brand, is an ordinary failure (retried)', async () => {
    const { handler, fixture } = coldStart<typeof PermanentFixture>('permanent');
    fixture.control.makeError = (reason) => Object.assign(new Error(reason), { name: 'PermanentError', reason });
    const body = sample('message:send');
    await send(sqs.queueUrl, body, receiverAttributes('message:send'));
    const { records, result } = await deliver(handler);
    expect(failed(result)).toEqual([records[0]!.messageId]);
    expect(linesFor('crisp event will be retried', dedupeKey(body))).toHaveLength(1);
    expect(linesFor('crisp event dead-lettered')).toEqual([]);
    expect(await depth(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Stacks in error lines.

describe('error lines carry the stack', () => {
  it('a handler\'s TypeError: the failure line\'s stack starts at the line of the fixture that threw', async () => {
    const file = path.join(HANDLER_FIXTURES, 'throwing.ts');
    const markerLine = readFileSync(file, 'utf8').split('\n').findIndex((line) => line.includes('STACK-MARKER')) + 1;
    expect(markerLine).toBeGreaterThan(0);
    const { handler } = coldStart('throwing');
    const body = sample('message:send');
    const record = sqsRecord(body);
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    const [line] = linesFor('crisp event failed', dedupeKey(body));
    expect(line!.error).toEqual({ name: 'TypeError', message: 'Cannot read properties of undefined (reading \'segments\')', stack: expect.any(String) });
    const frames = (line!.error.stack as string).split('\n');
    expect(frames[0]).toBe('TypeError: Cannot read properties of undefined (reading \'segments\')');
    expect(frames[1]).toMatch(/^\s+at /);
    expect(frames[1]).toContain(`${file}:${markerLine}:`);
    expect((line!.error.stack as string).length).toBeLessThanOrEqual(4000);
    const all = captured.text();
    for (const value of CONTENT) expect(all).not.toContain(value);
  });

  it('the logger writes name, message and stack only (no other property of the error), the stack cut at 4000 characters', () => {
    const { logger, entries } = captureLogger();
    const deep = Object.assign(new Error('upstream refused'), { $response: { body: 'jane.doe+orders@example.com' }, secret: CRM_KEY_VALUE });
    deep.stack = `Error: upstream refused\n${'    at step (/var/task/index.js:1:1)\n'.repeat(400)}`;
    expect(deep.stack.length).toBeGreaterThan(10_000);
    logger.error('call failed', { error: deep });
    const written = entries()[0]!.error as Record<string, string>;
    expect(Object.keys(written).sort()).toEqual(['message', 'name', 'stack']);
    expect(written.name).toBe('Error');
    expect(written.message).toBe('upstream refused');
    expect(written.stack!.length).toBeLessThanOrEqual(4000);
    expect(written.stack!.length).toBeGreaterThan(3000);
    expect(written.stack!.startsWith('Error: upstream refused\n    at step (/var/task/index.js:1:1)\n')).toBe(true);
    expect(JSON.stringify(entries())).not.toContain('jane.doe');
    expect(JSON.stringify(entries())).not.toContain(CRM_KEY_VALUE);
  });

  it('a short stack is written whole; an error without one gets name and message', () => {
    const { logger, entries } = captureLogger();
    const short = new RangeError('limit');
    short.stack = 'RangeError: limit\n    at check (/var/task/index.js:9:3)';
    const bare = new Error('no stack');
    delete (bare as { stack?: string }).stack;
    Object.defineProperty(bare, 'stack', { value: undefined });
    logger.warn('short', { error: short });
    logger.warn('bare', { error: bare });
    expect(entries().map((entry) => entry.error)).toEqual([
      { name: 'RangeError', message: 'limit', stack: 'RangeError: limit\n    at check (/var/task/index.js:9:3)' },
      { name: 'Error', message: 'no stack' },
    ]);
  });
});
