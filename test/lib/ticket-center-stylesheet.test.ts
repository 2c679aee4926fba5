/**
 * The Ticket Center stylesheet (`ticketCenterStylesheet`): a private, encrypted, TLS-only S3
 * bucket read only by CloudFront (Origin Access Control), an HTTPS-only distribution that always
 * answers text/css, a BucketDeployment that invalidates CloudFront's copy when the file changes,
 * the URL to paste into Crisp; every refused file names the key; cdk-nag finds nothing
 * unacknowledged; the local stack serves the same file.
 */
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type CrispBridgeConfig, MAX_STYLESHEET_BYTES, configFromContext, validateConfig } from '../../lib/config';
import type { CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { TicketCenterStylesheet } from '../../lib/constructs/ticket-center-stylesheet';
import { stylesheetRoute } from '../../scripts/local/stylesheet';
import { configError } from '../support/config-error';

const BASE: CrispBridgeProps = { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'ticket-center.css');

type Json = Record<string, any>;

function only(template: Template, type: string): { id: string; properties: Json; resource: Json } {
  const entries = Object.entries(template.findResources(type));
  expect(entries).toHaveLength(1);
  const resource = entries[0]![1] as Json;
  return { id: entries[0]![0], properties: resource.Properties as Json, resource };
}

/** `Fn::Join` with an empty separator, as text; other intrinsics as JSON in `${...}`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joined).join(join[0]);
  return '${' + JSON.stringify(value) + '}';
}


function expectRefused(config: Partial<CrispBridgeConfig>, message: RegExp): void {
  const error = configError(() => validateConfig({ ...BASE, ...config }));
  expect(error.key).toBe('ticketCenterStylesheet');
  expect(error.message).toContain('"ticketCenterStylesheet"');
  expect(error.message).toMatch(message);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-stylesheet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `content` in the temporary directory. */
function file(name: string, content: string | Buffer): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

describe('ticketCenterStylesheet in the stack', () => {
  let stack: CrispBridgeStack;
  let template: Template;
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Relative to the directory cdk runs in, as in cdk.json.
    stack = new CrispBridgeStack(app, 'Test', { bridge: { ...BASE, ticketCenterStylesheet: path.relative(process.cwd(), FIXTURE) } });
    // Throws on an unacknowledged cdk-nag finding: one synth for both.
    template = Template.fromJSON(app.synth().getStackByName('Test').template as Json);
  });

  it('synthesizes with nothing unacknowledged by cdk-nag', () => {
    expect(stack.bridge.ticketCenterStylesheet?.file).toBe(FIXTURE);
  });

  it('keeps the file in a private, encrypted bucket without website hosting', () => {
    const { properties, resource } = only(template, 'AWS::S3::Bucket');
    expect(properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(properties.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
    expect(properties.WebsiteConfiguration).toBeUndefined();
    expect(properties.AccessControl).toBeUndefined();
    // A copy of a file in the repository: deleted with the stack (the deployment empties it first).
    expect(resource.DeletionPolicy).toBe('Delete');
  });

  it('lets only this distribution read it (Origin Access Control), and only over TLS', () => {
    const bucket = only(template, 'AWS::S3::Bucket').id;
    const distribution = only(template, 'AWS::CloudFront::Distribution').id;
    const statements = only(template, 'AWS::S3::BucketPolicy').properties.PolicyDocument.Statement as Json[];
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }));
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]).toMatchObject({ Action: 's3:GetObject', Principal: { Service: 'cloudfront.amazonaws.com' } });
    expect(joined(allows[0]!.Resource)).toBe(`\${${JSON.stringify({ 'Fn::GetAtt': [bucket, 'Arn'] })}}/*`);
    expect(joined(allows[0]!.Condition.StringEquals['AWS:SourceArn'])).toContain(`:distribution/\${${JSON.stringify({ Ref: distribution })}}`);
    const oac = only(template, 'AWS::CloudFront::OriginAccessControl').properties.OriginAccessControlConfig;
    expect(oac).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(template.findResources('AWS::CloudFront::CloudFrontOriginAccessIdentity')).toEqual({});
  });

  it('serves it over HTTPS only, GET and HEAD, through the Origin Access Control', () => {
    const oac = only(template, 'AWS::CloudFront::OriginAccessControl').id;
    const headers = only(template, 'AWS::CloudFront::ResponseHeadersPolicy').id;
    const config = only(template, 'AWS::CloudFront::Distribution').properties.DistributionConfig;
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: ['GET', 'HEAD'],
      ResponseHeadersPolicyId: { Ref: headers },
      Compress: true,
    });
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oac, 'Id'] });
    expect(config.Origins[0].S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(config.Enabled).toBe(true);
  });

  it('always answers Content-Type: text/css (with nosniff)', () => {
    const policy = only(template, 'AWS::CloudFront::ResponseHeadersPolicy').properties.ResponseHeadersPolicyConfig;
    expect(policy.CustomHeadersConfig.Items).toEqual([{ Header: 'Content-Type', Value: 'text/css; charset=utf-8', Override: true }]);
    expect(policy.SecurityHeadersConfig.ContentTypeOptions).toEqual({ Override: true });
  });

  it('deploys the file with BucketDeployment, invalidating its path in the distribution', () => {
    const bucket = only(template, 'AWS::S3::Bucket').id;
    const distribution = only(template, 'AWS::CloudFront::Distribution').id;
    const { properties } = only(template, 'Custom::CDKBucketDeployment');
    expect(properties).toMatchObject({
      DestinationBucketName: { Ref: bucket },
      DistributionId: { Ref: distribution },
      DistributionPaths: ['/ticket-center.css'],
      WaitForDistributionInvalidation: true,
      RetainOnDelete: false,
      Prune: true,
    });
    expect(properties.SystemMetadata['content-type']).toBe('text/css; charset=utf-8');
    expect(properties.SystemMetadata['cache-control']).toBe('public, max-age=300, s-maxage=86400');
    expect(properties.SourceObjectKeys).toHaveLength(1);
  });

  it('outputs the URL to paste into Crisp', () => {
    const distribution = only(template, 'AWS::CloudFront::Distribution').id;
    const outputs = template.findOutputs('TicketCenterStylesheetUrl');
    expect(Object.keys(outputs)).toEqual(['TicketCenterStylesheetUrl']);
    expect(joined(outputs.TicketCenterStylesheetUrl!.Value)).toBe(`https://\${${JSON.stringify({ 'Fn::GetAtt': [distribution, 'DomainName'] })}}/ticket-center.css`);
    expect(outputs.TicketCenterStylesheetUrl!.Description).toMatch(/Crisp/);
  });
});

