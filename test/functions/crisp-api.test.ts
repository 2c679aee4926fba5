/**
 * `context.crisp` as deployed: the consumer cold-started with the environment the construct sets
 * for `crispApi: true` (CRISP_API_TOKEN_SECRET_ID, CRISP_API_URL), the plugin token read from the
 * Secrets Manager emulator, the dedupe table in DynamoDB (dynalite), and Crisp's REST API played by
 * the local stand-in (scripts/local/crisp-api-stub.ts) over real HTTP on loopback.
 *
 * What matters: a reply is posted exactly once per event whatever fails (the post answered 500
 * before or after Crisp stored it, the connection dropped, the handler failing after replying and
 * the event redelivered), the time left is honoured, 4xx is not retried, and neither the token nor
 * the reply's text reaches a log line.
 */
import type { Context } from 'aws-lambda';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { type CrispApiStub, startCrispApiStub } from '../../scripts/local/crisp-api-stub';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { batchOf, coldStartConsumer, failedIds as failed, sqsRecord } from '../support/consumer';
import { lambdaContext } from '../support/events';
import { captureLogger } from '../support/logs';
import type * as ReplyFixture from '../fixtures/handlers/crisp-reply';
import { captureTestStdout } from '../support/stdout';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const TOKEN = { identifier: '9f0c1e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f', key: 'b7e4c2a19d8f6e5c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c' };
const BASIC = Buffer.from(`${TOKEN.identifier}:${TOKEN.key}`).toString('base64');
/** Written out, not imported: the fixture's reply text. */
const REPLY_TEXT = 'Thanks for your message, an agent will answer shortly (fixture reply)';
const PLACEHOLDER = 'CRISP_BRIDGE_PLACEHOLDER: not set yet. Set the real value (see the stack outputs for the command).';
const NEVER_LOGGED = [TOKEN.key, TOKEN.identifier, BASIC, REPLY_TEXT, 'order #1042'];
const SECRETS = { token: 'crisp-bridge/crisp-api-token', unset: 'crisp-bridge/crisp-api-token-unset', wrong: 'crisp-bridge/crisp-api-token-wrong' };

let db: DynamoDbEmulator;
let sm: SecretsManagerEmulator;
let stub: CrispApiStub;
const stubLog = captureLogger();
const captured = captureTestStdout();
const { logs } = captured;
const savedEnv = { ...process.env };

beforeAll(async () => {
  db = await startDynamoDbEmulator();
  sm = await startSecretsManagerEmulator({
    [SECRETS.token]: JSON.stringify(TOKEN),
    [SECRETS.unset]: PLACEHOLDER,
    [SECRETS.wrong]: JSON.stringify({ identifier: TOKEN.identifier, key: 'not-the-key' }),
  });
  stub = await startCrispApiStub({ token: TOKEN, logger: stubLog.logger });
});
afterAll(async () => {
  process.env = { ...savedEnv };
  await stub?.close();
  await sm?.close();
  await db?.close();
  const all = captured.allText() + stubLog.lines.join('\n');
  for (const value of NEVER_LOGGED) expect(all).not.toContain(value);
});

beforeEach(() => {
  stub.reset();
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
});

function coldStart(env: Record<string, string | undefined> = {}) {
  return coldStartConsumer<typeof ReplyFixture>('crisp-reply', {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    DEDUPE_TABLE_NAME: db.tableName,
    DEDUPE_TTL_HOURS: '168',
    MAX_RECEIVE_COUNT: '5',
    CRISP_API_TOKEN_SECRET_ID: sm.arnOf(SECRETS.token),
    CRISP_API_URL: stub.url,
    ...env,
  });
}

