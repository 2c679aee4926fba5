/**
 * A local stand-in for the API Gateway HTTP API: routes requests to the same Lambda handler
 * code that is deployed, as payload format 2.0 events, with the JWT authorizer, CORS, the
 * 10 MB payload limit and API Gateway's own answers for what never reaches a function
 * (404 for unknown routes, 401 from the authorizer, 500 when a function throws).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context';
import { type AuthorizerConfig, verifyAsApiGateway } from './dev-issuer';

export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2 | string | object>;

export interface LocalRoute {
  method: 'GET' | 'POST';
  path: string;
  /** Protected by the JWT authorizer. */
  jwt?: boolean;
  /** Name used for the Lambda context, like the deployed function's. */
  functionName: string;
  /** Loads the handler module (once, like a cold start). */
  load: () => Promise<HttpHandler>;
  /** Function timeout in milliseconds, for `context.getRemainingTimeInMillis()`. Default 10 s. */
  timeoutMs?: number;
}

export interface LocalApiOptions {
  routes: LocalRoute[];
  authorizer: AuthorizerConfig;
  /** Browser origins allowed by CORS. Default none. */
  allowedOrigins?: string[];
  host?: string;
  port?: number;
  /** Where API Gateway-level events are reported (unknown routes, authorizer refusals). */
  log?: (line: Record<string, unknown>) => void;
  /** Local-only pages served before the API's routes (the demo dashboard); undefined: not one. */
  localSite?: (method: string, pathname: string, body: Buffer) => Promise<{ status: number; headers: Record<string, string>; body: string | Buffer } | undefined>;
}

export interface LocalApi {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|xml|x-www-form-urlencoded|javascript)|[^;]*\+json|[^;]*\+xml)/i;

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const handlers = new Map<LocalRoute, Promise<HttpHandler>>();
  const allowedOrigins = options.allowedOrigins ?? [];
  const log = options.log ?? (() => undefined);

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      log({ level: 'ERROR', message: 'local api gateway failure', error: String(error) });
      if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    const origin = req.headers.origin;
    const cors: Record<string, string> = origin && allowedOrigins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : {};

    if (method === 'OPTIONS' && origin && req.headers['access-control-request-method']) {
      // Preflight: answered by API Gateway itself, never by a function or the authorizer.
      const allowed = Object.keys(cors).length > 0;
      res.writeHead(204, allowed ? { ...cors, 'access-control-allow-methods': 'GET,POST', 'access-control-allow-headers': 'authorization,content-type', 'access-control-max-age': '3600' } : {});
      res.end();
      return;
    }

    const route = options.routes.find((r) => r.method === method && r.path === url.pathname);
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { message: 'Request Entity Too Large' }, cors);
    if (!route) {
      const local = await options.localSite?.(method, url.pathname, body);
      if (local) {
        res.writeHead(local.status, local.headers).end(local.body);
        return;
      }
      return send(res, 404, { message: 'Not Found' }, cors);
    }

    let claims: Record<string, string> | undefined;
    if (route.jwt) {
      const auth = verifyAsApiGateway(header(req, 'authorization'), options.authorizer);
      if (!auth.ok) {
        log({ level: 'INFO', message: 'local api gateway: jwt authorizer refused the request', route: `${method} ${route.path}`, reason: auth.description });
        return send(res, 401, { message: 'Unauthorized' }, { ...cors, 'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${auth.description}"` });
      }
      claims = auth.claims;
    }

    const event = toEvent(req, url, `${method} ${route.path}`, body, claims);
    const handlerPromise = handlers.get(route) ?? route.load();
    handlers.set(route, handlerPromise);
    const handler = await handlerPromise;
    const started = Date.now();
    const timeoutMs = route.timeoutMs ?? 10_000;
    const context = lambdaContext(route.functionName, started + timeoutMs);
    let result: Awaited<ReturnType<HttpHandler>>;
    try {
      result = await handler(event, context);
    } catch (error) {
      log({ level: 'ERROR', message: 'local api gateway: function threw', function: route.functionName, error: String(error) });
      return send(res, 500, { message: 'Internal Server Error' }, cors);
    }
    writeResult(res, result, cors);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) {
      drain(req);
      return undefined;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function drain(req: IncomingMessage): void {
  req.resume();
}

/** Payload format 2.0, as API Gateway builds it. */
function toEvent(req: IncomingMessage, url: URL, routeKey: string, body: Buffer, claims: Record<string, string> | undefined): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') cookies.push(...String(value).split(/;\s*/));
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const rawQueryString = url.search.replace(/^\?/, '');
  let queryStringParameters: Record<string, string> | undefined;
  if (rawQueryString) {
    queryStringParameters = {};
    for (const [name, value] of new URLSearchParams(rawQueryString)) {
      queryStringParameters[name] = name in queryStringParameters ? `${queryStringParameters[name]},${value}` : value;
    }
  }
  const now = new Date();
  const contentType = headers['content-type'] ?? '';
  const isText = body.length === 0 || TEXT_TYPES.test(contentType);
  const requestContext = {
    accountId: '000000000000',
    apiId: 'local',
    domainName: headers.host ?? '127.0.0.1',
    domainPrefix: 'local',
    http: {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      protocol: `HTTP/${req.httpVersion}`,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: headers['user-agent'] ?? '',
    },
    requestId: randomUUID(),
    routeKey,
    stage: '$default',
    time: now.toUTCString(),
    timeEpoch: now.getTime(),
    ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
  };
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(queryStringParameters ? { queryStringParameters } : {}),
    requestContext,
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  } as APIGatewayProxyEventV2;
}


/** Payload 2.0 responses: a structured result, or anything else as a 200 JSON body. */
function writeResult(res: ServerResponse, result: unknown, cors: Record<string, string>): void {
  if (typeof result === 'object' && result !== null && 'statusCode' in result) {
    const r = result as APIGatewayProxyStructuredResultV2;
    const headers: Record<string, string | string[]> = { ...cors };
    for (const [name, value] of Object.entries(r.headers ?? {})) headers[name.toLowerCase()] = String(value);
    if (r.cookies?.length) headers['set-cookie'] = r.cookies;
    const body = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body, r.isBase64Encoded ? 'base64' : 'utf8');
    res.writeHead(r.statusCode ?? 200, headers).end(body);
    return;
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result);
  res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(body);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
