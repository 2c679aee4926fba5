/**
 * `npm run replay -- --from <time> --to <time>`: replays the Crisp events of a time window from
 * the bridge's EventBridge archive to its bus, and shows the replay's progress until it ends.
 * See scripts/ops/replay.ts for what a replay does and does not do, and docs/event-bus.md.
 */
import './quiet-node-warnings'; // first: keeps the AWS SDK's Node-version warning out of the output
import { stackOfEnvironment } from './ops/cdk-environment';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { parseArgs } from 'node:util';
import {
  archiveNameFromStack,
  checkWindow,
  cloudFormationClient,
  describeSource,
  parseTime,
  progressLine,
  ruleArns,
  startReplay,
  waitForReplay,
} from './ops/replay';

const HELP = `Usage: npm run replay -- --from <time> --to <time> [options]

Re-sends every Crisp event archived on the bridge's event bus whose time (Crisp's timestamp)
is in the window, to the bus's rules; each arrives with a "replay-name" field. Subscribers see
these events again and dedupe on detail.dedupeKey; your handlers do not run again.

  --from <time>        start of the window (inclusive)
  --to <time>          end of the window
                       times: 2024-05-17T09:00:00Z, 2024-05-17 (midnight UTC), epoch ms, now,
                       or a time ago: 30m, 2h, 7d
  --rule <name|arn>    replay only to this rule of the bus (repeat for several); default: every
                       rule of the bus. There is no filter on events: a rule's own pattern picks
                       its events, as it always does.
  --name <name>        the replay's name (default crisp-<time>-<random>)
  --no-wait            start the replay and return; do not follow it
  --interval <s>       seconds between progress checks (default 5)

Target (default: the stack CrispBridge, in AWS_REGION / your AWS profile's region):
  --env <name>         the stack of that cdk.json environment (its stackName, else CrispBridge-<name>, and region)
  --stack <name>       the stack, deployed with eventBus (its EventArchiveName output)
  --region <region>    its region
  --archive <name>     the archive, instead of reading the stack's outputs

  -h, --help           this help
`;

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      rule: { type: 'string', multiple: true },
      event: { type: 'string' },
      name: { type: 'string' },
      'no-wait': { type: 'boolean', default: false },
      interval: { type: 'string' },
      stack: { type: 'string' },
      env: { type: 'string' },
      region: { type: 'string' },
      archive: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.event !== undefined) {
    throw new Error(
      '--event is not offered: EventBridge replays every archived event of the window, it cannot filter them. ' +
        'Use --rule <name> to replay only to the rule(s) that should see them again (their own patterns pick the events).',
    );
  }
  const now = new Date();
  const from = parseTime('from', values.from, now);
  const to = parseTime('to', values.to, now);
  checkWindow(from, to, now);
  const intervalSeconds = values.interval === undefined ? 5 : Number(values.interval);
  if (!Number.isFinite(intervalSeconds) || intervalSeconds <= 0) throw new Error(`--interval must be a positive number of seconds, got "${values.interval}"`);
  if (values.name !== undefined && !/^[.\-_A-Za-z0-9]{1,64}$/.test(values.name)) {
    throw new Error(`--name "${values.name}": at most 64 letters, digits, . - and _`);
  }

  if (values.stack !== undefined && values.env !== undefined) throw new Error('--stack and --env name the same thing: give one');
  const fromEnv = stackOfEnvironment(values.env);
  const region = values.region ?? fromEnv.region;
  const archiveName = values.archive ?? (await archiveNameFromStack(cloudFormationClient(region), values.stack ?? fromEnv.stackName));
  const events = new EventBridgeClient({ region });
  const source = await describeSource(events, archiveName);
  if (source.retentionDays && from.getTime() < now.getTime() - source.retentionDays * 86_400_000) {
    process.stderr.write(`note: the archive keeps events ${source.retentionDays} days: the start of the window is older, those events are gone\n`);
  }
  const filterArns = await ruleArns(events, source.busArn, values.rule ?? []);
  const window = { from, to };
  const started = await startReplay(events, source, window, { name: values.name, filterArns });
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`replay ${started.name}: ${from.toISOString()} to ${to.toISOString()}, archive ${source.archiveName} to ${source.busArn}`);
  out(filterArns.length > 0 ? `  to the rule(s) ${filterArns.join(', ')} only` : '  to every rule of the bus');
  if (values['no-wait']) {
    out(`  ${started.state}; follow it with: aws events describe-replay --replay-name ${started.name}`);
    return 0;
  }
  const final = await waitForReplay(events, started.name, window, { intervalMs: intervalSeconds * 1000, onProgress: (progress) => out(`  ${progressLine(progress)}`) });
  return final.state === 'COMPLETED' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`crisp-bridge replay: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1);
  },
);
