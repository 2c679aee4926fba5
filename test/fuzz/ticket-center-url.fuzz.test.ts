/**
 * Property-based tests (fast-check) of the deployed ticket-center-url handler module under bad
 * input: generated JWT claims (wrong types, strange emails) and query strings (HTML/JS, CRLF,
 * `&email=` / `&hmac=` smuggling, percent-encoded separators, NUL bytes, 10k-character values,
 * repeated parameters).
 *
 * The handler module is cold-started once against the Secrets Manager emulator, through the real
 * SDK client, and driven directly with API Gateway HTTP API events as its JWT authorizer hands
 * them over. Invariants checked on every request (`drive`):
 * - it resolves (never rejects) with 200, 400, 401 or 403: never a 5xx;
 * - the reply is the contract's JSON (`{url, iframe}` or `{error: {code, message[, parameter]}}`),
 *   and neither the reply nor any log line holds the secret; a signed URL, its HMAC and its email
 *   never reach the log;
 * - a 200 signs exactly the token's email claim, character for character (nothing trimmed): the
 *   URL has exactly one `email` (that claim) and one `hmac` (HMAC-SHA256 of it with the secret, by
 *   openssl for at least the first 30 URLs, node:crypto after that), no parameter beyond
 *   email/hmac/nickname/locale/participants, the Crisp Ticket Center origin and path for the
 *   configured website, and no character that could break out of an attribute or a header; the
 *   signed claim has no whitespace at its ends, no control, bidi or format character;
 * - a query parameter named `email` or `hmac` (however it is percent-encoded) never gets a 200;
 * - a refusal names a query parameter only if it is one this API knows; any other name is
 *   `(unknown)`, with the first 12 hex characters of its SHA-256 (by openssl for the first 30,
 *   node:crypto after) in the message and as `parameterHash` in the log line.
 * Two properties add: any email claim string is either signed exactly or refused 4xx (with the
 * right code for whitespace/control/bidi/invisible decorations of a plain address), and an unknown
 * parameter's name (an email, or a string with a recognisable prefix) is in neither reply nor log.
 *
 * FUZZ_SCALE (a multiplier of the run counts) and FUZZ_SEED reproduce or lengthen a run.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from '../../scripts/local/emulators/secrets-manager';
import { jwtEvent, lambdaContext } from '../support/events';
import { opensslHmacSha256 } from '../support/openssl';

type Handler = (typeof import('../../functions/ticket-center-url/handler'))['handler'];

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SECRET = 'fuzz-tc-secret-5Hd8Kq2Zr7xM';
/** Crisp's Ticket Center URL for the website, written out from Crisp's documentation (not imported). */
const TICKET_CENTER = `https://plugins.crisp.chat/urn:crisp.im:ticket-center:0/tickets/${WEBSITE_ID}`;
const URL_PARAMETERS = ['email', 'hmac', 'nickname', 'locale', 'participants'];

const SCALE = Number(process.env.FUZZ_SCALE ?? '1') || 1;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const runs = (numRuns: number) => ({ numRuns: Math.max(1, Math.round(numRuns * SCALE)), ...(SEED === undefined ? {} : { seed: SEED }) });

let sm: SecretsManagerEmulator;
let handler: Handler;
const savedEnv = { ...process.env };
let stdout: string[] = [];

beforeAll(async () => {
  sm = await startSecretsManagerEmulator({ tc: SECRET });
  process.env = {
    ...savedEnv,
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    CRISP_WEBSITE_ID: WEBSITE_ID,
    TICKET_CENTER_SECRET_ID: sm.arnOf('tc'),
  };
  for (const name of ['AWS_PROFILE', 'EMAIL_CLAIM', 'REQUIRE_EMAIL_VERIFIED', 'LOWERCASE_EMAIL', 'SECRET_REFRESH_SECONDS']) delete process.env[name];
  // One cold start for the whole file, as Lambda reuses a warm environment.
  jest.isolateModules(() => {
    handler = (require('../../functions/ticket-center-url/handler') as typeof import('../../functions/ticket-center-url/handler')).handler;
  });
});

