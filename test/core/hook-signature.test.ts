import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type SecretPair,
  checkFreshness,
  hookTimestampMs,
  parseSecretPair,
  signHook,
  verifyHookSignature,
  verifySignedHook,
  verifyWebsiteHookKey,
} from '../../functions/commons/core/hook-signature';
import { opensslHmacSha256 } from '../support/openssl';

interface Vector {
  name: string;
  secret: string;
  timestamp: string;
  body: string;
  signature: string;
}

function loadVectors(file: string): Vector[] {
  const parsed = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', file), 'utf8')) as { checked_with: string; vectors: Vector[] };
  expect(parsed.checked_with).toBe('crisp-api@11.3.0 verifyHook');
  return parsed.vectors;
}

/** The signature Crisp sends, computed by openssl (never by the code under test). */
const crispSignature = (secret: string, timestamp: string, body: string) => opensslHmacSha256(secret, `[${timestamp};${body}]`);

const bytes = (text: string) => Buffer.from(text, 'utf8');

const verify = (signature: string | undefined, timestamp: string | undefined, body: string | Uint8Array, secrets: SecretPair) =>
  verifyHookSignature({ signature, timestamp, rawBody: typeof body === 'string' ? bytes(body) : body, secrets });

describe.each([
  ['shared vectors (../shared/vectors, copied)', 'crisp-hook-signatures.json'],
  ['vectors generated with crisp-api verifyHook', 'crisp-api-vectors.json'],
])('%s', (_label, file) => {
  const vectors = loadVectors(file);

  it('holds vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(2);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: the expected signature is openssl over [ts;body]', (_name, v) => {
    expect(crispSignature(v.secret, v.timestamp, v.body)).toBe(v.signature);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: verifies over the raw bytes with the current secret', (_name, v) => {
    expect(verify(v.signature, v.timestamp, v.body, { current: v.secret })).toEqual({ ok: true, variant: 'raw', secret: 'current' });
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: signHook reproduces the signature', (_name, v) => {
    expect(signHook(v.secret, v.timestamp, v.body)).toBe(v.signature);
    expect(signHook(v.secret, v.timestamp, bytes(v.body))).toBe(v.signature);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: verifies with the previous secret during a rotation', (_name, v) => {
    expect(verify(v.signature, v.timestamp, v.body, { current: 'rotated-in', previous: v.secret })).toEqual({ ok: true, variant: 'raw', secret: 'previous' });
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s: a different secret is a mismatch', (_name, v) => {
    expect(verify(v.signature, v.timestamp, v.body, { current: `${v.secret}x` })).toEqual({ ok: false, reason: 'signature_mismatch' });
  });
});

describe('signHook', () => {
  it('is lowercase hex HMAC-SHA256 over [ts;body], as openssl computes it', () => {
    const body = '{"event":"message:send","data":{"content":"é 中文 📦"}}';
    expect(signHook('k-é', '1720000000000', body)).toBe(crispSignature('k-é', '1720000000000', body));
    expect(signHook('k', '1', '')).toBe(crispSignature('k', '1', ''));
    expect(signHook('k', '1', 'x')).toMatch(/^[0-9a-f]{64}$/);
  });
});

