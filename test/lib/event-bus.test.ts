/**
 * The event bus fan-out in the template: the bus (created or imported), its archive filtered to
 * the bridge's source, the consumer's environment and its PutEvents grant (that bus only), the
 * rules `onCrispEvent` makes, the alarm and outputs; the configuration's checks; cdk-nag.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type CrispBridgeConfig, configFromContext, validateConfig } from '../../lib/config';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { detailTypeMatchers } from '../../lib/constructs/crisp-event-bus';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const BASE: CrispBridgeProps = { websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };
const BUS_ARN = 'arn:aws:events:eu-west-1:123456789012:event-bus/shared';

function stackWith(extra: Partial<CrispBridgeProps>, env?: { account: string; region: string }): CrispBridgeStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new CrispBridgeStack(app, 'Support', { env, bridge: { ...BASE, ...extra } });
}

const consumerOf = (template: Template) => {
  const [id, fn] = Object.entries(template.findResources('AWS::Lambda::Function')).find(([logicalId]) => /^CrispBridgeConsumerFunction[0-9A-F]{8}$/.test(logicalId))!;
  return { id, fn: fn as { Properties: { Environment: { Variables: Record<string, unknown> }; Role: { 'Fn::GetAtt': [string, string] } } } };
};

/** Every IAM statement of the consumer's role granting `action`. */
function statementsFor(template: Template, action: string): Array<Record<string, unknown>> {
  const roleId = consumerOf(template).fn.Properties.Role['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => (policy.Properties.Roles as Array<{ Ref: string }>).some((role) => role.Ref === roleId))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>)
    .filter((statement) => ([] as unknown[]).concat(statement.Action).includes(action));
}

describe('eventBus: true', () => {
  const stack = stackWith({ eventBus: true });
  const template = Template.fromStack(stack);
  const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0]!;

  it('creates one bus named after the stack and an archive of the bridge\'s source, kept 30 days and retained', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'Support' });
    template.hasResource('AWS::Events::Archive', {
      Properties: { SourceArn: { 'Fn::GetAtt': [busId, 'Arn'] }, RetentionDays: 30, EventPattern: { source: ['crisp-bridge.Support'] } },
      DeletionPolicy: 'Retain',
    });
    expect(stack.bridge.eventBus).toBe(stack.bridge.events!.bus);
  });

  it('tells the consumer BUS_NAME and EVENT_SOURCE, and grants PutEvents on that bus only', () => {
    expect(consumerOf(template).fn.Properties.Environment.Variables).toMatchObject({ BUS_NAME: { Ref: busId }, EVENT_SOURCE: 'crisp-bridge.Support' });
    const statements = statementsFor(template, 'events:PutEvents');
    expect(statements).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [busId, 'Arn'] } })]);
    // No PutEvents anywhere on "*", nor any other events: action for the consumer.
    const all = JSON.stringify(template.toJSON());
    expect(all).not.toMatch(/"events:\*"/);
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>) {
        if ([statement.Action].flat().some((action) => action.startsWith('events:'))) expect(statement.Resource).not.toBe('*');
      }
    }
  });

  it('outputs the bus name and ARN and the archive name', () => {
    template.hasOutput('EventBusName', { Value: { Ref: busId } });
    template.hasOutput('EventBusArn', { Value: { 'Fn::GetAtt': [busId, 'Arn'] } });
    template.hasOutput('EventArchiveName', { Value: { Ref: Object.keys(template.findResources('AWS::Events::Archive'))[0] } });
  });

  it('alarms on EventPublishFailed on the bridge\'s alarm topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'EventPublishFailed',
      Namespace: 'CrispBridge/Support',
      Dimensions: [{ Name: 'service', Value: 'consumer' }],
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('AlarmTopic') }],
    });
    expect(stack.bridge.monitoring.alarms.some((alarm) => alarm.node.path.includes('PublishFailedAlarm'))).toBe(true);
  });
});

