/**
 * The SQS-triggered consumer (partial batch responses): dedupes through DynamoDB and runs the
 * handlers registered in `handlers/index.ts`, once per event.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDynamoDbClient, dynamoDbDedupeStore } from '../commons/aws/dynamodb-dedupe-store';
import { createLogger } from '../commons/logger';
import { loadConsumerConfig } from './config';
import { handlers } from './handlers';
import { processBatch } from './process-batch';

const config = loadConsumerConfig(process.env);
const logger = createLogger({ dimensions: { service: 'consumer' } });
const store = dynamoDbDedupeStore(createDynamoDbClient(), config.tableName);

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  return processBatch(event, {
    store,
    handlers,
    logger: logger.child({ requestId: context.awsRequestId }),
    now: Date.now,
    newOwner: randomUUID,
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
    ttlHours: config.ttlHours,
    maxReceiveCount: config.maxReceiveCount,
    leaseMarginMs: config.leaseMarginMs,
  });
}
