/**
 * The receiver reads each hook once: one `JSON.parse` of the body (whether the raw bytes or only
 * their compact form are signed) and one reading of X-Crisp-Request-Timestamp. Counted with spies
 * on `JSON.parse` and `RegExp.prototype.test` around one call of the use case (`receiveHook`) with
 * in-memory ports, so that nothing else (an SDK, an emulator) parses in the window.
 */
import { createHmac } from 'node:crypto';
import { parseEnvelope, type QueueMessage } from '../../functions/commons/core/hook-envelope';
import { createLogger } from '../../functions/commons/logger';
import { type HookRequest, type ReceiverDeps, receiveHook } from '../../functions/hook-receiver/receive-hook';

const SECRET = 'parse-once-test-secret';
const WEBSITE_KEY = 'parse-once-website-key';
const NOW = 1_796_000_000_000;
/** Appears in the body only: a parse of the body is a parse of a string holding it. */
const MARKER = 'parse-once-marker-7f3a';

function deps(): { deps: ReceiverDeps; queued: QueueMessage[]; lines: string[] } {
  const queued: QueueMessage[] = [];
  const lines: string[] = [];
  const pair = (current: string) => ({ get: async () => ({ ok: true as const, value: { current } }), refresh: async () => ({ ok: true as const, value: { current } }) });
  return {
    queued,
    lines,
    deps: {
      config: { maxAgeSeconds: 3600, maxFutureSeconds: 300, maxMessageBytes: 262_144, filter: { events: [], websiteIds: [] } },
      hookSecret: pair(SECRET),
      websiteKey: pair(WEBSITE_KEY),
      queue: {
        send: async (message) => {
          queued.push(message as QueueMessage);
          return `m-${queued.length}`;
        },
      },
      now: () => NOW,
      logger: createLogger({ write: (line) => lines.push(line) }),
    },
  };
}

const sign = (timestamp: string, text: string) => createHmac('sha256', SECRET).update(`[${timestamp};${text}]`).digest('hex');

function envelope(): Record<string, unknown> {
  return {
    website_id: '42286ab3-b29a-4fde-8538-da0ae501d825',
    event: 'message:send',
    timestamp: NOW - 2000,
    data: { type: 'text', from: 'user', origin: 'chat', content: `hello ${MARKER}`, session_id: 'session_1', fingerprint: 163408807756286 },
  };
}

/** One call of `receiveHook`, counting the parses of the body and the readings of `timestamp`. */
async function receiveCounting(request: HookRequest, timestamp: string) {
  const { deps: ports, queued, lines } = deps();
  const parse = jest.spyOn(JSON, 'parse');
  const test = jest.spyOn(RegExp.prototype, 'test');
  let response;
  let bodyParses: number;
  let timestampReads: number;
  try {
    response = await receiveHook(request, ports);
  } finally {
    // Counted before restoring: mockRestore clears the calls.
    bodyParses = parse.mock.calls.filter(([text]) => typeof text === 'string' && text.includes(MARKER)).length;
    timestampReads = test.mock.calls.filter(([text]) => text === timestamp).length;
    parse.mockRestore();
    test.mockRestore();
  }
  return { response, bodyParses, timestampReads, queued, lines };
}

const plugin = (body: string, timestamp: string, signature: string): HookRequest => ({
  kind: 'plugin',
  headers: { 'x-crisp-request-timestamp': timestamp, 'x-crisp-signature': signature, 'x-delivery-attempt-count': '1' },
  body,
  isBase64Encoded: false,
  rawQueryString: '',
});

