/**
 * `handlers: { entry, environment, secrets }`: your handler module bundled into the consumer, its
 * settings as environment variables, its secrets as ARNs with a read grant on exactly those
 * secrets, for the consumer only. Most tests read a template synthesized without bundling; one
 * describe bundles for real and looks inside the consumer's bundle.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { CrispBridgeConfigError, type HandlersConfig } from '../../lib/config';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { sqsRecord } from '../support/consumer';
import { configError } from '../support/config-error';

const execFileAsync = promisify(execFile);

type Json = Record<string, unknown>;
type Resources = Record<string, Json & { Type: string; Properties?: Json }>;

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'stack-handlers', 'handlers.ts');
/** What the fixture module logs, written out (not imported: importing it would prove nothing about the bundle). */
const FIXTURE_LINE = 'fixture stack handler ran';
/** What the shipped example handler logs (functions/consumer/handlers/count-visitor-messages.ts). */
/** Found only in the shipped example's code (its metric's name). */
const EXAMPLE_MARKER = 'VisitorMessages';
/** A complete-looking ARN: it ends with '-' and 6 characters. */
const OTHER_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm/other-AbCdEf';
const TICKET_CENTER: CrispBridgeProps = { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };

const FUNCTION = 'AWS::Lambda::Function';
const CONSUMER = 'CrispBridgeConsumerFunction';
const RECEIVER = 'CrispBridgeHookReceiverFunction';
const SIGNER = 'CrispBridgeTicketCenterFunction';

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** A stack with a secret of its own (`CrmKey`) and a CrispBridge running the fixture module with it. */
function withHandlers(app: App, id: string, props: CrispBridgeProps = TICKET_CENTER): { stack: Stack; bridge: CrispBridge; crmKey: Secret } {
  const stack = new Stack(app, id);
  const crmKey = new Secret(stack, 'CrmKey', { description: 'The CRM API key the handlers use' });
  const bridge = new CrispBridge(stack, 'CrispBridge', {
    ...props,
    handlers: { entry: FIXTURE, environment: { SLACK_CHANNEL: '#support' }, secrets: { CRM_KEY: crmKey, OTHER: OTHER_ARN } },
  });
  return { stack, bridge, crmKey };
}

