/**
 * GET /ticket-center/url end to end over real HTTP: the local API Gateway (JWT authorizer,
 * CORS, routing), the deployed handler code, and the Secrets Manager emulator reached through
 * the real AWS SDK. Expected HMACs are computed independently, with openssl.
 */
import { opensslHmacSha256 } from '../support/openssl';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DevTokenOptions } from '../../scripts/local/dev-issuer';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { interceptStdout } from '../support/stdout';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SECRET = 'e2e-ticket-center-secret-5f1c9a7b3d';
const ORIGIN = 'https://app.example.com';
const TICKET_CENTER_PREFIX = `https://plugins.crisp.chat/urn:crisp.im:ticket-center:0/tickets/${WEBSITE_ID}`;
const SANDBOX = 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin';

const JANE = 'Jane.Doe+support@Example.COM';
const JOSE = 'josé.müller@exämple.de';

/** HMAC-SHA256(secret, email) in hex, computed by openssl rather than by the code under test. */
const opensslHmac = (email: string, secret: string = SECRET): string => opensslHmacSha256(secret, email);

let stack: LocalStack;
let stateDir: string;
const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;
/** Values that must never appear in a log line. */
const sensitive = new Set<string>([SECRET, 'plugins.crisp.chat']);

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body (undefined if not JSON); `any` keeps the assertions short. */
  json: any;
}

