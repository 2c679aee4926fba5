import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { SECRET_PLACEHOLDER_PREFIX } from '../../functions/commons/placeholder';
import { startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { startSqsEmulator } from '../../scripts/local/emulators/sqs';
import { opensslHmacSha256 } from '../support/openssl';

const execFileAsync = promisify(execFile);

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const OTHER_WEBSITE_ID = '8c842203-7ed8-4e29-a608-7cf78a7d2fcc';
const BRIDGE: CrispBridgeProps = {
  websiteId: WEBSITE_ID,
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
};
const ROUTE_KEY = 'GET /ticket-center/url';
const HOOK_ROUTE_KEY = 'POST /hooks/crisp';
const WEBSITE_HOOK_ROUTE_KEY = 'POST /hooks/crisp/website';
const COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc-AbCdEf';
const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc';
const HOOK_COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook-GhIjKl';
const HOOK_PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook';
const EXPECTED_ENV_KEYS = [
  'METRICS_NAMESPACE',
  'NODE_OPTIONS',
  'CRISP_WEBSITE_ID',
  'EMAIL_CLAIM',
  'REQUIRE_EMAIL_VERIFIED',
  'LOWERCASE_EMAIL',
  'SECRET_REFRESH_SECONDS',
  'TICKET_CENTER_SECRET_ID',
];

// Logical-id prefixes (CDK appends an 8-character hash) of the resources the tests tell apart.
const TICKET_CENTER_FUNCTION = 'CrispBridgeTicketCenterFunction';
const HOOK_RECEIVER_FUNCTION = 'CrispBridgeHookReceiverFunction';
const TICKET_CENTER_SECRET = 'CrispBridgeTicketCenterTicketCenterSecret';
const HOOK_SECRET = 'CrispBridgeHookReceiverHookSecret';
const WEBSITE_HOOK_KEY = 'CrispBridgeHookReceiverWebsiteHookKeySecret';
const HOOK_QUEUE = 'CrispBridgeHookQueue';
const HOOK_DLQ = 'CrispBridgeHookQueueDeadLetterQueue';
const CONSUMER_FUNCTION = 'CrispBridgeConsumerFunction';
const DEDUPE_TABLE = 'CrispBridgeDedupeTable';
/** The metrics namespace of the stack `Test` (CrispBridge/<stack name>), written out. */
const NAMESPACE = 'CrispBridge/Test';

const FUNCTION = 'AWS::Lambda::Function';
const SECRET = 'AWS::SecretsManager::Secret';
const QUEUE = 'AWS::SQS::Queue';
const ROUTE = 'AWS::ApiGatewayV2::Route';

type Json = Record<string, unknown>;

/** The stack, synthesized without bundling (fast): for assertions on the template only. */
function build(overrides: Partial<CrispBridgeProps> = {}): { stack: CrispBridgeStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CrispBridgeStack(app, 'Test', { bridge: { ...BRIDGE, ...overrides } });
  return { stack, template: Template.fromStack(stack) };
}

/** The one resource of `type`, with its logical id. */
function single(template: Template, type: string): { id: string; properties: Json } {
  const entries = Object.entries(template.findResources(type));
  expect(entries).toHaveLength(1);
  const [id, resource] = entries[0]!;
  return { id, properties: ((resource as Json).Properties ?? {}) as Json };
}

/** Logical ids of the resources of `type` whose id is `prefix` plus CDK's 8-character hash. */
function idsOf(template: Template, type: string, prefix: string): string[] {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  return Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
}

/** The one resource of `type` whose logical id is `prefix` plus the hash. */
function named(template: Template, type: string, prefix: string): { id: string; properties: Json } {
  const ids = idsOf(template, type, prefix);
  expect(ids).toHaveLength(1);
  const id = ids[0]!;
  return { id, properties: ((template.toJSON().Resources as Json)[id] as Json).Properties as Json };
}

function functionProps(template: Template, prefix = TICKET_CENTER_FUNCTION): Json {
  return named(template, FUNCTION, prefix).properties;
}

function functionEnv(template: Template, prefix = TICKET_CENTER_FUNCTION): Json {
  return ((functionProps(template, prefix).Environment as Json).Variables ?? {}) as Json;
}

/**
 * Statements of the IAM policies attached to the function's role, except the one that lets it
 * write its own logs: that one is checked here to be exactly CreateLogStream + PutLogEvents on
 * the function's own log group (the role has no AWS managed policy).
 */
function functionRoleStatements(template: Template, prefix = TICKET_CENTER_FUNCTION): Json[] {
  const fn = functionProps(template, prefix);
  const role = fn.Role as { 'Fn::GetAtt': [string, string] };
  const roleId = role['Fn::GetAtt'][0];
  expect(((template.toJSON().Resources as Json)[roleId] as Json & { Properties: Json }).Properties.ManagedPolicyArns).toBeUndefined();
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } }));
  expect(policies).toHaveLength(1);
  const statements = (policies[0] as Json & { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument.Statement;
  const logGroupId = ((fn.LoggingConfig as Json).LogGroup as { Ref: string }).Ref;
  const logs = statements.filter((statement) => JSON.stringify(statement.Action).includes('logs:'));
  expect(logs).toEqual([
    { Effect: 'Allow', Action: expect.arrayContaining(['logs:CreateLogStream', 'logs:PutLogEvents']), Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
  ]);
  expect(logs[0]!.Action).toHaveLength(2);
  return statements.filter((statement) => !logs.includes(statement));
}

/** Expects `actual` to hold exactly `expected`, in any order. */
function expectSameStatements(actual: Json[], expected: Json[]): void {
  expect(actual).toHaveLength(expected.length);
  expect(actual).toEqual(expect.arrayContaining(expected));
}

/** `Fn::Join` with an empty separator, as text; other intrinsics become `${...}`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joined).join(join[0]);
  return '${' + JSON.stringify(value) + '}';
}

/** `${...}` as `joined` renders a `Ref` to `id`. */
const refText = (id: string): string => `\${${JSON.stringify({ Ref: id })}}`;

/** Every value of a key named `name`, anywhere in `node`. */
function valuesOfKey(node: unknown, name: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((item) => valuesOfKey(item, name));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === name ? [value, ...valuesOfKey(value, name)] : valuesOfKey(value, name)));
}

