/**
 * Property-based tests (fast-check) of the deployed hook-receiver handler module under bad input.
 *
 * The handler module is cold-started once, like Lambda does, against the Secrets Manager emulator
 * and the SQS emulator (fauxqs) through the real AWS SDK clients, with MAX_MESSAGE_BYTES small
 * (4096) so that "too large" is cheap to generate. The handler is then driven directly with
 * generated API Gateway HTTP API (payload 2.0) events: random bodies (text of every kind, bytes
 * that are not UTF-8 sent base64, invalid base64, empty, absent, huge, JSON of every type,
 * envelopes with wrong field types, deep nesting), random and duplicate headers, signatures of
 * every wrong shape, timestamps of every shape, both routes with random query strings.
 *
 * Invariants checked on every single request (`drive`):
 * - the handler resolves (never rejects) with a status in {200, 400, 401, 413}: never a 5xx;
 * - the reply is JSON: `{ok: true}` / `{ok: true, filtered: true}`, or `{error: {code, message}}`,
 *   and never echoes the signing secret, the Website Hook key or the signature it was given;
 * - exactly one decision log line, and no log line holds the secret, the key, the query string or
 *   a well-formed signature it was given;
 * - a 2xx only for a genuinely authenticated request. The oracle is independent of the code under
 *   test: openssl computes HMAC-SHA256(secret, "[" + timestamp + ";" + body + "]") over the raw
 *   body and over JSON.stringify(JSON.parse(body)); for the Website Hook route the query string
 *   must carry the real key.
 * The queue is drained and compared with the accepted bodies every 50 runs and after every
 * property: nothing is ever queued that was not acknowledged after genuine authentication.
 *
 * node:crypto appears only in the generators, to CREATE wrong-but-well-formed signatures (and the
 * genuine ones that some generators mix in); it is never the oracle.
 *
 * FUZZ_SCALE (a multiplier of the run counts) and FUZZ_SEED reproduce or lengthen a run.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { DeleteMessageCommand, GetQueueAttributesCommand, type Message, PurgeQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { type SqsEmulator, startSqsEmulator } from '../../scripts/local/emulators/sqs';
import { lambdaContext } from '../support/events';
import { opensslHmacSha256 } from '../support/openssl';

type Handler = (typeof import('../../functions/hook-receiver/handler'))['handler'];

const SECRET = 'fuzz-hook-secret-9Wq4tZ7mK2vB';
/** Holds characters that must be percent-encoded in a query string ('+', '/', '='). */
const WEBSITE_KEY = 'fuzz-wk_Lr8+Tz3/Wn6=Qa';
const MAX_BYTES = 4096;
const MAX_AGE_S = 3600;
const MAX_FUTURE_S = 300;
/** Timestamps generated as fresh or stale stay this far from the window's edges. */
const MARGIN_MS = 5000;

const SCALE = Number(process.env.FUZZ_SCALE ?? '1') || 1;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns * SCALE)), ...(SEED === undefined ? {} : { seed: SEED }) });

let sm: SecretsManagerEmulator;
let sqs: SqsEmulator;
let handler: Handler;
const savedEnv = { ...process.env };
let stdout: string[] = [];

beforeAll(async () => {
  sm = await startSecretsManagerEmulator({ hook: SECRET, 'website-key': WEBSITE_KEY });
  sqs = await startSqsEmulator();
  process.env = {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    HOOK_QUEUE_URL: sqs.queueUrl,
    HOOK_SECRET_ID: sm.arnOf('hook'),
    WEBSITE_HOOK_KEY_ID: sm.arnOf('website-key'),
    MAX_MESSAGE_BYTES: String(MAX_BYTES),
    HOOK_MAX_AGE_SECONDS: String(MAX_AGE_S),
    HOOK_MAX_FUTURE_SECONDS: String(MAX_FUTURE_S),
  };
  delete process.env.AWS_PROFILE;
  delete process.env.HOOK_EVENTS;
  delete process.env.HOOK_WEBSITE_IDS;
  // One cold start for the whole file, as Lambda reuses a warm environment.
  jest.isolateModules(() => {
    handler = (require('../../functions/hook-receiver/handler') as typeof import('../../functions/hook-receiver/handler')).handler;
  });
  await sqs.client.send(new PurgeQueueCommand({ QueueUrl: sqs.queueUrl }));
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await sqs?.close();
  await sm?.close();
});

beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------
// Requests, and how they are turned into API Gateway events.

type Route = 'plugin' | 'website';
type HeaderEntry = [string, string | undefined];

interface HookInput {
  route: Route;
  /** In order; undefined: the event has no headers at all. */
  headers: HeaderEntry[] | undefined;
  body: string | undefined;
  isBase64Encoded: boolean;
  rawQueryString: string;
}

/** A header object that keeps every generated name as an own property, even `__proto__`. */
function headerObject(entries: HeaderEntry[]): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of entries) Object.defineProperty(headers, name, { value, enumerable: true, writable: true, configurable: true });
  return headers;
}

function toEvent(input: HookInput): APIGatewayProxyEventV2 {
  const path = input.route === 'website' ? '/hooks/crisp/website' : '/hooks/crisp';
  const event = {
    version: '2.0',
    routeKey: `POST ${path}`,
    rawPath: path,
    rawQueryString: input.rawQueryString,
    headers: input.headers === undefined ? undefined : headerObject(input.headers),
    ...(input.rawQueryString ? { queryStringParameters: Object.fromEntries(new URLSearchParams(input.rawQueryString)) } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'POST', path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'fuzz' },
      requestId: randomUUID(),
      routeKey: `POST ${path}`,
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(input.body !== undefined ? { body: input.body } : {}),
    isBase64Encoded: input.isBase64Encoded,
  };
  return event as unknown as APIGatewayProxyEventV2;
}

/** The bytes API Gateway received: the body base64-decoded, or the string's UTF-8. */
function rawBytes(input: Pick<HookInput, 'body' | 'isBase64Encoded'>): Buffer {
  if (input.body === undefined) return Buffer.alloc(0);
  return Buffer.from(input.body, input.isBase64Encoded ? 'base64' : 'utf8');
}

const valuesOf = (entries: HeaderEntry[] | undefined, name: string): string[] =>
  (entries ?? []).filter(([key, value]) => key.toLowerCase() === name && value !== undefined).map(([, value]) => value as string);

/** Generation only: the first header with that name, as a server would look it up. */
const firstValue = (entries: HeaderEntry[], name: string): string | undefined => entries.find(([key]) => key.toLowerCase() === name)?.[1];