async function request(pathAndQuery: string, options: { token?: string; headers?: Record<string, string>; method?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const res = await fetch(stack.url + pathAndQuery, { method: options.method ?? 'GET', headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

function token(email: string, extra: Omit<DevTokenOptions, 'email'> = {}): string {
  return stack.issueToken({ email, ...extra });
}

/** A signed URL, checked and remembered so the log test can look for its pieces. */
function checkedUrl(answer: Answer, email: string): URL {
  expect(answer.status).toBe(200);
  const url = new URL(answer.json.url as string);
  expect(url.origin + url.pathname).toBe(TICKET_CENTER_PREFIX);
  expect(url.searchParams.get('email')).toBe(email);
  const hmac = opensslHmac(email);
  expect(url.searchParams.get('hmac')).toBe(hmac);
  sensitive.add(email);
  sensitive.add(hmac);
  sensitive.add(answer.json.url as string);
  return url;
}

function capturedLines(): string[] {
  return stdoutChunks.join('').split('\n').filter((line) => line.trim() !== '');
}

beforeAll(async () => {
  interceptStdout(stdoutChunks);
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-e2e-'));
  stack = await startLocalStack({ port: 0, stateDir, websiteId: WEBSITE_ID, ticketCenterSecret: SECRET, allowedOrigins: [ORIGIN] });
});

afterAll(async () => {
  await stack?.close();
  process.stdout.write = originalWrite;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describe('GET /ticket-center/url: signed URLs', () => {
  test('a verified token gets a signed URL and the iframe attributes', async () => {
    const answer = await request('/ticket-center/url', { token: token(JANE, { name: 'Jane Doe' }) });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    const url = checkedUrl(answer, JANE);
    expect(url.searchParams.get('nickname')).toBe('Jane Doe');
    expect(url.searchParams.has('locale')).toBe(false);
    expect(url.searchParams.has('participants')).toBe(false);
    // The "+" of the email is percent-encoded, never left to be read as a space.
    expect(answer.json.url).toContain('email=Jane.Doe%2Bsupport%40Example.COM&');
    expect(answer.json.iframe).toEqual({
      src: answer.json.url,
      title: 'Ticket Center',
      referrerpolicy: 'origin',
      sandbox: SANDBOX,
      width: '100%',
      height: '600px',
    });
    expect(Object.keys(answer.json).sort()).toEqual(['iframe', 'url']);
  });

  test('a non-ASCII email round-trips', async () => {
    const answer = await request('/ticket-center/url', { token: token(JOSE) });
    const url = checkedUrl(answer, JOSE);
    expect(url.searchParams.has('nickname')).toBe(false);
    expect(answer.json.iframe.src).toBe(answer.json.url);
  });

  test('nickname, locale and participants from the query', async () => {
    const answer = await request('/ticket-center/url?nickname=Ann%20Lee&locale=pt-br&participants=a%2Bcc%40x.com,b%40y.org', {
      token: token(JANE, { name: 'Jane Doe' }),
    });
    const url = checkedUrl(answer, JANE);
    expect(url.searchParams.get('nickname')).toBe('Ann Lee');
    expect(url.searchParams.get('locale')).toBe('pt-BR');
    expect(url.searchParams.get('participants')).toBe('a+cc@x.com,b@y.org');
  });
});

describe('GET /ticket-center/url: refusals', () => {
  test('no Authorization: API Gateway answers 401 itself', async () => {
    const answer = await request('/ticket-center/url');
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ message: 'Unauthorized' });
    expect(answer.headers.get('www-authenticate')).toBeTruthy();
  });

  test('an expired token: 401', async () => {
    const answer = await request('/ticket-center/url', { token: token(JANE, { ttlSeconds: 0 }) });
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ message: 'Unauthorized' });
  });

  test('a token for another audience: 401', async () => {
    const answer = await request('/ticket-center/url', { token: token(JANE, { audience: 'other' }) });
    expect(answer.status).toBe(401);
  });

  test('a tampered token (one character of the signature changed): 401', async () => {
    const [h, p, s] = token(JANE).split('.') as [string, string, string];
    const i = Math.floor(s.length / 2);
    const tampered = `${h}.${p}.${s.slice(0, i)}${s[i] === 'A' ? 'B' : 'A'}${s.slice(i + 1)}`;
    const answer = await request('/ticket-center/url', { token: tampered });
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain('plugins.crisp.chat');
  });

  test('an unverified email: 403 email_not_verified', async () => {
    const answer = await request('/ticket-center/url', { token: token(JANE, { emailVerified: false }) });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('email_not_verified');
    expect(typeof answer.json.error.message).toBe('string');
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('no email in the token: 403 email_missing', async () => {
    const answer = await request('/ticket-center/url', { token: token('') });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe('email_missing');
  });

  // The email is signed exactly as verified or not at all: never trimmed, never stripped.
  test.each([
    [`${JANE} `, 'email_whitespace'],
    [`\u00A0${JANE}`, 'email_whitespace'],
    [`Jane.Doe\u0000@Example.COM`, 'email_control_character'],
    [`Jane.Doe\u200B@Example.COM`, 'email_invisible_character'],
    [`\uFEFF${JANE}`, 'email_invisible_character'],
    [`Jane.Doe\u202E@Example.COM`, 'email_bidi_control'],
  ])('a token email %j: 403 %s, the email not in the reply', async (email, code) => {
    const answer = await request('/ticket-center/url', { token: token(email) });
    expect(answer.status).toBe(403);
    expect(answer.json.error.code).toBe(code);
    expect(answer.text).not.toContain('Jane.Doe');
    expect(answer.text).not.toContain('plugins.crisp.chat');
  });

  const elevenParticipants = Array.from({ length: 11 }, (_, i) => `p${i}%40example.com`).join(',');
  test.each([
    ['locale=en_US', 'locale'],
    [`participants=${elevenParticipants}`, 'participants'],
    ['participants=a%40x.com,,b%40y.org', 'participants'],
    ['nickname=Ann&nickname=Bob', 'nickname'],
    ['foo=bar', '(unknown)'], // an unknown name is never echoed (it could be an email)
    [`email=${encodeURIComponent('mallory@example.com')}`, 'email'],
  ])('bad parameters: ?%s → 400 invalid_parameter naming %s', async (query, parameter) => {
    const answer = await request(`/ticket-center/url?${query}`, { token: token(JANE) });
    expect(answer.status).toBe(400);
    expect(answer.json.error.code).toBe('invalid_parameter');
    expect(answer.json.error.parameter).toBe(parameter);
    expect(typeof answer.json.error.message).toBe('string');
    expect(answer.text).not.toContain('plugins.crisp.chat');
  });

  // printf %s 'alice@example.com' | sha256sum -> ff8d9819fc0e12bf...
  test('an unknown parameter named like an email: 400 (unknown), only its sha256 prefix in the reply and the log', async () => {
    const before = capturedLines().length;
    const answer = await request('/ticket-center/url?alice@example.com=1', { token: token(JANE) });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toEqual({
      code: 'invalid_parameter',
      parameter: '(unknown)',
      message: 'Unknown query parameter (name not shown; sha256 prefix ff8d9819fc0e). Accepted: nickname, locale, participants.',
    });
    const logged = capturedLines().slice(before).join('\n');
    expect(logged).toContain('"parameterHash":"ff8d9819fc0e"');
    for (const text of [answer.text, logged]) {
      expect(text).not.toContain('alice@example.com');
      expect(text).not.toContain('alice%40example.com');
    }
  });
});

describe('the Ticket Center secret', () => {
  const reads = (): number => stack.secretsManager.calls.filter((call) => call.action === 'GetSecretValue').length;

  test('is read from Secrets Manager once, not per request', async () => {
    expect((await request('/ticket-center/url', { token: token(JANE) })).status).toBe(200);
    const before = reads();
    expect(before).toBe(1);
    for (let i = 0; i < 3; i++) {
      expect((await request('/ticket-center/url', { token: token(JANE) })).status).toBe(200);
    }
    expect(reads()).toBe(before);
    expect(stack.secretsManager.calls.every((call) => call.secretId === stack.secretsManager.arnOf(stack.secretNames.ticketCenter))).toBe(true);
  });

  test('the cached value keeps serving until the refresh, even if the stored one becomes a placeholder', async () => {
    stack.secretsManager.put(stack.secretNames.ticketCenter, 'CRISP_BRIDGE_PLACEHOLDER: x');
    try {
      const answer = await request('/ticket-center/url', { token: token(JANE) });
      expect(answer.status).toBe(200);
      checkedUrl(answer, JANE);
    } finally {
      stack.secretsManager.put(stack.secretNames.ticketCenter, SECRET);
    }
  });
});

describe('CORS and routing', () => {
  test('a preflight from an allowed origin', async () => {
    const answer = await request('/ticket-center/url', {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(answer.status).toBe(204);
    expect(answer.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(answer.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
  });

  test('a preflight from another origin gets no CORS headers', async () => {
    const answer = await request('/ticket-center/url', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a GET with an allowed Origin carries access-control-allow-origin; another origin does not', async () => {
    const allowed = await request('/ticket-center/url', { token: token(JANE), headers: { origin: ORIGIN } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    const other = await request('/ticket-center/url', { token: token(JANE), headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('an unknown route: 404', async () => {
    const answer = await request('/nope', { token: token(JANE) });
    expect(answer.status).toBe(404);
  });
});

describe('logs', () => {
  test('decisions are logged, and no line holds an email, the secret, an HMAC or the URL', () => {
    const lines = capturedLines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      for (const value of sensitive) {
        expect({ line, leaked: line.toLowerCase().includes(value.toLowerCase()) ? value : undefined }).toEqual({ line, leaked: undefined });
      }
      // Nor the emails percent-encoded as in the URL.
      expect(line).not.toContain(encodeURIComponent(JANE));
      expect(line).not.toContain(encodeURIComponent(JOSE));
    }
    const parsed = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    expect(parsed.some((line) => line.message === 'ticket center url signed')).toBe(true);
    expect(parsed.some((line) => line.message === 'ticket center url refused' && line.code === 'invalid_parameter')).toBe(true);
    expect(parsed.some((line) => line.message === 'ticket center url refused' && line.code === 'email_not_verified')).toBe(true);
  });
});