function routeKeys(template: Template): string[] {
  return Object.values(template.findResources(ROUTE)).map((route) => ((route as Json).Properties as Json).RouteKey as string);
}

/** The route with `routeKey`. */
function route(template: Template, routeKey: string): Json {
  const routes = Object.values(template.findResources(ROUTE, { Properties: { RouteKey: routeKey } }));
  expect(routes).toHaveLength(1);
  return (routes[0] as Json).Properties as Json;
}

/** Logical id of the function a route's integration invokes. */
function routeTargetFunction(template: Template, routeKey: string): string {
  const target = joined(route(template, routeKey).Target);
  const integrationId = /^integrations\/\$\{\{"Ref":"(\w+)"\}\}$/.exec(target)?.[1];
  expect(integrationId).toBeDefined();
  const integration = (template.toJSON().Resources as Json)[integrationId!] as { Properties: { IntegrationUri: { 'Fn::GetAtt': [string, string] } } };
  expect(integration.Properties.IntegrationUri['Fn::GetAtt'][1]).toBe('Arn');
  return integration.Properties.IntegrationUri['Fn::GetAtt'][0];
}

function outputValue(template: Template, name: string): unknown {
  const outputs = template.findOutputs(name);
  expect(Object.keys(outputs)).toEqual([name]);
  return (outputs[name] as Json).Value;
}

// Protects: the signer is reachable only through API Gateway's JWT authorizer, with the configured issuer and audience.
describe('route and JWT authorizer', () => {
  const { template } = build();

  it('puts GET /ticket-center/url behind the JWT authorizer', () => {
    const authorizer = single(template, 'AWS::ApiGatewayV2::Authorizer');
    template.hasResourceProperties(ROUTE, {
      RouteKey: ROUTE_KEY,
      AuthorizationType: 'JWT',
      AuthorizerId: { Ref: authorizer.id },
    });
  });

  it('trusts exactly the configured issuer and audience, from the Authorization header', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://issuer.example.com/', Audience: ['app'] },
    });
  });

  it('exposes no route other than the contract’s', () => {
    expect(routeKeys(template).sort()).toEqual([ROUTE_KEY, HOOK_ROUTE_KEY].sort());
    expect(routeKeys(build({ websiteHooks: false }).template).sort()).toEqual([ROUTE_KEY, HOOK_ROUTE_KEY].sort());
  });

  it('adds POST /hooks/crisp/website, and nothing else, with websiteHooks', () => {
    expect(routeKeys(build({ websiteHooks: true }).template).sort()).toEqual([ROUTE_KEY, HOOK_ROUTE_KEY, WEBSITE_HOOK_ROUTE_KEY].sort());
  });
});

// Protects: the hook routes carry no API Gateway authorizer (the receiver authenticates the body itself), and each route reaches its own function.
describe('hook routes', () => {
  const { template } = build({ websiteHooks: true });

  it.each([HOOK_ROUTE_KEY, WEBSITE_HOOK_ROUTE_KEY])('%s has AuthorizationType NONE and no authorizer', (routeKey) => {
    const properties = route(template, routeKey);
    expect(properties.AuthorizationType).toBe('NONE');
    expect(properties.AuthorizerId).toBeUndefined();
  });

  it('keeps the JWT authorizer on the ticket-center route', () => {
    const authorizer = single(template, 'AWS::ApiGatewayV2::Authorizer');
    expect(route(template, ROUTE_KEY)).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizer.id } });
  });

  it('sends the hook routes to the receiver and the ticket-center route to the signer', () => {
    const receiver = named(template, FUNCTION, HOOK_RECEIVER_FUNCTION).id;
    const signer = named(template, FUNCTION, TICKET_CENTER_FUNCTION).id;
    expect(routeTargetFunction(template, HOOK_ROUTE_KEY)).toBe(receiver);
    expect(routeTargetFunction(template, WEBSITE_HOOK_ROUTE_KEY)).toBe(receiver);
    expect(routeTargetFunction(template, ROUTE_KEY)).toBe(signer);
  });
});