// ---------------------------------------------------------------------------------------------
// The oracle: was this request genuinely authenticated? Computed by openssl, never by the code
// under test. Permissive on purpose (any signature header, any timestamp header, either the
// header value verbatim or without surrounding whitespace, raw or compact body), so that it only
// flags a 2xx for a request nobody holding the secret could have produced.

/** Lowercase hex HMAC-SHA256 of arbitrary bytes, by openssl (the support helper takes UTF-8 text). */
function opensslHmacBytes(key: string, message: Buffer): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: message }).toString();
  const hex = out.trim().split('= ').pop() ?? '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

let opensslOracleCalls = 0;
let oracleChecks = 0;

/**
 * The bytes a genuine sender authenticated (none: not authenticated): for a Website Hook with the
 * real key, the body as sent; for a Plugin Hook, the raw bytes if a signature covers them, and
 * their compact re-serialisation if one covers that. What the receiver queues must be one of
 * these (which one depends on which of several signature headers it reads).
 */
function authenticatedBytes(input: HookInput): Buffer[] {
  oracleChecks += 1;
  const raw = rawBytes(input);
  if (input.route === 'website') return new URLSearchParams(input.rawQueryString).getAll('key').includes(WEBSITE_KEY) ? [raw] : [];
  const expand = (values: string[]) => values.flatMap((value) => [value, ...value.split(',')]).flatMap((value) => [value, value.trim()]);
  const signatures = new Set(expand(valuesOf(input.headers, 'x-crisp-signature')).map((value) => value.toLowerCase()).filter((value) => /^[0-9a-f]{64}$/.test(value)));
  if (signatures.size === 0) return [];
  const timestamps = new Set(expand(valuesOf(input.headers, 'x-crisp-request-timestamp')));
  const bodies = [raw];
  try {
    bodies.push(Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8'));
  } catch {
    // not JSON: the raw bytes only
  }
  return bodies.filter((body) =>
    [...timestamps].some((timestamp) => {
      opensslOracleCalls += 1;
      return signatures.has(opensslHmacBytes(SECRET, Buffer.concat([Buffer.from(`[${timestamp};`, 'utf8'), body, Buffer.from(']', 'utf8')])));
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Driving the handler, with the invariants that hold for every request.

const ALLOWED_STATUSES = new Set([200, 400, 401, 413]);
/** Per 200 {ok: true} (so queued) since the queue was last checked: the bodies it may have queued. */
let acknowledged: Buffer[][] = [];
let driven = 0;
const tally = new Map<string, number>();
const count = (key: string) => tally.set(key, (tally.get(key) ?? 0) + 1);

interface Outcome {
  status: number;
  body: { ok?: true; filtered?: true; error?: { code: string; message: string } };
}

async function drive(input: HookInput): Promise<Outcome> {
  const from = stdout.length;
  let result: APIGatewayProxyStructuredResultV2;
  try {
    result = await handler(toEvent(input), lambdaContext());
  } catch (error) {
    throw new Error(`the handler rejected instead of answering: ${String(error)}`);
  }
  driven += 1;
  const status = result.statusCode ?? 0;
  if (!ALLOWED_STATUSES.has(status)) throw new Error(`status ${status} (allowed: ${[...ALLOWED_STATUSES].join(', ')}): ${result.body}`);
  expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });

  // The reply's shape.
  const body = JSON.parse(result.body ?? '') as Outcome['body'];
  if (status === 200) {
    expect([{ ok: true }, { ok: true, filtered: true }]).toContainEqual(body);
  } else {
    expect(body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
  }
  count(`${status} ${body.error?.code ?? (body.filtered ? 'filtered' : 'ok')}`);

  // Nothing sensitive echoed, in the reply or in the log.
  const givenSignatures = valuesOf(input.headers, 'x-crisp-signature').map((value) => value.trim()).filter((value) => value.length >= 16);
  const replyText = [body.error?.code ?? '', body.error?.message ?? ''].join('\n').toLowerCase();
  for (const value of [SECRET, WEBSITE_KEY, encodeURIComponent(WEBSITE_KEY), ...givenSignatures]) {
    if (replyText.includes(value.toLowerCase())) throw new Error(`the reply echoes a secret, the key or the signature: ${result.body}`);
  }
  const lines = stdout.slice(from).join('').split('\n').filter((line) => line.trim() !== '');
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const decisions = entries.filter((entry) => ['hook rejected', 'hook accepted', 'hook filtered', 'hook not accepted'].includes(String(entry.message)));
  expect(decisions).toHaveLength(1);
  expect(entries.some((entry) => entry.level === 'ERROR')).toBe(false);
  const wellFormed = givenSignatures.flatMap((value) => value.split(',')).map((value) => value.trim().toLowerCase()).filter((value) => /^[0-9a-f]{64}$/.test(value));
  const logSensitive = [SECRET, WEBSITE_KEY, encodeURIComponent(WEBSITE_KEY), ...wellFormed];
  if (input.rawQueryString.length >= 16) logSensitive.push(input.rawQueryString);
  for (const line of lines) {
    const lower = line.toLowerCase();
    const leaked = logSensitive.filter((value) => lower.includes(value.toLowerCase()));
    if (leaked.length > 0) throw new Error(`a log line holds ${JSON.stringify(leaked)}: ${line}`);
  }

  // A 2xx only after genuine authentication (openssl is the judge).
  if (status >= 200 && status < 300) {
    const authenticated = authenticatedBytes(input);
    if (authenticated.length === 0) throw new Error(`2xx for a request that is not genuinely authenticated: ${result.body}`);
    // What is signed is what is queued: the bytes received, or their compact form when only that is signed.
    if (!body.filtered) acknowledged.push(authenticated);
  }
  return { status, body };
}

// ---------------------------------------------------------------------------------------------
// The queue: what it holds must be exactly what was acknowledged, byte for byte.

const bytesOfMessage = (message: Message): Buffer =>
  message.MessageAttributes?.bodyEncoding?.StringValue === 'base64' ? Buffer.from(message.Body ?? '', 'base64') : Buffer.from(message.Body ?? '', 'utf8');

/** Receives and deletes everything in the hook queue. */
async function drainQueue(): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return all;
    all.push(...messages);
    for (const message of messages) await sqs.client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: message.ReceiptHandle }));
  }
}

