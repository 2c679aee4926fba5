/**
 * The operations functions behind `npm run dlq` and `npm run event` (scripts/ops/), in-process:
 * against the SQS emulator (fauxqs) and the DynamoDB emulator (dynalite) where they support the
 * calls, and against stubbed clients where they do not (fauxqs has no message-move task, and
 * CloudFormation has no emulator here).
 *
 * Dead letters are put in the DLQ as the receiver queues hooks: realistic Crisp bodies with the
 * receiver's message attributes, one base64-encoded, one the consumer cannot read.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  type ListMessageMoveTasksResultEntry,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { ATTRIBUTES } from '../../functions/commons/core/hook-envelope';
import { dedupeRecord, dlqStatus, peekDeadLetters, purgeDeadLetters, type RedriveProgress, redriveDeadLetters } from '../../scripts/ops/dlq';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints, type OpsTarget, targetFromLocalStack, targetFromStack } from '../../scripts/ops/target';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { type SqsEmulator, startSqsEmulator } from '../../scripts/local/emulators/sqs';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { sqsDeadLetterQueue } from '../../functions/commons/aws/sqs';
import { sqsRecord } from '../support/consumer';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
/** Text of the message:send sample: it must not leave peek unless asked for. */
const CONTENT = 'order #1042';

let sqs: SqsEmulator;
let db: DynamoDbEmulator;
let target: OpsTarget;

beforeAll(async () => {
  db = await startDynamoDbEmulator();
});
afterAll(async () => {
  await db?.close();
});

// A fresh pair of queues for every test: each one counts, moves or purges what it put there.
beforeEach(async () => {
  sqs = await startSqsEmulator();
  target = { queueUrl: sqs.queueUrl, deadLetterQueueUrl: sqs.deadLetterQueueUrl, tableName: db.tableName, description: 'the test queues' };
});
afterEach(async () => {
  await sqs?.close();
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/** The attributes the receiver sets on a queued hook (see buildQueueMessage). */
function receiverAttributes(event: string, options: { deliveryAttempt?: number; base64?: boolean } = {}): Record<string, MessageAttributeValue> {
  return {
    [ATTRIBUTES.event]: { DataType: 'String', StringValue: event },
    [ATTRIBUTES.websiteId]: { DataType: 'String', StringValue: WEBSITE_ID },
    [ATTRIBUTES.hookKind]: { DataType: 'String', StringValue: 'plugin' },
    [ATTRIBUTES.receivedAt]: { DataType: 'Number', StringValue: String(Date.now()) },
    ...(options.deliveryAttempt !== undefined ? { [ATTRIBUTES.deliveryAttempt]: { DataType: 'Number', StringValue: String(options.deliveryAttempt) } } : {}),
    ...(options.base64 ? { [ATTRIBUTES.bodyEncoding]: { DataType: 'String', StringValue: 'base64' } } : {}),
  };
}

async function sendTo(queueUrl: string, body: string, attributes: Record<string, MessageAttributeValue> = {}): Promise<string> {
  const out = await sqs.client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageAttributes: attributes }));
  return out.MessageId!;
}

async function receiveAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }),
    );
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

async function waitingIn(queueUrl: string): Promise<{ waiting: number; inFlight: number }> {
  const out = await sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { waiting: Number(out.Attributes?.ApproximateNumberOfMessages), inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

const attributesOf = (message: Message): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));

interface Sent {
  messageId: string;
  event: string;
  text: string;
}

