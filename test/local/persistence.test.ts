/**
 * The local queues and the dedupe table survive a restart of the emulators (what `npm start`
 * does when restarted on the same `.local/`), checked through the real AWS SDK clients:
 * - the hook queue gives back every message, the one in flight when the emulator stopped
 *   included (visible again, its receive count kept), bodies and attributes unchanged; the
 *   dead-letter queue keeps its message; the dedupe table keeps its records;
 * - changes reach the state file without a close (debounced), written atomically;
 * - a corrupt state file (or LevelDB folder) is moved aside, with a warning, and the emulator
 *   starts empty; a LevelDB folder in use by another emulator is refused;
 * - without `stateFile`/`path`, nothing is written.
 */
import { GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
// The modules themselves (not namespace copies), so that the spies below see the code's calls.
import fs = require('node:fs');
import fsPromises = require('node:fs/promises');
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { type SqsEmulator, startSqsEmulator } from '../../scripts/local/emulators/sqs';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'crisp-bridge-persistence-'));
  dirs.push(dir);
  return dir;
}

const running: Array<{ close(): Promise<void> }> = [];
async function started<T extends { close(): Promise<void> }>(emulator: Promise<T>): Promise<T> {
  const value = await emulator;
  running.push(value);
  return value;
}
async function stop(emulator: { close(): Promise<void> }): Promise<void> {
  running.splice(running.indexOf(emulator), 1);
  await emulator.close();
}

/** The `crisp-bridge: …` lines the code under test writes to stderr (captured, not printed). */
let stderr: string[];
beforeEach(() => {
  stderr = [];
  const write = process.stderr.write.bind(process.stderr);
  jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = String(chunk);
    if (!text.startsWith('crisp-bridge: ')) return write(chunk, ...rest); // e.g. the SDK's Node version notice
    stderr.push(text);
    return true;
  }) as typeof process.stderr.write);
});

afterEach(async () => {
  jest.restoreAllMocks();
  for (const emulator of running.splice(0).reverse()) await emulator.close();
});

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The state file once it satisfies `done` (saves are debounced): polled, up to 5 s. */
async function savedState(file: string, done: (state: { queues: Record<string, unknown[]> }) => boolean): Promise<any> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    let state: { queues: Record<string, unknown[]> } | undefined;
    try {
      state = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      state = undefined; // not written yet
    }
    if (state && done(state)) return state;
    if (Date.now() > deadline) throw new Error(`${file} did not reach the expected state within 5 s`);
    await sleep(50);
  }
}

/** The attributes the hook receiver sets, plus a binary one (kept as bytes). */
function hookAttributes(event: string, receivedAt: number): Record<string, MessageAttributeValue> {
  return {
    event: { DataType: 'String', StringValue: event },
    websiteId: { DataType: 'String', StringValue: '8c1f5e0a-5f3e-4a8b-9d4c-2b6f1e7a9c01' },
    hookKind: { DataType: 'String', StringValue: 'website' },
    receivedAt: { DataType: 'Number', StringValue: String(receivedAt) },
  };
}

const BODIES = [
  JSON.stringify({ event: 'message:send', data: { content: 'hello' }, timestamp: 1_700_000_000_000 }),
  JSON.stringify({ event: 'message:received', data: { content: 'ünïcødé, emoji 🎉, CJK 漢字, "quotes" \\ back' } }),
  '  not JSON at all: spaces kept\r\n\ttabs too  ',
];

/** Every message the queue gives (all attributes asked for), until it is empty. */
async function drain(client: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    if (Messages.length === 0) return all;
    all.push(...Messages);
  }
}

async function count(client: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(Attributes.ApproximateNumberOfMessages), inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
}