const sample = (event = 'message:send') => sampleHookBody(event, { websiteId: WEBSITE_ID });
const sessionOf = (body: string) => (JSON.parse(body) as { data: { session_id: string } }).data.session_id;
/** Another visitor message in the same conversation (a different event). */
function nextMessage(body: string): string {
  const envelope = JSON.parse(body) as { timestamp: number; data: { fingerprint: number; timestamp: number } };
  envelope.timestamp += 1000;
  envelope.data.timestamp += 1000;
  envelope.data.fingerprint += 7;
  return JSON.stringify(envelope);
}

const apiLines = () => logs().filter((line) => line.message === 'crisp api call');
/** The stub's calls, as `METHOD route status`. */
const calls = () => stub.calls().map((call) => `${call.method} ${call.route.replace(/\/website\/[^/]+\/conversation\/[^/]+/, '{conversation}').replace(/\/message\/\d+$/, '/message/{fp}')} ${call.status}`);

/** A Lambda context whose remaining time runs down from `ms`. */
function contextWithDeadline(ms: number): Context {
  const deadline = Date.now() + ms;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => deadline - Date.now() } as Context;
}

describe('replies are sent exactly once', () => {
  it('a hook delivered three times, the first post answered 500 (not stored): one message', async () => {
    const { handler, fixture } = coldStart();
    const body = sample();
    stub.failNext(1, 500, { method: 'POST' });
    for (let delivery = 1; delivery <= 3; delivery += 1) {
      expect(failed(await handler(batchOf(sqsRecord(body, { attempt: delivery })), lambdaContext()))).toEqual([]);
    }
    const messages = stub.messages(WEBSITE_ID, sessionOf(body));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ type: 'text', from: 'operator', origin: 'chat', content: REPLY_TEXT, automated: true, user: { nickname: 'Bot' } });
    expect(calls()).toEqual(['GET {conversation}/message/{fp} 404', 'POST {conversation}/message 500', 'GET {conversation}/message/{fp} 404', 'POST {conversation}/message 202']);
    expect(fixture.runs).toEqual([{ dedupeKey: dedupeKey(body), sent: [{ fingerprint: messages[0]!.fingerprint, alreadySent: false }] }]);
  });

  it.each<[string, number | 'reset']>([
    ['answered 500', 500],
    ['cut off (connection reset)', 'reset'],
  ])('the post stored by Crisp but %s: found on the check before trying again, not posted twice', async (_name, status) => {
    const { handler, fixture } = coldStart();
    const body = sample();
    stub.failNext(1, status, { method: 'POST', afterApplying: true });
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(stub.messages(WEBSITE_ID, sessionOf(body))).toHaveLength(1);
    expect(calls()).toEqual([
      'GET {conversation}/message/{fp} 404',
      `POST {conversation}/message ${status === 'reset' ? 0 : 500}`,
      'GET {conversation}/message/{fp} 200',
    ]);
    expect(fixture.runs[0]!.sent).toEqual([{ fingerprint: expect.any(Number), alreadySent: true }]);
  });

  it('the handler fails after replying and the event is redelivered (receives 1, 2, 3): one message, posted once', async () => {
    const { handler, fixture } = coldStart();
    fixture.control.failAfterReply = 2;
    const body = sample();
    stub.failNext(1, 503, { method: 'POST' });
    const results = [];
    for (let receive = 1; receive <= 3; receive += 1) {
      const record = sqsRecord(body, { receiveCount: receive });
      results.push(failed(await handler(batchOf(record), lambdaContext())).length);
    }
    expect(results).toEqual([1, 1, 0]); // retried twice, then done
    const messages = stub.messages(WEBSITE_ID, sessionOf(body));
    expect(messages).toHaveLength(1);
    expect(stub.calls().filter((call) => call.method === 'POST' && call.status === 202)).toHaveLength(1);
    expect(fixture.runs.map((run) => run.sent)).toEqual([
      [{ fingerprint: messages[0]!.fingerprint, alreadySent: false }],
      [{ fingerprint: messages[0]!.fingerprint, alreadySent: true }],
      [{ fingerprint: messages[0]!.fingerprint, alreadySent: true }],
    ]);
    expect(logs().filter((line) => line.message === 'crisp reply already sent')).toHaveLength(2);
  });

  it('two replies in one run get distinct fingerprints; a retried run sends neither again', async () => {
    const { handler, fixture } = coldStart();
    fixture.control.replies = 2;
    fixture.control.failAfterReply = 1;
    const body = sample();
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toHaveLength(1);
    expect(failed(await handler(batchOf(sqsRecord(body, { receiveCount: 2 })), lambdaContext()))).toEqual([]);
    const messages = stub.messages(WEBSITE_ID, sessionOf(body));
    expect(messages).toHaveLength(2);
    expect(new Set(messages.map((message) => message.fingerprint)).size).toBe(2);
    expect(fixture.runs[1]!.sent.map((sent) => sent.alreadySent)).toEqual([true, true]);
    expect(fixture.runs[1]!.sent.map((sent) => sent.fingerprint)).toEqual(fixture.runs[0]!.sent.map((sent) => sent.fingerprint));
  });

  it('with a onceKey, two events of one conversation send one message; another conversation gets its own', async () => {
    const { handler, fixture } = coldStart();
    fixture.control.onceKey = 'welcome';
    const first = sample();
    const second = nextMessage(first);
    const elsewhere = sample();
    expect(dedupeKey(first)).not.toBe(dedupeKey(second));
    for (const body of [first, second, elsewhere]) expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(stub.messages(WEBSITE_ID, sessionOf(first))).toHaveLength(1);
    expect(stub.messages(WEBSITE_ID, sessionOf(elsewhere))).toHaveLength(1);
    expect(fixture.runs.map((run) => run.sent[0]!.alreadySent)).toEqual([false, true, false]);
  });
});

