/**
 * `crispApi: true`: the plugin token's secret created with the frozen placeholder, the consumer's
 * read grant on that secret alone (no other function, no other secret, no wider action), its ARN
 * and the API URL in the consumer's environment, the SetCrispApiTokenCommand output (values on
 * standard input, run for real with a stand-in `aws`), the configuration checks, and cdk-nag.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { configFromContext, CrispBridgeConfigError, validateConfig } from '../../lib/config';
import { putCrispApiTokenCommand } from '../../lib/constructs/crisp-api-token';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

type Json = Record<string, any>;

const BASE: CrispBridgeProps = { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };
/** Written out: the placeholder every created secret starts with (functions/commons/placeholder.ts). */
const PLACEHOLDER = 'CRISP_BRIDGE_PLACEHOLDER: not set yet. Set the real value (see the stack outputs for the command).';
const HANDLER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm/key-AbCdEf';
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'stack-handlers', 'handlers.ts');

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

function synth(extra: Partial<CrispBridgeProps>): { template: Template; resources: Record<string, Json> } {
  const stack = new CrispBridgeStack(newApp(), 'CrispBridge', { bridge: { ...BASE, ...extra } });
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources as Record<string, Json> };
}

const idsOf = (resources: Record<string, Json>, type: string, prefix: string) => Object.keys(resources).filter((id) => resources[id]!.Type === type && new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));

function functionOf(resources: Record<string, Json>, prefix: string): Json {
  const ids = idsOf(resources, 'AWS::Lambda::Function', prefix);
  expect(ids).toHaveLength(1);
  return resources[ids[0]!]!.Properties;
}

function statementsOf(resources: Record<string, Json>, prefix: string): Json[] {
  const roleId = functionOf(resources, prefix).Role['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy' && resource.Properties.Roles.some((role: Json) => role.Ref === roleId))
    .flatMap((resource) => resource.Properties.PolicyDocument.Statement);
}

const tokenSecretId = (resources: Record<string, Json>) => {
  const ids = idsOf(resources, 'AWS::SecretsManager::Secret', 'CrispBridgeCrispApiToken(Secret)?');
  expect(ids).toHaveLength(1);
  return ids[0]!;
};

describe('crispApi off (the default)', () => {
  it('creates no token secret, sets no Crisp API variable, defines no token output', () => {
    const { template, resources } = synth({});
    expect(Object.keys(resources).filter((id) => id.includes('CrispApi'))).toEqual([]);
    const env = functionOf(resources, 'CrispBridgeConsumerFunction').Environment.Variables;
    expect(env.CRISP_API_TOKEN_SECRET_ID).toBeUndefined();
    expect(env.CRISP_API_URL).toBeUndefined();
    expect(Object.keys(template.toJSON().Outputs)).not.toContain('SetCrispApiTokenCommand');
  });
});

describe('crispApi: true', () => {
  const { template, resources } = synth({ crispApi: true, handlers: { entry: FIXTURE, secrets: { CRM_KEY: HANDLER_SECRET_ARN } } });
  const secretId = tokenSecretId(resources);

  it('creates the token secret holding the frozen placeholder, kept when the stack is deleted', () => {
    const secret = resources[secretId]!;
    expect(secret.Properties.SecretString).toBe(PLACEHOLDER);
    expect(secret.Properties.Description).toMatch(/Crisp API plugin token/);
    expect(secret.DeletionPolicy).toBe('Retain');
    expect(secret.Properties.GenerateSecretString).toBeUndefined();
  });

  it("gives the consumer the token's ARN and the API URL", () => {
    const env = functionOf(resources, 'CrispBridgeConsumerFunction').Environment.Variables;
    expect(env.CRISP_API_TOKEN_SECRET_ID).toEqual({ Ref: secretId });
    expect(env.CRISP_API_URL).toBe('https://api.crisp.chat/v1');
  });

  it('the consumer may read that secret (GetSecretValue only); its other grants are unchanged', () => {
    const secretStatements = statementsOf(resources, 'CrispBridgeConsumerFunction').filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager'));
    expect(secretStatements).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [HANDLER_SECRET_ARN, `${HANDLER_SECRET_ARN}-??????`] },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } },
    ]);
    const withoutToken = synth({ handlers: { entry: FIXTURE, secrets: { CRM_KEY: HANDLER_SECRET_ARN } } }).resources;
    const strip = (statements: Json[]) => statements.filter((statement) => !JSON.stringify(statement.Resource).includes(secretId));
    expect(strip(statementsOf(resources, 'CrispBridgeConsumerFunction')).length).toBe(statementsOf(withoutToken, 'CrispBridgeConsumerFunction').length);
  });

  it('no other function may read it, and no policy but the consumer’s names it', () => {
    for (const prefix of ['CrispBridgeHookReceiverFunction', 'CrispBridgeTicketCenterFunction']) {
      expect(JSON.stringify(statementsOf(resources, prefix))).not.toContain(secretId);
    }
    const policies = Object.values(resources).filter((resource) => resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties).includes(secretId));
    expect(policies).toHaveLength(1);
    expect(template.findResources('AWS::SecretsManager::ResourcePolicy')).toEqual({});
  });

  it('outputs the secret ARN and SetCrispApiTokenCommand, which passes the values on standard input', () => {
    const outputs = template.toJSON().Outputs as Record<string, Json>;
    expect(outputs.CrispApiTokenSecretArn!.Value).toEqual({ Ref: secretId });
    const command = JSON.stringify(outputs.SetCrispApiTokenCommand!.Value);
    expect(command).toContain('--secret-string file:///dev/stdin');
    expect(command).toContain('read -rs CRISP_API_KEY');
    expect(command).toContain(secretId);
  });
});