// Protects: the functions run on the intended runtime, architecture and structured logging.
describe('functions', () => {
  const { template } = build();

  it.each([
    ['signer', TICKET_CENTER_FUNCTION],
    ['hook receiver', HOOK_RECEIVER_FUNCTION],
  ])('the %s runs Node.js 24 on arm64 with JSON logs', (_name, prefix) => {
    expect(functionProps(template, prefix)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      LoggingConfig: expect.objectContaining({ LogFormat: 'JSON' }),
      Handler: 'index.handler',
    });
  });

  it('tells the two functions apart (different code, different roles)', () => {
    const signer = functionProps(template, TICKET_CENTER_FUNCTION);
    const receiver = functionProps(template, HOOK_RECEIVER_FUNCTION);
    expect(receiver.Role).not.toEqual(signer.Role);
    expect(receiver.Description).toMatch(/hook/i);
    expect(signer.Description).toMatch(/Ticket Center/);
  });
});

// Protects: least privilege — the signer may read the Ticket Center secret and nothing else.
describe('function permissions', () => {
  it('grants only secretsmanager:GetSecretValue, on the created secret', () => {
    const { template } = build();
    const secret = named(template, SECRET, TICKET_CENTER_SECRET);
    const statements = functionRoleStatements(template);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret.id } });
  });

  it('gives the signer nothing of the hook receiver’s (with websiteHooks)', () => {
    const { template } = build({ websiteHooks: true });
    const secret = named(template, SECRET, TICKET_CENTER_SECRET);
    expect(functionRoleStatements(template)).toEqual([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret.id } }]);
  });

  it.each([
    ['a created secret', {}],
    ['an imported complete ARN', { ticketCenterSecretArn: COMPLETE_ARN }],
    ['an imported partial ARN', { ticketCenterSecretArn: PARTIAL_ARN }],
    ['CORS on', { allowedOrigins: ['https://app.example.com'] }],
    ['Website Hooks on', { websiteHooks: true }],
    ['an imported complete hook secret ARN', { hookSecretArn: HOOK_COMPLETE_ARN }],
    ['an imported partial hook secret ARN', { hookSecretArn: HOOK_PARTIAL_ARN }],
  ])('has no wildcard resource or action in any IAM policy (%s)', (_name, overrides: Partial<CrispBridgeProps>) => {
    const { template } = build(overrides);
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) {
      const statements = valuesOfKey(policy, 'Statement').flat() as Json[];
      for (const statement of statements) {
        expect(JSON.stringify(statement.Resource)).not.toContain('*');
        expect(JSON.stringify(statement.Action)).not.toContain('*');
        expect(statement.NotAction).toBeUndefined();
        expect(statement.NotResource).toBeUndefined();
      }
    }
  });

  it('grants an imported complete ARN, and creates no secret', () => {
    const { template } = build({ ticketCenterSecretArn: COMPLETE_ARN });
    expect(idsOf(template, SECRET, TICKET_CENTER_SECRET)).toEqual([]);
    // The only secret left is the hook signing secret.
    expect(single(template, SECRET).id).toBe(named(template, SECRET, HOOK_SECRET).id);
    // '...:secret:crisp/tc-AbCdEf' could also be the partial ARN of a secret named 'crisp/tc-AbCdEf':
    // both readings are granted, and nothing else.
    expect(functionRoleStatements(template)).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [COMPLETE_ARN, `${COMPLETE_ARN}-??????`] },
    ]);
    expect(functionEnv(template).TICKET_CENTER_SECRET_ID).toBe(COMPLETE_ARN);
  });

  it('grants a partial ARN whose name ends like a suffix ("ticket-center") with the wildcard suffix too', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/ticket-center';
    const { template } = build({ ticketCenterSecretArn: arn });
    expect(functionRoleStatements(template)).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [arn, `${arn}-??????`] },
    ]);
  });

  it('matches the 6-character suffix of an imported partial ARN, and only that', () => {
    const { template } = build({ ticketCenterSecretArn: PARTIAL_ARN });
    expect(idsOf(template, SECRET, TICKET_CENTER_SECRET)).toEqual([]);
    const statements = functionRoleStatements(template);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toBe('secretsmanager:GetSecretValue');
    const resource = joined(statements[0]!.Resource);
    expect(resource).toBe(`${PARTIAL_ARN}-??????`);
    expect(resource.endsWith('-??????')).toBe(true);
    expect(functionEnv(template).TICKET_CENTER_SECRET_ID).toBe(PARTIAL_ARN);
  });
});

