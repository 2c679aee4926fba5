/**
 * Faults, each with a verdict, over real HTTP against the local stack: the AWS services cut off
 * behind fault proxies (connections reset) and brought back, a consumer killed mid-batch, a
 * poison event. The promise under test: a hook is either acknowledged (2xx) and then processed
 * exactly once, or refused (503) so that Crisp retries it; a wrong signature is never accepted.
 *
 * The queue's visibility timeout is 1 s and its maximum receives 3, so retries, lease expiry
 * and the dead-letter queue are reached within seconds. "Processed" is read from what an
 * operator reads: the `crisp event processed` lines, counted by dedupe key.
 *
 * The handler modules read their configuration (and build their AWS clients) once, at cold
 * start, like Lambda: each stack below starts after `jest.resetModules()`, so its functions
 * start cold against its own emulators.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { createDynamoDbClient, dynamoDbDedupeStore } from '../../functions/commons/aws/dynamodb-dedupe-store';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { signHook } from '../../functions/commons/core/hook-signature';
import { createLogger } from '../../functions/commons/logger';
import { processBatch } from '../../functions/consumer/process-batch';
import { defineHandlers } from '../../functions/consumer/registry';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { type Poller, type SqsHandler, startPoller } from '../../scripts/local/sqs-poller';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../scripts/local/stack';
import { opensslHmacSha256 } from '../support/openssl';
import { interceptStdout, parseJsonLines } from '../support/stdout';
import { FIXTURE_LINE } from '../fixtures/handlers/recording';
import { createConsumerHandler } from '../../functions/consumer/create-handler';
const RECORDING_HANDLERS = path.join(__dirname, '..', 'fixtures', 'handlers', 'recording.ts');

const ROOT = path.join(__dirname, '..', '..');
const WEBSITE_ID = '3c6d2f1a-8b4e-4f7a-9d2c-5e1f0a9b8c7d';
const HOOK_SECRET = 'e2e-faults-hook-secret-4b8e02d1c7';
const WRONG_SECRET = 'e2e-faults-not-the-hook-secret-91aa';
const MAX_RECEIVE_COUNT = 3;
/** A reply to a hook must come within this, whatever is down (Crisp gives up on slow endpoints). */
const REPLY_WITHIN_MS = 5_000;
const WAIT_MS = 10_000;

const BASE_OPTIONS: LocalStackOptions = {
  port: 0,
  faultInjection: true,
  consumer: true,
    handlers: RECORDING_HANDLERS, // the tests' own module, never the example users edit
  visibilityTimeoutSeconds: 1,
  maxReceiveCount: MAX_RECEIVE_COUNT,
  consumerTimeoutMs: 2_000,
  functionEnv: { LEASE_MARGIN_MS: '500' },
  hookSecret: HOOK_SECRET,
  websiteId: WEBSITE_ID,
};

const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;
const stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-e2e-faults-'));
const stacks: LocalStack[] = [];

/** A stack whose functions start cold (fresh module registry), closed after the file. */
async function coldStack(options: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  jest.resetModules();
  const stack = await startLocalStack({
    ...BASE_OPTIONS,
    stateDir,
    ...options,
    functionEnv: { ...BASE_OPTIONS.functionEnv, ...options.functionEnv },
  });
  stacks.push(stack);
  return stack;
}

beforeAll(() => {
  interceptStdout(stdoutChunks);
});