describe('crispApiUrl', () => {
  it('is passed to the consumer (a loopback http stand-in is accepted)', () => {
    const { resources } = synth({ crispApi: true, crispApiUrl: 'http://127.0.0.1:4010/v1/' });
    expect(functionOf(resources, 'CrispBridgeConsumerFunction').Environment.Variables.CRISP_API_URL).toBe('http://127.0.0.1:4010/v1');
  });

  it.each<[string, Partial<CrispBridgeProps>, RegExp]>([
    ['http to a public host', { crispApi: true, crispApiUrl: 'http://api.crisp.chat/v1' }, /crispApiUrl.*https/],
    ['not a URL', { crispApi: true, crispApiUrl: 'api.crisp.chat' }, /crispApiUrl.*not a URL/],
    ['credentials in it', { crispApi: true, crispApiUrl: 'https://u:p@api.crisp.chat/v1' }, /crispApiUrl.*credentials/],
    ['without crispApi', { crispApiUrl: 'https://api.crisp.chat/v1' }, /crispApiUrl.*crispApi is not on/],
    ['crispApi with the hooks off', { crispApi: true, hooks: false }, /crispApi.*hooks are off/],
  ])('refuses %s, naming the key', (_name, extra, message) => {
    let thrown: unknown;
    try {
      validateConfig({ ...BASE, ...extra });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(CrispBridgeConfigError);
    expect((thrown as Error).message).toMatch(message);
  });

  it('reads crispApi and crispApiUrl from CDK context (strings from -c)', () => {
    const context: Record<string, unknown> = { ...BASE, jwtAudience: 'app', crispApi: 'true', crispApiUrl: 'https://api.crisp.chat/v1' };
    expect(configFromContext((key) => context[key])).toMatchObject({ crispApi: true, crispApiUrl: 'https://api.crisp.chat/v1' });
    expect(() => configFromContext((key) => ({ ...context, crispApi: 'yes' })[key])).toThrow(/crispApi.*true or false/);
  });

  it('reserves the consumer variables it sets: a handler setting may not take them', () => {
    for (const name of ['CRISP_API_URL', 'CRISP_API_TOKEN_SECRET_ID']) {
      expect(() => validateConfig({ ...BASE, handlers: { entry: FIXTURE, environment: { [name]: 'x' } } })).toThrow(/reserved/);
    }
  });
});

describe('SetCrispApiTokenCommand, run for real', () => {
  const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp-bridge/crisp-api-token-AbCdEf';
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-crisp-api-command-'));
    writeFileSync(path.join(dir, 'aws'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\ncat > "${dir}/stdin"\n`);
    chmodSync(path.join(dir, 'aws'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (input: string) =>
    execFileSync('bash', ['-c', putCrispApiTokenCommand(ARN, 'eu-west-1')], { input, env: { PATH: `${dir}:${process.env.PATH}` }, stdio: ['pipe', 'pipe', 'pipe'] });

  it('stores {"identifier","key"} from standard input; neither value is ever an argument', () => {
    const identifier = '7c3ef21c-1e04-41ce-8c06-5605c346f73e';
    const key = 'cc29e1a5086e428fcc6a697d5837a66d82808e65c5cce006fbf2191ceea80a0a';
    expect(run(`${identifier}\n${key}\n`).toString()).toBe('');
    expect(JSON.parse(readFileSync(path.join(dir, 'stdin'), 'utf8'))).toEqual({ identifier, key });
    const argv = readFileSync(path.join(dir, 'argv'), 'utf8').trimEnd().split('\n');
    expect(argv).toEqual(['secretsmanager', 'put-secret-value', '--region', 'eu-west-1', '--secret-id', ARN, '--secret-string', 'file:///dev/stdin']);
    expect(argv.join('\n')).not.toContain(key);
  });

  it.each([
    ['a quote that would break the JSON', 'abc"def\nkey\n'],
    ['an empty key', 'abc\n\n'],
  ])('refuses %s without calling aws', (_name, input) => {
    rmSync(path.join(dir, 'stdin'), { force: true });
    run(input);
    expect(existsSync(path.join(dir, 'stdin'))).toBe(false); // aws never ran
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged with crispApi on', () => {
    const app = newApp();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new CrispBridgeStack(app, 'CrispBridge', { bridge: { ...BASE, crispApi: true } });
    expect(() => app.synth()).not.toThrow();
  });

  it('the construct in a stack of your own exposes the secret and the command', () => {
    const stack = new Stack(newApp(), 'Own');
    const bridge = new CrispBridge(stack, 'Bridge', { ...BASE, crispApi: true });
    expect(bridge.crispApi?.secret.created).toBe(true);
    expect(bridge.crispApi?.url).toBe('https://api.crisp.chat/v1');
    expect(bridge.crispApi?.setValueCommand).toContain('file:///dev/stdin');
  });
});
