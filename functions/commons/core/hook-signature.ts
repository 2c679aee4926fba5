/**
 * Crisp hook authentication: pure logic, no AWS.
 *
 * Plugin Hooks carry `X-Crisp-Signature = hex(HMAC-SHA256(secret, "[" + timestamp + ";" + body + "]"))`
 * where `timestamp` is the `X-Crisp-Request-Timestamp` header verbatim. Crisp's Go library signs
 * the raw bytes, its Node library `JSON.stringify(JSON.parse(body))`; the two agree only for
 * compact bodies without `\u` escapes. So the raw bytes are checked first, then the compact
 * re-serialisation, with the current and then the previous secret (a rotation under way).
 *
 * What is signed is what is processed: when only the compact form matches, the check returns
 * that compact text, and the caller queues, keys and hands on that text, never the bytes it
 * received. Many byte strings share one compact form (`1`, `1.0`, `10e-1`; whitespace; escapes;
 * a repeated key), so processing the received bytes would let one captured hook, re-spelt,
 * pass as a new event.
 *
 * Website Hooks carry no signature: a key in the URL is compared with the configured one.
 * Every comparison is constant-time.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isPlaceholder } from '../placeholder';

/** The current secret, and during a rotation the one before it. */
export interface SecretPair {
  current: string;
  previous?: string | undefined;
}

/** Lowercase hex HMAC-SHA256 over `[timestamp;body]`, the way Crisp signs a hook. */
export function signHook(secret: string, timestamp: string, body: string | Uint8Array): string {
  return hookMac(secret, timestamp, typeof body === 'string' ? Buffer.from(body, 'utf8') : body).toString('hex');
}

/** `body`: bytes, or a string standing for its UTF-8 encoding (hashed as such, without a copy). */
function hookMac(secret: string, timestamp: string, body: Uint8Array | string): Buffer {
  const mac = createHmac('sha256', secret).update(`[${timestamp};`, 'utf8');
  (typeof body === 'string' ? mac.update(body, 'utf8') : mac.update(body)).update(']', 'utf8');
  return mac.digest();
}

export type SignatureFailure = 'signature_missing' | 'signature_malformed' | 'timestamp_missing' | 'timestamp_malformed' | 'signature_mismatch';

export type SignatureCheck =
  /** The bytes as received are signed: process them. */
  | { ok: true; variant: 'raw'; secret: 'current' | 'previous' }
  /** Only the compact re-serialisation is signed: process `text` (that form), not the bytes received. */
  | { ok: true; variant: 'compact'; secret: 'current' | 'previous'; text: string }
  | { ok: false; reason: SignatureFailure };

/**
 * `SignatureCheck` plus what the check read on the way, so that the receiver reads nothing twice:
 * `timestampMs`, the verified header as `hookTimestampMs` reads it, and for the compact variant
 * `value`, the body as parsed to make `text`, its top-level members as `JSON.parse(text)` reads
 * them (see `compactForm`).
 */
export type SignedHookCheck =
  | { ok: true; variant: 'raw'; secret: 'current' | 'previous'; timestampMs: number }
  | { ok: true; variant: 'compact'; secret: 'current' | 'previous'; text: string; timestampMs: number; value: unknown }
  | { ok: false; reason: SignatureFailure };

const SIGNATURE_RE = /^[0-9a-fA-F]{64}$/;
const TIMESTAMP_RE = /^[0-9]{1,16}$/;

/**
 * Checks a Plugin Hook's signature. `rawBody` is the body exactly as received (after base64
 * decoding); `timestamp` is the header value, used verbatim as Crisp does.
 */
export function verifyHookSignature(input: SignatureInput): SignatureCheck {
  const check = verifySignedHook(input);
  if (!check.ok) return check;
  return check.variant === 'raw' ? { ok: true, variant: 'raw', secret: check.secret } : { ok: true, variant: 'compact', secret: check.secret, text: check.text };
}

export interface SignatureInput {
  signature: string | undefined;
  timestamp: string | undefined;
  /**
   * The body exactly as received (after base64 decoding), or a string standing for its UTF-8
   * encoding (what API Gateway hands over for a text body): checked as those bytes, without
   * copying a large body into a Buffer.
   */
  rawBody: Uint8Array | string;
  secrets: SecretPair;
}

