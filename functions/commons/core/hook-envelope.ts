/**
 * What the receiver checks and keeps of a Crisp hook once it is authenticated: the envelope
 * (`website_id`, `event`, `timestamp`, a `data` object), the delivery headers, the subscription filters, and the
 * SQS message that carries it all. Pure logic, no AWS.
 */

export interface HookEnvelope {
  websiteId: string;
  /** The event namespace, e.g. `message:send`. */
  event: string;
  /** When the event happened, in milliseconds (Crisp's `timestamp`). */
  timestamp: number;
}

export type EnvelopeFailure = 'not_utf8' | 'not_json' | 'not_an_object' | 'missing_field' | 'invalid_field';

export type EnvelopeCheck =
  | { ok: true; envelope: HookEnvelope; text: string; value: Record<string, unknown> }
  | { ok: false; reason: EnvelopeFailure; field?: string; message: string };

const EVENT_RE = /^[a-z0-9_]+(:[a-z0-9_]+)*$/i;
const MAX_ID_LENGTH = 128;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses the body as Crisp's envelope: a JSON object with `website_id`, `event`, `timestamp` and a
 * `data` object. `body` is the text to process (the signed text), or bytes that must be UTF-8.
 */
export function parseEnvelope(body: Uint8Array | string): EnvelopeCheck {
  let text: string;
  if (typeof body === 'string') {
    text = body;
  } else {
    try {
      text = utf8.decode(body);
    } catch {
      return { ok: false, reason: 'not_utf8', message: 'The body is not valid UTF-8.' };
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not_json', message: 'The body is not JSON.' };
  }
  return checkEnvelope(parsed, text);
}

/**
 * The envelope check of `parseEnvelope` on a body already parsed: `parsed` must be what
 * `JSON.parse(text)` gives, at least in its top-level members (the receiver passes the value
 * the signature check parsed to make the compact text, so the body is parsed once).
 */
export function checkEnvelope(parsed: unknown, text: string): EnvelopeCheck {
  if (!isObject(parsed)) {
    return { ok: false, reason: 'not_an_object', message: 'The body is not a JSON object (a Crisp hook envelope).' };
  }
  const members = parsed;
  for (const field of ['website_id', 'event', 'timestamp', 'data']) {
    if (members[field] === undefined || members[field] === null || members[field] === '') {
      return { ok: false, reason: 'missing_field', field, message: `The envelope has no "${field}".` };
    }
  }
  const { website_id: websiteId, event, timestamp, data } = members;
  if (typeof websiteId !== 'string' || websiteId.length > MAX_ID_LENGTH || !/^[\w-]+$/.test(websiteId)) {
    return { ok: false, reason: 'invalid_field', field: 'website_id', message: '"website_id" is not a Crisp website ID.' };
  }
  if (typeof event !== 'string' || event.length > MAX_ID_LENGTH || !EVENT_RE.test(event)) {
    return { ok: false, reason: 'invalid_field', field: 'event', message: '"event" is not an event namespace such as "message:send".' };
  }
  const ts = typeof timestamp === 'string' && /^[0-9]{1,16}$/.test(timestamp) ? Number(timestamp) : timestamp;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) {
    return { ok: false, reason: 'invalid_field', field: 'timestamp', message: '"timestamp" is not a time in milliseconds.' };
  }
  // Handlers read `event.data.<field>`: anything but an object would crash them and dead-letter the event.
  if (!isObject(data)) {
    return { ok: false, reason: 'invalid_field', field: 'data', message: '"data" is not a JSON object.' };
  }
  return { ok: true, envelope: { websiteId, event, timestamp: ts }, text, value: members };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Subscription filters.

export interface HookFilter {
  /** Event namespaces to keep: exact (`message:send`) or a prefix (`message:*`). Empty: all. */
  events: readonly string[];
  /** Website IDs to keep. Empty: all. */
  websiteIds: readonly string[];
}

/** Why an authenticated event is not queued, or undefined when it is kept. */
export function filteredOut(envelope: HookEnvelope, filter: HookFilter): 'event' | 'website' | undefined {
  if (filter.websiteIds.length > 0 && !filter.websiteIds.includes(envelope.websiteId)) return 'website';
  if (filter.events.length > 0 && !filter.events.some((pattern) => eventMatches(pattern, envelope.event))) return 'event';
  return undefined;
}

export function eventMatches(pattern: string, event: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith(':*')) return event.startsWith(pattern.slice(0, -1));
  return pattern === event;
}

