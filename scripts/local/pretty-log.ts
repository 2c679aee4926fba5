/**
 * Human-readable local logs. The functions write Lambda's JSON log format (one JSON object a
 * line: `timestamp`, `level`, `message`, then the decision's fields, EMF metrics under `_aws`);
 * on AWS that is what CloudWatch Logs Insights wants, in a terminal it is a wall of braces.
 *
 *     {"timestamp":"2026-12-01T02:57:55.485Z","level":"INFO","message":"crisp event processed","requestId":"e634…","event":"message:send",…,"service":"consumer","EventProcessed":1,"_aws":{…}}
 * becomes
 *     03:57:55.485 INFO  consumer      crisp event processed  event=message:send dedupeKey=v1:… duplicate=false requestId=e634…
 *
 * - `prettyLine(line)`: one line; anything that is not a JSON log line is returned unchanged.
 * - `prettyWriter(write)`: line-buffers one source of chunks (a child process's pipe, say).
 * - `prettyStream()`: the same as a Transform stream (`source.pipe(prettyStream()).pipe(process.stdout)`).
 * - `installPrettyStdout()`: makes every `process.stdout.write` of this process pretty (the
 *   functions of the local stack log from this process), until `restore()`.
 *
 * Nothing is dropped but the EMF block and the metric counters it describes: every other field
 * shows as `key=value`, an error's stack on indented lines below. Colours only when asked, by
 * default when stdout is a terminal (`NO_COLOR` turns them off, `FORCE_COLOR` on).
 */
import { StringDecoder } from 'node:string_decoder';
import { Transform } from 'node:stream';

export interface PrettyOptions {
  /** ANSI colours. Default: `colorWanted(process.stdout)`. */
  color?: boolean;
  /** Show times in UTC rather than in the local time zone. Default false. */
  utc?: boolean;
}

/** Whether to colour what goes to `stream`: a terminal, unless NO_COLOR; always with FORCE_COLOR (not 0/false). */
export function colorWanted(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true;
}

const RESET = '\x1b[0m';
const STYLE = {
  dim: '\x1b[2m',
  gray: '\x1b[90m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33m',
  cyan: '\x1b[36m',
  magenta: '\x1b[35m',
} as const;
const LEVEL_STYLE: Record<string, string> = { ERROR: STYLE.red, FATAL: STYLE.red, WARN: STYLE.yellow, INFO: STYLE.green, DEBUG: STYLE.gray, TRACE: STYLE.gray };

/** Width of the service column (`hook-receiver`; `ticket-center-url` overflows it). */
const SERVICE_WIDTH = 13;
/** Fields shown elsewhere on the line (or not at all). */
const PLACED = new Set(['timestamp', 'level', 'message', 'service', '_aws']);
/** Shown last: present on every line of a request, rarely what one reads first. */
const LAST = ['requestId'];
/** A string that needs no quotes after `key=`. */
const BARE = /^[^\s"'=\\\x00-\x1f\x7f]+$/;

/**
 * One JSON log line made readable: `HH:MM:SS.mmm LEVEL service  message  key=value ...`, an
 * error's stack below it (indented). A line that is not a JSON object with a string `message`
 * comes back as it is.
 */
export function prettyLine(line: string, options: PrettyOptions = {}): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const start = text.trimStart();
  if (!start.startsWith('{')) return line;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return line;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return line;
  const fields = record as Record<string, unknown>;
  if (typeof fields.message !== 'string') return line;

  const color = options.color ?? colorWanted();
  const paint = (style: string, s: string): string => (color && style !== '' && s !== '' ? `${style}${s}${RESET}` : s);

  const level = typeof fields.level === 'string' ? fields.level.toUpperCase() : '';
  const head: string[] = [paint(STYLE.gray, formatTime(fields.timestamp, options.utc ?? false))];
  head.push(paint(LEVEL_STYLE[level] ?? '', level.padEnd(5)));
  // A column for the function (the logger's `service`), as wide as most names: messages line up.
  head.push(paint(STYLE.cyan, typeof fields.service === 'string' ? fields.service : '') + ' '.repeat(Math.max(0, SERVICE_WIDTH - (typeof fields.service === 'string' ? fields.service.length : 0))));
  head.push(level === 'ERROR' || level === 'FATAL' ? paint(STYLE.red, fields.message) : fields.message);

  // EMF: the metric counters ride on the line as top-level numbers; `_aws` names them.
  const metricNames = new Set(emfMetricNames(fields._aws));
  const keys = Object.keys(fields).filter((key) => !PLACED.has(key) && !metricNames.has(key));
  keys.sort((a, b) => Number(LAST.includes(a)) - Number(LAST.includes(b)));

  const pairs: string[] = [];
  const below: string[] = [];
  for (const key of keys) {
    const value = fields[key];
    if (value === undefined) continue;
    const error = asError(value);
    if (error) {
      pairs.push(`${paint(STYLE.gray, `${key}=`)}${paint(STYLE.red, quote(error.summary))}`);
      for (const frame of error.frames) below.push(paint(STYLE.gray, `      ${frame}`));
      continue;
    }
    pairs.push(`${paint(STYLE.gray, `${key}=`)}${formatValue(value)}`);
  }
  const first = pairs.length > 0 ? `${head.join(' ')}  ${pairs.join(' ')}` : head.join(' ');
  return [first, ...below].join('\n');
}

