/**
 * Stack tests for monitoring and API hardening (issue 5, items 2-4): the alarms an operator is
 * woken by and where they go, the dashboard, the JSON access logs without query strings or
 * credentials, throttling by context, and least privilege with all of it switched on.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CrispBridgeConfigError, configFromContext, type CrispBridgeConfig } from '../../lib/config';
import type { CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

type Json = Record<string, unknown>;

const BRIDGE: CrispBridgeProps = {
  websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825',
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
};
const STACK_NAME = 'MonitoringTest';
/**
 * The bridge's CloudWatch namespace: `CrispBridge/<stack name>` by default, written out here (not
 * derived from STACK_NAME by the code under test) so a change of scheme shows up as a failure.
 */
const NAMESPACE = 'CrispBridge/MonitoringTest';

const FUNCTION = 'AWS::Lambda::Function';
const QUEUE = 'AWS::SQS::Queue';
const ALARM = 'AWS::CloudWatch::Alarm';
const TOPIC = 'AWS::SNS::Topic';
const STAGE = 'AWS::ApiGatewayV2::Stage';

// Logical-id prefixes (CDK appends an 8-character hash).
const FUNCTIONS = {
  signer: 'CrispBridgeTicketCenterFunction',
  receiver: 'CrispBridgeHookReceiverFunction',
  consumer: 'CrispBridgeConsumerFunction',
} as const;
const HOOK_QUEUE = 'CrispBridgeHookQueue';
const HOOK_DLQ = 'CrispBridgeHookQueueDeadLetterQueue';
const ALARM_TOPIC = 'CrispBridgeMonitoringAlarmTopic';
const HOOK_ROUTE_KEY = 'POST /hooks/crisp';
const WEBSITE_HOOK_ROUTE_KEY = 'POST /hooks/crisp/website';

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

function build(overrides: Partial<CrispBridgeProps> = {}): Template {
  const stack = new CrispBridgeStack(newApp(), STACK_NAME, { bridge: { ...BRIDGE, ...overrides } });
  return Template.fromStack(stack);
}

function resourcesOf(template: Template): Record<string, Json & { Type: string; Properties?: Json; DependsOn?: string[] }> {
  return template.toJSON().Resources as Record<string, Json & { Type: string; Properties?: Json; DependsOn?: string[] }>;
}

/** The logical id of the one resource of `type` whose id is `prefix` plus CDK's hash. */
function idOf(template: Template, type: string, prefix: string): string {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

/** The one resource of `type`, with its logical id and properties. */
function single(template: Template, type: string): { id: string; properties: Json } {
  const entries = Object.entries(template.findResources(type));
  expect(entries).toHaveLength(1);
  const [id, resource] = entries[0]!;
  return { id, properties: ((resource as Json).Properties ?? {}) as Json };
}

/** `Fn::Join` as text: string parts concatenated; other intrinsics become `${...}`. */
function joined(value: unknown, intrinsic: (node: unknown) => string = (node) => '${' + JSON.stringify(node) + '}'): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map((part) => joined(part, intrinsic)).join(join[0]);
  return intrinsic(value);
}

function outputValue(template: Template, name: string): unknown {
  const outputs = template.findOutputs(name);
  expect(Object.keys(outputs)).toEqual([name]);
  return (outputs[name] as Json).Value;
}

/** An alarm's metric, whether CDK rendered it flat (MetricName, ...) or as a one-metric `Metrics` array. */
interface AlarmMetric {
  namespace: string;
  metricName: string;
  dimensions: Array<{ Name: string; Value: unknown }>;
  period: number;
  statistic: string;
}

function alarmMetric(properties: Json): AlarmMetric {
  if (properties.MetricName !== undefined) {
    return {
      namespace: properties.Namespace as string,
      metricName: properties.MetricName as string,
      dimensions: (properties.Dimensions ?? []) as AlarmMetric['dimensions'],
      period: properties.Period as number,
      statistic: (properties.Statistic ?? properties.ExtendedStatistic) as string,
    };
  }
  const metrics = properties.Metrics as Array<{ ReturnData?: boolean; MetricStat?: { Metric: Json; Period: number; Stat: string } }>;
  const returned = metrics.filter((metric) => metric.ReturnData !== false);
  expect(returned).toHaveLength(1);
  const stat = returned[0]!.MetricStat;
  expect(stat).toBeDefined();
  return {
    namespace: stat!.Metric.Namespace as string,
    metricName: stat!.Metric.MetricName as string,
    dimensions: (stat!.Metric.Dimensions ?? []) as AlarmMetric['dimensions'],
    period: stat!.Period,
    statistic: stat!.Stat,
  };
}