afterAll(async () => {
  for (const stack of stacks) await stack.close();
  process.stdout.write = originalWrite;
  rmSync(stateDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Every JSON line written to stdout so far (the functions log there). */
function logs(): Array<Record<string, any>> {
  return parseJsonLines(stdoutChunks.join(''));
}

const linesFor = (message: string, key: string) => logs().filter((line) => line.message === message && line.dedupeKey === key);
const processedLines = (key: string) => linesFor('crisp event processed', key);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

interface Hook {
  body: string;
  headers: Record<string, string>;
  key: string;
}

let signatureChecked = false;

/** A signed sample hook, as Crisp sends it; the first signature is checked against openssl. */
function signedHook(event: string, attempt = 1, body = sampleHookBody(event, { websiteId: WEBSITE_ID })): Hook {
  const timestamp = String(JSON.parse(body).timestamp);
  const headers = hookHeaders({ body, timestamp, attempt, attemptLimit: 3, secret: HOOK_SECRET });
  if (!signatureChecked) {
    expect(headers['x-crisp-signature']).toBe(opensslHmacSha256(HOOK_SECRET, `[${timestamp};${body}]`));
    signatureChecked = true;
  }
  return { body, headers, key: dedupeKey(body) };
}

/** The same event signed with a secret that is not the hook secret. */
function wronglySigned(hook: Hook): Hook {
  const timestamp = hook.headers['x-crisp-request-timestamp']!;
  return { ...hook, headers: { ...hook.headers, 'x-crisp-signature': signHook(WRONG_SECRET, timestamp, hook.body) } };
}

interface Reply {
  status: number;
  json: any;
  ms: number;
}

async function post(stack: LocalStack, hook: Hook): Promise<Reply> {
  const started = Date.now();
  const res = await fetch(`${stack.url}/hooks/crisp`, { method: 'POST', headers: hook.headers, body: hook.body, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, ms: Date.now() - started };
}

async function expectAccepted(stack: LocalStack, hook: Hook): Promise<void> {
  const reply = await post(stack, hook);
  expect({ status: reply.status, json: reply.json }).toEqual({ status: 200, json: { ok: true } });
}

async function queueDepth(stack: LocalStack, queueUrl = stack.sqs.queueUrl): Promise<number> {
  const out = await stack.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? NaN) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? NaN);
}

/** Exactly one `duplicate: false` line per key and nothing else, stable past a visibility timeout. */
async function expectEachProcessedOnce(keys: string[]): Promise<Array<Record<string, any>>> {
  await waitFor(`${keys.length} events processed`, () => keys.every((key) => processedLines(key).length >= 1));
  await sleep(1_200); // longer than the visibility timeout: a stray redelivery would show up
  return keys.map((key) => {
    const lines = processedLines(key);
    expect(lines).toEqual([expect.objectContaining({ duplicate: false, EventProcessed: 1 })]);
    return lines[0]!;
  });
}

interface DedupeRecord {
  status?: string;
  owner?: string;
  leaseExpiresAt?: number;
  claims?: number;
  failures?: number;
  claimedAt?: number;
  firstClaimedAt?: number;
  completedAt?: number;
}

async function dedupeRecord(stack: LocalStack, key: string): Promise<DedupeRecord | undefined> {
  const out = await stack.dynamodb.client.send(new GetItemCommand({ TableName: stack.dynamodb.tableName, Key: { pk: { S: key } }, ConsistentRead: true }));
  if (!out.Item) return undefined;
  const record: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(out.Item)) {
    if (value.S !== undefined) record[name] = value.S;
    else if (value.N !== undefined) record[name] = Number(value.N);
  }
  return record as DedupeRecord;
}

// ---------------------------------------------------------------------------------------------

describe('AWS services unreachable, with the consumer running', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    // Secrets re-read every second, so that during the secrets outage below a re-read is due.
    stack = await coldStack({ functionEnv: { SECRET_REFRESH_SECONDS: '1' } });
    // Warm up: cold starts done, the hook secret cached.
    const warmUp = signedHook('message:send');
    await expectAccepted(stack, warmUp);
    await waitFor('the warm-up event processed', () => processedLines(warmUp.key).length === 1);
  });

  test('the queue is unreachable: every hook gets a quick 503 (never 2xx) meanwhile; resent after recovery, each is processed exactly once', async () => {
    const hooks = Array.from({ length: 5 }, () => signedHook('message:send'));
    stack.faults!.sqs.cut();
    const refused: Reply[] = [];
    try {
      // "For a while": three rounds of deliveries over about a second and a half.
      for (let round = 1; round <= 3; round++) {
        refused.push(...(await Promise.all(hooks.map((hook) => post(stack, signedHook('message:send', round, hook.body))))));
        await sleep(300);
      }
    } finally {
      stack.faults!.sqs.restore();
    }
    expect(refused).toHaveLength(15);
    for (const reply of refused) {
      expect({ status: reply.status, code: reply.json?.error?.code }).toEqual({ status: 503, code: 'queue_unavailable' });
      expect(reply.ms).toBeLessThan(REPLY_WITHIN_MS);
    }
    // Nothing was queued, so nothing was processed.
    expect(await queueDepth(stack)).toBe(0);
    for (const hook of hooks) expect(processedLines(hook.key)).toEqual([]);
    expect(logs().filter((line) => line.message === 'hook not accepted' && line.reason === 'queue_unavailable')).toHaveLength(15);

    // Crisp retries: the same events, attempt 4.
    await Promise.all(hooks.map((hook) => expectAccepted(stack, signedHook('message:send', 4, hook.body))));
    const lines = await expectEachProcessedOnce(hooks.map((hook) => hook.key));
    for (const line of lines) expect(line.attempt).toBe(4);
    expect(await queueDepth(stack)).toBe(0);
  });

  test('DynamoDB is unreachable: hooks are acknowledged but not processed, the batch is reported failed; after recovery each is processed once', async () => {
    const hooks = Array.from({ length: 5 }, () => signedHook('message:send'));
    const keys = hooks.map((hook) => hook.key);
    const unavailable = (key: string) => linesFor('crisp event not processed: dedupe store unavailable', key);
    stack.faults!.dynamodb.cut();
    try {
      // The receiver does not need DynamoDB: the queue takes the hooks.
      await Promise.all(hooks.map((hook) => expectAccepted(stack, hook)));
      // The consumer cannot claim them: each one fails and is left on the queue to retry.
      await waitFor('every event refused by the consumer', () => keys.every((key) => unavailable(key).length >= 1));
    } finally {
      // Restored before the maximum receives are used up (1 s per receive, 3 receives).
      stack.faults!.dynamodb.restore();
    }
    for (const key of keys) {
      expect(processedLines(key)).toEqual([]);
      expect(unavailable(key)[0]).toMatchObject({ level: 'ERROR', receiveCount: 1, willRetry: true, deadLetter: false, EventRetried: 1 });
    }
    const lines = await expectEachProcessedOnce(keys);
    for (const line of lines) expect(line.receiveCount).toBeGreaterThanOrEqual(2);
    expect(await queueDepth(stack)).toBe(0);
    expect(await queueDepth(stack, stack.sqs.deadLetterQueueUrl)).toBe(0);
  });

  test('the secrets store is unreachable after the secret was cached: hooks keep being accepted with the cached secret; a wrong signature is refused', async () => {
    stack.faults!.secretsManager.cut();
    try {
      await sleep(1_100); // the cached secret is now due for a re-read, which will fail
      const hooks = Array.from({ length: 3 }, () => signedHook('message:send'));
      for (const hook of hooks) {
        const reply = await post(stack, hook);
        expect({ status: reply.status, json: reply.json }).toEqual({ status: 200, json: { ok: true } });
        expect(reply.ms).toBeLessThan(REPLY_WITHIN_MS);
      }
      expect(logs().some((line) => line.message === 'secret refresh failed, serving the cached value' && line.reason === 'unreachable')).toBe(true);

      const forged = wronglySigned(signedHook('message:send'));
      const reply = await post(stack, forged);
      expect({ status: reply.status, code: reply.json?.error?.code }).toEqual({ status: 401, code: 'signature_mismatch' });

      await expectEachProcessedOnce(hooks.map((hook) => hook.key));
      expect(processedLines(forged.key)).toEqual([]);
    } finally {
      stack.faults!.secretsManager.restore();
    }
  });
});