/** `verifyHookSignature`, handing on the timestamp it validated and the body it parsed (if it did). */
export function verifySignedHook(input: SignatureInput): SignedHookCheck {
  const signature = input.signature?.trim();
  if (!signature) return { ok: false, reason: 'signature_missing' };
  if (!SIGNATURE_RE.test(signature)) return { ok: false, reason: 'signature_malformed' };
  const timestamp = input.timestamp?.trim();
  if (!timestamp) return { ok: false, reason: 'timestamp_missing' };
  if (!TIMESTAMP_RE.test(timestamp)) return { ok: false, reason: 'timestamp_malformed' };

  const expected = Buffer.from(signature.toLowerCase(), 'hex');
  let compact: { text: string; bytes: Buffer; value: unknown } | undefined | null = null; // computed only if the raw bytes do not match
  const candidates: Array<['current' | 'previous', string]> = [['current', input.secrets.current]];
  if (input.secrets.previous) candidates.push(['previous', input.secrets.previous]);
  for (const [which, secret] of candidates) {
    if (timingSafeEqual(hookMac(secret, timestamp, input.rawBody), expected)) return { ok: true, variant: 'raw', secret: which, timestampMs: timestampMsOf(timestamp) };
    if (compact === null) compact = compactForm(input.rawBody);
    if (compact && timingSafeEqual(hookMac(secret, timestamp, compact.bytes), expected)) {
      return { ok: true, variant: 'compact', secret: which, timestampMs: timestampMsOf(timestamp), text: compact.text, value: compact.value };
    }
  }
  return { ok: false, reason: 'signature_mismatch' };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `JSON.stringify(JSON.parse(body))`, as Crisp's Node library computes it, when that differs
 * from the raw bytes; undefined when the body is not UTF-8 JSON or already compact. Non-finite
 * numbers (`1e400`) come out as `null` here, as they do in the signer's form.
 *
 * Also hands back the parsed value, so that the envelope is checked without parsing `text`
 * again. `JSON.parse(text)` differs from it only in numbers the round trip changes (non-finite
 * ones become `null`, `-0` becomes `0`): those are rewritten in its top-level members, the only
 * ones the envelope check reads. Deeper members stay as parsed from the bytes received.
 */
function compactForm(body: Uint8Array | string): { text: string; bytes: Buffer; value: unknown } | undefined {
  const rawBody = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  let text: string;
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(rawBody));
    text = JSON.stringify(value);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  return bytes.equals(rawBody) ? undefined : { text, bytes, value: asReadBack(value) };
}

/** `value` with its top-level numbers as `JSON.parse(JSON.stringify(value))` gives them back. */
function asReadBack(value: unknown): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value + 0 : null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  for (const [key, member] of Object.entries(value)) {
    if (typeof member === 'number' && (!Number.isFinite(member) || Object.is(member, -0))) {
      // defineProperty, not assignment: a member named "__proto__" is an own property here.
      Object.defineProperty(value, key, { value: Number.isFinite(member) ? 0 : null, writable: true, enumerable: true, configurable: true });
    }
  }
  return value;
}

/**
 * Constant-time check of a Website Hook key. Both sides are hashed first, so the comparison
 * takes the same time whatever the lengths.
 */
export function verifyWebsiteHookKey(given: string | undefined, keys: SecretPair): { ok: true; secret: 'current' | 'previous' } | { ok: false; reason: 'key_missing' | 'key_mismatch' } {
  if (!given) return { ok: false, reason: 'key_missing' };
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  const givenDigest = digest(given);
  const current = timingSafeEqual(givenDigest, digest(keys.current));
  const previous = keys.previous !== undefined && timingSafeEqual(givenDigest, digest(keys.previous));
  if (current) return { ok: true, secret: 'current' };
  if (previous) return { ok: true, secret: 'previous' };
  return { ok: false, reason: 'key_mismatch' };
}

// ---------------------------------------------------------------------------------------------
// Freshness of X-Crisp-Request-Timestamp.

/** Values below this are seconds, above it milliseconds (10^11 s is the year 5138; 10^11 ms, 1973). */
const MILLISECONDS_THRESHOLD = 1e11;

/** The header as milliseconds since the epoch, whether Crisp sent seconds or milliseconds. */
export function hookTimestampMs(header: string): number | undefined {
  const value = header.trim();
  return TIMESTAMP_RE.test(value) ? timestampMsOf(value) : undefined;
}

/** A timestamp already checked against TIMESTAMP_RE, as milliseconds. */
function timestampMsOf(checked: string): number {
  const n = Number(checked);
  return n < MILLISECONDS_THRESHOLD ? n * 1000 : n;
}

export type FreshnessCheck = { ok: true; ageMs: number } | { ok: false; reason: 'stale_timestamp' | 'future_timestamp'; ageMs: number };

/**
 * Refuses a hook emitted more than `maxAgeSeconds` ago or more than `maxFutureSeconds` ahead of
 * our clock. The window must not exceed the dedupe lifetime (synth enforces it): a replay inside
 * the window is then caught as a duplicate, and one outside it is refused here.
 */
export function checkFreshness(timestampMs: number, nowMs: number, maxAgeSeconds: number, maxFutureSeconds: number): FreshnessCheck {
  const ageMs = nowMs - timestampMs;
  if (ageMs > maxAgeSeconds * 1000) return { ok: false, reason: 'stale_timestamp', ageMs };
  if (-ageMs > maxFutureSeconds * 1000) return { ok: false, reason: 'future_timestamp', ageMs };
  return { ok: true, ageMs };
}

/**
 * The stored form of a hook secret: a plain string (the current secret), or during a rotation
 * `{"current": "...", "previous": "..."}`. Throws a plain `Error` naming what is wrong (never the value).
 */
export function parseSecretPair(value: string): SecretPair {
  const trimmed = value.trim();
  if (!trimmed.startsWith('{')) {
    if (!trimmed) throw new Error('the secret is empty');
    return { current: trimmed };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new Error('the secret starts with "{" but is not valid JSON');
  }
  const { current, previous } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof current !== 'string' || current.trim() === '') throw new Error('the secret JSON has no non-empty "current" string');
  if (previous !== undefined && previous !== null && (typeof previous !== 'string' || previous.trim() === '')) {
    throw new Error('the secret JSON has a "previous" that is not a non-empty string');
  }
  const pair = { current: current.trim(), previous: typeof previous === 'string' ? previous.trim() : undefined };
  // The placeholder text is public: it must never work as a key, not even as "previous".
  if (isPlaceholder(pair.current) || (pair.previous !== undefined && isPlaceholder(pair.previous))) {
    throw new Error('the secret JSON still holds the placeholder');
  }
  return pair;
}