interface MarkdownSection {
  title: string;
  level: number;
  /** Line of the heading, and the line where the section ends (the next heading of its level or above). */
  start: number;
  end: number;
  /** The section's text, its subsections included. */
  text: string;
}

/** Every heading of a Markdown document (outside fenced code) with the text of its section. */
function markdownSections(markdown: string): MarkdownSection[] {
  const lines = markdown.split('\n');
  const headings: Array<{ title: string; level: number; line: number }> = [];
  let fence: string | undefined;
  lines.forEach((line, index) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === undefined || fence === marker)) fence = fence === undefined ? marker : undefined;
    else if (fence === undefined) {
      const heading = /^(#{1,6}) +(.+?) *#*$/.exec(line);
      if (heading) headings.push({ title: heading[2]!.trim(), level: heading[1]!.length, line: index });
    }
  });
  return headings.map((heading, index) => {
    const next = headings.slice(index + 1).find((other) => other.level <= heading.level);
    const end = next ? next.line : lines.length;
    return { title: heading.title, level: heading.level, start: heading.line, end, text: lines.slice(heading.line, end).join('\n') };
  });
}

/** Properties of the one alarm on `namespace`/`metricName` with exactly `dimensions`. */
function alarmOn(template: Template, namespace: string, metricName: string, dimensions: Array<{ Name: string; Value: unknown }>): Json {
  const matches = Object.values(template.findResources(ALARM))
    .map((alarm) => (alarm as Json).Properties as Json)
    .filter((properties) => {
      const metric = alarmMetric(properties);
      return metric.namespace === namespace && metric.metricName === metricName && JSON.stringify(metric.dimensions) === JSON.stringify(dimensions);
    });
  expect(matches).toHaveLength(1);
  return matches[0]!;
}