// Bodies whose wire bytes differ from JSON.stringify(JSON.parse(raw)): Crisp's Go library signs the
// former, its Node library the latter; both must be accepted, anything else refused.
describe('bodies whose raw bytes differ from the compact re-serialisation', () => {
  const SECRET = 'raw-vs-compact-secret';
  const TS = '1720000000000';
  const bodies: Array<[string, string]> = [
    [
      'pretty-printed (spaces, newlines)',
      '{\n  "website_id": "42286ab3-b29a-4fde-8538-da0ae501d825",\n  "event": "message:send",\n  "data": {\n    "content": "hi",\n    "from": "user"\n  },\n  "timestamp": 1720000000000\n}\n',
    ],
    ['escaped unicode (\\u00e9, surrogate pair)', '{"website_id":"w1","event":"message:send","data":{"content":"caf\\u00e9 \\u4e2d\\u6587 \\ud83d\\udce6"},"timestamp":1720000000000}'],
    ['escaped slashes (\\/)', '{"website_id":"w1","event":"message:send","data":{"content":"<\\/script> https:\\/\\/example.com\\/a"},"timestamp":1720000000000}'],
    ['a number beyond 2^53', '{"website_id":"w1","event":"message:send","data":{"fingerprint":12345678901234567890},"timestamp":1720000000000}'],
    ['number forms 1.0 and 1e2', '{"website_id":"w1","event":"message:send","data":{"a":1.0,"b":1e2,"c":-0.50,"d":1E+2},"timestamp":1720000000000}'],
  ];

  it.each(bodies)('%s: the raw bytes really differ from the re-serialisation', (_name, raw) => {
    expect(JSON.stringify(JSON.parse(raw))).not.toBe(raw);
  });

  it.each(bodies)('%s: signed over the raw bytes (Go library) → accepted as raw', (_name, raw) => {
    const signature = crispSignature(SECRET, TS, raw);
    expect(verify(signature, TS, raw, { current: SECRET })).toEqual({ ok: true, variant: 'raw', secret: 'current' });
  });

  it.each(bodies)('%s: signed over JSON.stringify(JSON.parse(raw)) (Node library) → accepted as compact', (_name, raw) => {
    const signature = crispSignature(SECRET, TS, JSON.stringify(JSON.parse(raw)));
    expect(verify(signature, TS, raw, { current: SECRET })).toEqual({ ok: true, variant: 'compact', secret: 'current', text: JSON.stringify(JSON.parse(raw)) });
  });

  it.each(bodies)('%s: compact variant signed with the previous secret → accepted', (_name, raw) => {
    const signature = crispSignature(SECRET, TS, JSON.stringify(JSON.parse(raw)));
    expect(verify(signature, TS, raw, { current: 'new-secret', previous: SECRET })).toEqual({
      ok: true,
      variant: 'compact',
      secret: 'previous',
      text: JSON.stringify(JSON.parse(raw)),
    });
  });

  // The text returned is exactly what the signature covers, written out by hand here, so the caller
  // can process it instead of the bytes received.
  it.each<[string, string, string]>([
    [
      'number spellings',
      '{"website_id":"w1","event":"message:send","data":{"a":1.0,"b":1e2,"c":-0.50,"d":1E+2,"e":17000000000000e-1},"timestamp":1720000000000}',
      '{"website_id":"w1","event":"message:send","data":{"a":1,"b":100,"c":-0.5,"d":100,"e":1700000000000},"timestamp":1720000000000}',
    ],
    [
      'a number too large for a double becomes null, as the signer wrote it',
      '{"website_id":"w1","event":"message:send","data":{"n":1e400},"timestamp":1720000000000}',
      '{"website_id":"w1","event":"message:send","data":{"n":null},"timestamp":1720000000000}',
    ],
    [
      'a repeated key keeps its first position and last value',
      '{"website_id":"w1","event":"message:send","data":{"a":"old","b":2,"a":"new"},"timestamp":1720000000000}',
      '{"website_id":"w1","event":"message:send","data":{"a":"new","b":2},"timestamp":1720000000000}',
    ],
    ['escapes and whitespace', '{ "website_id" : "w\u0031", "event":"message:send",\n"data":{"u":"https:\/\/x"}, "timestamp":1720000000000 }'.replace('\\n', '\n'), '{"website_id":"w1","event":"message:send","data":{"u":"https://x"},"timestamp":1720000000000}'],
  ])('%s: the compact text returned is the signed text', (_name, raw, signedText) => {
    const signature = crispSignature(SECRET, TS, signedText);
    expect(verify(signature, TS, raw, { current: SECRET })).toEqual({ ok: true, variant: 'compact', secret: 'current', text: signedText });
  });

  it.each(bodies)('%s: signed over something else → signature_mismatch', (_name, raw) => {
    const others = [
      JSON.stringify(JSON.parse(raw), null, 2), // another serialisation
      raw.trim() + ' ', // the raw bytes plus a space
      raw.replace('message:send', 'message:sent'), // other content
    ];
    expect(new Set([raw, ...others]).size).toBe(others.length + 1);
    for (const other of others) {
      expect(verify(crispSignature(SECRET, TS, other), TS, raw, { current: SECRET })).toEqual({ ok: false, reason: 'signature_mismatch' });
    }
  });

  it('a body that is not JSON is checked over its raw bytes only', () => {
    const raw = 'not json at all';
    expect(verify(crispSignature(SECRET, TS, raw), TS, raw, { current: SECRET })).toEqual({ ok: true, variant: 'raw', secret: 'current' });
    expect(verify(crispSignature(SECRET, TS, 'other'), TS, raw, { current: SECRET })).toEqual({ ok: false, reason: 'signature_mismatch' });
  });
});