describe('onCrispEvent', () => {
  const rules = (build: (bridge: CrispBridge, stack: Stack) => void) => {
    const stack = stackWith({ eventBus: true });
    build(stack.bridge, stack);
    const template = Template.fromStack(stack);
    return { template, patterns: Object.values(template.findResources('AWS::Events::Rule')).map((rule) => rule.Properties.EventPattern) };
  };

  it('an exact namespace, a prefix, a list, "*", and websiteIds become the rule\'s pattern on the bus', () => {
    const { template, patterns } = rules((bridge, stack) => {
      const queue = new Queue(stack, 'Target', { enforceSSL: true });
      bridge.onCrispEvent('Sends', 'message:send', new SqsQueue(queue));
      bridge.onCrispEvent('Sessions', 'session:*', new SqsQueue(queue), { websiteIds: [WEBSITE_ID], description: 'session changes of the shop' });
      bridge.onCrispEvent('Mixed', ['message:send', 'people:*'], new SqsQueue(queue));
      bridge.onCrispEvent('All', '*', new SqsQueue(queue));
    });
    expect(patterns).toEqual([
      { source: ['crisp-bridge.Support'], 'detail-type': ['message:send'] },
      { source: ['crisp-bridge.Support'], 'detail-type': [{ prefix: 'session:' }], detail: { website_id: [WEBSITE_ID] } },
      { source: ['crisp-bridge.Support'], 'detail-type': ['message:send', { prefix: 'people:' }] },
      { source: ['crisp-bridge.Support'] },
    ]);
    const busId = Object.keys(template.findResources('AWS::Events::EventBus'))[0]!;
    template.allResourcesProperties('AWS::Events::Rule', { EventBusName: { Ref: busId } });
    template.hasResourceProperties('AWS::Events::Rule', { Description: 'session changes of the shop', Targets: [Match.objectLike({ Id: 'Target0' })] });
  });

  it('refuses a bad pattern or website id, and throws a clear error without the bus', () => {
    const stack = stackWith({ eventBus: true });
    const queue = new SqsQueue(new Queue(stack, 'Target'));
    expect(() => stack.bridge.onCrispEvent('Bad', 'Message:Send', queue)).toThrow(/not an event namespace/);
    expect(() => stack.bridge.onCrispEvent('None', [], queue)).toThrow(/at least one/);
    expect(() => stack.bridge.onCrispEvent('Site', 'message:send', queue, { websiteIds: ['shop'] })).toThrow(/not a Crisp website ID/);
    const off = stackWith({});
    expect(() => off.bridge.onCrispEvent('Sends', 'message:send', new SqsQueue(new Queue(off, 'T')))).toThrow(/needs the event bus: set eventBus: true/);
    expect(off.bridge.eventBus).toBeUndefined();
  });

  it('detailTypeMatchers: exact, prefix, "*" means no filter, duplicates once', () => {
    expect(detailTypeMatchers(['message:send', 'message:send', 'session:*'])).toEqual(['message:send', { prefix: 'session:' }]);
    expect(detailTypeMatchers(['message:send', '*'])).toBeUndefined();
  });
});

describe('an existing bus (ARN), a source and a retention of its own', () => {
  const stack = stackWith({ eventBus: BUS_ARN, eventSource: 'com.example.crisp', eventArchiveRetentionDays: 0 }, { account: '123456789012', region: 'eu-west-1' });
  const template = Template.fromStack(stack);

  it('creates no bus; archives that one, indefinitely; grants PutEvents on it only', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const archive = Object.values(template.findResources('AWS::Events::Archive'))[0]!.Properties;
    expect(archive).toMatchObject({ SourceArn: BUS_ARN, EventPattern: { source: ['com.example.crisp'] } });
    expect(archive.RetentionDays ?? 0).toBe(0);
    expect(statementsFor(template, 'events:PutEvents')).toEqual([expect.objectContaining({ Resource: BUS_ARN })]);
    expect(consumerOf(template).fn.Properties.Environment.Variables).toMatchObject({ BUS_NAME: BUS_ARN, EVENT_SOURCE: 'com.example.crisp' });
  });

  it('refuses a bus of another account or region', () => {
    expect(() => stackWith({ eventBus: BUS_ARN }, { account: '123456789012', region: 'us-east-1' })).toThrow(/stack's own account and region/);
  });
});

