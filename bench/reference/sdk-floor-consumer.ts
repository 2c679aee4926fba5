/**
 * Not an alternative: the floor under both consumers. Per record, the two DynamoDB UpdateItems a
 * consumer makes for a new event (claim, then complete), through the same SDK client ours
 * configures, and nothing else: no parsing, no dedupe key, no log line, no metric. What both
 * consumers cost above it is what they do themselves (docs/benchmarks.md, "Targets").
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDynamoDbClient } from '../../functions/commons/aws/dynamodb-dedupe-store';

const client: DynamoDBClient = createDynamoDbClient();
const table = process.env.DEDUPE_TABLE_NAME;
/** A new key per record, made without reading the record (the floor does no work of its own). */
const run = Math.random().toString(36).slice(2);
let records = 0;

export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  await Promise.all(
    event.Records.map(async () => {
      const Key = { pk: { S: `floor:${run}:${(records += 1)}` } };
      await client.send(
        new UpdateItemCommand({
          TableName: table,
          Key,
          UpdateExpression: 'SET #status = :s',
          ConditionExpression: 'attribute_not_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':s': { S: 'IN_PROGRESS' } },
        }),
      );
      await client.send(
        new UpdateItemCommand({ TableName: table, Key, UpdateExpression: 'SET #status = :s', ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':s': { S: 'COMPLETED' } } }),
      );
    }),
  );
  return { batchItemFailures: [] };
};