/** The logical id of the one resource of `type` whose id is `prefix` plus CDK's 8-character hash. */
function idOf(template: Template, type: string, prefix: string): string {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const ids = Object.keys(template.findResources(type)).filter((id) => pattern.test(id));
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

function functionProps(template: Template, prefix: string): Json {
  return (template.toJSON().Resources as Resources)[idOf(template, FUNCTION, prefix)]!.Properties!;
}

function functionEnv(template: Template, prefix: string): Json {
  return (functionProps(template, prefix).Environment as { Variables: Json }).Variables;
}

/** Every statement of the policies attached to the role of the function `prefix`. */
function roleStatements(template: Template, prefix: string): Json[] {
  const roleId = (functionProps(template, prefix).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .map((policy) => (policy as Json).Properties as { Roles: Array<{ Ref: string }>; PolicyDocument: { Statement: Json[] } })
    .filter((policy) => policy.Roles.some((role) => role.Ref === roleId))
    .flatMap((policy) => policy.PolicyDocument.Statement);
}

/** `Fn::Join` as text; a `Ref` becomes `<Ref:id>`, other intrinsics `<{...}>`. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(joined).join(join[0]);
  const ref = (value as { Ref?: string }).Ref;
  if (typeof ref === 'string') return `<Ref:${ref}>`;
  return `<${JSON.stringify(value)}>`;
}


/** The error building a CrispBridge with `handlers` throws. */
function refusal(handlers: HandlersConfig): CrispBridgeConfigError {
  return configError(() => new CrispBridge(new Stack(newApp(), 'Refused'), 'CrispBridge', { ...TICKET_CENTER, handlers }));
}

// Protects: settings reach the consumer as plain variables, secrets as ARNs only (never a value), and nothing of them reaches another function.
describe('handler settings and secrets in the consumer’s environment', () => {
  const { stack, crmKey } = withHandlers(newApp(), 'Handlers');
  const template = Template.fromStack(stack);
  const crmKeyId = stack.getLogicalId(crmKey.node.defaultChild as never);

  it('has exactly the consumer’s own variables plus SLACK_CHANNEL and HANDLER_SECRETS', () => {
    const env = functionEnv(template, CONSUMER);
    expect(Object.keys(env).sort()).toEqual(
      [
        'METRICS_NAMESPACE',
        'NODE_OPTIONS',
        'DEDUPE_TABLE_NAME',
        'DEDUPE_TTL_HOURS',
        'MAX_RECEIVE_COUNT',
        'DEAD_LETTER_QUEUE_URL',
        'SLACK_CHANNEL',
        'HANDLER_SECRETS',
      ].sort(),
    );
    expect(env.SLACK_CHANNEL).toBe('#support');
  });

  it('maps each secret name to its ARN: a Ref for the stack’s secret, the given ARN for the other', () => {
    const handlerSecrets = JSON.parse(joined(functionEnv(template, CONSUMER).HANDLER_SECRETS)) as Json;
    expect(handlerSecrets).toEqual({ CRM_KEY: `<Ref:${crmKeyId}>`, OTHER: OTHER_ARN });
  });

  it('never holds a secret value: no dynamic reference, no SecretString, no intrinsic other than the Ref', () => {
    const raw = JSON.stringify(functionEnv(template, CONSUMER).HANDLER_SECRETS);
    expect(raw).not.toContain('resolve:secretsmanager');
    expect(raw).not.toContain('SecretString');
    const intrinsics = (functionEnv(template, CONSUMER).HANDLER_SECRETS as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1].filter(
      (part) => typeof part !== 'string',
    );
    expect(intrinsics).toEqual([{ Ref: crmKeyId }]);
  });

  it('gives the receiver and the signer none of the handler settings or secrets', () => {
    for (const prefix of [RECEIVER, SIGNER]) {
      const env = functionEnv(template, prefix);
      expect(Object.keys(env)).not.toContain('SLACK_CHANNEL');
      expect(Object.keys(env)).not.toContain('HANDLER_SECRETS');
      expect(JSON.stringify(env)).not.toContain(crmKeyId);
      expect(JSON.stringify(env)).not.toContain('crm/other');
    }
  });
});

// Protects: least privilege: the consumer may read exactly the declared secrets (in the ARN forms secretGrantResources documents), nothing else; no other function may.
describe('handler secret grants', () => {
  const { stack, crmKey } = withHandlers(newApp(), 'Handlers');
  const template = Template.fromStack(stack);
  const crmKeyId = stack.getLogicalId(crmKey.node.defaultChild as never);
  const resources = template.toJSON().Resources as Resources;
  const id = (type: string, prefix: string) => idOf(template, type, prefix);

  it('gives the consumer exactly its own statements plus GetSecretValue on the two secrets', () => {
    const normalised = roleStatements(template, CONSUMER).map((statement) => ({ ...statement, Action: [statement.Action].flat().sort() }));
    const logGroupId = ((functionProps(template, CONSUMER).LoggingConfig as Json).LogGroup as { Ref: string }).Ref;
    const expected = [
      { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroupId, 'Arn'] } },
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], Resource: { 'Fn::GetAtt': [id('AWS::DynamoDB::Table', 'CrispBridgeDedupeTable'), 'Arn'] } },
      { Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: { 'Fn::GetAtt': [id('AWS::SQS::Queue', 'CrispBridgeHookQueueDeadLetterQueue'), 'Arn'] } },
      {
        Effect: 'Allow',
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
        Resource: { 'Fn::GetAtt': [id('AWS::SQS::Queue', 'CrispBridgeHookQueue'), 'Arn'] },
      },
      // The stack's own secret: its Ref is its full ARN.
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: { Ref: crmKeyId } },
      // '...:secret:crm/other-AbCdEf' may be complete, or the partial ARN of a secret named 'crm/other-AbCdEf': both readings.
      { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [OTHER_ARN, `${OTHER_ARN}-??????`] },
    ];
    expect(normalised).toHaveLength(expected.length);
    expect(normalised).toEqual(expect.arrayContaining(expected));
  });

  it('lets the consumer read no bridge secret (neither the hook secret nor the Ticket Center secret)', () => {
    const text = JSON.stringify(roleStatements(template, CONSUMER));
    const otherSecretIds = Object.keys(template.findResources('AWS::SecretsManager::Secret')).filter((secretId) => secretId !== crmKeyId);
    expect(otherSecretIds.length).toBeGreaterThanOrEqual(2); // the bridge's own: something to check
    for (const secretId of otherSecretIds) expect(text).not.toContain(secretId);
  });

  it.each([
    ['receiver', RECEIVER],
    ['signer', SIGNER],
  ])('gives the %s no grant on the handler secrets', (_name, prefix) => {
    const text = JSON.stringify(roleStatements(template, prefix));
    expect(text).not.toContain(crmKeyId);
    expect(text).not.toContain('crm/other');
  });

  it('grants through no policy other than the consumer’s (no resource policy on the secret)', () => {
    expect(template.findResources('AWS::SecretsManager::ResourcePolicy')).toEqual({});
    const policiesNamingCrmKey = Object.entries(resources).filter(
      ([, resource]) => resource.Type === 'AWS::IAM::Policy' && JSON.stringify(resource.Properties).includes(crmKeyId),
    );
    expect(policiesNamingCrmKey).toHaveLength(1);
    const consumerRoleId = (functionProps(template, CONSUMER).Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    expect((policiesNamingCrmKey[0]![1].Properties as { Roles: unknown }).Roles).toEqual([{ Ref: consumerRoleId }]);
  });
});

