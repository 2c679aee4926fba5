/**
 * The deployed handler module, run against the Secrets Manager emulator through the real SDK
 * client (reached with AWS_ENDPOINT_URL_SECRETS_MANAGER, as on AWS with the real endpoint).
 * Asserts responses, log lines and the SDK calls made.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { jwtEvent, lambdaContext } from '../support/events';
import { opensslHmacSha256 } from '../support/openssl';

type Handler = (typeof import('../../functions/ticket-center-url/handler'))['handler'];

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SECRET = 'handler-test-secret-1f0c';
const EMAIL = 'Jane.Doe+support@Example.COM';
const VERIFIED = { email: EMAIL, email_verified: 'true', name: 'Jane Doe', sub: 'user-1' };

let sm: SecretsManagerEmulator;
let stdout: string[];
const savedEnv = { ...process.env };

beforeAll(async () => {
  sm = await startSecretsManagerEmulator({ tc: SECRET, unset: 'CRISP_BRIDGE_PLACEHOLDER: not set yet' });
});
afterAll(() => sm.close());

beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...savedEnv };
  sm.setAvailable(true);
});

/** Loads the handler module fresh (a cold start) with the environment the construct sets. */
function coldStart(env: Record<string, string | undefined> = {}): Handler {
  process.env = {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    CRISP_WEBSITE_ID: WEBSITE_ID,
    TICKET_CENTER_SECRET_ID: sm.arnOf('tc'),
    ...env,
  };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete process.env[key];
  let handler!: Handler;
  jest.isolateModules(() => {
    handler = (require('../../functions/ticket-center-url/handler') as typeof import('../../functions/ticket-center-url/handler')).handler;
  });
  return handler;
}

const logs = () => stdout.flatMap((chunk) => chunk.split('\n').filter(Boolean)).map((line) => JSON.parse(line) as Record<string, unknown>);
const body = (result: APIGatewayProxyStructuredResultV2) => JSON.parse(result.body ?? '') as Record<string, any>;
const getCalls = () => sm.calls.filter((c) => c.action === 'GetSecretValue');

describe('GET /ticket-center/url handler: signed URL', () => {
  it('answers 200 with the signed URL and the iframe, not cacheable', async () => {
    const handler = coldStart();
    const result = await handler(jwtEvent(VERIFIED, 'locale=fr'), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    const { url, iframe } = body(result);
    const parsed = new URL(url);
    expect(parsed.searchParams.get('email')).toBe(EMAIL);
    expect(parsed.searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, EMAIL));
    expect(parsed.searchParams.get('nickname')).toBe('Jane Doe');
    expect(parsed.searchParams.get('locale')).toBe('fr');
    expect(parsed.pathname).toBe(`/urn:crisp.im:ticket-center:0/tickets/${WEBSITE_ID}`);
    expect(iframe).toEqual({
      src: url,
      title: 'Ticket Center',
      referrerpolicy: 'origin',
      sandbox: 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin',
      width: '100%',
      height: '600px',
    });
  });

  it('reads the secret from Secrets Manager once per cold start, by its ARN', async () => {
    const before = getCalls().length;
    const handler = coldStart();
    for (let i = 0; i < 3; i += 1) expect((await handler(jwtEvent(VERIFIED), lambdaContext())).statusCode).toBe(200);
    expect(getCalls().slice(before)).toEqual([{ action: 'GetSecretValue', secretId: sm.arnOf('tc') }]);
  });

  it('re-reads the secret after the refresh interval, so a rotation applies without a redeploy', async () => {
    const handler = coldStart({ TICKET_CENTER_SECRET_ID: sm.arnOf('rotating'), SECRET_REFRESH_SECONDS: '1' });
    sm.put('rotating', 'before-rotation');
    const first = new URL(body(await handler(jwtEvent(VERIFIED), lambdaContext())).url);
    expect(first.searchParams.get('hmac')).toBe(opensslHmacSha256('before-rotation', EMAIL));
    sm.put('rotating', 'after-rotation');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const second = new URL(body(await handler(jwtEvent(VERIFIED), lambdaContext())).url);
    expect(second.searchParams.get('hmac')).toBe(opensslHmacSha256('after-rotation', EMAIL));
  });

  it('keeps serving the cached secret when a refresh fails', async () => {
    const handler = coldStart({ SECRET_REFRESH_SECONDS: '1' });
    expect((await handler(jwtEvent(VERIFIED), lambdaContext())).statusCode).toBe(200);
    sm.setAvailable(false);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const result = await handler(jwtEvent(VERIFIED), lambdaContext());
    expect(result.statusCode).toBe(200);
    expect(new URL(body(result).url).searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, EMAIL));
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'WARN', message: 'secret refresh failed, serving the cached value' }));
  });

  it('signs without email_verified when configured not to require it', async () => {
    const handler = coldStart({ REQUIRE_EMAIL_VERIFIED: 'false' });
    expect((await handler(jwtEvent({ email: 'a@b.co' }), lambdaContext())).statusCode).toBe(200);
  });

  it('uses the configured email claim', async () => {
    const handler = coldStart({ EMAIL_CLAIM: 'custom:email' });
    const result = await handler(jwtEvent({ 'custom:email': 'c@d.ef', email: 'not-this@x.com', email_verified: 'true' }), lambdaContext());
    expect(new URL(body(result).url).searchParams.get('email')).toBe('c@d.ef');
  });
});

