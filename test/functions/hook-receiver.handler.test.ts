/**
 * The deployed hook-receiver handler module, cold-started like Lambda does, against the Secrets
 * Manager emulator and the SQS emulator (fauxqs) through the real AWS SDK clients, reached with
 * AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL_SQS as on AWS with the real endpoints.
 *
 * Every signature is computed independently of the code under test, by openssl, over
 * `[<timestamp header verbatim>;<body>]`. Asserts the reply, the log lines and what sits in
 * the queue afterwards (nothing, for every refusal).
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { type Message, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { type SqsEmulator, startSqsEmulator } from '../../scripts/local/emulators/sqs';
import { lambdaContext } from '../support/events';
import { opensslHmacSha256 } from '../support/openssl';

type Handler = (typeof import('../../functions/hook-receiver/handler'))['handler'];

const WEBSITE_ID = '8c842203-7ed8-4e29-a608-7cf78a7d2fcc';
const OTHER_WEBSITE_ID = '1f0e3a55-9d1c-4b8e-a0c4-2c6f7f5e9b10';
const SECRET = 'hook-receiver-test-secret-3b9e7d51c0';
const WEBSITE_KEY = 'wk-test-Q2x9vR4mZ8pL1s';
const CONTENT = 'my order #1042 never arrived';
const ORIGIN = 'plugin/rtm 38b411d9377a6a00 production';

let sm: SecretsManagerEmulator;
let sqs: SqsEmulator;
let baseEnv: NodeJS.ProcessEnv;
const savedEnv = { ...process.env };
/** Everything the handler wrote to stdout in this file, for the log hygiene test at the end. */
const allStdout: string[] = [];
let stdout: string[] = [];
/** Values that must never reach a log line: secrets, keys, signatures, message content. */
const sensitive = new Set<string>([SECRET, WEBSITE_KEY, CONTENT]);

beforeAll(async () => {
  sm = await startSecretsManagerEmulator({
    hook: SECRET,
    'website-key': WEBSITE_KEY,
    unset: 'CRISP_BRIDGE_PLACEHOLDER: x',
  });
  sqs = await startSqsEmulator();
  baseEnv = {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    HOOK_QUEUE_URL: sqs.queueUrl,
    HOOK_SECRET_ID: sm.arnOf('hook'),
    WEBSITE_HOOK_KEY_ID: sm.arnOf('website-key'),
  };
  delete baseEnv.AWS_PROFILE;
  process.env = { ...baseEnv };
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await sqs?.close();
  await sm?.close();
});

beforeEach(async () => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    stdout.push(text);
    allStdout.push(text);
    return true;
  });
  await sqs.client.send(new PurgeQueueCommand({ QueueUrl: sqs.queueUrl }));
});

afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...baseEnv };
  sm.setAvailable(true);
});

/** Loads the handler module fresh (a cold start) with the environment the construct sets. */
function coldStart(env: Record<string, string | undefined> = {}): Handler {
  process.env = { ...baseEnv, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  let handler!: Handler;
  jest.isolateModules(() => {
    handler = (require('../../functions/hook-receiver/handler') as typeof import('../../functions/hook-receiver/handler')).handler;
  });
  return handler;
}

let warm: Handler | undefined;
/** The default configuration, cold-started once and then reused, as Lambda reuses a warm environment. */
function warmHandler(): Handler {
  warm ??= coldStart();
  return warm;
}

// ---------------------------------------------------------------------------------------------
// Hooks as Crisp sends them, signed by openssl.

/** Crisp's envelope for a `message:send` (or another event), with the distinctive content. */
function envelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const timestamp = Date.now();
  return {
    website_id: WEBSITE_ID,
    event: 'message:send',
    data: {
      website_id: WEBSITE_ID,
      session_id: `session_${randomUUID()}`,
      type: 'text',
      content: CONTENT,
      from: 'user',
      origin: 'chat',
      stamped: true,
      timestamp,
      fingerprint: timestamp * 100 + 7,
      user: { nickname: 'visitor493603', user_id: `session_${randomUUID()}` },
    },
    timestamp,
    ...overrides,
  };
}

const compact = (overrides: Record<string, unknown> = {}): string => JSON.stringify(envelope(overrides));

/** Crisp's signature over `[timestamp;body]`, by openssl; remembered as sensitive. */
function sign(secret: string, timestamp: string, body: string): string {
  const signature = opensslHmacSha256(secret, `[${timestamp};${body}]`);
  sensitive.add(signature);
  return signature;
}

/** The same over arbitrary bytes (a body that is not UTF-8), by openssl too. */
function signBytes(secret: string, timestamp: string, body: Buffer): string {
  const message = Buffer.concat([Buffer.from(`[${timestamp};`, 'utf8'), body, Buffer.from(']', 'utf8')]);
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], { input: message }).toString();
  const signature = out.trim().split('= ').pop() ?? '';
  expect(signature).toMatch(/^[0-9a-f]{64}$/);
  sensitive.add(signature);
  return signature;
}