describe('configuration', () => {
  const check = (extra: Partial<CrispBridgeConfig>) => () => validateConfig({ ...BASE, ...extra });

  it.each<[string, Partial<CrispBridgeConfig>, RegExp]>([
    ['a bus that is not an ARN', { eventBus: 'my-bus' }, /"eventBus".*neither true nor an event bus ARN/],
    ['an ARN of another service', { eventBus: 'arn:aws:sqs:eu-west-1:123456789012:queue' }, /"eventBus"/],
    ['a source in the aws. namespace', { eventBus: true, eventSource: 'aws.crisp' }, /"eventSource".*reserved for AWS/],
    ['a source with spaces', { eventBus: true, eventSource: 'crisp bridge' }, /"eventSource"/],
    ['a retention not whole', { eventBus: true, eventArchiveRetentionDays: 1.5 }, /"eventArchiveRetentionDays"/],
    ['a negative retention', { eventBus: true, eventArchiveRetentionDays: -1 }, /"eventArchiveRetentionDays"/],
    ['a source without the bus', { eventSource: 'com.example.crisp' }, /"eventSource": is set but eventBus is not/],
    ['a retention without the bus', { eventArchiveRetentionDays: 7 }, /"eventArchiveRetentionDays": is set but eventBus is not/],
    ['the bus without the hooks', { eventBus: true, hooks: false }, /hooks are off/],
  ])('refuses %s', (_name, extra, message) => {
    expect(check(extra)).toThrow(message);
  });

  it('accepts true, false, an ARN, a source and 0 days', () => {
    expect(check({ eventBus: true, eventSource: 'com.example.crisp', eventArchiveRetentionDays: 0 })).not.toThrow();
    expect(check({ eventBus: false })).not.toThrow();
    expect(check({ eventBus: BUS_ARN, eventArchiveRetentionDays: 365 })).not.toThrow();
  });

  it('reads the keys from CDK context (strings from -c, JSON values from cdk.json)', () => {
    const context = (values: Record<string, unknown>) => configFromContext((key) => ({ websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: 'app', ...values })[key]);
    expect(context({ eventBus: 'true', eventArchiveRetentionDays: '7' })).toMatchObject({ eventBus: true, eventArchiveRetentionDays: 7 });
    expect(context({ eventBus: true, eventSource: 'com.example.crisp' })).toMatchObject({ eventBus: true, eventSource: 'com.example.crisp' });
    expect(context({ eventBus: BUS_ARN })).toMatchObject({ eventBus: BUS_ARN });
    expect(context({ eventBus: 'false' })).toMatchObject({ eventBus: false });
    expect(() => context({ eventBus: 'yes' })).toThrow(/"eventBus"/);
  });

  it('reserves BUS_NAME and EVENT_SOURCE from the handlers\' settings', () => {
    expect(check({ handlers: { entry: __filename, environment: { BUS_NAME: 'x' } } })).toThrow(/"BUS_NAME" is reserved/);
  });
});

describe('cdk-nag AwsSolutions with the bus', () => {
  it.each<[string, Partial<CrispBridgeProps>]>([
    ['a bus of its own', { eventBus: true }],
    ['an existing bus', { eventBus: BUS_ARN }],
  ])('finds nothing unacknowledged with %s and a rule', (_name, extra) => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const stack = new CrispBridgeStack(app, 'CrispBridge', { env: { account: '123456789012', region: 'eu-west-1' }, bridge: { ...BASE, ...extra } });
    const dlq = new Queue(stack, 'SubscriberDlq', { enforceSSL: true });
    Validations.of(dlq).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'it is the dead-letter queue' });
    const queue = new Queue(stack, 'Subscriber', { enforceSSL: true, deadLetterQueue: { queue: dlq, maxReceiveCount: 3 } });
    stack.bridge.onCrispEvent('ToQueue', 'message:*', new SqsQueue(queue));
    expect(() => app.synth()).not.toThrow();
  });
});
