/**
 * The dedupe key and the lease/record arithmetic. The key must be the same for every
 * redelivery of one event (however it is re-serialised) and different for distinct events,
 * including events that share a timestamp. One key is checked against openssl, from a
 * canonical string written by hand.
 */
import { execFileSync } from 'node:child_process';
import { DEDUPE_KEY_FIELDS, LEASE_MARGIN_MS, dedupeKey, dedupeKeyOfValidJson, leaseExpiry, recordExpiry } from '../../functions/commons/core/dedupe';
import { sampleHookBody } from '../../scripts/local/sample-hooks';

const WEBSITE_ID = '8c842203-7ed8-4e29-a608-7cf78a7d415e';
const TIMESTAMP = 1_700_000_000_123;

/** A message:send event as Crisp sends it (compact JSON, as on the wire). */
const event = {
  website_id: WEBSITE_ID,
  event: 'message:send',
  data: {
    website_id: WEBSITE_ID,
    session_id: 'session_700ad5b5-2d8a-4f0e-9e3f-3f1d0f2f9a11',
    type: 'text',
    content: 'Hi! My order #1042 still hasn\'t arrived (see https://example.com/track), café 📦',
    from: 'user',
    origin: 'chat',
    stamped: true,
    timestamp: TIMESTAMP,
    fingerprint: 170000000012345,
    user: { nickname: 'visitor493603', user_id: 'session_700ad5b5-2d8a-4f0e-9e3f-3f1d0f2f9a11' },
  },
  timestamp: TIMESTAMP,
};
const body = JSON.stringify(event);
const KEY_RE = /^v1:[0-9a-f]{64}$/;