afterAll(async () => {
  process.env = { ...savedEnv };
  await sm?.close();
});

beforeEach(() => {
  stdout = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  });
});

afterEach(() => {
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------
// Driving the handler, with the invariants that hold for every request.

/** The oracle for `hmac`: openssl for the first URLs, node:crypto after (signEmail is checked against openssl elsewhere too). */
let opensslChecks = 0;
let signed = 0;
let driven = 0;
const tally = new Map<string, number>();

function expectedHmac(email: string): string {
  if (opensslChecks < 30) {
    opensslChecks += 1;
    return opensslHmacSha256(SECRET, email);
  }
  return createHmac('sha256', SECRET).update(email, 'utf8').digest('hex');
}

/** The same oracle scheme for an unknown parameter name's hash: openssl's SHA-256 first, then node:crypto. */
let opensslHashChecks = 0;
function expectedNameHash(name: string): string {
  if (opensslHashChecks < 30) {
    opensslHashChecks += 1;
    const out = execFileSync('openssl', ['dgst', '-sha256'], { input: Buffer.from(name, 'utf8') }).toString();
    const hex = out.trim().split('= ').pop() ?? '';
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`unexpected openssl output: ${out}`);
    return hex.slice(0, 12);
  }
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 12);
}

const isTrue = (value: unknown) => value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');

/** Query parameter names as any WHATWG URL parser decodes them. */
const queryNames = (rawQuery: string): string[] => [...new URLSearchParams(rawQuery).keys()];

interface Reply {
  url?: string;
  iframe?: Record<string, string>;
  error?: { code: string; message: string; parameter?: string };
}

const EMAIL_CHARACTER_CODES = ['email_whitespace', 'email_control_character', 'email_bidi_control', 'email_invisible_character'];
const ERROR_CODES: Record<number, string[]> = {
  400: ['invalid_parameter'],
  401: ['unauthorized'],
  403: ['email_missing', ...EMAIL_CHARACTER_CODES, 'email_not_verified'],
};

