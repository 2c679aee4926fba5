/**
 * The hook-receiving use case. In order: size, authentication (signature or key), freshness of
 * the signed timestamp, envelope, freshness of a Website Hook's event time, filters, then one SQS
 * message; 200 only once SQS has accepted it. Its ports (secrets, queue, clock, logger) are passed in.
 *
 * What is signed is what is processed: the text queued, keyed and handed to handlers is the text
 * the signature covers (the bytes received, or their compact form when only that verified), so
 * every byte variant of one signed hook is one event with one dedupe key.
 *
 * Every outcome is one log line with a metric; the line carries event, website and attempt
 * once the hook is authenticated, and never the signature, the key or the body.
 */
import {
  type HookFilter,
  type HookKind,
  type Headers,
  buildQueueMessage,
  checkEnvelope,
  deliveryInfo,
  filteredOut,
  header,
  messageSize,
  parseEnvelope,
} from '../commons/core/hook-envelope';
import { type SecretPair, type SignatureFailure, checkFreshness, hookTimestampMs, verifySignedHook, verifyWebsiteHookKey } from '../commons/core/hook-signature';
import { CanonicalJsonError } from '../commons/core/canonical-json';
import { dedupeKey } from '../commons/core/dedupe';
import type { Logger, Metrics } from '../commons/logger';
import type { SecretResult } from '../commons/secrets';

export interface HookRequest {
  kind: HookKind;
  headers: Headers | undefined;
  body: string | undefined;
  isBase64Encoded: boolean;
  /** Website Hooks: the raw query string holding `key`. Never logged. */
  rawQueryString: string | undefined;
}

export interface HookQueue {
  /** Resolves with the SQS message id once SQS has accepted the message. */
  send(message: { body: string; attributes: Record<string, { DataType: string; StringValue: string }> }): Promise<string | undefined>;
}

export interface SecretPort {
  get(logger?: Logger): Promise<SecretResult<SecretPair>>;
  refresh(minAgeMs: number, logger?: Logger): Promise<SecretResult<SecretPair>>;
}

export interface ReceiverConfig {
  maxAgeSeconds: number;
  maxFutureSeconds: number;
  /** SQS maximum message size, in bytes (body and attributes). */
  maxMessageBytes: number;
  filter: HookFilter;
}

export interface ReceiverDeps {
  config: ReceiverConfig;
  /** Plugin Hook signing secret. */
  hookSecret: SecretPort;
  /** Website Hook key; undefined when Website Hooks are off. */
  websiteKey: SecretPort | undefined;
  queue: HookQueue;
  now: () => number;
  logger: Logger;
}

export interface HookResponse {
  status: number;
  body: Record<string, unknown>;
}

/** After a signature mismatch, re-read the secret if the cached one is older than this (a rotation). */
const MISMATCH_REFRESH_MS = 30_000;

