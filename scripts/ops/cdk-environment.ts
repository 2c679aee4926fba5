/**
 * The deployed stack of a cdk.json environment, for the operations commands (`--env prod`): its
 * stack name and region exactly as the app derives them (lib/app-config.ts: top-level keys over
 * the environment's, `stackName` else `CrispBridge-<env>`, `region` else the AWS profile's).
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { deploymentFromContext } from '../../lib/app-config';

export interface StackTarget {
  stackName: string;
  region: string | undefined;
}

export function stackOfEnvironment(env: string | undefined, cwd: string = process.cwd()): StackTarget {
  const file = path.join(cwd, 'cdk.json');
  if (!existsSync(file)) {
    if (env !== undefined) throw new Error(`--env ${env}: no cdk.json in ${cwd}`);
    return { stackName: 'CrispBridge', region: undefined };
  }
  const context = (JSON.parse(readFileSync(file, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
  try {
    const { stackName, region } = deploymentFromContext({ ...context, env });
    return { stackName, region };
  } catch (error) {
    throw new Error(`${env === undefined ? '' : `--env ${env}: `}${(error as Error).message}`);
  }
}