describe('restart on the same state', () => {
  it('keeps the hook queue (in-flight messages included), the dead letters and the dedupe records', async () => {
    const dir = tempDir();
    const stateFile = path.join(dir, 'sqs-state.json');
    const dbPath = path.join(dir, 'dynamodb');
    let sqs: SqsEmulator = await started(startSqsEmulator({ stateFile, visibilityTimeoutSeconds: 60 }));
    let db: DynamoDbEmulator = await started(startDynamoDbEmulator({ path: dbPath }));

    const sent = [];
    for (const [index, body] of BODIES.entries()) {
      const attributes = hookAttributes(['message:send', 'message:received', 'session:set_data'][index]!, 1_700_000_000_000 + index);
      if (index === 2) attributes.raw = { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 254, 255]) };
      const { MessageId } = await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: body, MessageAttributes: attributes }));
      sent.push({ id: MessageId!, body, attributes });
    }
    const firstRun = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: 1, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    const inFlight = firstRun.Messages?.[0];
    expect(inFlight?.Attributes?.ApproximateReceiveCount).toBe('1');
    const dead = '{"event":"message:send","poison":true}';
    const deadAttributes = hookAttributes('message:send', 1_700_000_000_999);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, MessageBody: dead, MessageAttributes: deadAttributes }));
    const records = [
      { pk: { S: 'v1:' + 'a'.repeat(64) }, status: { S: 'done' }, expiresAt: { N: '1900000000' } },
      { pk: { S: 'v1:' + 'b'.repeat(64) }, status: { S: 'in_progress' }, expiresAt: { N: '1900000123' } },
    ];
    for (const item of records) await db.client.send(new PutItemCommand({ TableName: db.tableName, Item: item }));
    expect(await count(sqs.client, sqs.queueUrl)).toEqual({ visible: 2, inFlight: 1 });

    await stop(sqs);
    await stop(db);
    sqs = await started(startSqsEmulator({ stateFile, visibilityTimeoutSeconds: 60 }));
    db = await started(startDynamoDbEmulator({ path: dbPath }));

    // The message in flight is visible again: its consumer is gone.
    expect(await count(sqs.client, sqs.queueUrl)).toEqual({ visible: 3, inFlight: 0 });
    const received = await drain(sqs.client, sqs.queueUrl);
    expect(received.map((message) => message.MessageId).sort()).toEqual(sent.map((message) => message.id).sort());
    for (const message of received) {
      const original = sent.find((candidate) => candidate.id === message.MessageId)!;
      expect(message.Body).toBe(original.body);
      expect(message.MessageAttributes).toEqual(original.attributes);
      // The SDK checks MD5OfBody and MD5OfMessageAttributes itself; both survived as well.
      expect(message.Attributes?.ApproximateReceiveCount).toBe(message.MessageId === inFlight?.MessageId ? '2' : '1');
      expect(Number(message.Attributes?.SentTimestamp)).toBeLessThanOrEqual(Date.now());
    }
    const again = received.find((message) => message.MessageId === inFlight?.MessageId)!;
    expect(again.Attributes?.SentTimestamp).toBe(inFlight?.Attributes?.SentTimestamp);
    expect(again.Attributes?.ApproximateFirstReceiveTimestamp).toBe(inFlight?.Attributes?.ApproximateFirstReceiveTimestamp);

    const deadLetters = await drain(sqs.client, sqs.deadLetterQueueUrl);
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]?.Body).toBe(dead);
    expect(deadLetters[0]?.MessageAttributes).toEqual(deadAttributes);

    const { Items = [] } = await db.client.send(new ScanCommand({ TableName: db.tableName }));
    expect(Items.sort((a, b) => a.pk!.S!.localeCompare(b.pk!.S!))).toEqual(records);
    expect(stderr).toEqual([]);
  });

  it('keeps counting receives toward the redrive policy across restarts', async () => {
    const stateFile = path.join(tempDir(), 'nested', 'folder', 'sqs-state.json');
    const options = { stateFile, maxReceiveCount: 2, visibilityTimeoutSeconds: 60 };
    let sqs = await started(startSqsEmulator(options));
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'poison' }));
    for (let receive = 1; receive <= 2; receive++) {
      expect(await drain(sqs.client, sqs.queueUrl)).toHaveLength(1); // received, left in flight
      await stop(sqs);
      sqs = await started(startSqsEmulator(options));
    }
    // Third receive > maxReceiveCount 2: fauxqs moves it to the DLQ.
    expect(await drain(sqs.client, sqs.queueUrl)).toEqual([]);
    const [dead] = await drain(sqs.client, sqs.deadLetterQueueUrl);
    expect(dead?.Body).toBe('poison');
    expect(Number(dead?.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(3);
  });

  it('saves changes without a close, atomically', async () => {
    const stateFile = path.join(tempDir(), 'sqs-state.json');
    const sqs = await started(startSqsEmulator({ stateFile }));
    // Nothing changed yet: nothing written.
    expect(fs.existsSync(stateFile)).toBe(false);
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'kept without a close' }));
    const saved = await savedState(stateFile, (state) => state.queues['crisp-bridge-hooks']?.length === 1);
    expect(saved).toMatchObject({ format: 'crisp-bridge/sqs-state', version: 1 });
    expect(saved.queues['crisp-bridge-hooks']).toEqual([expect.objectContaining({ body: 'kept without a close', approximateReceiveCount: 0 })]);
    expect(saved.queues['crisp-bridge-hooks-dlq']).toEqual([]);
    expect(fs.readdirSync(path.dirname(stateFile))).toEqual(['sqs-state.json']);
    // Hook bodies are customer data: readable by the owner only.
    expect(fs.statSync(stateFile).mode & 0o777).toBe(0o600);

    // A consumer deleting it: saved too.
    const [message] = await drain(sqs.client, sqs.queueUrl);
    await sqs.client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: message!.ReceiptHandle }));
    expect((await savedState(stateFile, (state) => state.queues['crisp-bridge-hooks']?.length === 0)).queues['crisp-bridge-hooks']).toEqual([]);
  });
});

