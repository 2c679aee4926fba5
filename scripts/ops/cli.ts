/** What the operations commands share: choosing the target and building the clients. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localStateDir } from '../local/dev-issuer';
import { stackOfEnvironment } from './cdk-environment';
import { type OpsTarget, targetFromLocalStack, targetFromStack } from './target';

export const TARGET_OPTIONS = {
  stack: { type: 'string' },
  env: { type: 'string' },
  region: { type: 'string' },
  local: { type: 'boolean', default: false },
  'queue-url': { type: 'string' },
  'dlq-url': { type: 'string' },
  table: { type: 'string' },
} as const;

export const TARGET_HELP = `Target (default: the deployed stack CrispBridge, in AWS_REGION / your AWS profile's region):
  --env <name>         the stack of that cdk.json environment (its stackName, else CrispBridge-<name>, and region)
  --stack <name>       the stack name (default CrispBridge)
  --region <region>    its region
  --local              the local stack started with npm start
  --queue-url <url> --dlq-url <url> [--table <name>]   explicit queues and dedupe table
`;

export interface TargetValues {
  stack?: string | undefined;
  env?: string | undefined;
  region?: string | undefined;
  local?: boolean | undefined;
  'queue-url'?: string | undefined;
  'dlq-url'?: string | undefined;
  table?: string | undefined;
}

export interface OpsContext {
  target: OpsTarget;
  sqs: SQSClient;
  dynamodb: DynamoDBClient;
}

export async function opsContext(values: TargetValues): Promise<OpsContext> {
  let target: OpsTarget;
  let region = values.region;
  if (values.local) {
    target = targetFromLocalStack(localStateDir());
  } else if (values['queue-url'] || values['dlq-url']) {
    if (!values['queue-url'] || !values['dlq-url']) throw new Error('--queue-url and --dlq-url go together');
    target = { queueUrl: values['queue-url'], deadLetterQueueUrl: values['dlq-url'], tableName: values.table, description: 'the given queues' };
  } else {
    if (values.stack !== undefined && values.env !== undefined) throw new Error('--stack and --env name the same thing: give one');
    const fromEnv = stackOfEnvironment(values.env);
    region ??= fromEnv.region;
    target = await targetFromStack(new CloudFormationClient({ region }), values.stack ?? fromEnv.stackName);
  }
  return {
    target,
    // The endpoint (AWS_ENDPOINT_URL_SQS when set) serves every queue URL.
    sqs: new SQSClient({ region, useQueueUrlAsEndpoint: false }),
    dynamodb: new DynamoDBClient({ region }),
  };
}