export async function receiveHook(request: HookRequest, deps: ReceiverDeps): Promise<HookResponse> {
  const { config, logger } = deps;
  const receivedAt = deps.now();
  const delivery = deliveryInfo(request.headers);
  const base = { kind: request.kind, attempt: delivery.attempt, attemptLimit: delivery.attemptLimit };

  const reject = (status: number, reason: string, message: string, fields: Record<string, unknown> = {}): HookResponse => {
    // Stale hooks also get a metric of their own: genuine retries refused by the freshness window show there.
    const metrics: Metrics = reason === 'stale_timestamp' ? { HookRejected: 1, HookStale: 1 } : { HookRejected: 1 };
    logger.info('hook rejected', { ...base, status, reason, ...fields }, metrics, { reason });
    return { status, body: { error: { code: reason, message } } };
  };
  const unavailable = (code: string, message: string, fields: Record<string, unknown> = {}): HookResponse => {
    logger.error('hook not accepted', { ...base, status: 503, reason: code, ...fields }, { HookFailed: 1 }, { reason: code });
    return { status: 503, body: { error: { code, message } } };
  };

  // 1. Size: nothing above the queue's limit is read further. A text body stands for its UTF-8
  // bytes: measured and signature-checked as such, never copied into a Buffer (outside V8's heap,
  // a copy per large hook is memory the function holds until the next collection).
  const rawBody: Uint8Array | string = request.body === undefined ? '' : request.isBase64Encoded ? Buffer.from(request.body, 'base64') : request.body;
  const bodyBytes = typeof rawBody === 'string' ? Buffer.byteLength(rawBody, 'utf8') : rawBody.length;
  if (bodyBytes > config.maxMessageBytes) {
    return reject(413, 'payload_too_large', `The body is larger than the queue accepts (${config.maxMessageBytes} bytes).`, { bytes: bodyBytes });
  }

  // 2. Authentication. `signed` becomes what the signature covers when that is the compact form
  // of the bytes received, rather than the bytes. From here on nothing else of the body is used.
  // The timestamp header is read, and the body parsed, once per hook: the signature check hands
  // on the timestamp it validated and, when it had to parse the body, the parsed value.
  const timestampHeader = header(request.headers, 'x-crisp-request-timestamp');
  let timestampMs: number | undefined;
  let authenticatedWith: Record<string, string>;
  let signed: { text: string; value: unknown } | undefined;
  if (request.kind === 'plugin') {
    const secrets = await deps.hookSecret.get(logger);
    if (!secrets.ok) return unavailable('secret_unavailable', 'The hook signing secret is not configured or cannot be read; retry later.');
    const input = {
      signature: header(request.headers, 'x-crisp-signature'),
      timestamp: timestampHeader,
      rawBody,
    };
    let check = verifySignedHook({ ...input, secrets: secrets.value });
    if (!check.ok && check.reason === 'signature_mismatch') {
      // Maybe the operator has just set a new secret: look again (at most every 30 s).
      const fresh = await deps.hookSecret.refresh(MISMATCH_REFRESH_MS, logger);
      if (fresh.ok && fresh.value !== secrets.value) check = verifySignedHook({ ...input, secrets: fresh.value });
    }
    if (!check.ok) return reject(401, check.reason, SIGNATURE_MESSAGES[check.reason]);
    authenticatedWith = { signature: check.variant, secret: check.secret };
    timestampMs = check.timestampMs;
    if (check.variant === 'compact') signed = { text: check.text, value: check.value };
  } else {
    if (!deps.websiteKey) return reject(404, 'not_enabled', 'Website Hooks are not enabled on this deployment.');
    const keys = await deps.websiteKey.get(logger);
    if (!keys.ok) return unavailable('secret_unavailable', 'The Website Hook key is not configured or cannot be read; retry later.');
    const given = new URLSearchParams(request.rawQueryString ?? '').get('key') ?? undefined;
    let check = verifyWebsiteHookKey(given, keys.value);
    if (!check.ok && check.reason === 'key_mismatch') {
      // As for signatures: the key may just have been changed (re-read at most every 30 s).
      const fresh = await deps.websiteKey.refresh(MISMATCH_REFRESH_MS, logger);
      if (fresh.ok && fresh.value !== keys.value) check = verifyWebsiteHookKey(given, fresh.value);
    }
    if (!check.ok) return reject(401, check.reason, check.reason === 'key_missing' ? 'The hook URL has no key.' : 'The hook URL key is wrong.');
    authenticatedWith = { secret: check.secret };
  }

  // 3. Freshness of X-Crisp-Request-Timestamp (required, and signed, for Plugin Hooks: already
  // read by the signature check; optional and unsigned on Website Hooks: read here).
  let ageMs: number | undefined;
  if (timestampMs === undefined && timestampHeader !== undefined) {
    timestampMs = hookTimestampMs(timestampHeader);
    if (timestampMs === undefined) return reject(401, 'timestamp_malformed', 'X-Crisp-Request-Timestamp is not a timestamp.');
  }
  if (timestampMs !== undefined) {
    const fresh = checkFreshness(timestampMs, receivedAt, config.maxAgeSeconds, config.maxFutureSeconds);
    if (!fresh.ok) return stale(fresh, 'The hook');
    ageMs = fresh.ageMs;
  }

  // 4. The envelope, from the signed text (already parsed when only its compact form is signed).
  // A body that came as text is that text already (the bytes' UTF-8 decoding), unless it holds a
  // lone surrogate (the bytes carry U+FFFD) or starts with a byte order mark (which decoding
  // drops): only then are the bytes decoded again.
  const receivedText =
    !request.isBase64Encoded && request.body !== undefined && request.body.charCodeAt(0) !== 0xfeff && request.body.isWellFormed() ? request.body : undefined;
  const parsed = signed
    ? checkEnvelope(signed.value, signed.text)
    : parseEnvelope(receivedText ?? (typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody));
  if (!parsed.ok) return reject(400, 'invalid_envelope', parsed.message, { problem: parsed.reason, field: parsed.field });
  const { envelope } = parsed;
  const about = { event: envelope.event, website_id: envelope.websiteId };

  // 5. Website Hooks: nothing on them is signed, so the header above proves nothing about when the
  // event happened. The event's own time does: a captured Website Hook replayed after the dedupe
  // lifetime (which the freshness window never exceeds) is refused here rather than run again.
  if (request.kind === 'website') {
    const fresh = checkFreshness(envelope.timestamp, receivedAt, config.maxAgeSeconds, config.maxFutureSeconds);
    if (!fresh.ok) return stale(fresh, 'The event (its "timestamp")', about);
    ageMs ??= fresh.ageMs;
  }

  // The consumer needs the dedupe key; a body it cannot derive one from is refused here, not dead-lettered later.
  const key = keyOf(parsed.text);
  if (!key.ok) return reject(400, 'invalid_envelope', KEY_PROBLEMS[key.problem], { ...about, problem: key.problem });

  // 6. Subscription filters: a filtered event is acknowledged, not queued.
  const filtered = filteredOut(envelope, config.filter);
  if (filtered) {
    logger.info('hook filtered', { ...base, ...about, filter: filtered }, { HookFiltered: 1 });
    return { status: 200, body: { ok: true, filtered: true } };
  }

  // 7. Durable in SQS, then 200.
  const message = buildQueueMessage({ text: parsed.text, envelope, delivery, kind: request.kind, receivedAt });
  const size = messageSize(message);
  if (size > config.maxMessageBytes) {
    return reject(413, 'payload_too_large', `The hook is larger than the queue accepts (${config.maxMessageBytes} bytes).`, { ...about, bytes: size });
  }
  let messageId: string | undefined;
  try {
    messageId = await deps.queue.send(message);
  } catch (error) {
    return unavailable('queue_unavailable', 'The hook could not be queued; retry later.', { ...about, error });
  }
  logger.info(
    'hook accepted',
    { ...base, ...about, dedupeKey: key.key, ...authenticatedWith, messageId, bytes: size, ageMs },
    { HookAccepted: 1 },
  );
  return { status: 200, body: { ok: true } };

  function stale(fresh: { reason: 'stale_timestamp' | 'future_timestamp'; ageMs: number }, what: string, fields: Record<string, unknown> = {}): HookResponse {
    const message =
      fresh.reason === 'stale_timestamp'
        ? `${what} is older than ${config.maxAgeSeconds} seconds.`
        : `${what} is more than ${config.maxFutureSeconds} seconds in the future.`;
    return reject(401, fresh.reason, message, { ...fields, ageSeconds: Math.round(fresh.ageMs / 1000) });
  }
}

