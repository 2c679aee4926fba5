/**
 * The event bus keys of the configuration (`eventBus`, `eventSource`, `eventArchiveRetentionDays`):
 * their defaults and their checks. Pure (no CDK constructs): lib/config.ts calls
 * `eventBusConfigProblem` from `validateConfig`, and the CrispEventBus construct checks its own
 * props with the same rules. See docs/event-bus.md.
 */
import { Token } from 'aws-cdk-lib';

export interface EventBusConfig {
  /**
   * Publish every Crisp event (deduplicated) to an EventBridge bus: `true` creates one, named
   * after the stack; an event bus ARN (`arn:aws:events:<region>:<account>:event-bus/<name>`, in
   * the stack's account and region) uses that one. With it: an archive of the events, and
   * `bridge.onCrispEvent(...)` to subscribe. Needs the hooks.
   * @default false (no bus)
   */
  readonly eventBus?: boolean | string;
  /**
   * The `source` of the events put on the bus: what rules match on. Letters, digits and
   * `. - _ / :`, at most 256, not starting with `aws.` (reserved for AWS services).
   * @default 'crisp-bridge.<stack name>'
   */
  readonly eventSource?: string;
  /**
   * How long the bus's archive keeps the events, for replays (`npm run replay`); 0 keeps them
   * indefinitely.
   * @default 30
   */
  readonly eventArchiveRetentionDays?: number;
}

export const DEFAULT_EVENT_ARCHIVE_RETENTION_DAYS = 30;

export const EVENT_BUS_ARN = /^arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):event-bus\/([A-Za-z0-9._\-/]{1,256})$/;
const EVENT_SOURCE = /^[A-Za-z0-9._\-/:]{1,256}$/;

/** `crisp-bridge.<stack name>`: the default event source. */
export function defaultEventSource(stackName: string): string {
  return `crisp-bridge.${stackName}`;
}

/** Is the bus on (`true` or an ARN)? */
export function eventBusEnabled(eventBus: boolean | string | undefined): boolean {
  return eventBus === true || (typeof eventBus === 'string' && eventBus !== '');
}

/** The first problem with the event bus keys, as the key and why; undefined when they are fine. */
export function eventBusConfigProblem(config: EventBusConfig & { hooks?: boolean }): { key: string; why: string } | undefined {
  const { eventBus, eventSource, eventArchiveRetentionDays } = config;
  if (eventBus !== undefined && typeof eventBus !== 'boolean' && typeof eventBus !== 'string') {
    return { key: 'eventBus', why: `expected true (create a bus) or an event bus ARN, got ${JSON.stringify(eventBus)}.` };
  }
  if (typeof eventBus === 'string' && !Token.isUnresolved(eventBus) && !EVENT_BUS_ARN.test(eventBus)) {
    return {
      key: 'eventBus',
      why: `"${eventBus}" is neither true nor an event bus ARN (arn:aws:events:<region>:<account>:event-bus/<name>). Use true to create a bus named after the stack.`,
    };
  }
  const on = eventBusEnabled(eventBus);
  if (on && config.hooks === false) return { key: 'eventBus', why: 'is set but the hooks are off (hooks: false): the bus carries the hooks\' events; remove it or turn the hooks on.' };
  for (const key of ['eventSource', 'eventArchiveRetentionDays'] as const) {
    if (!on && config[key] !== undefined) return { key, why: 'is set but eventBus is not; set eventBus (true, or a bus ARN) or remove it.' };
  }
  if (eventSource !== undefined && !Token.isUnresolved(eventSource)) {
    if (typeof eventSource !== 'string' || !EVENT_SOURCE.test(eventSource)) {
      return { key: 'eventSource', why: `expected 1 to 256 letters, digits or . - _ / : (such as com.example.crisp), got ${JSON.stringify(eventSource)}.` };
    }
    if (eventSource.toLowerCase().startsWith('aws.')) return { key: 'eventSource', why: `"${eventSource}" starts with "aws.", which is reserved for AWS services' events.` };
  }
  if (eventArchiveRetentionDays !== undefined && (!Number.isInteger(eventArchiveRetentionDays) || eventArchiveRetentionDays < 0)) {
    return { key: 'eventArchiveRetentionDays', why: `expected a whole number of days, 0 (keep indefinitely) or more, got ${eventArchiveRetentionDays}.` };
  }
  return undefined;
}