// Protects: the other ARN forms get the grant secretGrantResources documents: a partial ARN only with the 6-character suffix, a complete one exactly.
describe('handler secrets given in other forms', () => {
  const stack = new Stack(newApp(), 'Forms');
  const PARTIAL_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm/partial';
  const COMPLETE_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm/complete-XyZ123';
  new CrispBridge(stack, 'CrispBridge', {
    ...TICKET_CENTER,
    handlers: {
      entry: FIXTURE,
      environment: { SLACK_CHANNEL: '#support' },
      secrets: {
        CRM_KEY: PARTIAL_ARN,
        OTHER: Secret.fromSecretCompleteArn(stack, 'Complete', COMPLETE_ARN),
        BY_NAME: Secret.fromSecretNameV2(stack, 'ByName', 'crm/by-name'),
      },
    },
  });
  const template = Template.fromStack(stack);
  const secretStatements = roleStatements(template, CONSUMER).filter((statement) => JSON.stringify(statement.Action).includes('secretsmanager:'));

  it('grants GetSecretValue on each, in its documented form, and nothing more', () => {
    expect(secretStatements.map((statement) => statement.Action)).toEqual(['secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue']);
    const resources = secretStatements.map((statement) => [statement.Resource].flat().map(joined)).sort();
    expect(resources).toEqual(
      [
        // A partial ARN: the suffix wildcard only.
        [`${PARTIAL_ARN}-??????`],
        // An ISecret whose full ARN is known: exactly that ARN.
        [COMPLETE_ARN],
        // An ISecret known by name only: its partial ARN and the suffix wildcard.
        ['arn:<Ref:AWS::Partition>:secretsmanager:<Ref:AWS::Region>:<Ref:AWS::AccountId>:secret:crm/by-name-??????'],
      ].sort(),
    );
  });
});