/** Three dead letters: a message:send, a base64-encoded session:set_email, and an unreadable body. */
async function putThreeDeadLetters(): Promise<{ plain: Sent; encoded: Sent; unreadable: Sent }> {
  const plainText = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
  // The receiver base64-encodes a body holding a character SQS refuses (U+FFFF inside a string).
  const encodedObject = JSON.parse(sampleHookBody('session:set_email', { websiteId: WEBSITE_ID })) as { data: Record<string, unknown> };
  encodedObject.data.nickname = 'Jane \uFFFF Doe';
  const encodedText = JSON.stringify(encodedObject);
  const plain = { event: 'message:send', text: plainText, messageId: await sendTo(sqs.deadLetterQueueUrl, plainText, receiverAttributes('message:send', { deliveryAttempt: 1 })) };
  const encoded = {
    event: 'session:set_email',
    text: encodedText,
    messageId: await sendTo(sqs.deadLetterQueueUrl, Buffer.from(encodedText, 'utf8').toString('base64'), receiverAttributes('session:set_email', { deliveryAttempt: 2, base64: true })),
  };
  const unreadable = { event: 'message:received', text: 'not json', messageId: await sendTo(sqs.deadLetterQueueUrl, 'not json', receiverAttributes('message:received', { deliveryAttempt: 3 })) };
  return { plain, encoded, unreadable };
}

/** A dedupe record as the consumer leaves it after its last failure. */
async function putFailedRecord(key: string, event: string): Promise<void> {
  const now = Date.now();
  await db.client.send(
    new PutItemCommand({
      TableName: db.tableName,
      Item: {
        pk: { S: key },
        status: { S: 'FAILED' },
        event: { S: event },
        websiteId: { S: WEBSITE_ID },
        messageId: { S: 'c5b9d7a4-0000-4000-8000-000000000001' },
        claims: { N: '5' },
        failures: { N: '5' },
        lastError: { S: 'Error: CRM answered 502' },
        lastFailedAt: { N: String(now) },
        firstClaimedAt: { N: String(now - 60_000) },
        leaseExpiresAt: { N: '0' },
        expiresAt: { N: String(Math.floor(now / 1000) + 48 * 3600) },
      },
    }),
  );
}

// ---------------------------------------------------------------------------------------------

describe('dlqStatus (fauxqs)', () => {
  test('counts waiting, in-flight and delayed messages in both queues; no move-task listing in fauxqs', async () => {
    for (let i = 0; i < 3; i++) await sendTo(sqs.deadLetterQueueUrl, sampleHookBody('message:send', { websiteId: WEBSITE_ID }), receiverAttributes('message:send'));
    await sendTo(sqs.queueUrl, sampleHookBody('session:set_data', { websiteId: WEBSITE_ID }));
    await sendTo(sqs.queueUrl, sampleHookBody('session:set_data', { websiteId: WEBSITE_ID }));
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: sampleHookBody('message:received', { websiteId: WEBSITE_ID }), DelaySeconds: 60 }));
    // One dead letter in flight.
    const received = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 60 }));
    expect(received.Messages).toHaveLength(1);

    const status = await dlqStatus(sqs.client, target);
    expect(status).toEqual({
      queue: { waiting: 2, inFlight: 0, delayed: 1 },
      deadLetterQueue: { waiting: 2, inFlight: 1, delayed: 0 },
      moveTasksUnsupported: true,
    });
    expect(status.lastMoveTask).toBeUndefined();
  });

  test('empty queues count zero', async () => {
    const status = await dlqStatus(sqs.client, target);
    expect(status.queue).toEqual({ waiting: 0, inFlight: 0, delayed: 0 });
    expect(status.deadLetterQueue).toEqual({ waiting: 0, inFlight: 0, delayed: 0 });
  });
});

