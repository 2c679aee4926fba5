import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';
import { SECRET_PLACEHOLDER_PREFIX } from '../../functions/commons/placeholder';
import { startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { opensslHmacSha256 } from '../support/openssl';

const execFileAsync = promisify(execFile);

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const BRIDGE: CrispBridgeProps = {
  websiteId: WEBSITE_ID,
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
};
const ROUTE_KEY = 'GET /ticket-center/url';
const COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc-AbCdEf';
const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc';
const EXPECTED_ENV_KEYS = [
  'METRICS_NAMESPACE',
  'CRISP_WEBSITE_ID',
  'EMAIL_CLAIM',
  'REQUIRE_EMAIL_VERIFIED',
  'LOWERCASE_EMAIL',
  'SECRET_REFRESH_SECONDS',
  'TICKET_CENTER_SECRET_ID',
];

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

function functionProps(template: Template): Json {
  return single(template, 'AWS::Lambda::Function').properties;
}

function functionEnv(template: Template): Json {
  return ((functionProps(template).Environment as Json).Variables ?? {}) as Json;
}

/** Statements of the IAM policies attached to the function's role. */
function functionRoleStatements(template: Template): Json[] {
  const role = functionProps(template).Role as { 'Fn::GetAtt': [string, string] };
  const roleId = role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } }));
  expect(policies).toHaveLength(1);
  return ((policies[0] as Json & { Properties: { PolicyDocument: { Statement: Json[] } } }).Properties.PolicyDocument.Statement);
}

/** `Fn::Join` with an empty separator, as text; other intrinsics become `${...}`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joined).join(join[0]);
  return '${' + JSON.stringify(value) + '}';
}

/** Every value of a key named `name`, anywhere in `node`. */
function valuesOfKey(node: unknown, name: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((item) => valuesOfKey(item, name));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === name ? [value, ...valuesOfKey(value, name)] : valuesOfKey(value, name)));
}

// Protects: the signer is reachable only through API Gateway's JWT authorizer, with the configured issuer and audience.
describe('route and JWT authorizer', () => {
  const { template } = build();

  it('puts GET /ticket-center/url behind the JWT authorizer', () => {
    const authorizer = single(template, 'AWS::ApiGatewayV2::Authorizer');
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
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
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map(
      (route) => ((route as Json).Properties as Json).RouteKey,
    );
    expect(routes).toEqual([ROUTE_KEY]);
  });
});

// Protects: the function runs on the intended runtime, architecture and structured logging.
describe('signer function', () => {
  const { template } = build();

  it('runs Node.js 24 on arm64 with JSON logs', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
      Handler: 'index.handler',
    });
  });
});

// Protects: least privilege — the function may read the Ticket Center secret and nothing else.
describe('function permissions', () => {
  it('grants only secretsmanager:GetSecretValue, on the created secret', () => {
    const { template } = build();
    const secret = single(template, 'AWS::SecretsManager::Secret');
    const statements = functionRoleStatements(template);
    expect(statements).toHaveLength(1);
    expect(statements[0]).toEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secret.id } });
  });

  it.each([
    ['a created secret', {}],
    ['an imported complete ARN', { ticketCenterSecretArn: COMPLETE_ARN }],
    ['an imported partial ARN', { ticketCenterSecretArn: PARTIAL_ARN }],
    ['CORS on', { allowedOrigins: ['https://app.example.com'] }],
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
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
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
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const statements = functionRoleStatements(template);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.Action).toBe('secretsmanager:GetSecretValue');
    const resource = joined(statements[0]!.Resource);
    expect(resource).toBe(`${PARTIAL_ARN}-??????`);
    expect(resource.endsWith('-??????')).toBe(true);
    expect(functionEnv(template).TICKET_CENTER_SECRET_ID).toBe(PARTIAL_ARN);
  });
});

