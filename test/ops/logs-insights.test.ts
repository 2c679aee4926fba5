/**
 * The runbook's CloudWatch Logs Insights queries (docs/operations.md), run against the lines a
 * real local pipeline writes: hooks through the local API Gateway, the receiver, the SQS
 * emulator, the consumer with the shipped example handlers and the DynamoDB emulator. A tiny
 * evaluator implements the part of the query language those queries use (`fields`, `filter`
 * with `=`, `!=`, comparisons, `in [...]`, `and`, `or`; `stats` with `count`, `avg`, `min`,
 * `max`, `sum`, `pct` and `by` fields or `bin(...)`; `sort`), so that a log field a query needs
 * cannot be dropped or renamed without this test saying which query stops finding what it should.
 *
 * Lambda's platform reports and API Gateway's access-log lines are written by AWS, not by the
 * functions: the queries on them (4 and 5) run against lines in the shapes AWS documents (the
 * access-log fields from lib/constructs/bridge-api.ts), labelled as such below.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ACCESS_LOG_FIELDS } from '../../lib/constructs/bridge-api';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { interceptStdout, parseJsonLines } from '../support/stdout';

// ---------------------------------------------------------------------------------------------
// The queries, as the runbook prints them.

const OPERATIONS = path.join(__dirname, '..', '..', 'docs', 'operations.md');

/** The numbered queries of docs/operations.md's "CloudWatch Logs Insights queries" block, by number. */
function runbookQueries(): Map<number, { title: string; text: string }> {
  const doc = readFileSync(OPERATIONS, 'utf8');
  const section = doc.slice(doc.indexOf('## CloudWatch Logs Insights queries'));
  const block = /```\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('no query block in docs/operations.md');
  const queries = new Map<number, { title: string; text: string }>();
  let current: { title: string; lines: string[] } | undefined;
  let number = 0;
  for (const line of block.split('\n')) {
    const heading = /^# (\d+)\. (.*)$/.exec(line);
    if (heading) {
      number = Number(heading[1]);
      current = { title: heading[2]!, lines: [] };
      queries.set(number, { title: current.title, text: '' });
    } else if (current && line.trim()) {
      current.lines.push(line.trim());
      queries.set(number, { title: current.title, text: current.lines.join(' ') });
    }
  }
  return queries;
}

// ---------------------------------------------------------------------------------------------
// A tiny Logs Insights evaluator.

type Row = Record<string, unknown>;

/** Splits on `sep` outside strings, brackets and parentheses. */
function splitTop(text: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (depth === 0 && text.startsWith(sep, i)) {
      parts.push(text.slice(start, i).trim());
      start = i + sep.length;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

/** A field's value: `a.b.c` looks into nested objects (as Logs Insights flattens JSON). */
function get(row: Row, field: string): unknown {
  if (field in row) return row[field];
  let value: unknown = row;
  for (const part of field.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Row)[part];
  }
  return value;
}

type Token = { kind: 'str' | 'num' | 'id' | 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|(>=|<=|!=|=|<|>|\[|\]|\(|\)|,)|([@A-Za-z_][\w.@-]*))/y;
  let match: RegExpExecArray | null;
  while (re.lastIndex < text.length && (match = re.exec(text))) {
    if (match[1] !== undefined) tokens.push({ kind: 'str', value: match[1].replace(/\\(.)/g, '$1') });
    else if (match[2] !== undefined) tokens.push({ kind: 'num', value: match[2] });
    else if (match[3] !== undefined) tokens.push({ kind: 'op', value: match[3] });
    else tokens.push({ kind: 'id', value: match[4]! });
  }
  if (text.slice(re.lastIndex).trim()) throw new Error(`cannot read "${text.slice(re.lastIndex)}"`);
  return tokens;
}

/** `filter` expressions: comparisons, `in [...]`, `not`, `and`, `or`, parentheses. */
function parseFilter(text: string): (row: Row) => boolean {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++]!;
  const keyword = (word: string) => peek()?.kind === 'id' && peek()!.value.toLowerCase() === word;
  const literal = (): unknown => {
    const token = next();
    if (token.kind === 'str') return token.value;
    if (token.kind === 'num') return Number(token.value);
    if (token.kind === 'id' && (token.value === 'true' || token.value === 'false')) return token.value === 'true';
    throw new Error(`expected a value, got ${token.value}`);
  };
  const equal = (a: unknown, b: unknown) => a === b || (a !== undefined && a !== null && String(a) === String(b));
  const compare = (a: unknown, b: unknown) => Number(a) - Number(b);
  function primary(): (row: Row) => boolean {
    if (keyword('not')) {
      next();
      const inner = primary();
      return (row) => !inner(row);
    }
    if (peek()?.value === '(') {
      next();
      const inner = or();
      next(); // )
      return inner;
    }
    const field = next().value;
    if (keyword('in')) {
      next();
      next(); // [
      const values: unknown[] = [];
      while (peek()?.value !== ']') {
        values.push(literal());
        if (peek()?.value === ',') next();
      }
      next(); // ]
      return (row) => values.some((value) => equal(get(row, field), value));
    }
    const op = next().value;
    const value = literal();
    switch (op) {
      case '=':
        return (row) => equal(get(row, field), value);
      case '!=':
        return (row) => !equal(get(row, field), value);
      case '>':
        return (row) => get(row, field) !== undefined && compare(get(row, field), value) > 0;
      case '>=':
        return (row) => get(row, field) !== undefined && compare(get(row, field), value) >= 0;
      case '<':
        return (row) => get(row, field) !== undefined && compare(get(row, field), value) < 0;
      case '<=':
        return (row) => get(row, field) !== undefined && compare(get(row, field), value) <= 0;
      default:
        throw new Error(`operator ${op} not supported`);
    }
  }
  function and(): (row: Row) => boolean {
    let left = primary();
    while (keyword('and')) {
      next();
      const l = left;
      const r = primary();
      left = (row) => l(row) && r(row);
    }
    return left;
  }
  function or(): (row: Row) => boolean {
    let left = and();
    while (keyword('or')) {
      next();
      const l = left;
      const r = and();
      left = (row) => l(row) || r(row);
    }
    return left;
  }
  const predicate = or();
  if (i !== tokens.length) throw new Error(`unexpected "${tokens[i]!.value}" in filter ${text}`);
  return predicate;
}

const numbers = (rows: Row[], field: string) => rows.map((row) => get(row, field)).filter((v) => v !== undefined && v !== null && v !== '').map(Number);

/** One `stats` aggregate over a group's rows. */
function aggregate(expression: string, rows: Row[]): unknown {
  const match = /^(\w+)\((.*)\)$/.exec(expression.trim());
  if (!match) throw new Error(`aggregate ${expression} not supported`);
  const [name, argText] = [match[1]!.toLowerCase(), match[2]!.trim()];
  const [field, arg] = argText ? splitTop(argText, ',') : [];
  const values = field ? numbers(rows, field) : [];
  switch (name) {
    case 'count':
      return field ? rows.filter((row) => get(row, field) !== undefined && get(row, field) !== null).length : rows.length;
    case 'avg':
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
    case 'sum':
      return values.reduce((a, b) => a + b, 0);
    case 'max':
      return values.length ? Math.max(...values) : undefined;
    case 'min':
      return values.length ? Math.min(...values) : undefined;
    case 'pct': {
      if (!values.length) return undefined;
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.ceil((Number(arg) / 100) * sorted.length) - 1)];
    }
    default:
      throw new Error(`aggregate ${name} not supported`);
  }
}

const BIN_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function runQuery(query: string, events: Row[]): Row[] {
  let rows = events;
  for (const command of splitTop(query, '|')) {
    const [, verb, rest] = /^(\w+)\s+([\s\S]*)$/.exec(command) ?? [];
    switch (verb) {
      case 'fields': {
        // Projection: Logs Insights shows these fields; the rows keep every field here, so a later
        // `filter` or `stats` sees them all, as it does in Logs Insights for fields of the log event.
        for (const field of splitTop(rest!, ',')) if (!field) throw new Error('empty field in fields');
        break;
      }
      case 'filter':
        rows = rows.filter(parseFilter(rest!));
        break;
      case 'sort': {
        const [field, order] = rest!.split(/\s+/);
        const sign = order === 'desc' ? -1 : 1;
        rows = [...rows].sort((a, b) => sign * (Number(get(a, field!)) - Number(get(b, field!))));
        break;
      }
      case 'stats': {
        const [aggregatesText, byText] = splitTop(rest!, ' by ');
        const aggregates = splitTop(aggregatesText!, ',').map((part) => {
          const [expression, alias] = splitTop(part, ' as ');
          return { expression: expression!, alias: alias ?? expression! };
        });
        const keys = byText ? splitTop(byText, ',') : [];
        const keyOf = (row: Row) =>
          keys.map((key) => {
            const bin = /^bin\((\d+)([smhd])\)$/.exec(key);
            if (bin) {
              const period = Number(bin[1]) * BIN_UNITS[bin[2]!]!;
              return Math.floor(Number(row['@timestamp']) / period) * period;
            }
            return get(row, key);
          });
        const groups = new Map<string, { key: unknown[]; rows: Row[] }>();
        for (const row of rows) {
          const key = keyOf(row);
          const id = JSON.stringify(key);
          const group = groups.get(id) ?? { key, rows: [] };
          group.rows.push(row);
          groups.set(id, group);
        }
        rows = [...groups.values()].map((group) => ({
          ...Object.fromEntries(keys.map((key, index) => [key, group.key[index]])),
          ...Object.fromEntries(aggregates.map(({ expression, alias }) => [alias, aggregate(expression, group.rows)])),
        }));
        break;
      }
      default:
        throw new Error(`command "${command}" not supported by this evaluator`);
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// A real local pipeline run.

const WEBSITE_ID = '9b1f4c2e-6a7d-4e3b-8c5f-1d2e3f4a5b6c';
const HOOK_SECRET = 'logs-insights-hook-secret-2c7e91';
const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;
const stateDirs: string[] = [];
let events: Row[] = [];
const keys = { first: '', second: '', deadLettered: '' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lines = () => parseJsonLines(stdoutChunks.join(''));

async function waitFor(what: string, probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (probe()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function stackWith(options: Partial<Parameters<typeof startLocalStack>[0]>): Promise<LocalStack> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-logs-insights-'));
  stateDirs.push(stateDir);
  jest.resetModules(); // a cold start: each stack loads the functions afresh (no secret cached by the previous one)
  return startLocalStack({ port: 0, stateDir, consumer: true, visibilityTimeoutSeconds: 1, maxReceiveCount: 2, hookSecret: HOOK_SECRET, websiteId: WEBSITE_ID, ...options });
}

async function post(stack: LocalStack, body: string, secret = HOOK_SECRET): Promise<number> {
  const timestamp = String(JSON.parse(body).timestamp);
  const res = await fetch(`${stack.url}/hooks/crisp`, { method: 'POST', headers: hookHeaders({ body, timestamp, attempt: 1, attemptLimit: 3, secret }), body });
  await res.text();
  return res.status;
}

const processed = (key: string) => lines().some((line) => line.message === 'crisp event processed' && line.dedupeKey === key);

beforeAll(async () => {
  interceptStdout(stdoutChunks);
  try {
    // The shipped example handlers, as deployed without handlers.entry: two new events, one redelivery, one forged hook.
    const example = await stackWith({});
    try {
      const first = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
      const second = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
      keys.first = dedupeKey(first);
      keys.second = dedupeKey(second);
      expect(await post(example, first)).toBe(200);
      expect(await post(example, second)).toBe(200);
      await waitFor('both events processed', () => processed(keys.first) && processed(keys.second));
      expect(await post(example, first)).toBe(200); // a redelivery: acknowledged as a duplicate
      expect(await post(example, sampleHookBody('message:send', { websiteId: WEBSITE_ID }), 'not-the-secret')).toBe(401);
      await waitFor('the duplicate', () => lines().filter((line) => line.message === 'crisp event processed' && line.dedupeKey === keys.first).length === 2);
      // The signer: a refused request (email not verified).
      const refused = await fetch(`${example.url}/ticket-center/url`, { headers: { authorization: `Bearer ${example.issueToken({ email: 'jane@example.com', emailVerified: false })}` } });
      expect(refused.status).toBeGreaterThanOrEqual(400);
    } finally {
      await example.close();
    }
    // A handler that gives up for good (PermanentError): a dead letter.
    const failing = await stackWith({ handlers: path.join(__dirname, '..', 'fixtures', 'handlers', 'permanent.ts') });
    try {
      const body = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
      keys.deadLettered = dedupeKey(body);
      expect(await post(failing, body)).toBe(200);
      await waitFor('the dead letter', () => lines().some((line) => line.message === 'crisp event dead-lettered' && line.dedupeKey === keys.deadLettered));
    } finally {
      await failing.close();
    }
    // The secrets store unreachable at a receiver's cold start: a secret unavailable.
    const cut = await stackWith({ consumer: false, faultInjection: true });
    try {
      cut.faults!.secretsManager.cut();
      expect(await post(cut, sampleHookBody('message:send', { websiteId: WEBSITE_ID }))).toBe(503);
    } finally {
      cut.faults!.secretsManager.restore();
      await cut.close();
    }
  } finally {
    process.stdout.write = originalWrite;
  }
  // As CloudWatch stores them: @timestamp from the line's own time, @log its group (here: one label).
  events = lines()
    // The functions' lines; the local emulators' own (`local bus event`...) have no counterpart on AWS.
    .filter((line) => typeof line.message === 'string' && !line.message.startsWith('local '))
    .map((line) => ({ ...line, '@timestamp': Date.parse(String(line.timestamp)), '@log': 'local' }));
}, 60_000);

afterAll(() => {
  process.stdout.write = originalWrite;
  for (const dir of stateDirs) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Each query finds what it should.

const queries = runbookQueries();
const query = (n: number) => {
  const found = queries.get(n);
  if (!found) throw new Error(`docs/operations.md has no query ${n}`);
  return found.text;
};

test('the runbook has the ten queries this test knows, and the evaluator reads each of them', () => {
  expect([...queries.keys()]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const [, { text }] of queries) expect(() => runQuery(text, [])).not.toThrow();
});

test("1. one event's whole path: the receiver's line, then the consumer's outcome (with the handler's counts), in order, with attempt and receiveCount", () => {
  const rows = runQuery(query(1).replace('"v1:..."', JSON.stringify(keys.first)), events);
  expect(rows.map((row) => row.message)).toEqual(['hook accepted', 'crisp event processed', 'hook accepted', 'crisp event processed']);
  const outcomes = rows.filter((row) => row.message === 'crisp event processed');
  expect(outcomes.map((row) => row.duplicate)).toEqual([false, true]);
  for (const row of outcomes) {
    expect(row).toEqual(expect.objectContaining({ attempt: 1, receiveCount: 1, dedupeKey: keys.first, event: 'message:send', website_id: WEBSITE_ID }));
    expect(typeof row.requestId).toBe('string');
    expect(typeof row.messageId).toBe('string');
  }
});

test('2. failures by reason: the forged hook, counted under its reason', () => {
  const rows = runQuery(query(2), events);
  expect(rows).toContainEqual(expect.objectContaining({ message: 'hook rejected', reason: 'signature_mismatch', 'count()': 1 }));
});

test('3. duplicates per event namespace: two processed, one duplicate', () => {
  const rows = runQuery(query(3), events.filter((row) => row.dedupeKey !== keys.deadLettered));
  expect(rows).toEqual(
    expect.arrayContaining([
      { event: 'message:send', duplicate: false, 'count()': 2 },
      { event: 'message:send', duplicate: true, 'count()': 1 },
    ]),
  );
});

test("4. latency and cold starts (Lambda's platform reports: written by Lambda, here in the shape AWS documents)", () => {
  const report = (durationMs: number, initDurationMs?: number) => ({
    '@timestamp': Date.now(),
    type: 'platform.report',
    record: { requestId: 'r', status: 'success', metrics: { durationMs, billedDurationMs: Math.ceil(durationMs), memorySizeMB: 256, maxMemoryUsedMB: 90, ...(initDurationMs ? { initDurationMs } : {}) } },
  });
  const rows = runQuery(query(4), [...events, report(10, 300), report(20), report(30)]);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toEqual(expect.objectContaining({ p50: 20, p99: 30, maxMemoryMB: 90, coldStarts: 1 }));
});

test("5. API latency (API Gateway's access-log lines: written by API Gateway, here with the construct's access-log fields)", () => {
  const access = (status: string, responseLatency: string) => ({
    ...Object.fromEntries(Object.keys(ACCESS_LOG_FIELDS).map((field) => [field, '-'])),
    '@timestamp': Date.now(),
    routeKey: 'POST /hooks/crisp',
    status,
    responseLatency,
  });
  expect(Object.keys(ACCESS_LOG_FIELDS)).toEqual(expect.arrayContaining(['routeKey', 'status', 'responseLatency']));
  const rows = runQuery(query(5), [access('200', '12'), access('200', '30'), access('401', '5')]);
  expect(rows).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ routeKey: 'POST /hooks/crisp', status: '200', 'count()': 2, p50: 12, p99: 30 }),
      expect.objectContaining({ routeKey: 'POST /hooks/crisp', status: '401', 'count()': 1 }),
    ]),
  );
});

test('6. how long hooks take to reach us: per event and website, with the age', () => {
  const rows = runQuery(query(6), events);
  const row = rows.find((r) => r.event === 'message:send' && r.website_id === WEBSITE_ID);
  expect(row?.['count()']).toBeGreaterThanOrEqual(3);
  expect(typeof row?.['avg(ageMs)']).toBe('number');
  expect(typeof row?.['max(ageMs)']).toBe('number');
});

test('7. signed-URL refusals by code and parameter', () => {
  const rows = runQuery(query(7), events);
  expect(rows).toContainEqual(expect.objectContaining({ code: 'email_not_verified', 'count()': 1 }));
});

test('8. a secret that needs setting or cannot be read', () => {
  const rows = runQuery(query(8), events);
  expect(rows.length).toBeGreaterThanOrEqual(1);
  expect(rows[0]).toEqual(expect.objectContaining({ message: 'secret unavailable', reason: 'unreachable' }));
  expect(typeof rows[0]!.secretId).toBe('string');
});

test('9. events sent to the dead-letter queue, and why', () => {
  const rows = runQuery(query(9), events);
  expect(rows).toEqual([{ reason: 'permanent_error', event: 'message:send', 'count()': 1 }]);
});

test("10. a handler's counts per website: the example's two visitor messages, not the redelivery", () => {
  const rows = runQuery(query(10), events);
  expect(rows).toEqual([{ website_id: WEBSITE_ID, origin: 'chat', visitorMessages: 2 }]);
});
