/**
 * What `npm run replay` does (scripts/replay.ts is the command line): replays the Crisp events
 * of a time window from the bridge's EventBridge archive to its bus, and follows the replay to
 * its end.
 *
 * What a replay is, honestly: EventBridge re-sends every archived event whose time (the bridge
 * sets it to Crisp's own timestamp) falls in the window, to the bus's rules, each with a
 * `replay-name` field. It has no filter on the events themselves: `--rule` limits which rules
 * receive them (StartReplay's FilterArns), and each rule's own pattern then picks its events as
 * usual. Subscribers see the events again: they dedupe on `detail.dedupeKey`. The consumer is
 * not involved (the bus is downstream of it): your handlers do not run again.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  DescribeArchiveCommand,
  DescribeReplayCommand,
  DescribeRuleCommand,
  type EventBridgeClient,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { stackOutputs } from './target';

/** The archive to replay from, and the bus it archives (the replay's destination). */
export interface ReplaySource {
  archiveName: string;
  archiveArn: string;
  busArn: string;
  /** 0: kept indefinitely. */
  retentionDays: number | undefined;
}

/**
 * A time as an operator types it: ISO 8601 (`2024-05-17T09:00:00Z`; a date alone is midnight
 * UTC; without a zone, UTC), epoch milliseconds, `now`, or a time ago (`30m`, `2h`, `7d`, `90s`;
 * also written `-2h`, as `--from=-2h`). Throws a message naming `option` otherwise.
 */