describe('retries and time', () => {
  it('429 is retried (backoff) until it passes: one message', async () => {
    const { handler } = coldStart();
    const body = sample();
    stub.failNext(2, 429, { method: 'POST' });
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(calls().filter((call) => call.startsWith('POST'))).toEqual(['POST {conversation}/message 429', 'POST {conversation}/message 429', 'POST {conversation}/message 202']);
    expect(stub.messages(WEBSITE_ID, sessionOf(body))).toHaveLength(1);
  });

  it.each([400, 403, 404])('%i is not retried: one post, a CrispApiError with Crisp\'s reason, the event retried later by SQS', async (status) => {
    const { handler, fixture } = coldStart();
    const body = sample();
    const record = sqsRecord(body);
    stub.failNext(1, status, { method: 'POST' });
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect(stub.calls().filter((call) => call.method === 'POST')).toHaveLength(1);
    expect(fixture.errors).toEqual([
      expect.objectContaining({ name: 'CrispApiError', status, reason: 'invalid_data', method: 'POST', route: `/website/${WEBSITE_ID}/conversation/${sessionOf(body)}/message`, retryable: false }),
    ]);
    expect(stub.messages(WEBSITE_ID, sessionOf(body))).toHaveLength(0);
  });

  it('a call that does not answer is cut off within the time left: the event is retried before the function would time out', async () => {
    const { handler, fixture } = coldStart();
    const body = sample();
    const record = sqsRecord(body);
    stub.delayNext(1, 8_000);
    const started = Date.now();
    expect(failed(await handler(batchOf(record), contextWithDeadline(5_000)))).toEqual([record.messageId]);
    const elapsed = Date.now() - started;
    // 5 s left, 3 s kept for the consumer: the one attempt gets 2 s, and no retry fits after it.
    expect(elapsed).toBeGreaterThanOrEqual(1_900);
    expect(elapsed).toBeLessThan(5_000); // before the function's own deadline
    expect(fixture.errors).toEqual([expect.objectContaining({ name: 'CrispApiError', status: undefined, reason: 'timeout', method: 'GET' })]);
    expect(apiLines()).toEqual([expect.objectContaining({ method: 'GET', reason: 'timeout', attempt: 1, willRetry: false })]);
    expect(stub.messages(WEBSITE_ID, sessionOf(body))).toHaveLength(0);
  });

  it('no call is started with too little time left', async () => {
    const { handler, fixture } = coldStart();
    const record = sqsRecord(sample());
    expect(failed(await handler(batchOf(record), contextWithDeadline(2_000)))).toEqual([record.messageId]);
    expect(stub.calls()).toEqual([]);
    expect(fixture.errors).toEqual([expect.objectContaining({ name: 'CrispApiError', reason: 'deadline' })]);
  });
});

