/**
 * Where the operations commands act: the hook queue, its dead-letter queue and the dedupe table
 * of a deployed stack (read from its CloudFormation outputs), of the running local stack
 * (`.local/endpoints.json`, written by `npm start`), or given explicitly.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface OpsTarget {
  queueUrl: string;
  deadLetterQueueUrl: string;
  tableName?: string | undefined;
  /** Where it came from, for people. */
  description: string;
}

/** What `npm start` writes so the operations commands can reach the local stack. */
export interface LocalEndpoints {
  /** The local API's base URL (http://localhost:<port>), for npm run hook. */
  apiUrl: string;
  sqsEndpoint: string;
  dynamodbEndpoint: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  tableName: string;
}

export const LOCAL_ENDPOINTS_FILE = 'endpoints.json';

/** A deployed stack's outputs, by key; `otherwise` says what else the command accepts when they cannot be read. */
export async function stackOutputs(cloudFormation: Pick<CloudFormationClient, 'send'>, stackName: string, otherwise: string): Promise<Record<string, string>> {
  try {
    const out = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const stack = out.Stacks?.[0];
    if (!stack) throw new Error(`stack ${stackName} not found`);
    return Object.fromEntries((stack.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } catch (error) {
    throw new Error(`cannot read the outputs of stack "${stackName}": ${(error as Error).message}. Use --stack <name> (or --env <name>) and --region, or ${otherwise}.`);
  }
}

export async function targetFromStack(cloudFormation: CloudFormationClient, stackName: string): Promise<OpsTarget> {
  const outputs = await stackOutputs(cloudFormation, stackName, '--local');
  const queueUrl = outputs.HookQueueUrl;
  const deadLetterQueueUrl = outputs.HookDeadLetterQueueUrl;
  if (!queueUrl || !deadLetterQueueUrl) {
    throw new Error(`stack "${stackName}" has no HookQueueUrl / HookDeadLetterQueueUrl outputs: is it a crisp-bridge stack, deployed with this version?`);
  }
  return { queueUrl, deadLetterQueueUrl, tableName: outputs.DedupeTableName || undefined, description: `stack ${stackName}` };
}

/** Reads the local stack's endpoints and points the AWS SDK at its emulators. */
export function targetFromLocalStack(stateDir: string, env: NodeJS.ProcessEnv = process.env): OpsTarget {
  const file = path.join(stateDir, LOCAL_ENDPOINTS_FILE);
  if (!existsSync(file)) throw new Error(`no local stack found (${file} is missing): start it with npm start`);
  const local = JSON.parse(readFileSync(file, 'utf8')) as LocalEndpoints;
  Object.assign(env, {
    AWS_ENDPOINT_URL_SQS: local.sqsEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB: local.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
  });
  return { queueUrl: local.queueUrl, deadLetterQueueUrl: local.deadLetterQueueUrl, tableName: local.tableName, description: 'the local stack' };
}