describe('the secrets store unreachable at cold start', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await coldStack({ consumer: false });
    stack.faults!.secretsManager.cut();
  });

  afterAll(() => stack.faults!.secretsManager.restore());

  test('no secret at all: 503 secret_unavailable, quickly, and a wrong signature is never accepted either; once the store is back, 200 and 401', async () => {
    const genuine = signedHook('message:send');
    const forged = wronglySigned(signedHook('message:send'));
    for (const hook of [genuine, forged, genuine, forged]) {
      const reply = await post(stack, hook);
      expect({ status: reply.status, code: reply.json?.error?.code }).toEqual({ status: 503, code: 'secret_unavailable' });
      expect(reply.ms).toBeLessThan(REPLY_WITHIN_MS);
    }
    expect(await queueDepth(stack)).toBe(0);
    expect(logs().some((line) => line.message === 'secret unavailable' && line.reason === 'unreachable')).toBe(true);

    // Back: the next read (the store is asked again at most every 5 s) finds the secret.
    stack.faults!.secretsManager.restore();
    const seen: number[] = [];
    await waitFor(
      'the genuine hook accepted',
      async () => {
        const status = (await post(stack, signedHook('message:send', 2, genuine.body))).status;
        seen.push(status);
        if (status !== 200) await sleep(250);
        return status === 200;
      },
      8_000,
    );
    // Refusals (503) until the first acceptance.
    expect(seen.slice(0, -1).filter((status) => status !== 503)).toEqual([]);
    expect((await post(stack, forged)).status).toBe(401);
    expect(await queueDepth(stack)).toBe(1);
  }, 20_000);
});

