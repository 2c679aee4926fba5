/** Adapter: the dedupe store (`DedupeStore`) on a DynamoDB table keyed by `pk`. */
import { type AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Claim, ClaimOutcome, DedupeStore } from '../core/dedupe';

/** One client per execution environment; endpoint from `AWS_ENDPOINT_URL_DYNAMODB` when set. */
export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 } });
}

const IN_PROGRESS = 'IN_PROGRESS';
const COMPLETED = 'COMPLETED';
const FAILED = 'FAILED';

const n = (value: number): AttributeValue => ({ N: String(value) });
const s = (value: string): AttributeValue => ({ S: value });

/**
 * Record layout (one item per event): `pk` (the dedupe key), `status` (IN_PROGRESS, COMPLETED,
 * FAILED), `owner` (the claim's random id), `leaseExpiresAt` (epoch ms), `expiresAt` (epoch s, the
 * TTL attribute), and for operators `event`, `websiteId`, `messageId`, `receiveCount`,
 * `deliveryAttempt`, `deliveryAttemptLimit`, `claims`, `firstClaimedAt`, `claimedAt`,
 * `completedAt`, `failures`, `lastError`, `lastFailedAt`.
 */
export function dynamoDbDedupeStore(client: DynamoDBClient, tableName: string): DedupeStore {
  const names = { '#status': 'status', '#owner': 'owner' };
  return {
    async claim(claim: Claim): Promise<ClaimOutcome> {
      const { details } = claim;
      const sets = [
        '#status = :inProgress',
        '#owner = :owner',
        'leaseExpiresAt = :lease',
        'expiresAt = :expires',
        'claimedAt = :now',
        'firstClaimedAt = if_not_exists(firstClaimedAt, :now)',
        '#event = :event',
        'websiteId = :websiteId',
        'messageId = :messageId',
      ];
      const values: Record<string, AttributeValue> = {
        ':inProgress': s(IN_PROGRESS),
        ':completed': s(COMPLETED),
        ':owner': s(claim.owner),
        ':lease': n(claim.leaseExpiresAt),
        ':expires': n(claim.expiresAt),
        ':now': n(claim.now),
        ':nowSeconds': n(Math.floor(claim.now / 1000)),
        ':event': s(details.event),
        ':websiteId': s(details.websiteId),
        ':messageId': s(details.messageId),
        ':one': n(1),
      };
      for (const [field, value] of [
        ['receiveCount', details.receiveCount],
        ['deliveryAttempt', details.deliveryAttempt],
        ['deliveryAttemptLimit', details.deliveryAttemptLimit],
      ] as const) {
        if (value !== undefined) {
          sets.push(`${field} = :${field}`);
          values[`:${field}`] = n(value);
        }
      }
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: s(claim.key) },
            UpdateExpression: `SET ${sets.join(', ')} REMOVE completedAt ADD claims :one`,
            // New key, or an expired record (TTL deletion lags), or a record not completed whose
            // lease has run out (a crashed run, or released after a failure).
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :nowSeconds OR (#status <> :completed AND leaseExpiresAt < :now)',
            ExpressionAttributeNames: { ...names, '#event': 'event' },
            ExpressionAttributeValues: values,
            // A duplicate's record comes back with the failure: one request decides it.
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return 'claimed';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) && (error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
        // Someone has it: done (a duplicate) or in progress elsewhere (retry later).
        const old = (error as { Item?: Record<string, AttributeValue> }).Item;
        if (old?.status?.S !== undefined) return old.status.S === COMPLETED ? 'completed' : 'in_progress';
      }
      // A store that does not return the item with the failure (dynalite, the local emulator,
      // accepts the parameter and ignores it): read it, consistently.
      const current = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: s(claim.key) }, ConsistentRead: true, ProjectionExpression: '#status', ExpressionAttributeNames: { '#status': 'status' } }),
      );
      return current.Item?.status?.S === COMPLETED ? 'completed' : 'in_progress';
    },

    async complete(key, owner, at) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: s(key) },
            UpdateExpression: 'SET #status = :completed, completedAt = :now, expiresAt = :expires',
            ConditionExpression: '#owner = :owner AND #status = :inProgress',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':completed': s(COMPLETED), ':inProgress': s(IN_PROGRESS), ':owner': s(owner), ':now': n(at.now), ':expires': n(at.expiresAt) },
          }),
        );
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async release(key, owner, failure) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: tableName,
            Key: { pk: s(key) },
            UpdateExpression: 'SET #status = :failed, leaseExpiresAt = :zero, lastError = :error, lastFailedAt = :now ADD failures :one',
            ConditionExpression: '#owner = :owner AND #status = :inProgress',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: {
              ':failed': s(FAILED),
              ':inProgress': s(IN_PROGRESS),
              ':owner': s(owner),
              ':zero': n(0),
              ':error': s(failure.error.slice(0, 500) || 'error'),
              ':now': n(failure.now),
              ':one': n(1),
            },
          }),
        );
      } catch (error) {
        // Not ours any more (our lease ran out and another run took over): nothing to free.
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    },
  };
}
