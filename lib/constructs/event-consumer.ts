import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_CONSUMER_TIMEOUT_SECONDS, type HandlersConfig } from '../config';
import { FUNCTIONS_DIR, PACKAGE_ROOT } from '../package-root';
import { BridgeFunction } from './bridge-function';
import { type ReadableSecret, secretGrantResources } from './crisp-secret';

/** The consumer's timeout when none is given (the configuration's default). */
export const DEFAULT_CONSUMER_TIMEOUT = Duration.seconds(DEFAULT_CONSUMER_TIMEOUT_SECONDS);

/** The handler module the consumer runs when none is given: the shipped example. */
export const EXAMPLE_HANDLERS_ENTRY = path.join(FUNCTIONS_DIR, 'consumer', 'handlers', 'index.ts');

export interface EventConsumerProps {
  /** The hook queue to consume. */
  readonly queue: IQueue;
  /** Its dead-letter queue: where a handler's `PermanentError` sends an event at once. */
  readonly deadLetterQueue: IQueue;
  /** Receives after which the queue moves a message to its dead-letter queue (for the logs). */
  readonly maxReceiveCount: number;
  /** The dedupe table. */
  readonly table: ITable;
  /**
   * Your handler module, its settings and its secrets.
   * @default the shipped example module (functions/consumer/handlers/index.ts), no settings, no secrets
   */
  readonly handlers?: HandlersConfig;
  /**
   * How long a processed event's key is kept, in hours.
   * @default 168
   */
  readonly dedupeTtlHours?: number;
  /**
   * Messages per invocation. With partial batch responses a failing event only retries itself,
   * so a full batch costs nothing in correctness and saves invocations under bursts.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * How long Lambda waits to fill a batch. None by default: a visitor's message reaches your
   * handler within a second, which a chatbot needs; set one to trade latency for fewer invocations.
   * @default no window
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Most concurrent invocations the queue may drive: protects what your handlers call (a CRM,
   * an API) from Crisp's bursts. Messages beyond it wait in the queue, they do not fail.
   * @default 5
   */
  readonly maxConcurrency?: number;
  /**
   * The function's timeout; keep the queue's visibility timeout at six times this.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * CloudWatch namespace of the metrics the consumer emits.
   * @default 'CrispBridge'
   */
  readonly metricsNamespace?: string;
}

/**
 * The consumer: an SQS-triggered function with partial batch responses that claims each event in
 * the dedupe table and runs your handlers once per event. It may read and update the dedupe
 * table, consume the hook queue, send to its dead-letter queue (`PermanentError`), and read the
 * secrets your handlers declare, nothing else; `function` is exposed for the grants your
 * handlers need beyond that.
 */
export class EventConsumer extends Construct {
  readonly function: BridgeFunction;
  /** The handler module bundled into the consumer. */
  readonly handlersEntry: string;

  constructor(scope: Construct, id: string, props: EventConsumerProps) {
    super(scope, id);
    this.handlersEntry = path.resolve(props.handlers?.entry ?? EXAMPLE_HANDLERS_ENTRY);
    const secrets = Object.entries(props.handlers?.secrets ?? {}).map(([name, secret]) => [name, handlerSecret(this, name, secret)] as const);

    this.function = new BridgeFunction(this, 'Function', {
      handlerDir: 'consumer',
      entry: consumerEntry(this.handlersEntry),
      description: 'crisp-bridge: runs your handlers once per Crisp event (DynamoDB dedupe)',
      timeout: props.timeout ?? DEFAULT_CONSUMER_TIMEOUT,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      metricsNamespace: props.metricsNamespace,
      environment: {
        // The user's settings first: validation keeps them off the names set below.
        ...props.handlers?.environment,
        DEDUPE_TABLE_NAME: props.table.tableName,
        DEDUPE_TTL_HOURS: String(props.dedupeTtlHours ?? 168),
        MAX_RECEIVE_COUNT: String(props.maxReceiveCount),
        DEAD_LETTER_QUEUE_URL: props.deadLetterQueue.queueUrl,
        ...(secrets.length > 0 ? { HANDLER_SECRETS: JSON.stringify(Object.fromEntries(secrets.map(([name, secret]) => [name, secret.arn]))) } : {}),
      },
    });
    for (const [, secret] of secrets) secret.grantReadValue(this.function);
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], resources: [props.table.tableArn] }),
    );
    // PermanentError: a copy goes to the dead-letter queue. Send only.
    this.function.addToRolePolicy(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.deadLetterQueue.queueArn] }));
    props.deadLetterQueue.encryptionMasterKey?.grantEncrypt(this.function);
    this.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize ?? 10,
        maxBatchingWindow: props.maxBatchingWindow,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency ?? 5,
      }),
    );
  }
}

/** A handler secret: its ARN for the function, and a grant to read its value only. */
function handlerSecret(scope: Construct, name: string, secret: ISecret | string): ReadableSecret & { arn: string } {
  const imported = typeof secret === 'string' ? Secret.fromSecretPartialArn(scope, `HandlerSecret${name}`, secret) : secret;
  const resources = typeof secret === 'string' ? secretGrantResources(secret) : imported.secretFullArn ? [imported.secretFullArn] : [`${imported.secretArn}-??????`];
  return {
    secret: imported,
    arn: imported.secretArn,
    grantReadValue(grantee: IGrantable) {
      grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources }));
      imported.encryptionKey?.grantDecrypt(grantee);
    },
  };
}

/**
 * The consumer's entry: two lines joining the consumer (`functions/consumer/create-handler.ts`)
 * to the handler module, written where esbuild can bundle it (a cache folder under crisp-bridge's
 * own directory, inside the app's project). Its name is a hash of its content, so it is the same
 * file on every synth.
 */
export function consumerEntry(handlersEntry: string): string {
  const content =
    '// Generated by crisp-bridge at synth: the consumer around your handler module. Do not edit.\n' +
    `import { createConsumerHandler } from ${JSON.stringify(path.join(FUNCTIONS_DIR, 'consumer', 'create-handler.ts'))};\n` +
    `import * as handlerModule from ${JSON.stringify(handlersEntry)};\n` +
    'export const handler = createConsumerHandler(handlerModule);\n';
  const dir = path.join(PACKAGE_ROOT, 'node_modules', '.cache', 'crisp-bridge');
  const file = path.join(dir, `consumer-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.ts`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, content);
  return file;
}
