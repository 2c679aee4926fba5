/**
 * A small in-process EventBridge for the local stack and the tests: an HTTP endpoint speaking
 * the AWS JSON 1.1 protocol for `PutEvents` (X-Amz-Target `AWSEvents.PutEvents`), enough for the
 * real `@aws-sdk/client-eventbridge` pointed at it through `AWS_ENDPOINT_URL_EVENTBRIDGE`.
 *
 * It keeps every event accepted (`events`), logs one `local bus event` line per event
 * (detail-type, source, dedupeKey: never the detail itself, which holds customer data), and
 * delivers each to the rules registered with `addRule(pattern, deliver)`, in the shape
 * EventBridge gives targets. Tests can make it refuse the next entries (`failNext(n, code)`:
 * per-entry failures, as PutEvents reports them) or the whole service (`setAvailable(false)`:
 * every call answers 500).
 *
 * It checks what PutEvents checks and the bridge could get wrong: at most 10 entries, 256 KB
 * in all (counted EventBridge's way), a `Detail` that is a JSON object, a `Source` not starting
 * with `aws.`. No archive, no replay (see docs/event-bus.md for those on AWS).
 *
 * Listens on 127.0.0.1 only (see ./loopback): it accepts any credentials.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback';

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const MAX_ENTRIES = 10;
const MAX_BYTES = 256 * 1024;

/** An event as EventBridge hands it to a rule's target. */
export interface LocalBusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601, to the second, from the entry's `Time` (else the time it was put). */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** The bus it was put on (name or ARN, as the caller gave it). Not part of EventBridge's event. */
  busName: string;
}

/**
 * An EventBridge event pattern, the subset the bridge's rules use: each field an array of exact
 * values or `{ prefix: '...' }` matchers, nested objects for `detail`.
 */
export type LocalEventPattern = { [field: string]: LocalEventPattern | Array<string | number | boolean | null | { prefix: string }> };

export interface EventBridgeEmulator {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly endpoint: string;
  /** Every event accepted, oldest first. */
  readonly events: LocalBusEvent[];
  /** PutEvents calls received (accepted or not), with their entry counts. */
  readonly calls: Array<{ entries: number }>;
  /** Delivers every later event matching `pattern` to `deliver` (after the call is answered). Returns a remover. */
  addRule(pattern: LocalEventPattern, deliver: (event: LocalBusEvent) => void | Promise<void>): () => void;
  /** The next `count` entries fail with `errorCode` (ThrottlingException, AccessDeniedException...). */
  failNext(count: number, errorCode: string, errorMessage?: string): void;
  /** `false`: every call answers 500 InternalException, as if EventBridge were down. */
  setAvailable(available: boolean): void;
  close(): Promise<void>;
}

export interface EventBridgeEmulatorOptions {
  port?: number;
  /** Where the `local bus event` lines go. Default: one JSON line each on stdout. */
  log?: (line: Record<string, unknown>) => void;
}

interface Entry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Time?: number | string;
  EventBusName?: string;
  Resources?: string[];
}

