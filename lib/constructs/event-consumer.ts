import { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BridgeFunction } from './bridge-function';

/** The consumer's timeout; the hook queue's visibility timeout is six times this. */
export const DEFAULT_CONSUMER_TIMEOUT = Duration.seconds(30);

export interface EventConsumerProps {
  /** The hook queue to consume. */
  readonly queue: IQueue;
  /** Receives after which the queue moves a message to its dead-letter queue (for the logs). */
  readonly maxReceiveCount: number;
  /** The dedupe table. */
  readonly table: ITable;
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
}

/**
 * The consumer: an SQS-triggered function with partial batch responses that claims each event in
 * the dedupe table and runs your handlers (`functions/consumer/handlers/`) once per event. It may
 * read and update the dedupe table, and consume the hook queue, nothing else.
 */
export class EventConsumer extends Construct {
  readonly function: BridgeFunction;

  constructor(scope: Construct, id: string, props: EventConsumerProps) {
    super(scope, id);
    this.function = new BridgeFunction(this, 'Function', {
      handlerDir: 'consumer',
      description: 'crisp-bridge: runs your handlers once per Crisp event (DynamoDB dedupe)',
      timeout: props.timeout ?? DEFAULT_CONSUMER_TIMEOUT,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      environment: {
        DEDUPE_TABLE_NAME: props.table.tableName,
        DEDUPE_TTL_HOURS: String(props.dedupeTtlHours ?? 168),
        MAX_RECEIVE_COUNT: String(props.maxReceiveCount),
      },
    });
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'], resources: [props.table.tableArn] }),
    );
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
