/**
 * The whole pipeline on one machine, over real HTTP: POST /hooks/crisp (the local API Gateway
 * and the deployed receiver code) → the SQS emulator → the local event source (poller) → the
 * deployed consumer handler → the DynamoDB emulator, all through the real AWS SDK. What an
 * operator sees is asserted: one `crisp event processed` line with `duplicate: false` per
 * distinct event, however many times and however concurrently it is delivered.
 *
 * The queue's visibility timeout is 1 s and its maximum receives 2, so retries and the
 * dead-letter queue are reached within seconds.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GetQueueAttributesCommand, type Message, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { opensslHmacSha256 } from '../support/openssl';
import { interceptStdout, parseJsonLines } from '../support/stdout';
import { FIXTURE_LINE } from '../fixtures/handlers/recording';
const RECORDING_HANDLERS = path.join(__dirname, '..', 'fixtures', 'handlers', 'recording.ts');

const WEBSITE_ID = '9b1f4c2e-6a7d-4e3b-8c5f-1d2e3f4a5b6c';
const HOOK_SECRET = 'e2e-pipeline-hook-secret-7f3a91c0d4';
const WAIT_MS = 10_000;

let stack: LocalStack;
let stateDir: string;
const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;
const gatewayLog: Array<Record<string, unknown>> = [];
let signatureChecked = false;

beforeAll(async () => {
  interceptStdout(stdoutChunks);
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-e2e-pipeline-'));
  stack = await startLocalStack({
    port: 0,
    stateDir,
    consumer: true,
    handlers: RECORDING_HANDLERS, // the tests' own module, never the example users edit
    visibilityTimeoutSeconds: 1,
    maxReceiveCount: 2,
    hookSecret: HOOK_SECRET,
    websiteId: WEBSITE_ID,
    log: (line) => gatewayLog.push(line),
  });
});

afterAll(async () => {
  await stack?.close();
  process.stdout.write = originalWrite;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Every JSON line the functions wrote to stdout so far. */
function logs(): Array<Record<string, any>> {
  return parseJsonLines(stdoutChunks.join(''));
}

const processedLines = (key: string) => logs().filter((line) => line.message === 'crisp event processed' && line.dedupeKey === key);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true, for up to `timeoutMs`; fails with `what` otherwise. */
async function waitFor(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A signed sample hook, as `npm run hook` sends it. The first one's signature is checked against openssl. */
function signedHook(event: string, attempt = 1, body = sampleHookBody(event, { websiteId: WEBSITE_ID })) {
  const timestamp = String(JSON.parse(body).timestamp);
  const headers = hookHeaders({ body, timestamp, attempt, attemptLimit: 3, secret: HOOK_SECRET });
  if (!signatureChecked) {
    expect(headers['x-crisp-signature']).toBe(opensslHmacSha256(HOOK_SECRET, `[${timestamp};${body}]`));
    signatureChecked = true;
  }
  return { body, headers };
}

async function postHook(hook: { body: string; headers: Record<string, string> }): Promise<number> {
  const res = await fetch(`${stack.url}/hooks/crisp`, { method: 'POST', headers: hook.headers, body: hook.body });
  const text = await res.text();
  expect({ status: res.status, text }).toEqual({ status: 200, text: JSON.stringify({ ok: true }) });
  return res.status;
}

async function queueDepth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const out = await stack.sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? NaN), inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? NaN) };
}