/** The queue holds exactly one message per acknowledgement, each one of its authenticated bodies; then it is empty. */
async function expectQueueHoldsAcknowledged(): Promise<Message[]> {
  const messages = await drainQueue();
  const unmatched = acknowledged.map((candidates) => candidates.map((body) => body.toString('hex')));
  acknowledged = [];
  const extra: string[] = [];
  for (const message of messages) {
    const got = bytesOfMessage(message).toString('hex');
    const index = unmatched.findIndex((candidates) => candidates.includes(got));
    if (index === -1) extra.push(got);
    else unmatched.splice(index, 1);
  }
  expect({ queuedButNotAcknowledged: extra, acknowledgedButNotQueued: unmatched }).toEqual({ queuedButNotAcknowledged: [], acknowledgedButNotQueued: [] });
  return messages;
}

/** Every 50 requests, and after each property: nothing queued without an acknowledgement. */
async function periodicQueueCheck(): Promise<void> {
  if (driven % 50 === 0) await expectQueueHoldsAcknowledged();
}

// ---------------------------------------------------------------------------------------------
// Generators: bodies.

interface BodyValue {
  body: string | undefined;
  isBase64Encoded: boolean;
}

const text = (body: string): BodyValue => ({ body, isBase64Encoded: false });
const base64 = (bytes: Uint8Array): BodyValue => ({ body: Buffer.from(bytes).toString('base64'), isBase64Encoded: true });

/** One UTF-16 code unit, lone surrogates included. */
const utf16Unit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyString = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.oneof(
    fc.string(constraints),
    fc.string({ ...constraints, unit: 'grapheme' }),
    fc.string({ ...constraints, unit: 'binary' }),
    fc.string({ ...constraints, unit: 'binary-ascii' }),
    fc.string({ ...constraints, unit: utf16Unit }),
  );

/** Byte sequences that are not UTF-8 (stray continuation, overlong, surrogate, truncated, > U+10FFFF). */
const NOT_UTF8: number[][] = [[0xff], [0xfe], [0xc3], [0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];

const WEBSITE_ID = '8c842203-7ed8-4e29-a608-7cf78a7d2fcc';

const jsonAny = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }), fc.jsonValue({ maxDepth: 2, stringUnit: 'grapheme' }));

/** Field values a Crisp envelope never has. */
const wrongFieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  fc.constantFrom<unknown>(
    null, '', ' ', 0, -1, 1.5, 2 ** 53, -0, true, false, [], {}, ['message:send'], { website_id: WEBSITE_ID },
    'has space', 'a'.repeat(129), 'ü', 'message send', ':send', 'message:', 'message::send', '1.5', '-1', '1e3',
    '12345678901234567', '9999999999999999', '0x10', ' 1', 'NaN', 'Infinity',
  ),
);
const websiteIdArb = fc.oneof(fc.uuid(), fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/));
const eventArb = fc.oneof(
  fc.constantFrom('message:send', 'message:received', 'session:set_email', 'session:set_data', 'people:profile:created', 'campaign:progress'),
  fc.stringMatching(/^[A-Za-z0-9_]{1,12}(:[A-Za-z0-9_]{1,12}){0,3}$/),
);
const envelopeTimestampArb = fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.stringMatching(/^[0-9]{1,15}$/));

/**
 * Whether a value (after a JSON round trip) is acceptable for an envelope field, per the contract:
 * a website ID, an event namespace, a time in milliseconds. Used only to keep "definitely not an
 * envelope" generators honest.
 */