describe('TicketCenterStylesheet, the construct', () => {
  /** The deployed asset's key for a file of `css`. */
  function assetKey(css: string, name = 'a.css'): string {
    const app = new App();
    const stack = new Stack(app, 'Alone');
    new TicketCenterStylesheet(stack, 'Stylesheet', { file: file(name, css) });
    return only(Template.fromStack(stack), 'Custom::CDKBucketDeployment').properties.SourceObjectKeys[0] as string;
  }

  it('deploys a new asset when the file changes, and the same one when it does not', () => {
    const first = assetKey('body { color: red; }\n');
    expect(assetKey('body { color: red; }\n', 'b.css')).toBe(first);
    expect(assetKey('body { color: blue; }\n')).not.toBe(first);
  });

  it('keeps the bucket and its file with RemovalPolicy.RETAIN', () => {
    const stack = new Stack(new App(), 'Retained');
    new TicketCenterStylesheet(stack, 'Stylesheet', { file: FIXTURE, removalPolicy: RemovalPolicy.RETAIN });
    const template = Template.fromStack(stack);
    expect(only(template, 'AWS::S3::Bucket').resource.DeletionPolicy).toBe('Retain');
    expect(only(template, 'Custom::CDKBucketDeployment').properties.RetainOnDelete).not.toBe(false);
  });
});