// Protects: least privilege — the receiver may read its secrets and send to its queue, nothing else (no receive, delete or purge).
describe('hook receiver permissions', () => {
  const sendToQueue = (queueId: string): Json => ({ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [queueId, 'Arn'] } });
  const readSecret = (resource: unknown): Json => ({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: resource });

  it('grants GetSecretValue on the hook secret and SendMessage on the hook queue, nothing else', () => {
    const { template } = build();
    const secret = named(template, SECRET, HOOK_SECRET);
    const queue = named(template, QUEUE, HOOK_QUEUE);
    expectSameStatements(functionRoleStatements(template, HOOK_RECEIVER_FUNCTION), [readSecret({ Ref: secret.id }), sendToQueue(queue.id)]);
  });

  it('adds GetSecretValue on the Website Hook key, and only that, with websiteHooks', () => {
    const { template } = build({ websiteHooks: true });
    const secret = named(template, SECRET, HOOK_SECRET);
    const key = named(template, SECRET, WEBSITE_HOOK_KEY);
    const queue = named(template, QUEUE, HOOK_QUEUE);
    expectSameStatements(functionRoleStatements(template, HOOK_RECEIVER_FUNCTION), [
      readSecret({ Ref: secret.id }),
      readSecret({ Ref: key.id }),
      sendToQueue(queue.id),
    ]);
  });

  it.each([false, true])('uses sqs:SendMessage (a string) as its only SQS action, and no "*" resource (websiteHooks %s)', (websiteHooks) => {
    const { template } = build({ websiteHooks });
    const statements = functionRoleStatements(template, HOOK_RECEIVER_FUNCTION);
    const sqsStatements = statements.filter((statement) => JSON.stringify(statement.Action).includes('sqs:'));
    expect(sqsStatements).toHaveLength(1);
    expect(sqsStatements[0]!.Action).toBe('sqs:SendMessage');
    expect(sqsStatements[0]!.Resource).toEqual({ 'Fn::GetAtt': [named(template, QUEUE, HOOK_QUEUE).id, 'Arn'] });
    for (const statement of statements) {
      expect(statement.Effect).toBe('Allow');
      expect(JSON.stringify(statement.Resource)).not.toContain('*');
      expect(JSON.stringify(statement.Action)).not.toContain('*');
      expect(statement.Condition).toBeUndefined();
    }
  });

  it('grants an imported complete hook secret ARN (both readings), and creates no hook secret', () => {
    const { template } = build({ hookSecretArn: HOOK_COMPLETE_ARN });
    expect(idsOf(template, SECRET, HOOK_SECRET)).toEqual([]);
    expect(single(template, SECRET).id).toBe(named(template, SECRET, TICKET_CENTER_SECRET).id);
    const queue = named(template, QUEUE, HOOK_QUEUE);
    expectSameStatements(functionRoleStatements(template, HOOK_RECEIVER_FUNCTION), [
      readSecret([HOOK_COMPLETE_ARN, `${HOOK_COMPLETE_ARN}-??????`]),
      sendToQueue(queue.id),
    ]);
    expect(functionEnv(template, HOOK_RECEIVER_FUNCTION).HOOK_SECRET_ID).toBe(HOOK_COMPLETE_ARN);
    expect(outputValue(template, 'HookSecretArn')).toBe(HOOK_COMPLETE_ARN);
  });

  it('grants an imported partial hook secret ARN with the 6-character suffix only', () => {
    const { template } = build({ hookSecretArn: HOOK_PARTIAL_ARN });
    expect(idsOf(template, SECRET, HOOK_SECRET)).toEqual([]);
    const queue = named(template, QUEUE, HOOK_QUEUE);
    expectSameStatements(functionRoleStatements(template, HOOK_RECEIVER_FUNCTION), [readSecret(`${HOOK_PARTIAL_ARN}-??????`), sendToQueue(queue.id)]);
    expect(functionEnv(template, HOOK_RECEIVER_FUNCTION).HOOK_SECRET_ID).toBe(HOOK_PARTIAL_ARN);
  });
});

// Protects: accepted hooks are durable and private — encrypted at rest, TLS only, failures kept in a DLQ, size limit explicit.
describe('hook queue', () => {
  const { template } = build();
  const queues = (): Array<[string, string]> => [
    ['queue', HOOK_QUEUE],
    ['dead-letter queue', HOOK_DLQ],
  ];

  it('creates exactly the hook queue and its dead-letter queue', () => {
    const ids = Object.keys(template.findResources(QUEUE)).sort();
    expect(ids).toEqual([named(template, QUEUE, HOOK_QUEUE).id, named(template, QUEUE, HOOK_DLQ).id].sort());
  });

  it.each(queues())('encrypts the %s with SSE-SQS', (_name, prefix) => {
    expect(named(template, QUEUE, prefix).properties.SqsManagedSseEnabled).toBe(true);
  });

  it.each(queues())('denies every non-TLS request to the %s', (_name, prefix) => {
    const queue = named(template, QUEUE, prefix);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: Match.arrayWith([{ Ref: queue.id }]) } }));
    expect(policies).toHaveLength(1);
    const statements = valuesOfKey(policies[0], 'Statement').flat() as Json[];
    expect(statements).toContainEqual({
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'sqs:*',
      Resource: { 'Fn::GetAtt': [queue.id, 'Arn'] },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    // Nothing in a queue policy grants access: the receiver's role does, for SendMessage only.
    expect(statements.filter((statement) => statement.Effect !== 'Deny')).toEqual([]);
  });

  it('sends messages that keep failing to the dead-letter queue after 5 receives', () => {
    const dlq = named(template, QUEUE, HOOK_DLQ);
    expect(named(template, QUEUE, HOOK_QUEUE).properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq.id, 'Arn'] },
      maxReceiveCount: 5,
    });
    expect(dlq.properties.RedrivePolicy).toBeUndefined();
  });

  it.each(queues())('sets the %s’s maximum message size explicitly to 262144 bytes', (_name, prefix) => {
    expect(named(template, QUEUE, prefix).properties.MaximumMessageSize).toBe(262144);
  });

  it('tells the receiver the queue’s size limit (its 413 threshold)', () => {
    const queue = named(template, QUEUE, HOOK_QUEUE);
    expect(functionEnv(template, HOOK_RECEIVER_FUNCTION).MAX_MESSAGE_BYTES).toBe(String(queue.properties.MaximumMessageSize));
  });

  it.each(queues())('keeps messages in the %s for 14 days', (_name, prefix) => {
    expect(named(template, QUEUE, prefix).properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });
});

