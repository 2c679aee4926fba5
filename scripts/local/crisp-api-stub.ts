/**
 * A local stand-in for Crisp's REST API (v1), for the local stack and the tests: the routes
 * `context.crisp` uses, over real HTTP on the loopback interface only (see ./emulators/loopback).
 *
 * - Checks authentication as Crisp does for a plugin token: `Authorization: Basic
 *   base64(identifier:key)` matching the token it was given, and `X-Crisp-Tier: plugin`.
 * - Stores messages by website, session and fingerprint, so `GET .../message/{fingerprint}` finds
 *   what was posted (a fingerprint is generated when the request has none).
 * - Records every call (`calls()`: method, route, status, and the JSON body) and logs one line per
 *   call, `crisp api call` (method, route, status; never the token, never a body).
 * - Fails on demand: `failNext(n, status)` answers the next n calls with `status` (Crisp's error
 *   body) without doing anything; `{ afterApplying: true }` does the work first, then answers
 *   `status` (a response lost after Crisp acted); `status: 'reset'` drops the connection;
 *   `delayNext(n, ms)` answers late (a timeout).
 *
 * Wire it into the local stack: `CRISP_API_URL=<stub.url>` for the consumer, and the token
 * secret `{"identifier","key"}` in the Secrets Manager emulator, its ARN in
 * `CRISP_API_TOKEN_SECRET_ID` (docs/crisp-api.md, "Locally").
 */
import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createLogger, type Logger } from '../../functions/commons/logger';
import { listenOnLoopback } from './emulators/loopback';

export interface CrispApiStubToken {
  identifier: string;
  key: string;
}

export interface CrispApiStubCall {
  method: string;
  /** The path below `/v1`, without its query string. */
  route: string;
  status: number;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
  /** How the stub failed this call on purpose, if it did. */
  injected?: 'before' | 'after' | 'reset' | 'delay';
}

export interface StoredMessage {
  website_id: string;
  session_id: string;
  fingerprint: number;
  type: string;
  from: string;
  origin: string;
  content: unknown;
  timestamp: number;
  automated?: boolean;
  user?: unknown;
  [extra: string]: unknown;
}

export interface FailOptions {
  /** Do what the call asks first, then answer the failure (the response is lost after Crisp acted). */
  afterApplying?: boolean;
  /** Fail only calls with this method (`POST`); others pass. Default: any call. */
  method?: string;
}

export interface CrispApiStub {
  /** `http://127.0.0.1:<port>/v1`: the value for `CRISP_API_URL`. */
  readonly url: string;
  /** Every call so far, oldest first (a copy). */
  calls(): CrispApiStubCall[];
  /** The next `count` calls fail with `status` (an HTTP status, or `'reset'` to drop the connection). */
  failNext(count: number, status: number | 'reset', options?: FailOptions): void;
  /** The next `count` calls are answered after `ms` milliseconds. */
  delayNext(count: number, ms: number): void;
  /** Messages posted to a conversation, oldest first. */
  messages(websiteId: string, sessionId: string): StoredMessage[];
  /** Forgets calls, messages, conversations and pending failures. */
  reset(): void;
  close(): Promise<void>;
}

