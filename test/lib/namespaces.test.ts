/**
 * Environments don't mix: two deployments in one account (dev and prod) must not share a metric,
 * an alarm or a dashboard, or dev's test traffic would fire prod's alarms and show on prod's
 * graphs. Every custom metric a stack emits, alarms on, filters into or graphs is in its own
 * namespace (`CrispBridge/<stack name>`).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties?: Json }>;

const BRIDGE: CrispBridgeProps = {
  websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825',
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
  websiteHooks: true,
};

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** `Fn::Join` as text, intrinsics dropped (they sit inside JSON strings in a dashboard body). */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  return join ? join[1].map(text).join(join[0]) : '';
}

/** Where a namespace was found, and the namespace: custom ones only (AWS/... namespaces are AWS's, dimensioned by resource). */
function namespacesOf(resources: Resources): Array<[string, string]> {
  const found: Array<[string, string]> = [];
  for (const [id, resource] of Object.entries(resources)) {
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::Lambda::Function') {
      found.push([`${id} METRICS_NAMESPACE`, (properties.Environment as { Variables: Json }).Variables.METRICS_NAMESPACE as string]);
    }
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      // Rendered flat (Namespace) or as a one-metric Metrics array, depending on the metric.
      if (properties.Namespace !== undefined) found.push([`${id} alarm`, properties.Namespace as string]);
      for (const metric of (properties.Metrics ?? []) as Array<{ MetricStat?: { Metric: { Namespace: string } } }>) {
        if (metric.MetricStat) found.push([`${id} alarm`, metric.MetricStat.Metric.Namespace]);
      }
    }
    if (resource.Type === 'AWS::Logs::MetricFilter') {
      for (const transformation of properties.MetricTransformations as Array<{ MetricNamespace: string }>) {
        found.push([`${id} MetricNamespace`, transformation.MetricNamespace]);
      }
    }
    if (resource.Type === 'AWS::CloudWatch::Dashboard') {
      const body = JSON.parse(text(properties.DashboardBody)) as { widgets: Array<{ properties: { metrics?: unknown[][] } }> };
      for (const metric of body.widgets.flatMap((widget) => widget.properties.metrics ?? [])) found.push([`${id} body`, metric[0] as string]);
    }
  }
  return found.filter(([, namespace]) => typeof namespace !== 'string' || !namespace.startsWith('AWS/'));
}

// Protects: dev and prod in one account share no metric namespace, alarm or dashboard.
describe('two stacks of one app (dev and prod)', () => {
  const app = newApp();
  const dev = new CrispBridgeStack(app, 'CrispBridge-dev', { bridge: BRIDGE });
  const prod = new CrispBridgeStack(app, 'CrispBridge-prod', { bridge: BRIDGE });
  const devResources = Template.fromStack(dev).toJSON().Resources as Resources;
  const prodResources = Template.fromStack(prod).toJSON().Resources as Resources;
  const devNamespaces = namespacesOf(devResources);
  const prodNamespaces = namespacesOf(prodResources);

  it('finds the namespace in every place it is used (functions, alarms, metric filter, dashboard)', () => {
    for (const found of [devNamespaces, prodNamespaces]) {
      const places = found.map(([place]) => place.split(' ')[1]);
      expect(new Set(places)).toEqual(new Set(['METRICS_NAMESPACE', 'alarm', 'MetricNamespace', 'body']));
      // Three functions, each alarm on a custom metric, the filter, and the custom dashboard metrics.
      expect(found.length).toBeGreaterThan(10);
    }
  });

  it('uses CrispBridge/<stack name> everywhere in each stack', () => {
    expect([...new Set(devNamespaces.map(([, namespace]) => namespace))]).toEqual(['CrispBridge/CrispBridge-dev']);
    expect([...new Set(prodNamespaces.map(([, namespace]) => namespace))]).toEqual(['CrispBridge/CrispBridge-prod']);
  });

  it('shares no namespace between the two stacks', () => {
    const devSet = new Set(devNamespaces.map(([, namespace]) => namespace));
    expect(prodNamespaces.filter(([, namespace]) => devSet.has(namespace))).toEqual([]);
  });

  it('names the dashboards differently (after their stacks)', () => {
    const name = (resources: Resources) =>
      Object.values(resources)
        .filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard')
        .map((resource) => resource.Properties!.DashboardName);
    expect(name(devResources)).toEqual(['CrispBridge-dev']);
    expect(name(prodResources)).toEqual(['CrispBridge-prod']);
  });

  // A fixed physical name would collide between the two stacks of one account (or leave dev's
  // secret answering prod's function): CloudFormation generates every other name.
  it('gives no other resource a fixed physical name', () => {
    // The property that would name each type's resource account-wide.
    const nameProperty: Record<string, string> = {
      'AWS::SecretsManager::Secret': 'Name',
      'AWS::SQS::Queue': 'QueueName',
      'AWS::DynamoDB::Table': 'TableName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::CloudWatch::Alarm': 'AlarmName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::IAM::Role': 'RoleName',
    };
    let checked = 0;
    for (const resources of [devResources, prodResources]) {
      for (const [id, resource] of Object.entries(resources)) {
        const property = nameProperty[resource.Type];
        if (!property) continue;
        checked += 1;
        expect([id, property, (resource.Properties ?? {})[property]]).toEqual([id, property, undefined]);
      }
    }
    expect(checked).toBeGreaterThan(30);
  });
});

