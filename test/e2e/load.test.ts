/**
 * The short load run inside `npm test` (the long one is `npm run test:soak`): 300 distinct
 * signed hooks and as many redeliveries again as make 40% of all deliveries (random attempt
 * numbers 1..3, half of them sent alongside their original, half later), from 16 concurrent
 * senders over HTTP to the local stack with its consumer on. Every reply must be 2xx, every
 * event processed exactly once, every other delivery skipped as a duplicate, and the queue and
 * the dead-letter queue left empty. See scripts/load/run-load.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type LoadResult, runLoad, tapStdout } from '../../scripts/load/run-load';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
const RECORDING_HANDLERS = path.join(__dirname, '..', 'fixtures', 'handlers', 'recording.ts');

let stack: LocalStack;
let stateDir: string;
let tap: ReturnType<typeof tapStdout>;

beforeAll(async () => {
  tap = tapStdout();
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-e2e-load-'));
  stack = await startLocalStack({ port: 0, stateDir, consumer: true, handlers: RECORDING_HANDLERS, visibilityTimeoutSeconds: 5 });
});

afterAll(async () => {
  await stack?.close();
  tap?.restore();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

test('300 distinct hooks with 40% redeliveries from 16 senders: all 2xx, each event processed exactly once, duplicates skipped, queues empty', async () => {
  const result: LoadResult = await runLoad({
    stack,
    lines: tap.take,
    hooks: 300,
    redeliveryShare: 0.4,
    concurrentShare: 0.5,
    concurrency: 16,
    attemptLimit: 3,
    // Bounded by the work (the 500 planned deliveries, then an empty queue), not by the clock: on
    // a busy machine (the rest of the suite on the same two cores) it takes longer, and passes.
    // The limits below are safety nets only; the test's own timeout is the last one.
    timeLimitMs: Number.POSITIVE_INFINITY,
    requestTimeoutMs: 60_000,
    drainTimeoutMs: 120_000,
    // The wait ends only once the queue holds nothing, in flight included: nothing more can be
    // received after that, so a short settle suffices to read the last log lines.
    settleMs: 1_000,
  });
  const { totals, details } = result;
  // On failure the seed and the figures show, to reproduce the plan (runLoad({ seed })).
  expect({ seed: details.seed, failures: result.failures }).toEqual({ seed: details.seed, failures: [] });
  expect(details.timeLimited).toBe(false);
  expect(details.redeliveries.concurrent).toBeGreaterThan(0);
  expect(details.redeliveries.later).toBeGreaterThan(0);
  expect(totals).toMatchObject({
    sent: details.planned,
    acknowledged: details.planned,
    refused: 0,
    distinct: 300,
    processedOnce: 300,
    duplicatesSkipped: details.planned - 300,
    lost: 0,
    processedTwice: 0,
    queueLeft: 0,
    dlqLeft: 0,
  });
  expect(details.planned).toBe(500); // 300 events + 200 redeliveries = 40% of 500
  expect(details.unknownProcessed).toBe(0);
  expect(details.queuedLogged).toBe(details.planned); // one "hook accepted" line per acknowledged delivery
  expect(Object.keys(details.eventsByType).length).toBeGreaterThan(1);
  expect(totals.ackLatency.p50).toBeGreaterThan(0);
  expect(totals.throughput.eventsProcessedPerSecond).toBeGreaterThan(0);
}, 300_000);

test('the checks are not vacuous: a lost event, an event processed twice and an unknown key are each reported', async () => {
  // The same small run, read through doctored log lines: one event's processing hidden, another's shown twice.
  const doctored: { hidden?: string; doubled?: string } = {};
  const result = await runLoad({
    stack,
    lines: () =>
      tap.take().flatMap((text) => {
        if (!text.includes('"message":"crisp event processed"') || !text.includes('"duplicate":false')) return [text];
        const key = String((JSON.parse(text) as { dedupeKey: string }).dedupeKey);
        if (doctored.hidden === undefined || doctored.hidden === key) {
          doctored.hidden = key;
          return [];
        }
        if (doctored.doubled === undefined) {
          doctored.doubled = key;
          return [text, text, text.replace(key, `v1:${'0'.repeat(64)}`)];
        }
        return [text];
      }),
    hooks: 20,
    redeliveryShare: 0,
    concurrency: 4,
    // The hidden event never shows as processed: the wait ends once the queue is empty and no
    // new line comes (see runLoad), not on a timer.
    drainTimeoutMs: 120_000,
    settleMs: 0,
  });
  expect(result.details.drained).toBe(false);
  expect(result.totals.queueLeft).toBe(0);
  expect(result.totals).toMatchObject({ distinct: 20, processedOnce: 18, lost: 1, processedTwice: 1, refused: 0 });
  expect(result.details.unknownProcessed).toBe(1);
  expect(result.failures).toEqual([
    expect.stringContaining('1 acknowledged events were never processed (lost)'),
    expect.stringContaining('1 events were processed more than once'),
    expect.stringContaining('1 processed lines are for dedupe keys that were never sent'),
    expect.stringContaining('18 of 20 acknowledged events were processed exactly once'),
  ]);
}, 300_000);
