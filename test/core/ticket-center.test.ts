import {
  MAX_PARTICIPANTS,
  TICKET_CENTER_BASE_URL,
  TICKET_CENTER_IFRAME,
  UNKNOWN_PARAMETER,
  buildTicketCenterUrl,
  emailCharacterProblem,
  encodeQueryValue,
  identityFromClaims,
  isPlausibleEmail,
  parameterNameHash,
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
  it('takes the email from the claim exactly as the identity provider gives it', () => {
    const result = identityFromClaims({ email: 'Jane+x@Example.com', email_verified: 'true' }, POLICY);
    expect(result).toEqual({ ok: true, value: { email: 'Jane+x@Example.com', name: undefined } });
  });

  it('never trims: a padded claim is refused (email_whitespace), not signed without its padding', () => {
    expect(identityFromClaims({ email: '  Jane+x@Example.com ', email_verified: 'true' }, POLICY)).toMatchObject({
      ok: false,
      refusal: { status: 403, code: 'email_whitespace' },
    });
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

  // The sha256 prefixes below were computed outside the code under test, with coreutils:
  //   printf %s 'lang' | sha256sum               -> 5cf7d7ec1cb5...
  //   printf %s 'alice@example.com' | sha256sum  -> ff8d9819fc0e...
  //   printf %s 'Lang' | sha256sum               -> f60d718a3c66...
  //   printf %s 'nickname ' | sha256sum          -> 51ea00453e4f... (a trailing space: not "nickname")
  //   printf %s "$(printf 'z%.0s' $(seq 500))" | sha256sum -> 36559492ba4d...
  it.each([
    ['lang=fr', 'lang', '5cf7d7ec1cb5'],
    ['alice@example.com=1', 'alice@example.com', 'ff8d9819fc0e'],
    ['alice%40example.com', 'alice@example.com', 'ff8d9819fc0e'],
    ['Lang=fr', 'Lang', 'f60d718a3c66'],
    ['nickname%20=a', 'nickname ', '51ea00453e4f'],
  ])('refuses the unknown parameter in %s without echoing its name, giving its sha256 prefix', (query, name, hash) => {
    const refusal = refusedFor(query);
    expect(refusal).toEqual({
      status: 400,
      code: 'invalid_parameter',
      parameter: UNKNOWN_PARAMETER,
      parameterHash: hash,
      message: `Unknown query parameter (name not shown; sha256 prefix ${hash}). Accepted: nickname, locale, participants.`,
    });
    expect(UNKNOWN_PARAMETER).toBe('(unknown)');
    expect(refusal.message).not.toContain(name);
    expect(parameterNameHash(name)).toBe(hash);
  });

  it('refuses the first unknown name even after valid parameters, and before a repeated one', () => {
    expect(refusedFor('locale=fr&alice@example.com=1')).toMatchObject({ parameter: '(unknown)', parameterHash: 'ff8d9819fc0e' });
    expect(refusedFor('alice@example.com=1&alice@example.com=2')).toMatchObject({ parameter: '(unknown)', parameterHash: 'ff8d9819fc0e' });
    expect(refusedFor('alice@example.com=1&locale=en&locale=fr').message).not.toContain('alice');
  });

  it('refuses a parameter given twice, naming it: only known names get that far', () => {
    for (const [name, value] of [['nickname', 'Ann'], ['locale', 'fr'], ['participants', 'a%40b.co']]) {
      const refusal = refusedFor(`${name}=${value}&${name}=${value}`);
      expect(refusal).toMatchObject({ parameter: name, message: `"${name}" is given more than once.` });
      expect(refusal.parameterHash).toBeUndefined();
    }
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
    expect(refusal.message).not.toContain('zzz');
    expect(refusal).toMatchObject({ parameter: '(unknown)', parameterHash: '36559492ba4d' });
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

// The email is signed exactly as the identity provider verified it, or refused with a code saying
// why: a padded or invisible-character variant of an address would be a different Crisp identity.
describe('email claims that cannot be signed as they are', () => {
  const refusalFor = (email: string) => {
    const result = identityFromClaims({ email, email_verified: 'true' }, POLICY);
    if (result.ok) throw new Error(`expected a refusal for ${JSON.stringify(email)}`);
    return result.refusal;
  };
  const BASE = 'jane.doe@example.com';

  it.each([
    ['a leading space', ` ${BASE}`],
    ['a trailing space', `${BASE} `],
    ['a trailing tab', `${BASE}\t`],
    ['a leading line feed', `\n${BASE}`],
    ['a trailing CR LF', `${BASE}\r\n`],
    ['a leading NBSP (U+00A0)', `\u00A0${BASE}`],
    ['a trailing NBSP (U+00A0)', `${BASE}\u00A0`],
    ['a trailing line separator (U+2028)', `${BASE}\u2028`],
    ['a leading paragraph separator (U+2029)', `\u2029${BASE}`],
    ['a trailing ideographic space (U+3000)', `${BASE}\u3000`],
    ['a leading narrow NBSP (U+202F)', `\u202F${BASE}`],
    ['a trailing NEL (U+0085, whitespace at an end)', `${BASE}\u0085`],
    ['a leading Ogham space (U+1680)', `\u1680${BASE}`],
  ])('403 email_whitespace for %s', (_, email) => {
    expect(refusalFor(email)).toMatchObject({ status: 403, code: 'email_whitespace' });
  });

  it.each([
    ['NUL (U+0000)', `jane\u0000@example.com`],
    ['U+001F', `jane@exa\u001Fmple.com`],
    ['DEL (U+007F)', `jane\u007F.doe@example.com`],
    ['NEL (U+0085) inside', `jane\u0085doe@example.com`],
    ['a tab inside', `jane\tdoe@example.com`],
    ['a line feed inside', `jane@example.com\nBcc@x.io`],
    ['U+009F', `\u009Fjane@example.com`],
  ])('403 email_control_character for %s', (_, email) => {
    expect(refusalFor(email)).toMatchObject({ status: 403, code: 'email_control_character' });
  });

  it.each([
    ['RLO (U+202E)', `\u202Emoc.elpmaxe@enaj`],
    ['RLO (U+202E) inside', `jane@exa\u202Emple.com`],
    ['LRE (U+202A)', `jane\u202A@example.com`],
    ['PDF (U+202C)', `jane@example.com\u202C`],
    ['LRI (U+2066)', `\u2066jane@example.com`],
    ['PDI (U+2069)', `jane@example.com\u2069`],
    ['RLM (U+200F)', `jane\u200F@example.com`],
    ['LRM (U+200E)', `jane@\u200Eexample.com`],
    ['ALM (U+061C)', `jane\u061C@example.com`],
  ])('403 email_bidi_control for %s (not the generic invisible code)', (_, email) => {
    expect(refusalFor(email)).toMatchObject({ status: 403, code: 'email_bidi_control' });
  });

  it.each([
    ['a zero-width space (U+200B)', `jane\u200B@example.com`],
    ['a leading zero-width space (U+200B)', `\u200Bjane@example.com`],
    ['a zero-width non-joiner (U+200C)', `ja\u200Cne@example.com`],
    ['a zero-width joiner (U+200D)', `jane@exam\u200Dple.com`],
    ['a word joiner (U+2060)', `jane@example\u2060.com`],
    ['a leading BOM (U+FEFF)', `\uFEFFjane@example.com`],
    ['a trailing BOM (U+FEFF)', `jane@example.com\uFEFF`],
    ['a soft hyphen (U+00AD)', `ja\u00ADne@example.com`],
    ['a Mongolian vowel separator (U+180E)', `jane\u180E@example.com`],
    ['an invisible times (U+2062)', `jane\u2062@example.com`],
    ['a tag character (U+E0041)', `jane\u{E0041}@example.com`],
    ['a Hangul filler (U+3164)', `jane\u3164@example.com`],
    ['a variation selector (U+FE0F)', `jane\uFE0F@example.com`],
  ])('403 email_invisible_character for %s', (_, email) => {
    expect(refusalFor(email)).toMatchObject({ status: 403, code: 'email_invisible_character' });
  });

  it('names the claim and the character, never the email', () => {
    const email = 'jane\u200B@example.com';
    const refusal = refusalFor(email);
    expect(refusal.message).toContain('"email"');
    expect(refusal.message).toContain('U+200B');
    for (const part of [email, 'jane', 'example.com']) expect(refusal.message).not.toContain(part);
    for (const [bad, code] of [[` ${BASE}`, 'U+0020'], [`a\u0000b@c.de`, 'U+0000'], [`\u202E${BASE}`, 'U+202E'], [`${BASE}\u{E0041}`, 'U+E0041']] as const) {
      const { message } = refusalFor(bad);
      expect(message).toContain(code);
      expect(message).not.toContain('jane');
      expect(message.length).toBeGreaterThan(30);
    }
    expect(refusalFor('a@b.co\u00A0').message).toMatch(/whitespace/);
    expect(refusalFor('a\u0001@b.co').message).toMatch(/control character/);
    expect(refusalFor('a\u2066@b.co').message).toMatch(/bidirectional/);
    expect(refusalFor('a\u00AD@b.co').message).toMatch(/invisible/);
  });

  it('checks in order: whitespace at an end, then control, then bidi, then invisible', () => {
    expect(emailCharacterProblem('\t\u202E\u200Ba@b.co')).toEqual({ code: 'email_whitespace', codePoint: 'U+0009' });
    expect(emailCharacterProblem('a\u200B\u202E\u0000@b.co')).toEqual({ code: 'email_control_character', codePoint: 'U+0000' });
    expect(emailCharacterProblem('a\u200B\u202E@b.co')).toEqual({ code: 'email_bidi_control', codePoint: 'U+202E' });
    expect(emailCharacterProblem('a\u200B@b.co')).toEqual({ code: 'email_invisible_character', codePoint: 'U+200B' });
    expect(emailCharacterProblem(BASE)).toBeUndefined();
  });

  it('keeps the order with the other refusals: missing, then these, then plausibility, then email_verified', () => {
    // Blank is missing, whatever the whitespace.
    for (const email of [' ', '\t\n', '\u00A0', '\u2028\u3000']) {
      expect(identityFromClaims({ email, email_verified: 'true' }, POLICY)).toMatchObject({ ok: false, refusal: { code: 'email_missing' } });
    }
    // A character problem wins over "not an email address" and over email_verified.
    expect(identityFromClaims({ email: ' not-an-email', email_verified: 'true' }, POLICY)).toMatchObject({ ok: false, refusal: { code: 'email_whitespace' } });
    expect(identityFromClaims({ email: '\u200Bjane@example.com', email_verified: 'false' }, POLICY)).toMatchObject({ ok: false, refusal: { code: 'email_invisible_character' } });
    // Otherwise implausible: email_missing as before; interior spaces are not characters of this kind.
    for (const email of ['a b@c.d', 'a\u00A0b@c.d', 'a\u2028b@c.d', 'a@b@c']) {
      const result = identityFromClaims({ email, email_verified: 'true' }, POLICY);
      expect(result).toMatchObject({ ok: false, refusal: { status: 403, code: 'email_missing' } });
      if (!result.ok) expect(result.refusal.message).toContain('not an email address');
    }
    // Plausible, clean, but not verified.
    expect(identityFromClaims({ email: BASE, email_verified: 'false' }, POLICY)).toMatchObject({ ok: false, refusal: { code: 'email_not_verified' } });
  });

  it('is checked on the claim before lower-casing, and lower-casing does not trim either', () => {
    const policy = { ...POLICY, lowercaseEmail: true };
    expect(identityFromClaims({ email: ' Jane@Example.com', email_verified: 'true' }, policy)).toMatchObject({ ok: false, refusal: { code: 'email_whitespace' } });
    expect(identityFromClaims({ email: 'Jane@Example.com', email_verified: 'true' }, policy)).toEqual({ ok: true, value: { email: 'jane@example.com', name: undefined } });
  });

  it.each(['Jane.Doe+support@Example.COM', 'josé.müller@exämple.de', '用户@例子.广告', "o'brien@example.ie", '😀@😀.io', 'x@localhost'])(
    'signs a clean claim exactly, character for character: %s',
    (email) => {
      const result = identityFromClaims({ email, email_verified: 'true' }, POLICY);
      if (!result.ok) throw new Error(`refused: ${result.refusal.code}`);
      expect(result.value.email).toBe(email);
      expect(result.value.email.length).toBe(email.length);
      const url = new URL(buildTicketCenterUrl({ websiteId: WEBSITE_ID, email: result.value.email }, SECRET));
      expect(url.searchParams.get('email')).toBe(email);
      expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, email));
    },
  );
});
