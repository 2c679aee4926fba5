/**
 * `context.count` (functions/consumer/event-counts.ts): what a handler counts, grouped into EMF
 * metric sets for the outcome line, and every name or value CloudWatch or the line cannot take
 * refused with a TypeError that says why.
 */
import { MAX_COUNT_DIMENSIONS, MAX_COUNTED_METRICS, RESERVED_OUTCOME_NAMES, eventCounts } from '../../functions/consumer/event-counts';
import { createLogger, type MetricSet } from '../../functions/commons/logger';

const EVENT = { event: 'message:send', website_id: '42286ab3-b29a-4fde-8538-da0ae501d825' };

describe('eventCounts', () => {
  it('nothing counted: no metric set', () => {
    expect(eventCounts(EVENT).sets()).toEqual([]);
  });

  it('adds 1 per call, groups metrics by their dimension names, and keeps the sets apart from later calls', () => {
    const counts = eventCounts(EVENT);
    counts.count('VisitorMessages', { origin: 'chat' });
    counts.count('VisitorMessages', { origin: 'chat' });
    counts.count('Orders', { origin: 'chat' });
    counts.count('Escalations');
    const sets = counts.sets();
    expect(sets).toEqual([
      { metrics: { VisitorMessages: 2, Orders: 1 }, dimensions: { origin: 'chat' } },
      { metrics: { Escalations: 1 }, dimensions: {} },
    ]);
    counts.count('Escalations');
    expect(sets[1]!.metrics.Escalations).toBe(1); // a copy, not the live counts
    expect(counts.sets()[1]!.metrics.Escalations).toBe(2);
  });

  it('names like Object methods are plain names: counted from 0, refused for nothing else', () => {
    const counts = eventCounts(EVENT);
    counts.count('constructor', { toString: 'x' });
    counts.count('constructor', { toString: 'x' });
    counts.count('hasOwnProperty');
    const expected: MetricSet[] = [
      { metrics: { constructor: 2 }, dimensions: { toString: 'x' } },
      { metrics: { hasOwnProperty: 1 }, dimensions: {} },
    ];
    expect(counts.sets()).toEqual(expected);
  });

  it('dimension order does not matter: the same names are one set', () => {
    const counts = eventCounts(EVENT);
    counts.count('A', { plan: 'pro', origin: 'chat' });
    counts.count('B', { origin: 'chat', plan: 'pro' });
    expect(counts.sets()).toEqual([{ metrics: { A: 1, B: 1 }, dimensions: { origin: 'chat', plan: 'pro' } }]);
  });

  it('the event\'s own event and website_id may be dimensions, with their own values only', () => {
    const counts = eventCounts(EVENT);
    counts.count('PerType', { event: EVENT.event });
    expect(counts.sets()).toEqual([{ metrics: { PerType: 1 }, dimensions: { event: 'message:send' } }]);
    expect(() => counts.count('X', { event: 'session:removed' })).toThrow(/dimension "event" can only be this event's own event/);
    expect(() => counts.count('X', { website_id: 'another-website' })).toThrow(/dimension "website_id" can only be this event's own website_id/);
  });

  it.each([...RESERVED_OUTCOME_NAMES].filter((name) => name !== 'event' && name !== 'website_id'))(
    '"%s", a name on the outcome line, is refused as a metric and as a dimension',
    (name) => {
      const counts = eventCounts(EVENT);
      expect(() => counts.count(name)).toThrow(TypeError);
      expect(() => counts.count(name)).toThrow(/name the bridge writes on the outcome line/);
      expect(() => counts.count('Fine', { [name]: 'x' })).toThrow(/name the bridge writes on the outcome line/);
      expect(counts.sets()).toEqual([]);
    },
  );

  it.each([
    ['an empty metric name', () => eventCounts(EVENT).count(''), /metric name "" is not a CloudWatch metric name/],
    ['a metric name with a space', () => eventCounts(EVENT).count('Visitor Messages'), /is not a CloudWatch metric name/],
    ['a metric name of 129 characters', () => eventCounts(EVENT).count('M'.repeat(129)), /at most 128/],
    ['a metric name that is not a string', () => eventCounts(EVENT).count(42 as unknown as string), /metric name "42"/],
    ['dimensions that are an array', () => eventCounts(EVENT).count('M', [] as unknown as Record<string, string>), /dimensions must be an object/],
    ['a dimension name starting with a digit', () => eventCounts(EVENT).count('M', { '1st': 'x' }), /dimension name "1st"/],
    ['a blank dimension value', () => eventCounts(EVENT).count('M', { origin: '  ' }), /dimension "origin" needs a non-blank string value/],
    ['a number as dimension value', () => eventCounts(EVENT).count('M', { origin: 7 as unknown as string }), /non-blank string value/],
    ['a dimension value over 1024 characters', () => eventCounts(EVENT).count('M', { origin: 'x'.repeat(1025) }), /at most 1024 characters/],
    ['a metric that is also its own dimension', () => eventCounts(EVENT).count('M', { M: 'x' }), /"M" is a metric of this event; it cannot also be a dimension/],
  ])('refuses %s', (_name, call, message) => {
    expect(call).toThrow(TypeError);
    expect(call).toThrow(message);
  });

  it(`refuses more than ${MAX_COUNT_DIMENSIONS} dimensions (CloudWatch's 30, the bridge's "service" included)`, () => {
    const dims = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i}`, 'v']));
    expect(() => eventCounts(EVENT).count('M', dims(MAX_COUNT_DIMENSIONS))).not.toThrow();
    expect(() => eventCounts(EVENT).count('M', dims(MAX_COUNT_DIMENSIONS + 1))).toThrow(/at most 29 dimensions/);
  });

  it(`refuses more than ${MAX_COUNTED_METRICS} metrics per event, and still counts the ones it has`, () => {
    const counts = eventCounts(EVENT);
    for (let i = 0; i < MAX_COUNTED_METRICS; i++) counts.count(`M${i}`);
    expect(() => counts.count('OneTooMany')).toThrow(/at most 100 metrics per event/);
    counts.count('M0');
    expect(counts.sets()[0]!.metrics.M0).toBe(2);
  });

  it('a dimension has one value per event; a metric one set of dimension names; names are either metrics or dimensions', () => {
    const counts = eventCounts(EVENT);
    counts.count('VisitorMessages', { origin: 'chat' });
    expect(() => counts.count('VisitorMessages', { origin: 'email' })).toThrow(/dimension "origin" already has another value for this event/);
    expect(() => counts.count('Other', { origin: 'email' })).toThrow(/dimension "origin" already has another value for this event/);
    // Values are never quoted back (the message is logged when the event fails).
    let message = '';
    try {
      counts.count('Other', { origin: 'jane.doe@example.com' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/already has another value/);
    expect(message).not.toContain('jane.doe@example.com');
    expect(message).not.toContain('chat');
    expect(() => counts.count('VisitorMessages')).toThrow(/"VisitorMessages" was already counted with other dimensions/);
    expect(() => counts.count('origin')).toThrow(/"origin" is already a dimension of this event/);
    expect(() => counts.count('Other', { VisitorMessages: 'x' })).toThrow(/"VisitorMessages" is a metric of this event/);
    // A refused call changed nothing.
    expect(counts.sets()).toEqual([{ metrics: { VisitorMessages: 1 }, dimensions: { origin: 'chat' } }]);
  });

  it('rendered by the logger: one line, one EMF directive per set, each metric also without its dimensions', () => {
    const lines: string[] = [];
    const logger = createLogger({ write: (line) => lines.push(line), dimensions: { service: 'consumer' }, metricsNamespace: 'CrispBridge' });
    const counts = eventCounts(EVENT);
    counts.count('VisitorMessages', { origin: 'chat' });
    counts.count('Escalations');
    logger.info('crisp event processed', { duplicate: false }, { EventProcessed: 1 }, undefined, counts.sets());
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ message: 'crisp event processed', service: 'consumer', origin: 'chat', EventProcessed: 1, VisitorMessages: 1, Escalations: 1 });
    expect(line._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'CrispBridge', Dimensions: [['service']], Metrics: [{ Name: 'EventProcessed', Unit: 'Count' }] },
      { Namespace: 'CrispBridge', Dimensions: [['service'], ['service', 'origin']], Metrics: [{ Name: 'VisitorMessages', Unit: 'Count' }] },
      { Namespace: 'CrispBridge', Dimensions: [['service']], Metrics: [{ Name: 'Escalations', Unit: 'Count' }] },
    ]);
  });

  it('rendered by the logger with no metric of its own: the counts still get the service dimension', () => {
    const lines: string[] = [];
    createLogger({ write: (line) => lines.push(line), dimensions: { service: 'consumer' } }).info('x', {}, undefined, undefined, [
      { metrics: { A: 1 }, dimensions: {} },
    ]);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ service: 'consumer', A: 1 });
    expect(line._aws.CloudWatchMetrics).toEqual([{ Namespace: 'CrispBridge', Dimensions: [['service']], Metrics: [{ Name: 'A', Unit: 'Count' }] }]);
  });
});
