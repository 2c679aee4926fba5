/**
 * The alternative consumer: Powertools for AWS Lambda's documented pattern for SQS (batch
 * processor with partial responses + idempotency on DynamoDB + Logger + Metrics), doing the same
 * job as ours: each event processed once, one outcome log line per event, the EventProcessed
 * metric, and the example handler's work (VisitorMessages counted in total and per origin).
 * The idempotency key is the record body (`eventKeyJmesPath: 'body'`): content-derived like
 * ours, but byte-sensitive (a re-serialised redelivery is a new key).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';

const logger = new Logger({ serviceName: 'consumer' });
const metrics = new Metrics({ namespace: 'CrispBridge', serviceName: 'consumer' });
const processor = new BatchProcessor(EventType.SQS);
const persistenceStore = new DynamoDBPersistenceLayer({ tableName: process.env.IDEMPOTENCY_TABLE_NAME ?? 'idempotency' });
const config = new IdempotencyConfig({ eventKeyJmesPath: 'body', expiresAfterSeconds: 168 * 3600 });

const processRecord = makeIdempotent(
  async (record: SQSRecord) => {
    const event = JSON.parse(record.body) as { event: string; website_id: string; data?: { from?: string; origin?: string } };
    if (event.event === 'message:send' && event.data?.from === 'user') {
      // Per origin: a single metric with its own dimension (Powertools publishes it at once).
      metrics.addMetric('VisitorMessages', MetricUnit.Count, 1);
      const perOrigin = metrics.singleMetric();
      perOrigin.addDimension('origin', event.data.origin ?? 'unknown');
      perOrigin.addMetric('VisitorMessages', MetricUnit.Count, 1);
    }
    metrics.addMetric('EventProcessed', MetricUnit.Count, 1);
    logger.info('crisp event processed', { event: event.event, website_id: event.website_id, messageId: record.messageId });
    return true;
  },
  { persistenceStore, config },
);

export const handler = async (event: SQSEvent, context: Context) => {
  config.registerLambdaContext(context);
  try {
    return await processPartialResponse(event, processRecord, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