// What a signed email can never hold, written out here from the Unicode lists rather than taken
// from the code under test: White_Space at either end, C0/C1 controls, bidi controls, and the
// invisible characters the contract names (plus any other format character, \p{Cf}).
const EDGE_WHITESPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]|[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/;
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/;
const INVISIBLE = /[\u00AD\u180E\u200B-\u200D\u2060-\u2064\uFEFF]|\p{Cf}/u;

async function drive(claims: unknown, rawQuery: string): Promise<{ status: number; body: Reply }> {
  const from = stdout.length;
  let result: APIGatewayProxyStructuredResultV2;
  try {
    result = await handler(jwtEvent(claims as Record<string, string> | undefined, rawQuery), lambdaContext());
  } catch (error) {
    throw new Error(`the handler rejected instead of answering: ${String(error)}`);
  }
  driven += 1;
  const status = result.statusCode ?? 0;
  if (![200, 400, 401, 403].includes(status)) throw new Error(`status ${status}: ${result.body}`);
  expect(result.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  const raw = result.body ?? '';
  const body = JSON.parse(raw) as Reply;
  if (raw.includes(SECRET)) throw new Error(`the reply holds the secret: ${raw}`);

  const lines = stdout.slice(from).join('').split('\n').filter((line) => line.trim() !== '');
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(entries.filter((entry) => entry.message === 'ticket center url signed' || entry.message === 'ticket center url refused')).toHaveLength(1);
  expect(entries.some((entry) => entry.level === 'ERROR')).toBe(false);
  for (const line of lines) if (line.includes(SECRET)) throw new Error(`a log line holds the secret: ${line}`);

  if (status !== 200) {
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toEqual({ code: expect.any(String), message: expect.any(String), ...(body.error?.parameter === undefined ? {} : { parameter: expect.any(String) }) });
    expect(ERROR_CODES[status]).toContain(body.error!.code);
    checkParameterRefusal(body.error!, entries, rawQuery);
    tally.set(`${status} ${body.error!.code}`, (tally.get(`${status} ${body.error!.code}`) ?? 0) + 1);
    return { status, body };
  }

  // 200: the URL signs the token's email, and nothing else.
  signed += 1;
  tally.set('200', (tally.get('200') ?? 0) + 1);
  const claimed = (claims as Record<string, unknown>)?.email;
  if (typeof claimed !== 'string') throw new Error(`200 for an email claim that is not a string: ${JSON.stringify(claimed)}`);
  expect(isTrue((claims as Record<string, unknown>).email_verified)).toBe(true);
  // Exactly the claim: nothing trimmed, nothing stripped (LOWERCASE_EMAIL is off here).
  const email = claimed;
  for (const [what, pattern] of [['whitespace at an end', EDGE_WHITESPACE], ['a control character', CONTROL], ['a bidi control', BIDI], ['an invisible character', INVISIBLE]] as const) {
    if (pattern.test(email)) throw new Error(`200 for an email claim with ${what}: ${JSON.stringify(email)}`);
  }
  expect(Object.keys(body).sort()).toEqual(['iframe', 'url']);
  const url = new URL(body.url!);
  expect(`${url.origin}${url.pathname}`).toBe(TICKET_CENTER);
  expect(url.hash).toBe('');
  expect(url.searchParams.getAll('email')).toEqual([email]);
  const hmacs = url.searchParams.getAll('hmac');
  expect(hmacs).toHaveLength(1);
  expect(hmacs[0]).toBe(expectedHmac(email));
  const names = [...url.searchParams.keys()];
  for (const name of names) expect(URL_PARAMETERS).toContain(name);
  expect(new Set(names).size).toBe(names.length);
  // Only unreserved characters, percent escapes and the URL's own separators: nothing that can
  // close an attribute, start a tag, split a header or smuggle a parameter.
  expect(body.url).toMatch(/^https:\/\/plugins\.crisp\.chat\/urn:crisp\.im:ticket-center:0\/tickets\/[A-Za-z0-9-]+\?[A-Za-z0-9\-._~%,&=]+$/);
  expect(body.iframe).toEqual({
    src: body.url,
    title: 'Ticket Center',
    referrerpolicy: 'origin',
    sandbox: 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin',
    width: '100%',
    height: '600px',
  });

  // What the caller asked for is what the URL carries (after decoding), never more.
  const query = new URLSearchParams(rawQuery);
  if (query.has('nickname')) expect(url.searchParams.get('nickname')).toBe(query.get('nickname')!.trim());
  if (query.has('participants')) {
    const asked = query.get('participants')!.split(',').map((item) => item.trim().toLowerCase());
    for (const participant of url.searchParams.get('participants')!.split(',')) expect(asked).toContain(participant.toLowerCase());
  }
  const locale = url.searchParams.get('locale');
  if (locale !== null) expect(locale).toMatch(/^[A-Za-z0-9-]{1,35}$/);

  // The credential never reaches the log.
  const logged = lines.join('\n');
  for (const secretPart of [body.url!, hmacs[0]!, email, JSON.stringify(email).slice(1, -1), encodeURIComponent(email)]) {
    if (logged.includes(secretPart)) throw new Error(`a log line holds the signed URL, its HMAC or its email: ${logged}`);
  }
  return { status, body };
}

/**
 * A refusal names a query parameter only if this API knows the name; an unknown one is
 * `(unknown)` with the sha256 prefix of the name it stopped at (the first name that is none of
 * the five: every entry before it passed, or the refusal would have been about that one).
 */
function checkParameterRefusal(error: NonNullable<Reply['error']>, entries: Record<string, unknown>[], rawQuery: string): void {
  const logged = entries.find((entry) => entry.message === 'ticket center url refused');
  if (error.code !== 'invalid_parameter') {
    expect(error.parameter).toBeUndefined();
    return;
  }
  expect([...URL_PARAMETERS, '(unknown)']).toContain(error.parameter);
  expect(logged?.parameter).toBe(error.parameter);
  if (error.parameter !== '(unknown)') {
    expect(logged).not.toHaveProperty('parameterHash');
    return;
  }
  const name = queryNames(rawQuery).find((candidate) => !URL_PARAMETERS.includes(candidate));
  if (name === undefined) throw new Error(`(unknown) refused, but every name in the query is known: ${rawQuery}`);
  const hash = expectedNameHash(name);
  expect(error.message).toBe(`Unknown query parameter (name not shown; sha256 prefix ${hash}). Accepted: nickname, locale, participants.`);
  expect(logged?.parameterHash).toBe(hash);
}

// ---------------------------------------------------------------------------------------------
// Generators.

/** Strings of every kind, but well-formed UTF-16 (lone surrogates have a property of their own below). */
const anyString = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.oneof(fc.string(constraints), fc.string({ ...constraints, unit: 'grapheme' }), fc.string({ ...constraints, unit: 'binary' }), fc.string({ ...constraints, unit: 'binary-ascii' }));

/** An address every reasonable check accepts (fast-check's RFC addresses, within the RFC lengths). */
const plainEmail = fc.emailAddress().filter((email) => email.length <= 254 && email.length - email.indexOf('@') - 1 <= 253);

const ELEVEN = Array.from({ length: 11 }, (_, i) => `p${i}@x.com`).join(',');
const INJECTIONS = [
  '<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>", 'javascript:alert(document.cookie)', "'; DROP TABLE users; --", "' OR '1'='1",
  'a\r\nSet-Cookie: session=evil', 'a\r\nLocation: https://evil.example', '%0d%0aX-Injected:%201', `&hmac=${'0'.repeat(64)}`, '&email=victim@example.com', '%26email%3Dvictim%40example.com',
  '%26hmac%3D00', '#email=victim@example.com', '%23', '%3D', '%26', '\u0000', '%00', 'a%00b', '../../etc/passwd', '{{7*7}}', '${7*7}', '\u202Eevil', 'null', 'undefined', '+', '%2B', ' ', '',
  'a'.repeat(10_000), 'é'.repeat(5000), '😀'.repeat(101), '😀'.repeat(100), '%', '%zz', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF', 'en', 'pt-BR', 'zh-Hant-TW', 'EN-us', 'x-private', 'i-klingon',
  'en-US-u-ca-gregory', 'en_US', 'en-', '-en', 'a'.repeat(36), 'a@b.co', 'a@b.co,c@d.io', 'x%2By@z.com', 'x+y@z.com', 'a@b.co&email=x@y.z', 'a@b.co%26email%3Dx%40y.z', ELEVEN, 'a@b.co,,c@d.io',
  'A@B.CO,a@b.co', 'a@b.co,' + 'b'.repeat(10_000) + '@c.de', '"a"@b.co', 'a b@c.de', 'Jane Doe', 'Zoë Ångström', '山田 太郎', '  spaced  ',
];
const injection = fc.constantFrom(...INJECTIONS);

const STRANGE_EMAILS = [
  'jöhn@exämple.com', '用户@例子.广告', '"quoted"@x.com', 'a"b@c.d', 'a b@c.d', 'a\r\nb@c.d', 'a@b.c\r\nBcc: x@y.z', '<script>@x.com', 'x@<script>alert(1)</script>', "a'--@x.com",
  "o'brien@example.com", "' OR 1=1 --@x.com", 'a@b.c; DROP TABLE users', 'a%40b@c.d', 'a&email=b@c.d', 'a@b.c&hmac=00', 'a+tag@b.co', '  padded@x.com  ', '\tpadded@x.com\n', 'a@b.c\u0000',
  '\u202Eevil@x.com', 'A@B.CO', `${'x'.repeat(64)}@example.com`, `${'x'.repeat(65)}@example.com`, `a@${'b'.repeat(250)}.c`, `a@${'b'.repeat(10_000)}`, '@', 'a@', '@b', 'a@@b', 'a@b..c',
  'a@.b', 'a@b.', 'a#b@c.d', 'a?b@c.d', 'a/b@c.d', 'a=b@c.d', 'a%0D%0A@c.d', 'a@b.c,d@e.f', 'a@b.c%26hmac%3D0', 'a@xn--bcher-kva.example', "!#$%&'*+/=?^_`{|}~@x.io", '\u00a0a@b.co\u00a0',
  '\uFEFFa@b.co', 'a@b.co\u2028', 'a@b.co\u0085', 'mañana@ñ.es', '😀@😀.io', 'a\u200b@b.co', '', ' ', 'null', 'true',
];
const strangeEmail = fc.oneof(
  { weight: 3, arbitrary: plainEmail },
  { weight: 4, arbitrary: fc.constantFrom(...STRANGE_EMAILS) },
  { weight: 2, arbitrary: fc.tuple(anyString({ maxLength: 20 }), anyString({ maxLength: 20 })).map(([local, domain]) => `${local}@${domain}`) },
  { weight: 1, arbitrary: fc.tuple(plainEmail, fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\uFEFF')).map(([email, ws]) => `${ws}${email}${ws}`) },
  { weight: 1, arbitrary: anyString({ maxLength: 40 }) },
);
const wrongType = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(plainEmail, { maxLength: 2 }),
  fc.record({ email: plainEmail }),
  fc.object({ maxDepth: 1 }),
);
const emailClaim = fc.oneof({ weight: 6, arbitrary: strangeEmail }, { weight: 2, arbitrary: wrongType }, { weight: 1, arbitrary: fc.constant(undefined) });
const verifiedClaim = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom<unknown>('true', true) },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(' TRUE ', 'True', 'false', false, 'yes', '1', 1, 0, null, undefined, ['true'], { value: true }, '', 'true\u0000', 'tru', 'truee') },
  { weight: 1, arbitrary: fc.oneof(anyString({ maxLength: 10 }), wrongType) },
);
const nameClaim = fc.oneof(fc.constant(undefined), fc.constant(null), anyString({ maxLength: 120 }), injection, wrongType);

