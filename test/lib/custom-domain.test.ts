/**
 * Your own domain (`domainName`): an API Gateway custom domain mapped to the API's `$default`
 * stage, with a created DNS-validated certificate and alias records (hosted zone) or a given
 * certificate (CNAME at your DNS provider); the URLs pasted into Crisp name the domain; every
 * refused configuration names its key; cdk-nag finds nothing unacknowledged.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type CrispBridgeConfig, configFromContext, validateConfig } from '../../lib/config';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { configError } from '../support/config-error';

const BASE: CrispBridgeProps = { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };
const DOMAIN = 'crisp.example.com';
const ZONE = { hostedZoneId: 'Z0123456789ABCDEFGHIJ', hostedZoneName: 'example.com' };
const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0c4b8d7e-1f2a-4b3c-9d8e-7f6a5b4c3d2e';

type Json = Record<string, any>;

/** The app, with cdk-nag's AwsSolutions checks as `cdk synth` runs them, synthesized once: the template of stack `Test`. */
function synthWithNag(bridge: Partial<CrispBridgeProps>): { stack: CrispBridgeStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const stack = new CrispBridgeStack(app, 'Test', { bridge: { ...BASE, ...bridge } });
  // Throws on an unacknowledged cdk-nag finding.
  const assembly = app.synth();
  return { stack, template: Template.fromJSON(assembly.getStackByName('Test').template as Json) };
}

function only(template: Template, type: string): { id: string; properties: Json } {
  const entries = Object.entries(template.findResources(type));
  expect(entries).toHaveLength(1);
  return { id: entries[0]![0], properties: (entries[0]![1] as Json).Properties as Json };
}

function output(template: Template, name: string): Json {
  const outputs = template.findOutputs(name);
  expect(Object.keys(outputs)).toEqual([name]);
  return outputs[name] as Json;
}