// Protects: a handler configuration that would fail at run time, leak a name into the bridge's own variables or mislead stops synth, naming it.
describe('invalid handlers', () => {
  it('refuses handlers without an entry, naming handlers.entry', () => {
    const error = refusal({} as HandlersConfig);
    expect(error.key).toBe('handlers');
    expect(error.message).toContain('handlers.entry');
  });

  it('refuses an entry that does not exist, naming handlers.entry and the resolved path', () => {
    const missing = path.join(__dirname, '..', 'fixtures', 'stack-handlers', 'missing.ts');
    const error = refusal({ entry: missing });
    expect(error.key).toBe('handlers');
    expect(error.message).toContain('handlers.entry');
    expect(error.message).toContain('does not exist');
    expect(error.message).toContain(missing);
  });

  it('refuses an entry that is not a module (a .json file)', () => {
    const error = refusal({ entry: path.join(__dirname, '..', 'fixtures', 'crisp-api-vectors.json') });
    expect(error.message).toContain('handlers.entry');
  });

  it.each(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'DEDUPE_TABLE_NAME', 'DEAD_LETTER_QUEUE_URL', 'HANDLER_SECRETS', 'METRICS_NAMESPACE', 'NODE_OPTIONS', 'LAMBDA_TASK_ROOT'])(
    'refuses the reserved name %s as a setting',
    (name) => {
      const error = refusal({ entry: FIXTURE, environment: { [name]: 'x' } });
      expect(error.key).toBe('handlers');
      expect(error.message).toContain(`"${name}"`);
      expect(error.message).toContain('reserved');
    },
  );

  it.each(['AWS_SECRET_ACCESS_KEY', 'DEDUPE_TABLE_NAME'])('refuses the reserved name %s as a secret', (name) => {
    const error = refusal({ entry: FIXTURE, secrets: { [name]: OTHER_ARN } });
    expect(error.message).toContain(`"${name}"`);
    expect(error.message).toContain('reserved');
  });

  it.each(['SLACK-CHANNEL', '1CHANNEL', 'slack channel'])('refuses %j, not a variable name', (name) => {
    const error = refusal({ entry: FIXTURE, environment: { [name]: 'x' } });
    expect(error.message).toContain(`"${name}"`);
  });

  it('refuses a setting that is not a string', () => {
    const error = refusal({ entry: FIXTURE, environment: { SLACK_CHANNEL: 42 as unknown as string } });
    expect(error.message).toContain('handlers.environment.SLACK_CHANNEL');
  });

  it.each([
    'crm/other',
    'arn:aws:ssm:eu-west-1:123456789012:parameter/crm/other',
    'arn:aws:secretsmanager:eu-west-1:1234:secret:crm/other',
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:',
  ])('refuses the secret ARN %j, naming the secret', (arn) => {
    const error = refusal({ entry: FIXTURE, secrets: { CRM_KEY: arn } });
    expect(error.key).toBe('handlers.secrets.CRM_KEY');
    expect(error.message).toContain('handlers.secrets.CRM_KEY');
  });

  it('refuses a secret that is neither an ARN nor an ISecret', () => {
    const error = refusal({ entry: FIXTURE, secrets: { CRM_KEY: { name: 'crm' } as never } });
    expect(error.message).toContain('handlers.secrets.CRM_KEY');
  });

  it('refuses a setting and a secret with the same name', () => {
    const error = refusal({ entry: FIXTURE, environment: { CRM_KEY: 'x' }, secrets: { CRM_KEY: OTHER_ARN } });
    expect(error.key).toBe('handlers');
    expect(error.message).toContain('"CRM_KEY" is both a setting and a secret');
  });

  it.each([
    ['enviroment', 'environment'],
    ['secret', 'secrets'],
    ['entyr', 'entry'],
  ])('refuses the unknown key %s inside handlers: did you mean %s?', (key, known) => {
    const error = refusal({ entry: FIXTURE, [key]: {} } as unknown as HandlersConfig);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`did you mean "${known}"?`);
    expect(error.message).toContain('handlers');
  });
});

