/**
 * A local stand-in for the API Gateway HTTP API: routes requests to the same Lambda handler
 * code that is deployed, as payload format 2.0 events, with the JWT authorizer, CORS, the
 * 10 MB payload limit and API Gateway's own answers for what never reaches a function
 * (404 for unknown routes, 401 from the authorizer, 500 when a function throws).
 *
 * Unlike API Gateway, it answers only to itself, on loopback:
 * - it listens on 127.0.0.1 (or ::1), never on a network interface (see ./emulators/loopback);
 * - it answers only requests whose `Host` names it (`127.0.0.1`, `localhost` or `[::1]`, with
 *   its port); every other request gets a 403 `forbidden_host` before anything else happens.
 *   That is the defence against DNS rebinding: a page on evil.example can have its name
 *   re-resolved to 127.0.0.1 and then talk to this server as if same-origin (reading the
 *   answers, minting tokens with `POST /local/token`), but the browser still sends
 *   `Host: evil.example`, which a page really served from this machine never does.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context';
import { type AuthorizerConfig, verifyAsApiGateway } from './dev-issuer';
import { listenOnLoopback } from './emulators/loopback';

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

/** A response from a local-only page. */
export interface LocalResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** A request to a local-only page, once its `Host` has been checked and its body read. */
export interface LocalSiteRequest {
  method: string;
  pathname: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /**
   * This server's own origins (`http://127.0.0.1:<port>`, `http://localhost:<port>`,
   * `http://[::1]:<port>`): the `Origin` a browser sends with a request from its own pages.
   */
  ownOrigins: readonly string[];
}

/** Local-only pages (the demo dashboard): a response, or undefined for "not mine". */
export type LocalSite = (request: LocalSiteRequest) => Promise<LocalResponse | undefined>;

export interface LocalApiOptions {
  routes: LocalRoute[];
  authorizer: AuthorizerConfig;
  /** Browser origins allowed by CORS. Default none. */
  allowedOrigins?: string[];
  /** The loopback address to listen on: `127.0.0.1` (default) or `::1`; anything else throws. */
  host?: string;
  port?: number;
  /** Where API Gateway-level events are reported (unknown routes, authorizer refusals, foreign hosts). */
  log?: (line: Record<string, unknown>) => void;
  /** Local-only pages served when no API route matches (the demo dashboard); undefined: not one. */
  localSite?: LocalSite;
}

export interface LocalApi {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
/** The names of this machine's loopback addresses, as they appear in a URL's host. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'] as const;
/** How much of a refused `Host` is logged. */
const LOGGED_HOST_CHARS = 100;
const TEXT_TYPES = /^(text\/|application\/(json|xml|x-www-form-urlencoded|javascript)|[^;]*\+json|[^;]*\+xml)/i;

export async function startLocalApi(options: LocalApiOptions): Promise<LocalApi> {
  const handlers = new Map<LocalRoute, Promise<HttpHandler>>();
  const allowedOrigins = options.allowedOrigins ?? [];
  const log = options.log ?? (() => undefined);
  // Known once listening (the port may be 0 until then); requests only arrive after that.
  let self: LoopbackIdentity | undefined;

  // A request without Host is refused like a foreign one (403 forbidden_host), rather than by
  // Node's own 400, so that every refusal of the Host check looks the same.
  const server = createServer({ requireHostHeader: false }, (req, res) => {
    serve(req, res).catch((error: unknown) => {
      log({ level: 'ERROR', message: 'local api gateway failure', error: String(error) });
      if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // First of all, before the body is read or any route looked at: see the header comment.
    if (!self || !self.hosts.has(req.headers.host?.toLowerCase() ?? '')) {
      log({ level: 'WARN', message: 'local api gateway: foreign host refused', host: printableHost(req.headers.host) });
      const where = self ? self.origins.join(', ') : 'localhost';
      return send(res, 403, { error: { code: 'forbidden_host', message: `The local stack only answers to localhost: open it at ${where}.` } });
    }
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
      const local = await options.localSite?.({ method, pathname: url.pathname, headers: req.headers, body, ownOrigins: self.origins });
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

  const listening = await listenOnLoopback(server, { port: options.port, host: options.host });
  self = loopbackIdentity(listening.port);
  return {
    url: listening.url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface LoopbackIdentity {
  /** The `Host` values (lowercase) that name this server. */
  hosts: ReadonlySet<string>;
  /** Its origins, as browsers serialize them in `Origin`. */
  origins: readonly string[];
}

/**
 * The hosts and origins of a server on loopback at `port`: `127.0.0.1:<port>`,
 * `localhost:<port>` and `[::1]:<port>`. Clients leave the port out of `Host` only when it is
 * the scheme's default (RFC 9110, 7.2), so the bare names are accepted on port 80 only, where
 * the URL standard drops the port from the origin too.
 */
export function loopbackIdentity(port: number): LoopbackIdentity {
  const hosts = new Set<string>();
  const origins: string[] = [];
  for (const name of LOOPBACK_NAMES) {
    const url = new URL(`http://${name}:${port}`);
    hosts.add(`${name}:${port}`).add(url.host);
    origins.push(url.origin);
  }
  return { hosts, origins };
}

/**
 * A refused `Host` as it can be logged: it is attacker-chosen, so control characters are
 * dropped (no forged log lines) and it is cut to LOGGED_HOST_CHARS. `null`: there was none.
 */
function printableHost(host: string | undefined): string | null {
  if (host === undefined) return null;
  const clean = host.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
  return clean.length > LOGGED_HOST_CHARS ? `${clean.slice(0, LOGGED_HOST_CHARS)}…` : clean;
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