/** `Fn::Join` with an empty separator, as text; other intrinsics as JSON in `${...}`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joined).join(join[0]);
  return '${' + JSON.stringify(value) + '}';
}


function expectRefused(config: Partial<CrispBridgeConfig>, key: string, message?: RegExp): void {
  const error = configError(() => validateConfig({ ...BASE, ...config }));
  expect(error.key).toBe(key);
  expect(error.message).toContain(`"${key}"`);
  if (message) expect(error.message).toMatch(message);
}

describe('domainName with a hosted zone: a created certificate and alias records', () => {
  let stack: CrispBridgeStack;
  let template: Template;
  beforeAll(() => {
    ({ stack, template } = synthWithNag({ domainName: DOMAIN, ...ZONE, websiteHooks: true }));
  });

  it('synthesizes with nothing unacknowledged by cdk-nag', () => {
    expect(template).toBeDefined();
  });

  it('creates a DNS-validated ACM certificate for the domain, validated in the hosted zone', () => {
    const { properties } = only(template, 'AWS::CertificateManager::Certificate');
    expect(properties.DomainName).toBe(DOMAIN);
    expect(properties.ValidationMethod).toBe('DNS');
    expect(properties.DomainValidationOptions).toEqual([{ DomainName: DOMAIN, HostedZoneId: ZONE.hostedZoneId }]);
    expect(properties.SubjectAlternativeNames).toBeUndefined();
  });

  it('creates a regional, dual-stack, TLS 1.2 API Gateway domain with that certificate', () => {
    const certificate = only(template, 'AWS::CertificateManager::Certificate').id;
    const { properties } = only(template, 'AWS::ApiGatewayV2::DomainName');
    expect(properties).toEqual({
      DomainName: DOMAIN,
      DomainNameConfigurations: [{ CertificateArn: { Ref: certificate }, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2', IpAddressType: 'dualstack' }],
    });
  });

  it("maps the domain's root to the API's $default stage, after the stage exists", () => {
    const api = only(template, 'AWS::ApiGatewayV2::Api').id;
    const stage = only(template, 'AWS::ApiGatewayV2::Stage').id;
    const domain = only(template, 'AWS::ApiGatewayV2::DomainName').id;
    const mappings = template.findResources('AWS::ApiGatewayV2::ApiMapping');
    expect(Object.values(mappings)).toHaveLength(1);
    const mapping = Object.values(mappings)[0] as Json;
    expect(mapping.Properties).toEqual({ ApiId: { Ref: api }, DomainName: { Ref: domain }, Stage: '$default' });
    expect(mapping.Properties.ApiMappingKey).toBeUndefined();
    expect(mapping.DependsOn).toContain(stage);
  });

  it('points the domain at API Gateway with alias A and AAAA records in the hosted zone', () => {
    const domain = only(template, 'AWS::ApiGatewayV2::DomainName').id;
    const records = Object.values(template.findResources('AWS::Route53::RecordSet')).map((r) => (r as Json).Properties as Json);
    expect(records.map((r) => r.Type).sort()).toEqual(['A', 'AAAA']);
    for (const record of records) {
      expect(record).toEqual({
        Name: `${DOMAIN}.`,
        Type: record.Type,
        HostedZoneId: ZONE.hostedZoneId,
        AliasTarget: { DNSName: { 'Fn::GetAtt': [domain, 'RegionalDomainName'] }, HostedZoneId: { 'Fn::GetAtt': [domain, 'RegionalHostedZoneId'] } },
      });
    }
    // The zone is given by ID: no hosted zone is created (and none looked up).
    expect(template.findResources('AWS::Route53::HostedZone')).toEqual({});
  });

  it('gives Crisp URLs on the domain: the hook URLs and the Ticket Center endpoint', () => {
    expect(output(template, 'HookUrl').Value).toBe(`https://${DOMAIN}/hooks/crisp`);
    expect(output(template, 'TicketCenterUrlEndpoint').Value).toBe(`https://${DOMAIN}/ticket-center/url`);
    expect(joined(output(template, 'WebsiteHookUrlCommand').Value)).toMatch(new RegExp(`^echo "https://${DOMAIN.replace(/\./g, '\\.')}/hooks/crisp/website\\?key=`));
    expect(stack.bridge.hooks!.pluginHookUrl).toBe(`https://${DOMAIN}/hooks/crisp`);
    expect(stack.bridge.hooks!.websiteHookUrl).toBe(`https://${DOMAIN}/hooks/crisp/website`);
    expect(stack.bridge.ticketCenterUrlEndpoint).toBe(`https://${DOMAIN}/ticket-center/url`);
  });

  it("outputs the domain's URL and API Gateway's target name; ApiUrl stays the execute-api URL", () => {
    const domain = only(template, 'AWS::ApiGatewayV2::DomainName').id;
    expect(output(template, 'CustomDomainUrl').Value).toBe(`https://${DOMAIN}/`);
    expect(output(template, 'CustomDomainTarget').Value).toEqual({ 'Fn::GetAtt': [domain, 'RegionalDomainName'] });
    expect(joined(output(template, 'ApiUrl').Value)).toContain('.execute-api.');
    // The execute-api endpoint stays on (smoke tests, and a way in while DNS propagates).
    expect(only(template, 'AWS::ApiGatewayV2::Api').properties.DisableExecuteApiEndpoint).toBeUndefined();
  });
});

describe('domainName with certificateArn', () => {
  let cnameOnly: Template;
  let withZone: Template;
  beforeAll(() => {
    cnameOnly = synthWithNag({ domainName: DOMAIN, certificateArn: CERTIFICATE_ARN, hooks: false }).template;
    withZone = synthWithNag({ domainName: DOMAIN, certificateArn: CERTIFICATE_ARN, ...ZONE, ticketCenter: false, websiteId: undefined, jwtIssuer: undefined, jwtAudience: undefined }).template;
  });

  it('uses the given certificate, creates none, and no record: the CNAME is yours to create', () => {
    expect(cnameOnly.findResources('AWS::CertificateManager::Certificate')).toEqual({});
    expect(cnameOnly.findResources('AWS::Route53::RecordSet')).toEqual({});
    const { id, properties } = only(cnameOnly, 'AWS::ApiGatewayV2::DomainName');
    expect(properties.DomainNameConfigurations[0].CertificateArn).toBe(CERTIFICATE_ARN);
    const target = output(cnameOnly, 'CustomDomainTarget');
    expect(target.Value).toEqual({ 'Fn::GetAtt': [id, 'RegionalDomainName'] });
    expect(target.Description).toMatch(/CNAME/);
    expect(output(cnameOnly, 'TicketCenterUrlEndpoint').Value).toBe(`https://${DOMAIN}/ticket-center/url`);
    only(cnameOnly, 'AWS::ApiGatewayV2::ApiMapping');
  });

  it('with a hosted zone too: the given certificate, and the alias records', () => {
    expect(withZone.findResources('AWS::CertificateManager::Certificate')).toEqual({});
    expect(only(withZone, 'AWS::ApiGatewayV2::DomainName').properties.DomainNameConfigurations[0].CertificateArn).toBe(CERTIFICATE_ARN);
    expect(Object.values(withZone.findResources('AWS::Route53::RecordSet')).map((r) => (r as Json).Properties.Type).sort()).toEqual(['A', 'AAAA']);
    expect(output(withZone, 'HookUrl').Value).toBe(`https://${DOMAIN}/hooks/crisp`);
  });
});

describe('domainName validation', () => {
  it.each([
    ['uppercase', 'Crisp.Example.com', /lowercase/],
    ['a URL', 'https://crisp.example.com', /host name only/],
    ['a path', 'crisp.example.com/hooks', /host name only/],
    ['one label', 'localhost', /not a DNS name/],
    ['a trailing dot', 'crisp.example.com.', /not a DNS name/],
    ['a wildcard', '*.example.com', /wildcards/],
    ['an underscore', 'crisp_bridge.example.com', /not a DNS name/],
    ['a label starting with -', '-crisp.example.com', /not a DNS name/],
    ['a label of 64 characters', `${'a'.repeat(64)}.example.com`, /not a DNS name/],
    ['an IP address', '192.0.2.10', /not a DNS name/],
  ])('refuses %s, naming domainName', (_, domainName, message) => {
    expectRefused({ domainName, ...ZONE, hostedZoneName: 'example.com' }, 'domainName', message);
  });

  it('refuses a domain with neither certificateArn nor a hosted zone, saying what to give', () => {
    expectRefused({ domainName: DOMAIN }, 'domainName', /certificateArn.*hostedZoneId and hostedZoneName/s);
  });

  it.each([
    ['a Secrets Manager ARN', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc-AbCdEf'],
    ['a certificate ID', '0c4b8d7e-1f2a-4b3c-9d8e-7f6a5b4c3d2e'],
    ['a short account', 'arn:aws:acm:eu-west-1:1234:certificate/0c4b8d7e-1f2a-4b3c-9d8e-7f6a5b4c3d2e'],
  ])('refuses certificateArn as %s, naming it', (_, certificateArn) => {
    expectRefused({ domainName: DOMAIN, certificateArn }, 'certificateArn', /ACM certificate ARN/);
  });

  it('accepts an ACM ARN in another partition', () => {
    expect(() => validateConfig({ ...BASE, domainName: DOMAIN, certificateArn: 'arn:aws-cn:acm:cn-north-1:123456789012:certificate/0c4b8d7e-1f2a-4b3c-9d8e-7f6a5b4c3d2e' })).not.toThrow();
  });

  it('refuses hostedZoneId without hostedZoneName, and the reverse, naming the missing key', () => {
    expectRefused({ domainName: DOMAIN, hostedZoneId: ZONE.hostedZoneId }, 'hostedZoneName', /required with hostedZoneId/);
    expectRefused({ domainName: DOMAIN, hostedZoneName: ZONE.hostedZoneName }, 'hostedZoneId', /required with hostedZoneName/);
  });

  it('refuses a malformed hostedZoneId, naming it', () => {
    expectRefused({ domainName: DOMAIN, ...ZONE, hostedZoneId: '/hostedzone/Z0123456789ABCDEFGHIJ' }, 'hostedZoneId', /hosted zone ID/);
  });

  it('refuses a hosted zone that does not hold the domain, naming hostedZoneName', () => {
    expectRefused({ domainName: DOMAIN, ...ZONE, hostedZoneName: 'example.org' }, 'hostedZoneName', /suffix/);
    // A suffix of the text, not of the labels.
    expectRefused({ domainName: 'crisp.myexample.com', ...ZONE }, 'hostedZoneName', /suffix/);
  });

  it('accepts the zone apex itself and a zone name with its trailing dot', () => {
    expect(() => validateConfig({ ...BASE, domainName: 'example.com', ...ZONE })).not.toThrow();
    expect(() => validateConfig({ ...BASE, domainName: DOMAIN, ...ZONE, hostedZoneName: 'example.com.' })).not.toThrow();
    expect(() => validateConfig({ ...BASE, domainName: 'a.b.crisp.example.com', ...ZONE, hostedZoneName: 'crisp.example.com' })).not.toThrow();
  });

  it.each(['certificateArn', 'hostedZoneId', 'hostedZoneName'] as const)('refuses %s without domainName, naming it', (key) => {
    const values = { certificateArn: CERTIFICATE_ARN, ...ZONE };
    expectRefused({ [key]: values[key] }, key, /domainName/);
  });

  it('reads the keys from CDK context (-c domainName=... and cdk.json)', () => {
    const context: Record<string, unknown> = { ...BASE, jwtAudience: 'app', domainName: ` ${DOMAIN} `, hostedZoneId: ZONE.hostedZoneId, hostedZoneName: ZONE.hostedZoneName };
    expect(configFromContext((key) => context[key])).toMatchObject({ domainName: DOMAIN, ...ZONE });
    const refused = configError(() => configFromContext((key) => ({ ...context, hostedZoneId: undefined })[key]));
    expect(refused.key).toBe('hostedZoneId');
  });

  it("refuses a certificate from another region than the stack's, naming certificateArn", () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Pinned', { env: { account: '123456789012', region: 'eu-central-1' } });
    const error = configError(() => new CrispBridge(stack, 'CrispBridge', { ...BASE, domainName: DOMAIN, certificateArn: CERTIFICATE_ARN }));
    expect(error.key).toBe('certificateArn');
    expect(error.message).toMatch(/eu-west-1.*eu-central-1/);
  });
});