// Protects: what runs is your module (not the example), with source maps; checked in a real esbuild bundle.
describe('real bundle of the consumer with a handler module', () => {
  let code: string;
  let mapPath: string;
  let bundle: string;
  let env: Json;
  let crmKeyId: string;

  beforeAll(() => {
    // The one synth of this file that bundles: hooks only, so two functions (receiver, consumer).
    const app = new App();
    const { stack, crmKey } = withHandlers(app, 'HandlersBundle', { ticketCenter: false });
    const assembly = app.synth();
    const template = Template.fromStack(stack);
    crmKeyId = stack.getLogicalId(crmKey.node.defaultChild as never);
    const s3Key = (functionProps(template, CONSUMER).Code as { S3Key: string }).S3Key;
    bundle = path.join(assembly.directory, `asset.${s3Key.replace(/\.zip$/, '')}`, 'index.mjs');
    mapPath = `${bundle}.map`;
    code = readFileSync(bundle, 'utf8');
    env = functionEnv(template, CONSUMER);
  }, 120_000);

  it('contains the fixture module’s handler, and not the shipped example’s', () => {
    expect(code).toContain(FIXTURE_LINE);
    expect(code).not.toContain(EXAMPLE_MARKER);
  });

  it('ships a source map next to the bundle, naming the fixture module, without the sources', () => {
    expect(existsSync(mapPath)).toBe(true);
    const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; sourcesContent?: unknown };
    expect(map.sourcesContent).toBeUndefined();
    expect(map.sources.some((source) => source.endsWith('fixtures/stack-handlers/handlers.ts'))).toBe(true);
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
  });

  /** Loads the bundle (its cold start: configuration and the handler module's declarations) in a fresh node. */
  async function coldStart(variables: Json): Promise<{ ok: boolean; output: string }> {
    const script = `await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log('loaded');`;
    const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
    for (const [name, value] of Object.entries(variables)) {
      // The template's intrinsics stand in as fixed text: nothing is called at cold start.
      childEnv[name] = joined(value).replace(`<Ref:${crmKeyId}>`, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm/key-AbCdEf');
    }
    try {
      const { stdout, stderr } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env: childEnv });
      return { ok: stdout.includes('loaded'), output: stdout + stderr };
    } catch (error) {
      const failure = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
    }
  }

  it('starts with the environment the construct gives it (every declared setting and secret is there)', async () => {
    const result = await coldStart(env);
    expect(result.output).toContain('loaded');
    expect(result.ok).toBe(true);
  }, 30_000);

  it('logs a handler TypeError with a stack that points into the handler module source (source maps on, as deployed)', async () => {
    expect(joined(env.NODE_OPTIONS)).toContain('--enable-source-maps');
    const db = await startDynamoDbEmulator();
    try {
      const websiteId = '42286ab3-b29a-4fde-8538-da0ae501d825';
      const body = JSON.stringify({
        website_id: websiteId,
        event: 'session:set_email',
        data: { website_id: websiteId, session_id: 'session_5bfa4e4d-0c0c-4c4e-9f3d-0d5e6f7a8b9c', email: 'jane@example.com' },
        timestamp: Date.now(),
      });
      const event = { Records: [sqsRecord(body)] };
      const context = `{ awsRequestId: 'request-1', functionName: 'consumer', getRemainingTimeInMillis: () => 30000 }`;
      const script = `const { handler } = await import(${JSON.stringify(pathToFileURL(bundle).href)}); const out = await handler(${JSON.stringify(event)}, ${context}); console.log('RESULT ' + JSON.stringify(out));`;
      const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
      for (const [name, value] of Object.entries(env)) childEnv[name] = joined(value).replace(`<Ref:${crmKeyId}>`, OTHER_ARN);
      Object.assign(childEnv, { AWS_ENDPOINT_URL_DYNAMODB: db.endpoint, DEDUPE_TABLE_NAME: db.tableName, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
      const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], { env: childEnv });
      expect(stdout).toContain('RESULT {"batchItemFailures":[{"itemIdentifier"');
      const failed = stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { message?: string; error?: { name: string; stack: string } })
        .find((line) => line.message === 'crisp event failed');
      expect(failed?.error?.name).toBe('TypeError');
      const lineNumber = readFileSync(FIXTURE, 'utf8').split('\n').findIndex((line) => line.includes('FIXTURE_TYPE_ERROR_LINE')) + 1;
      // The first frame is the handler's own line in its TypeScript source, not a line of index.mjs.
      const firstFrame = failed!.error!.stack.split('\n').find((line) => line.trim().startsWith('at '))!;
      expect(firstFrame).toContain(`fixtures/stack-handlers/handlers.ts:${lineNumber}:`);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('fails its cold start naming SLACK_CHANNEL when the setting is missing', async () => {
    const without = { ...env };
    delete without.SLACK_CHANNEL;
    const result = await coldStart(without);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('SLACK_CHANNEL');
  }, 30_000);
});