// Protects: the receiver knows where to queue and what to check, gets secrets as ARNs only, and only the configured filters.
describe('hook receiver environment', () => {
  it('has exactly the expected variables by default, secrets and queue as Refs', () => {
    const { template } = build();
    const env = functionEnv(template, HOOK_RECEIVER_FUNCTION);
    expect(env).toEqual({
      METRICS_NAMESPACE: NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
      HOOK_QUEUE_URL: { Ref: named(template, QUEUE, HOOK_QUEUE).id },
      HOOK_SECRET_ID: { Ref: named(template, SECRET, HOOK_SECRET).id },
      HOOK_MAX_AGE_SECONDS: '3600',
      MAX_MESSAGE_BYTES: '262144',
      HOOK_EVENTS: '',
      HOOK_WEBSITE_IDS: '',
    });
    expect(env.WEBSITE_HOOK_KEY_ID).toBeUndefined();
  });

  it('passes the Website Hook key as an ARN (Ref) with websiteHooks', () => {
    const { template } = build({ websiteHooks: true });
    expect(functionEnv(template, HOOK_RECEIVER_FUNCTION).WEBSITE_HOOK_KEY_ID).toEqual({ Ref: named(template, SECRET, WEBSITE_HOOK_KEY).id });
  });

  it('passes the configured filters and freshness window', () => {
    const { template } = build({ hookEvents: ['message:send', 'session:*'], hookWebsiteIds: [WEBSITE_ID, OTHER_WEBSITE_ID], hookMaxAgeSeconds: 600 });
    expect(functionEnv(template, HOOK_RECEIVER_FUNCTION)).toMatchObject({
      HOOK_EVENTS: 'message:send,session:*',
      HOOK_WEBSITE_IDS: `${WEBSITE_ID},${OTHER_WEBSITE_ID}`,
      HOOK_MAX_AGE_SECONDS: '600',
    });
  });

  it.each([false, true])('puts no secret value in any function’s environment (websiteHooks %s)', (websiteHooks) => {
    const { template } = build({ websiteHooks });
    const secretIds = Object.keys(template.findResources(SECRET));
    for (const prefix of [TICKET_CENTER_FUNCTION, HOOK_RECEIVER_FUNCTION, CONSUMER_FUNCTION]) {
      const env = functionEnv(template, prefix);
      const text = JSON.stringify(env);
      expect(text).not.toContain('resolve:secretsmanager');
      expect(text).not.toContain('SecretString');
      expect(text).not.toContain(SECRET_PLACEHOLDER_PREFIX);
      for (const value of Object.values(env)) {
        if (typeof value === 'string') continue;
        // Intrinsics only as a Ref: to a secret (its ARN), a queue (its URL) or the dedupe table (its name).
        expect(Object.keys(value as Json)).toEqual(['Ref']);
        expect([...secretIds, named(template, QUEUE, HOOK_QUEUE).id, named(template, QUEUE, HOOK_DLQ).id, named(template, 'AWS::DynamoDB::Table', DEDUPE_TABLE).id]).toContain(
          (value as Json).Ref,
        );
      }
    }
  });
});

// Protects: the hook routes have their own throttle (Crisp bursts), the rest keeps the stage default.
describe('hook route throttling', () => {
  const stageRouteSettings = (template: Template): Json => (single(template, 'AWS::ApiGatewayV2::Stage').properties.RouteSettings ?? {}) as Json;

  it('throttles POST /hooks/crisp at 100 rps, burst 200, and only the hook routes get route settings', () => {
    const { template } = build();
    expect(stageRouteSettings(template)).toEqual({ [HOOK_ROUTE_KEY]: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 } });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    });
  });

  it('throttles POST /hooks/crisp/website the same way with websiteHooks', () => {
    const { template } = build({ websiteHooks: true });
    expect(stageRouteSettings(template)).toEqual({
      [HOOK_ROUTE_KEY]: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      [WEBSITE_HOOK_ROUTE_KEY]: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
    });
  });
});