describe('GET /ticket-center/url handler: refusals', () => {
  it.each([
    ['no verified token reached the function: 401 unauthorized', undefined, '', 401, 'unauthorized'],
    ['no email claim: 403 email_missing', { email_verified: 'true' }, '', 403, 'email_missing'],
    ['email not verified: 403 email_not_verified', { email: EMAIL, email_verified: 'false' }, '', 403, 'email_not_verified'],
    ['a bad locale: 400 invalid_parameter', VERIFIED, 'locale=en_US', 400, 'invalid_parameter'],
    ['an email in the query: 400 invalid_parameter', VERIFIED, 'email=victim@example.com', 400, 'invalid_parameter'],
    ['11 participants: 400 invalid_parameter', VERIFIED, `participants=${Array.from({ length: 11 }, (_, i) => `p${i}@x.com`).join(',')}`, 400, 'invalid_parameter'],
  ] as const)('%s', async (_, claims, query, status, code) => {
    const handler = coldStart();
    const result = await handler(jwtEvent(claims as Record<string, string> | undefined, query), lambdaContext());
    expect(result.statusCode).toBe(status);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    const { error } = body(result);
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(10);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'ticket center url refused', status, code, TicketCenterUrlRefused: 1 }));
  });

  it('names the parameter at fault', async () => {
    const result = await coldStart()(jwtEvent(VERIFIED, 'nickname=a&nickname=b'), lambdaContext());
    expect(body(result).error).toMatchObject({ code: 'invalid_parameter', parameter: 'nickname' });
    expect(body(result).error.message).toContain('nickname');
  });

  it('answers 503 secret_unavailable while the secret is the placeholder, and the log names the secret to set', async () => {
    const handler = coldStart({ TICKET_CENTER_SECRET_ID: sm.arnOf('unset') });
    const result = await handler(jwtEvent(VERIFIED), lambdaContext());
    expect(result.statusCode).toBe(503);
    expect(body(result).error.code).toBe('secret_unavailable');
    expect(result.body).not.toContain('CRISP_BRIDGE_PLACEHOLDER');
    const unavailable = logs().find((line) => line.message === 'secret unavailable');
    expect(unavailable).toMatchObject({ level: 'ERROR', secretId: sm.arnOf('unset'), reason: 'not_set' });
    expect(String(unavailable!.action)).toContain(`put-secret-value --secret-id ${sm.arnOf('unset')}`);
  });

  it('answers 503 when the secret does not exist', async () => {
    const handler = coldStart({ TICKET_CENTER_SECRET_ID: sm.arnOf('never-created') });
    const result = await handler(jwtEvent(VERIFIED), lambdaContext());
    expect(result.statusCode).toBe(503);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'secret unavailable', reason: 'not_found' }));
  });

  it('answers 503 when Secrets Manager is down at cold start', async () => {
    sm.setAvailable(false);
    const handler = coldStart();
    const result = await handler(jwtEvent(VERIFIED), lambdaContext());
    expect(result.statusCode).toBe(503);
    expect(body(result).error.code).toBe('secret_unavailable');
  });

  it('answers 500 internal_error, without details, on an unexpected failure', async () => {
    const result = await coldStart()(null as never, lambdaContext());
    expect(result.statusCode).toBe(500);
    expect(body(result)).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    expect(logs()).toContainEqual(expect.objectContaining({ level: 'ERROR', message: 'ticket center url failed' }));
  });
});

