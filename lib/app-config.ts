/**
 * The reference app's configuration: CDK context, from cdk.json and `-c key=value`.
 *
 * Per-environment settings live in cdk.json under `environments` (`"prod": { "stackName": ...,
 * "websiteId": ..., ... }`) and `-c env=prod` selects one; any configuration key given at the top
 * level (`-c alarmEmail=...`, or in cdk.json for every environment) overrides the environment's.
 * Without `-c env`, the top-level keys are the whole configuration (one stack, `CrispBridge`).
 *
 * Every key is checked: an unknown one (a typo such as `alarmEmial` or `stackname`) stops synth
 * naming the closest known key. CDK's own keys (feature flags `@aws-cdk/...`, `aws:cdk:...`)
 * are recognised by their `:`.
 */
import { CONFIG_KEYS, type CrispBridgeConfig, CrispBridgeConfigError, closest, configFromContext, refuseUnknownKeys } from './config';

/** Keys of the app itself, beside the bridge's configuration keys. */
export const APP_KEYS = ['env', 'environments', 'stackName', 'account', 'region'] as const;
/** Keys an environment entry may hold beside the bridge's configuration keys. */
export const ENVIRONMENT_KEYS = ['stackName', 'account', 'region'] as const;

export interface AppConfig {
  /** The selected environment, undefined without `-c env`. */
  env: string | undefined;
  stackName: string;
  /** The AWS account and region to deploy to, when the environment pins them. */
  account: string | undefined;
  region: string | undefined;
  bridge: CrispBridgeConfig;
}

const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

/** `context`: every context value, as `app.node.getAllContext()` gives it. */
export function appConfigFromContext(context: Record<string, unknown>): AppConfig {
  const { read, ...deployment } = deploymentFromContext(context);
  return { ...deployment, bridge: configFromContext(read) };
}

/** Where an environment deploys (its stack name, account and region), without checking the bridge's settings: for the operations commands. */
export type Deployment = Omit<AppConfig, 'bridge'>;

/**
 * The selected environment's stack name, account and region, as the app derives them, and a
 * reader of its settings (top-level keys over the environment's).
 */
export function deploymentFromContext(context: Record<string, unknown>): Deployment & { read: (key: string) => unknown } {
  const own = Object.keys(context).filter((key) => !key.includes(':') && !key.startsWith('@'));
  refuseUnknownKeys(own, [...Object.keys(CONFIG_KEYS), ...APP_KEYS], 'the CDK context (cdk.json or -c)');

  const environments = context.environments;
  if (environments !== undefined && (typeof environments !== 'object' || environments === null || Array.isArray(environments))) {
    throw new CrispBridgeConfigError('environments', 'crisp-bridge: "environments" in cdk.json must map environment names to their settings.');
  }
  const envs = (environments ?? {}) as Record<string, unknown>;
  const env = typeof context.env === 'string' && context.env.trim() ? context.env.trim() : undefined;
  let selected: Record<string, unknown> = {};
  if (env !== undefined) {
    const entry = envs[env];
    if (entry === undefined) {
      const names = Object.keys(envs);
      const guess = closest(env, names);
      throw new CrispBridgeConfigError(
        'env',
        `crisp-bridge: no environment "${env}" in cdk.json${guess ? `: did you mean "${guess}"?` : '.'} ` +
          (names.length > 0 ? `Environments: ${names.join(', ')}.` : 'Add one under "environments" in cdk.json.'),
      );
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new CrispBridgeConfigError('environments', `crisp-bridge: environments.${env} in cdk.json must be an object of settings.`);
    }
    selected = entry as Record<string, unknown>;
    refuseUnknownKeys(Object.keys(selected), [...Object.keys(CONFIG_KEYS), ...ENVIRONMENT_KEYS], `environments.${env} in cdk.json`);
  }

  // Top-level keys (-c, or cdk.json for every environment) override the environment's.
  const value = (key: string): unknown => (context[key] !== undefined ? context[key] : selected[key]);

  const stackName = text(value('stackName'), 'stackName') ?? (env ? `CrispBridge-${env}` : 'CrispBridge');
  if (!STACK_NAME.test(stackName)) {
    throw new CrispBridgeConfigError('stackName', `crisp-bridge: stackName "${stackName}" is not a CloudFormation stack name (letters, digits and -, starting with a letter).`);
  }
  const account = text(value('account'), 'account');
  if (account !== undefined && !/^\d{12}$/.test(account)) throw new CrispBridgeConfigError('account', `crisp-bridge: account "${account}" is not a 12-digit AWS account ID.`);
  const region = text(value('region'), 'region');
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new CrispBridgeConfigError('region', `crisp-bridge: region "${region}" is not an AWS region (e.g. eu-west-1).`);
  return { env, stackName, account, region, read: value };
}

function text(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new CrispBridgeConfigError(key, `crisp-bridge: ${key} must be a string, got ${JSON.stringify(value)}.`);
  return value.trim();
}