// Protects: two bridges in one stack cannot silently share a namespace.
describe('two CrispBridge constructs in one stack', () => {
  it('throws without a metricsNamespace of their own, naming metricsNamespace', () => {
    const stack = new Stack(newApp(), 'Shared');
    new CrispBridge(stack, 'First', BRIDGE);
    expect(() => new CrispBridge(stack, 'Second', BRIDGE)).toThrow(/metricsNamespace/);
  });

  describe('with distinct metricsNamespace', () => {
    const stack = new Stack(newApp(), 'Shared');
    const first = new CrispBridge(stack, 'First', { ...BRIDGE, metricsNamespace: 'Acme/Support' });
    const second = new CrispBridge(stack, 'Second', { ...BRIDGE, metricsNamespace: 'Acme/Sales' });
    const resources = Template.fromStack(stack).toJSON().Resources as Resources;

    it('synthesizes, each bridge using its own namespace only', () => {
      expect([first.metricsNamespace, second.metricsNamespace]).toEqual(['Acme/Support', 'Acme/Sales']);
      const byBridge = (prefix: string) =>
        [...new Set(namespacesOf(Object.fromEntries(Object.entries(resources).filter(([id]) => id.startsWith(prefix)))).map(([, namespace]) => namespace))];
      expect(byBridge('First')).toEqual(['Acme/Support']);
      expect(byBridge('Second')).toEqual(['Acme/Sales']);
    });

    it('gives the two dashboards different names', () => {
      const names = Object.values(resources)
        .filter((resource) => resource.Type === 'AWS::CloudWatch::Dashboard')
        .map((resource) => resource.Properties!.DashboardName);
      expect(names).toHaveLength(2);
      expect(new Set(names).size).toBe(2);
    });
  });

  it('throws when two bridges are given the same metricsNamespace', () => {
    const stack = new Stack(newApp(), 'Same');
    new CrispBridge(stack, 'First', { ...BRIDGE, metricsNamespace: 'Acme/Support' });
    expect(() => new CrispBridge(stack, 'Second', { ...BRIDGE, metricsNamespace: 'Acme/Support' })).toThrow(/metricsNamespace/);
  });
});

// Protects: a namespace CloudWatch would refuse at the first PutMetricData is refused at synth instead.
describe('metricsNamespace checks', () => {
  it.each(['', 'AWS/Lambda', 'Acme\u0000Support', 'a'.repeat(256), 'Acme/Support!'])('refuses %j, naming metricsNamespace', (metricsNamespace) => {
    let error: unknown;
    try {
      new CrispBridge(new Stack(newApp(), 'Bad'), 'Bridge', { ...BRIDGE, metricsNamespace });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ name: 'CrispBridgeConfigError', key: 'metricsNamespace' });
  });

  it('accepts the characters CloudWatch allows', () => {
    const bridge = new CrispBridge(new Stack(newApp(), 'Good'), 'Bridge', { ...BRIDGE, metricsNamespace: 'Acme/Support-EU_1.2 #a:b' });
    expect(bridge.metricsNamespace).toBe('Acme/Support-EU_1.2 #a:b');
  });

  it('refuses a second bridge given the first one\'s default namespace', () => {
    const stack = new Stack(newApp(), 'Clash');
    new CrispBridge(stack, 'First', BRIDGE);
    expect(() => new CrispBridge(stack, 'Second', { ...BRIDGE, metricsNamespace: 'CrispBridge/Clash' })).toThrow(/metricsNamespace/);
  });
});
