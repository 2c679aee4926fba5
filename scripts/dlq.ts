/**
 * `npm run dlq -- status|peek|redrive|purge`: the dead-letter queue of a deployed stack (or of
 * the local stack with --local), without the AWS console.
 */
import './quiet-node-warnings'; // first: keeps the AWS SDK's Node-version warning out of the output
import { parseArgs } from 'node:util';
import { dlqStatus, peekDeadLetters, purgeDeadLetters, redriveDeadLetters } from './ops/dlq';
import { TARGET_HELP, TARGET_OPTIONS, opsContext } from './ops/cli';

const HELP = `Usage: npm run dlq -- <command> [options]

Commands:
  status               messages waiting and in flight in the hook queue and its dead-letter queue,
                       and the last redrive
  peek [--max N]       the dead letters (default 10): event, website, delivery attempt, dedupe key,
                       the consumer's reason when it dead-lettered one itself (PermanentError),
                       and the dedupe record's failures and last error; --body adds the message body
                       (customer data: mind where you paste it). Messages stay in the queue.
  redrive              moves every dead letter back to the hook queue (SQS message-move task) and
                       shows progress until done; --max-per-second N throttles it, --no-wait returns at once
  purge --yes          deletes every dead letter (cannot be undone)

${TARGET_HELP}
  -h, --help           this help
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      ...TARGET_OPTIONS,
      max: { type: 'string' },
      body: { type: 'boolean', default: false },
      yes: { type: 'boolean', default: false },
      'max-per-second': { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return values.help ? 0 : 2;
  }
  if (!['status', 'peek', 'redrive', 'purge'].includes(command)) {
    process.stderr.write(`crisp-bridge dlq: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  const positive = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got "${value}"`);
    return n;
  };
  const max = positive('max', values.max);
  const maxPerSecond = positive('max-per-second', values['max-per-second']);
  if (command === 'purge' && !values.yes) {
    process.stderr.write('crisp-bridge dlq: purge deletes every dead letter for good; add --yes to confirm\n');
    return 2;
  }

  const { target, sqs, dynamodb } = await opsContext(values);
  const out = (line: string) => process.stdout.write(line + '\n');
  out(`dead-letter queue of ${target.description}: ${target.deadLetterQueueUrl}`);

  switch (command) {
    case 'status': {
      const status = await dlqStatus(sqs, target);
      out(`  hook queue         ${status.queue.waiting} waiting, ${status.queue.inFlight} in flight, ${status.queue.delayed} delayed`);
      out(`  dead-letter queue  ${status.deadLetterQueue.waiting} waiting, ${status.deadLetterQueue.inFlight} in flight`);
      if (status.moveTasksUnsupported) out('  last redrive       (not available here)');
      else if (status.lastMoveTask) {
        const task = status.lastMoveTask;
        out(
          `  last redrive       ${task.Status}, ${task.ApproximateNumberOfMessagesMoved ?? 0}/${task.ApproximateNumberOfMessagesToMove ?? '?'} moved` +
            (task.StartedTimestamp ? `, started ${new Date(task.StartedTimestamp).toISOString()}` : '') +
            (task.FailureReason ? `, ${task.FailureReason}` : ''),
        );
      } else out('  last redrive       none');
      return 0;
    }
    case 'peek': {
      const letters = await peekDeadLetters(sqs, dynamodb, target, { max: max ?? 10, showBody: values.body });
      if (letters.length === 0) out('  empty');
      for (const letter of letters) {
        out('');
        out(`  message ${letter.messageId} (sent ${letter.sentAt ?? '?'})`);
        out(`    event ${letter.event ?? '?'}, website ${letter.websiteId ?? '?'}, Crisp delivery attempt ${letter.deliveryAttempt ?? '?'}`);
        out(letter.reason !== undefined ? `    dead-lettered by the consumer: ${letter.reason}` : '    moved by SQS after the last receive');
        if (letter.unreadable) out(`    unreadable by the consumer: ${letter.unreadable}`);
        if (letter.dedupeKey) out(`    dedupe key ${letter.dedupeKey}`);
        if (letter.record) {
          const r = letter.record;
          out(`    record: ${r.status}, ${r.failures ?? 0} failure(s), claimed ${r.claims ?? 0} time(s)${r.lastError ? `, last error: ${r.lastError}` : ''}`);
        } else if (letter.dedupeKey) out('    record: none (never claimed, or expired)');
        if (letter.body !== undefined) out(`    body: ${letter.body}`);
      }
      return 0;
    }
    case 'redrive': {
      const final = await redriveDeadLetters(sqs, target, {
        maxPerSecond,
        wait: !values['no-wait'],
        onProgress: (p) => out(`  ${p.status}: ${p.moved}/${p.toMove ?? '?'} moved${p.failureReason ? ` (${p.failureReason})` : ''}`),
      });
      return final.status === 'FAILED' ? 1 : 0;
    }
    default: {
      const purged = await purgeDeadLetters(sqs, target);
      out(`  purged (about ${purged} message(s))`);
      return 0;
    }
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`crisp-bridge dlq: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