// Protects: no secret value ever lands in the template; the function gets the secret's ARN only.
describe('secret handling', () => {
  const { template } = build();

  it('creates the secret with the placeholder, not a value', () => {
    const secret = single(template, 'AWS::SecretsManager::Secret');
    expect(String(secret.properties.SecretString).startsWith(SECRET_PLACEHOLDER_PREFIX)).toBe(true);
    expect(secret.properties.GenerateSecretString).toBeUndefined();
  });

  it('has no SecretString in the whole template other than the placeholder', () => {
    const values = valuesOfKey(template.toJSON(), 'SecretString');
    expect(values).toHaveLength(1);
    for (const value of values) {
      expect(typeof value).toBe('string');
      expect((value as string).startsWith(SECRET_PLACEHOLDER_PREFIX)).toBe(true);
    }
  });

  it('gives the function only the expected environment, and the secret as an ARN (Ref)', () => {
    const secret = single(template, 'AWS::SecretsManager::Secret');
    const env = functionEnv(template);
    expect(Object.keys(env).sort()).toEqual([...EXPECTED_ENV_KEYS].sort());
    expect(env.TICKET_CENTER_SECRET_ID).toEqual({ Ref: secret.id });
    expect(env).toMatchObject({
      METRICS_NAMESPACE: 'CrispBridge',
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

// Protects: the operator gets what they need next, and the set-secret command never carries the value.
describe('outputs', () => {
  const { template } = build();

  it.each(['ApiUrl', 'TicketCenterUrlEndpoint', 'TicketCenterSecretArn', 'SetTicketCenterSecretCommand'])('has the %s output', (name) => {
    template.hasOutput(name, {});
  });

  it('gives a put-secret-value command that reads the value from the terminal, silently', () => {
    const secret = single(template, 'AWS::SecretsManager::Secret');
    const output = template.findOutputs('SetTicketCenterSecretCommand').SetTicketCenterSecretCommand as Json;
    const command = joined(output.Value);
    expect(command).toContain('aws secretsmanager put-secret-value');
    expect(command).toContain('--secret-id');
    expect(command).toContain('read -rs');
    expect(command).toContain(`--secret-id \${${JSON.stringify({ Ref: secret.id })}}`);
    // The value comes only from the variable `read -rs` filled, never from the template.
    const variable = /read -rs (\w+)/.exec(command)?.[1];
    expect(variable).toBeDefined();
    expect(command).toMatch(new RegExp(`--secret-string "\\$${variable}"`));
    expect(command).not.toContain(SECRET_PLACEHOLDER_PREFIX);
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
});

// Protects: the deployed bundle is small and actually signs: a real esbuild bundle, run against a Secrets Manager emulator.
describe('real bundle', () => {
  it('bundles under 1 MB and signs a URL whose hmac matches openssl', async () => {
    const app = new App();
    const stack = new CrispBridgeStack(app, 'Test', { bridge: BRIDGE });
    const assembly = app.synth();
    const template = Template.fromStack(stack);
    const s3Key = (functionProps(template).Code as { S3Key: string }).S3Key;
    const hash = s3Key.replace(/\.zip$/, '');
    const assetDir = path.join(assembly.directory, `asset.${hash}`);
    const bundle = path.join(assetDir, 'index.mjs');
    expect(existsSync(bundle)).toBe(true);
    const size = readdirSync(assetDir).reduce((total, file) => total + statSync(path.join(assetDir, file)).size, 0);
    expect(size).toBeLessThan(1024 * 1024);

    const emulator = await startSecretsManagerEmulator({ tc: 'bundle-secret' });
    try {
      const email = 'bundle+test@example.com';
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'x',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: emulator.endpoint,
        CRISP_WEBSITE_ID: WEBSITE_ID,
        TICKET_CENTER_SECRET_ID: emulator.arnOf('tc'),
      };
      delete env.AWS_PROFILE;
      delete env.AWS_SESSION_TOKEN;
      const event = {
        version: '2.0',
        routeKey: ROUTE_KEY,
        rawPath: '/ticket-center/url',
        rawQueryString: '',
        headers: {},
        isBase64Encoded: false,
        requestContext: { http: { method: 'GET', path: '/ticket-center/url' }, authorizer: { jwt: { claims: { email, email_verified: 'true' }, scopes: null } } },
      };
      const script = [
        `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
        `const result = await handler(${JSON.stringify(event)}, { awsRequestId: 'x' });`,
        `console.log(JSON.stringify(result));`,
      ].join('\n');
      // Async: the emulator answers from this process's event loop.
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env });
      const lastLine = stdout.trim().split('\n').pop() ?? '';
      const result = JSON.parse(lastLine) as { statusCode: number; body: string };
      expect(result.statusCode).toBe(200);
      const url = new URL((JSON.parse(result.body) as { url: string }).url);
      expect(url.searchParams.get('email')).toBe(email);
      expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256('bundle-secret', email));
      expect(emulator.calls).toEqual([{ action: 'GetSecretValue', secretId: emulator.arnOf('tc') }]);
    } finally {
      await emulator.close();
    }
  }, 60_000);
});