// Protects: every failure mode the issue names wakes someone up, on the right resource, through the topic.
describe('alarms', () => {
  const template = build();
  const topicId = idOf(template, TOPIC, ALARM_TOPIC);
  const queueId = idOf(template, QUEUE, HOOK_QUEUE);
  const dlqId = idOf(template, QUEUE, HOOK_DLQ);
  const apiId = single(template, 'AWS::ApiGatewayV2::Api').id;

  it('alarms as soon as one message is visible in the dead-letter queue (not the main queue)', () => {
    const alarm = alarmOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(alarm.Threshold).toBe(1);
    expect(alarmMetric(alarm).statistic).toBe('Maximum');
  });

  it('alarms when the oldest message of the main queue is 300 s old or more', () => {
    const alarm = alarmOn(template, 'AWS/SQS', 'ApproximateAgeOfOldestMessage', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(alarm.Threshold).toBe(300);
    expect(alarmMetric(alarm).statistic).toBe('Maximum');
  });

  it.each(Object.entries(FUNCTIONS).flatMap(([name, prefix]) => [
    [name, 'Errors', prefix],
    [name, 'Throttles', prefix],
  ]))('alarms on the %s function’s %s, from the first one', (_name, metricName, prefix) => {
    const functionId = idOf(template, FUNCTION, prefix!);
    const alarm = alarmOn(template, 'AWS/Lambda', metricName!, [{ Name: 'FunctionName', Value: { Ref: functionId } }]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(alarm.Threshold).toBe(1);
    expect(alarmMetric(alarm).statistic).toBe('Sum');
  });

  it('alarms on one 5xx answer of the HTTP API', () => {
    const alarm = alarmOn(template, 'AWS/ApiGateway', '5xx', [{ Name: 'ApiId', Value: { Ref: apiId } }]);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(alarm.Threshold).toBe(1);
    expect(alarmMetric(alarm).statistic).toBe('Sum');
  });

  // The receiver's EMF lines always carry the dimension set [service] (reason is an extra set), so this matches what it emits.
  it('alarms on 20 rejected hooks in 5 minutes (CrispBridge/<stack> HookRejected, service=hook-receiver)', () => {
    const alarm = alarmOn(template, NAMESPACE, 'HookRejected', [{ Name: 'service', Value: 'hook-receiver' }]);
    const metric = alarmMetric(alarm);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(alarm.Threshold).toBe(20);
    expect(metric.period).toBe(300);
    expect(metric.statistic).toBe('Sum');
    expect(alarm.EvaluationPeriods).toBe(1);
  });

  // HTTP APIs publish no throttle metric: 429s on the hook routes are counted from the access logs.
  it('counts 429s on the hook routes from the access logs, and alarms on the first one', () => {
    const filters = Object.values(template.findResources('AWS::Logs::MetricFilter')).map((filter) => (filter as Json).Properties as Json);
    const throttled = filters.filter((filter) => JSON.stringify(filter.MetricTransformations).includes('HookThrottled'));
    expect(throttled).toHaveLength(1);
    const filter = throttled[0]!;
    expect(filter.FilterPattern).toBe('{ ($.status = "429") && ($.routeKey = "POST /hooks/crisp*") }');
    const accessLogs = (template.toJSON().Resources[single(template, STAGE).id].Properties as Json).AccessLogSettings as { DestinationArn: { 'Fn::GetAtt': [string, string] } };
    expect(filter.LogGroupName).toEqual({ Ref: accessLogs.DestinationArn['Fn::GetAtt'][0] });
    expect(filter.MetricTransformations).toEqual([{ MetricNamespace: NAMESPACE, MetricName: 'HookThrottled', MetricValue: '1' }]);
    const alarm = alarmOn(template, NAMESPACE, 'HookThrottled', []);
    expect(alarm.Threshold).toBe(1);
    expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect(alarmMetric(alarm).statistic).toBe('Sum');
  });

  it('makes every alarm quiet on missing data, notify the alarm topic on ALARM and OK, and say what to do', () => {
    const alarms = Object.values(template.findResources(ALARM)).map((alarm) => (alarm as Json).Properties as Json);
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      expect(alarm.TreatMissingData).toBe('notBreaching');
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.ActionsEnabled).not.toBe(false);
      expect(typeof alarm.AlarmDescription).toBe('string');
      expect(alarm.AlarmDescription as string).toMatch(/docs\/[\w-]+\.md|npm run |aws [a-z]|Logs Insights/);
    }
  });

  // An operator follows the description from the notification: what it points at must exist.
  // "README: Operations > Alarms, and what to do." names a path of headings, found in the README
  // or in a document of docs/ (there, the path starts at the document's title, its # heading);
  // the section it names must document that alarm, and every alarm is in the Operations table.
  it('points every alarm at documented sections and npm scripts that exist, which name the alarm', () => {
    const root = path.join(__dirname, '..', '..');
    const documents = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)].map((file) =>
      markdownSections(readFileSync(path.join(root, file), 'utf8')),
    );
    /** The text of the section at the end of `trail` (nested headings), in whichever document has it. */
    const sectionAt = (trail: string[]): string | undefined => {
      for (const sections of documents) {
        let candidates = sections;
        let found: MarkdownSection | undefined;
        for (const title of trail) {
          found = candidates.find((section) => section.title === title);
          if (!found) break;
          candidates = sections.filter((section) => section.start > found!.start && section.end <= found!.end && section.level > found!.level);
        }
        if (found) return found.text;
      }
      return undefined;
    };
    /** The section at the end of `trail` in one document (`docs/operations.md > Alarms, and what to do.`). */
    const sectionIn = (file: string, trail: string[]): string | undefined => {
      if (!existsSync(path.join(root, file))) return undefined;
      const sections = markdownSections(readFileSync(path.join(root, file), 'utf8'));
      let candidates = sections;
      let found: MarkdownSection | undefined;
      for (const title of trail) {
        found = candidates.find((section) => section.title === title);
        if (!found) return undefined;
        candidates = sections.filter((section) => section.start > found!.start && section.end <= found!.end && section.level > found!.level);
      }
      return found?.text;
    };
    const operationsTable = sectionAt(['Operations', 'Alarms, and what to do']);
    expect(operationsTable).toBeDefined();
    const scripts = Object.keys((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Json }).scripts);
    let references = 0;
    const alarms = Object.entries(template.findResources(ALARM));
    expect(alarms.length).toBeGreaterThan(0);
    for (const [logicalId, alarm] of alarms) {
      const name = /^CrispBridgeMonitoring(\w+)[0-9A-F]{8}$/.exec(logicalId)?.[1];
      expect(name).toBeDefined();
      expect(operationsTable).toContain(`\`${name}\``);
      const description = ((alarm as Json).Properties as Json).AlarmDescription as string;
      for (const [, file, section] of description.matchAll(/(docs\/[\w-]+\.md) > ([^.]+)\./g)) {
        references += 1;
        const text = sectionIn(file!, section!.split(' > ').map((heading) => heading.trim()));
        expect({ alarm: name, section, found: text !== undefined }).toEqual({ alarm: name, section, found: true });
        expect(text).toContain(name);
      }
      for (const [, script] of description.matchAll(/npm run ([\w:-]+)/g)) expect(scripts).toContain(script);
    }
    expect(references).toBeGreaterThan(0);
  });

  // An alarm on a namespace nobody writes to never fires: the functions' EMF namespace must be the alarms' one.
  it('alarms on the namespace the functions emit their metrics to, and on no other custom namespace', () => {
    for (const prefix of Object.values(FUNCTIONS)) {
      const variables = ((resourcesOf(template)[idOf(template, FUNCTION, prefix)]!.Properties as Json).Environment as { Variables: Json }).Variables;
      expect(variables.METRICS_NAMESPACE).toBe(NAMESPACE);
    }
    const namespaces = Object.values(template.findResources(ALARM)).map((alarm) => alarmMetric((alarm as Json).Properties as Json).namespace);
    expect(namespaces).toContain(NAMESPACE);
    for (const namespace of namespaces) expect([NAMESPACE, 'AWS/SQS', 'AWS/Lambda', 'AWS/ApiGateway']).toContain(namespace);
  });

  it('has an alarm for the dead-letter queue that names the commands to look and to redrive', () => {
    const alarm = alarmOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }]);
    expect(alarm.AlarmDescription).toMatch(/npm run dlq -- redrive/);
  });
});