/** The headers of a signed Plugin Hook, lower-case as API Gateway passes them. */
function signedHeaders(body: string, options: { secret?: string; timestamp?: string; signedBody?: string } = {}): Record<string, string> {
  const timestamp = options.timestamp ?? String(Date.now());
  return {
    'content-type': 'application/json; charset=utf-8',
    'x-crisp-request-timestamp': timestamp,
    'x-crisp-signature': sign(options.secret ?? SECRET, timestamp, options.signedBody ?? body),
    'x-delivery-attempt-count': '2',
    'x-delivery-attempt-limit': '3',
    'x-crisp-hook-origin': ORIGIN,
  };
}

type Route = 'plugin' | 'website';

/** An HTTP API (payload 2.0) event for the hook routes, as API Gateway builds it. */
function hookEvent(options: { body?: string; headers?: Record<string, string>; route?: Route; rawQueryString?: string; isBase64Encoded?: boolean }): APIGatewayProxyEventV2 {
  const path = options.route === 'website' ? '/hooks/crisp/website' : '/hooks/crisp';
  const rawQueryString = options.rawQueryString ?? '';
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString,
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'user-agent': 'Crisp-Hook-Sender', ...options.headers },
    ...(rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(rawQueryString)) } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'Crisp-Hook-Sender' },
      requestId: randomUUID(),
      routeKey: `POST ${path}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(options.body !== undefined ? { body: options.body } : {}),
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
  return event;
}

/** A signed Plugin Hook event for `body`. */
const pluginHook = (body: string, options: Parameters<typeof signedHeaders>[1] = {}): APIGatewayProxyEventV2 =>
  hookEvent({ body, headers: signedHeaders(body, options) });

/** A Website Hook event (no signature) with `key` in the query string, if given. */
function websiteHook(body: string, key: string | undefined): APIGatewayProxyEventV2 {
  const headers = { 'content-type': 'application/json', 'x-crisp-request-timestamp': String(Date.now()), 'x-delivery-attempt-count': '1', 'x-delivery-attempt-limit': '3' };
  return hookEvent({ body, headers, route: 'website', rawQueryString: key === undefined ? '' : `key=${encodeURIComponent(key)}` });
}

// ---------------------------------------------------------------------------------------------
// What we look at afterwards.

const logs = () => stdout.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
const replyBody = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(result.body ?? '') as Record<string, any>;

/** What sits in the hook queue (one receive of up to 10 messages; the queue is purged before each test). */
async function queued(queueUrl: string = sqs.queueUrl): Promise<Message[]> {
  const out = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
  );
  return out.Messages ?? [];
}

/** Message attributes as plain name → string value. */
const attributesOf = (message: Message): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]));

async function expectOneQueued(body: string): Promise<Message> {
  const messages = await queued();
  expect(messages).toHaveLength(1);
  expect(messages[0]!.Body).toBe(body);
  return messages[0]!;
}

async function expectNothingQueued(): Promise<void> {
  expect(await queued()).toEqual([]);
}

/** A refusal: status, error code, one 'hook rejected' line with that reason, nothing queued. */
async function expectRejected(result: APIGatewayProxyStructuredResultV2, status: number, code: string): Promise<void> {
  expect({ status: result.statusCode, code: replyBody(result).error?.code }).toEqual({ status, code });
  expect(result.statusCode).toBeLessThan(500);
  expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  expect(typeof replyBody(result).error.message).toBe('string');
  const rejected = logs().filter((line) => line.message === 'hook rejected');
  expect(rejected).toEqual([expect.objectContaining({ level: 'INFO', reason: code, status, HookRejected: 1 })]);
  expect(logs().some((line) => line.message === 'hook accepted')).toBe(false);
  await expectNothingQueued();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

// ---------------------------------------------------------------------------------------------

describe('POST /hooks/crisp: accepted hooks are queued, then 200', () => {
  it('a valid Plugin Hook: 200 {ok:true}, one message with the raw body and the attributes, one log line', async () => {
    const handler = coldStart();
    const body = compact();
    const context = lambdaContext();
    const before = Date.now();
    // Header names in Mixed-Case, as a non-API Gateway caller may send them.
    const timestamp = String(Date.now());
    const headers = {
      'Content-Type': 'application/json; charset=utf-8',
      'X-Crisp-Request-Timestamp': timestamp,
      'X-Crisp-Signature': sign(SECRET, timestamp, body),
      'X-Delivery-Attempt-Count': '2',
      'X-Delivery-Attempt-Limit': '3',
      'X-Crisp-Hook-Origin': ORIGIN,
    };
    const result = await handler(hookEvent({ body, headers }), context);
    expect(result.statusCode).toBe(200);
    expect(replyBody(result)).toEqual({ ok: true });
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });

    const message = await expectOneQueued(body);
    const attributes = attributesOf(message);
    expect(attributes).toEqual({
      event: 'message:send',
      websiteId: WEBSITE_ID,
      hookKind: 'plugin',
      receivedAt: expect.any(String),
      deliveryAttempt: '2',
      deliveryAttemptLimit: '3',
      hookOrigin: ORIGIN,
    });
    expect(message.MessageAttributes!.receivedAt!.DataType).toBe('Number');
    expect(message.MessageAttributes!.deliveryAttempt!.DataType).toBe('Number');
    const receivedAt = Number(attributes.receivedAt);
    expect(receivedAt).toBeGreaterThanOrEqual(before);
    expect(receivedAt).toBeLessThanOrEqual(Date.now());

    const accepted = logs().filter((line) => line.message === 'hook accepted');
    expect(accepted).toEqual([
      expect.objectContaining({
        level: 'INFO',
        requestId: context.awsRequestId,
        event: 'message:send',
        website_id: WEBSITE_ID,
        attempt: 2,
        attemptLimit: 3,
        kind: 'plugin',
        messageId: message.MessageId,
        HookAccepted: 1,
        _aws: expect.objectContaining({
          CloudWatchMetrics: [expect.objectContaining({ Namespace: 'CrispBridge', Metrics: [{ Name: 'HookAccepted', Unit: 'Count' }] })],
        }),
      }),
    ]);
    expect(logs().filter((line) => line.message === 'hook rejected')).toEqual([]);
  });

  it('reads the signing secret once per cold start, by its ARN', async () => {
    const handler = coldStart();
    const before = sm.calls.length;
    for (let i = 0; i < 3; i += 1) expect((await handler(pluginHook(compact()), lambdaContext())).statusCode).toBe(200);
    expect(sm.calls.slice(before)).toEqual([{ action: 'GetSecretValue', secretId: sm.arnOf('hook') }]);
    expect(await queued()).toHaveLength(3);
  });

  it('a body marked isBase64Encoded is decoded: the signature is over the JSON, and the JSON is queued', async () => {
    const handler = warmHandler();
    const json = compact();
    const headers = signedHeaders(json);
    const result = await handler(hookEvent({ body: Buffer.from(json, 'utf8').toString('base64'), headers, isBase64Encoded: true }), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(replyBody(result)).toEqual({ ok: true });
    await expectOneQueued(json);
  });

  it('a pretty-printed body signed over its compact form (Node library style): 200, and the SIGNED compact text is queued', async () => {
    const handler = warmHandler();
    const value = envelope();
    const pretty = JSON.stringify(value, null, 2);
    const signedText = JSON.stringify(value);
    const result = await handler(hookEvent({ body: pretty, headers: signedHeaders(pretty, { signedBody: signedText }) }), lambdaContext());
    expect(result.statusCode).toBe(200);
    await expectOneQueued(signedText);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook accepted', signature: 'compact' }));
  });

  // Bodies whose raw bytes differ from JSON.stringify(JSON.parse(raw)): either signing is accepted,
  // and the queued body is always the text the signature covers. Each signed compact form is
  // written out by hand, not computed by the code under test.
  const WIRE_FORMS: Array<[string, string, string]> = [
    [
      'an escaped unicode character',
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"content":"caf\\u00e9 \\ud83d\\udce6"},"timestamp":TS}`,
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"content":"café 📦"},"timestamp":TS}`,
    ],
    [
      'a number beyond 2^53',
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"fingerprint":12345678901234567890},"timestamp":TS}`,
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"fingerprint":12345678901234567000},"timestamp":TS}`,
    ],
    [
      'spaces after the separators',
      `{"website_id": "${WEBSITE_ID}", "event": "message:send", "data": {"content": "hi"}, "timestamp": TS}`,
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"content":"hi"},"timestamp":TS}`,
    ],
    [
      'an escaped slash',
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"url":"https:\\/\\/example.com\\/a"},"timestamp":TS}`,
      `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"url":"https://example.com/a"},"timestamp":TS}`,
    ],
  ];
  it.each(WIRE_FORMS)('%s, signed over the raw bytes (Go library style): 200, queued as received', async (_, template) => {
    const handler = warmHandler();
    const body = template.replace('TS', String(Date.now()));
    expect(JSON.stringify(JSON.parse(body))).not.toBe(body);
    expect((await handler(pluginHook(body), lambdaContext())).statusCode).toBe(200);
    await expectOneQueued(body);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook accepted', signature: 'raw' }));
  });
  it.each(WIRE_FORMS)('%s, signed over the compact re-serialisation (Node library style): 200, the signed text is queued', async (_, template, signedTemplate) => {
    const handler = warmHandler();
    const ts = String(Date.now());
    const body = template.replace('TS', ts);
    const signedText = signedTemplate.replace('TS', ts);
    const result = await handler(pluginHook(body, { signedBody: signedText }), lambdaContext());
    expect(result.statusCode).toBe(200);
    await expectOneQueued(signedText);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook accepted', signature: 'compact' }));
  });

  it('a body with an emoji is queued byte for byte', async () => {
    const handler = warmHandler();
    const body = compact({ data: { content: 'Thanks! 📦🚚 arriving', type: 'text', from: 'user' } });
    expect((await handler(pluginHook(body), lambdaContext())).statusCode).toBe(200);
    const message = await expectOneQueued(body);
    expect(message.MessageAttributes!.bodyEncoding).toBeUndefined();
  });

  it('a body with a raw U+FFFF (refused by SQS) is queued base64, with bodyEncoding=base64, and decodes to the exact bytes', async () => {
    const handler = warmHandler();
    const body = compact({ data: { content: 'odd \uFFFF char', type: 'text', from: 'user' } });
    expect(body).toContain('\uFFFF'); // raw on the wire, not escaped
    expect((await handler(pluginHook(body), lambdaContext())).statusCode).toBe(200);
    const messages = await queued();
    expect(messages).toHaveLength(1);
    const message = messages[0]!;
    sensitive.add(message.Body!);
    expect(attributesOf(message)).toMatchObject({ bodyEncoding: 'base64', event: 'message:send', websiteId: WEBSITE_ID });
    expect(Buffer.from(message.Body!, 'base64').equals(Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('X-Crisp-Request-Timestamp in seconds, signed verbatim: 200', async () => {
    const handler = warmHandler();
    const body = compact();
    const seconds = String(Math.floor(Date.now() / 1000));
    const result = await handler(pluginHook(body, { timestamp: seconds }), lambdaContext());
    expect(result.statusCode).toBe(200);
    await expectOneQueued(body);
  });

  it('the freshness window is HOOK_MAX_AGE_SECONDS: 30 s old passes a 60 s window', async () => {
    const handler = coldStart({ HOOK_MAX_AGE_SECONDS: '60' });
    const body = compact();
    const result = await handler(pluginHook(body, { timestamp: String(Date.now() - 30_000) }), lambdaContext());
    expect(result.statusCode).toBe(200);
    await expectOneQueued(body);
  });

  it('a body just under MAX_MESSAGE_BYTES with its attributes: 200', async () => {
    const handler = coldStart({ MAX_MESSAGE_BYTES: '2048' });
    const body = compact({ data: { content: 'x'.repeat(1400) } });
    expect(Buffer.byteLength(body)).toBeLessThan(1600);
    expect((await handler(pluginHook(body), lambdaContext())).statusCode).toBe(200);
    await expectOneQueued(body);
  });
});

describe('POST /hooks/crisp: secret rotation', () => {
  let n = 0;
  const freshSecretName = () => `rotation-${++n}-${randomUUID().slice(0, 8)}`;

  it('a secret {"current","previous"}: hooks signed with either are accepted, another secret is not', async () => {
    const name = freshSecretName();
    const current = 'rotation-new-secret-7c1d';
    const previous = 'rotation-old-secret-2b9a';
    sensitive.add(current).add(previous);
    sm.put(name, JSON.stringify({ current, previous }));
    const handler = coldStart({ HOOK_SECRET_ID: sm.arnOf(name) });

    const oldSigned = compact();
    expect((await handler(pluginHook(oldSigned, { secret: previous }), lambdaContext())).statusCode).toBe(200);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook accepted', secret: 'previous', signature: 'raw' }));
    const newSigned = compact();
    expect((await handler(pluginHook(newSigned, { secret: current }), lambdaContext())).statusCode).toBe(200);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook accepted', secret: 'current' }));
    const messages = await queued();
    expect(messages.map((m) => m.Body).sort()).toEqual([oldSigned, newSigned].sort());

    stdout.length = 0;
    await expectRejected(await handler(pluginHook(compact(), { secret: SECRET }), lambdaContext()), 401, 'signature_mismatch');
  });

  it('a rotated secret is picked up without a redeploy (SECRET_REFRESH_SECONDS=1): B accepted, A refused', async () => {
    const name = freshSecretName();
    const secretA = 'rotation-secret-A-51f3';
    const secretB = 'rotation-secret-B-9e07';
    sensitive.add(secretA).add(secretB);
    sm.put(name, secretA);
    const handler = coldStart({ HOOK_SECRET_ID: sm.arnOf(name), SECRET_REFRESH_SECONDS: '1' });
    const first = compact();
    expect((await handler(pluginHook(first, { secret: secretA }), lambdaContext())).statusCode).toBe(200);
    await expectOneQueued(first);

    sm.put(name, secretB);
    await sleep(1100);
    const second = compact();
    expect((await handler(pluginHook(second, { secret: secretB }), lambdaContext())).statusCode).toBe(200);
    await expectOneQueued(second);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'secret rotated' }));

    stdout.length = 0;
    await expectRejected(await handler(pluginHook(compact(), { secret: secretA }), lambdaContext()), 401, 'signature_mismatch');
  });

  it('a mismatch re-reads the secret only when the cached one is at least 30 s old (a rotation), not on every forged hook', async () => {
    const name = freshSecretName();
    const secretA = 'mismatch-secret-A-0d4c';
    const secretB = 'mismatch-secret-B-6a2e';
    sensitive.add(secretA).add(secretB);
    sm.put(name, secretA);
    // Only Date is faked: the network, timers and the emulators run for real.
    jest.useFakeTimers({
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
      now: Date.now(),
    });
    try {
      const handler = coldStart({ HOOK_SECRET_ID: sm.arnOf(name) });
      const reads = () => sm.calls.filter((call) => call.secretId === sm.arnOf(name)).length;
      expect((await handler(pluginHook(compact(), { secret: secretA }), lambdaContext())).statusCode).toBe(200);
      expect(reads()).toBe(1);

      sm.put(name, secretB);
      // Within 30 s of the read, a mismatch does not go back to Secrets Manager.
      jest.setSystemTime(Date.now() + 10_000);
      expect((await handler(pluginHook(compact(), { secret: secretB }), lambdaContext())).statusCode).toBe(401);
      expect(reads()).toBe(1);

      // 31 s after the read (default refresh 300 s): the mismatch re-reads and B is accepted.
      jest.setSystemTime(Date.now() + 21_000);
      const body = compact();
      expect((await handler(pluginHook(body, { secret: secretB }), lambdaContext())).statusCode).toBe(200);
      expect(reads()).toBe(2);
      expect((await queued()).map((message) => message.Body)).toContain(body);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('POST /hooks/crisp: refusals (nothing queued, never a 5xx)', () => {

  it('an envelope nested too deeply to derive its dedupe key: 400 invalid_envelope, not queued', async () => {
    const handler = warmHandler();
    const deep = JSON.stringify({ website_id: WEBSITE_ID, event: 'session:set_data', timestamp: Date.now(), data: JSON.parse('['.repeat(300) + ']'.repeat(300)) });
    await expectRejected(await handler(hookEvent({ body: deep, headers: signedHeaders(deep) }), lambdaContext()), 400, 'invalid_envelope');
  });
  it('a tampered body (one byte changed): 401 signature_mismatch', async () => {
    const handler = warmHandler();
    const body = compact();
    const headers = signedHeaders(body);
    const tampered = body.replace('#1042', '#1043');
    expect(tampered).not.toBe(body);
    await expectRejected(await handler(hookEvent({ body: tampered, headers }), lambdaContext()), 401, 'signature_mismatch');
  });

  it('a tampered timestamp header: 401 signature_mismatch', async () => {
    const handler = warmHandler();
    const body = compact();
    const timestamp = Date.now();
    const headers = { ...signedHeaders(body, { timestamp: String(timestamp) }), 'x-crisp-request-timestamp': String(timestamp + 1) };
    await expectRejected(await handler(hookEvent({ body, headers }), lambdaContext()), 401, 'signature_mismatch');
  });

  it.each([
    ['too short', 'abc123'],
    ['not hex', 'z'.repeat(64)],
    ['65 characters', 'a'.repeat(65)],
    ['base64 instead of hex', Buffer.alloc(32, 7).toString('base64')],
  ])('a signature of the wrong shape (%s): 401 signature_malformed', async (_, signature) => {
    const handler = warmHandler();
    const body = compact();
    const headers = { ...signedHeaders(body), 'x-crisp-signature': signature };
    await expectRejected(await handler(hookEvent({ body, headers }), lambdaContext()), 401, 'signature_malformed');
  });

  it('no signature: 401 signature_missing', async () => {
    const handler = warmHandler();
    const body = compact();
    const { 'x-crisp-signature': _omitted, ...headers } = signedHeaders(body);
    await expectRejected(await handler(hookEvent({ body, headers }), lambdaContext()), 401, 'signature_missing');
  });

  it('no timestamp header: 401 timestamp_missing', async () => {
    const handler = warmHandler();
    const body = compact();
    const { 'x-crisp-request-timestamp': _omitted, ...headers } = signedHeaders(body);
    await expectRejected(await handler(hookEvent({ body, headers }), lambdaContext()), 401, 'timestamp_missing');
  });

  it.each(['abc', '-1', '1.7e12', '12345678901234567'])('a timestamp header that is not a timestamp (%s), signed verbatim: 401 timestamp_malformed', async (timestamp) => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook(compact(), { timestamp }), lambdaContext()), 401, 'timestamp_malformed');
  });

  it('a stale timestamp (older than HOOK_MAX_AGE_SECONDS), correctly signed: 401 stale_timestamp', async () => {
    const handler = coldStart({ HOOK_MAX_AGE_SECONDS: '60' });
    const body = compact();
    await expectRejected(await handler(pluginHook(body, { timestamp: String(Date.now() - 90_000) }), lambdaContext()), 401, 'stale_timestamp');
    const line = logs().find((entry) => entry.message === 'hook rejected');
    expect(line).toMatchObject({ HookRejected: 1, HookStale: 1, reason: 'stale_timestamp' });
    expect(JSON.stringify(line!._aws)).toContain('"Name":"HookStale"');
  });

  it('a stale timestamp under the default window (one hour): 401 stale_timestamp', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook(compact(), { timestamp: String(Date.now() - 3_700_000) }), lambdaContext()), 401, 'stale_timestamp');
  });

  it('a timestamp 10 minutes in the future, correctly signed: 401 future_timestamp', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook(compact(), { timestamp: String(Date.now() + 600_000) }), lambdaContext()), 401, 'future_timestamp');
  });

  it('a non-JSON body, signed: 400 invalid_envelope', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook('website_id=x&event=message:send'), lambdaContext()), 400, 'invalid_envelope');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', problem: 'not_json' }));
  });

  it('a JSON array, signed: 400 invalid_envelope', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook(JSON.stringify([envelope()])), lambdaContext()), 400, 'invalid_envelope');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', problem: 'not_an_object' }));
  });

  it.each<[string, unknown]>([
    ['a string', 'hello'],
    ['a number', 42],
    ['an array', [{ content: 'hi' }]],
    ['null', null],
  ])('"data" that is %s, signed: 400 invalid_envelope naming data (never a handler crash later)', async (_name, data) => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook(compact({ data })), lambdaContext()), 400, 'invalid_envelope');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', field: 'data' }));
  });

  it('a number too large for JSON (1e400) in a body signed over its raw bytes: 400, never Infinity in a handler', async () => {
    const handler = warmHandler();
    const body = `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"n":1e400},"timestamp":${Date.now()}}`;
    await expectRejected(await handler(pluginHook(body), lambdaContext()), 400, 'invalid_envelope');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', problem: 'non_finite_number' }));
  });

  it('the same body signed over its compact form (where 1e400 is null): 200, and the queued text holds null, as signed', async () => {
    const handler = warmHandler();
    const ts = Date.now();
    const body = `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"n":1e400},"timestamp":${ts}}`;
    const signedText = `{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"n":null},"timestamp":${ts}}`;
    expect((await handler(pluginHook(body, { signedBody: signedText }), lambdaContext())).statusCode).toBe(200);
    await expectOneQueued(signedText);
  });

  it.each(['event', 'website_id', 'timestamp', 'data'])('an envelope without "%s", signed: 400 invalid_envelope naming it', async (field) => {
    const handler = warmHandler();
    const value = envelope();
    delete value[field];
    await expectRejected(await handler(pluginHook(JSON.stringify(value)), lambdaContext()), 400, 'invalid_envelope');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', problem: 'missing_field', field }));
  });

  it('a body that is not UTF-8 (base64 on the wire), signed over its bytes: 400 invalid_envelope', async () => {
    const handler = warmHandler();
    const bytes = Buffer.concat([Buffer.from(`{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"content":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`"},"timestamp":${Date.now()}}`)]);
    const timestamp = String(Date.now());
    const headers = { 'x-crisp-request-timestamp': timestamp, 'x-crisp-signature': signBytes(SECRET, timestamp, bytes) };
    const result = await handler(hookEvent({ body: bytes.toString('base64'), headers, isBase64Encoded: true }), lambdaContext());
    await expectRejected(result, 400, 'invalid_envelope');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', problem: 'not_utf8' }));
  });

  it.each([
    ['no headers and no body', hookEvent({})],
    ['headers undefined', { ...hookEvent({ body: '{}' }), headers: undefined } as unknown as APIGatewayProxyEventV2],
    ['a garbage base64 body', hookEvent({ body: '%%%not base64%%%', isBase64Encoded: true, headers: { 'x-crisp-signature': 'a'.repeat(64), 'x-crisp-request-timestamp': '1' } })],
  ])('%s: a 4xx, never a 5xx', async (_, event) => {
    const handler = warmHandler();
    const result = await handler(event, lambdaContext());
    expect(result.statusCode).toBeGreaterThanOrEqual(400);
    expect(result.statusCode).toBeLessThan(500);
    await expectNothingQueued();
  });

  it('an empty body, signed: 400 invalid_envelope', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(pluginHook(''), lambdaContext()), 400, 'invalid_envelope');
  });

  it('a body larger than MAX_MESSAGE_BYTES: 413 payload_too_large', async () => {
    const handler = coldStart({ MAX_MESSAGE_BYTES: '2048' });
    const body = compact({ data: { content: 'x'.repeat(3000) } });
    await expectRejected(await handler(pluginHook(body), lambdaContext()), 413, 'payload_too_large');
  });

  it('a body under MAX_MESSAGE_BYTES whose message (body + attributes) is over it: 413 payload_too_large', async () => {
    const handler = coldStart({ MAX_MESSAGE_BYTES: '2048' });
    const body = compact({ data: { content: 'x'.repeat(1890 - compact({ data: { content: '' } }).length) } });
    expect(Buffer.byteLength(body)).toBeLessThan(2048);
    expect(Buffer.byteLength(body)).toBeGreaterThan(1850);
    await expectRejected(await handler(pluginHook(body), lambdaContext()), 413, 'payload_too_large');
  });
});