/** `HH:MM:SS.mmm` of an ISO timestamp or epoch milliseconds; the value as it is if it is neither. */
function formatTime(value: unknown, utc: boolean): string {
  if (value === undefined || value === null) return ' '.repeat(12);
  const date = typeof value === 'number' ? new Date(value) : typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) return String(typeof value === 'string' ? value : JSON.stringify(value));
  const two = (n: number) => String(n).padStart(2, '0');
  return utc
    ? `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}.${String(date.getUTCMilliseconds()).padStart(3, '0')}`
    : `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function emfMetricNames(aws: unknown): string[] {
  if (typeof aws !== 'object' || aws === null) return [];
  const directives = (aws as { CloudWatchMetrics?: unknown }).CloudWatchMetrics;
  if (!Array.isArray(directives)) return [];
  const names: string[] = [];
  for (const directive of directives) {
    const metrics = (directive as { Metrics?: unknown } | null)?.Metrics;
    if (!Array.isArray(metrics)) continue;
    for (const metric of metrics) {
      const name = (metric as { Name?: unknown } | null)?.Name;
      if (typeof name === 'string') names.push(name);
    }
  }
  return names;
}

/** The logger's `{ name, message, stack }` (see functions/commons/logger.ts): a summary and the stack's frames. */
function asError(value: unknown): { summary: string; frames: string[] } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { name, message, stack } = value as Record<string, unknown>;
  if (typeof message !== 'string' || (typeof name !== 'string' && typeof stack !== 'string')) return undefined;
  const summary = typeof name === 'string' && name !== '' ? `${name}: ${message}` : message;
  if (typeof stack !== 'string') return { summary, frames: [] };
  const lines = stack.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  // The stack starts with "Name: message" (maybe over several lines): the summary says it already.
  const firstFrame = lines.findIndex((l) => l.startsWith('at ') || l === '[truncated]');
  return { summary, frames: firstFrame === -1 ? lines : lines.slice(firstFrame) };
}

function quote(s: string): string {
  return BARE.test(s) ? s : JSON.stringify(s);
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? String(value);
}

// ---------------------------------------------------------------------------------------------
// Streams of lines.

export interface PrettyWriter {
  /** Takes a chunk of any size: complete lines go out pretty at once, a partial line waits for its end. */
  write(chunk: string | Uint8Array): void;
  /** Writes out what is left: a last line without its newline (made pretty if it is a whole JSON line). */
  flush(): void;
}

export interface PrettyWriterOptions extends PrettyOptions {
  /**
   * A partial line that is not JSON (a prompt, a progress dot) goes out at once; a partial JSON
   * line waits for its newline at most this long, then goes out as it is. Default 250 ms.
   */
  partialLineMs?: number;
}

/**
 * Line-buffers one source of text and hands `write` each line made pretty (with its newline).
 * Safe with lines split across chunks, several lines in one chunk, and UTF-8 characters split
 * across byte chunks. Give each source (this process, a child's pipe) its own writer: chunks of
 * two sources mixed in one writer can join a partial line of one to a line of the other (they
 * are then passed through as they are, not lost).
 */
export function prettyWriter(write: (text: string) => void, options: PrettyWriterOptions = {}): PrettyWriter {
  const decoder = new StringDecoder('utf8');
  const partialLineMs = options.partialLineMs ?? 250;
  const format: PrettyOptions = { ...options, color: options.color ?? colorWanted() };
  let pending = '';
  /** The current line's beginning already went out unformatted: the rest of it follows unformatted. */
  let raw = false;
  let timer: NodeJS.Timeout | undefined;

  const out = (text: string): void => {
    if (text !== '') write(text);
  };
  const release = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending !== '') {
      out(pending);
      pending = '';
      raw = true;
    }
  };
  const take = (text: string): void => {
    let rest = text;
    let newline = rest.indexOf('\n');
    let output = '';
    while (newline !== -1) {
      const piece = rest.slice(0, newline);
      rest = rest.slice(newline + 1);
      if (raw) output += piece + '\n';
      else {
        output += safePretty(pending + piece, format) + '\n';
      }
      pending = '';
      raw = false;
      newline = rest.indexOf('\n');
    }
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (rest !== '') {
      if (raw) output += rest;
      else if (!(pending + rest).trimStart().startsWith('{') && (pending + rest).trim() !== '') {
        output += pending + rest;
        pending = '';
        raw = true;
      } else pending += rest;
    }
    out(output);
    if (pending !== '') {
      timer = setTimeout(release, partialLineMs);
      timer.unref();
    }
  };
  return {
    write: (chunk) => take(typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))),
    flush: () => {
      take(decoder.end());
      if (timer) clearTimeout(timer);
      timer = undefined;
      // The last line, without its newline: made pretty if it is a whole JSON line.
      if (pending !== '') out(safePretty(pending, format));
      pending = '';
      raw = false;
    },
  };
}

function safePretty(line: string, options: PrettyOptions): string {
  try {
    return prettyLine(line, options);
  } catch {
    return line;
  }
}

/** A Transform stream: text in, the same lines out made pretty (see `prettyWriter`). */
export function prettyStream(options: PrettyWriterOptions = {}): Transform {
  let writer: PrettyWriter;
  const stream = new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      writer.write(chunk);
      callback();
    },
    flush(callback) {
      writer.flush();
      callback();
    },
  });
  // No partial-line timeout in a stream: its end flushes what is left.
  writer = prettyWriter((text) => stream.push(text), { ...options, partialLineMs: options.partialLineMs ?? 2 ** 31 - 1 });
  return stream;
}

export interface InstalledPrettyStdout {
  /** Writes out a pending partial line and puts the original `process.stdout.write` back. */
  restore(): void;
}

let installed: InstalledPrettyStdout | undefined;

/**
 * From now on, what this process writes to stdout (console.log, the functions' loggers, a
 * child's output piped through `process.stdout.write`) is printed by `prettyLine`, line by
 * line. Non-JSON output passes unchanged; a write's callback is still called; writing never
 * throws because of the formatting. Installing twice returns the first installation.
 * Colours follow stdout (a terminal), or `options.color`.
 */
export function installPrettyStdout(options: PrettyWriterOptions = {}): InstalledPrettyStdout {
  if (installed) return installed;
  const stdout = process.stdout;
  const original = stdout.write;
  const writer = prettyWriter((text) => void original.call(stdout, text), { ...options, color: options.color ?? colorWanted(stdout) });
  const patched = function write(this: unknown, chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    const callback = rest.find((arg): arg is (error?: Error | null) => void => typeof arg === 'function');
    const encoding = typeof rest[0] === 'string' ? (rest[0] as BufferEncoding) : undefined;
    try {
      writer.write(typeof chunk === 'string' && encoding && encoding !== 'utf8' && encoding !== 'utf-8' ? Buffer.from(chunk, encoding) : chunk);
    } catch {
      // Never lose output to the formatting: the chunk as it came.
      original.call(stdout, chunk);
    }
    if (callback) process.nextTick(callback);
    return true;
  } as typeof stdout.write;
  stdout.write = patched;
  const handle: InstalledPrettyStdout = {
    restore: () => {
      if (installed !== handle) return;
      writer.flush();
      if (stdout.write === patched) stdout.write = original;
      installed = undefined;
    },
  };
  installed = handle;
  return handle;
}