/** Claims as the JWT authorizer hands them over, of the right and the wrong types. */
const claimsArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc
      .record({
        email: emailClaim,
        email_verified: verifiedClaim,
        name: nameClaim,
        sub: fc.string({ maxLength: 12 }),
        extra: fc.dictionary(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('hmac', 'nickname', 'locale', 'participants', 'Email', 'EMAIL', 'preferred_username', 'custom:email')), fc.oneof(plainEmail, fc.jsonValue({ maxDepth: 1 })), { maxKeys: 3 }),
      })
      .map(({ extra, ...claims }) => {
        const all: Record<string, unknown> = {};
        for (const [key, value] of Object.entries({ ...extra, ...claims })) {
          if (value !== undefined) Object.defineProperty(all, key, { value, enumerable: true, writable: true, configurable: true });
        }
        return all;
      }),
  },
  { weight: 1, arbitrary: fc.constantFrom<unknown>(undefined, {}, [], 'claims', 0, '') },
);

/** Verified claims with an ordinary email: identity passes, so the query decides. */
const verifiedClaims = fc.record({ email: plainEmail, email_verified: fc.constantFrom<unknown>('true', true), name: fc.option(fc.oneof(anyString({ maxLength: 60 }), injection), { nil: undefined }) }).map(
  ({ name, ...claims }) => (name === undefined ? claims : { ...claims, name }),
);

