/**
 * The local stack answers only to itself (a security review's findings, each checked here):
 * - every socket it opens, the emulators' included, listens on loopback (read from /proc, and
 *   cross-checked with `ss` when it is installed), and a non-loopback `host` is refused;
 * - a request whose `Host` is not localhost/127.0.0.1/[::1] with the stack's port gets 403
 *   `forbidden_host` on every route, before its body is read: the defence against DNS
 *   rebinding, where a page on evil.example re-resolves its name to 127.0.0.1;
 * - `POST /local/token` mints tokens only for a JSON request carrying the stack's own Origin.
 *
 * Requests are made with node:http, which sends the `Host` and `Origin` it is given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loopbackIdentity } from '../../scripts/local/api-gateway';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { LOOPBACK_ADDRESSES, type ListeningSocket, listeningSocketsFromProc, listeningSocketsFromSs } from '../support/listening-sockets';
import { interceptStdout } from '../support/stdout';
const RECORDING_HANDLERS = path.join(__dirname, '..', 'fixtures', 'handlers', 'recording.ts');

let stack: LocalStack;
let stateDir: string;
let port: number;
/** Listening sockets of this process before the stack started (none expected, but jest may reuse a worker). */
let before: ListeningSocket[];
const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;
const gatewayLog: Array<Record<string, unknown>> = [];

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (undefined if not JSON); `any` keeps the assertions short. */
  json: any;
}

interface RawRequest {
  method?: string;
  path?: string;
  /** The Host header; `null`: none at all. Default `127.0.0.1:<port>`. */
  host?: string | null;
  headers?: Record<string, string>;
  body?: string;
}