// Protects: alarm notifications reach a person, only over TLS, and other channels can subscribe.
describe('alarm topic', () => {
  it('denies publishing without TLS', () => {
    const template = build();
    const topicId = idOf(template, TOPIC, ALARM_TOPIC);
    const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy'))
      .map((policy) => (policy as Json).Properties as { Topics: unknown[]; PolicyDocument: { Statement: Json[] } })
      .filter((policy) => JSON.stringify(policy.Topics) === JSON.stringify([{ Ref: topicId }]));
    expect(policies).toHaveLength(1);
    const denials = policies[0]!.PolicyDocument.Statement.filter(
      (statement) =>
        statement.Effect === 'Deny' &&
        JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }) &&
        [statement.Action].flat().some((action) => action === 'sns:Publish' || action === 'sns:*') &&
        (statement.Principal === '*' || JSON.stringify(statement.Principal) === JSON.stringify({ AWS: '*' })),
    );
    expect(denials).toHaveLength(1);
    expect(denials[0]!.Resource).toEqual({ Ref: topicId });
  });

  it('lets CloudWatch alarms publish to the topic despite the custom topic policy', () => {
    const template = build();
    const topicId = idOf(template, TOPIC, ALARM_TOPIC);
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap(
      (policy) => ((policy as Json).Properties as { PolicyDocument: { Statement: Json[] } }).PolicyDocument.Statement,
    );
    const allows = statements.filter(
      (statement) =>
        statement.Effect === 'Allow' &&
        [statement.Action].flat().some((action) => action === 'sns:Publish') &&
        JSON.stringify(statement.Principal).includes('cloudwatch.amazonaws.com') &&
        JSON.stringify(statement.Resource) === JSON.stringify({ Ref: topicId }),
    );
    expect(allows.length).toBeGreaterThan(0);
  });

  it('subscribes alarmEmail by email', () => {
    const template = build({ alarmEmail: 'ops@example.com' });
    const topicId = idOf(template, TOPIC, ALARM_TOPIC);
    const subscription = single(template, 'AWS::SNS::Subscription').properties;
    expect(subscription).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
  });

  it('subscribes nobody without alarmEmail', () => {
    expect(build().findResources('AWS::SNS::Subscription')).toEqual({});
  });

  it('refuses an alarmEmail that is not an address, naming alarmEmail', () => {
    expect(() => new CrispBridgeStack(newApp(), STACK_NAME, { bridge: { ...BRIDGE, alarmEmail: 'nope' } })).toThrow(/alarmEmail/);
  });
});