describe('ticketCenterStylesheet validation', () => {
  it('accepts the fixture, relative to the current directory or absolute, and from CDK context', () => {
    expect(() => validateConfig({ ...BASE, ticketCenterStylesheet: FIXTURE })).not.toThrow();
    const relative = path.relative(process.cwd(), FIXTURE);
    const context: Record<string, unknown> = { ...BASE, jwtAudience: 'app', ticketCenterStylesheet: relative };
    expect(configFromContext((key) => context[key]).ticketCenterStylesheet).toBe(relative);
  });

  it('refuses a file that does not exist, saying where it looked', () => {
    expectRefused({ ticketCenterStylesheet: 'styles/missing.css' }, new RegExp(`does not exist \\(resolved from .* to ${path.resolve('styles/missing.css').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`));
  });

  it('refuses a directory', () => {
    const folder = path.join(dir, 'folder.css');
    mkdirSync(folder, { recursive: true });
    expectRefused({ ticketCenterStylesheet: folder }, /is not a file/);
  });

  it('refuses a file that is not .css', () => {
    expectRefused({ ticketCenterStylesheet: file('styles.scss', 'body{}') }, /must be a \.css file/);
    expectRefused({ ticketCenterStylesheet: file('styles.css.txt', 'body{}') }, /must be a \.css file/);
  });

  it('refuses a file above 512 KiB, and accepts one of exactly 512 KiB', () => {
    expectRefused({ ticketCenterStylesheet: file('big.css', `/*${'x'.repeat(MAX_STYLESHEET_BYTES - 3)}*/`) }, /is 524289 bytes; at most 524288/);
    expect(() => validateConfig({ ...BASE, ticketCenterStylesheet: file('limit.css', `/*${'x'.repeat(MAX_STYLESHEET_BYTES - 4)}*/`) })).not.toThrow();
  });

  it('refuses an empty file', () => {
    expectRefused({ ticketCenterStylesheet: file('empty.css', '') }, /is empty/);
    expectRefused({ ticketCenterStylesheet: file('blank.css', ' \n\t\n') }, /is empty/);
  });

  it('refuses a file that is not UTF-8 text', () => {
    expectRefused({ ticketCenterStylesheet: file('latin1.css', Buffer.from([0x62, 0x6f, 0x64, 0x79, 0x7b, 0xe9, 0x7d])) }, /not UTF-8/);
    expectRefused({ ticketCenterStylesheet: file('nul.css', 'body{}\u0000') }, /NUL/);
  });

  it.each([
    ['</style>', 'body{} </style><script>alert(1)</script>'],
    ['</STYLE', 'a::after { content: "</STYLE" }'],
    ['<script', 'a { } <script'],
    ['<!--', '<!-- body{} -->'],
  ])('refuses markup that could close a <style> element: %s', (_, css) => {
    expectRefused({ ticketCenterStylesheet: file('markup.css', css) }, /<\/style/);
  });

  it('refuses a stylesheet with the Ticket Center off', () => {
    const error = configError(() => validateConfig({ hooks: true, ticketCenter: false, ticketCenterStylesheet: FIXTURE }));
    expect(error.key).toBe('ticketCenterStylesheet');
    expect(error.message).toMatch(/Ticket Center is off/);
  });
});

describe('stylesheetRoute, the local stack', () => {
  it('serves the file at the deployed path as text/css, not cached, read again on every request', async () => {
    const target = file('local.css', 'body { color: red; }\n');
    const route = stylesheetRoute(target);
    expect(route.method).toBe('GET');
    expect(route.path).toBe('/ticket-center.css');
    const first = route.respond();
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({ 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' });
    expect(first.body).toBe('body { color: red; }\n');
    writeFileSync(target, 'body { color: blue; }\n');
    expect(route.respond().body).toBe('body { color: blue; }\n');
    expect(route.respond('HEAD')).toMatchObject({ status: 200, body: '' });

    const request = { headers: {}, body: Buffer.alloc(0), ownOrigins: [] };
    expect(await route.site({ ...request, method: 'GET', pathname: '/ticket-center.css' })).toMatchObject({ status: 200, body: 'body { color: blue; }\n' });
    expect(await route.site({ ...request, method: 'GET', pathname: '/other.css' })).toBeUndefined();
    expect(await route.site({ ...request, method: 'POST', pathname: '/ticket-center.css' })).toBeUndefined();
  });

  it('answers 404 when the file is gone and 500 with synth\'s message when synth would refuse it', () => {
    const target = file('changing.css', 'body{}');
    const route = stylesheetRoute(target);
    writeFileSync(target, '</style>');
    const refused = route.respond();
    expect(refused.status).toBe(500);
    expect(String(refused.body)).toMatch(/"ticketCenterStylesheet".*<\/style/);
    rmSync(target);
    expect(route.respond().status).toBe(404);
  });
});
