/**
 * POST /hooks/crisp and /hooks/crisp/website end to end over real HTTP: the local API Gateway,
 * the deployed handler code, the Secrets Manager emulator and the SQS emulator, reached through
 * the real AWS SDK. The sample bodies and headers are the ones `npm run hook` sends; their
 * signatures are checked independently, with openssl, before they are sent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { opensslHmacSha256 } from '../support/openssl';
import { interceptStdout } from '../support/stdout';

const WEBSITE_ID = '5d1c7a3e-2f4b-4c8d-9e6a-0b1f2a3c4d5e';
const HOOK_SECRET = 'e2e-hook-signing-secret-41c7f09ab2';
const WEBSITE_HOOK_KEY = 'e2e-website-hook-key-Zq83LmP0';

let stack: LocalStack;
let stateDir: string;
const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;
const gatewayLog: Array<Record<string, unknown>> = [];
/** Values that must never appear in a log line. */
const sensitive = new Set<string>([HOOK_SECRET, WEBSITE_HOOK_KEY, 'My order #1042']);

beforeAll(async () => {
  interceptStdout(stdoutChunks);
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-e2e-hooks-'));
  stack = await startLocalStack({
    port: 0,
    stateDir,
    hookSecret: HOOK_SECRET,
    websiteHookKey: WEBSITE_HOOK_KEY,
    websiteId: WEBSITE_ID,
    log: (line) => gatewayLog.push(line),
  });
});

afterAll(async () => {
  await stack?.close();
  process.stdout.write = originalWrite;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** Takes every visible message off the hook queue (received, then deleted). */
async function drainQueue(): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await stack.sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: stack.sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return all;
    for (const message of messages) {
      await stack.sqs.client.send(new DeleteMessageCommand({ QueueUrl: stack.sqs.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    all.push(...messages);
  }
}

const attributesOf = (message: Message): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));

/** A sample hook as `npm run hook` builds it, with its signature checked against openssl. */
function sampleHook(event: string, options: { attempt?: number; timestamp?: string; body?: string; website?: boolean } = {}) {
  const body = options.body ?? sampleHookBody(event, { websiteId: WEBSITE_ID });
  const timestamp = options.timestamp ?? String(JSON.parse(body).timestamp);
  const headers = hookHeaders({ body, timestamp, attempt: options.attempt ?? 1, attemptLimit: 3, secret: options.website ? undefined : HOOK_SECRET });
  if (options.website) {
    expect(headers['x-crisp-signature']).toBeUndefined();
  } else {
    const expected = opensslHmacSha256(HOOK_SECRET, `[${timestamp};${body}]`);
    expect(headers['x-crisp-signature']).toBe(expected);
    sensitive.add(expected);
  }
  return { body, timestamp, headers };
}

async function post(pathAndQuery: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(stack.url + pathAndQuery, { method: 'POST', headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

beforeEach(async () => {
  await drainQueue();
});

describe('POST /hooks/crisp (Plugin Hooks) over HTTP', () => {
  test('a signed sample hook: 200 {ok:true}, and the message sits in the local queue with its attributes', async () => {
    const { body, headers } = sampleHook('message:send', { attempt: 1 });
    const before = Date.now();
    const answer = await post('/hooks/crisp', body, headers);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true });

    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Body).toBe(body);
    const attributes = attributesOf(messages[0]!);
    expect(attributes).toEqual({
      event: 'message:send',
      websiteId: WEBSITE_ID,
      hookKind: 'plugin',
      receivedAt: expect.any(String),
      deliveryAttempt: '1',
      deliveryAttemptLimit: '3',
      hookOrigin: 'plugin/rtm local development',
    });
    expect(Number(attributes.receivedAt)).toBeGreaterThanOrEqual(before);
    expect(Number(attributes.receivedAt)).toBeLessThanOrEqual(Date.now());
  });

  test('the same hook with one changed byte: 401 signature_mismatch, and nothing new in the queue', async () => {
    const { body, headers } = sampleHook('message:send');
    const tampered = body.replace('#1042', '#1043');
    expect(tampered).not.toBe(body);
    expect(Buffer.byteLength(tampered)).toBe(Buffer.byteLength(body));
    const answer = await post('/hooks/crisp', tampered, headers);
    expect(answer.status).toBe(401);
    expect(answer.json.error.code).toBe('signature_mismatch');
    expect(await drainQueue()).toEqual([]);

    // The untampered one still goes through.
    expect((await post('/hooks/crisp', body, headers)).status).toBe(200);
    expect((await drainQueue()).map((m) => m.Body)).toEqual([body]);
  });

  test('a hook signed with another secret: 401, nothing queued', async () => {
    const body = sampleHookBody('session:set_email', { websiteId: WEBSITE_ID });
    const timestamp = String(JSON.parse(body).timestamp);
    const headers = hookHeaders({ body, timestamp, attempt: 1, attemptLimit: 3, secret: 'not-the-secret' });
    expect(headers['x-crisp-signature']).toBe(opensslHmacSha256('not-the-secret', `[${timestamp};${body}]`));
    const answer = await post('/hooks/crisp', body, headers);
    expect(answer.status).toBe(401);
    expect(await drainQueue()).toEqual([]);
  });

  test('no signature: 401 signature_missing, nothing queued', async () => {
    const { body, headers } = sampleHook('message:send');
    const { 'x-crisp-signature': _omitted, ...unsigned } = headers;
    const answer = await post('/hooks/crisp', body, unsigned);
    expect(answer.status).toBe(401);
    expect(answer.json.error.code).toBe('signature_missing');
    expect(await drainQueue()).toEqual([]);
  });

  test('three redeliveries (attempts 1..3) of the same event: three 200s and three messages with the same body (dedupe is the consumer’s job)', async () => {
    const body = sampleHookBody('session:set_email', { websiteId: WEBSITE_ID });
    const statuses: number[] = [];
    for (const attempt of [1, 2, 3]) {
      const { headers } = sampleHook('session:set_email', { body, attempt });
      statuses.push((await post('/hooks/crisp', body, headers)).status);
    }
    expect(statuses).toEqual([200, 200, 200]);
    const messages = await drainQueue();
    expect(messages.map((m) => m.Body)).toEqual([body, body, body]);
    expect(messages.map((m) => attributesOf(m).deliveryAttempt).sort()).toEqual(['1', '2', '3']);
    expect(messages.every((m) => attributesOf(m).event === 'session:set_email')).toBe(true);
  });

  test('a stale hook (two hours old), correctly signed: 401 stale_timestamp, nothing queued', async () => {
    const old = Date.now() - 2 * 3600 * 1000;
    const body = sampleHookBody('message:received', { websiteId: WEBSITE_ID, timestampMs: old });
    const { headers } = sampleHook('message:received', { body, timestamp: String(old) });
    const answer = await post('/hooks/crisp', body, headers);
    expect(answer.status).toBe(401);
    expect(answer.json.error.code).toBe('stale_timestamp');
    expect(await drainQueue()).toEqual([]);
  });
});

describe('POST /hooks/crisp/website?key=... (Website Hooks) over HTTP', () => {
  test('with the key: 200, queued as a Website Hook', async () => {
    const { body, headers } = sampleHook('people:profile:created', { website: true });
    const answer = await post(`/hooks/crisp/website?key=${encodeURIComponent(WEBSITE_HOOK_KEY)}`, body, headers);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ ok: true });
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.Body).toBe(body);
    expect(attributesOf(messages[0]!)).toMatchObject({ event: 'people:profile:created', websiteId: WEBSITE_ID, hookKind: 'website', deliveryAttempt: '1' });
  });

  test('with a wrong key: 401 key_mismatch; without one: 401 key_missing; nothing queued', async () => {
    const { body, headers } = sampleHook('people:profile:created', { website: true });
    const wrong = await post('/hooks/crisp/website?key=wrong-key', body, headers);
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('key_mismatch');
    const missing = await post('/hooks/crisp/website', body, headers);
    expect(missing.status).toBe(401);
    expect(missing.json.error.code).toBe('key_missing');
    expect(await drainQueue()).toEqual([]);
  });
});