// Protects: no secret value ever lands in the template; the functions get the secrets' ARNs only.
describe('secret handling', () => {
  const { template } = build();

  it.each([
    ['Ticket Center secret', TICKET_CENTER_SECRET],
    ['hook signing secret', HOOK_SECRET],
  ])('creates the %s with the placeholder, not a value', (_name, prefix) => {
    const secret = named(template, SECRET, prefix);
    expect(String(secret.properties.SecretString).startsWith(SECRET_PLACEHOLDER_PREFIX)).toBe(true);
    expect(secret.properties.GenerateSecretString).toBeUndefined();
  });

  it.each([false, true])('has no SecretString in the whole template other than the two placeholders (websiteHooks %s)', (websiteHooks) => {
    const { template } = build({ websiteHooks });
    const values = valuesOfKey(template.toJSON(), 'SecretString');
    expect(values).toHaveLength(2);
    for (const value of values) {
      expect(typeof value).toBe('string');
      expect((value as string).startsWith(SECRET_PLACEHOLDER_PREFIX)).toBe(true);
    }
    const withValue = Object.entries(template.findResources(SECRET))
      .filter(([, resource]) => ((resource as Json).Properties as Json).SecretString !== undefined)
      .map(([id]) => id);
    expect(withValue.sort()).toEqual([named(template, SECRET, TICKET_CENTER_SECRET).id, named(template, SECRET, HOOK_SECRET).id].sort());
  });

  it('generates the Website Hook key at deploy time (GenerateSecretString, no SecretString), long and URL-safe', () => {
    const { template } = build({ websiteHooks: true });
    const key = named(template, SECRET, WEBSITE_HOOK_KEY);
    expect(key.properties.SecretString).toBeUndefined();
    const generate = key.properties.GenerateSecretString as Json;
    expect(generate).toBeDefined();
    expect(generate.PasswordLength).toBeGreaterThanOrEqual(32);
    expect(generate.ExcludePunctuation).toBe(true);
    expect(generate.IncludeSpace).not.toBe(true);
  });

  it('creates no Website Hook key without websiteHooks', () => {
    expect(idsOf(template, SECRET, WEBSITE_HOOK_KEY)).toEqual([]);
    expect(Object.keys(template.findResources(SECRET))).toHaveLength(2);
  });

  it('gives the function only the expected environment, and the secret as an ARN (Ref)', () => {
    const secret = named(template, SECRET, TICKET_CENTER_SECRET);
    const env = functionEnv(template);
    expect(Object.keys(env).sort()).toEqual([...EXPECTED_ENV_KEYS].sort());
    expect(env.TICKET_CENTER_SECRET_ID).toEqual({ Ref: secret.id });
    expect(env).toMatchObject({
      METRICS_NAMESPACE: NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
      CRISP_WEBSITE_ID: WEBSITE_ID,
      EMAIL_CLAIM: 'email',
      REQUIRE_EMAIL_VERIFIED: 'true',
      LOWERCASE_EMAIL: 'false',
      SECRET_REFRESH_SECONDS: '300',
    });
  });
});

// Protects: browsers may call the API only from the configured origins; no origins means no CORS at all.
describe('CORS', () => {
  it('allows exactly the configured origins', () => {
    const { template } = build({ allowedOrigins: ['https://app.example.com'] });
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com'] }),
    });
  });

  it('has no CORS configuration without origins', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.absent() });
  });
});

// Protects: the API is throttled by default (abuse and cost), and the limits can be tuned.
describe('throttling', () => {
  it('throttles the $default stage at 50 rps, burst 100, by default', () => {
    const { template } = build();
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 }),
    });
  });

  it('uses the configured limits', () => {
    const { template } = build({ throttleRateLimit: 5, throttleBurstLimit: 10 });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 }),
    });
  });
});

/** Checks a `read -rs` + `put-secret-value` command for the secret whose ARN renders as `secretId`. */
function expectSilentPutCommand(command: string, secretId: string): void {
  expect(command).toContain('aws secretsmanager put-secret-value');
  expect(command).toContain('--secret-id');
  expect(command).toContain('read -rs');
  expect(command).toContain(`--secret-id ${secretId}`);
  // The value comes only from the variable `read -rs` filled, never from the template, and reaches
  // the CLI on standard input (never as an argument, which any user can read in the process list).
  const variable = /read -rs (\w+)/.exec(command)?.[1];
  expect(variable).toBeDefined();
  expect(command).toContain(`printf '%s' "$${variable}" | aws secretsmanager put-secret-value`);
  expect(command).toContain('--secret-string file:///dev/stdin');
  expect(command).not.toContain(`--secret-string "$${variable}"`);
  expect(command).not.toContain(SECRET_PLACEHOLDER_PREFIX);
}

// Protects: the operator gets what they need next, and the set-secret commands never carry a value.
describe('outputs', () => {
  const { template } = build();

  const OUTPUTS = [
    'ApiUrl',
    'TicketCenterUrlEndpoint',
    'TicketCenterSecretArn',
    'SetTicketCenterSecretCommand',
    'HookUrl',
    'HookSecretArn',
    'SetHookSecretCommand',
    'HookQueueUrl',
    'HookDeadLetterQueueUrl',
    'DedupeTableName',
    'ConsumerFunctionName',
    'AlarmTopicArn',
    'DashboardUrl',
    'MetricsNamespace',
  ];

  it.each(OUTPUTS)('has the %s output', (name) => {
    template.hasOutput(name, {});
  });

  it('has no output beyond those (and no WebsiteHookUrlCommand without websiteHooks)', () => {
    expect(Object.keys(template.toJSON().Outputs as Json).sort()).toEqual([...OUTPUTS].sort());
  });

  it('names the consumer function and the stack’s metrics namespace', () => {
    expect(outputValue(template, 'ConsumerFunctionName')).toEqual({ Ref: named(template, FUNCTION, CONSUMER_FUNCTION).id });
    expect(outputValue(template, 'MetricsNamespace')).toBe(NAMESPACE);
    expect(outputValue(template, 'DedupeTableName')).toEqual({ Ref: named(template, 'AWS::DynamoDB::Table', DEDUPE_TABLE).id });
  });

  it('gives a put-secret-value command that reads the value from the terminal, silently', () => {
    const secret = named(template, SECRET, TICKET_CENTER_SECRET);
    expectSilentPutCommand(joined(outputValue(template, 'SetTicketCenterSecretCommand')), refText(secret.id));
  });

  it('gives the hook URL to paste into Crisp: the API URL + hooks/crisp', () => {
    const url = joined(outputValue(template, 'HookUrl'));
    expect(url.endsWith('/hooks/crisp')).toBe(true);
    expect(url).toBe(`${joined(outputValue(template, 'ApiUrl'))}hooks/crisp`);
    expect(url.startsWith('https://')).toBe(true);
  });

  it('gives the hook secret’s ARN and a silent command to set it', () => {
    const secret = named(template, SECRET, HOOK_SECRET);
    expect(outputValue(template, 'HookSecretArn')).toEqual({ Ref: secret.id });
    expectSilentPutCommand(joined(outputValue(template, 'SetHookSecretCommand')), refText(secret.id));
  });

  it('gives the queue and dead-letter queue URLs', () => {
    expect(outputValue(template, 'HookQueueUrl')).toEqual({ Ref: named(template, QUEUE, HOOK_QUEUE).id });
    expect(outputValue(template, 'HookDeadLetterQueueUrl')).toEqual({ Ref: named(template, QUEUE, HOOK_DLQ).id });
  });

  it('has no WebsiteHookUrlCommand without websiteHooks', () => {
    expect(template.findOutputs('WebsiteHookUrlCommand')).toEqual({});
    expect(build({ websiteHooks: false }).template.findOutputs('WebsiteHookUrlCommand')).toEqual({});
  });

  it('with websiteHooks, gives a command that prints the Website Hook URL with the key read from Secrets Manager', () => {
    const { template: withWebsite } = build({ websiteHooks: true });
    const key = named(withWebsite, SECRET, WEBSITE_HOOK_KEY);
    const command = joined(outputValue(withWebsite, 'WebsiteHookUrlCommand'));
    expect(command).toContain('/hooks/crisp/website?key=');
    expect(command).toContain(`${joined(outputValue(withWebsite, 'ApiUrl'))}hooks/crisp/website?key=$(`);
    expect(command).toContain('aws secretsmanager get-secret-value');
    expect(command).toContain(`--secret-id ${refText(key.id)}`);
    expect(command).toContain('--query SecretString --output text');
  });
});

