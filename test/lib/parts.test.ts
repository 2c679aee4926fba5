/**
 * The parts you choose: `ticketCenter: false` (hooks only) and `hooks: false` (Ticket Center
 * only). What is left out must be absent from the template (a route, a secret, a function, a
 * grant that is not there cannot be misused or misconfigured), the settings of a part that is off
 * are refused by name, and each reduced stack passes cdk-nag on its own.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CrispBridgeConfigError } from '../../lib/config';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { configError } from '../support/config-error';

type Json = Record<string, unknown>;

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const TICKET_CENTER: CrispBridgeProps = { websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };
const HOOKS_ONLY: CrispBridgeProps = { ticketCenter: false };
const TICKET_CENTER_ONLY: CrispBridgeProps = { ...TICKET_CENTER, hooks: false };

const FUNCTION = 'AWS::Lambda::Function';
const SECRET = 'AWS::SecretsManager::Secret';
const ROUTE = 'AWS::ApiGatewayV2::Route';

// Logical-id prefixes (CDK appends an 8-character hash).
const SIGNER = 'CrispBridgeTicketCenterFunction';
const RECEIVER = 'CrispBridgeHookReceiverFunction';
const CONSUMER = 'CrispBridgeConsumerFunction';
const TICKET_CENTER_SECRET = 'CrispBridgeTicketCenterTicketCenterSecret';
const HOOK_SECRET = 'CrispBridgeHookReceiverHookSecret';
const WEBSITE_HOOK_KEY = 'CrispBridgeHookReceiverWebsiteHookKeySecret';

/** The outputs of each part (the common ones: ApiUrl, AlarmTopicArn, DashboardUrl, MetricsNamespace). */
const COMMON_OUTPUTS = ['ApiUrl', 'AlarmTopicArn', 'DashboardUrl', 'MetricsNamespace'];
const TICKET_CENTER_OUTPUTS = ['TicketCenterUrlEndpoint', 'TicketCenterSecretArn', 'SetTicketCenterSecretCommand'];
const HOOK_OUTPUTS = ['HookUrl', 'HookSecretArn', 'SetHookSecretCommand', 'HookQueueUrl', 'HookDeadLetterQueueUrl', 'DedupeTableName', 'ConsumerFunctionName'];

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

function build(bridge: CrispBridgeProps): { stack: CrispBridgeStack; template: Template; resources: Record<string, Json & { Type: string; Properties?: Json }> } {
  const stack = new CrispBridgeStack(newApp(), 'Parts', { bridge });
  const template = Template.fromStack(stack);
  return { stack, template, resources: template.toJSON().Resources };
}

/** Logical ids of the resources of `type`, with the hash stripped (`CrispBridgeHookQueue`). */
function prefixesOf(template: Template, type: string): string[] {
  return Object.keys(template.findResources(type))
    .map((id) => id.replace(/[0-9A-F]{8}$/, ''))
    .sort();
}

function routeKeys(template: Template): string[] {
  return Object.values(template.findResources(ROUTE))
    .map((route) => ((route as Json).Properties as Json).RouteKey as string)
    .sort();
}

/** Every IAM statement attached to the role of the function `prefix`. */
function roleStatements(template: Template, resources: Record<string, Json & { Properties?: Json }>, prefix: string): Json[] {
  const [fnId] = Object.keys(template.findResources(FUNCTION)).filter((id) => id.replace(/[0-9A-F]{8}$/, '') === prefix);
  const roleId = ((resources[fnId!]!.Properties as Json).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .map((policy) => (policy as Json).Properties as { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Json[] } })
    .filter((policy) => policy.Roles.some((role) => role.Ref === roleId))
    .flatMap((policy) => policy.PolicyDocument.Statement);
}

/** The dashboard body, as text (intrinsics included). */
function dashboardText(template: Template): string {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  return JSON.stringify(((dashboard as Json).Properties as Json).DashboardBody);
}


/** Builds a CrispBridge with `props` in a fresh stack; returns the configuration error it throws. */
function refusal(props: CrispBridgeProps): CrispBridgeConfigError {
  return configError(() => new CrispBridge(new Stack(newApp(), 'Refused'), 'CrispBridge', props));
}