export function parseTime(option: string, text: string | undefined, now: Date = new Date()): Date {
  if (text === undefined || text.trim() === '') throw new Error(`--${option} is required: a time such as 2024-05-17T09:00:00Z, 2h (ago) or now`);
  const value = text.trim();
  if (value === 'now') return new Date(now);
  const relative = /^-?(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value);
  if (relative) {
    const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  if (/^\d{12,14}$/.test(value)) return new Date(Number(value));
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(value);
  if (iso) {
    // A date alone, or a time without a zone: UTC (not this machine's zone).
    const withZone = iso[4] ? value : iso[1] ? `${value}Z` : `${value}T00:00:00Z`;
    const date = new Date(withZone);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new Error(`--${option} "${text}" is not a time: use ISO 8601 (2024-05-17T09:00:00Z, 2024-05-17), epoch milliseconds, now, or a time ago: 30m, 2h, 7d`);
}

/** Checks the window: start before end, end not in the future. */
export function checkWindow(from: Date, to: Date, now: Date = new Date()): void {
  if (from.getTime() >= to.getTime()) throw new Error(`--from (${from.toISOString()}) must be before --to (${to.toISOString()})`);
  if (to.getTime() > now.getTime() + 60_000) throw new Error(`--to (${to.toISOString()}) is in the future: nothing is archived there yet; use --to now`);
}

/** The archive name from the stack's `EventArchiveName` output (the stack deployed with eventBus). */
export async function archiveNameFromStack(cloudFormation: Pick<CloudFormationClient, 'send'>, stackName: string): Promise<string> {
  const outputs = await stackOutputs(cloudFormation, stackName, '--archive <name>');
  const name = outputs.EventArchiveName;
  if (!name) throw new Error(`stack "${stackName}" has no EventArchiveName output: deploy it with eventBus (true, or a bus ARN) first, see docs/event-bus.md`);
  return name;
}

export async function describeSource(events: Pick<EventBridgeClient, 'send'>, archiveName: string): Promise<ReplaySource> {
  const archive = await events.send(new DescribeArchiveCommand({ ArchiveName: archiveName }));
  if (!archive.ArchiveArn || !archive.EventSourceArn) throw new Error(`archive ${archiveName}: EventBridge did not say its ARN and bus`);
  if (archive.State && archive.State !== 'ENABLED') throw new Error(`archive ${archiveName} is ${archive.State}${archive.StateReason ? ` (${archive.StateReason})` : ''}: it cannot be replayed now`);
  return { archiveName, archiveArn: archive.ArchiveArn, busArn: archive.EventSourceArn, retentionDays: archive.RetentionDays };
}

/** The ARNs of the rules to replay to (`--rule`, a name on the bus or an ARN), each checked to exist on the bus. */
export async function ruleArns(events: Pick<EventBridgeClient, 'send'>, busArn: string, rules: readonly string[]): Promise<string[]> {
  const arns: string[] = [];
  for (const rule of rules) {
    if (rule.startsWith('arn:')) {
      arns.push(rule);
      continue;
    }
    try {
      const out = await events.send(new DescribeRuleCommand({ Name: rule, EventBusName: busArn }));
      arns.push(out.Arn!);
    } catch (error) {
      throw new Error(`--rule ${rule}: no such rule on the bus ${busArn} (${(error as Error).name}: ${(error as Error).message})`);
    }
  }
  return arns;
}

export interface ReplayProgress {
  state: string;
  /** How far the replay has got, in event time. */
  lastReplayed: Date | undefined;
  /** Share of the window replayed, 0 to 100. */
  percent: number | undefined;
  reason: string | undefined;
}

export interface StartedReplay {
  name: string;
  state: string;
}

/** A replay name EventBridge accepts (`[.\-_A-Za-z0-9]+`, at most 64): `crisp-<UTC time>-<random>`. */
export function replayName(now: Date = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `crisp-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function startReplay(
  events: Pick<EventBridgeClient, 'send'>,
  source: ReplaySource,
  window: { from: Date; to: Date },
  options: { name?: string; filterArns?: string[] } = {},
): Promise<StartedReplay> {
  const name = options.name ?? replayName();
  const out = await events.send(
    new StartReplayCommand({
      ReplayName: name,
      Description: `npm run replay: ${window.from.toISOString()} to ${window.to.toISOString()}`.slice(0, 512),
      EventSourceArn: source.archiveArn,
      EventStartTime: window.from,
      EventEndTime: window.to,
      Destination: { Arn: source.busArn, ...(options.filterArns && options.filterArns.length > 0 ? { FilterArns: options.filterArns } : {}) },
    }),
  );
  return { name, state: out.State ?? 'STARTING' };
}

const FINAL = new Set(['COMPLETED', 'CANCELLED', 'FAILED']);

/** Polls DescribeReplay every `intervalMs` until the replay ends; reports each change. */
export async function waitForReplay(
  events: Pick<EventBridgeClient, 'send'>,
  name: string,
  window: { from: Date; to: Date },
  options: { intervalMs: number; onProgress: (progress: ReplayProgress) => void; sleep?: (ms: number) => Promise<void> },
): Promise<ReplayProgress> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let last = '';
  for (;;) {
    const out = await events.send(new DescribeReplayCommand({ ReplayName: name }));
    const lastReplayed = out.EventLastReplayedTime;
    const span = window.to.getTime() - window.from.getTime();
    const percent =
      out.State === 'COMPLETED' ? 100 : lastReplayed ? Math.max(0, Math.min(100, Math.round(((lastReplayed.getTime() - window.from.getTime()) / span) * 100))) : undefined;
    const progress: ReplayProgress = { state: out.State ?? 'UNKNOWN', lastReplayed, percent, reason: out.StateReason };
    const key = `${progress.state}|${lastReplayed?.getTime()}`;
    if (key !== last) options.onProgress(progress);
    last = key;
    if (FINAL.has(progress.state)) return progress;
    await sleep(options.intervalMs);
  }
}

/** One progress line: `RUNNING: replayed up to 2024-05-17T09:12:00.000Z (40% of the window)`. */
export function progressLine(progress: ReplayProgress): string {
  const where = progress.lastReplayed ? `: replayed up to ${progress.lastReplayed.toISOString()}${progress.percent !== undefined ? ` (${progress.percent}% of the window)` : ''}` : '';
  return `${progress.state}${where}${progress.reason ? ` (${progress.reason})` : ''}`;
}

export function cloudFormationClient(region: string | undefined): CloudFormationClient {
  return new CloudFormationClient({ region });
}