describe('routing', () => {
  test.each([
    ['POST', '/hooks/crisp/unknown'],
    ['POST', '/hooks'],
    ['GET', '/hooks/crisp'],
  ])('%s %s: 404', async (method, route) => {
    const { body, headers } = sampleHook('message:send');
    const res = await fetch(stack.url + route, { method, headers: method === 'GET' ? {} : headers, body: method === 'GET' ? undefined : body });
    expect(res.status).toBe(404);
    expect(await drainQueue()).toEqual([]);
  });
});

describe('logs', () => {
  test('decisions are logged; no line holds the secret, the key, a signature or message content', () => {
    const lines = stdoutChunks.join('').split('\n').filter((line) => line.trim() !== '');
    const all = [...lines, ...gatewayLog.map((line) => JSON.stringify(line))];
    expect(lines.length).toBeGreaterThan(5);
    for (const line of all) {
      const lower = line.toLowerCase();
      const leaked = [...sensitive].filter((value) => lower.includes(value.toLowerCase()));
      expect({ line, leaked }).toEqual({ line, leaked: [] });
      expect(line).not.toContain('key=');
    }
    const parsed = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    expect(parsed).toContainEqual(expect.objectContaining({ message: 'hook accepted', event: 'message:send', website_id: WEBSITE_ID, attempt: 1 }));
    expect(parsed).toContainEqual(expect.objectContaining({ message: 'hook accepted', event: 'session:set_email', attempt: 3 }));
    expect(parsed).toContainEqual(expect.objectContaining({ message: 'hook rejected', reason: 'signature_mismatch' }));
    expect(parsed).toContainEqual(expect.objectContaining({ message: 'hook rejected', reason: 'key_mismatch' }));
  });
});