type KeyProblem = 'too_deep' | 'non_finite_number' | 'not_json';

const KEY_PROBLEMS: Record<KeyProblem, string> = {
  too_deep: 'The body cannot be read as a Crisp event (nested too deeply).',
  non_finite_number: 'The body holds a number too large for JSON (it would read as Infinity).',
  not_json: 'The body cannot be read as a Crisp event.',
};

/** The event's dedupe key, logged so one event can be followed from receiver to consumer. */
function keyOf(text: string): { ok: true; key: string } | { ok: false; problem: KeyProblem } {
  try {
    return { ok: true, key: dedupeKey(text) };
  } catch (error) {
    const problem = error instanceof CanonicalJsonError && error.problem !== 'syntax' ? error.problem : 'not_json';
    return { ok: false, problem };
  }
}

const SIGNATURE_MESSAGES: Record<SignatureFailure, string> = {
  signature_missing: 'X-Crisp-Signature is missing.',
  signature_malformed: 'X-Crisp-Signature is not 64 hexadecimal characters.',
  timestamp_missing: 'X-Crisp-Request-Timestamp is missing.',
  timestamp_malformed: 'X-Crisp-Request-Timestamp is not a timestamp.',
  signature_mismatch: 'X-Crisp-Signature does not match the body.',
};