describe('authentication and the token', () => {
  it('sends Basic auth and X-Crisp-Tier: plugin (the stand-in refuses anything else); a wrong key is 401, not retried', async () => {
    const { handler, fixture } = coldStart({ CRISP_API_TOKEN_SECRET_ID: sm.arnOf(SECRETS.wrong) });
    const record = sqsRecord(sample());
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect(calls()).toEqual(['GET {conversation}/message/{fp} 401']);
    expect(fixture.errors).toEqual([expect.objectContaining({ name: 'CrispApiError', status: 401, reason: 'invalid_session' })]);
  });

  it('a token still holding the placeholder: SecretUnavailableError, the event retried, Crisp never called', async () => {
    const { handler, fixture } = coldStart({ CRISP_API_TOKEN_SECRET_ID: sm.arnOf(SECRETS.unset) });
    const record = sqsRecord(sample());
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect(stub.calls()).toEqual([]);
    expect(fixture.errors).toEqual([expect.objectContaining({ name: 'SecretUnavailableError', reason: 'not_set' })]);
    expect(logs().filter((line) => line.message === 'secret unavailable')).toEqual([
      expect.objectContaining({ secret: 'Crisp API token', secretId: sm.arnOf(SECRETS.unset), reason: 'not_set' }),
    ]);
  });

  it('the token is read once per cold start', async () => {
    const before = sm.calls.length;
    const { handler } = coldStart();
    for (let i = 0; i < 3; i += 1) expect(failed(await handler(batchOf(sqsRecord(sample())), lambdaContext()))).toEqual([]);
    expect(sm.calls.slice(before)).toEqual([{ action: 'GetSecretValue', secretId: sm.arnOf(SECRETS.token) }]);
  });

  it('one "crisp api call" line per call: method, route, status, attempt, durationMs; never the token or the text', async () => {
    const { handler } = coldStart();
    const body = sample();
    stub.failNext(1, 502, { method: 'POST' });
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    const route = `/website/${WEBSITE_ID}/conversation/${sessionOf(body)}/message`;
    expect(apiLines()).toEqual([
      expect.objectContaining({ level: 'INFO', method: 'GET', route: expect.stringMatching(new RegExp(`^${route}/\\d+$`)), status: 404, attempt: 1, durationMs: expect.any(Number), dedupeKey: dedupeKey(body) }),
      expect.objectContaining({ level: 'WARN', method: 'POST', route, status: 502, attempt: 1, reason: 'server_error', willRetry: false }),
      expect.objectContaining({ level: 'INFO', method: 'GET', status: 404, attempt: 1 }),
      expect.objectContaining({ level: 'INFO', method: 'POST', route, status: 202, attempt: 1 }),
    ]);
    expect(stubLog.entries().filter((line) => line.message === 'crisp api call').slice(-4)).toEqual([
      expect.objectContaining({ method: 'GET', status: 404 }),
      expect.objectContaining({ method: 'POST', route, status: 502 }),
      expect.objectContaining({ method: 'GET', status: 404 }),
      expect.objectContaining({ method: 'POST', route, status: 202 }),
    ]);
    const all = captured.text() + stubLog.lines.join('\n');
    for (const value of NEVER_LOGGED) expect(all).not.toContain(value);
  });
});

