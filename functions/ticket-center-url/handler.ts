/**
 * GET /ticket-center/url — behind API Gateway's JWT authorizer.
 * Thin: wire the ports once per cold start, translate the event, map the outcome to HTTP.
 */
import type { APIGatewayProxyEventV2WithJWTAuthorizer, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createSecretsManagerClient, secretsManagerSource } from '../commons/aws/secrets-manager';
import { errorResponse, jsonResponse } from '../commons/http';
import { createLogger } from '../commons/logger';
import { CachedSecret } from '../commons/secrets';
import { loadSignerConfig } from './config';
import { signTicketCenterUrl } from './sign-ticket-center-url';

const config = loadSignerConfig(process.env);
const logger = createLogger({ dimensions: { service: 'ticket-center-url' } });
const secret = new CachedSecret({
  label: 'Ticket Center secret',
  secretId: config.secretId,
  fetch: secretsManagerSource(createSecretsManagerClient(), config.secretId),
  logger,
  refreshAfterMs: config.secretRefreshSeconds * 1000,
});

export async function handler(event: APIGatewayProxyEventV2WithJWTAuthorizer, context: Context): Promise<APIGatewayProxyStructuredResultV2> {
  const log = logger.child({ requestId: context.awsRequestId });
  try {
    const outcome = await signTicketCenterUrl(
      { claims: event.requestContext?.authorizer?.jwt?.claims, rawQueryString: event.rawQueryString },
      { config, secret, logger: log },
    );
    if (outcome.ok) return jsonResponse(200, outcome.body);
    // The contract's error shape only: `parameterHash` is for the log (the message already shows it).
    const { status, code, message, parameter } = outcome.refusal;
    return errorResponse(status, code, message, parameter === undefined ? {} : { parameter });
  } catch (error) {
    log.error('ticket center url failed', { error }, { TicketCenterUrlFailed: 1 });
    return errorResponse(500, 'internal_error', 'Something went wrong while signing the Ticket Center URL.');
  }
}