describe('POST /hooks/crisp: subscription filters (200, not queued)', () => {
  it("HOOK_EVENTS='session:*': a message:send is acknowledged as filtered, a session:set_email is queued", async () => {
    const handler = coldStart({ HOOK_EVENTS: 'session:*' });
    const result = await handler(pluginHook(compact()), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(replyBody(result)).toEqual({ ok: true, filtered: true });
    await expectNothingQueued();
    expect(logs()).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'hook filtered', event: 'message:send', website_id: WEBSITE_ID, attempt: 2, filter: 'event', HookFiltered: 1 }),
    );
    expect(logs().some((line) => line.message === 'hook accepted')).toBe(false);

    const session = compact({ event: 'session:set_email', data: { session_id: 'session_x', email: 'visitor@example.com' } });
    sensitive.add('visitor@example.com');
    const kept = await handler(pluginHook(session), lambdaContext());
    expect(replyBody(kept)).toEqual({ ok: true });
    const message = await expectOneQueued(session);
    expect(attributesOf(message).event).toBe('session:set_email');
  });

  it('HOOK_WEBSITE_IDS set to another website: filtered', async () => {
    const handler = coldStart({ HOOK_WEBSITE_IDS: OTHER_WEBSITE_ID });
    const result = await handler(pluginHook(compact()), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(replyBody(result)).toEqual({ ok: true, filtered: true });
    await expectNothingQueued();
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook filtered', filter: 'website', website_id: WEBSITE_ID }));
  });

  it('a filtered hook must still be authentic: a bad signature is 401, not a filtered 200', async () => {
    const handler = coldStart({ HOOK_EVENTS: 'session:*' });
    const body = compact();
    await expectRejected(await handler(hookEvent({ body: body.replace('#1042', '#1043'), headers: signedHeaders(body) }), lambdaContext()), 401, 'signature_mismatch');
  });
});

