/**
 * The reference app's configuration from CDK context (`appConfigFromContext`): environments in
 * cdk.json selected with `-c env=<name>`, top-level keys overriding them, and every unknown key
 * refused with the closest known one, so a typo never deploys a default silently.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { appConfigFromContext } from '../../lib/app-config';
import { configError } from '../support/config-error';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const PROD = {
  websiteId: WEBSITE_ID,
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
  alarmEmail: 'ops@example.com',
  account: '123456789012',
  region: 'eu-west-1',
};
const DEV = { ticketCenter: false, websiteHooks: true, removalPolicy: 'destroy' };
const ENVIRONMENTS = { dev: DEV, prod: PROD };


// Protects: -c env=<name> deploys that environment's settings, under that environment's stack name.
describe('environments', () => {
  it('selects environments.prod with -c env=prod', () => {
    const config = appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS });
    expect(config).toEqual({
      env: 'prod',
      stackName: 'CrispBridge-prod',
      account: '123456789012',
      region: 'eu-west-1',
      bridge: { websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'], alarmEmail: 'ops@example.com' },
    });
  });

  it('selects environments.dev, taking nothing from prod', () => {
    const config = appConfigFromContext({ env: 'dev', environments: ENVIRONMENTS });
    expect(config.stackName).toBe('CrispBridge-dev');
    expect(config.account).toBeUndefined();
    expect(config.region).toBeUndefined();
    expect(config.bridge).toStrictEqual({ ticketCenter: false, websiteHooks: true, removalPolicy: 'destroy' });
  });

  it('lets a top-level key (-c, or cdk.json for every environment) override the environment’s', () => {
    const config = appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS, alarmEmail: 'oncall@example.com', region: 'us-east-1' });
    expect(config.bridge.alarmEmail).toBe('oncall@example.com');
    expect(config.region).toBe('us-east-1');
    expect(config.bridge.websiteId).toBe(WEBSITE_ID);
  });

  it('reads -c values given as strings over an environment’s native ones', () => {
    const config = appConfigFromContext({ env: 'dev', environments: ENVIRONMENTS, websiteHooks: 'false', maxReceiveCount: '3' });
    expect(config.bridge.websiteHooks).toBe(false);
    expect(config.bridge.maxReceiveCount).toBe(3);
  });

  it('uses an environment’s own stackName', () => {
    const config = appConfigFromContext({ env: 'prod', environments: { prod: { ...PROD, stackName: 'Support-Prod' } } });
    expect(config.stackName).toBe('Support-Prod');
  });

  it('without -c env, uses the top-level keys alone, in a stack named CrispBridge', () => {
    const config = appConfigFromContext({ environments: ENVIRONMENTS, websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: 'app' });
    expect(config.env).toBeUndefined();
    expect(config.stackName).toBe('CrispBridge');
    expect(config.bridge).toStrictEqual({ websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] });
  });

  it('validates the merged configuration (prod without its jwtIssuer is refused, naming it)', () => {
    const { jwtIssuer: _dropped, ...withoutIssuer } = PROD;
    const error = configError(() => appConfigFromContext({ env: 'prod', environments: { prod: withoutIssuer } }));
    expect(error.key).toBe('jwtIssuer');
  });
});

// Protects: a misspelt key, environment or value stops synth, naming the closest known one.
describe('unknown keys and names', () => {
  it('refuses the context key "stackname", naming stackName', () => {
    const error = configError(() => appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS, stackname: 'Mine' }));
    expect(error.key).toBe('stackname');
    expect(error.message).toContain('did you mean "stackName"?');
  });

  it.each([
    ['alarmEmial', 'alarmEmail'],
    ['websiteHook', 'websiteHooks'],
    ['enviroments', 'environments'],
  ])('refuses the context key %s: did you mean %s?', (key, known) => {
    const error = configError(() => appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS, [key]: 'x' }));
    expect(error.key).toBe(key);
    expect(error.message).toContain(`did you mean "${known}"?`);
  });

  it('refuses an unknown environment name, with did-you-mean and the list of environments', () => {
    const error = configError(() => appConfigFromContext({ env: 'prd', environments: ENVIRONMENTS }));
    expect(error.key).toBe('env');
    expect(error.message).toContain('did you mean "prod"?');
    expect(error.message).toContain('dev, prod');
  });

  it('refuses -c env=<name> when cdk.json has no environments', () => {
    const error = configError(() => appConfigFromContext({ env: 'prod' }));
    expect(error.key).toBe('env');
  });

  it('refuses an unknown key inside an environment, naming the environment', () => {
    const error = configError(() => appConfigFromContext({ env: 'prod', environments: { prod: { ...PROD, alarmEmial: 'ops@example.com' } } }));
    expect(error.key).toBe('alarmEmial');
    expect(error.message).toContain('environments.prod');
    expect(error.message).toContain('did you mean "alarmEmail"?');
  });

  it('refuses app-only keys inside an environment (env, environments)', () => {
    expect(configError(() => appConfigFromContext({ env: 'prod', environments: { prod: { ...PROD, env: 'dev' } } })).key).toBe('env');
  });

  it('refuses environments that is not an object', () => {
    expect(configError(() => appConfigFromContext({ environments: ['prod'] })).key).toBe('environments');
  });

  it('ignores CDK’s own keys (feature flags, aws:cdk:...) that App adds or cdk.json holds', () => {
    const app = new App({
      context: {
        env: 'dev',
        environments: ENVIRONMENTS,
        '@aws-cdk/core:checkSecretUsage': true,
        '@aws-cdk/aws-lambda:recognizeLayerVersion': true,
        'aws:cdk:bundling-stacks': [],
        'aws:cdk:enable-path-metadata': true,
      },
    });
    const config = appConfigFromContext(app.node.getAllContext());
    expect(config.stackName).toBe('CrispBridge-dev');
  });
});

// Protects: account and region reach the stack only when well formed.
describe('account, region and stackName', () => {
  it('passes a valid account and region', () => {
    const config = appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS });
    expect([config.account, config.region]).toEqual(['123456789012', 'eu-west-1']);
  });

  it.each(['12345', '1234567890123', 'acme'])('refuses the account %j', (account) => {
    expect(configError(() => appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS, account })).key).toBe('account');
  });

  it.each(['eu-west', 'EU-WEST-1', 'europe'])('refuses the region %j', (region) => {
    expect(configError(() => appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS, region })).key).toBe('region');
  });

  it.each(['1stack', 'my_stack', 'my stack'])('refuses the stackName %j', (stackName) => {
    expect(configError(() => appConfigFromContext({ env: 'prod', environments: ENVIRONMENTS, stackName })).key).toBe('stackName');
  });

  it('refuses an account that is not a string', () => {
    expect(configError(() => appConfigFromContext({ env: 'prod', environments: { prod: { ...PROD, account: 123456789012 } } })).key).toBe('account');
  });
});

// Protects: the shipped cdk.json is a configuration the app accepts (`npx cdk synth -c env=dev` works out of the box).
describe('the repository’s cdk.json', () => {
  const context = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

  it('is accepted with each of its environments', () => {
    const names = Object.keys((context.environments ?? {}) as Record<string, unknown>);
    expect(names.length).toBeGreaterThan(0);
    for (const env of names) {
      const config = appConfigFromContext({ ...context, env });
      expect(config.env).toBe(env);
    }
  });
});