export async function startEventBridgeEmulator(options: EventBridgeEmulatorOptions = {}): Promise<EventBridgeEmulator> {
  const events: LocalBusEvent[] = [];
  const calls: Array<{ entries: number }> = [];
  const rules = new Set<{ pattern: LocalEventPattern; deliver: (event: LocalBusEvent) => void | Promise<void> }>();
  const failures: Array<{ errorCode: string; errorMessage: string }> = [];
  let available = true;
  const log =
    options.log ??
    ((line: Record<string, unknown>) => void process.stdout.write(JSON.stringify({ timestamp: new Date().toISOString(), level: 'INFO', ...line }) + '\n'));

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!available) return reply(res, 500, { __type: 'InternalException', message: 'emulated outage' });
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^AWSEvents\./, '');
    if (action !== 'PutEvents') return reply(res, 400, { __type: 'UnknownOperationException', message: `${action} is not emulated` });
    let input: { Entries?: Entry[] };
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return reply(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
    }
    const entries = input.Entries ?? [];
    calls.push({ entries: entries.length });
    if (entries.length < 1 || entries.length > MAX_ENTRIES) {
      return reply(res, 400, { __type: 'ValidationException', message: `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}` });
    }
    const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total > MAX_BYTES) return reply(res, 400, { __type: 'ValidationException', message: 'Total size of the entries in the request is over the limit.' });

    const accepted: LocalBusEvent[] = [];
    const results = entries.map((entry) => {
      const failure = failures.shift() ?? refusal(entry);
      if (failure) return { ErrorCode: failure.errorCode, ErrorMessage: failure.errorMessage };
      const event: LocalBusEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': entry.DetailType!,
        source: entry.Source!,
        account: ACCOUNT,
        time: isoSeconds(entry.Time),
        region: REGION,
        resources: entry.Resources ?? [],
        detail: JSON.parse(entry.Detail!) as Record<string, unknown>,
        busName: entry.EventBusName ?? 'default',
      };
      accepted.push(event);
      return { EventId: event.id };
    });
    reply(res, 200, { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results });
    for (const event of accepted) {
      events.push(event);
      log({ message: 'local bus event', 'detail-type': event['detail-type'], source: event.source, dedupeKey: event.detail.dedupeKey, bus: event.busName });
      for (const rule of rules) {
        if (!matches(rule.pattern, event as unknown as Record<string, unknown>)) continue;
        // Like EventBridge: the put is answered first, targets are invoked after, and a failing target does not fail the put.
        void Promise.resolve()
          .then(() => rule.deliver(event))
          .catch((error: unknown) => log({ level: 'WARN', message: 'local bus rule target failed', 'detail-type': event['detail-type'], error: String(error) }));
      }
    }
  }

  const { url: endpoint } = await listenOnLoopback(server, { port: options.port ?? 0 });
  return {
    endpoint,
    events,
    calls,
    addRule(pattern, deliver) {
      const rule = { pattern, deliver };
      rules.add(rule);
      return () => void rules.delete(rule);
    },
    failNext(count, errorCode, errorMessage = `emulated ${errorCode}`) {
      for (let i = 0; i < count; i += 1) failures.push({ errorCode, errorMessage });
    },
    setAvailable(value) {
      available = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What PutEvents refuses in one entry, as a per-entry error. */
function refusal(entry: Entry): { errorCode: string; errorMessage: string } | undefined {
  if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
    return { errorCode: 'InvalidArgument', errorMessage: 'Parameters Source, DetailType and Detail are required.' };
  }
  if (entry.Source.toLowerCase().startsWith('aws.')) {
    return { errorCode: 'NotAuthorizedForSourceException', errorMessage: `Not authorized for the source ${entry.Source}.` };
  }
  try {
    const detail: unknown = JSON.parse(entry.Detail);
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) throw new Error('not an object');
  } catch {
    return { errorCode: 'MalformedDetail', errorMessage: 'Detail is malformed.' };
  }
  return undefined;
}

/** An entry's size, EventBridge's way: 14 for Time, and the UTF-8 bytes of Source, DetailType, Detail and each resource. */
function entrySize(entry: Entry): number {
  const bytes = (text: string | undefined) => (text === undefined ? 0 : Buffer.byteLength(text, 'utf8'));
  return (entry.Time !== undefined ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail) + (entry.Resources ?? []).reduce((sum, r) => sum + bytes(r), 0);
}

/** The SDK sends `Time` as epoch seconds; EventBridge writes `time` to the second. */
function isoSeconds(time: number | string | undefined): string {
  const date = time === undefined ? new Date() : typeof time === 'number' ? new Date(time * 1000) : new Date(time);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Does `event` match `pattern` (exact values and `prefix` matchers, nested objects)? */
export function matches(pattern: LocalEventPattern, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([field, expected]) => {
    const value = event[field];
    if (!Array.isArray(expected)) return typeof value === 'object' && value !== null && matches(expected, value as Record<string, unknown>);
    const values = Array.isArray(value) ? value : [value];
    return expected.some((matcher) =>
      typeof matcher === 'object' && matcher !== null
        ? values.some((v) => typeof v === 'string' && v.startsWith(matcher.prefix))
        : values.some((v) => v === matcher),
    );
  });
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() };
  if (typeof body.__type === 'string') headers['x-amzn-errortype'] = body.__type;
  res.writeHead(status, headers).end(JSON.stringify(body));
}