describe('POST /hooks/crisp: when it cannot be made durable (503, Crisp retries)', () => {
  const expectUnavailable = async (result: APIGatewayProxyStructuredResultV2, code: string): Promise<void> => {
    expect(result.statusCode).toBe(503);
    expect(replyBody(result).error.code).toBe(code);
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'hook not accepted', reason: code, HookFailed: 1 }));
    expect(logs().some((line) => line.message === 'hook accepted')).toBe(false);
    await expectNothingQueued();
  };

  it('a queue that does not exist: 503 queue_unavailable, within a few seconds', async () => {
    const missing = sqs.queueUrl.replace(/[^/]+$/, `does-not-exist-${randomUUID().slice(0, 8)}`);
    const handler = coldStart({ HOOK_QUEUE_URL: missing });
    const started = Date.now();
    const result = await handler(pluginHook(compact()), lambdaContext());
    expect(Date.now() - started).toBeLessThan(3000);
    await expectUnavailable(result, 'queue_unavailable');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook not accepted', event: 'message:send', website_id: WEBSITE_ID, attempt: 2 }));
  });

  it('SQS not answering (a closed port): 503 queue_unavailable, within a few seconds', async () => {
    const handler = coldStart({ AWS_ENDPOINT_URL_SQS: `http://127.0.0.1:${await closedPort()}` });
    const started = Date.now();
    const result = await handler(pluginHook(compact()), lambdaContext());
    expect(Date.now() - started).toBeLessThan(5000);
    await expectUnavailable(result, 'queue_unavailable');
  });

  it('the signing secret still the placeholder: 503 secret_unavailable, and the log names the secret to set', async () => {
    const handler = coldStart({ HOOK_SECRET_ID: sm.arnOf('unset') });
    const result = await handler(pluginHook(compact()), lambdaContext());
    await expectUnavailable(result, 'secret_unavailable');
    expect(result.body).not.toContain('CRISP_BRIDGE_PLACEHOLDER');
    const unavailable = logs().find((line) => line.message === 'secret unavailable');
    expect(unavailable).toMatchObject({ level: 'ERROR', secretId: sm.arnOf('unset'), reason: 'not_set' });
    expect(String(unavailable!.action)).toContain(`put-secret-value --secret-id ${sm.arnOf('unset')}`);
  });

  it('Secrets Manager down at cold start: 503 secret_unavailable', async () => {
    sm.setAvailable(false);
    const handler = coldStart();
    await expectUnavailable(await handler(pluginHook(compact()), lambdaContext()), 'secret_unavailable');
  });
});

