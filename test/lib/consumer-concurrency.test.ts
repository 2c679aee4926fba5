/**
 * consumerMaxConcurrency: the SQS event source's maximum concurrency, the consumer's throughput
 * knob (docs/capacity.md): 5 by default, set from props or context, refused outside 2–1000.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { configFromContext } from '../../lib/config';
import type { CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { configError } from '../support/config-error';

function maximumConcurrency(overrides: Partial<CrispBridgeProps> = {}): unknown {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(new CrispBridgeStack(app, 'Concurrency', { bridge: { ticketCenter: false, ...overrides } }));
  const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Array<{ Properties: { ScalingConfig?: { MaximumConcurrency?: number } } }>;
  expect(mappings).toHaveLength(1);
  return mappings[0]!.Properties.ScalingConfig?.MaximumConcurrency;
}

test('5 concurrent batches by default; consumerMaxConcurrency sets it', () => {
  expect(maximumConcurrency()).toBe(5);
  expect(maximumConcurrency({ consumerMaxConcurrency: 50 })).toBe(50);
});

test('read from context (-c consumerMaxConcurrency=50, cdk.json)', () => {
  const context: Record<string, string> = { ticketCenter: 'false', consumerMaxConcurrency: '50' };
  expect(configFromContext((key) => context[key]).consumerMaxConcurrency).toBe(50);
});

test.each([1, 1001, 2.5, -5])('refuses %p, naming consumerMaxConcurrency', (value) => {
  expect(configError(() => maximumConcurrency({ consumerMaxConcurrency: value })).key).toBe('consumerMaxConcurrency');
});
