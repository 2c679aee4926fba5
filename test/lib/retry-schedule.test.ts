/**
 * The retry schedule: the consumer's timeout, the hook queue's visibility timeout (the wait
 * before a failed event is retried) and the receives before the dead-letter queue. They must
 * agree: a visibility timeout shorter than the timeout lets SQS hand a message still being
 * processed to a second consumer.
 */
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CrispBridgeConfigError, configFromContext } from '../../lib/config';
import type { CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { configError } from '../support/config-error';

type Json = Record<string, unknown>;

interface Schedule {
  functionTimeout: unknown;
  visibilityTimeout: unknown;
  redrive: unknown;
  maxReceiveCountEnv: unknown;
  dlqAlarmDescription: string;
}

/** The values the schedule sets, read from a hooks-only stack's template. */
function schedule(overrides: Partial<CrispBridgeProps> = {}): Schedule {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(new CrispBridgeStack(app, 'Retry', { bridge: { ticketCenter: false, ...overrides } }));
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const one = (type: string, prefix: string) => {
    const ids = Object.keys(resources).filter((id) => resources[id]!.Type === type && new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
    expect(ids).toHaveLength(1);
    return { id: ids[0]!, properties: resources[ids[0]!]!.Properties };
  };
  const consumer = one('AWS::Lambda::Function', 'CrispBridgeConsumerFunction').properties;
  const queue = one('AWS::SQS::Queue', 'CrispBridgeHookQueue').properties;
  const dlq = one('AWS::SQS::Queue', 'CrispBridgeHookQueueDeadLetterQueue');
  expect((queue.RedrivePolicy as Json).deadLetterTargetArn).toEqual({ 'Fn::GetAtt': [dlq.id, 'Arn'] });
  return {
    functionTimeout: consumer.Timeout,
    visibilityTimeout: queue.VisibilityTimeout,
    redrive: (queue.RedrivePolicy as Json).maxReceiveCount,
    maxReceiveCountEnv: (consumer.Environment as { Variables: Json }).Variables.MAX_RECEIVE_COUNT,
    dlqAlarmDescription: one('AWS::CloudWatch::Alarm', 'CrispBridgeMonitoringDeadLetterQueueNotEmpty').properties.AlarmDescription as string,
  };
}

function refusal(overrides: Partial<CrispBridgeProps>): CrispBridgeConfigError {
  return configError(() => schedule(overrides));
}

// Protects: the defaults are the documented ones, and the consumer is told the same receive count the queue uses.
describe('default schedule', () => {
  const values = schedule();

  it('times the consumer out at 30 s, hides a received message for 180 s (6 × 30) and dead-letters after 5 receives', () => {
    expect(values).toMatchObject({ functionTimeout: 30, visibilityTimeout: 180, redrive: 5, maxReceiveCountEnv: '5' });
  });

  it('says "failed 5 times" in the dead-letter alarm', () => {
    expect(values.dlqAlarmDescription).toContain('failed 5 times');
  });
});

// Protects: custom values reach each resource that enforces them.
describe('custom schedule', () => {
  it('applies consumerTimeout, visibilityTimeout and maxReceiveCount', () => {
    const values = schedule({ consumerTimeout: 60, visibilityTimeout: 400, maxReceiveCount: 3 });
    expect(values).toMatchObject({ functionTimeout: 60, visibilityTimeout: 400, redrive: 3, maxReceiveCountEnv: '3' });
    expect(values.dlqAlarmDescription).toContain('failed 3 times');
  });

  it('derives the visibility timeout as 6 × a custom consumer timeout', () => {
    expect(schedule({ consumerTimeout: 45 })).toMatchObject({ functionTimeout: 45, visibilityTimeout: 270, redrive: 5 });
  });

  it('accepts Durations', () => {
    expect(schedule({ consumerTimeout: Duration.minutes(2), visibilityTimeout: Duration.minutes(15) })).toMatchObject({
      functionTimeout: 120,
      visibilityTimeout: 900,
    });
  });

  it('accepts a visibility timeout equal to the timeout, and Lambda’s maximum of 900 s', () => {
    expect(schedule({ consumerTimeout: 900, visibilityTimeout: 900 })).toMatchObject({ functionTimeout: 900, visibilityTimeout: 900 });
  });

  it('reads the same keys from CDK context (-c consumerTimeout=60 ...)', () => {
    const config = configFromContext((key) => ({ ticketCenter: 'false', consumerTimeout: '60', visibilityTimeout: '400', maxReceiveCount: '3' })[key]);
    expect(config).toMatchObject({ consumerTimeout: 60, visibilityTimeout: 400, maxReceiveCount: 3 });
  });
});

// Protects: a schedule that would process a message twice at once, or that AWS refuses at deploy, stops synth naming the key.
describe('refused schedules', () => {
  it('refuses a visibility timeout shorter than the consumer timeout', () => {
    const error = refusal({ consumerTimeout: 60, visibilityTimeout: 59 });
    expect(error.key).toBe('visibilityTimeout');
    expect(error.message).toContain('shorter than the consumer timeout');
  });

  it('refuses a visibility timeout shorter than the default consumer timeout (30 s)', () => {
    expect(refusal({ visibilityTimeout: 29 }).key).toBe('visibilityTimeout');
  });

  it('refuses a consumer timeout above 900 s (even when 6 × it would be computed)', () => {
    const error = refusal({ consumerTimeout: 901 });
    expect(error.key).toBe('consumerTimeout');
    expect(error.message).toContain('900');
  });

  it('refuses a visibility timeout above SQS’s 12 hours', () => {
    expect(refusal({ visibilityTimeout: 43_201 }).key).toBe('visibilityTimeout');
  });

  it.each<[string, Partial<CrispBridgeProps>]>([
    ['consumerTimeout', { consumerTimeout: 0 }],
    ['consumerTimeout', { consumerTimeout: 1.5 }],
    ['visibilityTimeout', { visibilityTimeout: -1 }],
    ['maxReceiveCount', { maxReceiveCount: 0 }],
    ['maxReceiveCount', { maxReceiveCount: 1001 }],
    ['maxReceiveCount', { maxReceiveCount: 2.5 }],
  ])('refuses a malformed %s (%j)', (key, overrides) => {
    expect(refusal(overrides).key).toBe(key);
  });

  it('refuses a Duration that is not a whole number of seconds, naming consumerTimeout', () => {
    expect(refusal({ consumerTimeout: Duration.millis(1500) }).key).toBe('consumerTimeout');
  });
});