describe('consumer failures', () => {
  let stack: LocalStack;
  let poller: Poller | undefined;

  beforeAll(async () => {
    stack = await coldStack({ consumer: false });
  });

  afterEach(async () => {
    if (!poller) return;
    await poller.stop();
    poller = undefined;
    // stop() aborts the poller's pending long poll on the client side only: the emulator may
    // still hand that poll a message (one receive spent, invisible for a visibility timeout).
    // Let the poll (1 s) run out before the next test sends anything.
    await sleep(1_200);
  });

  test('the consumer is killed mid-batch (claimed, not finished): the event is processed once, after its lease expired, by the next consumer', async () => {
    let workerOutput = '';
    // node with tsx's loader (what node_modules/.bin/tsx runs, minus its wrapper process): the
    // pid killed below is the consumer itself, not a wrapper whose child would live on.
    const worker: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'support', 'slow-consumer-worker.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        AWS_ENDPOINT_URL_SQS: stack.sqs.endpoint,
        AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodb.endpoint,
        QUEUE_URL: stack.sqs.queueUrl,
        QUEUE_ARN: stack.sqs.queueArn,
        DEDUPE_TABLE_NAME: stack.dynamodb.tableName,
        // A lease shorter than the visibility timeout, as on AWS (function timeout + margin < visibility).
        WORKER_TIMEOUT_MS: '300',
        LEASE_MARGIN_MS: '200',
        SLEEP_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => worker.once('exit', (code, signal) => resolve(signal ?? code)));
    worker.stdout!.setEncoding('utf8').on('data', (chunk: string) => (workerOutput += chunk));
    worker.stderr!.setEncoding('utf8').on('data', (chunk: string) => (workerOutput += chunk));

    let claimedByWorker: DedupeRecord | undefined;
    const hook = signedHook('message:send');
    try {
      await expectAccepted(stack, hook);
      await waitFor(
        'the worker to claim the event and start its handler',
        async () => {
          if (!workerOutput.includes('slow handler started')) return false;
          const record = await dedupeRecord(stack, hook.key);
          if (record?.status === 'IN_PROGRESS') claimedByWorker = record;
          return claimedByWorker !== undefined;
        },
        20_000,
      );
    } finally {
      worker.kill('SIGKILL');
    }
    expect(await exited).toBe('SIGKILL');
    expect(claimedByWorker).toMatchObject({ status: 'IN_PROGRESS', claims: 1, owner: expect.any(String), leaseExpiresAt: expect.any(Number) });
    expect(workerOutput).toContain('slow handler started');
    expect(workerOutput).not.toContain('slow handler finished');
    expect(workerOutput).not.toContain('crisp event processed');

    // The next consumer: the deployed handler code, fed by the local event source.
    poller = startPoller({
      client: stack.sqs.client,
      queueUrl: stack.sqs.queueUrl,
      queueArn: stack.sqs.queueArn,
      load: async () => createConsumerHandler(await import(RECORDING_HANDLERS)) as SqsHandler,
      timeoutMs: 2_000,
    });
    const [line] = await expectEachProcessedOnce([hook.key]);
    expect(Date.parse(line!.timestamp)).toBeGreaterThan(claimedByWorker!.leaseExpiresAt!);
    expect(line!.receiveCount).toBeGreaterThanOrEqual(2);
    // The message:send handler ran once.
    expect(linesFor(FIXTURE_LINE, hook.key)).toHaveLength(1);

    const record = await dedupeRecord(stack, hook.key);
    expect(record).toMatchObject({ status: 'COMPLETED', claims: 2, firstClaimedAt: claimedByWorker!.claimedAt });
    expect(record!.owner).not.toBe(claimedByWorker!.owner);
    expect(record!.claimedAt).toBeGreaterThan(claimedByWorker!.leaseExpiresAt!); // taken over only once the lease had run out
    expect(await queueDepth(stack)).toBe(0);
    expect(await queueDepth(stack, stack.sqs.deadLetterQueueUrl)).toBe(0);
  }, 30_000);

  test(`a poison event (its handler always throws) ends in the dead-letter queue after ${MAX_RECEIVE_COUNT} receives; the events around it are processed once`, async () => {
    const logger = createLogger({ dimensions: { service: 'consumer' } });
    const store = dynamoDbDedupeStore(createDynamoDbClient(), stack.dynamodb.tableName);
    const handlers = defineHandlers({
      'session:set_data': () => {
        throw new Error('poison: this handler always fails');
      },
      'message:send': async () => undefined,
    });
    const consumer: SqsHandler = (event: SQSEvent, context: Context) =>
      processBatch(event, {
        store,
        handlers,
        logger: logger.child({ requestId: context.awsRequestId }),
        now: Date.now,
        newOwner: randomUUID,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        ttlHours: 1,
        maxReceiveCount: MAX_RECEIVE_COUNT,
        leaseMarginMs: 500,
      });
    poller = startPoller({ client: stack.sqs.client, queueUrl: stack.sqs.queueUrl, queueArn: stack.sqs.queueArn, load: async () => consumer, timeoutMs: 2_000 });

    const poison = signedHook('session:set_data');
    const good = Array.from({ length: 5 }, () => signedHook('message:send'));
    await Promise.all([poison, ...good].map((hook) => expectAccepted(stack, hook)));

    const deadLetters: Message[] = [];
    await waitFor('the poison event in the dead-letter queue', async () => {
      const out = await stack.sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: stack.sqs.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
      );
      deadLetters.push(...(out.Messages ?? []));
      return deadLetters.length > 0;
    });
    await expectEachProcessedOnce(good.map((hook) => hook.key));

    expect(deadLetters).toHaveLength(1);
    const letter = deadLetters[0]!;
    const letterBody = letter.MessageAttributes?.bodyEncoding?.StringValue === 'base64' ? Buffer.from(letter.Body!, 'base64').toString('utf8') : letter.Body!;
    expect(dedupeKey(letterBody)).toBe(poison.key);

    const failed = linesFor('crisp event failed', poison.key);
    expect(failed.map((line) => line.receiveCount)).toEqual([1, 2, 3]);
    const retried = linesFor('crisp event will be retried', poison.key);
    expect(retried.map((line) => [line.willRetry, line.deadLetter, line.receiveCount])).toEqual([
      [true, false, 1],
      [true, false, 2],
    ]);
    // The last receive says where the event went instead of promising a retry.
    const deadLettered = linesFor('crisp event dead-lettered', poison.key);
    expect(deadLettered).toHaveLength(1);
    expect(deadLettered[0]).toMatchObject({ willRetry: false, deadLetter: true, by: 'max_receives', receiveCount: MAX_RECEIVE_COUNT });
    expect(processedLines(poison.key)).toEqual([]);
    expect(await dedupeRecord(stack, poison.key)).toMatchObject({ status: 'FAILED', failures: MAX_RECEIVE_COUNT, claims: MAX_RECEIVE_COUNT });
    for (const hook of good) expect(await dedupeRecord(stack, hook.key)).toMatchObject({ status: 'COMPLETED', claims: 1 });
    expect(await queueDepth(stack)).toBe(0);
  }, 30_000);
});
