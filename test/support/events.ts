import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** An HTTP API (payload 2.0) event as API Gateway sends it after its JWT authorizer passed. */
export function jwtEvent(claims: Record<string, string> | undefined, rawQueryString = ''): APIGatewayProxyEventV2WithJWTAuthorizer {
  const event = {
    version: '2.0',
    routeKey: 'GET /ticket-center/url',
    rawPath: '/ticket-center/url',
    rawQueryString,
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', authorization: 'Bearer eyJ...' },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'GET', path: '/ticket-center/url', protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'jest' },
      requestId: randomUUID(),
      routeKey: 'GET /ticket-center/url',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(claims ? { authorizer: { principalId: '', integrationLatency: 0, jwt: { claims, scopes: [] } } } : {}),
    },
    isBase64Encoded: false,
  };
  return event as unknown as APIGatewayProxyEventV2WithJWTAuthorizer;
}

export function lambdaContext(): Context {
  return {
    awsRequestId: randomUUID(),
    functionName: 'test',
    getRemainingTimeInMillis: () => 10_000,
  } as unknown as Context;
}
