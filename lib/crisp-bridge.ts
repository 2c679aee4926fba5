import { Annotations, Stack } from 'aws-cdk-lib';
import type { IEventBus, IRuleTarget, Rule } from 'aws-cdk-lib/aws-events';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { CONSTRUCT_ONLY_KEYS, type CrispBridgeConfig, invalid, removalPolicyOf, retrySchedule, validateConfig } from './config';
import { BridgeApi } from './constructs/bridge-api';
import { CustomDomain } from './constructs/custom-domain';
import { DedupeTable } from './constructs/dedupe-table';
import { EventConsumer } from './constructs/event-consumer';
import { HookQueue } from './constructs/hook-queue';
import { HookReceiver, PLUGIN_HOOK_ROUTE, WEBSITE_HOOK_ROUTE } from './constructs/hook-receiver';
import { BridgeMonitoring } from './constructs/monitoring';
import { type CrispEventPattern, CrispEventBus, type OnCrispEventOptions } from './constructs/crisp-event-bus';
import { defaultEventSource, eventBusEnabled } from './event-bus-config';
import { TICKET_CENTER_ROUTE, TicketCenterSigner } from './constructs/ticket-center-signer';
import { TicketCenterStylesheet } from './constructs/ticket-center-stylesheet';
import { CrispApiToken } from './constructs/crisp-api-token';

export interface CrispBridgeProps extends CrispBridgeConfig {
  /**
   * How long function logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * CloudWatch namespace of every metric this bridge emits and alarms on. Scoped to the stack, so
   * two deployments in one account (dev and prod) never share a metric, an alarm or a dashboard.
   * @default 'CrispBridge/<stack name>'
   */
  readonly metricsNamespace?: string;
}

/** The construct-only props on top of the configuration keys. */

/** The hook pipeline's parts, present when `hooks` is on. */
export interface CrispBridgeHooks {
  readonly queue: HookQueue;
  readonly receiver: HookReceiver;
  readonly dedupeTable: DedupeTable;
  readonly consumer: EventConsumer;
  /** Full URL to paste into Crisp for Plugin Hooks. */
  readonly pluginHookUrl: string;
  /** Full URL (without its key) for Website Hooks, when enabled. */
  readonly websiteHookUrl: string | undefined;
}

/**
 * Everything crisp-bridge deploys, as one construct you can put in your own stack: the HTTP API,
 * the signed Ticket Center URL endpoint, and the hook pipeline (receiver, queue, dedupe table,
 * consumer running your handlers). Either part may be left out (`ticketCenter: false`,
 * `hooks: false`). Props are validated first; an incomplete, insecure or misspelt configuration
 * throws and names the prop.
 */
export class CrispBridge extends Construct {
  readonly api: BridgeApi;
  /** The signed-URL endpoint, unless `ticketCenter: false`. */
  readonly ticketCenter: TicketCenterSigner | undefined;
  /** The hook pipeline, unless `hooks: false`. */
  readonly hooks: CrispBridgeHooks | undefined;
  readonly monitoring: BridgeMonitoring;
  /** The CloudWatch namespace of this bridge's metrics. */
  readonly metricsNamespace: string;
  /** Full URL of `GET /ticket-center/url`, unless `ticketCenter: false`. */
  readonly ticketCenterUrlEndpoint: string | undefined;
  /** The EventBridge bus every Crisp event is put on, when `eventBus` is set. */
  readonly eventBus: IEventBus | undefined;
  /** The bus, its archive and the events' source, when `eventBus` is set. */
  readonly events: CrispEventBus | undefined;
  /** Your own domain in front of the API, when `domainName` is set. */
  readonly customDomain: CustomDomain | undefined;
  /** The Ticket Center stylesheet and its CloudFront distribution, when `ticketCenterStylesheet` is set. */
  readonly ticketCenterStylesheet: TicketCenterStylesheet | undefined;
  /** The Crisp API plugin token's secret and the consumer's access to it, when `crispApi` is on. */
  readonly crispApi: CrispApiToken | undefined;

