/**
 * Structured JSON logger: one line per call, the shape of Lambda's JSON log format
 * (`timestamp`, `level`, `requestId`, `message`) with the decision's fields at the top level,
 * so CloudWatch Logs Insights can filter on them (`filter message = "..." and code = "..."`).
 *
 * Lines are written straight to stdout: with the function's log format set to JSON, Lambda
 * forwards a line that already is a JSON object as it is, without wrapping it in `message`.
 *
 * Metrics ride on the same line in CloudWatch embedded metric format (EMF), so counting an
 * outcome costs no extra call on the request path.
 *
 * Never pass a secret, a signature, a signed URL, an email or a message body as a field:
 * the logger cannot know what a string means. Errors are reduced to name, message and stack
 * (truncated): the stack names code locations only, so it adds no data the message lacks.
 */

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

const LEVEL_ORDER: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

export type LogFields = Record<string, unknown>;

/** Counters to emit as CloudWatch metrics (EMF) with this line, e.g. `{ UrlSigned: 1 }`. */
export type Metrics = Record<string, number>;

/**
 * Extra metric dimensions for one line, e.g. `{ reason: 'stale_timestamp' }`: the metrics are
 * then recorded both without and with them (a total, and one series per reason).
 */
export type MetricDimensions = Record<string, string>;

/** Further metrics on the same line, with their own dimensions (one more EMF directive each). */
export interface MetricSet {
  metrics: Metrics;
  dimensions: MetricDimensions;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  /** `more`: further metric sets on this line (a handler's `context.count`s on an outcome line). */
  info(message: string, fields?: LogFields, metrics?: Metrics, dimensions?: MetricDimensions, more?: readonly MetricSet[]): void;
  warn(message: string, fields?: LogFields, metrics?: Metrics, dimensions?: MetricDimensions): void;
  error(message: string, fields?: LogFields, metrics?: Metrics, dimensions?: MetricDimensions): void;
  /** A logger whose lines all carry `fields` (e.g. the request id). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Minimum level written. Default: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's log controls), else INFO. */
  level?: LogLevel;
  /** Where a finished line goes. Default: stdout. */
  write?: (line: string) => void;
  /** Clock, for tests. */
  now?: () => Date;
  /** CloudWatch namespace for EMF metrics. Default: `METRICS_NAMESPACE`, else `CrispBridge`. */
  metricsNamespace?: string;
  /** Metric dimensions, e.g. `{ service: 'ticket-center-url' }`. */
  dimensions?: Record<string, string>;
  /** Fields on every line. */
  fields?: LogFields;
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'INFO'): LogLevel {
  const upper = (value ?? '').toUpperCase();
  if (upper === 'TRACE') return 'DEBUG';
  if (upper === 'FATAL') return 'ERROR';
  return upper in LEVEL_ORDER ? (upper as LogLevel) : fallback;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? parseLogLevel(process.env.AWS_LAMBDA_LOG_LEVEL);
  const write = options.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const namespace = options.metricsNamespace ?? process.env.METRICS_NAMESPACE ?? 'CrispBridge';
  const dimensions = options.dimensions ?? {};
  return makeLogger(options.fields ?? {});

  function makeLogger(base: LogFields): Logger {
    /** An EMF directive: `metrics` recorded without and, when there are any, with the `extra` dimensions. */
    const directive = (line: LogFields, metrics: Metrics, extra: MetricDimensions | undefined) => {
      Object.assign(line, extra, metrics);
      const dimensionSets = [Object.keys(dimensions)];
      if (extra && Object.keys(extra).length > 0) dimensionSets.push([...Object.keys(dimensions), ...Object.keys(extra)]);
      return { Namespace: namespace, Dimensions: dimensionSets, Metrics: Object.keys(metrics).map((name) => ({ Name: name, Unit: 'Count' })) };
    };
    const emit = (lvl: LogLevel, message: string, fields?: LogFields, metrics?: Metrics, extra?: MetricDimensions, more?: readonly MetricSet[]): void => {
      if (LEVEL_ORDER[lvl] < LEVEL_ORDER[level]) return;
      const time = now();
      const line: LogFields = { timestamp: time.toISOString(), level: lvl, message, ...base };
      for (const [key, value] of Object.entries(fields ?? {})) {
        if (value !== undefined) line[key] = serialise(value);
      }
      const directives = [];
      if (metrics && Object.keys(metrics).length > 0) directives.push(directive(line, metrics, extra));
      for (const set of more ?? []) if (Object.keys(set.metrics).length > 0) directives.push(directive(line, set.metrics, set.dimensions));
      if (directives.length > 0) {
        Object.assign(line, dimensions);
        line._aws = { Timestamp: time.getTime(), CloudWatchMetrics: directives };
      }
      write(JSON.stringify(line));
    };
    return {
      debug: (message, fields) => emit('DEBUG', message, fields),
      info: (message, fields, metrics, extra, more) => emit('INFO', message, fields, metrics, extra, more),
      warn: (message, fields, metrics, extra) => emit('WARN', message, fields, metrics, extra),
      error: (message, fields, metrics, extra) => emit('ERROR', message, fields, metrics, extra),
      child: (fields) => makeLogger({ ...base, ...fields }),
    };
  }
}

/** Longest `stack` written: the frames that locate a failure, not a whole async chain. */
const MAX_STACK_CHARS = 4000;
const STACK_CUT = '\n    [truncated]';

/**
 * Errors become `{ name, message, stack }`: enough to search for and to find the failing line.
 * No other property is copied (an SDK error's `$response`, a custom error's fields may hold
 * request data), and the stack is cut at `MAX_STACK_CHARS`.
 */
function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const stack = typeof value.stack === 'string' ? value.stack : undefined;
    if (stack === undefined) return { name: value.name, message: value.message };
    return {
      name: value.name,
      message: value.message,
      stack: stack.length > MAX_STACK_CHARS ? stack.slice(0, MAX_STACK_CHARS - STACK_CUT.length) + STACK_CUT : stack,
    };
  }
  return value;
}