function opensslSha256(text: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256'], { input: Buffer.from(text, 'utf8') }).toString();
  const hex = out.trim().split('= ').pop() ?? '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

/** Escapes every non-ASCII character as \uXXXX (what some serialisers do). */
const asciiOnly = (json: string) => json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('dedupeKey: format', () => {
  it('is "v1:" followed by 64 lowercase hex digits', () => {
    expect(dedupeKey(body)).toMatch(KEY_RE);
  });

  it('is made of website_id, event, timestamp and data', () => {
    expect(DEDUPE_KEY_FIELDS).toEqual(['data', 'event', 'timestamp', 'website_id']);
  });

  it('matches SHA-256 by openssl of the canonical text written by hand', () => {
    const small = '{\n  "timestamp": 1700000000000,\n  "data": {"session_id": "session_1", "content": "caf\\u00e9 \\/ ok", "b": 12345678901234567890},\n  "event": "message:send",\n  "website_id": "w-1",\n  "extra": "ignored"\n}';
    // Canonical JSON of the four members: keys sorted at every level, escapes normalised, number
    // literals kept, other members left out.
    const material = '{"data":{"b":12345678901234567890,"content":"café / ok","session_id":"session_1"},"event":"message:send","timestamp":1700000000000,"website_id":"w-1"}';
    expect(dedupeKey(small)).toBe(`v1:${opensslSha256(material)}`);
  });

  it('leaves out the members a body does not have', () => {
    const material = '{"event":"session:removed","timestamp":5,"website_id":"w-1"}';
    expect(dedupeKey('{"timestamp":5,"event":"session:removed","website_id":"w-1"}')).toBe(`v1:${opensslSha256(material)}`);
  });
});

describe('dedupeKey: one key for every redelivery of one event', () => {
  const key = dedupeKey(body);

  it.each([
    ['pretty-printed', JSON.stringify(event, null, 2)],
    ['with tabs and CRLF', JSON.stringify(event, null, '\t').replace(/\n/g, '\r\n')],
    ['with top-level keys reordered', JSON.stringify({ timestamp: event.timestamp, data: event.data, event: event.event, website_id: event.website_id })],
    [
      'with nested keys reordered',
      JSON.stringify({ ...event, data: Object.fromEntries(Object.entries(event.data).reverse()) }),
    ],
    ['with non-ASCII escaped as \\uXXXX', asciiOnly(body)],
    ['with "/" escaped as "\\/"', body.replace(/\//g, '\\/')],
    ['with an extra top-level member', JSON.stringify({ ...event, delivery_id: 'd-1', retried_at: Date.now() })],
    ['with a different extra top-level member', JSON.stringify({ extra: { any: ['thing'] }, ...event })],
    ['with a member repeated (the last counts)', body.replace('{"website_id"', '{"event":"session:removed","website_id"')],
  ])('%s', (_, variant) => {
    expect(variant).not.toBe(body);
    expect(dedupeKey(variant)).toBe(key);
  });

  it('the same sample body re-serialised in every way above at once', () => {
    const sample = sampleHookBody('message:send', { websiteId: WEBSITE_ID, timestampMs: TIMESTAMP });
    const parsed = JSON.parse(sample) as Record<string, unknown>;
    const variant = asciiOnly(JSON.stringify(Object.fromEntries(Object.entries({ ...parsed, hop: 2 }).reverse()), null, 4));
    expect(dedupeKey(variant)).toBe(dedupeKey(sample));
  });
});

describe('dedupeKey: distinct events never share a key', () => {
  const key = dedupeKey(body);
  const withData = (data: Record<string, unknown>) => JSON.stringify({ ...event, data: { ...event.data, ...data } });

  it.each([
    ['another session, same timestamp', withData({ session_id: 'session_other' })],
    ['other content, same timestamp', withData({ content: 'Another message' })],
    ['another fingerprint, same timestamp', withData({ fingerprint: 170000000012346 })],
    ['from the operator instead of the user', withData({ from: 'operator' })],
    ['another event namespace, same data and timestamp', JSON.stringify({ ...event, event: 'message:received' })],
    ['another website, same data and timestamp', JSON.stringify({ ...event, website_id: 'f3a0c1f4-0000-4000-8000-000000000000' })],
    ['another timestamp', JSON.stringify({ ...event, timestamp: TIMESTAMP + 1 })],
    ['a big integer differing past 2^53', body.replace(/"fingerprint":\d+/, '"fingerprint":12345678901234567891')],
    ['no data at all', JSON.stringify({ website_id: event.website_id, event: event.event, timestamp: event.timestamp })],
  ])('%s', (_, other) => {
    expect(dedupeKey(other)).toMatch(KEY_RE);
    expect(dedupeKey(other)).not.toBe(key);
  });

  it('big integers that JSON.parse would merge give two keys', () => {
    const a = body.replace(/"fingerprint":\d+/, '"fingerprint":12345678901234567890');
    const b = body.replace(/"fingerprint":\d+/, '"fingerprint":12345678901234567891');
    expect(JSON.parse(a)).toEqual(JSON.parse(b));
    expect(dedupeKey(a)).not.toBe(dedupeKey(b));
  });

  it('two sample events at the same millisecond get two keys (fresh session ids)', () => {
    const a = sampleHookBody('message:send', { websiteId: WEBSITE_ID, timestampMs: TIMESTAMP });
    const b = sampleHookBody('message:send', { websiteId: WEBSITE_ID, timestampMs: TIMESTAMP });
    expect(JSON.parse(a).timestamp).toBe(JSON.parse(b).timestamp);
    expect(dedupeKey(a)).not.toBe(dedupeKey(b));
  });

  it('member values cannot be shifted between members to collide (values are JSON, not concatenated)', () => {
    const a = JSON.stringify({ website_id: 'w', event: 'a:b', timestamp: 1, data: 'x' });
    const b = JSON.stringify({ website_id: 'w', event: 'a:b", "timestamp', timestamp: 1, data: 'x' });
    expect(dedupeKey(a)).not.toBe(dedupeKey(b));
  });
});

describe('dedupeKey: not a JSON object', () => {
  it.each([
    ['not JSON', 'not json'],
    ['an array', '[{"website_id":"w"}]'],
    ['a string', '"x"'],
    ['a trailing comma', `${body.slice(0, -1)},}`],
    ['truncated', body.slice(0, -1)],
  ])('%s: throws a SyntaxError', (_, text) => {
    expect(() => dedupeKey(text)).toThrow(SyntaxError);
  });
});

describe('lease and record lifetimes', () => {
  const now = 1_700_000_000_123;

  it('a lease lasts the remaining time plus the margin', () => {
    expect(LEASE_MARGIN_MS).toBe(10_000);
    expect(leaseExpiry(now, 30_000)).toBe(now + 30_000 + 10_000);
    expect(leaseExpiry(now, 1)).toBe(now + 10_001);
  });

  it('a negative remaining time counts as none', () => {
    expect(leaseExpiry(now, 0)).toBe(now + 10_000);
    expect(leaseExpiry(now, -5_000)).toBe(now + 10_000);
  });

  it('a record lasts ttlHours, in epoch seconds, from the second it was made (rounded down)', () => {
    expect(recordExpiry(now, 168)).toBe(1_700_000_000 + 168 * 3600);
    expect(recordExpiry(now, 1)).toBe(1_700_003_600);
    expect(recordExpiry(1_700_000_000_999, 1)).toBe(1_700_003_600);
    expect(recordExpiry(1_700_000_001_000, 1)).toBe(1_700_003_601);
    expect(Number.isInteger(recordExpiry(now + 0.5, 24))).toBe(true);
  });
});

describe('dedupeKeyOfValidJson (the consumer, on a body it has just parsed)', () => {
  // A deterministic generator of valid JSON objects: escapes (quotes, backslash runs, unicode,
  // lone-surrogate escapes), whitespace, number literals, nesting, repeated and extra members.
  const pieces = ['a', '', '\\"', '\\\\', '\\\\\\"x', '\\u00e9', 'é', '\\n', '\\/', 'x\\\\', '😀', '\\ud83d\\ude00', '\\ud800', 'lorem ipsum '];
  let seed = 1;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
  const ws = () => [' ', '', '\n', '\t', ''][rnd(5)]!;
  const str = () => '"' + Array.from({ length: rnd(5) }, () => pieces[rnd(pieces.length)]).join('') + '"';
  const numbers = ['0', '-1', '1.50', '1E+5', '12345678901234567890', '-0.0e-3', '1e400'];
  const value = (depth: number): string => {
    const kind = rnd(depth > 3 ? 4 : 7);
    if (kind === 0) return str();
    if (kind === 1) return numbers[rnd(numbers.length)]!;
    if (kind === 2) return ['true', 'false', 'null'][rnd(3)]!;
    if (kind <= 4) return `[${ws()}${Array.from({ length: rnd(4) }, () => value(depth + 1)).join(`${ws()},${ws()}`)}]`;
    return `{${ws()}${Array.from({ length: rnd(4) }, () => `${str()}${ws()}:${ws()}${value(depth + 1)}`).join(',')}${ws()}}`;
  };
  const outcome = (key: () => string) => {
    try {
      return key();
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  };

  it('gives the key (or the error) dedupeKey gives, byte for byte', () => {
    for (let i = 0; i < 20_000; i++) {
      const fields = ['data', 'event', 'timestamp', 'website_id', 'extra', 'data'].filter(() => rnd(3) > 0);
      const text = `${ws()}{${fields.map((field) => `"${field}":${ws()}${value(0)}`).join(',')}}${ws()}`;
      JSON.parse(text);
      expect(outcome(() => dedupeKeyOfValidJson(text))).toBe(outcome(() => dedupeKey(text)));
    }
    const deep = `{"data":${'['.repeat(300)}${']'.repeat(300)}}`;
    expect(outcome(() => dedupeKeyOfValidJson(deep))).toBe(outcome(() => dedupeKey(deep)));
  });
});