/** A request to the stack (always reached at 127.0.0.1), with exactly the Host it is given. */
function send(options: RawRequest = {}): Promise<Answer> {
  const host = options.host === undefined ? `127.0.0.1:${port}` : options.host;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        agent: false,
        setHost: false,
        headers: { ...(host === null ? {} : { host }), ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** `POST /local/token` as the demo page sends it, with what a test changes. */
function tokenRequest(headers: Record<string, string | undefined>, host?: string): Promise<Answer> {
  const defined = Object.fromEntries(Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return send({ method: 'POST', path: '/local/token', host, headers: defined, body: JSON.stringify({ email: 'jane@example.com', name: 'Jane' }) });
}

const ownOrigin = (): string => `http://127.0.0.1:${port}`;
const refusalsLogged = () => gatewayLog.filter((line) => line.message === 'local api gateway: foreign host refused');

beforeAll(async () => {
  interceptStdout(stdoutChunks);
  before = listeningSocketsFromProc();
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-e2e-lockdown-'));
  stack = await startLocalStack({ port: 0, stateDir, consumer: true, handlers: RECORDING_HANDLERS, faultInjection: true, log: (line) => gatewayLog.push(line) });
  port = Number(new URL(stack.url).port);
});

afterAll(async () => {
  await stack?.close();
  process.stdout.write = originalWrite;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('every socket of the local stack listens on loopback', () => {
  /** The ports of the stack's servers: the API, the three emulators and their fault proxies. */
  const stackPorts = (): number[] =>
    [stack.url, stack.sqs.endpoint, stack.dynamodb.endpoint, stack.secretsManager.endpoint, ...Object.values(stack.faults!).map((proxy) => proxy.endpoint)].map((url) =>
      Number(new URL(url).port),
    );

  test('/proc: every listening TCP socket of this process is on 127.0.0.1 or ::1, the stack servers among them', () => {
    const sockets = listeningSocketsFromProc();
    expect(sockets.filter((socket) => !LOOPBACK_ADDRESSES.includes(socket.address))).toEqual([]);
    // API + SQS + DynamoDB + Secrets Manager, and the three fault proxies.
    const opened = sockets.filter((socket) => !before.some((old) => old.port === socket.port));
    expect(opened.length).toBeGreaterThanOrEqual(7);
    const listeningPorts = new Set(sockets.map((socket) => socket.port));
    for (const stackPort of stackPorts()) expect({ stackPort, listening: listeningPorts.has(stackPort) }).toEqual({ stackPort, listening: true });
  });

  test('ss -ltnp (when installed) sees the same sockets', () => {
    const fromSs = listeningSocketsFromSs();
    // No ss on this machine, or one that cannot see processes (-p needs /proc access): /proc is the check.
    if (fromSs === undefined || fromSs.length === 0) return;
    const key = (s: ListeningSocket) => `${s.address} ${s.port}`;
    expect(fromSs.map(key).sort()).toEqual(listeningSocketsFromProc().map(key).sort());
    expect(fromSs.filter((socket) => !LOOPBACK_ADDRESSES.includes(socket.address))).toEqual([]);
  });

  test('the /proc check does see a socket on all interfaces (it is not vacuous)', async () => {
    const wildcard = createServer();
    await new Promise<void>((resolve) => wildcard.listen(0, '0.0.0.0', resolve));
    try {
      const { port: wildcardPort } = wildcard.address() as AddressInfo;
      expect(listeningSocketsFromProc()).toContainEqual({ address: '0.0.0.0', port: wildcardPort });
    } finally {
      await new Promise<void>((resolve) => wildcard.close(() => resolve()));
    }
  });

  test.each(['0.0.0.0', '::', '192.168.1.10', 'example.com'])('host %s is refused before anything starts', async (host) => {
    const sockets = listeningSocketsFromProc().length;
    await expect(startLocalStack({ host, stateDir })).rejects.toThrow(/loopback only/);
    expect(listeningSocketsFromProc()).toHaveLength(sockets);
  });
});

describe('a foreign Host gets 403 forbidden_host on every route', () => {
  const foreign = () => `evil.example:${port}`;
  const preflight = { origin: 'http://evil.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' };
  test.each<[string, RawRequest]>([
    ['GET /', { path: '/' }],
    ['GET /demo.js', { path: '/demo.js' }],
    ['GET /ticket-center/url', { path: '/ticket-center/url' }],
    ['POST /hooks/crisp', { method: 'POST', path: '/hooks/crisp', headers: { 'content-type': 'application/json' }, body: '{}' }],
    ['POST /local/token', { method: 'POST', path: '/local/token', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body: '{"email":"a@b.c"}' }],
    ['GET /an/unknown/path', { path: '/an/unknown/path' }],
    ['OPTIONS /ticket-center/url (preflight)', { method: 'OPTIONS', path: '/ticket-center/url', headers: preflight }],
  ])('%s', async (_name, request) => {
    const logged = refusalsLogged().length;
    const answer = await send({ ...request, host: foreign() });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('forbidden_host');
    expect(answer.json.error.message).toMatch(/only answers to localhost/);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(refusalsLogged()).toHaveLength(logged + 1);
    expect(refusalsLogged().at(-1)).toMatchObject({ level: 'WARN', host: foreign() });
  });

  test.each([
    ['another port of 127.0.0.1', () => `127.0.0.1:${port + 1 === 65536 ? port - 1 : port + 1}`],
    ['localhost without its port', () => 'localhost'],
    ['a name that resolves to loopback, but not localhost', () => `localhost.evil.example:${port}`],
    ['localhost with a trailing dot', () => `localhost.:${port}`],
    ['an IP of the machine that is not loopback', () => `192.168.1.10:${port}`],
  ])('%s', async (_name, host) => {
    const answer = await send({ host: host() });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('forbidden_host');
  });

  test('no Host at all', async () => {
    const answer = await send({ host: null });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('forbidden_host');
    expect(refusalsLogged().at(-1)).toMatchObject({ host: null });
  });

  test.each([
    ['127.0.0.1', () => `127.0.0.1:${port}`],
    ['localhost', () => `localhost:${port}`],
    ['LOCALHOST (names are case-insensitive)', () => `LOCALHOST:${port}`],
    ['[::1]', () => `[::1]:${port}`],
  ])('the stack own names are answered: %s', async (_name, host) => {
    const answer = await send({ host: host() });
    expect(answer.status).toBe(200);
  });

  test('a Host without port is accepted only for port 80, where clients leave the port out', () => {
    expect([...loopbackIdentity(3000).hosts].sort()).toEqual(['127.0.0.1:3000', '[::1]:3000', 'localhost:3000']);
    expect([...loopbackIdentity(80).hosts].sort()).toEqual(['127.0.0.1', '127.0.0.1:80', '[::1]', '[::1]:80', 'localhost', 'localhost:80']);
    expect(loopbackIdentity(80).origins).toEqual(['http://127.0.0.1', 'http://localhost', 'http://[::1]']);
  });

  test('the refusal comes before the body is read: a 20 MB POST is refused at once, not 413 after reading', async () => {
    const answer = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/hooks/crisp',
        agent: false,
        headers: { host: `evil.example:${port}`, 'content-type': 'application/json', 'content-length': String(20 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.setTimeout(5000, () => {
        resolve(-1); // still waiting: the server is reading the body
        req.destroy();
      });
      req.flushHeaders(); // and never a byte of the body
    });
    expect(answer).toBe(403);
  });

  test('the logged host is cut short and has no control characters', async () => {
    const host = `evil\texample${'a'.repeat(300)}:${port}`;
    const socket = connect(port, '127.0.0.1');
    const status = await new Promise<string>((resolve, reject) => {
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString('latin1');
        if (received.includes('\r\n')) resolve(received.split('\r\n')[0]!);
      });
      socket.on('error', reject);
      socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    socket.destroy();
    expect(status).toBe('HTTP/1.1 403 Forbidden');
    const logged = String(refusalsLogged().at(-1)?.host);
    expect(logged.startsWith('evilexampleaaa')).toBe(true);
    expect(logged.length).toBeLessThanOrEqual(101);
    expect(logged).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('POST /local/token answers the demo page only', () => {
  test('JSON from the stack own origin gets a token, which the API accepts', async () => {
    const answer = await tokenRequest({ 'content-type': 'application/json', origin: ownOrigin() });
    expect(answer.status).toBe(200);
    expect(answer.headers['cache-control']).toBe('no-store');
    expect(typeof answer.json.token).toBe('string');
    const signed = await send({ path: '/ticket-center/url', headers: { authorization: `Bearer ${answer.json.token}` } });
    expect(signed.status).toBe(200);
  });

  test('with a charset, and from http://localhost:<port> reached as localhost', async () => {
    const answer = await tokenRequest({ 'content-type': 'application/json; charset=utf-8', origin: `http://localhost:${port}` }, `localhost:${port}`);
    expect(answer.status).toBe(200);
    expect(typeof answer.json.token).toBe('string');
  });

  test.each([
    ['a foreign origin', 'http://evil.example'],
    ['another port of 127.0.0.1', 'http://127.0.0.1:1'],
    ['https instead of http', () => `https://127.0.0.1:${port}`],
    ['an opaque origin ("null": sandboxed frames, file://)', 'null'],
    ['no Origin at all', undefined],
  ])('%s: 403 forbidden_origin', async (_name, origin) => {
    const answer = await tokenRequest({ 'content-type': 'application/json', origin: typeof origin === 'function' ? origin() : origin });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('forbidden_origin');
    expect(answer.json.token).toBeUndefined();
  });

  test('text/plain from a foreign origin (a simple cross-site request, no preflight): 403 forbidden_origin', async () => {
    const answer = await tokenRequest({ 'content-type': 'text/plain', origin: 'http://evil.example' });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('forbidden_origin');
  });

  test.each([
    ['text/plain'],
    ['text/plain;charset=UTF-8'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/jsonp'],
    [undefined],
  ])('content type %s, even from the own origin: 415 unsupported_media_type', async (contentType) => {
    const answer = await tokenRequest({ 'content-type': contentType, origin: ownOrigin() });
    expect(answer.status).toBe(415);
    expect(answer.json.error.code).toBe('unsupported_media_type');
    expect(answer.json.token).toBeUndefined();
  });
});
