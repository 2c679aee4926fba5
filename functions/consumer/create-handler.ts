/**
 * The SQS-triggered consumer (partial batch responses) for a handler module: dedupes through
 * DynamoDB and runs the module's handlers once per event. The construct bundles a two-line entry
 * that calls this with your module (or the shipped example); the local stack and the tests call
 * it the same way. Everything is wired once per cold start, and a module that declares a setting
 * or secret the deployment lacks fails here, naming it.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDynamoDbClient, dynamoDbDedupeStore } from '../commons/aws/dynamodb-dedupe-store';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient, secretsManagerSource } from '../commons/aws/secrets-manager';
import { createSqsClient, sqsDeadLetterQueue } from '../commons/aws/sqs';
import { createEventBridgeClient, eventBridgePublisher } from '../commons/aws/eventbridge';
import type { Env } from '../commons/env';
import { createLogger } from '../commons/logger';
import { CachedSecret } from '../commons/secrets';
import { loadConsumerConfig, loadHandlerConfig } from './config';
import { crispApiFactory } from './crisp-api';
import { SecretUnavailableError } from './errors';
import { processBatch } from './process-batch';
import { type HandlerSecrets, handlerSetOf } from './registry';

export type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export function createConsumerHandler(handlerModule: unknown, env: Env = process.env): ConsumerHandler {
  const config = loadConsumerConfig(env);
  const handlers = handlerSetOf(handlerModule);
  const handlerConfig = loadHandlerConfig(env, handlers);
  const logger = createLogger({ dimensions: { service: 'consumer' } });
  const store = dynamoDbDedupeStore(createDynamoDbClient(), config.tableName);
  // The SQS client is made on the first dead letter, not at cold start: most environments never send one.
  const deadLetter = config.deadLetterQueueUrl ? sqsDeadLetterQueue(createSqsClient, config.deadLetterQueueUrl) : undefined;
  // Only with BUS_NAME set (the construct's eventBus on): no EventBridge client otherwise.
  const eventBus = config.eventBus && { publisher: eventBridgePublisher(createEventBridgeClient(), config.eventBus.busName), source: config.eventBus.source };
  // One Secrets Manager client for the handlers' secrets and the Crisp API token, made only if either needs it.
  let secretsClient: SecretsManagerClient | undefined;
  const sharedSecretsClient = (): SecretsManagerClient => (secretsClient ??= createSecretsManagerClient());
  const secrets = handlerSecrets(handlerConfig.secretIds, logger, sharedSecretsClient);
  const crispApi = crispApiFactory(env, logger, { secretsClient: sharedSecretsClient });

  return (event, context) =>
    processBatch(event, {
      store,
      handlers,
      settings: handlerConfig.settings,
      secrets,
      deadLetter,
      eventBus,
      logger: logger.child({ requestId: context.awsRequestId }),
      now: Date.now,
      newOwner: randomUUID,
      remainingTimeMs: () => context.getRemainingTimeInMillis(),
      ttlHours: config.ttlHours,
      maxReceiveCount: config.maxReceiveCount,
      leaseMarginMs: config.leaseMarginMs,
      crispApi,
    });
}

/**
 * `context.secrets`: one cached secret per declared name, with the bridge's own cache, refresh
 * and error handling; the Secrets Manager client is made only if a secret is declared.
 */
function handlerSecrets(
  secretIds: Readonly<Record<string, string>>,
  logger: ReturnType<typeof createLogger>,
  secretsClient: () => SecretsManagerClient,
): HandlerSecrets | undefined {
  const names = Object.keys(secretIds);
  if (names.length === 0) return undefined; // processBatch's default: every get rejects, not declared
  const client = secretsClient();
  const cache = new Map<string, CachedSecret>();
  for (const name of names) {
    const secretId = secretIds[name]!;
    cache.set(name, new CachedSecret({ label: `handler secret ${name}`, secretId, fetch: secretsManagerSource(client, secretId), logger }));
  }
  return {
    async get(name) {
      const secret = cache.get(name);
      if (!secret) throw new SecretUnavailableError(name, 'not declared');
      const result = await secret.get();
      if (!result.ok) throw new SecretUnavailableError(name, result.reason);
      return result.value;
    },
  };
}
