import { Annotations, Duration } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type CrispBridgeConfig, validateConfig } from './config';
import { BridgeApi } from './constructs/bridge-api';
import { DedupeTable } from './constructs/dedupe-table';
import { DEFAULT_CONSUMER_TIMEOUT, EventConsumer } from './constructs/event-consumer';
import { HookQueue } from './constructs/hook-queue';
import { HookReceiver, PLUGIN_HOOK_ROUTE, WEBSITE_HOOK_ROUTE } from './constructs/hook-receiver';
import { BridgeMonitoring } from './constructs/monitoring';
import { TICKET_CENTER_ROUTE, TicketCenterSigner } from './constructs/ticket-center-signer';

export interface CrispBridgeProps extends CrispBridgeConfig {
  /**
   * How long function logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * Everything crisp-bridge deploys, as one construct you can put in your own stack: the HTTP
 * API, the signed Ticket Center URL endpoint, and the hook receiver with its queue. Props are
 * validated first; an incomplete or insecure configuration throws and names the prop.
 */
export class CrispBridge extends Construct {
  readonly api: BridgeApi;
  readonly ticketCenter: TicketCenterSigner;
  readonly hookQueue: HookQueue;
  readonly hookReceiver: HookReceiver;
  readonly dedupeTable: DedupeTable;
  readonly consumer: EventConsumer;
  readonly monitoring: BridgeMonitoring;
  /** Full URL of `GET /ticket-center/url`. */
  readonly ticketCenterUrlEndpoint: string;
  /** Full URL to paste into Crisp for Plugin Hooks. */
  readonly pluginHookUrl: string;
  /** Full URL (without its key) for Website Hooks, when enabled. */
  readonly websiteHookUrl: string | undefined;

  constructor(scope: Construct, id: string, props: CrispBridgeProps) {
    super(scope, id);
    validateConfig(props);

    this.api = new BridgeApi(this, 'Api', {
      allowedOrigins: props.allowedOrigins,
      throttleRateLimit: props.throttleRateLimit,
      throttleBurstLimit: props.throttleBurstLimit,
    });
    this.ticketCenter = new TicketCenterSigner(this, 'TicketCenter', {
      httpApi: this.api.httpApi,
      websiteId: props.websiteId,
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      emailClaim: props.emailClaim,
      requireEmailVerified: props.requireEmailVerified,
      lowercaseEmail: props.lowercaseEmail,
      ticketCenterSecretArn: props.ticketCenterSecretArn,
      logRetention: props.logRetention,
    });
    const base = this.api.url.replace(/\/$/, '');
    this.ticketCenterUrlEndpoint = `${base}${TICKET_CENTER_ROUTE}`;

    // Visibility timeout six times the consumer's timeout, as AWS recommends for SQS sources.
    this.hookQueue = new HookQueue(this, 'HookQueue', { visibilityTimeout: Duration.seconds(6 * DEFAULT_CONSUMER_TIMEOUT.toSeconds()) });
    this.hookReceiver = new HookReceiver(this, 'HookReceiver', {
      api: this.api,
      queue: this.hookQueue.queue,
      maxMessageBytes: this.hookQueue.maxMessageBytes,
      hookSecretArn: props.hookSecretArn,
      websiteHooks: props.websiteHooks,
      hookMaxAgeSeconds: props.hookMaxAgeSeconds,
      hookEvents: props.hookEvents,
      hookWebsiteIds: props.hookWebsiteIds,
      throttleRateLimit: props.hookThrottleRateLimit,
      throttleBurstLimit: props.hookThrottleBurstLimit,
      logRetention: props.logRetention,
    });
    this.dedupeTable = new DedupeTable(this, 'DedupeTable');
    this.consumer = new EventConsumer(this, 'Consumer', {
      queue: this.hookQueue.queue,
      maxReceiveCount: this.hookQueue.maxReceiveCount,
      table: this.dedupeTable.table,
      dedupeTtlHours: props.dedupeTtlHours,
      timeout: DEFAULT_CONSUMER_TIMEOUT,
      logRetention: props.logRetention,
    });
    this.monitoring = new BridgeMonitoring(this, 'Monitoring', {
      httpApi: this.api.httpApi,
      accessLogs: this.api.accessLogs,
      signer: this.ticketCenter.function,
      receiver: this.hookReceiver.function,
      consumer: this.consumer.function,
      queue: this.hookQueue.queue,
      deadLetterQueue: this.hookQueue.deadLetterQueue,
      alarmEmail: props.alarmEmail,
    });
    this.pluginHookUrl = `${base}${PLUGIN_HOOK_ROUTE}`;
    this.websiteHookUrl = props.websiteHooks ? `${base}${WEBSITE_HOOK_ROUTE}` : undefined;

    if (props.requireEmailVerified === false) {
      Annotations.of(this).addWarningV2(
        'crisp-bridge:email-verified-off',
        'requireEmailVerified is false: any email in a valid token is signed. Keep it only if your identity provider verifies every email.',
      );
    }
  }
}