// The email is signed exactly as verified, or refused with a code saying why; nothing the caller
// sent that could be an email (the claim, an unknown parameter's name) reaches the reply or the log.
describe('GET /ticket-center/url handler: the email as verified, or a refusal', () => {
  const LOCAL = 'jane.invisible';
  const ADDRESS = `${LOCAL}@example.com`;
  it.each([
    ['a leading space', ` ${ADDRESS}`, 'email_whitespace'],
    ['a trailing tab', `${ADDRESS}\t`, 'email_whitespace'],
    ['a trailing NBSP', `${ADDRESS}\u00A0`, 'email_whitespace'],
    ['a trailing U+2028', `${ADDRESS}\u2028`, 'email_whitespace'],
    ['a NUL', `${LOCAL}\u0000@example.com`, 'email_control_character'],
    ['a DEL', `${LOCAL}\u007F@example.com`, 'email_control_character'],
    ['a NEL inside', `${LOCAL}\u0085@example.com`, 'email_control_character'],
    ['a zero-width space', `${LOCAL}\u200B@example.com`, 'email_invisible_character'],
    ['a leading BOM', `\uFEFF${ADDRESS}`, 'email_invisible_character'],
    ['a soft hyphen', `${LOCAL}\u00AD@example.com`, 'email_invisible_character'],
    ['a word joiner', `${LOCAL}\u2060@example.com`, 'email_invisible_character'],
    ['an RLO', `${LOCAL}\u202E@example.com`, 'email_bidi_control'],
    ['an LRI', `\u2066${ADDRESS}`, 'email_bidi_control'],
    ['an RLM', `${LOCAL}\u200F@example.com`, 'email_bidi_control'],
  ])('an email claim with %s (%j): 403 %s, logged by code, the email neither in the reply nor in the log', async (_, email, code) => {
    const handler = coldStart();
    const result = await handler(jwtEvent({ email, email_verified: 'true', name: 'Jane' }), lambdaContext());
    expect(result.statusCode).toBe(403);
    const { error } = body(result);
    expect(error).toEqual({ code, message: expect.any(String) });
    expect(error.message.length).toBeGreaterThan(30);
    expect(logs()).toContainEqual(expect.objectContaining({ message: 'ticket center url refused', status: 403, code, TicketCenterUrlRefused: 1 }));
    const raw = stdout.join('');
    for (const text of [raw, result.body ?? '']) {
      for (const forbidden of [LOCAL, ADDRESS, email, encodeURIComponent(ADDRESS), 'plugins.crisp.chat']) expect(text).not.toContain(forbidden);
    }
  });

  it('signs a clean claim exactly: the URL carries the claim, and its HMAC by openssl', async () => {
    const email = 'Zoë.O’Neil+tickets@Exämple.COM';
    const result = await coldStart()(jwtEvent({ email, email_verified: 'true' }), lambdaContext());
    expect(result.statusCode).toBe(200);
    const url = new URL(body(result).url);
    expect(url.searchParams.get('email')).toBe(email);
    expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, email));
  });

  it('signs the lower-cased claim when configured, still without trimming anything', async () => {
    const handler = coldStart({ LOWERCASE_EMAIL: 'true' });
    const ok = await handler(jwtEvent({ email: 'Jane@Example.COM', email_verified: 'true' }), lambdaContext());
    expect(new URL(body(ok).url).searchParams.get('email')).toBe('jane@example.com');
    expect(new URL(body(ok).url).searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, 'jane@example.com'));
    const padded = await handler(jwtEvent({ email: 'Jane@Example.COM ', email_verified: 'true' }), lambdaContext());
    expect({ status: padded.statusCode, code: body(padded).error.code }).toEqual({ status: 403, code: 'email_whitespace' });
  });

  // Expected hashes computed with coreutils, not by the code under test:
  //   printf %s 'alice@example.com' | sha256sum  -> ff8d9819fc0e12bf...
  //   printf %s 'foo' | sha256sum                -> 2c26b46b68ffc68f...
  it.each([
    ['alice@example.com=1', 'ff8d9819fc0e', ['alice@example.com', 'alice%40example.com', 'alice']],
    ['alice%40example.com=1', 'ff8d9819fc0e', ['alice@example.com', 'alice%40example.com', 'alice']],
    ['locale=fr&alice@example.com', 'ff8d9819fc0e', ['alice@example.com', 'alice%40example.com', 'alice']],
    ['foo=bar', '2c26b46b68ff', ['foo']],
  ])('an unknown parameter (?%s): 400 (unknown) with its sha256 prefix; the name in neither the reply nor the log', async (query, hash, forbidden) => {
    const result = await coldStart()(jwtEvent(VERIFIED, query), lambdaContext());
    expect(result.statusCode).toBe(400);
    expect(body(result)).toEqual({
      error: {
        code: 'invalid_parameter',
        parameter: '(unknown)',
        message: `Unknown query parameter (name not shown; sha256 prefix ${hash}). Accepted: nickname, locale, participants.`,
      },
    });
    const refused = logs().filter((line) => line.message === 'ticket center url refused');
    expect(refused).toEqual([expect.objectContaining({ status: 400, code: 'invalid_parameter', parameter: '(unknown)', parameterHash: hash })]);
    const raw = stdout.join('');
    for (const name of forbidden) {
      expect(raw).not.toContain(name);
      expect(result.body).not.toContain(name);
    }
  });

  it('a repeated known parameter is still named, with no hash', async () => {
    const result = await coldStart()(jwtEvent(VERIFIED, 'locale=fr&locale=de'), lambdaContext());
    expect(body(result).error).toMatchObject({ code: 'invalid_parameter', parameter: 'locale' });
    const refused = logs().find((line) => line.message === 'ticket center url refused');
    expect(refused).toMatchObject({ parameter: 'locale' });
    expect(refused).not.toHaveProperty('parameterHash');
  });
});