// Protects: turning off the email_verified check is visible (a synth warning), and forwarded to the function.
describe('requireEmailVerified', () => {
  it('is on by default, without a warning', () => {
    const { stack, template } = build();
    expect(functionEnv(template).REQUIRE_EMAIL_VERIFIED).toBe('true');
    Annotations.fromStack(stack).hasNoWarning('*', Match.stringLikeRegexp('requireEmailVerified'));
  });

  it('when false, passes "false" to the function and warns at synth', () => {
    const { stack, template } = build({ requireEmailVerified: false });
    expect(functionEnv(template).REQUIRE_EMAIL_VERIFIED).toBe('false');
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('requireEmailVerified'));
  });
});

// Protects: an invalid configuration stops synth, naming the prop.
describe('configuration validation', () => {
  it('throws on an empty websiteId, naming it', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    expect(() => new CrispBridgeStack(app, 'Test', { bridge: { ...BRIDGE, websiteId: '' } })).toThrow(/websiteId/);
  });

  // A replayed hook older than its dedupe record would be processed twice.
  it('the CrispBridge construct throws, naming hookMaxAgeSeconds, when it exceeds the dedupe lifetime', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
    expect(() => new CrispBridge(stack, 'Bridge', { ...BRIDGE, hookMaxAgeSeconds: 7200, dedupeTtlHours: 1 })).toThrow(/hookMaxAgeSeconds/);
  });

  it('accepts hookMaxAgeSeconds equal to the dedupe lifetime', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
    expect(() => new CrispBridge(stack, 'Bridge', { ...BRIDGE, hookMaxAgeSeconds: 3600, dedupeTtlHours: 1 })).not.toThrow();
  });
});