export interface CrispApiStubOptions {
  token: CrispApiStubToken;
  /** Default: a free port. */
  port?: number;
  /** A loopback address. Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
}

interface Conversation {
  state: string;
  meta: Record<string, unknown>;
  messages: Map<number, StoredMessage>;
  created_at: number;
  updated_at: number;
}

const STATES = ['pending', 'unresolved', 'resolved'];
const MESSAGE_TYPES = ['text', 'note', 'file', 'animation', 'audio', 'picker', 'field', 'carousel', 'event'];

export async function startCrispApiStub(options: CrispApiStubOptions): Promise<CrispApiStub> {
  const logger = options.logger ?? createLogger({ dimensions: { service: 'crisp-api-stub' } });
  const expected = `Basic ${Buffer.from(`${options.token.identifier}:${options.token.key}`, 'utf8').toString('base64')}`;
  const conversations = new Map<string, Conversation>();
  const calls: CrispApiStubCall[] = [];
  const failures: { status: number | 'reset'; afterApplying: boolean; method: string | undefined }[] = [];
  const delays: number[] = [];

  const conversationOf = (websiteId: string, sessionId: string): Conversation => {
    const id = `${websiteId}/${sessionId}`;
    let conversation = conversations.get(id);
    if (!conversation) {
      const now = Date.now();
      conversation = { state: 'pending', meta: {}, messages: new Map(), created_at: now, updated_at: now };
      conversations.set(id, conversation);
    }
    return conversation;
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: true, reason: 'server_error', data: {} }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    const route = path.replace(/^\/v1(?=\/)/, '');
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    const record = (status: number, injected?: CrispApiStubCall['injected']) => {
      calls.push({ method, route, status, ...(body !== undefined ? { body } : {}), ...(injected ? { injected } : {}) });
      logger.info('crisp api call', { method, route, status, ...(injected ? { injected } : {}) });
    };
    const send = (status: number, payload: { error: boolean; reason: string; data?: unknown }, injected?: CrispApiStubCall['injected']) => {
      record(status, injected);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ data: {}, ...payload }));
    };

    const delay = delays.shift();
    if (delay !== undefined) {
      // Answer late, unless the client gives up first.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        res.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (res.destroyed || req.socket.destroyed) {
      record(0, 'delay');
      return;
    }

    if (!path.startsWith('/v1/')) return send(404, { error: true, reason: 'not_found' });
    if (req.headers.authorization !== expected) return send(401, { error: true, reason: 'invalid_session' });
    if (req.headers['x-crisp-tier'] !== 'plugin') return send(403, { error: true, reason: 'not_allowed' });
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return send(400, { error: true, reason: 'invalid_data' });
      }
    }

    const index = failures.findIndex((candidate) => candidate.method === undefined || candidate.method === method);
    const failure = index === -1 ? undefined : failures.splice(index, 1)[0];
    if (failure && !failure.afterApplying) return fail(failure.status, 'before');
    const result = apply(method, route, body);
    if (failure) return fail(failure.status, 'after');
    return send(result.status, result.payload);

    function fail(status: number | 'reset', when: 'before' | 'after'): void {
      if (status === 'reset') {
        record(0, 'reset');
        req.socket.destroy();
        return;
      }
      send(status, { error: true, reason: status === 429 || status === 420 ? 'rate_limited' : status >= 500 ? 'server_error' : 'invalid_data' }, when);
    }
  }

  /** Does what the call asks; the answer Crisp would give. */
  function apply(method: string, route: string, body: unknown): { status: number; payload: { error: boolean; reason: string; data?: unknown } } {
    const match = /^\/website\/([^/]+)\/conversation\/([^/]+)(?:\/(message|state|meta)(?:\/([^/]+))?)?$/.exec(route);
    if (!match) return { status: 404, payload: { error: true, reason: 'not_found' } };
    const [, websiteId, sessionId, part, fingerprintText] = match.map((value) => (value === undefined ? undefined : decodeURIComponent(value))) as [string, string, string, string | undefined, string | undefined];
    const input = (body ?? {}) as Record<string, unknown>;
    const conversation = conversationOf(websiteId, sessionId);

    if (part === undefined && method === 'GET') {
      return {
        status: 200,
        payload: {
          error: false,
          reason: 'resolved',
          data: { session_id: sessionId, website_id: websiteId, state: conversation.state, meta: conversation.meta, created_at: conversation.created_at, updated_at: conversation.updated_at },
        },
      };
    }
    if (part === 'message' && fingerprintText === undefined && method === 'POST') {
      const { type, from, origin, content } = input;
      if (typeof type !== 'string' || !MESSAGE_TYPES.includes(type) || (from !== 'operator' && from !== 'user') || typeof origin !== 'string' || content === undefined) {
        return { status: 400, payload: { error: true, reason: 'invalid_data' } };
      }
      if (input.fingerprint !== undefined && !Number.isSafeInteger(input.fingerprint)) return { status: 400, payload: { error: true, reason: 'invalid_data' } };
      const fingerprint = (input.fingerprint as number | undefined) ?? randomInt(1, 2 ** 47);
      conversation.messages.set(fingerprint, { ...input, website_id: websiteId, session_id: sessionId, fingerprint, type, from, origin, content, timestamp: Date.now() });
      conversation.updated_at = Date.now();
      return { status: 202, payload: { error: false, reason: 'dispatched', data: { fingerprint } } };
    }
    if (part === 'message' && fingerprintText !== undefined && method === 'GET') {
      const message = /^\d+$/.test(fingerprintText) ? conversation.messages.get(Number(fingerprintText)) : undefined;
      return message ? { status: 200, payload: { error: false, reason: 'resolved', data: message } } : { status: 404, payload: { error: true, reason: 'message_not_found' } };
    }
    if (part === 'state' && method === 'PATCH') {
      if (typeof input.state !== 'string' || !STATES.includes(input.state)) return { status: 400, payload: { error: true, reason: 'invalid_data' } };
      conversation.state = input.state;
      return { status: 200, payload: { error: false, reason: 'updated' } };
    }
    if (part === 'meta' && method === 'PATCH') {
      Object.assign(conversation.meta, input);
      return { status: 200, payload: { error: false, reason: 'updated' } };
    }
    return { status: 404, payload: { error: true, reason: 'not_found' } };
  }

  const { url } = await listenOnLoopback(server, { port: options.port, host: options.host });
  return {
    url: `${url}/v1`,
    calls: () => calls.map((call) => ({ ...call })),
    failNext(count, status, failOptions = {}) {
      for (let i = 0; i < count; i += 1) failures.push({ status, afterApplying: failOptions.afterApplying ?? false, method: failOptions.method?.toUpperCase() });
    },
    delayNext(count, ms) {
      for (let i = 0; i < count; i += 1) delays.push(ms);
    },
    messages: (websiteId, sessionId) => [...(conversations.get(`${websiteId}/${sessionId}`)?.messages.values() ?? [])],
    reset() {
      calls.length = 0;
      failures.length = 0;
      delays.length = 0;
      conversations.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
