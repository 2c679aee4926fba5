import { Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { type Alarm, GraphWidget } from 'aws-cdk-lib/aws-cloudwatch';
import { Archive, EventBus, type IEventBus, type IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { EVENT_PATTERN, invalid, UUID } from '../config';
import { DEFAULT_EVENT_ARCHIVE_RETENTION_DAYS, EVENT_BUS_ARN, defaultEventSource, eventBusConfigProblem } from '../event-bus-config';
import type { BridgeMonitoring } from './monitoring';

export interface CrispEventBusProps {
  /** `true`: a new bus (named `busName`); a string: the ARN of an existing bus, in the stack's account and region. */
  readonly eventBus: true | string;
  /**
   * The name of the bus created with `eventBus: true`.
   * @default the stack's name
   */
  readonly busName?: string;
  /**
   * The `source` of every event the consumer puts on the bus (what rules match on).
   * @default 'crisp-bridge.<stack name>'
   */
  readonly source?: string;
  /**
   * Days the archive keeps the events for replays; 0 keeps them indefinitely.
   * @default 30
   */
  readonly archiveRetentionDays?: number;
  /**
   * What happens to the archive (it holds the events: customer data) when the stack is deleted.
   * The bus itself holds nothing and is always deleted with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The function that publishes (the consumer): it gets `BUS_NAME` and `EVENT_SOURCE` (names,
   * never secrets) and `events:PutEvents` on this bus, and nothing else.
   * @default none (call `grantPublish` yourself)
   */
  readonly publisher?: LambdaFunction;
}

/** What `onCrispEvent` matches: a namespace, a prefix (`session:*`), `*`, or a list of them. */
export type CrispEventPattern = 'message:send' | 'session:*' | (string & {}) | readonly string[];

export interface OnCrispEventOptions {
  /** Only events of these Crisp websites (`detail.website_id`). @default every website */
  readonly websiteIds?: string[];
  /** The rule's description. @default what it matches */
  readonly description?: string;
}


/**
 * The event fan-out: an EventBridge bus (created, or an existing one) on which the consumer puts
 * every Crisp event once it is claimed (deduplicated), an archive of those events for replays,
 * and `onCrispEvent` to subscribe targets to them. See docs/event-bus.md.
 */
export class CrispEventBus extends Construct {
  readonly bus: IEventBus;
  /** True when this construct created the bus. */
  readonly created: boolean;
  /** The archive of the bridge's events on the bus (filtered to `source`). */
  readonly archive: Archive;
  /** The `source` of the bridge's events. */
  readonly source: string;
  /** What the consumer is given as BUS_NAME: the bus's name (created) or its ARN (imported). */
  readonly busReference: string;

  constructor(scope: Construct, id: string, props: CrispEventBusProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const problem = eventBusConfigProblem({ eventBus: props.eventBus, eventSource: props.source, eventArchiveRetentionDays: props.archiveRetentionDays });
    if (problem) throw invalid(problem.key, problem.why);
    this.source = props.source ?? defaultEventSource(stack.stackName);

    if (props.eventBus === true) {
      const created = new EventBus(this, 'Bus', {
        eventBusName: props.busName ?? stack.stackName,
        description: 'crisp-bridge: every Crisp event, deduplicated',
      });
      this.bus = created;
      this.busReference = created.eventBusName;
      this.created = true;
    } else {
      checkSameAccountAndRegion(stack, props.eventBus);
      this.bus = EventBus.fromEventBusArn(this, 'Bus', props.eventBus);
      this.busReference = props.eventBus;
      this.created = false;
    }

    const days = props.archiveRetentionDays ?? DEFAULT_EVENT_ARCHIVE_RETENTION_DAYS;
    this.archive = new Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      eventPattern: { source: [this.source] },
      // 0: CloudFormation's "indefinitely".
      retention: days === 0 ? undefined : Duration.days(days),
      description: `crisp-bridge: the Crisp events (source ${this.source}) for replays; ${days === 0 ? 'kept indefinitely' : `kept ${days} days`}`,
    });
    this.archive.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);

    if (props.publisher) this.grantPublish(props.publisher);
  }

  /** Lets `fn` put the bridge's events on this bus (PutEvents on this bus only) and tells it where (BUS_NAME, EVENT_SOURCE). */
  grantPublish(fn: LambdaFunction): void {
    fn.addEnvironment('BUS_NAME', this.busReference);
    fn.addEnvironment('EVENT_SOURCE', this.source);
    fn.addToRolePolicy(new PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }));
  }

  /**
   * A rule on the bus sending the bridge's events that match `pattern` to `target`: a namespace
   * (`message:send`, exact), a prefix (`session:*`, every `session:...`), `*` (every event), or a
   * list of these; optionally only some websites. Returns the rule (add targets, read its ARN).
   */
  onCrispEvent(id: string, pattern: CrispEventPattern, target: IRuleTarget, options: OnCrispEventOptions = {}): Rule {
    const patterns = typeof pattern === 'string' ? [pattern] : [...pattern];
    if (patterns.length === 0) throw new Error(`crisp-bridge: onCrispEvent("${id}"): give at least one event namespace (message:send), prefix (session:*) or "*"`);
    for (const p of patterns) {
      if (typeof p !== 'string' || !EVENT_PATTERN.test(p)) {
        throw new Error(`crisp-bridge: onCrispEvent("${id}"): ${JSON.stringify(p)} is not an event namespace (message:send), a prefix (session:*) or "*"`);
      }
    }
    const websiteIds = options.websiteIds;
    if (websiteIds !== undefined) {
      if (websiteIds.length === 0) throw new Error(`crisp-bridge: onCrispEvent("${id}"): websiteIds is empty; leave it out to match every website`);
      const bad = websiteIds.find((websiteId) => !Token.isUnresolved(websiteId) && !UUID.test(websiteId));
      if (bad !== undefined) throw new Error(`crisp-bridge: onCrispEvent("${id}"): "${bad}" is not a Crisp website ID (a UUID)`);
    }
    const detailType = detailTypeMatchers(patterns);
    const rule = new Rule(this, id, {
      eventBus: this.bus,
      description: options.description ?? `crisp-bridge: ${patterns.join(', ')}${websiteIds ? ` of ${websiteIds.length} website(s)` : ''}`,
      eventPattern: {
        source: [this.source],
        ...(detailType ? { detailType } : {}),
        ...(websiteIds ? { detail: { website_id: websiteIds } } : {}),
      },
    });
    rule.addTarget(target);
    return rule;
  }

  /** An alarm on failed puts (the consumer's EventPublishFailed metric) on the bridge's alarm topic, and a dashboard row. */
  addMonitoring(monitoring: BridgeMonitoring): Alarm {
    const metric = (name: string, label?: string) => monitoring.metric('consumer', name, label);
    const alarm = monitoring.addAlarm(
      this,
      'PublishFailedAlarm',
      metric('EventPublishFailed'),
      1,
      'crisp-bridge: events could not be put on the event bus. Throttled or failed puts are retried (their handlers wait); refused ones ' +
        '(AccessDenied, a bus that no longer exists...) go to the dead-letter queue. Logs Insights: filter message = "crisp event not published", ' +
        'its errorCode says why. docs/event-bus.md.',
    );
    monitoring.dashboard.addWidgets(
      new GraphWidget({
        title: 'Event bus',
        left: [metric('EventPublished', 'published'), metric('EventPublishFailed', 'failed'), metric('EventPublishTruncated', 'truncated (too large)')],
        width: 8,
      }),
    );
    return alarm;
  }
}

/**
 * The `detail-type` matchers: exact namespaces, `{ prefix: 'session:' }` for `session:*`; none
 * when `*` is among them (every event of the source).
 */
export function detailTypeMatchers(patterns: readonly string[]): string[] | undefined {
  if (patterns.includes('*')) return undefined;
  const matchers = [...new Set(patterns)].map((p) => (p.endsWith(':*') ? { prefix: p.slice(0, -1) } : p));
  // EventBridge takes objects in the list; CDK types the field as strings.
  return matchers as unknown as string[];
}

/** An archive and PutEvents from this stack need the bus in its own account and region. */
function checkSameAccountAndRegion(stack: Stack, arn: string): void {
  const match = EVENT_BUS_ARN.exec(arn);
  if (!match) return; // a token: checked by CloudFormation
  const [, region, account] = match;
  const differs = (mine: string, theirs: string | undefined) => !Token.isUnresolved(mine) && theirs !== mine;
  if (differs(stack.region, region) || differs(stack.account, account)) {
    throw invalid(
      'eventBus',
      `${arn} is in ${account}/${region}, the stack in ${stack.account}/${stack.region}: ` +
        'the archive must be created on a bus of the stack\'s own account and region. Use a bus there (or true to create one).',
    );
  }
}