// Protects: the operator can find the topic and the dashboard from the stack's outputs.
describe('monitoring outputs', () => {
  const template = build();

  it('outputs the alarm topic ARN', () => {
    expect(outputValue(template, 'AlarmTopicArn')).toEqual({ Ref: idOf(template, TOPIC, ALARM_TOPIC) });
  });

  it('outputs a console URL of the dashboard', () => {
    const dashboardId = single(template, 'AWS::CloudWatch::Dashboard').id;
    const url = joined(outputValue(template, 'DashboardUrl'));
    expect(url).toMatch(/^https:\/\//);
    expect(url).toContain('cloudwatch');
    expect(url).toContain('dashboards:name=');
    expect(url.endsWith(`dashboards:name=\${${JSON.stringify({ Ref: dashboardId })}}`)).toBe(true);
  });
});

// Protects: the pipeline at a glance, with metric names the functions really emit.
describe('dashboard', () => {
  const template = build();
  const dashboard = single(template, 'AWS::CloudWatch::Dashboard').properties;
  // Intrinsics (region, queue names) sit inside JSON strings: dropping them keeps the JSON valid.
  const bodyText = joined(dashboard.DashboardBody, () => '');
  const body = JSON.parse(bodyText) as { widgets: Array<{ properties: { metrics?: unknown[][] } }> };
  const metrics = body.widgets.flatMap((widget) => widget.properties.metrics ?? []);
  const names = (namespace: string) => metrics.filter((metric) => metric[0] === namespace).map((metric) => metric[1]);

  it('is named after the stack', () => {
    expect(dashboard.DashboardName).toBe(STACK_NAME);
  });

  it.each(['HookAccepted', 'HookRejected', 'HookFiltered', 'HookFailed'])('graphs the receiver’s %s', (name) => {
    expect(bodyText).toContain(name);
    expect(metrics).toContainEqual(expect.arrayContaining([NAMESPACE, name, 'service', 'hook-receiver']));
  });

  it.each(['EventProcessed', 'EventDuplicate', 'EventRetried', 'EventFailed'])('graphs the consumer’s %s', (name) => {
    expect(bodyText).toContain(name);
    expect(metrics).toContainEqual(expect.arrayContaining([NAMESPACE, name, 'service', 'consumer']));
  });

  it('graphs the signer’s TicketCenterUrlSigned', () => {
    expect(bodyText).toContain('TicketCenterUrlSigned');
    expect(metrics).toContainEqual(expect.arrayContaining([NAMESPACE, 'TicketCenterUrlSigned', 'service', 'ticket-center-url']));
  });

  it('graphs the access-log count of throttled hook requests (HookThrottled)', () => {
    expect(metrics.filter((metric) => metric[0] === NAMESPACE && metric[1] === 'HookThrottled')).toHaveLength(1);
  });

  it('reads its own metrics from the stack’s namespace only (no bare "CrispBridge", no other stack’s)', () => {
    const custom = [...new Set(metrics.map((metric) => metric[0]))].filter((namespace) => !String(namespace).startsWith('AWS/'));
    expect(custom).toEqual([NAMESPACE]);
  });

  it('graphs queue depth, the age of the oldest message and API latency', () => {
    for (const name of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'Latency']) expect(bodyText).toContain(name);
    expect(names('AWS/SQS')).toEqual(expect.arrayContaining(['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage']));
    expect(names('AWS/ApiGateway')).toContain('Latency');
  });

  it('shows the dead-letter queue’s depth', () => {
    const dlqId = idOf(template, QUEUE, HOOK_DLQ);
    const withIntrinsics = joined(dashboard.DashboardBody);
    expect(withIntrinsics).toContain(`"ApproximateNumberOfMessagesVisible","QueueName","\${${JSON.stringify({ 'Fn::GetAtt': [dlqId, 'QueueName'] })}}"`);
  });
});

