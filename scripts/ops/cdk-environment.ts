/**
 * The deployed stack of a cdk.json environment, for the operations commands (`--env prod`):
 * its stack name and region as the app derives them (lib/app-config.ts): `stackName`, else
 * `CrispBridge-<env>`; `region`, else the AWS profile's. Without `--env`: the stack `CrispBridge`.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface StackTarget {
  stackName: string;
  region: string | undefined;
}

export function stackOfEnvironment(env: string | undefined, cwd: string = process.cwd()): StackTarget {
  if (env === undefined) return { stackName: 'CrispBridge', region: undefined };
  const file = path.join(cwd, 'cdk.json');
  if (!existsSync(file)) throw new Error(`--env ${env}: no cdk.json in ${cwd}`);
  const context = (JSON.parse(readFileSync(file, 'utf8')) as { context?: { environments?: Record<string, { stackName?: unknown; region?: unknown }> } }).context;
  const environments = context?.environments ?? {};
  const entry = environments[env];
  if (entry === undefined || typeof entry !== 'object' || entry === null) {
    const names = Object.keys(environments);
    throw new Error(`--env ${env}: no such environment in cdk.json${names.length > 0 ? ` (environments: ${names.join(', ')})` : ''}`);
  }
  return {
    stackName: typeof entry.stackName === 'string' && entry.stackName ? entry.stackName : `CrispBridge-${env}`,
    region: typeof entry.region === 'string' && entry.region ? entry.region : undefined,
  };
}