describe('tampering', () => {
  const v = loadVectors('crisp-hook-signatures.json')[0]!;
  const secrets = { current: v.secret };

  it('the untouched vector verifies', () => {
    expect(verify(v.signature, v.timestamp, v.body, secrets).ok).toBe(true);
  });

  it('one changed byte in the body → signature_mismatch', () => {
    const raw = bytes(v.body);
    const at = v.body.indexOf('Hey');
    expect(at).toBeGreaterThan(0);
    for (const index of [at, 0, raw.length - 1]) {
      const tampered = Buffer.from(raw);
      tampered[index] = tampered[index]! ^ 0x01;
      expect(verify(v.signature, v.timestamp, tampered, secrets)).toEqual({ ok: false, reason: 'signature_mismatch' });
    }
  });

  it('a changed timestamp → signature_mismatch', () => {
    const other = String(BigInt(v.timestamp) + 1n);
    expect(verify(v.signature, other, v.body, secrets)).toEqual({ ok: false, reason: 'signature_mismatch' });
    // The timestamp is signed verbatim: the same instant in seconds is another string.
    expect(verify(v.signature, v.timestamp.slice(0, -3), v.body, secrets)).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('a changed hex digit of the signature → signature_mismatch', () => {
    for (const index of [0, 31, 63]) {
      const c = v.signature[index]!;
      const changed = v.signature.slice(0, index) + (c === '0' ? '1' : '0') + v.signature.slice(index + 1);
      expect(verify(changed, v.timestamp, v.body, secrets)).toEqual({ ok: false, reason: 'signature_mismatch' });
    }
  });

  it('an uppercase hex signature is accepted', () => {
    expect(v.signature).toMatch(/[a-f]/);
    expect(verify(v.signature.toUpperCase(), v.timestamp, v.body, secrets)).toEqual({ ok: true, variant: 'raw', secret: 'current' });
  });
});

describe('headers', () => {
  const v = loadVectors('crisp-hook-signatures.json')[0]!;
  const secrets = { current: v.secret };

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('signature %s → signature_missing', (_name, signature) => {
    expect(verify(signature, v.timestamp, v.body, secrets)).toEqual({ ok: false, reason: 'signature_missing' });
  });

  it.each([
    ['63 hex characters', v.signature.slice(0, 63)],
    ['65 hex characters', `${v.signature}0`],
    ['non-hex characters', `${v.signature.slice(0, 62)}zz`],
    ['a space inside', `${v.signature.slice(0, 32)} ${v.signature.slice(33)}`],
    ['a space inserted (65 characters)', `${v.signature.slice(0, 32)} ${v.signature.slice(32)}`],
    ['a sha256= prefix', `sha256=${v.signature}`],
    ['base64 instead of hex', Buffer.from(v.signature, 'hex').toString('base64')],
  ])('signature with %s → signature_malformed', (_name, signature) => {
    expect(verify(signature, v.timestamp, v.body, secrets)).toEqual({ ok: false, reason: 'signature_malformed' });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
  ])('timestamp %s → timestamp_missing', (_name, timestamp) => {
    expect(verify(v.signature, timestamp, v.body, secrets)).toEqual({ ok: false, reason: 'timestamp_missing' });
  });

  it.each([['abc'], ['-1'], ['1.5'], ['12345678901234567'], ['1e12'], ['0x10'], ['17200 00000']])('timestamp %p → timestamp_malformed', (timestamp) => {
    expect(verify(v.signature, timestamp, v.body, secrets)).toEqual({ ok: false, reason: 'timestamp_malformed' });
  });

  it('a 16-digit timestamp is well-formed (and here simply does not match)', () => {
    expect(verify(v.signature, '1234567890123456', v.body, secrets)).toEqual({ ok: false, reason: 'signature_mismatch' });
  });
});

describe('secret rotation', () => {
  const TS = '1720000000000';
  const BODY = '{"website_id":"w1","event":"message:send","data":{},"timestamp":1720000000000}';

  it('signed with the previous secret → ok, secret previous', () => {
    const signature = crispSignature('old-secret', TS, BODY);
    expect(verify(signature, TS, BODY, { current: 'new-secret', previous: 'old-secret' })).toEqual({ ok: true, variant: 'raw', secret: 'previous' });
  });

  it('signed with the current secret while a previous one exists → ok, secret current', () => {
    const signature = crispSignature('new-secret', TS, BODY);
    expect(verify(signature, TS, BODY, { current: 'new-secret', previous: 'old-secret' })).toEqual({ ok: true, variant: 'raw', secret: 'current' });
  });

  it('signed with neither → signature_mismatch', () => {
    const signature = crispSignature('third-secret', TS, BODY);
    expect(verify(signature, TS, BODY, { current: 'new-secret', previous: 'old-secret' })).toEqual({ ok: false, reason: 'signature_mismatch' });
  });

  it('previous undefined works', () => {
    const signature = crispSignature('new-secret', TS, BODY);
    expect(verify(signature, TS, BODY, { current: 'new-secret', previous: undefined })).toEqual({ ok: true, variant: 'raw', secret: 'current' });
    expect(verify(crispSignature('old-secret', TS, BODY), TS, BODY, { current: 'new-secret', previous: undefined })).toEqual({
      ok: false,
      reason: 'signature_mismatch',
    });
  });
});

describe('verifyWebsiteHookKey', () => {
  const keys = { current: 'website-hook-key-current-0123456789', previous: 'website-hook-key-previous-9876543210' };

  it('accepts the current key', () => {
    expect(verifyWebsiteHookKey(keys.current, keys)).toEqual({ ok: true, secret: 'current' });
    expect(verifyWebsiteHookKey(keys.current, { current: keys.current })).toEqual({ ok: true, secret: 'current' });
  });

  it('accepts the previous key during a rotation', () => {
    expect(verifyWebsiteHookKey(keys.previous, keys)).toEqual({ ok: true, secret: 'previous' });
  });

  it('refuses a wrong key', () => {
    expect(verifyWebsiteHookKey('website-hook-key-current-0123456788', keys)).toEqual({ ok: false, reason: 'key_mismatch' });
    expect(verifyWebsiteHookKey(keys.previous, { current: keys.current })).toEqual({ ok: false, reason: 'key_mismatch' });
    expect(verifyWebsiteHookKey(keys.current.toUpperCase(), keys)).toEqual({ ok: false, reason: 'key_mismatch' });
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
  ])('%s key → key_missing', (_name, given) => {
    expect(verifyWebsiteHookKey(given, keys)).toEqual({ ok: false, reason: 'key_missing' });
  });

  it('a key differing only in length → key_mismatch', () => {
    expect(verifyWebsiteHookKey(keys.current.slice(0, -1), keys)).toEqual({ ok: false, reason: 'key_mismatch' });
    expect(verifyWebsiteHookKey(keys.current.slice(0, 1), keys)).toEqual({ ok: false, reason: 'key_mismatch' });
    expect(verifyWebsiteHookKey(`${keys.current}0`, keys)).toEqual({ ok: false, reason: 'key_mismatch' });
  });
});

describe('hookTimestampMs', () => {
  it('reads seconds as seconds (×1000)', () => {
    expect(hookTimestampMs('1720000000')).toBe(1_720_000_000_000);
  });

  it('keeps milliseconds', () => {
    expect(hookTimestampMs('1720000000000')).toBe(1_720_000_000_000);
    expect(hookTimestampMs('1506985696616')).toBe(1_506_985_696_616);
  });

  it('ignores surrounding whitespace', () => {
    expect(hookTimestampMs(' 1720000000 ')).toBe(1_720_000_000_000);
  });

  it.each([[''], ['abc'], ['-1'], ['1.5'], ['1e12'], ['12345678901234567'], ['0x10']])('junk %p → undefined', (value) => {
    expect(hookTimestampMs(value)).toBeUndefined();
  });
});

describe('checkFreshness', () => {
  const NOW = 1_720_000_000_000;
  const MAX_AGE = 300;
  const MAX_FUTURE = 60;

  it('accepts a hook exactly at the age limit', () => {
    expect(checkFreshness(NOW - MAX_AGE * 1000, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: true, ageMs: MAX_AGE * 1000 });
  });

  it('refuses one 1 ms older as stale_timestamp', () => {
    expect(checkFreshness(NOW - MAX_AGE * 1000 - 1, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: false, reason: 'stale_timestamp', ageMs: MAX_AGE * 1000 + 1 });
  });

  it('accepts the present and the slightly future', () => {
    expect(checkFreshness(NOW, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: true, ageMs: 0 });
    expect(checkFreshness(NOW + 2000, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: true, ageMs: -2000 });
    expect(checkFreshness(NOW + MAX_FUTURE * 1000, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: true, ageMs: -MAX_FUTURE * 1000 });
  });

  it('refuses a hook beyond maxFutureSeconds as future_timestamp', () => {
    expect(checkFreshness(NOW + MAX_FUTURE * 1000 + 1, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: false, reason: 'future_timestamp', ageMs: -(MAX_FUTURE * 1000 + 1) });
  });

  it('works with a header in seconds', () => {
    const header = String((NOW - 10_000) / 1000);
    expect(checkFreshness(hookTimestampMs(header)!, NOW, MAX_AGE, MAX_FUTURE)).toEqual({ ok: true, ageMs: 10_000 });
  });
});

describe('parseSecretPair', () => {
  const SECRET = 'Sup3r-S3cret-Value-7f3a';
  const OLD = 'Old-S3cret-Value-91bc';

  it('a plain string is the current secret (trimmed)', () => {
    expect(parseSecretPair(SECRET)).toEqual({ current: SECRET });
    expect(parseSecretPair(`  ${SECRET}\n`)).toEqual({ current: SECRET });
  });

  it('JSON with current and previous', () => {
    expect(parseSecretPair(JSON.stringify({ current: SECRET, previous: OLD }))).toEqual({ current: SECRET, previous: OLD });
    expect(parseSecretPair(` {"current": " ${SECRET} ", "previous": "${OLD}"} `)).toEqual({ current: SECRET, previous: OLD });
  });

  it('JSON with current only', () => {
    const pair = parseSecretPair(JSON.stringify({ current: SECRET }));
    expect(pair.current).toBe(SECRET);
    expect(pair.previous).toBeUndefined();
  });

  it.each([
    ['without current', JSON.stringify({ previous: OLD, other: SECRET })],
    ['with an empty current', JSON.stringify({ current: '', previous: OLD, other: SECRET })],
    ['with a blank current', JSON.stringify({ current: '   ', previous: SECRET })],
    ['with a non-string current', JSON.stringify({ current: 42, previous: SECRET })],
    ['with a non-string previous', JSON.stringify({ current: SECRET, previous: 42 })],
    ['with an empty previous', JSON.stringify({ current: SECRET, previous: '' })],
    ['invalid JSON starting with {', `{"current": "${SECRET}", "previous": "${OLD}"`],
    ['invalid JSON starting with { (unquoted)', `{current: ${SECRET}}`],
  ])('JSON %s → throws without revealing the secret', (_name, value) => {
    let error: unknown;
    try {
      parseSecretPair(value);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain(OLD);
    expect(String(error)).not.toContain(SECRET);
    expect((error as Error).stack ?? '').not.toContain(SECRET);
  });
});

// The placeholder text is public: a stored pair that still holds it must not become a usable key.
describe('parseSecretPair refuses placeholders and empties', () => {
  it.each([
    ['a placeholder as previous', '{"current":"real-secret","previous":"CRISP_BRIDGE_PLACEHOLDER: not set"}'],
    ['a placeholder as current', '{"current":"CRISP_BRIDGE_PLACEHOLDER: not set"}'],
    ['an empty plain value', '   '],
  ])('throws for %s', (_, value) => {
    expect(() => parseSecretPair(value)).toThrow();
  });

  it('treats "previous": null as no previous secret', () => {
    expect(parseSecretPair('{"current":"a","previous":null}')).toEqual({ current: 'a', previous: undefined });
  });
});

describe('verifySignedHook with the body as text (what the receiver passes for a text body)', () => {
  const SECRET = 'text-body-secret-4b1e';
  const TS = '1767225600123';
  const BODIES: Array<[string, string]> = [
    ['compact JSON', '{"website_id":"w","event":"message:send","timestamp":1,"data":{"content":"héllo 📦"}}'],
    ['JSON with spaces (only its compact form may be signed)', '{ "website_id": "w", "event": "message:send", "timestamp": 1, "data": {} }'],
    ['a lone surrogate (its UTF-8 bytes carry U+FFFD)', '{"website_id":"w","event":"message:send","timestamp":1,"data":{"content":"a\ud800b"}}'],
    ['a byte order mark first', '\ufeff{"website_id":"w","event":"message:send","timestamp":1,"data":{}}'],
    ['not JSON', 'plain text'],
    ['empty', ''],
  ];
  /** Signatures Crisp could send for `body`: over its bytes, and over its compact form. */
  const signatures = (body: string): string[] => {
    const out = [crispSignature(SECRET, TS, body)];
    try {
      out.push(crispSignature(SECRET, TS, JSON.stringify(JSON.parse(body))));
    } catch {
      // not JSON: no compact form
    }
    out.push('0'.repeat(64));
    return out;
  };

  it.each(BODIES)('%s: the same answer as for its UTF-8 bytes, for every signature', (_name, body) => {
    let checked = 0;
    for (const signature of signatures(body)) {
      for (const secrets of [{ current: SECRET }, { current: 'other', previous: SECRET }, { current: 'other' }]) {
        const fromText = verifySignedHook({ signature, timestamp: TS, rawBody: body, secrets });
        const fromBytes = verifySignedHook({ signature, timestamp: TS, rawBody: bytes(body), secrets });
        expect(fromText).toEqual(fromBytes);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('a text body signed over its bytes verifies as raw; over its compact form, as compact', () => {
    const spaced = BODIES[1]![1];
    expect(verifySignedHook({ signature: crispSignature(SECRET, TS, spaced), timestamp: TS, rawBody: spaced, secrets: { current: SECRET } })).toMatchObject({
      ok: true,
      variant: 'raw',
    });
    const compact = JSON.stringify(JSON.parse(spaced));
    expect(verifySignedHook({ signature: crispSignature(SECRET, TS, compact), timestamp: TS, rawBody: spaced, secrets: { current: SECRET } })).toMatchObject({
      ok: true,
      variant: 'compact',
      text: compact,
    });
  });
});
