import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../config';

/** SQS's classic maximum message size, which every tool and emulator supports. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;

export interface HookQueueProps {
  /**
   * Largest message (hook body plus attributes) the queue takes; the receiver answers 413 above it.
   * @default 262144 (256 KiB)
   */
  readonly maxMessageBytes?: number;
  /**
   * How long a received message stays hidden from other consumers. Keep it well above the
   * consumer function's timeout (AWS recommends six times).
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives after which a message that keeps failing moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long messages are kept, in both queues.
   * @default Duration.days(14) (the SQS maximum)
   */
  readonly retentionPeriod?: Duration;
  /**
   * What happens to both queues (and the hooks and dead letters in them) when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The durable hand-off between the hook receiver and the consumer: an encrypted standard queue
 * (SSE-SQS, TLS enforced) and its encrypted dead-letter queue for events that keep failing.
 */
export class HookQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
  readonly maxMessageBytes: number;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: HookQueueProps = {}) {
    super(scope, id);
    this.maxMessageBytes = props.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxReceiveCount = props.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
    const retentionPeriod = props.retentionPeriod ?? Duration.days(14);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
      maxMessageSizeBytes: this.maxMessageBytes,
      removalPolicy,
    });
    this.queue = new Queue(this, 'Queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod,
      maxMessageSizeBytes: this.maxMessageBytes,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(3),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      removalPolicy,
    });
  }
}