describe('peekDeadLetters (fauxqs + dynalite)', () => {
  test('lists every dead letter once with its attributes, dedupe key and record, without the body; leaves them in the queue, visible', async () => {
    const { plain, encoded, unreadable } = await putThreeDeadLetters();
    // Computed here from the decoded text, independently of peek.
    const plainKey = dedupeKey(plain.text);
    const encodedKey = dedupeKey(encoded.text);
    expect(plainKey).toMatch(/^v1:[0-9a-f]{64}$/);
    await putFailedRecord(plainKey, 'message:send');

    const before = Date.now();
    const letters = await peekDeadLetters(sqs.client, db.client, target);
    expect(letters).toHaveLength(3);
    expect(new Set(letters.map((letter) => letter.messageId)).size).toBe(3);
    const byId = new Map(letters.map((letter) => [letter.messageId, letter]));

    const plainLetter = byId.get(plain.messageId)!;
    expect(plainLetter).toMatchObject({ event: 'message:send', websiteId: WEBSITE_ID, deliveryAttempt: '1', dedupeKey: plainKey, unreadable: undefined, reason: undefined });
    expect(plainLetter.record).toMatchObject({ pk: plainKey, status: 'FAILED', failures: 5, claims: 5, lastError: 'Error: CRM answered 502', event: 'message:send' });
    expect(typeof plainLetter.record!.lastFailedAt).toBe('number');
    expect(plainLetter.receiveCount).toBeGreaterThanOrEqual(1);
    expect(Date.parse(plainLetter.sentAt!)).toBeLessThanOrEqual(before);

    const encodedLetter = byId.get(encoded.messageId)!;
    expect(encodedLetter).toMatchObject({ event: 'session:set_email', websiteId: WEBSITE_ID, deliveryAttempt: '2', dedupeKey: encodedKey, record: undefined, unreadable: undefined });

    const unreadableLetter = byId.get(unreadable.messageId)!;
    expect(unreadableLetter).toMatchObject({ event: 'message:received', websiteId: WEBSITE_ID, deliveryAttempt: '3', dedupeKey: undefined, record: undefined });
    expect(unreadableLetter.unreadable).toEqual(expect.any(String));
    expect(unreadableLetter.unreadable!.length).toBeGreaterThan(0);

    // No body, nor anything of it.
    for (const letter of letters) {
      expect(letter).not.toHaveProperty('body');
      expect(JSON.stringify(letter)).not.toContain(CONTENT);
    }

    // Still in the DLQ, and visible at once.
    expect(await waitingIn(sqs.deadLetterQueueUrl)).toEqual({ waiting: 3, inFlight: 0 });
    const again = await receiveAll(sqs.deadLetterQueueUrl);
    expect(again.map((message) => message.MessageId).sort()).toEqual([plain.messageId, encoded.messageId, unreadable.messageId].sort());
  });

  test("a consumer's own dead letter (PermanentError) shows its reason; SQS's moves show none", async () => {
    const text = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
    await sqsDeadLetterQueue(sqs.client, sqs.deadLetterQueueUrl).send(sqsRecord(text, { attempt: 1 }), 'PermanentError: the CRM refused the contact');
    const moved = await sendTo(sqs.deadLetterQueueUrl, sampleHookBody('message:send', { websiteId: WEBSITE_ID }), receiverAttributes('message:send', { deliveryAttempt: 1 }));
    const letters = await peekDeadLetters(sqs.client, db.client, target);
    expect(letters.find((letter) => letter.dedupeKey === dedupeKey(text))).toMatchObject({ reason: 'PermanentError: the CRM refused the contact', event: 'message:send' });
    expect(letters.find((letter) => letter.messageId === moved)).toMatchObject({ reason: undefined });
  });

  test('showBody adds the decoded body', async () => {
    const { plain, encoded, unreadable } = await putThreeDeadLetters();
    const letters = await peekDeadLetters(sqs.client, db.client, target, { showBody: true });
    const bodies = Object.fromEntries(letters.map((letter) => [letter.messageId, letter.body]));
    expect(bodies).toEqual({ [plain.messageId]: plain.text, [encoded.messageId]: encoded.text, [unreadable.messageId]: 'not json' });
    expect(bodies[plain.messageId]).toContain(CONTENT);
  });

  test('max limits how many are read; the others are untouched', async () => {
    await putThreeDeadLetters();
    const letters = await peekDeadLetters(sqs.client, db.client, target, { max: 2 });
    expect(letters).toHaveLength(2);
    expect(await waitingIn(sqs.deadLetterQueueUrl)).toEqual({ waiting: 3, inFlight: 0 });
    expect(await peekDeadLetters(sqs.client, db.client, target, { max: 1 })).toHaveLength(1);
  });

  test('more than one receive batch: 23 dead letters, each listed once, all visible again', async () => {
    for (let i = 0; i < 23; i++) await sendTo(sqs.deadLetterQueueUrl, sampleHookBody('message:send', { websiteId: WEBSITE_ID }), receiverAttributes('message:send'));
    const letters = await peekDeadLetters(sqs.client, db.client, target, { max: 50 });
    expect(letters).toHaveLength(23);
    expect(new Set(letters.map((letter) => letter.messageId)).size).toBe(23);
    expect(await waitingIn(sqs.deadLetterQueueUrl)).toEqual({ waiting: 23, inFlight: 0 });
  });

  test('without a table (or a DynamoDB client) the records are left out', async () => {
    const { plain } = await putThreeDeadLetters();
    await putFailedRecord(dedupeKey(plain.text), 'message:send');
    const letters = await peekDeadLetters(sqs.client, undefined, target);
    expect(letters).toHaveLength(3);
    expect(letters.every((letter) => letter.record === undefined)).toBe(true);
    expect(letters.find((letter) => letter.messageId === plain.messageId)?.dedupeKey).toBe(dedupeKey(plain.text));
  });

  test('an empty DLQ gives an empty list', async () => {
    expect(await peekDeadLetters(sqs.client, db.client, target)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Redrive with SQS's message-move task: a stubbed client (fauxqs has no move task).

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/CrispBridge-HookQueue';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/CrispBridge-HookDeadLetterQueue';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:CrispBridge-HookQueue';
const DLQ_ARN = 'arn:aws:sqs:eu-west-1:123456789012:CrispBridge-HookDeadLetterQueue';
const STUB_TARGET: OpsTarget = { queueUrl: QUEUE_URL, deadLetterQueueUrl: DLQ_URL, tableName: 'dedupe', description: 'stubbed stack' };

interface StubCall {
  command: string;
  input: Record<string, unknown>;
}

/** An SQS client answering the calls redrive makes; the move task reports `tasks` in turn (the last one repeats). */
function stubSqs(tasks: ListMessageMoveTasksResultEntry[]): { client: SQSClient; calls: StubCall[] } {
  const calls: StubCall[] = [];
  let polls = 0;
  const arns: Record<string, string> = { [QUEUE_URL]: QUEUE_ARN, [DLQ_URL]: DLQ_ARN };
  const client = {
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name;
      calls.push({ command: name, input: command.input });
      switch (name) {
        case 'GetQueueAttributesCommand': {
          const arn = arns[command.input.QueueUrl as string];
          if (!arn) throw new Error(`unknown queue ${String(command.input.QueueUrl)}`);
          return { Attributes: { QueueArn: arn } };
        }
        case 'StartMessageMoveTaskCommand':
          return { TaskHandle: 'eyJ0YXNrSWQiOiJkYjU1In0=' };
        case 'ListMessageMoveTasksCommand': {
          const task = tasks[Math.min(polls, tasks.length - 1)]!;
          polls += 1;
          return { Results: [task] };
        }
        default:
          throw new Error(`the stub does not answer ${name}`);
      }
    },
  };
  return { client: client as unknown as SQSClient, calls };
}

const task = (Status: string, moved: number, extra: Partial<ListMessageMoveTasksResultEntry> = {}): ListMessageMoveTasksResultEntry => ({
  TaskHandle: Status === 'RUNNING' ? 'eyJ0YXNrSWQiOiJkYjU1In0=' : undefined,
  Status,
  SourceArn: DLQ_ARN,
  DestinationArn: QUEUE_ARN,
  ApproximateNumberOfMessagesMoved: moved,
  ApproximateNumberOfMessagesToMove: 3,
  StartedTimestamp: Date.now(),
  ...extra,
});

describe('redriveDeadLetters with the message-move task (stubbed SQS)', () => {
  test('starts a move task from the DLQ to the hook queue and reports progress until it completes', async () => {
    const { client, calls } = stubSqs([task('RUNNING', 1), task('RUNNING', 2), task('COMPLETED', 3)]);
    const progress: RedriveProgress[] = [];
    const final = await redriveDeadLetters(client, STUB_TARGET, { maxPerSecond: 50, pollMs: 5, onProgress: (p) => progress.push(p) });

    const starts = calls.filter((call) => call.command === 'StartMessageMoveTaskCommand');
    expect(starts).toHaveLength(1);
    expect(starts[0]!.input).toEqual({ SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN, MaxNumberOfMessagesPerSecond: 50 });
    for (const list of calls.filter((call) => call.command === 'ListMessageMoveTasksCommand')) expect(list.input).toMatchObject({ SourceArn: DLQ_ARN });

    expect(progress.map((p) => [p.status, p.moved, p.toMove])).toEqual([
      ['RUNNING', 1, 3],
      ['RUNNING', 2, 3],
      ['COMPLETED', 3, 3],
    ]);
    expect(final).toMatchObject({ status: 'COMPLETED', moved: 3, toMove: 3 });
    expect(final.failureReason).toBeUndefined();
    // Nothing was received, sent or deleted by the command itself.
    expect(new Set(calls.map((call) => call.command))).toEqual(new Set(['GetQueueAttributesCommand', 'StartMessageMoveTaskCommand', 'ListMessageMoveTasksCommand']));
  });

  test('without maxPerSecond, no rate is asked for', async () => {
    const { client, calls } = stubSqs([task('COMPLETED', 3)]);
    await redriveDeadLetters(client, STUB_TARGET, { pollMs: 5 });
    const start = calls.find((call) => call.command === 'StartMessageMoveTaskCommand')!;
    expect(start.input).toEqual({ SourceArn: DLQ_ARN, DestinationArn: QUEUE_ARN });
  });

  test('a failed task returns FAILED with its reason', async () => {
    const reason = 'AWS.SimpleQueueService.NonExistentQueue: the destination queue does not exist';
    const { client } = stubSqs([task('RUNNING', 1), task('FAILED', 1, { FailureReason: reason })]);
    const progress: RedriveProgress[] = [];
    const final = await redriveDeadLetters(client, STUB_TARGET, { pollMs: 5, onProgress: (p) => progress.push(p) });
    expect(final).toEqual({ status: 'FAILED', moved: 1, toMove: 3, failureReason: reason });
    expect(progress.map((p) => p.status)).toEqual(['RUNNING', 'FAILED']);
  });

  test('wait: false returns after the first poll, the task still running', async () => {
    const { client, calls } = stubSqs([task('RUNNING', 1), task('RUNNING', 2), task('COMPLETED', 3)]);
    const progress: RedriveProgress[] = [];
    const final = await redriveDeadLetters(client, STUB_TARGET, { wait: false, pollMs: 5, onProgress: (p) => progress.push(p) });
    expect(final).toMatchObject({ status: 'RUNNING', moved: 1, toMove: 3 });
    expect(progress).toHaveLength(1);
    expect(calls.filter((call) => call.command === 'ListMessageMoveTasksCommand')).toHaveLength(1);
  });

  test('an error other than "unsupported" from StartMessageMoveTask is thrown, not turned into a manual move', async () => {
    const { client } = stubSqs([]);
    const failing = {
      send: async (command: { constructor: { name: string } }) => {
        if (command.constructor.name === 'StartMessageMoveTaskCommand') {
          throw Object.assign(new Error('User is not authorized to perform: sqs:StartMessageMoveTask'), { name: 'AccessDenied' });
        }
        return (client as unknown as { send: (c: unknown) => Promise<unknown> }).send(command);
      },
    } as unknown as SQSClient;
    await expect(redriveDeadLetters(failing, STUB_TARGET, { pollMs: 5 })).rejects.toThrow(/not authorized/);
  });
});

describe('redriveDeadLetters without the move task (fauxqs)', () => {
  test('falls back to moving the messages one by one: same bodies and attributes in the hook queue, the DLQ empty', async () => {
    const sent: Array<{ body: string; attributes: Record<string, string | undefined> }> = [];
    for (let i = 0; i < 5; i++) {
      const event = ['message:send', 'session:set_email', 'message:received', 'session:set_data', 'people:profile:created'][i]!;
      const body = sampleHookBody(event, { websiteId: WEBSITE_ID });
      const attributes = receiverAttributes(event, { deliveryAttempt: i + 1 });
      await sendTo(sqs.deadLetterQueueUrl, body, attributes);
      sent.push({ body, attributes: Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, value.StringValue])) });
    }

    const progress: RedriveProgress[] = [];
    const final = await redriveDeadLetters(sqs.client, target, { pollMs: 5, onProgress: (p) => progress.push(p) });
    expect(final).toEqual({ status: 'COMPLETED', moved: 5, toMove: 5 });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toEqual({ status: 'COMPLETED', moved: 5, toMove: 5 });
    expect(progress.slice(0, -1).every((p) => p.status === 'RUNNING' && p.toMove === 5)).toBe(true);
    const moved = progress.map((p) => p.moved);
    expect(moved).toEqual([...moved].sort((a, b) => a - b));

    expect(await waitingIn(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
    const inQueue = await receiveAll(sqs.queueUrl);
    const byBody = (a: { body: string }, b: { body: string }) => a.body.localeCompare(b.body);
    expect(inQueue.map((message) => ({ body: message.Body!, attributes: attributesOf(message) })).sort(byBody)).toEqual([...sent].sort(byBody));
  });

  test('an empty DLQ: COMPLETED 0/0', async () => {
    expect(await redriveDeadLetters(sqs.client, target, { pollMs: 5 })).toEqual({ status: 'COMPLETED', moved: 0, toMove: 0 });
  });

  test('a letter the hook queue refuses stays in the DLQ, and the redrive ends FAILED (nothing lost)', async () => {
    // A hook queue whose size limit is below the dead letter's size.
    const small = await sqs.client.send(new CreateQueueCommand({ QueueName: 'tiny-hook-queue', Attributes: { MaximumMessageSize: '1024' } }));
    const big = JSON.stringify({ website_id: WEBSITE_ID, event: 'message:send', timestamp: 1, data: { content: 'x'.repeat(2048) } });
    await sendTo(sqs.deadLetterQueueUrl, big, receiverAttributes('message:send'));
    const final = await redriveDeadLetters(sqs.client, { ...target, queueUrl: small.QueueUrl! }, { pollMs: 5 });
    expect(final).toMatchObject({ status: 'FAILED', moved: 0, toMove: 1 });
    expect(final.failureReason).toMatch(/message /);
    expect((await receiveAll(sqs.deadLetterQueueUrl)).map((message) => message.Body)).toEqual([big]);
  });
});

describe('purgeDeadLetters (fauxqs)', () => {
  test('empties the DLQ, returns how many it held, and leaves the hook queue alone', async () => {
    await putThreeDeadLetters();
    await sendTo(sqs.queueUrl, sampleHookBody('message:send', { websiteId: WEBSITE_ID }));
    expect(await purgeDeadLetters(sqs.client, target)).toBe(3);
    expect(await waitingIn(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
    expect(await receiveAll(sqs.deadLetterQueueUrl)).toEqual([]);
    expect(await waitingIn(sqs.queueUrl)).toEqual({ waiting: 1, inFlight: 0 });
  });
});

// ---------------------------------------------------------------------------------------------

describe('targetFromStack (stubbed CloudFormation)', () => {
  const stubCloudFormation = (answer: (input: Record<string, unknown>) => unknown) => {
    const inputs: Array<Record<string, unknown>> = [];
    const client = {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        expect(command.constructor.name).toBe('DescribeStacksCommand');
        inputs.push(command.input);
        return answer(command.input);
      },
    } as unknown as CloudFormationClient;
    return { client, inputs };
  };

  test('reads the queues and the table from the stack outputs', async () => {
    const { client, inputs } = stubCloudFormation(() => ({
      Stacks: [
        {
          StackName: 'CrispBridge',
          Outputs: [
            { OutputKey: 'ApiUrl', OutputValue: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod/' },
            { OutputKey: 'HookQueueUrl', OutputValue: QUEUE_URL },
            { OutputKey: 'HookDeadLetterQueueUrl', OutputValue: DLQ_URL },
            { OutputKey: 'DedupeTableName', OutputValue: 'CrispBridge-DedupeTable1234' },
          ],
        },
      ],
    }));
    expect(await targetFromStack(client, 'CrispBridge')).toEqual({
      queueUrl: QUEUE_URL,
      deadLetterQueueUrl: DLQ_URL,
      tableName: 'CrispBridge-DedupeTable1234',
      description: 'stack CrispBridge',
    });
    expect(inputs).toEqual([{ StackName: 'CrispBridge' }]);
  });

  test('without the queue outputs: an error naming HookQueueUrl', async () => {
    const { client } = stubCloudFormation(() => ({ Stacks: [{ StackName: 'Other', Outputs: [{ OutputKey: 'DedupeTableName', OutputValue: 't' }] }] }));
    await expect(targetFromStack(client, 'Other')).rejects.toThrow(/HookQueueUrl/);
  });

  test('a stack that cannot be read: an error naming it and suggesting --stack, --region or --local', async () => {
    const { client } = stubCloudFormation(() => {
      throw Object.assign(new Error('Stack with id NoSuchStack does not exist'), { name: 'ValidationError' });
    });
    const error = (await targetFromStack(client, 'NoSuchStack').catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain('NoSuchStack');
    expect(error.message).toContain('--stack');
    expect(error.message).toContain('--region');
    expect(error.message).toContain('--local');
  });

  test('an empty answer counts as not found', async () => {
    const { client } = stubCloudFormation(() => ({ Stacks: [] }));
    await expect(targetFromStack(client, 'Gone')).rejects.toThrow(/Gone/);
  });
});

describe('targetFromLocalStack', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-ops-target-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('no endpoints.json: an error telling to start the local stack with npm start', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(() => targetFromLocalStack(dir, env)).toThrow(/npm start/);
    expect(env).toEqual({});
  });

  test('reads the target from endpoints.json and points the SDK at the emulators', () => {
    const local: LocalEndpoints = {
      apiUrl: 'http://localhost:3000',
      sqsEndpoint: 'http://127.0.0.1:40001',
      dynamodbEndpoint: 'http://127.0.0.1:40002',
      queueUrl: 'http://127.0.0.1:40001/000000000000/crisp-bridge-hooks',
      deadLetterQueueUrl: 'http://127.0.0.1:40001/000000000000/crisp-bridge-hooks-dlq',
      tableName: 'crisp-bridge-dedupe',
    };
    writeFileSync(path.join(dir, LOCAL_ENDPOINTS_FILE), JSON.stringify(local));
    const env: NodeJS.ProcessEnv = { AWS_ENDPOINT_URL_SQS: 'https://sqs.eu-west-1.amazonaws.com' };
    const before = { ...process.env };
    expect(targetFromLocalStack(dir, env)).toEqual({
      queueUrl: local.queueUrl,
      deadLetterQueueUrl: local.deadLetterQueueUrl,
      tableName: local.tableName,
      description: 'the local stack',
    });
    expect(env).toMatchObject({ AWS_ENDPOINT_URL_SQS: local.sqsEndpoint, AWS_ENDPOINT_URL_DYNAMODB: local.dynamodbEndpoint });
    expect(process.env).toEqual(before);
  });
});

describe('dedupeRecord (dynalite)', () => {
  test('numbers as numbers, strings as strings', async () => {
    const key = dedupeKey(sampleHookBody('message:send', { websiteId: WEBSITE_ID }));
    await putFailedRecord(key, 'message:send');
    const record = await dedupeRecord(db.client, db.tableName, key);
    expect(record).toMatchObject({ pk: key, status: 'FAILED', event: 'message:send', websiteId: WEBSITE_ID, failures: 5, claims: 5, leaseExpiresAt: 0, lastError: 'Error: CRM answered 502' });
    for (const [name, value] of Object.entries(record!)) {
      expect([name, typeof value]).toEqual([name, ['pk', 'status', 'event', 'websiteId', 'messageId', 'lastError'].includes(name) ? 'string' : 'number']);
    }
  });

  test('undefined for a key with no record', async () => {
    expect(await dedupeRecord(db.client, db.tableName, `v1:${'0'.repeat(64)}`)).toBeUndefined();
  });
});
