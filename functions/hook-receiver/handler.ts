/**
 * POST /hooks/crisp (Plugin Hooks, signed) and POST /hooks/crisp/website?key=... (Website Hooks).
 * No API Gateway authorizer: the function authenticates, because only it sees the body.
 * Thin: wire the ports once per cold start, translate the event, map the outcome to HTTP.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createSecretsManagerClient, secretsManagerSource } from '../commons/aws/secrets-manager';
import { createSqsClient, sqsHookQueue } from '../commons/aws/sqs';
import { parseSecretPair } from '../commons/core/hook-signature';
import { jsonResponse } from '../commons/http';
import { createLogger } from '../commons/logger';
import { CachedSecret, SecretFetchError } from '../commons/secrets';
import { loadReceiverConfig } from './config';
import { receiveHook } from './receive-hook';

const config = loadReceiverConfig(process.env);
const logger = createLogger({ dimensions: { service: 'hook-receiver' } });
const secretsManager = createSecretsManagerClient();

const pairSecret = (label: string, secretId: string) =>
  new CachedSecret({
    label,
    secretId,
    fetch: secretsManagerSource(secretsManager, secretId),
    logger,
    refreshAfterMs: config.secretRefreshSeconds * 1000,
    parse: (value) => {
      try {
        return parseSecretPair(value);
      } catch (error) {
        throw new SecretFetchError('malformed', (error as Error).message);
      }
    },
  });

const hookSecret = pairSecret('Crisp hook signing secret', config.hookSecretId);
const websiteKey = config.websiteHookKeyId ? pairSecret('Crisp Website Hook key', config.websiteHookKeyId) : undefined;
const queue = sqsHookQueue(createSqsClient(), config.queueUrl);

export async function handler(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const log = logger.child({ requestId: context.awsRequestId });
  try {
    const { status, body } = await receiveHook(
      {
        kind: event.routeKey?.endsWith('/website') || event.rawPath?.endsWith('/website') ? 'website' : 'plugin',
        headers: event.headers,
        body: event.body,
        isBase64Encoded: event.isBase64Encoded,
        rawQueryString: event.rawQueryString,
      },
      { config, hookSecret, websiteKey, queue, now: Date.now, logger: log },
    );
    return jsonResponse(status, body);
  } catch (error) {
    // Not 2xx: Crisp retries. Nothing was acknowledged.
    log.error('hook failed', { error }, { HookFailed: 1 }, { reason: 'internal_error' });
    return jsonResponse(500, { error: { code: 'internal_error', message: 'The hook could not be processed; retry later.' } });
  }
}