function validEnvelopeField(field: string, value: unknown): boolean {
  const v: unknown = value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  if (v === undefined || v === null || v === '') return false;
  if (field === 'website_id') return typeof v === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(v);
  if (field === 'event') return typeof v === 'string' && v.length <= 128 && /^[a-z0-9_]+(:[a-z0-9_]+)*$/i.test(v);
  if (field === 'data') return typeof v === 'object' && !Array.isArray(v);
  const n = typeof v === 'string' && /^[0-9]{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** Objects that look like envelopes, each field right or wrong (or absent). */
const envelopeLike = fc.record(
  {
    website_id: fc.oneof(websiteIdArb, wrongFieldValue),
    event: fc.oneof(eventArb, wrongFieldValue),
    timestamp: fc.oneof(envelopeTimestampArb, wrongFieldValue),
    data: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

type Layout = 'compact' | 'pretty' | 'tabs' | 'escaped';
/** JSON text in several wire forms: compact, pretty, tab-indented, or with every non-ASCII character escaped. */
function serialise(value: unknown, layout: Layout): string {
  if (layout === 'pretty') return JSON.stringify(value, null, 2);
  if (layout === 'tabs') return JSON.stringify(value, null, '\t');
  const compact = JSON.stringify(value);
  if (layout === 'escaped') return compact.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return compact;
}
const layoutArb = fc.constantFrom<Layout>('compact', 'pretty', 'tabs', 'escaped');

/** An event time within the freshness window, as of when the case is generated (just before it runs). */
const freshEventTimestamp = fc.integer({ min: -(MAX_AGE_S * 1000 - MARGIN_MS), max: MAX_FUTURE_S * 1000 - MARGIN_MS }).map((offset) => Date.now() + offset);

/** A valid envelope with random data (an object) and extra members, in a random member order. */
const envelopeValue = (timestamp: fc.Arbitrary<number | string>) => fc
  .record({
    website_id: websiteIdArb,
    event: eventArb,
    timestamp,
    data: fc.dictionary(fc.string({ maxLength: 8 }), jsonAny, { maxKeys: 4 }),
    extra: fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    order: fc.nat(),
  })
  .map(({ extra, order, ...fields }) => {
    const members: Array<[string, unknown]> = Object.entries(extra).filter(([key]) => !(key in fields));
    for (const [key, value] of Object.entries(fields)) members.splice(order % (members.length + 1), 0, [key, value]);
    const envelope: Record<string, unknown> = {};
    for (const [key, value] of members) Object.defineProperty(envelope, key, { value, enumerable: true, writable: true, configurable: true });
    return { envelope, event: fields.event, websiteId: fields.website_id };
  });
const validEnvelopeValue = envelopeValue(fc.oneof(envelopeTimestampArb, freshEventTimestamp));

/** A valid envelope as JSON text that fits in the queue even base64-encoded with its attributes. */
const envelopeBody = (value: ReturnType<typeof envelopeValue>) =>
  fc
    .tuple(value, layoutArb)
    .map(([envelope, layout]) => ({ ...envelope, text: serialise(envelope.envelope, layout) }))
    .filter(({ text: body }) => Buffer.byteLength(body, 'utf8') <= 2500);
const validEnvelopeBody = envelopeBody(validEnvelopeValue);
/** The same with an event time inside the freshness window (which Website Hooks are checked against). */
const freshEnvelopeBody = envelopeBody(envelopeValue(freshEventTimestamp));

/** Bodies over MAX_BYTES (and at the edges of it). */
const hugeBody: fc.Arbitrary<BodyValue> = fc.oneof(
  fc.tuple(fc.integer({ min: MAX_BYTES + 1, max: MAX_BYTES * 4 }), fc.oneof(fc.constantFrom('x', 'é', '😀', '\u0000', ' '), fc.string({ minLength: 1, maxLength: 4, unit: 'binary' }))).map(
    ([size, unit]) => text(unit.repeat(Math.ceil(size / Buffer.byteLength(unit, 'utf8')))),
  ),
  fc.integer({ min: MAX_BYTES + 1, max: MAX_BYTES * 3 }).map((size) => {
    const shell = JSON.stringify({ website_id: WEBSITE_ID, event: 'message:send', timestamp: Date.now(), data: { content: '' } });
    return text(shell.replace('"content":""', `"content":"${'x'.repeat(Math.max(0, size - shell.length))}"`));
  }),
  fc.tuple(fc.integer({ min: MAX_BYTES + 1, max: MAX_BYTES * 3 }), fc.integer({ min: 0, max: 255 })).map(([size, byte]) => base64(Buffer.alloc(size, byte))),
  fc.constantFrom(MAX_BYTES - 1, MAX_BYTES, MAX_BYTES + 1).map((size) => text('{"a":"' + 'y'.repeat(size - 8) + '"}')),
);

/** Deeply nested JSON, including inside an otherwise valid envelope. */
const deepBody: fc.Arbitrary<BodyValue> = fc.oneof(
  fc.integer({ min: 100, max: 2000 }).map((depth) => text('['.repeat(depth) + ']'.repeat(depth))),
  fc.integer({ min: 100, max: 700 }).map((depth) => text('{"a":'.repeat(depth) + '1' + '}'.repeat(depth))),
  fc.integer({ min: 100, max: 1500 }).map((depth) => text(`{"website_id":"${WEBSITE_ID}","event":"message:send","timestamp":1,"data":${'['.repeat(depth)}${']'.repeat(depth)}}`)),
);

/** Bodies of every kind: what a sender without the secret might throw at the endpoint. */
const anyBody: fc.Arbitrary<BodyValue> = fc.oneof(
  anyString({ maxLength: 200 }).map(text),
  fc.uint8Array({ maxLength: 300 }).map(base64),
  fc
    .tuple(fc.constantFrom(...NOT_UTF8), fc.nat({ max: 2 }))
    .map(([bad, where]) => {
      const parts = [`{"website_id":"${WEBSITE_ID}","event":"message:send","data":{"content":"`, `"},"timestamp":${Date.now()}}`];
      const bytes = where === 0 ? Buffer.from(bad) : Buffer.concat([Buffer.from(parts[0]!), Buffer.from(bad), Buffer.from(parts[1]!)]);
      return base64(bytes);
    }),
  fc.oneof(anyString({ maxLength: 40 }), fc.constantFrom('%%%', '====', 'Y', 'YQ', 'YQ=', 'Y Q = =', '-_-_', 'e30', 'eyJ9', '\u00ff\u00fe', '😀', '{}')).map((body) => ({ body, isBase64Encoded: true })),
  fc.constantFrom<BodyValue>({ body: '', isBase64Encoded: false }, { body: '', isBase64Encoded: true }, { body: undefined, isBase64Encoded: false }, { body: undefined, isBase64Encoded: true }),
  hugeBody,
  fc.tuple(jsonAny, layoutArb).map(([value, layout]) => text(serialise(value, layout))),
  fc.tuple(envelopeLike, layoutArb, fc.boolean()).map(([value, layout, asBase64]) => {
    const body = serialise(value, layout);
    return asBase64 ? base64(Buffer.from(body, 'utf8')) : text(body);
  }),
  validEnvelopeBody.map(({ text: body }) => text(body)),
  deepBody,
  fc.constantFrom(
    '1e999', '-0', '12345678901234567890', 'NaN', 'null', 'true', '"str"', '[]', '{}', '\uFEFF{}', '{"website_id":"a","website_id":5}',
    `{"website_id":"${WEBSITE_ID}","event":"message:send","timestamp":1}garbage`, `{"website_id":"${WEBSITE_ID}","event":"message:send","timestamp":1`,
    `{"__proto__":{"website_id":"${WEBSITE_ID}","event":"message:send","timestamp":1}}`,
  ).map(text),
);

// ---------------------------------------------------------------------------------------------
// Generators: timestamps (recipes, materialised at run time so "fresh" stays fresh).

type TsRecipe =
  | { kind: 'relative'; unit: 'ms' | 's' | 'padded'; offsetMs: number; prefix: string; suffix: string }
  | { kind: 'literal'; value: string };

function materialiseTs(recipe: TsRecipe, now: number): string {
  if (recipe.kind === 'literal') return recipe.value;
  const ms = Math.max(0, now + recipe.offsetMs);
  const digits = recipe.unit === 's' ? String(Math.floor(ms / 1000)) : recipe.unit === 'padded' ? String(ms).padStart(16, '0') : String(ms);
  return `${recipe.prefix}${digits}${recipe.suffix}`;
}

const tsUnitArb = fc.constantFrom<'ms' | 's' | 'padded'>('ms', 's', 'padded');
const relative = (min: number, max: number, affixes = fc.constant<[string, string]>(['', ''])) =>
  fc.record({ unit: tsUnitArb, offsetMs: fc.integer({ min, max }), affixes }).map(({ unit, offsetMs, affixes: [prefix, suffix] }): TsRecipe => ({ kind: 'relative', unit, offsetMs, prefix, suffix }));

const freshTs = relative(-(MAX_AGE_S * 1000 - MARGIN_MS), MAX_FUTURE_S * 1000 - MARGIN_MS);
const staleTs = relative(-Date.now() + 1, -(MAX_AGE_S * 1000 + MARGIN_MS));
const futureTs = relative(MAX_FUTURE_S * 1000 + MARGIN_MS, 1e13);
const malformedTs = fc
  .oneof(
    anyString({ maxLength: 24 }).filter((value) => !/^\s*[0-9]{1,16}\s*$/.test(value)),
    fc.constantFrom('', ' ', '-1', '+1700000000', '1.7e12', '1700000000.5', '0x6553F100', '١٧٠٠٠٠٠٠٠٠', 'NaN', 'Infinity', 'null', '1,2', '1_700_000_000', '17000000000000000'),
    fc.stringMatching(/^[0-9]{17,25}$/),
  )
  .map((value): TsRecipe => ({ kind: 'literal', value }));
/** Fresh digits with decorations: whitespace (trimmed by the receiver), or signs and exponents (malformed). */
const decoratedTs = relative(-(MAX_AGE_S * 1000 - MARGIN_MS), MAX_FUTURE_S * 1000 - MARGIN_MS, fc.tuple(fc.constantFrom('', ' ', '\t', '+', '-', '0x'), fc.constantFrom('', ' ', '\t', '.0', 'e0', 'Z', ',1')));
const anyTs = fc.oneof(freshTs, staleTs, futureTs, malformedTs, decoratedTs, fc.constantFrom<TsRecipe>({ kind: 'literal', value: '0' }, { kind: 'literal', value: '1' }, { kind: 'literal', value: '9999999999999999' }));

// ---------------------------------------------------------------------------------------------
// Generators: signatures (recipes, computed at run time over the body and timestamp they go with).

type Mangle =
  | { kind: 'none' }
  | { kind: 'upper' }
  | { kind: 'pad' }
  | { kind: 'flip'; index: number; upper: boolean }
  | { kind: 'non-hex'; index: number; char: string }
  | { kind: 'drop-last' }
  | { kind: 'add-char' }
  | { kind: 'double' }
  | { kind: 'base64' }
  | { kind: 'prefixed' };

type SigRecipe =
  | { kind: 'literal'; value: string }
  | { kind: 'hmac'; secret: string; over: 'right' | 'compact' | 'other-body' | 'other-timestamp' | 'no-brackets' | 'swapped' | 'body-only' | 'plain-sha256'; mangle: Mangle };

const HEX = '0123456789abcdef';

function applyMangle(hex: string, mangle: Mangle): string {
  switch (mangle.kind) {
    case 'none':
      return hex;
    case 'upper':
      return hex.toUpperCase();
    case 'pad':
      return ` ${hex}\t`;
    case 'flip': {
      const i = mangle.index % hex.length;
      const current = hex[i]!.toLowerCase();
      const replacement = HEX[(HEX.indexOf(current) + 1 + (mangle.index % 15)) % 16]!;
      const flipped = hex.slice(0, i) + replacement + hex.slice(i + 1);
      return mangle.upper ? flipped.toUpperCase() : flipped;
    }
    case 'non-hex': {
      const i = mangle.index % hex.length;
      return hex.slice(0, i) + mangle.char + hex.slice(i + 1);
    }
    case 'drop-last':
      return hex.slice(0, -1);
    case 'add-char':
      return hex + '0';
    case 'double':
      return hex + hex;
    case 'base64':
      return Buffer.from(hex, 'hex').toString('base64');
    case 'prefixed':
      return `sha256=${hex}`;
  }
}

/** Generation only: node:crypto creates the (mostly wrong) signatures; openssl judges. */
const nodeHmac = (secret: string, message: Buffer) => createHmac('sha256', secret).update(message).digest('hex');
const framed = (timestamp: string, body: Buffer) => Buffer.concat([Buffer.from(`[${timestamp};`, 'utf8'), body, Buffer.from(']', 'utf8')]);

function makeSignature(recipe: SigRecipe, raw: Buffer, timestamp: string): string {
  if (recipe.kind === 'literal') return recipe.value;
  let compact = raw;
  try {
    compact = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))), 'utf8');
  } catch {
    // not JSON
  }
  const ts = timestamp.trim();
  const secret = recipe.secret === 'real' ? SECRET : recipe.secret;
  const hex = {
    right: () => nodeHmac(secret, framed(ts, raw)),
    compact: () => nodeHmac(secret, framed(ts, compact)),
    'other-body': () => nodeHmac(secret, framed(ts, Buffer.concat([raw, Buffer.from([0])]))),
    'other-timestamp': () => nodeHmac(secret, framed(`${ts}0`, raw)),
    'no-brackets': () => nodeHmac(secret, Buffer.concat([Buffer.from(`${ts};`), raw])),
    swapped: () => nodeHmac(secret, Buffer.concat([Buffer.from('['), raw, Buffer.from(`;${ts}]`)])),
    'body-only': () => nodeHmac(secret, raw),
    'plain-sha256': () => createHash('sha256').update(framed(ts, raw)).digest('hex'),
  }[recipe.over]();
  return applyMangle(hex, recipe.mangle);
}