// ---------------------------------------------------------------------------------------------
// Delivery headers: carried along for operators, never used to decide anything.

export type Headers = Record<string, string | undefined>;

/** Header lookup that ignores case (API Gateway lower-cases them; other callers may not). */
export function header(headers: Headers | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

export interface DeliveryInfo {
  /** `X-Delivery-Attempt-Count`: this attempt, from 1. */
  attempt?: number | undefined;
  /** `X-Delivery-Attempt-Limit`. */
  attemptLimit?: number | undefined;
  /** `X-Crisp-Hook-Origin`, e.g. `plugin/rtm 38b411d9377a6a00 production`. */
  origin?: string | undefined;
}

export function deliveryInfo(headers: Headers | undefined): DeliveryInfo {
  const count = (name: string): number | undefined => {
    const value = header(headers, name)?.trim();
    return value && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : undefined;
  };
  const origin = header(headers, 'x-crisp-hook-origin')?.replace(/[^\x20-\x7e]/g, '').trim().slice(0, 200);
  return { attempt: count('x-delivery-attempt-count'), attemptLimit: count('x-delivery-attempt-limit'), origin: origin || undefined };
}

// ---------------------------------------------------------------------------------------------
// The SQS message.

export interface MessageAttribute {
  DataType: 'String' | 'Number';
  StringValue: string;
}

export interface QueueMessage {
  body: string;
  attributes: Record<string, MessageAttribute>;
}

export type HookKind = 'plugin' | 'website';

/** Attribute names on every queued hook (the consumer reads the same names). */
export const ATTRIBUTES = {
  event: 'event',
  websiteId: 'websiteId',
  hookKind: 'hookKind',
  receivedAt: 'receivedAt',
  deliveryAttempt: 'deliveryAttempt',
  deliveryAttemptLimit: 'deliveryAttemptLimit',
  hookOrigin: 'hookOrigin',
  bodyEncoding: 'bodyEncoding',
} as const;

// Characters SQS accepts in a message: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
const SQS_UNSAFE = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * The body to process (the signed text: the bytes received, or their compact form when only that
 * was signed), plus attributes. A body holding a character SQS refuses (possible inside a JSON
 * string, e.g. U+FFFF) travels base64-encoded (its UTF-8 bytes) with `bodyEncoding=base64`, so it
 * is never lost to a permanent send error.
 */
export function buildQueueMessage(input: {
  text: string;
  envelope: HookEnvelope;
  delivery: DeliveryInfo;
  kind: HookKind;
  receivedAt: number;
}): QueueMessage {
  const attributes: Record<string, MessageAttribute> = {
    [ATTRIBUTES.event]: { DataType: 'String', StringValue: input.envelope.event },
    [ATTRIBUTES.websiteId]: { DataType: 'String', StringValue: input.envelope.websiteId },
    [ATTRIBUTES.hookKind]: { DataType: 'String', StringValue: input.kind },
    [ATTRIBUTES.receivedAt]: { DataType: 'Number', StringValue: String(input.receivedAt) },
  };
  if (input.delivery.attempt !== undefined) attributes[ATTRIBUTES.deliveryAttempt] = { DataType: 'Number', StringValue: String(input.delivery.attempt) };
  if (input.delivery.attemptLimit !== undefined) {
    attributes[ATTRIBUTES.deliveryAttemptLimit] = { DataType: 'Number', StringValue: String(input.delivery.attemptLimit) };
  }
  if (input.delivery.origin) attributes[ATTRIBUTES.hookOrigin] = { DataType: 'String', StringValue: input.delivery.origin };
  if (SQS_UNSAFE.test(input.text)) {
    attributes[ATTRIBUTES.bodyEncoding] = { DataType: 'String', StringValue: 'base64' };
    return { body: Buffer.from(input.text, 'utf8').toString('base64'), attributes };
  }
  return { body: input.text, attributes };
}

/** Size as SQS counts it against the maximum message size: body plus each attribute's name, type and value. */
export function messageSize(message: QueueMessage): number {
  let size = Buffer.byteLength(message.body, 'utf8');
  for (const [name, attribute] of Object.entries(message.attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType) + Buffer.byteLength(attribute.StringValue, 'utf8');
  }
  return size;
}
