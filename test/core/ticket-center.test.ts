import {
  MAX_PARTICIPANTS,
  TICKET_CENTER_BASE_URL,
  TICKET_CENTER_IFRAME,
  buildTicketCenterUrl,
  encodeQueryValue,
  identityFromClaims,
  isPlausibleEmail,
  parseTicketCenterQuery,
  signEmail,
  ticketCenterResponseBody,
} from '../../functions/commons/core/ticket-center';
import { opensslHmacSha256 } from '../support/openssl';

const SECRET = 'tc-secret-Ω-with-unicode';
const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const POLICY = { emailClaim: 'email', requireEmailVerified: true, lowercaseEmail: false };

// The signature Crisp checks: HMAC-SHA256(secret, email), lowercase hex — checked against openssl.
describe('signEmail', () => {
  const emails = [
    'jane@example.com',
    'Jane.Doe+support@Example.COM', // plus and upper case: signed exactly as given
    'josé.müller@exämple.de', // non-ASCII local part and domain (UTF-8)
    '用户@例子.广告',
    "o'brien@example.ie",
  ];
  it.each(emails)('matches openssl for %s', (email) => {
    expect(signEmail(email, SECRET)).toBe(opensslHmacSha256(SECRET, email));
  });

  it('is lowercase hex of 64 characters', () => {
    expect(signEmail('a@b.c', 'k')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('distinguishes case: the email is not normalised', () => {
    expect(signEmail('Jane@example.com', SECRET)).not.toBe(signEmail('jane@example.com', SECRET));
  });
});

// The URL round-trips: what `email` decodes to is exactly the string that was signed.
describe('buildTicketCenterUrl', () => {
  it.each(['Jane.Doe+support@Example.COM', 'josé.müller@exämple.de', "o'brien&co=1@example.ie"])('round-trips %s through new URL()', (email) => {
    const url = new URL(buildTicketCenterUrl({ websiteId: WEBSITE_ID, email }, SECRET));
    expect(`${url.origin}${url.pathname}`).toBe(`${TICKET_CENTER_BASE_URL}${WEBSITE_ID}`);
    expect(url.searchParams.get('email')).toBe(email);
    expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, email));
    expect([...url.searchParams.keys()]).toEqual(['email', 'hmac']);
  });

  it('keeps + as %2B, never a space', () => {
    const raw = buildTicketCenterUrl({ websiteId: WEBSITE_ID, email: 'a+b@x.com' }, SECRET);
    expect(raw).toContain('email=a%2Bb%40x.com&');
  });

  it('percent-encodes every optional value and joins encoded participants with commas', () => {
    const raw = buildTicketCenterUrl(
      { websiteId: WEBSITE_ID, email: 'a@x.com', nickname: "Zoë O'Neil & co", locale: 'pt-BR', participants: ['c+1@x.com', 'd@y.org'] },
      SECRET,
    );
    expect(raw).toContain("nickname=Zo%C3%AB%20O%27Neil%20%26%20co");
    expect(raw).toContain('locale=pt-BR');
    expect(raw).toContain('participants=c%2B1%40x.com,d%40y.org');
    const url = new URL(raw);
    expect(url.searchParams.get('nickname')).toBe("Zoë O'Neil & co");
    expect(url.searchParams.get('participants')).toBe('c+1@x.com,d@y.org');
  });

  it('leaves out optional values that are not given', () => {
    const url = new URL(buildTicketCenterUrl({ websiteId: WEBSITE_ID, email: 'a@x.com', participants: [] }, SECRET));
    expect([...url.searchParams.keys()]).toEqual(['email', 'hmac']);
  });
});

describe('encodeQueryValue', () => {
  it("encodes the characters encodeURIComponent leaves alone: !'()*", () => {
    expect(encodeQueryValue("!'()*")).toBe('%21%27%28%29%2A');
  });
  it('decodes back to the original through URLSearchParams', () => {
    const value = "a+b c&d=e/f?g#h%i!'()*é";
    expect(new URLSearchParams(`v=${encodeQueryValue(value)}`).get('v')).toBe(value);
  });
});

describe('ticketCenterResponseBody', () => {
  it('has the url and the iframe attributes Crisp documents', () => {
    expect(ticketCenterResponseBody('https://x')).toEqual({
      url: 'https://x',
      iframe: {
        src: 'https://x',
        title: 'Ticket Center',
        referrerpolicy: 'origin',
        sandbox: 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin',
        width: '100%',
        height: '600px',
      },
    });
    expect(TICKET_CENTER_IFRAME.sandbox.split(' ')).toHaveLength(6);
  });
});

// The email comes only from verified claims; every refusal has the contract's status and code.
describe('identityFromClaims', () => {
  it('takes the email from the claim, trimmed, as the identity provider gives it', () => {
    const result = identityFromClaims({ email: '  Jane+x@Example.com ', email_verified: 'true' }, POLICY);
    expect(result).toEqual({ ok: true, value: { email: 'Jane+x@Example.com', name: undefined } });
  });

  it('accepts email_verified as API Gateway passes it ("true") and as a boolean', () => {
    expect(identityFromClaims({ email: 'a@b.co', email_verified: 'true' }, POLICY).ok).toBe(true);
    expect(identityFromClaims({ email: 'a@b.co', email_verified: true }, POLICY).ok).toBe(true);
  });

  it.each([[{}], [{ email_verified: 'false' }], [{ email_verified: false }], [{ email_verified: 'yes' }], [{ email_verified: '1' }]])(
    'refuses 403 email_not_verified for %j',
    (extra) => {
      const result = identityFromClaims({ email: 'a@b.co', ...extra }, POLICY);
      expect(result).toMatchObject({ ok: false, refusal: { status: 403, code: 'email_not_verified' } });
    },
  );

  it('does not check email_verified when the policy says not to', () => {
    expect(identityFromClaims({ email: 'a@b.co' }, { ...POLICY, requireEmailVerified: false }).ok).toBe(true);
  });

  it('refuses 401 when no claims reached the function', () => {
    expect(identityFromClaims(undefined, POLICY)).toMatchObject({ ok: false, refusal: { status: 401, code: 'unauthorized' } });
  });

  it.each([[{}], [{ email: '' }], [{ email: '   ' }], [{ email: null }]])('refuses 403 email_missing for %j', (claims) => {
    const result = identityFromClaims({ ...claims, email_verified: 'true' }, POLICY);
    expect(result).toMatchObject({ ok: false, refusal: { status: 403, code: 'email_missing' } });
    if (!result.ok) expect(result.refusal.message).toContain('"email"');
  });

  it.each([['not-an-email'], ['a@b@c'], ['a b@c.d'], [42], [['a@b.c']], ['a@.b'], ['a@b..c']])('refuses 403 email_missing for a claim that is not an email: %j', (email) => {
    expect(identityFromClaims({ email, email_verified: 'true' }, POLICY)).toMatchObject({ ok: false, refusal: { code: 'email_missing' } });
  });

  it('reads the configured claim, and only that one', () => {
    const policy = { ...POLICY, emailClaim: 'https://example.com/email' };
    expect(identityFromClaims({ 'https://example.com/email': 'x@y.zz', email: 'other@y.zz', email_verified: 'true' }, policy)).toMatchObject({
      ok: true,
      value: { email: 'x@y.zz' },
    });
    expect(identityFromClaims({ email: 'other@y.zz', email_verified: 'true' }, policy)).toMatchObject({ ok: false, refusal: { code: 'email_missing' } });
  });

  it('lower-cases only when configured', () => {
    expect(identityFromClaims({ email: 'Jane@Example.com', email_verified: 'true' }, { ...POLICY, lowercaseEmail: true })).toMatchObject({
      ok: true,
      value: { email: 'jane@example.com' },
    });
  });

  it('cleans the name claim up for use as a nickname', () => {
    const long = 'x'.repeat(150);
    expect(identityFromClaims({ email: 'a@b.co', email_verified: 'true', name: '  Jane \n\t Doe ' }, POLICY)).toMatchObject({ value: { name: 'Jane Doe' } });
    const result = identityFromClaims({ email: 'a@b.co', email_verified: 'true', name: long }, POLICY);
    expect(result.ok && result.value.name).toHaveLength(100);
    expect(identityFromClaims({ email: 'a@b.co', email_verified: 'true', name: ' \u0000 ' }, POLICY)).toMatchObject({ value: { name: undefined } });
  });
});

// Query parameters: only nickname, locale, participants; anything else is refused by name.
describe('parseTicketCenterQuery', () => {
  const refusedFor = (query: string) => {
    const result = parseTicketCenterQuery(query);
    if (result.ok) throw new Error(`expected a refusal for ${query}`);
    expect(result.refusal.status).toBe(400);
    expect(result.refusal.code).toBe('invalid_parameter');
    return result.refusal;
  };

  it('accepts no query at all', () => {
    expect(parseTicketCenterQuery('')).toEqual({ ok: true, value: {} });
    expect(parseTicketCenterQuery(undefined)).toEqual({ ok: true, value: {} });
  });

  it('parses the three parameters', () => {
    expect(parseTicketCenterQuery('nickname=Ann+Lee&locale=pt-br&participants=a%2Bcc%40x.com,%20b@y.org')).toEqual({
      ok: true,
      value: { nickname: 'Ann Lee', locale: 'pt-BR', participants: ['a+cc@x.com', 'b@y.org'] },
    });
  });

  it.each(['email=x@y.z', 'hmac=abc'])('refuses %s: the email cannot be chosen by the request', (query) => {
    const refusal = refusedFor(query);
    expect(refusal.parameter).toBe(query.split('=')[0]);
    expect(refusal.message).toMatch(/identity token/);
  });

  it('refuses an unknown parameter and names it', () => {
    expect(refusedFor('lang=fr')).toMatchObject({ parameter: 'lang' });
    expect(refusedFor('lang=fr').message).toContain('lang');
  });

  it('refuses a parameter given twice', () => {
    expect(refusedFor('locale=en&locale=fr')).toMatchObject({ parameter: 'locale' });
  });

  it.each([
    ['nickname=', 'nickname'],
    ['nickname=%20%20', 'nickname'],
    [`nickname=${'n'.repeat(101)}`, 'nickname'],
    ['nickname=a%0Ab', 'nickname'],
    ['locale=en_US', 'locale'],
    ['locale=', 'locale'],
    ['locale=xx-', 'locale'],
    ['locale=%3Cscript%3E', 'locale'],
    [`locale=${'a'.repeat(40)}`, 'locale'],
    ['participants=', 'participants'],
    ['participants=a@b.co,', 'participants'],
    ['participants=a@b.co,,c@d.ef', 'participants'],
    ['participants=not-an-email', 'participants'],
    ['participants=a+cc@x.com', 'participants'], // an unencoded + is a space: refused, with a hint
  ])('refuses %s naming %s', (query, parameter) => {
    const refusal = refusedFor(query);
    expect(refusal.parameter).toBe(parameter);
    expect(refusal.message).toContain(parameter);
  });

  it('hints at %2B when a participant has a space where a + was meant', () => {
    expect(refusedFor('participants=a+cc@x.com').message).toContain('%2B');
  });

  it(`accepts ${MAX_PARTICIPANTS} participants and refuses ${MAX_PARTICIPANTS + 1}`, () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `p${i}@x.com`).join(',');
    expect(parseTicketCenterQuery(`participants=${list(MAX_PARTICIPANTS)}`).ok).toBe(true);
    expect(refusedFor(`participants=${list(MAX_PARTICIPANTS + 1)}`).message).toContain(String(MAX_PARTICIPANTS));
  });

  it('drops repeated participants, case-insensitively, keeping the first spelling', () => {
    expect(parseTicketCenterQuery('participants=A@x.com,a@X.com,b@x.com')).toEqual({ ok: true, value: { participants: ['A@x.com', 'b@x.com'] } });
  });

  it('does not echo a huge unknown parameter name', () => {
    const refusal = refusedFor(`${'z'.repeat(500)}=1`);
    expect(refusal.message.length).toBeLessThan(200);
  });
});