describe('the other calls', () => {
  it('setState, updateMetas, getConversation and request reach the event\'s website and conversation', async () => {
    const { handler, fixture } = coldStart();
    const body = sample('message:received');
    const session = sessionOf(body);
    expect(failed(await handler(batchOf(sqsRecord(body)), lambdaContext()))).toEqual([]);
    expect(calls()).toEqual(['PATCH {conversation}/state 200', 'PATCH {conversation}/meta 200', 'GET {conversation} 200', 'GET {conversation} 200']);
    expect(stub.calls()[0]!.body).toEqual({ state: 'resolved' });
    expect(fixture.other).toEqual([
      expect.objectContaining({ session_id: session, website_id: WEBSITE_ID, state: 'resolved', meta: { segments: ['vip'], data: { plan: 'pro' } } }),
      expect.objectContaining({ session_id: session, state: 'resolved' }),
    ]);
  });
});

describe('with the Crisp API off', () => {
  it('context.crisp throws, saying how to turn it on; the event is retried', async () => {
    const { handler, fixture } = coldStart({ CRISP_API_TOKEN_SECRET_ID: undefined, CRISP_API_URL: undefined });
    const record = sqsRecord(sample());
    expect(failed(await handler(batchOf(record), lambdaContext()))).toEqual([record.messageId]);
    expect((fixture.errors[0] as Error).message).toMatch(/crispApi: true.*SetCrispApiTokenCommand/);
    expect(stub.calls()).toEqual([]);
  });

  it('a CRISP_API_URL that is not https (nor loopback http) fails the cold start, naming it', () => {
    expect(() => coldStart({ CRISP_API_URL: 'http://api.crisp.chat/v1' })).toThrow(/CRISP_API_URL.*https/);
  });
});

describe('the stand-in (scripts/local/crisp-api-stub.ts)', () => {
  it('listens on loopback only', async () => {
    await expect(startCrispApiStub({ token: TOKEN, host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
  });

  it('refuses a request without the plugin tier, or without the right Basic credentials', async () => {
    const url = `${stub.url}/website/${WEBSITE_ID}/conversation/session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881`;
    const noTier = await fetch(url, { headers: { authorization: `Basic ${BASIC}` } });
    expect([noTier.status, ((await noTier.json()) as { reason: string }).reason]).toEqual([403, 'not_allowed']);
    const userTier = await fetch(url, { headers: { authorization: `Basic ${BASIC}`, 'x-crisp-tier': 'user' } });
    expect(userTier.status).toBe(403);
    const wrong = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${TOKEN.identifier}:nope`).toString('base64')}`, 'x-crisp-tier': 'plugin' } });
    expect(wrong.status).toBe(401);
    const right = await fetch(url, { headers: { authorization: `Basic ${BASIC}`, 'x-crisp-tier': 'plugin' } });
    expect(right.status).toBe(200);
    expect(stub.calls().map((call) => call.status)).toEqual([403, 403, 401, 200]);
  });
});

describe('the context', () => {
  it('spreading the context (crispApi off) does not throw: context.crisp is not enumerable', async () => {
    const { processBatch } = await import('../../functions/consumer/process-batch');
    const { defineHandlers } = await import('../../functions/consumer/registry');
    const seen: string[][] = [];
    const handlers = defineHandlers({
      'message:send': (_event, context) => {
        seen.push(Object.keys({ ...context }));
        expect(() => context.crisp).toThrow(/crispApi: true/);
      },
    });
    const store = { claim: async () => 'claimed' as const, complete: async () => true, release: async () => undefined };
    const { logger } = captureLogger();
    const result = await processBatch(batchOf(sqsRecord(sample())), {
      store: store as never,
      handlers,
      logger,
      now: Date.now,
      newOwner: () => 'owner',
      remainingTimeMs: () => 10_000,
      ttlHours: 1,
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(seen[0]).not.toContain('crisp');
  });
});
