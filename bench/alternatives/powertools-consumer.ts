/**
 * The alternative consumer: Powertools for AWS Lambda's documented pattern for SQS (batch
 * processor with partial responses + idempotency on DynamoDB + Logger), doing the same job as
 * ours: one event processed once, the example handler's work (one structured log line).
 * The idempotency key is the record body (`eventKeyJmesPath: 'body'`): content-derived like
 * ours, but byte-sensitive (a re-serialised redelivery is a new key).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

const logger = new Logger({ serviceName: 'consumer' });
const processor = new BatchProcessor(EventType.SQS);
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: process.env.IDEMPOTENCY_TABLE_NAME ?? 'idempotency' });
const config = new IdempotencyConfig({ eventKeyJmesPath: 'body', expiresAfterSeconds: 168 * 3600 });

const processRecord = makeIdempotent(
  async (record: SQSRecord) => {
    const event = JSON.parse(record.body) as { event: string; website_id: string; data?: { from?: string; session_id?: string; type?: string } };
    if (event.event === 'message:send' && event.data?.from === 'user') {
      logger.info('visitor message', { session_id: event.data.session_id, type: event.data.type });
    }
    logger.info('crisp event processed', { event: event.event, website_id: event.website_id });
    return true;
  },
  { persistenceStore, config },
);

export const handler = async (event: SQSEvent, context: Context) => {
  config.registerLambdaContext(context);
  return processPartialResponse(event, processRecord, processor, { context });
};