describe('GET /ticket-center/url handler: configuration', () => {
  it.each(['CRISP_WEBSITE_ID', 'TICKET_CENTER_SECRET_ID'])('fails the cold start naming %s when it is missing', (name) => {
    expect(() => coldStart({ [name]: undefined })).toThrow(name);
  });

  it('fails the cold start on a malformed boolean', () => {
    expect(() => coldStart({ REQUIRE_EMAIL_VERIFIED: 'yes' })).toThrow('REQUIRE_EMAIL_VERIFIED');
  });
});

// One structured line per decision; never the email, the URL, the HMAC or the secret.
describe('GET /ticket-center/url handler: logs', () => {
  it('logs one line per decision, with the request id and an EMF metric, and nothing secret', async () => {
    const handler = coldStart();
    const context = lambdaContext();
    const ok = await handler(jwtEvent(VERIFIED, 'participants=x%2By@z.com'), context);
    await handler(jwtEvent(VERIFIED, 'locale=%%%'), lambdaContext());
    const hmac = new URL(body(ok).url).searchParams.get('hmac')!;
    const entries = logs();
    expect(entries.filter((e) => e.message === 'ticket center url signed')).toEqual([
      expect.objectContaining({
        level: 'INFO',
        requestId: context.awsRequestId,
        participants: 1,
        nickname: 'token',
        TicketCenterUrlSigned: 1,
        _aws: expect.objectContaining({ CloudWatchMetrics: [expect.objectContaining({ Namespace: 'CrispBridge', Metrics: [{ Name: 'TicketCenterUrlSigned', Unit: 'Count' }] })] }),
      }),
    ]);
    expect(entries.filter((e) => e.message === 'ticket center url refused')).toHaveLength(1);
    const all = stdout.join('');
    for (const forbidden of [EMAIL, encodeURIComponent(EMAIL), 'x+y@z.com', hmac, SECRET, 'plugins.crisp.chat']) {
      expect(all).not.toContain(forbidden);
    }
  });
});
