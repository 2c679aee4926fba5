/**
 * The alternative signer: the same signing core as ours, with Powertools for AWS Lambda's
 * Parameters (`getSecret`, cached 5 minutes) for the secret and its Logger. It measures what
 * our own secret cache, logger and adapters save or cost.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { APIGatewayProxyEventV2WithJWTAuthorizer } from 'aws-lambda';
import { buildTicketCenterUrl, identityFromClaims, parseTicketCenterQuery, ticketCenterResponseBody } from '../../functions/commons/core/ticket-center';

const logger = new Logger({ serviceName: 'ticket-center-url' });
const policy = { emailClaim: 'email', requireEmailVerified: true, lowercaseEmail: false };

export const handler = async (event: APIGatewayProxyEventV2WithJWTAuthorizer) => {
  const identity = identityFromClaims(event.requestContext.authorizer?.jwt?.claims, policy);
  const query = parseTicketCenterQuery(event.rawQueryString);
  if (!identity.ok || !query.ok) return { statusCode: 400, body: '{"error":{"code":"invalid"}}' };
  const secret = await getSecret(process.env.TICKET_CENTER_SECRET_ID ?? '', { maxAge: 300 });
  if (typeof secret !== 'string') return { statusCode: 503, body: '{"error":{"code":"secret_unavailable"}}' };
  const url = buildTicketCenterUrl({ websiteId: process.env.CRISP_WEBSITE_ID ?? '', email: identity.value.email, ...query.value }, secret);
  logger.info('ticket center url signed');
  return { statusCode: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify(ticketCenterResponseBody(url)) };
};