/** Mangles that break even the right MAC. */
const breakingMangle: fc.Arbitrary<Mangle> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), index: fc.nat({ max: 63 }), upper: fc.boolean() }),
  fc.record({ kind: fc.constant('non-hex' as const), index: fc.nat({ max: 63 }), char: fc.constantFrom('g', 'G', 'z', ' ', '-', '_', '٠', 'x', '\u0000', '😀') }),
  fc.constantFrom<Mangle>({ kind: 'drop-last' }, { kind: 'add-char' }, { kind: 'double' }, { kind: 'base64' }, { kind: 'prefixed' }),
);
const anyMangle: fc.Arbitrary<Mangle> = fc.oneof(fc.constantFrom<Mangle>({ kind: 'none' }, { kind: 'upper' }, { kind: 'pad' }), breakingMangle);

/** Secrets that are not the signing secret, and do not collapse to it (HMAC pads keys with NULs, so "secret\0" is "secret"). */
const otherSecret = fc
  .oneof(fc.constantFrom(WEBSITE_KEY, 'secret', SECRET.slice(0, -1), SECRET.toUpperCase(), `${SECRET}x`, ` ${SECRET}`, 'CRISP_BRIDGE_PLACEHOLDER: not set yet'), fc.string({ minLength: 1, maxLength: 40 }))
  .filter((secret) => secret.replace(/\0+$/, '') !== SECRET);