describe('isPlausibleEmail', () => {
  it.each(['a@b.co', 'a.b+c@d-e.fg', 'josé@exämple.de', 'x@localhost'])('accepts %s', (email) => expect(isPlausibleEmail(email)).toBe(true));
  it.each(['', '@b.co', 'a@', 'a@b@c.d', 'a b@c.d', 'a,b@c.d', 'a@b.c\u0000', `${'a'.repeat(65)}@b.co`, `a@${'b'.repeat(250)}.co`])('refuses %j', (email) =>
    expect(isPlausibleEmail(email)).toBe(false),
  );
});

// A lone UTF-16 surrogate cannot be percent-encoded: refused in an email, dropped from a name.
describe('lone surrogates', () => {
  it('refuses an email holding one (403 email_missing), never throws', () => {
    expect(isPlausibleEmail('\ud800@a.co')).toBe(false);
    expect(identityFromClaims({ email: 'a\udc00b@a.co', email_verified: 'true' }, POLICY)).toMatchObject({ ok: false, refusal: { status: 403, code: 'email_missing' } });
  });
  it('drops them from the name claim, keeping paired surrogates (emoji)', () => {
    expect(identityFromClaims({ email: 'a@b.co', email_verified: 'true', name: 'Ann\ud800 😀' }, POLICY)).toMatchObject({ ok: true, value: { name: 'Ann 😀' } });
  });
});