// Protects: the deployed bundles are small and actually work: real esbuild bundles, run against emulators.
describe('real bundle', () => {
  let assemblyDir: string;
  let template: Template;

  beforeAll(() => {
    const app = new App();
    const stack = new CrispBridgeStack(app, 'Test', { bridge: BRIDGE });
    assemblyDir = app.synth().directory;
    template = Template.fromStack(stack);
  }, 120_000);

  /** The bundled function of `prefix`: its asset folder and `index.mjs`. */
  function bundleOf(prefix: string): { assetDir: string; bundle: string } {
    const s3Key = (functionProps(template, prefix).Code as { S3Key: string }).S3Key;
    const hash = s3Key.replace(/\.zip$/, '');
    const assetDir = path.join(assemblyDir, `asset.${hash}`);
    return { assetDir, bundle: path.join(assetDir, 'index.mjs') };
  }

  function awsEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', ...extra };
    delete env.AWS_PROFILE;
    delete env.AWS_SESSION_TOKEN;
    return env;
  }

  /** Runs the bundle's handler on each event, in one process, and returns the results. */
  async function invoke(bundle: string, events: unknown[], env: NodeJS.ProcessEnv): Promise<Array<{ statusCode: number; body: string }>> {
    const script = [
      `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
      `const results = [];`,
      `for (const event of ${JSON.stringify(events)}) results.push(await handler(event, { awsRequestId: 'x' }));`,
      `console.log(JSON.stringify(results));`,
    ].join('\n');
    // Async: the emulators answer from this process's event loop.
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env });
    const lastLine = stdout.trim().split('\n').pop() ?? '';
    return JSON.parse(lastLine) as Array<{ statusCode: number; body: string }>;
  }

  it.each([
    ['signer', TICKET_CENTER_FUNCTION],
    ['hook receiver', HOOK_RECEIVER_FUNCTION],
  ])('bundles the %s under 1 MB', (_name, prefix) => {
    const { assetDir, bundle } = bundleOf(prefix);
    expect(existsSync(bundle)).toBe(true);
    const size = readdirSync(assetDir).reduce((total, file) => total + statSync(path.join(assetDir, file)).size, 0);
    expect(size).toBeLessThan(1024 * 1024);
  });

  // A stack trace in production points at a source line: each bundle ships its source map (file
  // names and lines only: the sources themselves stay out of the deployed package).
  it.each([
    ['signer', TICKET_CENTER_FUNCTION],
    ['hook receiver', HOOK_RECEIVER_FUNCTION],
    ['consumer', CONSUMER_FUNCTION],
  ])('ships the %s with a source map next to it, without the sources', (_name, prefix) => {
    const { bundle } = bundleOf(prefix);
    const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sources.length).toBeGreaterThan(0);
    expect(map.sourcesContent).toBeUndefined();
    expect(readFileSync(bundle, 'utf8').trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    expect(functionEnv(template, prefix).NODE_OPTIONS).toBe('--enable-source-maps');
  });

  // Without `handlers`, the consumer runs the shipped example module (test/lib/handlers-stack.test.ts
  // checks that a handler module of one's own replaces it).
  it('bundles the shipped example handlers into the consumer when no handlers are given', () => {
    const code = readFileSync(bundleOf(CONSUMER_FUNCTION).bundle, 'utf8');
    expect(code).toContain('VisitorMessages');
  });

  it('gives the two functions different bundles', () => {
    expect(bundleOf(TICKET_CENTER_FUNCTION).assetDir).not.toBe(bundleOf(HOOK_RECEIVER_FUNCTION).assetDir);
  });

  it('signs a URL whose hmac matches openssl (the Ticket Center function)', async () => {
    const { bundle } = bundleOf(TICKET_CENTER_FUNCTION);
    const emulator = await startSecretsManagerEmulator({ tc: 'bundle-secret' });
    try {
      const email = 'bundle+test@example.com';
      const event = {
        version: '2.0',
        routeKey: ROUTE_KEY,
        rawPath: '/ticket-center/url',
        rawQueryString: '',
        headers: {},
        isBase64Encoded: false,
        requestContext: { http: { method: 'GET', path: '/ticket-center/url' }, authorizer: { jwt: { claims: { email, email_verified: 'true' }, scopes: null } } },
      };
      const [result] = await invoke(
        bundle,
        [event],
        awsEnv({ AWS_ENDPOINT_URL_SECRETS_MANAGER: emulator.endpoint, CRISP_WEBSITE_ID: WEBSITE_ID, TICKET_CENTER_SECRET_ID: emulator.arnOf('tc') }),
      );
      expect(result!.statusCode).toBe(200);
      const url = new URL((JSON.parse(result!.body) as { url: string }).url);
      expect(url.searchParams.get('email')).toBe(email);
      expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256('bundle-secret', email));
      expect(emulator.calls).toEqual([{ action: 'GetSecretValue', secretId: emulator.arnOf('tc') }]);
    } finally {
      await emulator.close();
    }
  }, 60_000);

  it('queues a hook signed as Crisp signs it (openssl) and refuses the same hook with one byte changed (the hook receiver)', async () => {
    const { bundle } = bundleOf(HOOK_RECEIVER_FUNCTION);
    const secrets = await startSecretsManagerEmulator({ hook: 'bundle-hook-secret' });
    const sqs = await startSqsEmulator();
    try {
      const timestamp = String(Date.now());
      const body = JSON.stringify({ website_id: WEBSITE_ID, event: 'message:send', data: { content: 'hello' }, timestamp: Number(timestamp) });
      const signature = opensslHmacSha256('bundle-hook-secret', `[${timestamp};${body}]`);
      const hookEvent = (rawBody: string) => ({
        version: '2.0',
        routeKey: HOOK_ROUTE_KEY,
        rawPath: '/hooks/crisp',
        rawQueryString: '',
        headers: { 'content-type': 'application/json', 'x-crisp-signature': signature, 'x-crisp-request-timestamp': timestamp },
        body: rawBody,
        isBase64Encoded: false,
        requestContext: { http: { method: 'POST', path: '/hooks/crisp' } },
      });
      const [accepted, forged] = await invoke(
        bundle,
        [hookEvent(body), hookEvent(body.replace('hello', 'hellp'))],
        awsEnv({
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
          AWS_ENDPOINT_URL_SQS: sqs.endpoint,
          HOOK_QUEUE_URL: sqs.queueUrl,
          HOOK_SECRET_ID: secrets.arnOf('hook'),
          MAX_MESSAGE_BYTES: '262144',
        }),
      );
      expect(accepted!.statusCode).toBe(200);
      expect(JSON.parse(accepted!.body)).toEqual({ ok: true });
      expect(forged!.statusCode).toBe(401);
      const received = await sqs.client.send(new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      expect((received.Messages ?? []).map((message) => message.Body)).toEqual([body]);
      expect(secrets.calls.every((call) => call.action === 'GetSecretValue' && call.secretId === secrets.arnOf('hook'))).toBe(true);
    } finally {
      await sqs.close();
      await secrets.close();
    }
  }, 60_000);
});