/** Signatures that are never right for the request they go with. */
const wrongSignature: fc.Arbitrary<SigRecipe> = fc.oneof(
  anyString({ maxLength: 80 }).map((value): SigRecipe => ({ kind: 'literal', value })),
  fc.oneof(fc.stringMatching(/^[0-9a-f]{1,63}$/), fc.stringMatching(/^[0-9a-f]{65,128}$/), fc.stringMatching(/^[0-9a-fA-F]{64}$/), fc.constantFrom('0'.repeat(64), 'f'.repeat(64), 'F'.repeat(64))).map(
    (value): SigRecipe => ({ kind: 'literal', value }),
  ),
  // The right message and secret, broken.
  fc.record({ kind: fc.constant('hmac' as const), secret: fc.constant('real'), over: fc.constantFrom('right' as const, 'compact' as const), mangle: breakingMangle }),
  // Well-formed and the real secret, over the wrong message.
  fc.record({
    kind: fc.constant('hmac' as const),
    secret: fc.constant('real'),
    over: fc.constantFrom('other-body' as const, 'other-timestamp' as const, 'no-brackets' as const, 'swapped' as const, 'body-only' as const, 'plain-sha256' as const),
    mangle: anyMangle,
  }),
  // The right message, another secret.
  fc.record({ kind: fc.constant('hmac' as const), secret: otherSecret, over: fc.constantFrom('right' as const, 'compact' as const), mangle: anyMangle }),
);

/** Right signatures, in the forms the receiver accepts (for the properties that mix them in). */
const genuineSignature: fc.Arbitrary<SigRecipe> = fc.record({
  kind: fc.constant('hmac' as const),
  secret: fc.constant('real'),
  over: fc.constantFrom('right' as const, 'compact' as const),
  mangle: fc.constantFrom<Mangle>({ kind: 'none' }, { kind: 'upper' }, { kind: 'pad' }),
});

// ---------------------------------------------------------------------------------------------
// Generators: headers.

/** How a header is sent: absent, once under some casing, twice under two casings, or comma-joined (as API Gateway joins duplicates). */
interface HeaderRecipe<T> {
  names: string[];
  values: T[];
  joiner: string | undefined;
}

const headerRecipe = <T>(name: string, value: fc.Arbitrary<T>): fc.Arbitrary<HeaderRecipe<T>> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record({ names: fc.tuple(fc.mixedCase(fc.constant(name))), values: fc.tuple(value), joiner: fc.constant(undefined) }) },
    { weight: 1, arbitrary: fc.constant({ names: [], values: [], joiner: undefined }) },
    {
      weight: 2,
      arbitrary: fc.record({
        names: fc.tuple(fc.mixedCase(fc.constant(name)), fc.mixedCase(fc.constant(name))).map(([a, b]) => (a === b ? [name, name.replace(/(^|-)([a-z])/g, (m) => m.toUpperCase())] : [a, b])),
        values: fc.tuple(value, value),
        joiner: fc.constant(undefined),
      }),
    },
    { weight: 2, arbitrary: fc.record({ names: fc.tuple(fc.constant(name)), values: fc.tuple(value, value), joiner: fc.constantFrom(',', ', ', ' ,') }) },
  ) as fc.Arbitrary<HeaderRecipe<T>>;

const headerName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 24 }),
  fc.string({ minLength: 1, maxLength: 12, unit: 'binary' }),
  fc.mixedCase(fc.constantFrom('content-type', 'content-length', 'x-delivery-attempt-count', 'x-delivery-attempt-limit', 'x-crisp-hook-origin', 'host', 'authorization', 'x-amzn-trace-id', 'x-forwarded-for')),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', '0', '', 'x-crisp-signature ', ' x-crisp-signature', 'x_crisp_signature', 'x-crisp-signature\u0000', 'x-crisp-request-timestamp '),
);
const headerValue = fc.oneof(anyString({ maxLength: 60 }), fc.stringMatching(/^[0-9]{1,20}$/), fc.constantFrom('', ' ', '0', '-1', '1e3', '999999', '1,2', 'plugin/rtm 38b411d9377a6a00 production'), fc.constant(undefined));
const extraHeaders = fc.array(fc.tuple(headerName, headerValue), { maxLength: 6 }) as fc.Arbitrary<HeaderEntry[]>;

// ---------------------------------------------------------------------------------------------
// Generators: query strings.

/** encodeURIComponent, except that a lone surrogate (which it refuses) is sent as is. */
const enc = (value: string): string => {
  try {
    return encodeURIComponent(value);
  } catch {
    return value;
  }
};
const K = WEBSITE_KEY;
const wrongKeyValue = fc.oneof(
  anyString({ maxLength: 40 }).filter((value) => value !== K),
  fc.constantFrom(`${K}x`, K.slice(0, -1), K.toUpperCase(), K.toLowerCase(), ` ${K}`, `${K} `, `${K}\u0000`, `\u0000${K}`, `${K}\n`, SECRET, '', [...K].reverse().join(''), K.replace('+', ' ')),
);
/** Query strings that never carry the real key as a `key` value. */
const wrongKeyQuery = fc.oneof(
  fc.constant(''),
  anyString({ maxLength: 60 }),
  wrongKeyValue.map((value) => `key=${enc(value)}`),
  wrongKeyValue.map((value) => `key=${value.replace(/[&#]/g, '')}`),
  fc.constantFrom(
    `key=${K}`, // unencoded: '+' decodes to a space
    `KEY=${enc(K)}`, `Key=${enc(K)}`, `key%20=${enc(K)}`, `%20key=${enc(K)}`, `key[]=${enc(K)}`, `keys=${enc(K)}`, `k=${enc(K)}`, `key;=${enc(K)}`,
    `key=${enc(K)}%00`, `key=${enc(K)}%20`, `key=%20${enc(K)}`, `key=${enc(enc(K))}`, `key=${enc(K).toLowerCase()}`, 'key=', 'key', `key==${enc(K)}`,
    `#key=${enc(K)}`, `x=1;key=${enc(K)}`, `x=${enc(`&key=${K}`)}`, `key=${enc(K).slice(0, -1)}`, `key=${enc(SECRET)}`,
  ),
  fc.tuple(fc.webQueryParameters(), wrongKeyValue).map(([params, value]) => `${params}&key=${enc(value)}`),
).filter((query) => !new URLSearchParams(query).getAll('key').includes(K));

/** Query strings that do carry the real key (some in ways a strict parser may still refuse). */
const genuineKeyQuery = fc.oneof(
  fc.constant(`key=${enc(K)}`),
  fc.constantFrom(
    `key=${K.replace('+', '%2B')}`, // '/' and '=' may stay raw in a query value
    `%6Bey=${enc(K)}`, // an encoded name
    `key=${enc(K).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}`, // lower-case escapes
    `key=${enc(K)}&key=wrong`,
    `key=wrong&key=${enc(K)}`,
    `a=1&key=${enc(K)}&b=2`,
  ),
  fc.tuple(fc.webQueryParameters(), fc.boolean()).map(([params, before]) => (before ? `key=${enc(K)}&${params}` : `${params}&key=${enc(K)}`)),
);