// Protects: a hooks-only deployment (no JWT settings given) has no JWT authorizer, no Ticket Center secret, function or route.
describe('hooks only (ticketCenter: false)', () => {
  const { stack, template, resources } = build(HOOKS_ONLY);

  it('synthesizes without websiteId, jwtIssuer or jwtAudience', () => {
    expect(stack.bridge.ticketCenter).toBeUndefined();
    expect(stack.bridge.ticketCenterUrlEndpoint).toBeUndefined();
    expect(stack.bridge.hooks).toBeDefined();
    expect(stack.bridge.consumer).toBe(stack.bridge.hooks!.consumer);
  });

  it('has no JWT authorizer and no Ticket Center route: only the Plugin Hook route', () => {
    expect(template.findResources('AWS::ApiGatewayV2::Authorizer')).toEqual({});
    expect(routeKeys(template)).toEqual(['POST /hooks/crisp']);
    for (const route of Object.values(template.findResources(ROUTE))) {
      expect(((route as Json).Properties as Json).AuthorizationType).toBe('NONE');
    }
  });

  it('has exactly the receiver and the consumer as functions (no signer)', () => {
    expect(prefixesOf(template, FUNCTION)).toEqual([CONSUMER, RECEIVER].sort());
    for (const fn of Object.values(template.findResources(FUNCTION))) {
      const variables = (((fn as Json).Properties as Json).Environment as { Variables: Json }).Variables;
      expect(Object.keys(variables)).not.toContain('CRISP_WEBSITE_ID');
      expect(Object.keys(variables)).not.toContain('TICKET_CENTER_SECRET_ID');
    }
  });

  it('creates the hook signing secret only (no Ticket Center secret)', () => {
    expect(prefixesOf(template, SECRET)).toEqual([HOOK_SECRET]);
  });

  it('keeps the whole hook pipeline: queue and dead-letter queue, dedupe table, event source', () => {
    expect(prefixesOf(template, 'AWS::SQS::Queue')).toEqual(['CrispBridgeHookQueue', 'CrispBridgeHookQueueDeadLetterQueue']);
    expect(prefixesOf(template, 'AWS::DynamoDB::Table')).toEqual(['CrispBridgeDedupeTable']);
    expect(Object.keys(template.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(1);
  });

  it('outputs nothing of the Ticket Center', () => {
    expect(Object.keys(template.toJSON().Outputs as Json).sort()).toEqual([...COMMON_OUTPUTS, ...HOOK_OUTPUTS].sort());
  });

  it('alarms on and graphs no signer', () => {
    const alarmIds = prefixesOf(template, 'AWS::CloudWatch::Alarm');
    expect(alarmIds.filter((id) => id.includes('Signer'))).toEqual([]);
    expect(alarmIds).toEqual(expect.arrayContaining(['CrispBridgeMonitoringReceiverErrors', 'CrispBridgeMonitoringConsumerErrors']));
    expect(dashboardText(template)).not.toContain('TicketCenterUrl');
  });

  it('gives no function a grant on a Ticket Center secret', () => {
    const hookSecretId = Object.keys(template.findResources(SECRET))[0]!;
    for (const prefix of [RECEIVER, CONSUMER]) {
      const secretGrants = roleStatements(template, resources, prefix).filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'));
      expect(secretGrants).toEqual(prefix === RECEIVER ? [{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: hookSecretId } }] : []);
    }
  });

  it('adds the Website Hook route and key, and still no Ticket Center part, with websiteHooks', () => {
    const { template: withWebsite } = build({ ...HOOKS_ONLY, websiteHooks: true });
    expect(routeKeys(withWebsite)).toEqual(['POST /hooks/crisp', 'POST /hooks/crisp/website']);
    expect(prefixesOf(withWebsite, SECRET)).toEqual([HOOK_SECRET, WEBSITE_HOOK_KEY].sort());
    expect(withWebsite.findResources('AWS::ApiGatewayV2::Authorizer')).toEqual({});
  });
});

// Protects: a Ticket-Center-only deployment has no queue, table, receiver, consumer or hook route (nothing unauthenticated is exposed).
describe('Ticket Center only (hooks: false)', () => {
  const { stack, template, resources } = build(TICKET_CENTER_ONLY);

  it('exposes no hooks part', () => {
    expect(stack.bridge.hooks).toBeUndefined();
    expect(stack.bridge.consumer).toBeUndefined();
    expect(stack.bridge.ticketCenter).toBeDefined();
  });

  it('creates no SQS queue, no DynamoDB table and no event source', () => {
    expect(template.findResources('AWS::SQS::Queue')).toEqual({});
    expect(template.findResources('AWS::SQS::QueuePolicy')).toEqual({});
    expect(template.findResources('AWS::DynamoDB::Table')).toEqual({});
    expect(template.findResources('AWS::Lambda::EventSourceMapping')).toEqual({});
  });

  it('has the signer as its only function, and no hook secret', () => {
    expect(prefixesOf(template, FUNCTION)).toEqual([SIGNER]);
    expect(prefixesOf(template, SECRET)).toEqual([TICKET_CENTER_SECRET]);
  });

  it('has only the Ticket Center route, behind the JWT authorizer', () => {
    expect(routeKeys(template)).toEqual(['GET /ticket-center/url']);
    const [authorizerId] = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(authorizerId).toBeDefined();
    template.hasResourceProperties(ROUTE, { RouteKey: 'GET /ticket-center/url', AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    // No per-route throttle for hook routes that do not exist.
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    expect(((stage as Json).Properties as Json).RouteSettings).toBeUndefined();
  });

  it('lets the signer read its secret, and do nothing else (no SQS, no DynamoDB)', () => {
    const secretId = Object.keys(template.findResources(SECRET))[0]!;
    const statements = roleStatements(template, resources, SIGNER).filter((statement) => !JSON.stringify(statement.Action).includes('logs:'));
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } }]);
  });

  it('outputs nothing of the hooks', () => {
    expect(Object.keys(template.toJSON().Outputs as Json).sort()).toEqual([...COMMON_OUTPUTS, ...TICKET_CENTER_OUTPUTS].sort());
  });

  it('has no queue alarm, no hook metric filter and no hook graph', () => {
    const alarmIds = prefixesOf(template, 'AWS::CloudWatch::Alarm');
    expect(alarmIds.sort()).toEqual(['CrispBridgeMonitoringApiServerErrors', 'CrispBridgeMonitoringSignerErrors', 'CrispBridgeMonitoringSignerThrottles'].sort());
    expect(template.findResources('AWS::Logs::MetricFilter')).toEqual({});
    const dashboard = dashboardText(template);
    for (const name of ['HookAccepted', 'EventProcessed', 'AWS/SQS']) expect(dashboard).not.toContain(name);
    expect(dashboard).toContain('TicketCenterUrlSigned');
  });
});