/** Waits until the hook queue holds nothing, visible or in flight, then checks a receive gets nothing. */
async function expectQueueDrained(): Promise<void> {
  await waitFor('an empty hook queue', async () => {
    const depth = await queueDepth(stack.sqs.queueUrl);
    return depth.visible === 0 && depth.inFlight === 0;
  });
  const out = await stack.sqs.client.send(new ReceiveMessageCommand({ QueueUrl: stack.sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  expect(out.Messages ?? []).toEqual([]);
}

/** Processed lines for `key`: exactly one `duplicate: false` and `duplicates` `duplicate: true`, stable past a visibility timeout. */
async function expectProcessedOnce(key: string, duplicates: number): Promise<Array<Record<string, any>>> {
  await waitFor(`${1 + duplicates} processed lines for ${key}`, () => processedLines(key).length >= 1 + duplicates);
  await sleep(1_200); // longer than the visibility timeout: a stray redelivery would show up
  const lines = processedLines(key);
  expect(lines.filter((line) => line.duplicate === false)).toHaveLength(1);
  expect(lines.filter((line) => line.duplicate === true)).toHaveLength(duplicates);
  expect(lines).toHaveLength(1 + duplicates);
  return lines;
}

// ---------------------------------------------------------------------------------------------

describe('from POST /hooks/crisp to the processed log line', () => {
  test('one signed hook: exactly one "crisp event processed" line, duplicate false, with event, website, key and attempt', async () => {
    const hook = signedHook('message:send', 1);
    const key = dedupeKey(hook.body);
    await postHook(hook);
    const [line] = await expectProcessedOnce(key, 0);
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'crisp event processed',
      event: 'message:send',
      website_id: WEBSITE_ID,
      dedupeKey: key,
      attempt: 1,
      receiveCount: 1,
      duplicate: false,
      requestId: expect.any(String),
      messageId: expect.any(String),
      EventProcessed: 1,
    });
    // Crisp's attempt limit is on the receiver's "hook accepted" line and in the dedupe record, not repeated here.
    expect(line).not.toHaveProperty('attemptLimit');
    // The handler ran, once.
    expect(logs().filter((entry) => entry.message === FIXTURE_LINE && entry.dedupeKey === key)).toHaveLength(1);
    await expectQueueDrained();
  });

  test('the same hook delivered 3 times (attempts 1, 2, 3, one after the other): one processed line and two duplicates', async () => {
    const body = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
    const key = dedupeKey(body);
    for (const attempt of [1, 2, 3]) await postHook(signedHook('message:send', attempt, body));
    const lines = await expectProcessedOnce(key, 2);
    expect(lines.map((line) => line.attempt).sort()).toEqual([1, 2, 3]);
    expect(new Set(lines.map((line) => line.messageId)).size).toBe(3);
    expect(logs().filter((entry) => entry.message === FIXTURE_LINE && entry.dedupeKey === key)).toHaveLength(1);
    await expectQueueDrained();
  });

  test('the same hook delivered 3 times concurrently: one processed line and two duplicates', async () => {
    const body = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
    const key = dedupeKey(body);
    await Promise.all([1, 2, 3].map((attempt) => postHook(signedHook('message:send', attempt, body))));
    const lines = await expectProcessedOnce(key, 2);
    expect(lines.map((line) => line.attempt).sort()).toEqual([1, 2, 3]);
    expect(logs().filter((entry) => entry.message === FIXTURE_LINE && entry.dedupeKey === key)).toHaveLength(1);
    await expectQueueDrained();
  });

  test('byte variants of one signed hook (re-spelt numbers, whitespace, escapes, a repeated key, 1e400 for a signed null): one processed line, the rest duplicates', async () => {
    // Signed the way Crisp's Node library signs: over the compact form. An attacker who captured
    // it re-sends it, within the freshness window, with the same signature and other bytes.
    const base = JSON.parse(sampleHookBody('message:send', { websiteId: WEBSITE_ID })) as Record<string, any>;
    base.data.meta = null;
    const signedText = JSON.stringify(base);
    const timestamp = String(base.timestamp);
    const signature = opensslHmacSha256(HOOK_SECRET, `[${timestamp};${signedText}]`);
    const ts = String(base.timestamp);
    const fp = String(base.data.fingerprint);
    const variants = [
      signedText,
      signedText.replaceAll(`"timestamp":${ts}`, `"timestamp":${ts}.0`),
      signedText.replace(`"fingerprint":${fp}`, `"fingerprint":${fp}0e-1`),
      signedText.replace(`"fingerprint":${fp}`, `"fingerprint":${fp}.000E+0`),
      JSON.stringify(base, null, 2),
      signedText.replace('"message:send"', '"message\\u003asend"').replace('Hi!', 'H\\u0069!'),
      signedText.replace('{"website_id":', '{"website_id":"someone-else","website_id":'),
      signedText.replace('"meta":null', '"meta":1e400'),
    ];
    expect(new Set(variants).size).toBe(variants.length);
    const headers = { 'content-type': 'application/json', 'x-crisp-request-timestamp': timestamp, 'x-crisp-signature': signature };
    for (const body of variants) await postHook({ body, headers });
    const key = dedupeKey(signedText);
    await expectProcessedOnce(key, variants.length - 1);
    const accepted = logs().filter((line) => line.message === 'hook accepted' && line.dedupeKey === key);
    expect(accepted).toHaveLength(variants.length);
    await expectQueueDrained();
  });

  test('20 distinct events sent concurrently: 20 processed lines, none a duplicate, and the queue empty afterwards', async () => {
    const events = ['message:send', 'message:received', 'session:set_email', 'session:set_nickname', 'session:set_data', 'people:profile:created'];
    const hooks = Array.from({ length: 20 }, (_, i) => signedHook(events[i % events.length]!, 1));
    const keys = hooks.map((hook) => dedupeKey(hook.body));
    expect(new Set(keys).size).toBe(20);
    await Promise.all(hooks.map(postHook));
    await waitFor('20 processed lines', () => keys.every((key) => processedLines(key).length >= 1));
    await sleep(1_200);
    for (const [index, key] of keys.entries()) {
      expect(processedLines(key)).toEqual([
        expect.objectContaining({ duplicate: false, event: events[index % events.length], website_id: WEBSITE_ID, attempt: 1 }),
      ]);
    }
    await expectQueueDrained();
    expect(await queueDepth(stack.sqs.deadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });

  test('a message the consumer can never decode reaches the dead-letter queue after 2 receives, while the events around it are processed', async () => {
    const poisonBody = `not json ${randomUUID()}`;
    const sent = await stack.sqs.client.send(
      new SendMessageCommand({
        QueueUrl: stack.sqs.queueUrl,
        MessageBody: poisonBody,
        MessageAttributes: {
          event: { DataType: 'String', StringValue: 'message:send' },
          websiteId: { DataType: 'String', StringValue: WEBSITE_ID },
        },
      }),
    );
    const poisonId = sent.MessageId!;
    const hooks = ['message:send', 'session:set_email', 'message:received'].map((event) => signedHook(event, 1));
    await Promise.all(hooks.map(postHook));

    const invalid = () => logs().filter((line) => line.message === 'invalid queue message' && line.messageId === poisonId);
    await waitFor('the poison message to be received twice', () => invalid().length >= 2);
    expect(invalid().map((line) => [line.level, line.problem, line.receiveCount])).toEqual([
      ['ERROR', 'not_json', 1],
      ['ERROR', 'not_json', 2],
    ]);
    for (const hook of hooks) expect(processedLines(dedupeKey(hook.body))).toEqual([expect.objectContaining({ duplicate: false })]);

    const deadLetters: Message[] = [];
    await waitFor('the poison message in the dead-letter queue', async () => {
      const out = await stack.sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: stack.sqs.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
      );
      deadLetters.push(...(out.Messages ?? []));
      return deadLetters.length > 0;
    });
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]!.Body).toBe(poisonBody);
    expect(deadLetters[0]!.MessageAttributes?.event?.StringValue).toBe('message:send');
    // Never handed to the consumer a third time.
    expect(invalid()).toHaveLength(2);
    await expectQueueDrained();
    for (const hook of hooks) expect(processedLines(dedupeKey(hook.body))).toHaveLength(1);
  });

  test('no log line carries message content, emails or the hook secret', () => {
    const all = stdoutChunks.join('') + JSON.stringify(gatewayLog);
    for (const forbidden of ['order #1042', "hasn't arrived", 'jane.doe+orders@example.com', '1Z999AA10123456784', HOOK_SECRET]) {
      expect(all).not.toContain(forbidden);
    }
    expect(logs().filter((line) => line.message === 'crisp event processed').length).toBeGreaterThanOrEqual(30);
  });
});
