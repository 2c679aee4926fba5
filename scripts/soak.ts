/**
 * `npm run test:soak`: the long load run. Starts the local stack (consumer on), sends a few
 * thousand signed hooks with redeliveries from concurrent senders over HTTP for a bounded
 * time, waits for the consumer, prints the totals and exits 1 if any promise was broken
 * (a reply not 2xx, an event lost or processed twice, anything left in the queue or the DLQ).
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { formatTotals, runLoad, tapStdout } from './load/run-load';
import { type LocalStack, startLocalStack } from './local/stack';

const HELP = `Usage: npm run test:soak [-- options]

Starts the local stack (receiver, SQS, consumer, DynamoDB; queue visibility timeout 5 s),
sends signed sample Crisp hooks over HTTP with a share of redeliveries (random attempt
numbers, some alongside the original, some later) from concurrent senders, waits for the
consumer and prints the totals. Sending stops at --hooks events or --seconds, whichever
comes first; the whole run is cut off at --seconds + --drain-seconds + 30 s.

Options:
  --seconds <n>         time limit for sending (default 60)
  --hooks <n>           distinct events (default 3000)
  --concurrency <n>     concurrent senders (default 32)
  --redeliveries <p>    share of deliveries that are redeliveries, 0..0.9 (default 0.4)
  --drain-seconds <n>   how long to wait for the consumer after the last reply (default 60)
  --seed <n>            seed of the plan (which events are redelivered, when, attempts)
  --log <file>          also write the functions' log lines to <file>
  -h, --help            this help

Exits 0 when every reply was 2xx, every distinct event was processed exactly once, every
other delivery was skipped as a duplicate and the queue and dead-letter queue are empty;
1 otherwise; 2 on bad options.
`;

function wholeOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${value}"`);
  return n;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      seconds: { type: 'string' },
      hooks: { type: 'string' },
      concurrency: { type: 'string' },
      redeliveries: { type: 'string' },
      'drain-seconds': { type: 'string' },
      seed: { type: 'string' },
      log: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const seconds = wholeOption('seconds', values.seconds, 60);
  const hooks = wholeOption('hooks', values.hooks, 3000);
  const concurrency = wholeOption('concurrency', values.concurrency, 32);
  const drainSeconds = wholeOption('drain-seconds', values['drain-seconds'], 60);
  const seed = values.seed === undefined ? undefined : wholeOption('seed', values.seed, 0, 0);
  const redeliveryShare = values.redeliveries === undefined ? 0.4 : Number(values.redeliveries);
  if (!(redeliveryShare >= 0 && redeliveryShare <= 0.9)) throw new UsageError(`--redeliveries must be between 0 and 0.9, got "${values.redeliveries}"`);

  // However it goes, the run ends within its bound (the timer is kept referenced on purpose).
  const boundSeconds = seconds + drainSeconds + 30;
  setTimeout(() => {
    process.stderr.write(`soak: not finished after ${boundSeconds} s; stopping (failed)\n`);
    process.exit(1);
  }, boundSeconds * 1000);

  const logFile = values.log ? createWriteStream(values.log) : undefined;
  const tap = tapStdout({ echo: logFile ? (line) => logFile.write(line + '\n') : undefined });
  const say = (text: string) => tap.write(text + '\n');
  const stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-soak-'));
  process.once('SIGINT', () => {
    tap.restore();
    rmSync(stateDir, { recursive: true, force: true });
    process.stderr.write('soak: interrupted\n');
    process.exit(130);
  });
  const gatewayErrors: string[] = [];
  let stack: LocalStack | undefined;
  try {
    stack = await startLocalStack({
      port: 0,
      stateDir,
      consumer: true,
      visibilityTimeoutSeconds: 5,
      log: (line) => {
        if (line.level === 'ERROR' || line.level === 'WARN') gatewayErrors.push(`${String(line.message)}${line.error ? `: ${String(line.error)}` : ''}`);
      },
    });
    say(
      `soak: ${hooks} distinct hooks, ${Math.round(redeliveryShare * 100)}% redeliveries, ${concurrency} senders, ` +
        `sending for at most ${seconds} s against ${stack.url} (consumer on, visibility timeout 5 s)`,
    );
    const result = await runLoad({
      stack,
      lines: tap.take,
      hooks,
      redeliveryShare,
      concurrency,
      timeLimitMs: seconds * 1000,
      drainTimeoutMs: drainSeconds * 1000,
      seed,
      onProgress: (p) =>
        process.stderr.write(
          `  ${(p.elapsedMs / 1000).toFixed(0).padStart(4)} s  ${p.phase.padEnd(8)}  sent ${p.sent}/${p.planned}, acknowledged ${p.acknowledged}, ` +
            `refused ${p.refused}, processed ${p.processed}, duplicates skipped ${p.duplicatesSkipped}\n`,
        ),
    });
    say('');
    say('Totals');
    say(formatTotals(result));
    if (gatewayErrors.length > 0) say(`  local event source / gateway warnings: ${gatewayErrors.length} (first: ${gatewayErrors[0]})`);
    say('');
    if (result.failures.length === 0) {
      say(`PASS: every reply 2xx, ${result.totals.distinct} events processed exactly once, ${result.totals.duplicatesSkipped} duplicates skipped, lost 0, queue and DLQ empty.`);
      return 0;
    }
    say('FAIL:');
    for (const failure of result.failures) say(`  - ${failure}`);
    return 1;
  } finally {
    // Never let shutdown hang the run.
    await Promise.race([stack?.close(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]).catch(() => undefined);
    tap.restore();
    await new Promise<void>((resolve) => (logFile ? logFile.end(() => resolve()) : resolve()));
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