/** Exactly the context variables the access log may record: no path, query string, header or claim. */
const ALLOWED_ACCESS_LOG_VARIABLES = [
  '$context.requestId',
  '$context.requestTime',
  '$context.requestTimeEpoch',
  '$context.identity.sourceIp',
  '$context.identity.userAgent',
  '$context.httpMethod',
  '$context.routeKey',
  '$context.protocol',
  '$context.status',
  '$context.responseLength',
  '$context.responseLatency',
  '$context.integrationLatency',
  '$context.integrationStatus',
  '$context.integrationErrorMessage',
  '$context.authorizer.error',
  '$context.error.message',
].sort();

// Protects: the access logs are JSON and never hold a Website Hook key (query string), a token (header) or an email (claim).
describe('access logs', () => {
  const template = build({ websiteHooks: true });
  const stage = template.toJSON().Resources[single(template, STAGE).id].Properties as Json;
  const settings = stage.AccessLogSettings as { DestinationArn: unknown; Format: string };
  const format = settings.Format;

  it('are set on the $default stage and go to a log group with a retention', () => {
    expect(stage.StageName).toBe('$default');
    const destination = settings.DestinationArn as { 'Fn::GetAtt': [string, string] };
    expect(destination['Fn::GetAtt'][1]).toBe('Arn');
    const logGroup = resourcesOf(template)[destination['Fn::GetAtt'][0]]!;
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(typeof (logGroup.Properties ?? {}).RetentionInDays).toBe('number');
  });

  it('are one JSON object whose values are all $context variables', () => {
    const parsed = JSON.parse(format) as Json;
    expect(Object.keys(parsed).length).toBeGreaterThan(0);
    for (const value of Object.values(parsed)) {
      expect(typeof value).toBe('string');
      expect(value).toMatch(/^\$context\.[A-Za-z0-9.]+$/);
    }
  });

  it('record exactly the allowed context variables', () => {
    const parsed = JSON.parse(format) as Record<string, string>;
    expect([...new Set(Object.values(parsed))].sort()).toEqual(ALLOWED_ACCESS_LOG_VARIABLES);
    // Nothing outside the JSON values either.
    expect((format.match(/\$[A-Za-z0-9_.]+/g) ?? []).every((variable) => ALLOWED_ACCESS_LOG_VARIABLES.includes(variable))).toBe(true);
  });

  it('record no path, query string, request data, header, authorization, claim or user identity', () => {
    for (const forbidden of ['$context.path', 'querystring', '$request', 'header', 'authorization', '$context.authorizer.claims']) {
      expect(format.toLowerCase()).not.toContain(forbidden.toLowerCase());
    }
    // $context.identity.user, .userArn, ... are out; .userAgent is allowed.
    expect(format).not.toMatch(/\$context\.identity\.user(?!Agent\b)/);
  });

  it('record the request id, route, status, latency and integration error', () => {
    const parsed = JSON.parse(format) as Record<string, string>;
    expect(parsed).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
    });
    expect(parsed.integrationError).toMatch(/^\$context\.integrationError/);
  });
});

/** A CDK context reader over `values`, as `app.node.tryGetContext` gives them from `-c key=value`. */
function context(values: Record<string, string>): (key: string) => unknown {
  const all: Record<string, string> = {
    websiteId: BRIDGE.websiteId!,
    jwtIssuer: BRIDGE.jwtIssuer!,
    jwtAudience: 'app',
    ...values,
  };
  return (key) => all[key];
}