type Encoding = 'component' | 'form' | 'uri' | 'raw';
function encodeAs(value: string, how: Encoding): string {
  try {
    if (how === 'component') return encodeURIComponent(value);
    if (how === 'form') return encodeURIComponent(value).replace(/%20/g, '+');
    if (how === 'uri') return encodeURI(value);
  } catch {
    // a lone surrogate: sent as is
  }
  return value;
}
const encodingArb = fc.constantFrom<Encoding>('component', 'component', 'form', 'uri', 'raw');

const paramValue = fc.oneof(
  { weight: 4, arbitrary: injection },
  { weight: 2, arbitrary: anyString({ maxLength: 60 }) },
  { weight: 1, arbitrary: plainEmail },
  { weight: 1, arbitrary: fc.array(plainEmail, { minLength: 1, maxLength: 12 }).map((emails) => emails.join(',')) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,2}$/) },
);
const EMAIL_OR_HMAC_NAMES = ['email', 'hmac', '%65mail', 'e%6Dail', '%65%6D%61%69%6C', 'hm%61c', '%68mac', 'EMAIL'.toLowerCase()];
const paramName = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('nickname', 'locale', 'participants') },
  { weight: 1, arbitrary: fc.constantFrom(...EMAIL_OR_HMAC_NAMES) },
  { weight: 1, arbitrary: fc.constantFrom('Email', 'HMAC', 'email%00', 'email ', ' email', 'nickname[]', 'Nickname', 'locale ', '', '=', 'a'.repeat(100), 'name', 'e-mail', 'emails', '%26email') },
  { weight: 1, arbitrary: anyString({ maxLength: 12 }) },
);
const queryPart = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(paramName, paramValue, encodingArb).map(([name, value, how]) => `${name}=${encodeAs(value, how)}`) },
  { weight: 1, arbitrary: paramName },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      `hmac=${'0'.repeat(64)}`, 'email=victim%40example.com', 'email=', '%26email%3Dvictim%40example.com', 'nickname=a%26email%3Dvictim%40example.com', 'nickname=a&email=victim@example.com',
      '#email=victim@example.com', ';email=victim@example.com', 'nickname=a%0D%0ASet-Cookie:%20x=y', 'nickname=%00', 'locale=en%00', 'participants=a%40b.co%2Cc%40d.io', '&&', '=', '&=&',
    ),
  },
);
/** Query strings built from parts joined by '&' (sometimes by other separators), repeated names included. */
const queryArb = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.array(queryPart, { maxLength: 4 }), fc.constantFrom('&', '&', '&', '&&', ';', '&amp;')).map(([parts, sep]) => parts.join(sep)) },
  { weight: 1, arbitrary: anyString({ maxLength: 60 }) },
  { weight: 1, arbitrary: fc.constant('') },
);