// ---------------------------------------------------------------------------------------------
// Whole requests.

interface Recipe {
  route: Route;
  body: BodyValue;
  sig: HeaderRecipe<SigRecipe>;
  ts: HeaderRecipe<TsRecipe>;
  extra: HeaderEntry[];
  extraFirst: boolean;
  noHeaders: boolean;
  query: string;
}

/** Turns a recipe into a concrete request, now: timestamps materialised, signatures computed. */
function build(recipe: Recipe): HookInput {
  const now = Date.now();
  const entriesOf = <T>(header: HeaderRecipe<T>, value: (item: T) => string): HeaderEntry[] => {
    const values = header.values.map(value);
    if (header.joiner !== undefined) return header.names.length > 0 ? [[header.names[0]!, values.join(header.joiner)]] : [];
    return header.names.map((name, i) => [name, values[i]]);
  };
  const tsEntries = entriesOf(recipe.ts, (ts) => materialiseTs(ts, now));
  const withoutSignature = recipe.extraFirst ? [...recipe.extra, ...tsEntries] : [...tsEntries, ...recipe.extra];
  const timestamp = firstValue(withoutSignature, 'x-crisp-request-timestamp') ?? '';
  const raw = rawBytes(recipe.body);
  const sigEntries = entriesOf(recipe.sig, (sig) => makeSignature(sig, raw, timestamp));
  const headers = recipe.extraFirst ? [...recipe.extra, ...tsEntries, ...sigEntries] : [...tsEntries, ...sigEntries, ...recipe.extra];
  return {
    route: recipe.route,
    headers: recipe.noHeaders ? undefined : headers,
    body: recipe.body.body,
    isBase64Encoded: recipe.body.isBase64Encoded,
    rawQueryString: recipe.query,
  };
}

