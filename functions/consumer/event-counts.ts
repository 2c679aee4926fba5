/**
 * `context.count`: what a handler counts about an event, kept until the event completes and then
 * written as CloudWatch metrics (EMF) on the event's own outcome line, `crisp event processed`.
 * A handler that counts needs no log line of its own (one line per event, not two), and a count
 * is made once per event: a handler that fails and is retried has its counts of the failed run
 * dropped with it.
 *
 * Pure: no logger, no clock. `process-batch.ts` makes one per event and hands its `sets()` to the
 * logger when the event completes.
 */
import type { MetricSet } from '../commons/logger';

/**
 * Names the bridge itself writes on outcome lines (fields, its dimension and its metrics): a
 * handler's metric or dimension may not take one, or the line would say two things at once.
 * `event` and `website_id` are allowed as dimensions with the event's own value.
 */
export const RESERVED_OUTCOME_NAMES: ReadonlySet<string> = new Set([
  'timestamp',
  'level',
  'message',
  'requestId',
  'event',
  'website_id',
  'dedupeKey',
  'attempt',
  'receiveCount',
  'messageId',
  'duplicate',
  'published',
  'truncated',
  'dropped',
  'handler',
  'service',
  'EventProcessed',
  'EventDuplicate',
  'EventPublished',
  'EventPublishTruncated',
  'EventUnhandled',
]);

/** CloudWatch's limits: 30 dimensions per metric (the bridge's `service` is one), 100 metrics per EMF directive. */
export const MAX_COUNT_DIMENSIONS = 29;
export const MAX_COUNTED_METRICS = 100;
/** Longest dimension value CloudWatch takes. */
const MAX_DIMENSION_VALUE = 1024;
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

export interface EventCounts {
  /** Adds 1 to `metric`, broken down by `dimensions` (the total without them is recorded too). */
  count(metric: string, dimensions?: Readonly<Record<string, string>>): void;
  /** What was counted, one set per distinct set of dimension names; empty when nothing was. */
  sets(): MetricSet[];
}

/** Counts for one event (`event`, `website_id`: its own, allowed as dimension values). */
export function eventCounts(event: { event: string; website_id: string }): EventCounts {
  const own: Record<string, string> = { event: event.event, website_id: event.website_id };
  /** Dimension name → its one value for this event (a line holds one value per name). */
  const dimensionValues = new Map<string, string>();
  const metricDimensions = new Map<string, string>();
  const sets = new Map<string, MetricSet>();

  const refuse = (problem: string): never => {
    throw new TypeError(`context.count: ${problem}`);
  };

  return {
    count(metric, dimensions = {}) {
      if (typeof metric !== 'string' || !NAME.test(metric)) {
        refuse(`metric name ${JSON.stringify(String(metric)).slice(0, 80)} is not a CloudWatch metric name here (a letter, then letters, digits, _ . -, at most 128)`);
      }
      if (RESERVED_OUTCOME_NAMES.has(metric)) refuse(`"${metric}" is a name the bridge writes on the outcome line; choose another metric name`);
      if (typeof dimensions !== 'object' || dimensions === null || Array.isArray(dimensions)) refuse('dimensions must be an object of name to string value');
      const names = Object.keys(dimensions).sort();
      if (names.length > MAX_COUNT_DIMENSIONS) refuse(`at most ${MAX_COUNT_DIMENSIONS} dimensions per metric (CloudWatch's limit, the bridge's "service" included)`);
      for (const name of names) {
        const value = dimensions[name];
        if (!NAME.test(name)) refuse(`dimension name ${JSON.stringify(name).slice(0, 80)} is not a dimension name here (a letter, then letters, digits, _ . -, at most 128)`);
        if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_DIMENSION_VALUE) {
          refuse(`dimension "${name}" needs a non-blank string value of at most ${MAX_DIMENSION_VALUE} characters`);
        }
        if (Object.hasOwn(own, name)) {
          if (value !== own[name]) refuse(`dimension "${name}" can only be this event's own ${name}`);
        } else if (RESERVED_OUTCOME_NAMES.has(name)) {
          refuse(`"${name}" is a name the bridge writes on the outcome line; choose another dimension name`);
        }
        if (name === metric || metricDimensions.has(name)) refuse(`"${name}" is a metric of this event; it cannot also be a dimension`);
        const earlier = dimensionValues.get(name);
        if (earlier !== undefined && earlier !== value) {
          // Neither value is quoted: the message is logged, and a value is the handler's to choose.
          refuse(`dimension "${name}" already has another value for this event (one value per dimension per event)`);
        }
      }
      if (dimensionValues.has(metric)) refuse(`"${metric}" is already a dimension of this event`);
      const setKey = names.join('\u0000');
      const earlierSet = metricDimensions.get(metric);
      if (earlierSet !== undefined && earlierSet !== setKey) refuse(`"${metric}" was already counted with other dimensions for this event`);
      if (earlierSet === undefined && metricDimensions.size >= MAX_COUNTED_METRICS) refuse(`at most ${MAX_COUNTED_METRICS} metrics per event`);

      for (const name of names) dimensionValues.set(name, dimensions[name]!);
      metricDimensions.set(metric, setKey);
      let set = sets.get(setKey);
      if (!set) {
        set = { metrics: {}, dimensions: Object.fromEntries(names.map((name) => [name, dimensions[name]!])) };
        sets.set(setKey, set);
      }
      // Own properties only: a metric named like an Object method ("constructor") starts at 0 too.
      set.metrics[metric] = (Object.hasOwn(set.metrics, metric) ? set.metrics[metric]! : 0) + 1;
    },
    sets: () => [...sets.values()].map((set) => ({ metrics: { ...set.metrics }, dimensions: { ...set.dimensions } })),
  };
}