describe('the receiver parses each hook once', () => {
  it('raw bytes signed: one JSON.parse of the body, one reading of the timestamp', async () => {
    const body = JSON.stringify(envelope());
    const timestamp = String(NOW - 1000);
    const { response, bodyParses, timestampReads, queued } = await receiveCounting(plugin(body, timestamp, sign(timestamp, body)), timestamp);
    expect(response.status).toBe(200);
    expect(queued.map((m) => m.body)).toEqual([body]);
    expect(bodyParses).toBe(1);
    expect(timestampReads).toBe(1);
  });

  it('raw bytes signed, sent base64-encoded: still one parse', async () => {
    const body = JSON.stringify(envelope());
    const timestamp = String(NOW - 1000);
    const request = { ...plugin(Buffer.from(body).toString('base64'), timestamp, sign(timestamp, body)), isBase64Encoded: true };
    const { deps: ports, queued } = deps();
    const parse = jest.spyOn(JSON, 'parse');
    let bodyParses = 0;
    const response = await receiveHook(request, ports).finally(() => {
      bodyParses = parse.mock.calls.filter(([text]) => typeof text === 'string' && text.includes(MARKER)).length;
      parse.mockRestore();
    });
    expect(response.status).toBe(200);
    expect(queued.map((m) => m.body)).toEqual([body]);
    expect(bodyParses).toBe(1);
  });

  it('only the compact form signed: the value parsed to make it is the one checked, not a second parse', async () => {
    const compact = JSON.stringify(envelope());
    const spaced = JSON.stringify(envelope(), null, 2);
    const timestamp = String(Math.floor((NOW - 1000) / 1000)); // seconds, as Crisp may send
    const { response, bodyParses, timestampReads, queued, lines } = await receiveCounting(plugin(spaced, timestamp, sign(timestamp, compact)), timestamp);
    expect(response.status).toBe(200);
    expect(queued.map((m) => m.body)).toEqual([compact]);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.message === 'hook accepted')).toMatchObject({ signature: 'compact', ageMs: 1000 });
    expect(bodyParses).toBe(1);
    expect(timestampReads).toBe(1);
  });

  it('a Website Hook (no signature): the timestamp header is read once, by the freshness check', async () => {
    const body = JSON.stringify(envelope());
    const timestamp = String(NOW - 1000);
    const request: HookRequest = { kind: 'website', headers: { 'x-crisp-request-timestamp': timestamp }, body, isBase64Encoded: false, rawQueryString: `key=${WEBSITE_KEY}` };
    const { response, bodyParses, timestampReads } = await receiveCounting(request, timestamp);
    expect(response.status).toBe(200);
    expect(bodyParses).toBe(1);
    expect(timestampReads).toBe(1);
  });

  // Skipping the UTF-8 decode of a body that came as text must not change what is processed.
  it.each([
    ['a byte order mark (decoding drops it)', (body: string) => `\uFEFF${body}`],
    ['a lone surrogate (the bytes carry U+FFFD)', (body: string) => body.replace('hello', 'hello \uD800')],
  ])('a text body with %s: processed as the decoded bytes, as before', async (_name, alter) => {
    const body = alter(JSON.stringify(envelope()));
    const decoded = new TextDecoder().decode(Buffer.from(body, 'utf8'));
    expect(decoded).not.toBe(body);
    const timestamp = String(NOW - 1000);
    const { response, queued } = await receiveCounting(plugin(body, timestamp, sign(timestamp, body)), timestamp);
    expect(response.status).toBe(200);
    expect(queued.map((m) => m.body)).toEqual([decoded]);
  });

  // The compact path checks the value parsed from the bytes received; JSON.parse(compact text)
  // differs from it in non-finite numbers (null in the text): the outcome must be the text's.
  it.each([
    ['event', `{"website_id": "42286ab3-b29a-4fde-8538-da0ae501d825", "event": 1e400, "timestamp": ${NOW}, "data": {"content": "${MARKER}"}}`],
    ['data', `{"website_id": "42286ab3-b29a-4fde-8538-da0ae501d825", "event": "message:send", "timestamp": ${NOW}, "data": -1e400, "x": "${MARKER}"}`],
    ['timestamp', `{"website_id": "42286ab3-b29a-4fde-8538-da0ae501d825", "event": "message:send", "timestamp": 1e999, "data": {"content": "${MARKER}"}}`],
  ])('compact path, a non-finite %s: the same refusal as the envelope check of the compact text', async (field, spaced) => {
    const compact = JSON.stringify(JSON.parse(spaced));
    const expected = parseEnvelope(compact);
    expect(expected).toMatchObject({ ok: false, reason: 'missing_field', field });
    const timestamp = String(NOW - 1000);
    const { response, bodyParses, lines } = await receiveCounting(plugin(spaced, timestamp, sign(timestamp, compact)), timestamp);
    expect(response.status).toBe(400);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((l) => l.message === 'hook rejected')).toMatchObject({ problem: 'missing_field', field });
    expect(bodyParses).toBe(1);
  });
});
