/**
 * A consumer that gets stuck: run in a child process by test/e2e/faults.test.ts, which kills it
 * (SIGKILL) mid-batch, after it has claimed an event in the dedupe store and before it finishes.
 *
 * It polls the hook queue like the local event source and feeds the real use case
 * (`processBatch`) with the real DynamoDB dedupe store; only the handler registry is its own:
 * `message:send` sleeps (60 s by default), so the claim stays IN_PROGRESS until the kill.
 *
 * Environment: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_DYNAMODB (the emulators), QUEUE_URL,
 * QUEUE_ARN, DEDUPE_TABLE_NAME, WORKER_TIMEOUT_MS (the invocation's timeout, default 300),
 * LEASE_MARGIN_MS (default 200), SLEEP_MS (default 60000).
 */
import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { createDynamoDbClient, dynamoDbDedupeStore } from '../../functions/commons/aws/dynamodb-dedupe-store';
import { createLogger } from '../../functions/commons/logger';
import { processBatch } from '../../functions/consumer/process-batch';
import { defineHandlers } from '../../functions/consumer/registry';
import { startPoller } from '../../scripts/local/sqs-poller';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`slow-consumer-worker: ${name} is required`);
  return value;
}

const queueUrl = required('QUEUE_URL');
const queueArn = required('QUEUE_ARN');
const tableName = required('DEDUPE_TABLE_NAME');
const sqsEndpoint = required('AWS_ENDPOINT_URL_SQS');
required('AWS_ENDPOINT_URL_DYNAMODB'); // read by createDynamoDbClient, as in the deployed consumer
const timeoutMs = Number(process.env.WORKER_TIMEOUT_MS ?? 300);
const leaseMarginMs = Number(process.env.LEASE_MARGIN_MS ?? 200);
const sleepMs = Number(process.env.SLEEP_MS ?? 60_000);

const logger = createLogger({ dimensions: { service: 'slow-consumer-worker' } });
const store = dynamoDbDedupeStore(createDynamoDbClient(), tableName);
const handlers = defineHandlers({
  'message:send': async (_event, context) => {
    context.logger.info('slow handler started');
    await new Promise((resolve) => setTimeout(resolve, sleepMs));
    context.logger.info('slow handler finished');
  },
});

const client = new SQSClient({ endpoint: sqsEndpoint, useQueueUrlAsEndpoint: false });

startPoller({
  client,
  queueUrl,
  queueArn,
  concurrency: 1,
  timeoutMs,
  functionName: 'slow-consumer-worker',
  load: async () => (event: SQSEvent, context: Context) =>
    processBatch(event, {
      store,
      handlers,
      logger: logger.child({ requestId: context.awsRequestId }),
      now: Date.now,
      newOwner: randomUUID,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      ttlHours: 1,
      maxReceiveCount: undefined,
      leaseMarginMs,
    }),
  log: (line) => process.stdout.write(JSON.stringify(line) + '\n'),
});
process.stdout.write(JSON.stringify({ message: 'slow consumer worker polling', queueUrl }) + '\n');
