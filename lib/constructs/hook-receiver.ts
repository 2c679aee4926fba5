import { HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { BridgeApi } from './bridge-api';
import { BridgeFunction } from './bridge-function';
import { CrispSecret } from './crisp-secret';
import { DEFAULT_MAX_MESSAGE_BYTES } from './hook-queue';

export const PLUGIN_HOOK_ROUTE = '/hooks/crisp';
export const WEBSITE_HOOK_ROUTE = '/hooks/crisp/website';

export interface HookReceiverProps {
  /** The API to add the hook routes to. */
  readonly api: BridgeApi;
  /** Where accepted hooks go. */
  readonly queue: IQueue;
  /**
   * The queue's maximum message size; larger hooks get 413.
   * @default 262144
   */
  readonly maxMessageBytes?: number;
  /**
   * ARN of an existing secret holding the Plugin Hook signing secret.
   * @default a new secret, holding a placeholder until you set it
   */
  readonly hookSecretArn?: string;
  /**
   * Also deploy `POST /hooks/crisp/website?key=...` for Crisp Website Hooks, with a key
   * generated at deploy time.
   * @default false
   */
  readonly websiteHooks?: boolean;
  /**
   * Refuse hooks whose `X-Crisp-Request-Timestamp` is older than this, in seconds. Keep it no
   * longer than the dedupe lifetime.
   * @default 3600
   */
  readonly hookMaxAgeSeconds?: number;
  /**
   * Event namespaces to queue (`message:send`, or a prefix like `message:*`); others are
   * acknowledged and dropped.
   * @default [] (all)
   */
  readonly hookEvents?: string[];
  /**
   * Crisp website IDs to queue; hooks from other websites are acknowledged and dropped.
   * @default [] (all)
   */
  readonly hookWebsiteIds?: string[];
  /**
   * Requests per second allowed on each hook route.
   * @default 100
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst allowed above that rate on each hook route.
   * @default 200
   */
  readonly throttleBurstLimit?: number;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the secrets this construct creates when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * CloudWatch namespace of the metrics the function emits.
   * @default 'CrispBridge'
   */
  readonly metricsNamespace?: string;
}

/**
 * The Crisp hook receiver: the signing secret (and the Website Hook key), the receiver function
 * and the hook routes. The routes have no API Gateway authorizer: an authorizer never sees the
 * body, so the function verifies the signature itself. The function may send to the hook
 * queue and read those secrets, nothing else.
 */
export class HookReceiver extends Construct {
  readonly hookSecret: CrispSecret;
  readonly websiteHookKey: CrispSecret | undefined;
  readonly function: BridgeFunction;

  constructor(scope: Construct, id: string, props: HookReceiverProps) {
    super(scope, id);
    this.hookSecret = new CrispSecret(this, 'HookSecret', {
      purpose: 'Crisp hook signing secret',
      existingSecretArn: props.hookSecretArn,
      valueVariable: 'CRISP_HOOK_SECRET',
      removalPolicy: props.removalPolicy,
    });
    this.websiteHookKey = props.websiteHooks
      ? new CrispSecret(this, 'WebsiteHookKey', {
          purpose: 'Crisp Website Hook key',
          generate: true,
          valueVariable: 'CRISP_WEBSITE_HOOK_KEY',
          removalPolicy: props.removalPolicy,
        })
      : undefined;

    this.function = new BridgeFunction(this, 'Function', {
      handlerDir: 'hook-receiver',
      description: 'crisp-bridge: verifies Crisp hooks and queues them in SQS',
      timeout: Duration.seconds(5),
      logRetention: props.logRetention,
      metricsNamespace: props.metricsNamespace,
      environment: {
        HOOK_QUEUE_URL: props.queue.queueUrl,
        HOOK_MAX_AGE_SECONDS: String(props.hookMaxAgeSeconds ?? 3600),
        MAX_MESSAGE_BYTES: String(props.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES),
        HOOK_EVENTS: (props.hookEvents ?? []).join(','),
        HOOK_WEBSITE_IDS: (props.hookWebsiteIds ?? []).join(','),
      },
    }).readSecret(this.hookSecret, 'HOOK_SECRET_ID');
    if (this.websiteHookKey) this.function.readSecret(this.websiteHookKey, 'WEBSITE_HOOK_KEY_ID');
    // SendMessage only: not Receive, Delete or the queue's attributes.
    this.function.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }));
    props.queue.encryptionMasterKey?.grantEncrypt(this.function);

    const integration = new HttpLambdaIntegration('Integration', this.function);
    const routes = [PLUGIN_HOOK_ROUTE, ...(props.websiteHooks ? [WEBSITE_HOOK_ROUTE] : [])];
    for (const path of routes) {
      const [route] = props.api.httpApi.addRoutes({ path, methods: [HttpMethod.POST], integration });
      Validations.of(route!).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Crisp cannot send a token, and an API Gateway authorizer never sees the body: the function authenticates every hook ' +
          '(HMAC-SHA256 signature over the raw body, or a constant-time key check for Website Hooks) before anything is queued.',
      });
      props.api.throttleRoute(`POST ${path}`, route!, props.throttleRateLimit ?? 100, props.throttleBurstLimit ?? 200);
    }
  }
}