  constructor(scope: Construct, id: string, props: CrispBridgeProps) {
    super(scope, id);
    validateConfig(props, CONSTRUCT_ONLY_KEYS);
    if (props.metricsNamespace !== undefined) checkNamespace(props.metricsNamespace);
    const removalPolicy = removalPolicyOf(props.removalPolicy);
    const stackName = Stack.of(this).stackName;
    const defaultNamespace = `CrispBridge/${stackName}`;
    this.metricsNamespace = claimNamespace(this, props.metricsNamespace ?? defaultNamespace);
    // One dashboard per bridge: the stack's name for the usual single bridge, the namespace appended otherwise.
    const dashboardName = this.metricsNamespace === defaultNamespace ? stackName : `${stackName}-${this.metricsNamespace.replace(/[^A-Za-z0-9_-]/g, '-')}`.slice(0, 255);

    this.api = new BridgeApi(this, 'Api', {
      allowedOrigins: props.allowedOrigins,
      throttleRateLimit: props.throttleRateLimit,
      throttleBurstLimit: props.throttleBurstLimit,
    });
    if (props.domainName !== undefined) {
      this.customDomain = new CustomDomain(this, 'CustomDomain', {
        httpApi: this.api.httpApi,
        stage: this.api.stage,
        domainName: props.domainName,
        certificateArn: props.certificateArn,
        hostedZoneId: props.hostedZoneId,
        hostedZoneName: props.hostedZoneName,
      });
    }
    // With your own domain, the URLs pasted into Crisp name it, and survive the API's re-creation.
    const base = (this.customDomain?.url ?? this.api.url).replace(/\/$/, '');

    if (props.ticketCenter ?? true) {
      this.ticketCenter = new TicketCenterSigner(this, 'TicketCenter', {
        httpApi: this.api.httpApi,
        websiteId: props.websiteId!,
        jwtIssuer: props.jwtIssuer!,
        jwtAudience: props.jwtAudience!,
        emailClaim: props.emailClaim,
        requireEmailVerified: props.requireEmailVerified,
        lowercaseEmail: props.lowercaseEmail,
        ticketCenterSecretArn: props.ticketCenterSecretArn,
        logRetention: props.logRetention,
        removalPolicy,
        metricsNamespace: this.metricsNamespace,
      });
      this.ticketCenterUrlEndpoint = `${base}${TICKET_CENTER_ROUTE}`;
      if (props.ticketCenterStylesheet !== undefined) {
        // Not the bridge's removalPolicy: the bucket only ever holds a copy of a file in the repository.
        this.ticketCenterStylesheet = new TicketCenterStylesheet(this, 'TicketCenterStylesheet', {
          file: props.ticketCenterStylesheet,
          logRetention: props.logRetention,
        });
      }
    }

    if (props.hooks ?? true) {
      const schedule = retrySchedule(props);
      const queue = new HookQueue(this, 'HookQueue', {
        visibilityTimeout: schedule.visibilityTimeout,
        maxReceiveCount: schedule.maxReceiveCount,
        removalPolicy,
      });
      const receiver = new HookReceiver(this, 'HookReceiver', {
        api: this.api,
        queue: queue.queue,
        maxMessageBytes: queue.maxMessageBytes,
        hookSecretArn: props.hookSecretArn,
        websiteHooks: props.websiteHooks,
        hookMaxAgeSeconds: props.hookMaxAgeSeconds,
        hookEvents: props.hookEvents,
        hookWebsiteIds: props.hookWebsiteIds,
        throttleRateLimit: props.hookThrottleRateLimit,
        throttleBurstLimit: props.hookThrottleBurstLimit,
        logRetention: props.logRetention,
        removalPolicy,
        metricsNamespace: this.metricsNamespace,
      });
      const dedupeTable = new DedupeTable(this, 'DedupeTable', { removalPolicy });
      const consumer = new EventConsumer(this, 'Consumer', {
        queue: queue.queue,
        deadLetterQueue: queue.deadLetterQueue,
        maxReceiveCount: queue.maxReceiveCount,
        table: dedupeTable.table,
        handlers: props.handlers,
        dedupeTtlHours: props.dedupeTtlHours,
        timeout: schedule.consumerTimeout,
        maxConcurrency: props.consumerMaxConcurrency,
        logRetention: props.logRetention,
        metricsNamespace: this.metricsNamespace,
      });
      if (props.crispApi) {
        this.crispApi = new CrispApiToken(this, 'CrispApi', { consumer: consumer.function, url: props.crispApiUrl, removalPolicy });
      }
      if (eventBusEnabled(props.eventBus)) {
        this.events = new CrispEventBus(this, 'EventBus', {
          eventBus: props.eventBus === true ? true : (props.eventBus as string),
          // Named like the dashboard: the stack's name, unless a second bridge shares the stack.
          busName: dashboardName,
          source: props.eventSource ?? defaultEventSource(stackName),
          archiveRetentionDays: props.eventArchiveRetentionDays,
          removalPolicy,
          publisher: consumer.function,
        });
        this.eventBus = this.events.bus;
      }
      this.hooks = {
        queue,
        receiver,
        dedupeTable,
        consumer,
        pluginHookUrl: `${base}${PLUGIN_HOOK_ROUTE}`,
        websiteHookUrl: props.websiteHooks ? `${base}${WEBSITE_HOOK_ROUTE}` : undefined,
      };
    }

    this.monitoring = new BridgeMonitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      accessLogs: this.api.accessLogs,
      signer: this.ticketCenter?.function,
      hooks: this.hooks && {
        receiver: this.hooks.receiver.function,
        consumer: this.hooks.consumer.function,
        queue: this.hooks.queue.queue,
        deadLetterQueue: this.hooks.queue.deadLetterQueue,
        maxReceiveCount: this.hooks.queue.maxReceiveCount,
      },
      alarmEmail: props.alarmEmail,
      metricsNamespace: this.metricsNamespace,
      dashboardName,
    });
    this.events?.addMonitoring(this.monitoring);

    if (this.ticketCenter && props.requireEmailVerified === false) {
      Annotations.of(this).addWarningV2(
        'crisp-bridge:email-verified-off',
        'requireEmailVerified is false: any email in a valid token is signed. Keep it only if your identity provider verifies every email.',
      );
    }
  }

  /**
   * Sends the Crisp events matching `pattern` to `target` through a rule on the bridge's bus: a
   * namespace (`message:send`), a prefix (`session:*`), `*`, or a list; `websiteIds` narrows it to
   * some websites. Delivery is at least once (and replays send events again): dedupe on
   * `detail.dedupeKey`. Throws unless `eventBus` is set. See docs/event-bus.md.
   */
  onCrispEvent(id: string, pattern: CrispEventPattern, target: IRuleTarget, options?: OnCrispEventOptions): Rule {
    if (!this.events) {
      throw new Error(
        `crisp-bridge: onCrispEvent("${id}") needs the event bus: set eventBus: true (or an existing bus ARN) on the CrispBridge ` +
          '(or -c eventBus=true). See docs/event-bus.md.',
      );
    }
    return this.events.onCrispEvent(id, pattern, target, options);
  }

  /** The consumer function, for the grants your handlers need (`bridge.consumer.function`); undefined with `hooks: false`. */
  get consumer(): EventConsumer | undefined {
    return this.hooks?.consumer;
  }
}

/** Namespaces taken per stack: two bridges in one stack must not share one. */
const NAMESPACES = new WeakMap<Stack, Set<string>>();

function claimNamespace(scope: Construct, namespace: string): string {
  const stack = Stack.of(scope);
  const taken = NAMESPACES.get(stack) ?? new Set<string>();
  NAMESPACES.set(stack, taken);
  if (taken.has(namespace)) {
    throw invalid(
      'metricsNamespace',
      `a second CrispBridge in stack ${stack.stackName} would share the metrics namespace ${namespace} (and its alarms and dashboard): give each bridge a metricsNamespace of its own.`,
    );
  }
  taken.add(namespace);
  return namespace;
}

/** CloudWatch's rules for a custom namespace, checked at synth rather than at the first PutMetricData. */
function checkNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || !/^[A-Za-z0-9.\-_/#: ]{1,255}$/.test(namespace) || namespace.startsWith('AWS/')) {
    throw invalid(
      'metricsNamespace',
      `expected 1 to 255 letters, digits or . - _ / # : and spaces, not starting with AWS/, got ${JSON.stringify(namespace)}.`,
    );
  }
}