// Protects: the throttling limits can be tuned from `cdk deploy -c ...`, and nonsense is refused by name.
describe('throttling by context', () => {
  const config: CrispBridgeConfig = configFromContext(
    context({ throttleRateLimit: '10', throttleBurstLimit: '20', hookThrottleRateLimit: '30', hookThrottleBurstLimit: '60', websiteHooks: 'true' }),
  );
  const template = Template.fromStack(new CrispBridgeStack(newApp(), STACK_NAME, { bridge: config }));
  const stage = single(template, STAGE).properties;

  it('applies throttleRateLimit and throttleBurstLimit to the $default stage', () => {
    expect(stage.StageName).toBe('$default');
    expect(stage.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
  });

  it('applies hookThrottleRateLimit and hookThrottleBurstLimit to each hook route', () => {
    const routeSettings = stage.RouteSettings as Record<string, Json>;
    expect(routeSettings[HOOK_ROUTE_KEY]).toMatchObject({ ThrottlingRateLimit: 30, ThrottlingBurstLimit: 60 });
    expect(routeSettings[WEBSITE_HOOK_ROUTE_KEY]).toMatchObject({ ThrottlingRateLimit: 30, ThrottlingBurstLimit: 60 });
    // Route settings name existing routes only.
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((route) => ((route as Json).Properties as Json).RouteKey);
    for (const key of Object.keys(routeSettings)) expect(routeKeys).toContain(key);
  });

  it('creates the stage only after the routes its RouteSettings name', () => {
    const resources = resourcesOf(template);
    const stageId = single(template, STAGE).id;
    const dependsOn = resources[stageId]!.DependsOn ?? [];
    const routeIdOf = (routeKey: string) =>
      Object.keys(template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } }))[0]!;
    for (const key of Object.keys(stage.RouteSettings as Json)) expect(dependsOn).toContain(routeIdOf(key));
  });

  it.each(
    ['throttleRateLimit', 'throttleBurstLimit', 'hookThrottleRateLimit', 'hookThrottleBurstLimit'].flatMap((key) =>
      ['0', 'abc', '100000'].map((value) => [key, value]),
    ),
  )('refuses %s = %s, naming the key', (key, value) => {
    let error: unknown;
    try {
      configFromContext(context({ [key!]: value! }));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CrispBridgeConfigError);
    expect((error as CrispBridgeConfigError).key).toBe(key);
    expect((error as Error).message).toContain(`"${key}"`);
  });
});

/** Every statement of every identity policy in the template: AWS::IAM::Policy, managed policies, and roles' inline policies. */
function identityStatements(template: Template): Json[] {
  const statements: Json[] = [];
  for (const resource of Object.values(resourcesOf(template))) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') {
      statements.push(...[((properties.PolicyDocument as Json).Statement as Json | Json[])].flat());
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const policy of (properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Json | Json[] } }>) {
        statements.push(...[policy.PolicyDocument.Statement].flat());
      }
    }
  }
  return statements;
}

/** Every string anywhere in `node`. */
function stringsIn(node: unknown): string[] {
  if (typeof node === 'string') return [node];
  if (Array.isArray(node)) return node.flatMap(stringsIn);
  if (node !== null && typeof node === 'object') return Object.values(node).flatMap(stringsIn);
  return [];
}

// Protects: monitoring added no broad permission: no `*`, no AWS managed policy on a function role.
describe('least privilege with monitoring on', () => {
  it.each([
    ['the default configuration', {}],
    [
      'alarm email, Website Hooks and imported secrets',
      {
        alarmEmail: 'ops@example.com',
        websiteHooks: true,
        ticketCenterSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc',
        hookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook-GhIjKl',
      },
    ],
  ] as Array<[string, Partial<CrispBridgeProps>]>)('grants no `*` action or resource in %s', (_name, overrides) => {
    const template = build(overrides);
    const statements = identityStatements(template);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) {
      expect(statement.NotAction).toBeUndefined();
      expect(statement.NotResource).toBeUndefined();
      expect(statement.Action).toBeDefined();
      expect(statement.Resource).toBeDefined();
      for (const action of [statement.Action].flat() as string[]) expect(action).not.toContain('*');
      for (const resource of stringsIn(statement.Resource)) expect(resource).not.toContain('*');
    }
  });

  it.each(Object.entries(FUNCTIONS))('gives the %s function a role without managed policies', (_name, prefix) => {
    const template = build({ alarmEmail: 'ops@example.com', websiteHooks: true });
    const resources = resourcesOf(template);
    const fn = resources[idOf(template, FUNCTION, prefix)]!.Properties as { Role: { 'Fn::GetAtt': [string, string] } };
    const role = resources[fn.Role['Fn::GetAtt'][0]]!;
    expect(role.Type).toBe('AWS::IAM::Role');
    expect((role.Properties ?? {}).ManagedPolicyArns).toBeUndefined();
  });

  it('has no role in the stack with managed policies', () => {
    const template = build({ alarmEmail: 'ops@example.com', websiteHooks: true });
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(((role as Json).Properties as Json).ManagedPolicyArns).toBeUndefined();
    }
  });
});