describe('POST /hooks/crisp/website?key=... (Website Hooks)', () => {
  it('the right key: 200, queued with hookKind=website', async () => {
    const handler = warmHandler();
    const body = compact();
    const result = await handler(websiteHook(body, WEBSITE_KEY), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(replyBody(result)).toEqual({ ok: true });
    const message = await expectOneQueued(body);
    expect(attributesOf(message)).toMatchObject({ event: 'message:send', websiteId: WEBSITE_ID, hookKind: 'website', deliveryAttempt: '1', deliveryAttemptLimit: '3' });
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook accepted', kind: 'website', event: 'message:send', website_id: WEBSITE_ID }));
  });

  it("no X-Crisp-Request-Timestamp: the event's own timestamp is checked instead; fresh → 200", async () => {
    const handler = warmHandler();
    const body = compact({ timestamp: Date.now() - 60_000 });
    const event = websiteHook(body, WEBSITE_KEY);
    delete event.headers['x-crisp-request-timestamp'];
    expect((await handler(event, lambdaContext())).statusCode).toBe(200);
    await expectOneQueued(body);
  });

  it("no X-Crisp-Request-Timestamp and an event timestamp older than the window (a captured hook replayed): 401 stale_timestamp", async () => {
    const handler = warmHandler();
    const event = websiteHook(compact({ timestamp: Date.now() - 3601_000 }), WEBSITE_KEY);
    delete event.headers['x-crisp-request-timestamp'];
    await expectRejected(await handler(event, lambdaContext()), 401, 'stale_timestamp');
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'hook rejected', HookStale: 1, event: 'message:send' }));
  });

  it('a fresh X-Crisp-Request-Timestamp does not rescue a stale event: the header is not signed on Website Hooks', async () => {
    const handler = warmHandler();
    const event = websiteHook(compact({ timestamp: Date.now() - 2 * 3600_000 }), WEBSITE_KEY);
    expect(event.headers['x-crisp-request-timestamp']).toBeDefined();
    await expectRejected(await handler(event, lambdaContext()), 401, 'stale_timestamp');
  });

  it('an event timestamp more than 5 minutes ahead: 401 future_timestamp', async () => {
    const handler = warmHandler();
    const event = websiteHook(compact({ timestamp: Date.now() + 10 * 60_000 }), WEBSITE_KEY);
    delete event.headers['x-crisp-request-timestamp'];
    await expectRejected(await handler(event, lambdaContext()), 401, 'future_timestamp');
  });

  it('a wrong key: 401 key_mismatch', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(websiteHook(compact(), `${WEBSITE_KEY}x`), lambdaContext()), 401, 'key_mismatch');
  });

  it('a changed key is picked up on the first mismatch once the cached key is 30 s old', async () => {
    const name = `website-key-${randomUUID().slice(0, 8)}`;
    const keyA = 'website-key-A-7b1f';
    const keyB = 'website-key-B-2c9e';
    sensitive.add(keyA).add(keyB);
    sm.put(name, keyA);
    jest.useFakeTimers({
      doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'],
      now: Date.now(),
    });
    try {
      const handler = coldStart({ WEBSITE_HOOK_KEY_ID: sm.arnOf(name) });
      const reads = () => sm.calls.filter((call) => call.secretId === sm.arnOf(name)).length;
      expect((await handler(websiteHook(compact(), keyA), lambdaContext())).statusCode).toBe(200);
      sm.put(name, keyB);
      jest.setSystemTime(Date.now() + 10_000);
      const refused = await handler(websiteHook(compact(), keyB), lambdaContext());
      expect(refused.statusCode).toBe(401);
      expect(replyBody(refused)).toMatchObject({ error: { code: 'key_mismatch' } });
      expect(reads()).toBe(1);
      jest.setSystemTime(Date.now() + 21_000);
      expect((await handler(websiteHook(compact(), keyB), lambdaContext())).statusCode).toBe(200);
      expect(reads()).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('no key: 401 key_missing', async () => {
    const handler = warmHandler();
    await expectRejected(await handler(websiteHook(compact(), undefined), lambdaContext()), 401, 'key_missing');
  });

  it('Website Hooks not enabled (WEBSITE_HOOK_KEY_ID unset): 404 not_enabled', async () => {
    const handler = coldStart({ WEBSITE_HOOK_KEY_ID: undefined });
    await expectRejected(await handler(websiteHook(compact(), WEBSITE_KEY), lambdaContext()), 404, 'not_enabled');
  });

  it('a Plugin Hook signature does not open the Website Hook route', async () => {
    const handler = warmHandler();
    const body = compact();
    await expectRejected(await handler(hookEvent({ body, headers: signedHeaders(body), route: 'website' }), lambdaContext()), 401, 'key_missing');
  });

  it('the key does not open the Plugin Hook route', async () => {
    const handler = warmHandler();
    const body = compact();
    const event = hookEvent({ body, headers: { 'x-crisp-request-timestamp': String(Date.now()) }, rawQueryString: `key=${encodeURIComponent(WEBSITE_KEY)}` });
    await expectRejected(await handler(event, lambdaContext()), 401, 'signature_missing');
  });
});

// One structured line per decision; never the signature, a secret, the key or the body.
describe('POST /hooks/crisp: logs', () => {
  it('no log line in this file holds a signature, a secret, the Website Hook key, the query string or message content', () => {
    const lines = allStdout.join('').split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(20);
    expect(sensitive.size).toBeGreaterThan(20);
    for (const line of lines) {
      const lower = line.toLowerCase();
      const leaked = [...sensitive].filter((value) => lower.includes(value.toLowerCase()));
      expect({ line, leaked }).toEqual({ line, leaked: [] });
      expect(line).not.toContain(encodeURIComponent(WEBSITE_KEY));
      expect(line).not.toContain('key=');
      expect(line).not.toContain('session_');
    }
  });
});