const recipe = (parts: {
  route: fc.Arbitrary<Route>;
  body: fc.Arbitrary<BodyValue>;
  sig: fc.Arbitrary<SigRecipe>;
  ts: fc.Arbitrary<TsRecipe>;
  query: fc.Arbitrary<string>;
  noHeaders?: fc.Arbitrary<boolean>;
}): fc.Arbitrary<Recipe> =>
  fc.record({
    route: parts.route,
    body: parts.body,
    sig: headerRecipe('x-crisp-signature', parts.sig),
    ts: headerRecipe('x-crisp-request-timestamp', parts.ts),
    extra: extraHeaders,
    extraFirst: fc.boolean(),
    noHeaders: parts.noHeaders ?? fc.oneof({ weight: 19, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    query: parts.query,
  });

// ---------------------------------------------------------------------------------------------

describe('hook receiver under bad input (property-based)', () => {
  afterEach(async () => {
    // After every property: the queue holds exactly what was acknowledged, nothing else.
    await expectQueueHoldsAcknowledged();
  });

  it('Plugin Hooks without a valid signature: never 2xx, never 5xx, never queued, nothing echoed', async () => {
    const unauthenticated = recipe({
      route: fc.constant('plugin'),
      body: anyBody,
      sig: wrongSignature,
      ts: anyTs,
      query: fc.oneof(fc.constant(''), wrongKeyQuery, genuineKeyQuery), // the Website Hook key never opens this route
    });
    await fc.assert(
      fc.asyncProperty(unauthenticated, async (r) => {
        const { status } = await drive(build(r));
        // 401, or 413 for a body too large to read further: a forged hook never reaches the envelope check (400).
        expect([401, 413]).toContain(status);
        await periodicQueueCheck();
      }),
      runs(1000),
    );
    expect(acknowledged).toEqual([]);
  });

  it('Website Hooks without the real key: never 2xx, never 5xx, never queued, nothing echoed', async () => {
    const unauthenticated = recipe({
      route: fc.constant('website'),
      body: anyBody,
      sig: fc.oneof(wrongSignature, genuineSignature), // a Plugin Hook signature never opens this route
      ts: anyTs,
      query: wrongKeyQuery,
    });
    await fc.assert(
      fc.asyncProperty(unauthenticated, async (r) => {
        const { status } = await drive(build(r));
        expect([401, 413]).toContain(status);
        await periodicQueueCheck();
      }),
      runs(600),
    );
    expect(acknowledged).toEqual([]);
  });

  it('mixed genuine and forged requests on both routes: a 2xx only when openssl agrees it was authenticated; the queue holds exactly the acknowledged bodies', async () => {
    const before = new Map(tally);
    const checksBefore = oracleChecks;
    const mixed = recipe({
      route: fc.constantFrom<Route>('plugin', 'website'),
      body: fc.oneof(
        { weight: 3, arbitrary: validEnvelopeBody.map(({ text: body }) => text(body)) },
        { weight: 1, arbitrary: validEnvelopeBody.map(({ text: body }) => base64(Buffer.from(body, 'utf8'))) },
        { weight: 3, arbitrary: anyBody },
      ),
      sig: fc.oneof({ weight: 3, arbitrary: genuineSignature }, { weight: 2, arbitrary: wrongSignature }),
      ts: fc.oneof({ weight: 4, arbitrary: freshTs }, { weight: 2, arbitrary: anyTs }),
      query: fc.oneof(genuineKeyQuery, wrongKeyQuery),
      noHeaders: fc.constant(false),
    });
    await fc.assert(
      fc.asyncProperty(mixed, async (r) => {
        await drive(build(r));
        await periodicQueueCheck();
      }),
      runs(600),
    );
    // The oracle was exercised: genuine requests were accepted, and forged ones refused.
    const accepted = (tally.get('200 ok') ?? 0) - (before.get('200 ok') ?? 0);
    expect(accepted).toBeGreaterThan(10);
    expect(oracleChecks - checksBefore).toBe(accepted);
    expect((tally.get('401 signature_mismatch') ?? 0) - (before.get('401 signature_mismatch') ?? 0)).toBeGreaterThan(0);
  });

  it('genuinely authenticated but unacceptable (stale, future or malformed timestamp; not an envelope; too large): the right 4xx, never queued', async () => {
    type Case = { route: Route; body: BodyValue; ts: TsRecipe | undefined; expected: { status: number; codes: string[] } };
    const badTimestamp = fc.tuple(fc.constantFrom<Route>('plugin', 'website'), validEnvelopeBody, fc.oneof(staleTs, futureTs, malformedTs)).map(
      ([route, { text: body }, ts]): Case => ({
        route,
        body: text(body),
        ts,
        expected: {
          status: 401,
          codes: route === 'plugin' ? ['stale_timestamp', 'future_timestamp', 'timestamp_malformed', 'timestamp_missing'] : ['stale_timestamp', 'future_timestamp', 'timestamp_malformed'],
        },
      }),
    );
    const notAnEnvelope = fc
      .tuple(
        fc.constantFrom<Route>('plugin', 'website'),
        fc.oneof(
          fc.jsonValue({ maxDepth: 2 }).filter((value) => typeof value !== 'object' || value === null || Array.isArray(value)).map((value) => text(JSON.stringify(value))),
          fc
            .tuple(validEnvelopeValue, fc.constantFrom('website_id', 'event', 'timestamp', 'data'), fc.oneof(wrongFieldValue, fc.constant(undefined)))
            .filter(([, field, value]) => !validEnvelopeField(field, value))
            .map(([{ envelope }, field, value]) => {
              const copy = JSON.parse(JSON.stringify(envelope)) as Record<string, unknown>;
              if (value === undefined) delete copy[field];
              else copy[field] = value;
              return text(JSON.stringify(copy));
            }),
          fc.constantFrom(...NOT_UTF8).map((bad) => base64(Buffer.concat([Buffer.from(`{"website_id":"${WEBSITE_ID}","event":"message:send","timestamp":1,"data":"`), Buffer.from(bad), Buffer.from('"}')]))),
          fc.constantFrom(text(''), { body: undefined, isBase64Encoded: false }, text('not json'), text('{"website_id":'), text('\uFEFF{}')),
        ),
        freshTs,
      )
      .map(([route, body, ts]): Case => ({ route, body, ts, expected: { status: 400, codes: ['invalid_envelope'] } }));
    const tooLarge = fc.tuple(fc.constantFrom<Route>('plugin', 'website'), hugeBody.filter((body) => rawBytes(body).length > MAX_BYTES), freshTs).map(
      ([route, body, ts]): Case => ({ route, body, ts, expected: { status: 413, codes: ['payload_too_large'] } }),
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(badTimestamp, notAnEnvelope, tooLarge), fc.mixedCase(fc.constant('x-crisp-signature')), async (c, sigName) => {
        const timestamp = c.ts === undefined ? '' : materialiseTs(c.ts, Date.now());
        const raw = rawBytes(c.body);
        const headers: HeaderEntry[] = [['x-crisp-request-timestamp', timestamp]];
        if (c.route === 'plugin') headers.push([sigName, makeSignature({ kind: 'hmac', secret: 'real', over: 'right', mangle: { kind: 'none' } }, raw, timestamp)]);
        const query = c.route === 'website' ? `key=${enc(K)}` : '';
        const { status, body } = await drive({ route: c.route, headers, body: c.body.body, isBase64Encoded: c.body.isBase64Encoded, rawQueryString: query });
        expect({ status, code: body.error?.code }).toEqual({ status: c.expected.status, code: expect.any(String) });
        expect(c.expected.codes).toContain(body.error?.code);
        await periodicQueueCheck();
      }),
      runs(400),
    );
    expect(acknowledged).toEqual([]);
  });

  it('a genuinely signed random envelope (signature by openssl) IS accepted, 200 {ok:true}, and its signed text queued exactly once, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        freshEnvelopeBody,
        fc.record({
          route: fc.constantFrom<Route>('plugin', 'plugin', 'website'),
          unit: tsUnitArb,
          offsetMs: fc.integer({ min: -(MAX_AGE_S * 1000 - MARGIN_MS), max: MAX_FUTURE_S * 1000 - MARGIN_MS }),
          signOver: fc.constantFrom<'raw' | 'compact'>('raw', 'compact'),
          transport: fc.constantFrom<'text' | 'base64'>('text', 'base64'),
          upper: fc.boolean(),
          sigName: fc.mixedCase(fc.constant('x-crisp-signature')),
          tsName: fc.mixedCase(fc.constant('x-crisp-request-timestamp')),
          attempt: fc.integer({ min: 1, max: 20 }),
        }),
        async ({ text: body, event, websiteId }, o) => {
          const timestamp = materialiseTs({ kind: 'relative', unit: o.unit, offsetMs: o.offsetMs, prefix: '', suffix: '' }, Date.now());
          const headers: HeaderEntry[] = [
            ['content-type', 'application/json; charset=utf-8'],
            [o.tsName, timestamp],
            ['x-delivery-attempt-count', String(o.attempt)],
            ['x-delivery-attempt-limit', '20'],
          ];
          if (o.route === 'plugin') {
            const signed = o.signOver === 'compact' ? JSON.stringify(JSON.parse(body)) : body;
            const signature = opensslHmacSha256(SECRET, `[${timestamp};${signed}]`);
            headers.push([o.sigName, o.upper ? signature.toUpperCase() : signature]);
          }
          const wire = o.transport === 'base64' ? base64(Buffer.from(body, 'utf8')) : text(body);
          const outcome = await drive({ route: o.route, headers, ...wire, rawQueryString: o.route === 'website' ? `key=${enc(K)}` : '' });
          expect(outcome).toEqual({ status: 200, body: { ok: true } });

          const messages = await expectQueueHoldsAcknowledged();
          expect(messages).toHaveLength(1);
          const message = messages[0]!;
          // The signed text is queued: the body as sent, or its compact form when only that was signed.
          const signedText = o.route === 'plugin' && o.signOver === 'compact' ? JSON.stringify(JSON.parse(body)) : body;
          expect(bytesOfMessage(message).toString('utf8')).toBe(signedText);
          expect(message.MessageAttributes?.event?.StringValue).toBe(event);
          expect(message.MessageAttributes?.websiteId?.StringValue).toBe(websiteId);
          expect(message.MessageAttributes?.hookKind?.StringValue).toBe(o.route);
          expect(message.MessageAttributes?.deliveryAttempt?.StringValue).toBe(String(o.attempt));
        },
      ),
      runs(40),
    );
  });

  it('in the end: the queue and its dead-letter queue are empty (nothing queued beyond what was acknowledged and checked)', async () => {
    expect(driven).toBeGreaterThan(1000 * Math.min(1, SCALE));
    expect(await drainQueue()).toEqual([]);
    const attributes = await sqs.client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    expect(attributes.Attributes).toMatchObject({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
    const dlq = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(dlq.Messages ?? []).toEqual([]);
    if (process.env.FUZZ_REPORT) process.stderr.write(`hook-receiver fuzz: ${driven} requests, openssl oracle calls ${opensslOracleCalls}, outcomes ${JSON.stringify(Object.fromEntries([...tally].sort()))}\n`);
  });
});
