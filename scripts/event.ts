/**
 * `npm run event -- <dedupeKey>`: what happened to one Crisp event (its dedupe record), and the
 * Logs Insights query that shows its whole path through the receiver and the consumer.
 */
import './quiet-node-warnings'; // first: keeps the AWS SDK's Node-version warning out of the output
import { parseArgs } from 'node:util';
import { dedupeRecord } from './ops/dlq';
import { TARGET_HELP, TARGET_OPTIONS, opsContext } from './ops/cli';

const HELP = `Usage: npm run event -- <dedupeKey> [options]

Shows the dedupe record of one event (status, claims, failures, last error, delivery attempt,
SQS receives, when it was claimed and completed) and the CloudWatch Logs Insights query that
follows it through the receiver and the consumer. Dedupe keys (v1:...) are in the logs and in
npm run dlq -- peek.

${TARGET_HELP}
  -h, --help           this help
`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { ...TARGET_OPTIONS, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const key = positionals[0];
  if (!key || !/^v1:[0-9a-f]{64}$/.test(key)) {
    process.stderr.write(`crisp-bridge event: give a dedupe key (v1: and 64 hex characters)\n\n${HELP}`);
    return 2;
  }
  const { target, dynamodb } = await opsContext(values);
  if (!target.tableName) throw new Error('no dedupe table known for this target: give --table');
  const record = await dedupeRecord(dynamodb, target.tableName, key);
  const out = (line: string) => process.stdout.write(line + '\n');
  if (!record) out(`${key}: no record (never claimed, or expired after the dedupe lifetime)`);
  else {
    out(`${key} (${target.description})`);
    const time = (name: string) => (typeof record[name] === 'number' ? new Date(record[name] as number).toISOString() : undefined);
    const seconds = (name: string) => (typeof record[name] === 'number' ? new Date((record[name] as number) * 1000).toISOString() : undefined);
    for (const [label, value] of [
      ['status', record.status],
      ['event', record.event],
      ['website', record.websiteId],
      ['claims', record.claims],
      ['failures', record.failures],
      ['last error', record.lastError],
      ['last failed', time('lastFailedAt')],
      ['first claimed', time('firstClaimedAt')],
      ['completed', time('completedAt')],
      ['Crisp delivery attempt', record.deliveryAttempt],
      ['SQS receives', record.receiveCount],
      ['SQS message', record.messageId],
      ['kept until', seconds('expiresAt')],
    ] as const) {
      if (value !== undefined) out(`  ${label.padEnd(24)}${value}`);
    }
  }
  out('');
  out('Its path in the logs (CloudWatch Logs Insights, the receiver and consumer log groups):');
  out(`  fields @timestamp, message, attempt, receiveCount, duplicate, reason, error.message | filter dedupeKey = "${key}" | sort @timestamp asc`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`crisp-bridge event: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