/** Well-formed requests with hostile values: nickname, locale and participants each at most once. */
const cleanQuery = fc
  .record(
    {
      nickname: fc.oneof(injection, anyString({ minLength: 1, maxLength: 100 })),
      locale: fc.oneof(fc.constantFrom('en', 'pt-BR', 'zh-Hant-TW', 'EN-us', 'fr-CA', 'x-private', 'sr-Latn-RS', 'en-US-u-ca-gregory'), injection),
      participants: fc.oneof(fc.array(plainEmail, { minLength: 1, maxLength: 10 }).map((emails) => emails.join(',')), injection),
    },
    { requiredKeys: [] },
  )
  .chain((params) => fc.tuple(fc.constant(params), fc.shuffledSubarray(Object.keys(params)), encodingArb))
  .map(([params, order, how]) => order.map((name) => `${name}=${encodeAs(params[name as keyof typeof params]!, how === 'raw' || how === 'uri' ? 'component' : how)}`).join('&'));

/**
 * One character added to a plain address, and the refusal expected at an end or inside. A space
 * or NBSP inside is no character problem, just not an address (email_missing); a tab or NEL
 * inside is a control character; at an end, every White_Space character is email_whitespace.
 */
type Expected = 'signed' | 'email_missing' | 'email_whitespace' | 'email_control_character' | 'email_bidi_control' | 'email_invisible_character';
type Placement = 'start' | 'end' | 'inside';
const whitespace = (char: string, inside: Expected) => ({ char, edge: 'email_whitespace' as Expected, inside });
const anywhere = (char: string, code: Expected) => ({ char, edge: code, inside: code });
const DECORATIONS = [
  ...[' ', '\u00A0', '\u2028', '\u2029', '\u3000', '\u2009', '\u202F', '\u1680'].map((char) => whitespace(char, 'email_missing')),
  ...['\t', '\n', '\r', '\u000B', '\u000C', '\u0085'].map((char) => whitespace(char, 'email_control_character')),
  ...['\u0000', '\u0001', '\u001B', '\u001F', '\u007F', '\u0080', '\u009F'].map((char) => anywhere(char, 'email_control_character')),
  ...['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C'].map((char) => anywhere(char, 'email_bidi_control')),
  ...['\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u180E', '\u2062', '\u{E0001}'].map((char) => anywhere(char, 'email_invisible_character')),
];
function decorate(email: string, char: string, placement: Placement, at: number): string {
  if (placement === 'start') return char + email;
  if (placement === 'end') return email + char;
  const index = 1 + (at % (email.length - 1)); // strictly inside: after the first, before the last character
  return email.slice(0, index) + char + email.slice(index);
}

