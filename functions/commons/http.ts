import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Headers on every JSON answer: nothing is cached, nothing is sniffed. */
const BASE_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...BASE_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** The contract's error shape: `{"error": {"code": "...", "message": "..."}}`. */
export function errorResponse(statusCode: number, code: string, message: string, extra: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return jsonResponse(statusCode, { error: { code, message, ...extra } });
}
