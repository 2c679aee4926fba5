/**
 * A Crisp event as an EventBridge entry, and the rules PutEvents imposes on it. Pure: no SDK,
 * no I/O (the adapter is functions/commons/aws/eventbridge.ts, the batching
 * functions/consumer/event-publishing.ts).
 *
 * The entry: `Source` the bridge's event source, `DetailType` the Crisp namespace verbatim
 * (`message:send`), `Time` the event's own timestamp (Crisp's, not the time it was published:
 * a replay selects events by it), `Detail` the envelope as Crisp sent it plus `dedupeKey` and
 * `hookKind`.
 *
 * Size: EventBridge refuses an entry over 256 KB, counted its way (`entrySize`). A larger event
 * is never dropped: the largest fields of its `data` are left out, largest first, until it fits,
 * and the detail says so (`truncated: true`, `dropped: ["data.content", ...]`); if that is not
 * enough, `data` goes whole. The envelope's identifiers (`website_id`, `event`, `timestamp`,
 * `data.session_id`... whatever is small) stay, so a subscriber can fetch the rest from Crisp.
 * See docs/event-bus.md.
 */

/** An entry for the bus, before the adapter adds the bus name. */
export interface BusEntry {
  source: string;
  detailType: string;
  /** JSON text. */
  detail: string;
  time: Date;
}

/** A built entry, and whether fields had to be left out to fit. */
export interface BuiltBusEntry {
  entry: BusEntry;
  truncated: boolean;
  /** The fields left out (`data.content`, or `data`), when truncated. */
  dropped: string[];
}

/** PutEvents' limit on one entry, and on the entries of one call together. */
export const MAX_ENTRY_BYTES = 256 * 1024;
export const MAX_CALL_BYTES = 256 * 1024;
/** PutEvents takes at most 10 entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;
/** Beyond this many dropped fields, `data` is dropped whole (keeps `dropped` itself short). */
const MAX_DROPPED_FIELDS = 32;

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/**
 * An entry's size as EventBridge counts it ("Calculating PutEvents event entry size"): 14 bytes
 * for `Time`, plus the UTF-8 bytes of `Source`, `DetailType` and `Detail`.
 */
export function entrySize(entry: BusEntry): number {
  return 14 + utf8(entry.source) + utf8(entry.detailType) + utf8(entry.detail);
}

export interface CrispEnvelope {
  website_id: string;
  event: string;
  timestamp: number;
  data?: unknown;
  [field: string]: unknown;
}

/**
 * The bus entry for one event (`envelope` as parsed from the hook), within `maxBytes`
 * (default 256 KB): see the file comment for what is left out when it does not fit.
 */
export function buildBusEntry(
  envelope: CrispEnvelope,
  options: { source: string; dedupeKey: string; hookKind: string; maxBytes?: number },
): BuiltBusEntry {
  const maxBytes = options.maxBytes ?? MAX_ENTRY_BYTES;
  const make = (detail: Record<string, unknown>): BusEntry => ({
    source: options.source,
    detailType: envelope.event,
    detail: JSON.stringify(detail),
    time: new Date(envelope.timestamp),
  });
  const extra = { dedupeKey: options.dedupeKey, hookKind: options.hookKind };
  const full = make({ ...envelope, ...extra });
  if (entrySize(full) <= maxBytes) return { entry: full, truncated: false, dropped: [] };

  // Too large: leave out `data`'s largest fields until it fits.
  const data = envelope.data;
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    const fields = Object.entries(data as Record<string, unknown>).map(([name, value]) => ({ name, bytes: utf8(JSON.stringify(value) ?? '') + utf8(name) + 4 }));
    fields.sort((a, b) => b.bytes - a.bytes);
    const kept = { ...(data as Record<string, unknown>) };
    const dropped: string[] = [];
    // Room for the marker fields, with the dropped list as long as it may get.
    const markerBytes = 40 + fields.slice(0, MAX_DROPPED_FIELDS).reduce((sum, field) => sum + utf8(JSON.stringify(`data.${field.name}`)) + 1, 0);
    let excess = entrySize(full) + markerBytes - maxBytes;
    for (const field of fields) {
      if (excess <= 0 || dropped.length >= MAX_DROPPED_FIELDS) break;
      delete kept[field.name];
      dropped.push(`data.${field.name}`);
      excess -= field.bytes;
    }
    if (excess <= 0) {
      const trimmed = make({ ...envelope, data: kept, ...extra, truncated: true, dropped });
      if (entrySize(trimmed) <= maxBytes) return { entry: trimmed, truncated: true, dropped };
    }
  }
  // Still too large (or `data` is not an object): keep the envelope's identifiers only.
  const { website_id, event, timestamp } = envelope;
  const dropped = Object.keys(envelope).filter((name) => !['website_id', 'event', 'timestamp'].includes(name));
  return { entry: make({ website_id, event, timestamp, ...extra, truncated: true, dropped }), truncated: true, dropped };
}

/**
 * Splits `items` into PutEvents calls, in order: at most 10 entries and 256 KB per call.
 * (Every entry is at most 256 KB itself: `buildBusEntry` sees to it.)
 */
export function chunkEntries<T>(items: readonly T[], sizeOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= MAX_ENTRIES_PER_CALL || bytes + size > MAX_CALL_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * Error codes that will fail again however often the entry is sent (PutEventsResultEntry's
 * documented non-retryable codes, and the call-level errors that mean the same: the bus is
 * missing, the role may not put, the entry is malformed). Any other code (ThrottlingException,
 * InternalFailure, a 5xx, a network error, a code this list does not know) is retried, and
 * after the queue's maximum receives dead-lettered by SQS.
 */
const NON_RETRYABLE = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'InvalidAccountIdException',
  'InvalidArgument',
  'MalformedDetail',
  'RedactionFailure',
  'NotAuthorizedForSourceException',
  'NotAuthorizedForDetailTypeException',
  'ValidationException',
  'ResourceNotFoundException',
]);

export function isRetryablePublishError(errorCode: string): boolean {
  return !NON_RETRYABLE.has(errorCode);
}