// ---------------------------------------------------------------------------------------------

describe('ticket center URL signer under bad input (property-based)', () => {
  it('any claims, any query: never 5xx; a 200 signs exactly the token email, with one email and one hmac and nothing smuggled', async () => {
    await fc.assert(
      fc.asyncProperty(claimsArb, queryArb, async (claims, query) => {
        const { status } = await drive(claims, query);
        const names = queryNames(query);
        if (names.includes('email') || names.includes('hmac')) expect(status).not.toBe(200);
      }),
      runs(2000),
    );
  });

  it('verified claims and hostile nickname/locale/participants: 200 or 400 invalid_parameter, and every 200 signs the token email only', async () => {
    const before = signed;
    await fc.assert(
      fc.asyncProperty(fc.oneof(verifiedClaims, claimsArb), cleanQuery, async (claims, query) => {
        const { status, body } = await drive(claims, query);
        if (status === 400) expect(body.error).toMatchObject({ code: 'invalid_parameter', parameter: expect.stringMatching(/^(nickname|locale|participants)$/) });
      }),
      runs(1000),
    );
    expect(signed - before).toBeGreaterThan(100);
  });

  it('a query parameter named email or hmac, however encoded and wherever placed, is always refused: 400 invalid_parameter', async () => {
    const smuggled = fc
      .tuple(fc.array(queryPart, { maxLength: 3 }), fc.constantFrom(...EMAIL_OR_HMAC_NAMES), fc.oneof(plainEmail, paramValue, fc.constant(null)), encodingArb, fc.nat())
      .map(([parts, name, value, how, at]) => {
        const part = value === null ? name : `${name}=${encodeAs(value, how)}`;
        parts.splice(at % (parts.length + 1), 0, part);
        return parts.join('&');
      });
    await fc.assert(
      fc.asyncProperty(verifiedClaims, smuggled, async (claims, query) => {
        expect(queryNames(query).some((name) => name === 'email' || name === 'hmac')).toBe(true);
        const { status, body } = await drive(claims, query);
        expect({ status, code: body.error?.code }).toEqual({ status: 400, code: 'invalid_parameter' });
      }),
      runs(600),
    );
  });

  // A claim holding an unpaired UTF-16 surrogate (the JSON escape "\ud800" in a JWT payload
  // decodes to one) cannot be percent-encoded: such an email is refused (403), such a name dropped.
  it('claims holding unpaired UTF-16 surrogates (email or name): never 5xx', async () => {
    const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
    const withSurrogate = fc.tuple(fc.string({ maxLength: 6 }), loneSurrogate, fc.string({ maxLength: 6 })).map(([a, s, b]) => `${a}${s}${b}`);
    const claims = fc.oneof(
      fc.tuple(withSurrogate, plainEmail).map(([local, email]) => ({ email: `${local.replace(/[\s@,;:<>()[\]\\"]/g, '')}${email}`, email_verified: 'true' })),
      fc.tuple(plainEmail, withSurrogate).map(([email, name]) => ({ email, email_verified: 'true', name })),
    );
    await fc.assert(
      fc.asyncProperty(claims, async (c) => {
        await drive(c, '');
      }),
      runs(50),
    );
  });

  // An email claim is signed exactly or refused: never trimmed, never stripped of what it holds.
  it('any email claim string: a 200 signs exactly that string (the URL decodes to it), anything else is a 403 refusal with the right code', async () => {
    const decorated = fc
      .tuple(plainEmail, fc.constantFrom(...DECORATIONS), fc.constantFrom<Placement>('start', 'end', 'inside'), fc.nat())
      .map(([email, decoration, placement, at]) => ({ claim: decorate(email, decoration.char, placement, at), expected: decoration[placement === 'inside' ? 'inside' : 'edge'] }));
    const anyClaim = fc.oneof(
      { weight: 3, arbitrary: decorated },
      { weight: 2, arbitrary: plainEmail.map((claim) => ({ claim, expected: 'signed' as Expected })) },
      { weight: 2, arbitrary: strangeEmail.map((claim) => ({ claim, expected: undefined })) },
      { weight: 1, arbitrary: anyString({ maxLength: 40 }).map((claim) => ({ claim, expected: undefined })) },
    );
    let exact = 0;
    await fc.assert(
      fc.asyncProperty(anyClaim, async ({ claim, expected }) => {
        const { status, body } = await drive({ email: claim, email_verified: 'true' }, '');
        if (status === 200) {
          exact += 1;
          expect(new URL(body.url!).searchParams.get('email')).toBe(claim);
          expect(expected === undefined || expected === 'signed').toBe(true);
        } else {
          expect(status).toBe(403);
          if (expected !== undefined) expect(body.error!.code).toBe(expected);
          const code = body.error!.code;
          if (code === 'email_whitespace') expect(claim).toMatch(EDGE_WHITESPACE);
          if (code === 'email_control_character') expect(claim).toMatch(CONTROL);
          if (code === 'email_bidi_control') expect(claim).toMatch(BIDI);
        }
      }),
      runs(600),
    );
    expect(exact).toBeGreaterThan(50 * Math.min(1, SCALE));
  });

  // A parameter name can be an email: refusals give a hash of it, never the name.
  it('an unknown parameter name is in neither the reply nor the log, wherever it is placed', async () => {
    const unknownName = fc.oneof(
      fc.constantFrom('alice@example.com', 'bob.smith+support@corp.example', 'victim@evil.example', 'Jane.Doe@Example.COM'),
      plainEmail.map((email) => `xun-${email}`),
      anyString({ maxLength: 20 }).map((text) => `xun-${text}`),
    );
    const known = fc.constantFrom('nickname=Ann', 'locale=fr', 'participants=a%40b.co', 'nickname=Ann&nickname=Bob', 'locale=en_US', 'email=x%40y.z');
    const request = fc
      .tuple(unknownName, fc.array(known, { maxLength: 2 }), fc.array(known, { maxLength: 2 }), fc.constantFrom<Encoding>('component', 'form'), fc.option(paramValue, { nil: undefined }))
      .map(([name, before, after, how, value]) => ({
        name,
        query: [...before, value === undefined ? encodeAs(name, how) : `${encodeAs(name, how)}=${encodeAs(value, 'component')}`, ...after].join('&'),
      }));
    let unknownRefusals = 0;
    await fc.assert(
      fc.asyncProperty(verifiedClaims, request, async (claims, { name, query }) => {
        expect(queryNames(query)).toContain(name);
        const from = stdout.length;
        const { status, body } = await drive(claims, query);
        expect(status).toBe(400);
        if (body.error!.parameter === '(unknown)') unknownRefusals += 1;
        const reply = JSON.stringify(body);
        const logged = stdout.slice(from).join('');
        for (const form of new Set([name, JSON.stringify(name).slice(1, -1), encodeURIComponent(name)])) {
          if (reply.includes(form)) throw new Error(`the reply echoes the unknown name ${JSON.stringify(name)}: ${reply}`);
          if (logged.includes(form)) throw new Error(`the log echoes the unknown name ${JSON.stringify(name)}: ${logged}`);
        }
      }),
      runs(600),
    );
    expect(unknownRefusals).toBeGreaterThan(100 * Math.min(1, SCALE));
  });

  it('in the end: every hmac of the first 30 signed URLs was checked by openssl, and the log never held the secret', () => {
    expect(signed).toBeGreaterThan(200 * Math.min(1, SCALE));
    expect(opensslChecks).toBe(30);
    expect(opensslHashChecks).toBe(30);
    if (process.env.FUZZ_REPORT) process.stderr.write(`ticket-center-url fuzz: ${driven} requests, ${signed} signed, openssl checks ${opensslChecks}, outcomes ${JSON.stringify(Object.fromEntries([...tally].sort()))}\n`);
  });
});
