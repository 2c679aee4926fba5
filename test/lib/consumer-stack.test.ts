/**
 * Stack tests for the consumer: the dedupe table, the SQS event source and the consumer's
 * permissions — the properties its exactly-once promise and its security rest on.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

function synth(extra: Record<string, unknown> = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CrispBridgeStack(app, 'Test', {
    bridge: { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'], ...extra },
  });
  return Template.fromStack(stack);
}

const template = synth();
const resources = (type: string) => Object.entries(template.findResources(type));
/** The logical id of the one resource of `type` whose id is `prefix` plus CDK's 8-character hash. */
const logicalId = (type: string, prefix: string): string => {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const found = resources(type).filter(([id]) => pattern.test(id));
  if (found.length !== 1) throw new Error(`expected one ${type} named ${prefix} + hash, found ${found.length}`);
  return found[0]![0];
};
const consumerFunctionId = logicalId('AWS::Lambda::Function', 'CrispBridgeConsumerFunction');
const tableId = logicalId('AWS::DynamoDB::Table', 'CrispBridgeDedupeTable');
const queueId = logicalId('AWS::SQS::Queue', 'CrispBridgeHookQueue');
const dlqId = logicalId('AWS::SQS::Queue', 'CrispBridgeHookQueueDeadLetterQueue');

// The dedupe table: on-demand, TTL on expiresAt, encrypted, backed up.
describe('dedupe table', () => {
  it('is keyed by pk, on-demand, with TTL on expiresAt, encrypted and with point-in-time recovery', () => {
    const table = template.toJSON().Resources[tableId].Properties;
    expect(table.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(table.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(table.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });
});

// The event source: partial batch responses, a bounded batch and concurrency, a visibility timeout well above the function's.
describe('consumer event source', () => {
  it('reports batch item failures, with batch size 10 and maximum concurrency 5', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: consumerFunctionId },
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('gives the queue a visibility timeout of six times the consumer timeout, and a DLQ after 5 receives', () => {
    const fn = template.toJSON().Resources[consumerFunctionId].Properties;
    const queue = template.toJSON().Resources[queueId].Properties;
    expect(fn.Timeout).toBe(30);
    expect(queue.VisibilityTimeout).toBe(6 * fn.Timeout);
    expect(queue.RedrivePolicy.maxReceiveCount).toBe(5);
  });
});

// The consumer function: runtime, configuration, and least privilege.
describe('consumer function', () => {
  it('runs Node.js 24 on arm64 with JSON logs, configured with the table, the dedupe lifetime and the dead-letter queue', () => {
    const fn = template.toJSON().Resources[consumerFunctionId].Properties;
    expect(fn.Runtime).toBe('nodejs24.x');
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.LoggingConfig.LogFormat).toBe('JSON');
    // Exactly these: no handler settings or secrets without `handlers`, and no secret value.
    expect(fn.Environment.Variables).toEqual({
      // Scoped to the stack ("Test"), so two deployments never share a metric.
      METRICS_NAMESPACE: 'CrispBridge/Test',
      NODE_OPTIONS: '--enable-source-maps',
      DEDUPE_TABLE_NAME: { Ref: tableId },
      DEDUPE_TTL_HOURS: '168',
      MAX_RECEIVE_COUNT: '5',
      // PermanentError sends the event here at once (the queue URL is its Ref).
      DEAD_LETTER_QUEUE_URL: { Ref: dlqId },
    });
  });

  it('passes dedupeTtlHours to the function', () => {
    const custom = synth({ dedupeTtlHours: 24 });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DEDUPE_TTL_HOURS: '24' }) },
    });
  });

  it('may only get and update items of the dedupe table, consume the hook queue and send to its dead-letter queue', () => {
    const roleRef = template.toJSON().Resources[consumerFunctionId].Properties.Role['Fn::GetAtt'][0];
    const policies = resources('AWS::IAM::Policy').filter(([, policy]) =>
      (policy as { Properties: { Roles: Array<{ Ref: string }> } }).Properties.Roles.some((role) => role.Ref === roleRef),
    );
    expect(policies).toHaveLength(1);
    const statements = (policies[0]![1] as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[] }> } } }).Properties.PolicyDocument.Statement.map(
      (statement) => ({ ...statement, Action: [statement.Action].flat().sort() }),
    );
    const logGroupId = template.toJSON().Resources[consumerFunctionId].Properties.LoggingConfig.LogGroup.Ref;
    const expected = [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [tableId, 'Arn'] } },
      // PermanentError: a copy goes to the dead-letter queue. Send only: no receive, delete or purge there.
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': [dlqId, 'Arn'] } },
      {
        Effect: 'Allow',
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      },
    ];
    // Exactly these statements, in any order.
    expect(statements).toHaveLength(expected.length);
    expect(statements).toEqual(expect.arrayContaining(expected));
  });

  it('may not send to the hook queue itself, nor consume the dead-letter queue', () => {
    const roleRef = template.toJSON().Resources[consumerFunctionId].Properties.Role['Fn::GetAtt'][0];
    const statements = resources('AWS::IAM::Policy')
      .filter(([, policy]) => (policy as { Properties: { Roles: Array<{ Ref: string }> } }).Properties.Roles.some((role) => role.Ref === roleRef))
      .flatMap(([, policy]) => (policy as { Properties: { PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } } }).Properties.PolicyDocument.Statement);
    const on = (id: string) => statements.filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify({ 'Fn::GetAtt': [id, 'Arn'] }));
    expect(on(queueId).flatMap((statement) => [statement.Action].flat())).not.toContain('sqs:SendMessage');
    expect(on(dlqId).flatMap((statement) => [statement.Action].flat())).toEqual(['sqs:SendMessage']);
  });
});