// Protects: a configuration that deploys nothing, or sets what a part that is off would use, stops synth naming the problem.
describe('refused combinations', () => {
  it('refuses both parts off, saying there is nothing to deploy', () => {
    const error = refusal({ ticketCenter: false, hooks: false });
    expect(error.key).toBe('hooks');
    expect(error.message).toMatch(/both ticketCenter and hooks are off/);
  });

  it('still requires the JWT settings when the Ticket Center is on (hooks: false)', () => {
    const error = refusal({ hooks: false, websiteId: WEBSITE_ID });
    expect(error.key).toBe('jwtIssuer');
  });

  it.each<[string, Partial<CrispBridgeProps>]>([
    ['jwtIssuer', { jwtIssuer: 'https://issuer.example.com/' }],
    ['jwtAudience', { jwtAudience: ['app'] }],
    ['emailClaim', { emailClaim: 'email' }],
    ['requireEmailVerified', { requireEmailVerified: true }],
    ['lowercaseEmail', { lowercaseEmail: false }],
    ['allowedOrigins', { allowedOrigins: ['https://app.example.com'] }],
    ['ticketCenterSecretArn', { ticketCenterSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc-AbCdEf' }],
  ])('refuses %s with ticketCenter: false, naming it', (key, extra) => {
    const error = refusal({ ...HOOKS_ONLY, ...extra });
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toContain('ticketCenter: false');
  });

  it.each<[string, Partial<CrispBridgeProps>]>([
    ['hookSecretArn', { hookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook-AbCdEf' }],
    ['websiteHooks', { websiteHooks: true }],
    ['dedupeTtlHours', { dedupeTtlHours: 24 }],
    ['hookMaxAgeSeconds', { hookMaxAgeSeconds: 600 }],
    ['hookEvents', { hookEvents: ['message:send'] }],
    ['hookWebsiteIds', { hookWebsiteIds: [WEBSITE_ID] }],
    ['hookThrottleRateLimit', { hookThrottleRateLimit: 10 }],
    ['hookThrottleBurstLimit', { hookThrottleBurstLimit: 20 }],
    ['handlers', { handlers: { entry: `${__dirname}/../fixtures/stack-handlers/handlers.ts` } }],
    ['consumerTimeout', { consumerTimeout: 60 }],
    ['maxReceiveCount', { maxReceiveCount: 3 }],
    ['visibilityTimeout', { visibilityTimeout: 600 }],
  ])('refuses %s with hooks: false, naming it', (key, extra) => {
    const error = refusal({ ...TICKET_CENTER_ONLY, ...extra });
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
    expect(error.message).toContain('hooks: false');
  });

  it('accepts each of those values with its part on (the refusal is about the part, not the value)', () => {
    expect(() =>
      new CrispBridge(new Stack(newApp(), 'Accepted'), 'CrispBridge', {
        ...TICKET_CENTER,
        emailClaim: 'email',
        requireEmailVerified: true,
        lowercaseEmail: false,
        allowedOrigins: ['https://app.example.com'],
        hookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook-AbCdEf',
        websiteHooks: true,
        dedupeTtlHours: 24,
        hookMaxAgeSeconds: 600,
        hookEvents: ['message:send'],
        hookWebsiteIds: [WEBSITE_ID],
        hookThrottleRateLimit: 10,
        hookThrottleBurstLimit: 20,
        handlers: { entry: `${__dirname}/../fixtures/stack-handlers/handlers.ts` },
        consumerTimeout: 60,
        maxReceiveCount: 3,
        visibilityTimeout: 600,
      }),
    ).not.toThrow();
  });
});

// Protects: each reduced stack passes the AwsSolutions checks on its own (an acknowledgement must not live only on a part that is off).
describe('cdk-nag AwsSolutions on each part alone', () => {
  it.each<[string, CrispBridgeProps]>([
    ['hooks only', HOOKS_ONLY],
    ['hooks only, with Website Hooks and an alarm email', { ...HOOKS_ONLY, websiteHooks: true, alarmEmail: 'ops@example.com' }],
    ['Ticket Center only', TICKET_CENTER_ONLY],
  ])('finds nothing unacknowledged in %s', (_name, bridge) => {
    const app = newApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new CrispBridgeStack(app, 'CrispBridge', { bridge });
    expect(() => app.synth()).not.toThrow();
  });
});