describe('a state that cannot be used', () => {
  it.each([
    ['not JSON', '{"format":"crisp-bridge/sqs-state","version":1,"queues":{"crisp-br'],
    ['another version', JSON.stringify({ format: 'crisp-bridge/sqs-state', version: 99, queues: {} })],
    ['another format', JSON.stringify([1, 2, 3])],
    ['a bad message', JSON.stringify({ format: 'crisp-bridge/sqs-state', version: 1, queues: { 'crisp-bridge-hooks': [{ body: 'no id' }] } })],
  ])('SQS state file (%s): moved aside with a warning; the emulator starts empty', async (_case, content) => {
    const dir = tempDir();
    const stateFile = path.join(dir, 'sqs-state.json');
    fs.writeFileSync(stateFile, content);
    const sqs = await started(startSqsEmulator({ stateFile }));
    expect(await count(sqs.client, sqs.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect(await count(sqs.client, sqs.deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^sqs-state\.json\.corrupt-\d{4}-\d\d-\d\dT[\d-]+Z$/);
    expect(fs.readFileSync(path.join(dir, files[0]!), 'utf8')).toBe(content);
    expect(stderr.join('')).toContain(`${stateFile}: not a usable SQS emulator state`);
    expect(stderr.join('')).toContain('moved aside');

    // The emulator works, and saves a fresh state.
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'fresh' }));
    await stop(sqs);
    expect(JSON.parse(fs.readFileSync(stateFile, 'utf8')).queues['crisp-bridge-hooks']).toEqual([expect.objectContaining({ body: 'fresh' })]);
  });

  it('DynamoDB folder LevelDB cannot read: moved aside with a warning; the table starts empty', async () => {
    const dir = tempDir();
    const dbPath = path.join(dir, 'dynamodb');
    fs.mkdirSync(dbPath);
    fs.writeFileSync(path.join(dbPath, 'CURRENT'), 'MANIFEST-garbage\n');
    const db = await started(startDynamoDbEmulator({ path: dbPath }));
    expect((await db.client.send(new ScanCommand({ TableName: db.tableName }))).Items).toEqual([]);
    const aside = fs.readdirSync(dir).filter((name) => name.startsWith('dynamodb.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, aside[0]!, 'CURRENT'), 'utf8')).toBe('MANIFEST-garbage\n');
    expect(stderr.join('')).toContain(`${dbPath}: not a readable DynamoDB emulator database`);
  });

  it('DynamoDB folder in use by another emulator: refused, and the running one is untouched', async () => {
    const dbPath = path.join(tempDir(), 'dynamodb');
    const db = await started(startDynamoDbEmulator({ path: dbPath }));
    await db.client.send(new PutItemCommand({ TableName: db.tableName, Item: { pk: { S: 'kept' }, status: { S: 'done' } } }));
    await expect(startDynamoDbEmulator({ path: dbPath })).rejects.toThrow(/in use by another process/);
    const { Item } = await db.client.send(new GetItemCommand({ TableName: db.tableName, Key: { pk: { S: 'kept' } } }));
    expect(Item?.status?.S).toBe('done');
  });
});

describe('without a state location', () => {
  it('writes nothing, and a restart starts empty (as before)', async () => {
    const writes: string[] = [];
    const record = (name: string) => (...args: unknown[]) => {
      writes.push(`${name} ${String(args[0])}`);
    };
    const original = { open: fsPromises.open, mkdir: fsPromises.mkdir, rename: fsPromises.rename, writeFile: fsPromises.writeFile };
    jest.spyOn(fsPromises, 'open').mockImplementation((async (file: fs.PathLike, flags?: string | number, ...rest: unknown[]) => {
      if (flags !== undefined && flags !== 'r') record('open')(file);
      return (original.open as (...a: unknown[]) => Promise<fsPromises.FileHandle>)(file, flags, ...rest);
    }) as typeof fsPromises.open);
    for (const name of ['mkdir', 'rename', 'writeFile'] as const) {
      jest.spyOn(fsPromises, name).mockImplementation((async (...args: unknown[]) => {
        record(name)(...args);
        return (original[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      }) as never);
    }
    for (const name of ['writeFileSync', 'renameSync', 'mkdirSync'] as const) jest.spyOn(fs, name).mockImplementation(record(name) as never);

    let sqs = await started(startSqsEmulator());
    let db = await started(startDynamoDbEmulator());
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'in memory', MessageAttributes: hookAttributes('message:send', 1) }));
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, MessageBody: 'in memory too' }));
    await db.client.send(new PutItemCommand({ TableName: db.tableName, Item: { pk: { S: 'k' }, status: { S: 'done' } } }));
    await drain(sqs.client, sqs.queueUrl);
    await sleep(400);
    await stop(sqs);
    await stop(db);
    expect(writes).toEqual([]);

    sqs = await started(startSqsEmulator());
    db = await started(startDynamoDbEmulator());
    expect(await count(sqs.client, sqs.queueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect(await count(sqs.client, sqs.deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
    expect((await db.client.send(new ScanCommand({ TableName: db.tableName }))).Items).toEqual([]);

    // The spies do see the emulators' writes when there is somewhere to write.
    const dir = tempDir();
    const persisted = await started(startSqsEmulator({ stateFile: path.join(dir, 'sqs-state.json') }));
    await stop(persisted);
    expect(writes).toEqual(expect.arrayContaining([`rename ${path.join(dir, 'sqs-state.json.tmp')}`]));
  });
});
