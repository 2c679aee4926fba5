/**
 * A load harness for a running local stack (`startLocalStack`, consumer on), in the same
 * process: it posts many signed Crisp hooks over real HTTP, with a share of redeliveries (the
 * same event again, random attempt numbers, some alongside the original and some later), from
 * concurrent senders, then reads the consumer's log lines until every event is processed and
 * checks what the project promises:
 *
 * - every reply is 2xx;
 * - every distinct event acknowledged is processed exactly once (one `crisp event processed`
 *   line with `duplicate: false` for its dedupe key), and no key is processed that was not sent;
 * - every other delivery is skipped as a duplicate (`duplicate: true` lines = deliveries − events);
 * - the hook queue and its dead-letter queue are empty at the end.
 *
 * Bounded: sending stops at `hooks` events or `timeLimitMs`, whichever comes first; waiting for
 * the consumer stops once the queue is empty (everything sent was taken and deleted), or at
 * `drainTimeoutMs`. Used by `npm run test:soak` and by test/e2e/load.test.ts.
 */
import { GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { hookHeaders, sampleEvents, sampleHookBody } from '../local/sample-hooks';

/** Returns the complete log lines written since the previous call (see `tapStdout`). */
export type LineSource = () => string[];

/** What runLoad needs of the local stack (a `LocalStack` fits). */
export interface LoadTarget {
  url: string;
  websiteId: string;
  hookSecret: string;
  sqs: { client: SQSClient; queueUrl: string; deadLetterQueueUrl: string };
}

export interface LoadOptions {
  stack: LoadTarget;
  /** The functions' log lines (they write JSON lines to stdout), e.g. `tapStdout().take`. */
  lines: LineSource;
  /** Distinct events to send (upper bound). */
  hooks: number;
  /** Share of all deliveries that are redeliveries of an event already planned, 0 ≤ share < 1. Default 0.4. */
  redeliveryShare?: number;
  /** Share of the redeliveries sent alongside their original (concurrently); the rest go later. Default 0.5. */
  concurrentShare?: number;
  /** Concurrent senders. Default 16. */
  concurrency?: number;
  /** No new request is started after this long. Default 60 s. */
  timeLimitMs?: number;
  /**
   * At most how long to wait, once sending is over, for every event to be processed and the queue
   * to drain. The wait ends before that as soon as the queue is empty (see runLoad). Default 30 s.
   */
  drainTimeoutMs?: number;
  /** Once all is processed, wait this long more for a stray second processing to show. Default: the queue's visibility timeout + 1 s. */
  settleMs?: number;
  /** Per request. Default 10 s. */
  requestTimeoutMs?: number;
  /** X-Delivery-Attempt-Limit; attempts are drawn from 1..limit. Default 3. */
  attemptLimit?: number;
  /** Event namespaces to mix. Default: every sample (scripts/fixtures/hooks). */
  events?: string[];
  /** Seeds the plan (event types, which events are redelivered, when, attempt numbers). Default random. */
  seed?: number;
  /** Path of the route. Default `/hooks/crisp`. */
  path?: string;
  /** Called about every `progressEveryMs` (default 5 s) while running. */
  onProgress?: (progress: LoadProgress) => void;
  progressEveryMs?: number;
}

export interface LoadProgress {
  phase: 'sending' | 'draining' | 'settling';
  elapsedMs: number;
  planned: number;
  sent: number;
  acknowledged: number;
  refused: number;
  processed: number;
  duplicatesSkipped: number;
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface LoadTotals {
  /** Requests sent (deliveries attempted). */
  sent: number;
  /** 2xx replies. */
  acknowledged: number;
  /** Any other reply, or none (timeout, connection error). */
  refused: number;
  /** Distinct events with at least one acknowledged delivery. */
  distinct: number;
  /** Of those, processed exactly once (one `duplicate: false` line). */
  processedOnce: number;
  /** `duplicate: true` lines for the keys sent. */
  duplicatesSkipped: number;
  /** Acknowledged events never processed. */
  lost: number;
  /** Keys with more than one `duplicate: false` line. */
  processedTwice: number;
  /** Messages left in the hook queue (visible, in flight or delayed). */
  queueLeft: number;
  /** Messages in the dead-letter queue. */
  dlqLeft: number;
  /** From the first request to the end of the checks. */
  durationMs: number;
  /** Milliseconds from sending a request to having read its reply, over the acknowledged ones. */
  ackLatency: Percentiles;
  throughput: {
    /** Acknowledged replies per second of the sending phase. */
    acksPerSecond: number;
    /** Distinct events processed per second, from the first request to the last first processing. */
    eventsProcessedPerSecond: number;
  };
}

export interface LoadDetails {
  seed: number;
  /** Deliveries planned (events + redeliveries). */
  planned: number;
  plannedEvents: number;
  redeliveries: { concurrent: number; later: number };
  /** Planned deliveries not sent because the time limit came first. */
  notSent: number;
  /** Time limit reached before everything planned was sent. */
  timeLimited: boolean;
  sendDurationMs: number;
  /** `acknowledged − distinct`: the duplicates the consumer should report. */
  expectedDuplicates: number;
  /** Refused replies by status (`no reply` for none). */
  refusedBy: Record<string, number>;
  /** A few refusals, for diagnosis. */
  refusalSamples: string[];
  /** 2xx replies that said the event was filtered out (not queued). */
  filtered: number;
  /** `hook accepted` lines (the receiver queued the delivery) for the keys sent. */
  queuedLogged: number;
  /** `duplicate: false` lines for keys never sent. */
  unknownProcessed: number;
  /** Consumer retries: claim held elsewhere (`in_progress`), handler failure, store unavailable. */
  retries: Record<string, number>;
  /** `invalid queue message` lines. */
  invalidMessages: number;
  /** Events by namespace. */
  eventsByType: Record<string, number>;
  /** A few offending dedupe keys. */
  lostKeys: string[];
  processedTwiceKeys: string[];
  /** Events (per key) whose `duplicate: true` lines differ from their acknowledged redeliveries. */
  duplicateMismatchKeys: string[];
  /** Depth of each queue at the end. */
  queue: QueueDepth;
  deadLetterQueue: QueueDepth;
  /** The drain wait ended with everything processed (false: it hit `drainTimeoutMs`). */
  drained: boolean;
}

export interface LoadResult {
  totals: LoadTotals;
  details: LoadDetails;
  /** Broken invariants, in words; empty when all hold. */
  failures: string[];
}

export interface QueueDepth {
  visible: number;
  inFlight: number;
  delayed: number;
}

interface PlannedEvent {
  type: string;
  body: string;
  timestamp: string;
  key: string;
  /** Deliveries acknowledged. */
  acked: number;
  filtered: boolean;
}

interface Delivery {
  event: PlannedEvent;
  attempt: number;
  /** Position in the sending order. */
  order: number;
}

interface KeyCounts {
  first: number;
  duplicates: number;
  accepted: number;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const hooks = whole('hooks', options.hooks, 1);
  const concurrency = whole('concurrency', options.concurrency ?? 16, 1);
  const attemptLimit = whole('attemptLimit', options.attemptLimit ?? 3, 1);
  const redeliveryShare = share('redeliveryShare', options.redeliveryShare ?? 0.4, true);
  const concurrentShare = share('concurrentShare', options.concurrentShare ?? 0.5, false);
  const timeLimitMs = options.timeLimitMs ?? 60_000;
  const drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const progressEveryMs = options.progressEveryMs ?? 5_000;
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = mulberry32(seed);
  const { stack } = options;
  const url = `${stack.url}${options.path ?? '/hooks/crisp'}`;
  const types = options.events ?? sampleEvents();
  if (types.length === 0) throw new Error('runLoad: no event types to send');
  const settleMs = options.settleMs ?? (await visibilityTimeoutMs(stack)) + 1_000;

  // ---- The plan: every event, its redeliveries, the order they go in.
  const events: PlannedEvent[] = [];
  const byKey = new Map<string, PlannedEvent>();
  const eventsByType: Record<string, number> = {};
  while (events.length < hooks) {
    const type = types[Math.floor(random() * types.length)]!;
    const body = sampleHookBody(type, { websiteId: stack.websiteId });
    const key = dedupeKey(body);
    if (byKey.has(key)) continue; // cannot happen with fresh UUIDs in each sample; never count one event twice
    const event: PlannedEvent = { type, body, timestamp: String((JSON.parse(body) as { timestamp: number }).timestamp), key, acked: 0, filtered: false };
    events.push(event);
    byKey.set(key, event);
    eventsByType[type] = (eventsByType[type] ?? 0) + 1;
  }
  const attempt = () => 1 + Math.floor(random() * attemptLimit);
  // Sort positions: event i at i; a concurrent copy right after it (the next free sender takes
  // it while the original is in flight); a later copy anywhere after it, up to the end.
  const positioned: Array<{ at: number; event: PlannedEvent; attempt: number }> = events.map((event, i) => ({ at: i, event, attempt: attempt() }));
  const redeliveryCount = Math.round((hooks * redeliveryShare) / (1 - redeliveryShare));
  let concurrentCopies = 0;
  for (let r = 0; r < redeliveryCount; r += 1) {
    const i = Math.floor(random() * hooks);
    const concurrent = random() < concurrentShare;
    if (concurrent) concurrentCopies += 1;
    const at = concurrent ? i + 0.001 + random() * 0.001 : i + 1 + random() * (hooks - i);
    positioned.push({ at, event: events[i]!, attempt: attempt() });
  }
  positioned.sort((a, b) => a.at - b.at);
  const plan: Delivery[] = positioned.map((p, order) => ({ event: p.event, attempt: p.attempt, order }));

  // ---- Reading the consumer's and receiver's log lines as they come.
  const counts = new Map<string, KeyCounts>();
  const countsOf = (key: string): KeyCounts => {
    let c = counts.get(key);
    if (!c) counts.set(key, (c = { first: 0, duplicates: 0, accepted: 0 }));
    return c;
  };
  const retries: Record<string, number> = {};
  let invalidMessages = 0;
  let processedFirst = 0;
  let duplicatesSeen = 0;
  let lastFirstProcessedAt = 0;
  /** Lines that matter here, read so far. */
  let linesSeen = 0;
  const absorb = (): void => {
    for (const text of options.lines()) {
      // Cheap filter before parsing: only the lines that matter here.
      if (!text.includes('"message":"crisp event') && !text.includes('"message":"hook accepted"') && !text.includes('"message":"invalid queue message"')) continue;
      linesSeen += 1;
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      const key = typeof line.dedupeKey === 'string' ? line.dedupeKey : undefined;
      switch (line.message) {
        case 'crisp event processed':
          if (!key) break;
          if (line.duplicate === false) {
            countsOf(key).first += 1;
            processedFirst += 1;
            const at = Date.parse(String(line.timestamp));
            if (Number.isFinite(at)) lastFirstProcessedAt = Math.max(lastFirstProcessedAt, at);
          } else if (line.duplicate === true) {
            countsOf(key).duplicates += 1;
            if (byKey.has(key)) duplicatesSeen += 1;
          }
          break;
        case 'hook accepted':
          if (key) countsOf(key).accepted += 1;
          break;
        case 'invalid queue message':
          invalidMessages += 1;
          break;
        default:
          // crisp event in progress elsewhere / will be retried / not processed: ... / failed
          if (typeof line.message === 'string' && line.message !== 'crisp event failed') {
            const reason = typeof line.reason === 'string' ? line.reason : line.message;
            retries[reason] = (retries[reason] ?? 0) + 1;
          }
      }
    }
  };

  // ---- Sending.
  let sent = 0;
  let acknowledged = 0;
  let refused = 0;
  let filtered = 0;
  const refusedBy: Record<string, number> = {};
  const refusalSamples: string[] = [];
  const latencies: number[] = [];
  const refuse = (why: string, sample: string): void => {
    refused += 1;
    refusedBy[why] = (refusedBy[why] ?? 0) + 1;
    if (refusalSamples.length < 10) refusalSamples.push(sample);
  };

  const start = Date.now();
  const sendDeadline = start + timeLimitMs;
  let phase: LoadProgress['phase'] = 'sending';
  const progress = (): LoadProgress => ({
    phase,
    elapsedMs: Date.now() - start,
    planned: plan.length,
    sent,
    acknowledged,
    refused,
    processed: processedFirst,
    duplicatesSkipped: duplicatesSeen,
  });
  const reading = setInterval(absorb, 200);
  const reporting = options.onProgress ? setInterval(() => options.onProgress?.(progress()), progressEveryMs) : undefined;
  let sendEnd = start;
  let drained = false;
  let queue: QueueDepth = { visible: NaN, inFlight: NaN, delayed: NaN };
  let deadLetterQueue: QueueDepth = { visible: NaN, inFlight: NaN, delayed: NaN };
  try {
    let next = 0;
    const deliver = async (delivery: Delivery): Promise<void> => {
      const { event } = delivery;
      const headers = hookHeaders({ body: event.body, timestamp: event.timestamp, attempt: delivery.attempt, attemptLimit, secret: stack.hookSecret });
      sent += 1;
      const began = performance.now();
      try {
        const res = await fetch(url, { method: 'POST', headers, body: event.body, signal: AbortSignal.timeout(requestTimeoutMs) });
        const text = await res.text();
        const ms = performance.now() - began;
        if (res.status >= 200 && res.status <= 299) {
          acknowledged += 1;
          latencies.push(ms);
          event.acked += 1;
          if (/"filtered"\s*:\s*true/.test(text)) {
            filtered += 1;
            event.filtered = true;
          }
        } else {
          refuse(String(res.status), `${res.status} ${text.slice(0, 200)} (${event.type}, attempt ${delivery.attempt}, ${event.key})`);
        }
      } catch (error) {
        const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
        refuse('no reply', `no reply after ${Math.round(performance.now() - began)} ms: ${(error as Error).name}: ${cause} (${event.type}, ${event.key})`);
      }
    };
    const sender = async (): Promise<void> => {
      while (next < plan.length && Date.now() < sendDeadline) {
        const delivery = plan[next]!;
        next += 1;
        await deliver(delivery);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, sender));
    sendEnd = Date.now();

    // ---- Waiting for the consumer: every acknowledged event processed, every duplicate skipped, queues empty.
    phase = 'draining';
    const expected = events.filter((event) => event.acked > 0 && !event.filtered);
    const expectedDuplicatesNow = (): number => expected.reduce((sum, event) => sum + event.acked - 1, 0);
    // The wait is bounded by the work, not the clock: it ends once the queue holds nothing (in
    // flight included), because then the consumer has taken and deleted every message sent.
    // Either every expected line is in (drained), or, when some are missing (a lost event), once
    // the queue has stayed empty for QUIET_MS with no new line (lines of a consumer in a child
    // process come through a pipe, a little after the message is deleted). `drainTimeoutMs` is
    // only a safety net for a consumer that stops taking messages.
    const drainDeadline = sendEnd + drainTimeoutMs;
    let quiet: { since: number; lines: number } | undefined;
    for (;;) {
      absorb();
      const allFirst = expected.every((event) => (counts.get(event.key)?.first ?? 0) >= 1);
      [queue, deadLetterQueue] = await Promise.all([depth(stack.sqs.client, stack.sqs.queueUrl), depth(stack.sqs.client, stack.sqs.deadLetterQueueUrl)]);
      if (total(queue) === 0) {
        if (allFirst && duplicatesSeen >= expectedDuplicatesNow()) {
          drained = true;
          break;
        }
        if (quiet === undefined || quiet.lines !== linesSeen) quiet = { since: Date.now(), lines: linesSeen };
        else if (Date.now() - quiet.since >= QUIET_MS) break;
      } else {
        quiet = undefined;
      }
      if (Date.now() >= drainDeadline) break;
      await sleep(100);
    }
    if (drained) {
      // A message redelivered after being processed would show within a visibility timeout.
      phase = 'settling';
      await sleep(settleMs);
    }
    absorb();
    [queue, deadLetterQueue] = await Promise.all([depth(stack.sqs.client, stack.sqs.queueUrl), depth(stack.sqs.client, stack.sqs.deadLetterQueueUrl)]);
  } finally {
    clearInterval(reading);
    if (reporting) clearInterval(reporting);
  }
  const end = Date.now();

  // ---- The verdict.
  const expected = events.filter((event) => event.acked > 0 && !event.filtered);
  const distinct = events.filter((event) => event.acked > 0).length;
  let processedOnce = 0;
  let lost = 0;
  let queuedLogged = 0;
  const lostKeys: string[] = [];
  const duplicateMismatchKeys: string[] = [];
  for (const event of expected) {
    const c = counts.get(event.key);
    const first = c?.first ?? 0;
    if (first === 1) processedOnce += 1;
    if (first === 0) {
      lost += 1;
      if (lostKeys.length < 10) lostKeys.push(`${event.key} (${event.type}, ${event.acked} acknowledged, ${c?.accepted ?? 0} queued)`);
    }
    if ((c?.duplicates ?? 0) !== event.acked - 1 && duplicateMismatchKeys.length < 10) {
      duplicateMismatchKeys.push(`${event.key} (${event.type}): ${event.acked} acknowledged, ${c?.duplicates ?? 0} duplicate lines`);
    }
  }
  let processedTwice = 0;
  let unknownProcessed = 0;
  const processedTwiceKeys: string[] = [];
  for (const [key, c] of counts) {
    const known = byKey.get(key);
    if (known) queuedLogged += c.accepted;
    if (c.first > 1) {
      processedTwice += 1;
      if (processedTwiceKeys.length < 10) processedTwiceKeys.push(`${key} (${known?.type ?? 'not sent'}): ${c.first} times`);
    }
    if (c.first > 0 && !known) unknownProcessed += c.first;
  }
  const expectedDuplicates = acknowledged - distinct;
  const sendSeconds = Math.max(1, sendEnd - start) / 1000;
  const processSeconds = Math.max(1, (lastFirstProcessedAt || end) - start) / 1000;
  const sorted = [...latencies].sort((a, b) => a - b);
  const totals: LoadTotals = {
    sent,
    acknowledged,
    refused,
    distinct,
    processedOnce,
    duplicatesSkipped: duplicatesSeen,
    lost,
    processedTwice,
    queueLeft: total(queue),
    dlqLeft: total(deadLetterQueue),
    durationMs: end - start,
    ackLatency: {
      p50: round1(percentile(sorted, 50)),
      p90: round1(percentile(sorted, 90)),
      p99: round1(percentile(sorted, 99)),
      max: round1(sorted.at(-1) ?? 0),
    },
    throughput: {
      acksPerSecond: round1(acknowledged / sendSeconds),
      eventsProcessedPerSecond: round1(processedOnce / processSeconds),
    },
  };
  const details: LoadDetails = {
    seed,
    planned: plan.length,
    plannedEvents: events.length,
    redeliveries: { concurrent: concurrentCopies, later: redeliveryCount - concurrentCopies },
    notSent: plan.length - sent,
    timeLimited: sent < plan.length,
    sendDurationMs: sendEnd - start,
    expectedDuplicates,
    refusedBy,
    refusalSamples,
    filtered,
    queuedLogged,
    unknownProcessed,
    retries,
    invalidMessages,
    eventsByType,
    lostKeys,
    processedTwiceKeys,
    duplicateMismatchKeys,
    queue,
    deadLetterQueue,
    drained,
  };

  const failures: string[] = [];
  if (sent === 0) failures.push('nothing was sent');
  if (refused > 0) failures.push(`${refused} of ${sent} replies were not 2xx: ${JSON.stringify(refusedBy)}; e.g. ${refusalSamples.slice(0, 3).join(' | ')}`);
  if (filtered > 0) failures.push(`${filtered} replies said the event was filtered out (not queued)`);
  if (lost > 0) failures.push(`${lost} acknowledged events were never processed (lost), e.g. ${lostKeys.slice(0, 3).join(', ')}`);
  if (processedTwice > 0) failures.push(`${processedTwice} events were processed more than once, e.g. ${processedTwiceKeys.slice(0, 3).join(', ')}`);
  if (unknownProcessed > 0) failures.push(`${unknownProcessed} processed lines are for dedupe keys that were never sent`);
  if (processedOnce !== expected.length) failures.push(`${processedOnce} of ${expected.length} acknowledged events were processed exactly once`);
  if (duplicatesSeen !== expectedDuplicates) {
    failures.push(
      `${duplicatesSeen} deliveries were skipped as duplicates, expected ${expectedDuplicates} (acknowledged ${acknowledged} − distinct ${distinct})` +
        (duplicateMismatchKeys.length > 0 ? `, e.g. ${duplicateMismatchKeys.slice(0, 3).join(', ')}` : ''),
    );
  }
  if (totals.queueLeft !== 0) failures.push(`the hook queue is not empty: ${JSON.stringify(queue)}`);
  if (totals.dlqLeft !== 0) failures.push(`the dead-letter queue is not empty: ${JSON.stringify(deadLetterQueue)}`);
  if (!drained && failures.length === 0) failures.push(`the consumer did not finish within ${drainTimeoutMs} ms of the last reply`);
  return { totals, details, failures };
}

/** The totals as a two-column table, for people. */
export function formatTotals(result: LoadResult): string {
  const { totals: t, details: d } = result;
  const ok = (good: boolean) => (good ? '' : '   ✗');
  const rows: Array<[string, string]> = [
    ['sent (deliveries)', `${t.sent}${d.notSent > 0 ? ` (${d.notSent} planned not sent: time limit)` : ''}`],
    ['acknowledged (2xx)', String(t.acknowledged)],
    ['refused (not 2xx)', `${t.refused}${t.refused > 0 ? ` ${JSON.stringify(d.refusedBy)}` : ''}${ok(t.refused === 0)}`],
    ['distinct events', String(t.distinct)],
    ['processed once', `${t.processedOnce}${ok(t.processedOnce === t.distinct)}`],
    ['duplicates skipped', `${t.duplicatesSkipped} (expected ${d.expectedDuplicates})${ok(t.duplicatesSkipped === d.expectedDuplicates)}`],
    ['lost', `${t.lost}${ok(t.lost === 0)}`],
    ['processed twice', `${t.processedTwice}${ok(t.processedTwice === 0)}`],
    ['queue left', `${t.queueLeft}${ok(t.queueLeft === 0)}`],
    ['DLQ left', `${t.dlqLeft}${ok(t.dlqLeft === 0)}`],
    ['ack latency p50/p90/p99/max', `${t.ackLatency.p50} / ${t.ackLatency.p90} / ${t.ackLatency.p99} / ${t.ackLatency.max} ms`],
    ['throughput', `${t.throughput.acksPerSecond} acks/s, ${t.throughput.eventsProcessedPerSecond} events processed/s`],
    ['duration', `${(t.durationMs / 1000).toFixed(1)} s (sending ${(d.sendDurationMs / 1000).toFixed(1)} s)`],
    ['redeliveries planned', `${d.redeliveries.concurrent} concurrent, ${d.redeliveries.later} later`],
    ['consumer retries', Object.keys(d.retries).length > 0 ? JSON.stringify(d.retries) : 'none'],
    ['seed', String(d.seed)],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}

/**
 * Captures what is written to stdout (the functions' JSON log lines) instead of printing it.
 * `take()` returns the complete lines since its previous call; `write()` prints to the real
 * stdout; `restore()` puts stdout back. `echo` also receives each line (e.g. to keep a log file).
 */
export function tapStdout(options: { echo?: (line: string) => void } = {}): { take: LineSource; write: (text: string) => void; restore: () => void } {
  const original = process.stdout.write;
  let pending = '';
  let lines: string[] = [];
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const text = pending + (typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const parts = text.split('\n');
    pending = parts.pop() ?? '';
    for (const part of parts) {
      lines.push(part);
      options.echo?.(part);
    }
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  return {
    take: () => {
      const taken = lines;
      lines = [];
      return taken;
    },
    write: (text) => void original.call(process.stdout, text),
    restore: () => {
      process.stdout.write = original;
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function depth(client: SQSClient, queueUrl: string): Promise<QueueDepth> {
  try {
    const out = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const n = (name: QueueAttributeName) => Number(out.Attributes?.[name] ?? 0);
    return { visible: n('ApproximateNumberOfMessages'), inFlight: n('ApproximateNumberOfMessagesNotVisible'), delayed: n('ApproximateNumberOfMessagesDelayed') };
  } catch {
    return { visible: NaN, inFlight: NaN, delayed: NaN };
  }
}

/** NaN (unknown) counts as not empty. */
function total(d: QueueDepth): number {
  return d.visible + d.inFlight + d.delayed;
}

async function visibilityTimeoutMs(stack: LoadTarget): Promise<number> {
  try {
    const out = await stack.sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: stack.sqs.queueUrl, AttributeNames: ['VisibilityTimeout'] }));
    const seconds = Number(out.Attributes?.VisibilityTimeout);
    return Number.isFinite(seconds) ? seconds * 1000 : 5_000;
  } catch {
    return 5_000;
  }
}

/** Nearest rank. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** With the queue empty and some lines still missing: how long without a new line before they count as never coming. */
const QUIET_MS = 1_000;

const round1 = (n: number) => Math.round(n * 10) / 10;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A small seeded PRNG (mulberry32): the same seed gives the same plan. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function whole(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new Error(`runLoad: ${name} must be a whole number ≥ ${min}, got ${value}`);
  return value;
}

function share(name: string, value: number, belowOne: boolean): number {
  if (!(value >= 0 && (belowOne ? value < 1 : value <= 1))) throw new Error(`runLoad: ${name} must be between 0 and ${belowOne ? '1 (excluded)' : '1'}, got ${value}`);
  return value;
}
