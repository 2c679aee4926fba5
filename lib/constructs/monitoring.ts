import { Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  Metric,
  SingleValueWidget,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { FilterPattern, type ILogGroup, MetricFilter } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../config';

/** The hook pipeline's parts, when the hooks are deployed. */
export interface MonitoredHooks {
  readonly receiver: IFunction;
  readonly consumer: IFunction;
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  /** Receives before a failing message moves to the dead-letter queue (for the alarm's text). */
  readonly maxReceiveCount?: number;
}

export interface BridgeMonitoringProps {
  readonly httpApi: HttpApi;
  /** The API's JSON access logs: 429s on the hook routes are counted from them. */
  readonly accessLogs: ILogGroup;
  /** The Ticket Center signer, when deployed. */
  readonly signer?: IFunction;
  /** The hook pipeline, when deployed. */
  readonly hooks?: MonitoredHooks;
  /**
   * Email address subscribed to the alarm topic (it must confirm the subscription).
   * @default no subscription; subscribe other channels to the `AlarmTopicArn` output
   */
  readonly alarmEmail?: string;
  /**
   * Namespace of the metrics the functions emit through their logs.
   * @default 'CrispBridge'
   */
  readonly metricsNamespace?: string;
  /**
   * Alarm when the oldest queued hook is older than this: the consumer is stuck, throttled or failing.
   * @default Duration.minutes(5)
   */
  readonly maxQueueAge?: Duration;
  /**
   * Alarm when more hooks than this are refused in 5 minutes (a wrong secret after a rotation,
   * a misconfigured sender, or someone forging hooks).
   * @default 20
   */
  readonly rejectedHooksThreshold?: number;
  /**
   * Alarm when API Gateway throttles this many hook requests (429) in 5 minutes: Crisp's real
   * hooks are then refused too (a flood, or a route limit below your traffic).
   * @default 1
   */
  readonly throttledHooksThreshold?: number;
  /**
   * @default the stack's name
   */
  readonly dashboardName?: string;
}

/**
 * What needs a human, and the pipeline at a glance: CloudWatch alarms published to an SNS topic
 * (optionally emailed), and a dashboard. Each alarm's description says what to do; docs/operations.md's
 * Operations section says it at length.
 */
/** The period of the bridge's metrics and most alarms. */
const PERIOD = Duration.minutes(5);

export class BridgeMonitoring extends Construct {
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  readonly dashboard: Dashboard;
  private readonly namespace: string;
  private readonly action: SnsAction;

  constructor(scope: Construct, id: string, props: BridgeMonitoringProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? 'CrispBridge';
    this.namespace = namespace;
    const period = PERIOD;
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'crisp-bridge alarms', enforceSSL: true });
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        'Alarm notifications carry only alarm names and metric values, no customer data; CloudWatch cannot publish to a topic ' +
        'encrypted with the AWS managed SNS key, and a customer-managed key would cost more than the data it would protect.',
    });
    // enforceSSL replaces SNS's default access policy: CloudWatch must be allowed to publish
    // again, and only for alarms of this account and region.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.action = new SnsAction(this.topic);

    const bridgeMetric = (service: string, name: string, label: string, statistic: string = Stats.SUM) => this.metric(service, name, label, statistic);
    const alarm = (alarmId: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1): Alarm =>
      this.addAlarm(this, alarmId, metric, threshold, description, evaluationPeriods);

    const hooksPart = props.hooks;
    const functions: Array<[string, IFunction]> = [];
    if (props.signer) functions.push(['Signer', props.signer]);
    if (hooksPart) functions.push(['Receiver', hooksPart.receiver], ['Consumer', hooksPart.consumer]);

    if (hooksPart) {
      alarm(
        'DeadLetterQueueNotEmpty',
        hooksPart.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
        1,
        `crisp-bridge: events are in the dead-letter queue (their handler failed ${hooksPart.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT} times, threw PermanentError, ` +
          'or they cannot be read). Look: npm run dlq -- peek. Fix the handler, deploy, then npm run dlq -- redrive. ' +
          'docs/operations.md > Alarms, and what to do.',
      );
      const maxAge = props.maxQueueAge ?? Duration.minutes(5);
      alarm(
        'QueueOldestMessageAge',
        hooksPart.queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
        maxAge.toSeconds(),
        `crisp-bridge: a queued hook has waited more than ${maxAge.toMinutes()} minutes: the consumer is failing, throttled or stuck. ` +
          'Check the consumer alarms and logs ("crisp event failed", "in progress elsewhere"). docs/operations.md > Alarms, and what to do.',
        3,
      );
    }
    for (const [name, fn] of functions) {
      alarm(
        `${name}Errors`,
        fn.metricErrors({ period, statistic: Stats.SUM }),
        1,
        `crisp-bridge: the ${name.toLowerCase()} function failed (an exception, a timeout or an out-of-memory). ` +
          'Logs Insights: filter level = "ERROR" or type = "platform.report". docs/operations.md > Alarms, and what to do.',
      );
      alarm(
        `${name}Throttles`,
        fn.metricThrottles({ period, statistic: Stats.SUM }),
        1,
        `crisp-bridge: the ${name.toLowerCase()} function was throttled (account or reserved concurrency reached). ` +
          'docs/operations.md > Alarms, and what to do.',
      );
    }
    alarm(
      'ApiServerErrors',
      props.httpApi.metricServerError({ period, statistic: Stats.SUM }),
      1,
      'crisp-bridge: the API answered 5xx: a secret not set (503 secret_unavailable), the queue unreachable (503 queue_unavailable, ' +
        'Crisp retries) or a function failure. Access logs and "secret unavailable" / "hook not accepted" log lines say which. ' +
        'docs/operations.md > Alarms, and what to do.',
    );

    let throttledHooks: IMetric | undefined;
    if (hooksPart) {
      alarm(
        'RejectedHooksSpike',
        bridgeMetric('hook-receiver', 'HookRejected', 'rejected hooks'),
        props.rejectedHooksThreshold ?? 20,
        'crisp-bridge: many hooks refused in 5 minutes. After a signing-secret rotation this is a secret not (yet) set; otherwise a ' +
          'misconfigured sender or forged hooks. The HookRejected metric per reason says which. docs/operations.md > Alarms, and what to do.',
      );
      // HTTP APIs have no per-client limit and no WAF: an unauthenticated flood on a hook route uses
      // up its throttle, and API Gateway then answers Crisp's genuine hooks 429 too. API Gateway
      // publishes no throttle metric for HTTP APIs, so 429s on the hook routes are counted from the
      // access logs.
      throttledHooks = new MetricFilter(this, 'HookThrottledFilter', {
        logGroup: props.accessLogs,
        // The access log format writes every value as a JSON string ("status":"429").
        filterPattern: FilterPattern.all(FilterPattern.stringValue('$.status', '=', '429'), FilterPattern.stringValue('$.routeKey', '=', 'POST /hooks/crisp*')),
        metricNamespace: namespace,
        metricName: 'HookThrottled',
        metricValue: '1',
      }).metric({ statistic: Stats.SUM, period, label: 'throttled (429)' });
      alarm(
        'HookRequestsThrottled',
        throttledHooks,
        props.throttledHooksThreshold ?? 1,
        'crisp-bridge: API Gateway throttled hook requests (429): Crisp retries, but drops an event whose every attempt fails. ' +
          'A flood of forged hooks, or real traffic above the hook route limit (hookThrottleRateLimit). ' +
          'docs/security.md > Floods.',
      );
    }

    // The dashboard: the pipeline from left to right, then latency.
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName ?? Stack.of(this).stackName, defaultInterval: Duration.hours(3) });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: '# crisp-bridge\nCrisp hooks → receiver → SQS → consumer (DynamoDB dedupe) → your handlers. Alarms and what to do: docs/operations.md.',
        width: 24,
        height: 2,
      }),
    );
    const latency: IMetric[] = [
      props.httpApi.metricLatency({ period, statistic: Stats.p(50), label: 'API p50 (ms)' }),
      props.httpApi.metricLatency({ period, statistic: Stats.p(99), label: 'API p99 (ms)' }),
    ];
    if (hooksPart) {
      const hooks = (name: string, label: string) => bridgeMetric('hook-receiver', name, label);
      const events = (name: string, label: string) => bridgeMetric('consumer', name, label);
      const minute = { period: Duration.minutes(1), statistic: Stats.MAXIMUM };
      this.dashboard.addWidgets(
        new GraphWidget({
          title: 'Hooks received',
          left: [
            hooks('HookAccepted', 'accepted (queued)'),
            hooks('HookFiltered', 'filtered'),
            hooks('HookRejected', 'rejected'),
            hooks('HookFailed', 'not accepted (503)'),
            throttledHooks!,
          ],
          width: 8,
        }),
        new GraphWidget({
          title: 'Queue',
          left: [
            hooksPart.queue.metricApproximateNumberOfMessagesVisible({ ...minute, label: 'waiting' }),
            hooksPart.queue.metricApproximateNumberOfMessagesNotVisible({ ...minute, label: 'in flight' }),
          ],
          right: [hooksPart.queue.metricApproximateAgeOfOldestMessage({ ...minute, label: 'oldest (s)' })],
          width: 8,
        }),
        new GraphWidget({
          title: 'Events processed',
          left: [
            events('EventProcessed', 'processed'),
            events('EventDuplicate', 'duplicates skipped'),
            events('EventRetried', 'retried'),
            events('EventFailed', 'handler failures'),
            events('EventDeadLettered', 'dead-lettered'),
            events('EventUnhandled', 'no handler'),
          ],
          width: 8,
        }),
      );
      latency.push(
        hooksPart.receiver.metricDuration({ period, statistic: Stats.p(99), label: 'receiver p99 (ms)' }),
        hooksPart.consumer.metricDuration({ period, statistic: Stats.p(99), label: 'consumer p99 (ms)' }),
      );
    }
    const bottom: Array<SingleValueWidget | GraphWidget> = [];
    if (hooksPart) {
      bottom.push(
        new SingleValueWidget({
          title: 'Dead-letter queue',
          metrics: [hooksPart.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: Stats.MAXIMUM, label: 'messages' })],
          width: 4,
        }),
      );
    }
    bottom.push(new GraphWidget({ title: 'Latency', left: latency, width: 10 }));
    if (props.signer) {
      bottom.push(
        new GraphWidget({
          title: 'Ticket Center URLs',
          left: [
            bridgeMetric('ticket-center-url', 'TicketCenterUrlSigned', 'signed'),
            bridgeMetric('ticket-center-url', 'TicketCenterUrlRefused', 'refused'),
            props.signer.metricErrors({ period, statistic: Stats.SUM, label: 'errors' }),
          ],
          width: 10,
        }),
      );
    }
    this.dashboard.addWidgets(...bottom);
  }

  /** A metric the functions emit (EMF) in this bridge's namespace, for one function (its `service` dimension), summed over 5 minutes. */
  metric(service: string, name: string, label?: string, statistic: string = Stats.SUM): Metric {
    return new Metric({ namespace: this.namespace, metricName: name, dimensionsMap: { service }, statistic, period: PERIOD, label });
  }

  /** An alarm at `threshold` or more, notifying the alarm topic when it fires and when it clears; listed in `alarms`. */
  addAlarm(scope: Construct, id: string, metric: IMetric, threshold: number, description: string, evaluationPeriods = 1): Alarm {
    const created = new Alarm(scope, id, {
      alarmDescription: description,
      metric,
      threshold,
      evaluationPeriods,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    created.addAlarmAction(this.action);
    created.addOkAction(this.action);
    this.alarms.push(created);
    return created;
  }
}
