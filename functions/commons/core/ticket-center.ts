/**
 * Crisp Ticket Center signed URLs: pure logic, no AWS.
 *
 * The URL carries the customer's email and `hmac = hex(HMAC-SHA256(secret, email))`. Crisp trusts
 * that signature as proof the backend authenticated the email, and it never expires: whoever
 * holds the URL reads that customer's tickets until the secret is rotated. So the email comes
 * only from the verified identity token, and the URL is treated as a credential (never logged,
 * never cached).
 *
 * The email is signed exactly as the identity provider verified it, or not at all: nothing is
 * trimmed or cleaned up. A claim with leading/trailing whitespace, a control character, an
 * invisible (format) character or a bidirectional control is refused with its own 403 code, because
 * any of those makes the signed string a different Crisp identity from the address it looks like.
 *
 * Refusals never echo what the caller sent where it could be personal data: the email never
 * appears in a message, and an unknown query parameter is reported by a hash of its name only
 * (a name can be an email: `?alice@example.com=1`).
 */
import { createHash, createHmac } from 'node:crypto';

export const TICKET_CENTER_BASE_URL = 'https://plugins.crisp.chat/urn:crisp.im:ticket-center:0/tickets/';

/** The iframe attributes Crisp documents for the Ticket Center embed. */
export const TICKET_CENTER_IFRAME = {
  title: 'Ticket Center',
  referrerpolicy: 'origin',
  sandbox: 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin',
  width: '100%',
  height: '600px',
} as const;

export const MAX_PARTICIPANTS = 10;
export const MAX_NICKNAME_LENGTH = 100;
const MAX_LOCALE_LENGTH = 35;
const QUERY_PARAMETERS = ['nickname', 'locale', 'participants'] as const;

/** Lowercase hex HMAC-SHA256 of the email (UTF-8), keyed with the Ticket Center secret (UTF-8). */
export function signEmail(email: string, secret: string): string {
  return createHmac('sha256', secret).update(email, 'utf8').digest('hex');
}

/**
 * Percent-encodes a query value: `encodeURIComponent`, plus the five characters it leaves
 * alone (`!'()*`), so a value is safe in any attribute quoting. `+` becomes `%2B`, never a space.
 */
export function encodeQueryValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

export interface TicketCenterUrlInput {
  websiteId: string;
  /** The verified email, exactly as it is signed. */
  email: string;
  nickname?: string | undefined;
  locale?: string | undefined;
  participants?: readonly string[] | undefined;
}

export function buildTicketCenterUrl(input: TicketCenterUrlInput, secret: string): string {
  const query = [`email=${encodeQueryValue(input.email)}`, `hmac=${signEmail(input.email, secret)}`];
  if (input.nickname) query.push(`nickname=${encodeQueryValue(input.nickname)}`);
  if (input.locale) query.push(`locale=${encodeQueryValue(input.locale)}`);
  if (input.participants && input.participants.length > 0) {
    // Crisp: "comma-separated URL-encoded CC participant emails": each one encoded, commas kept.
    query.push(`participants=${input.participants.map(encodeQueryValue).join(',')}`);
  }
  return `${TICKET_CENTER_BASE_URL}${encodeQueryValue(input.websiteId)}?${query.join('&')}`;
}

export interface TicketCenterResponseBody {
  url: string;
  iframe: typeof TICKET_CENTER_IFRAME & { src: string };
}

export function ticketCenterResponseBody(url: string): TicketCenterResponseBody {
  return { url, iframe: { src: url, ...TICKET_CENTER_IFRAME } };
}

// ---------------------------------------------------------------------------------------------
// Refusals: every way a request can fail, with the contract's status and code.

/** Why an email claim that is a non-blank string cannot be signed as it is (403). */
export type EmailCharacterCode = 'email_whitespace' | 'email_control_character' | 'email_bidi_control' | 'email_invisible_character';

export type RefusalCode = 'unauthorized' | 'email_missing' | EmailCharacterCode | 'email_not_verified' | 'invalid_parameter' | 'secret_unavailable';

export interface Refusal {
  status: 400 | 401 | 403 | 503;
  code: RefusalCode;
  message: string;
  /**
   * For `invalid_parameter`: the query parameter at fault, when it is one of the names this API
   * knows; `UNKNOWN_PARAMETER` for any other name, which is never echoed.
   */
  parameter?: string;
  /**
   * For an unknown parameter: `parameterNameHash(name)`, for the log (it is also in the message),
   * so a developer can match a refusal to the request they sent. Not part of the response body.
   */
  parameterHash?: string;
}

type Result<T> = { ok: true; value: T } | { ok: false; refusal: Refusal };

function refuse(status: Refusal['status'], code: RefusalCode, message: string, parameter?: string): { ok: false; refusal: Refusal } {
  return { ok: false, refusal: parameter === undefined ? { status, code, message } : { status, code, message, parameter } };
}

// ---------------------------------------------------------------------------------------------
// Identity: the email comes from the verified token's claims and from nowhere else.

/**
 * Claims as API Gateway's JWT authorizer hands them to the function. API Gateway turns every
 * claim into a string (`true` arrives as `"true"`), so both forms are accepted here.
 */
export type Claims = Record<string, unknown>;

export interface IdentityPolicy {
  /** Claim holding the email. */
  emailClaim: string;
  /** Refuse tokens whose `email_verified` claim is not true. */
  requireEmailVerified: boolean;
  /** Sign the lower-cased email instead of the email as the identity provider gives it. */
  lowercaseEmail: boolean;
}

export interface Identity {
  email: string;
  /** The token's `name` claim, cleaned up for use as the default nickname. */
  name?: string | undefined;
}

export function identityFromClaims(claims: Claims | undefined, policy: IdentityPolicy): Result<Identity> {
  if (!claims || typeof claims !== 'object') {
    return refuse(401, 'unauthorized', 'A valid identity token is required (Authorization: Bearer <token>).');
  }
  const claimName = policy.emailClaim;
  const rawEmail = claims[claimName];
  // Blank (only whitespace) counts as absent; trim() is used to decide that, never to sign.
  if (rawEmail === undefined || rawEmail === null || (typeof rawEmail === 'string' && rawEmail.trim() === '')) {
    return refuse(403, 'email_missing', `The identity token has no "${claimName}" claim, so there is no email to sign.`);
  }
  if (typeof rawEmail === 'string') {
    const problem = emailCharacterProblem(rawEmail);
    if (problem) return refuse(403, problem.code, emailCharacterMessage(claimName, problem));
  }
  if (typeof rawEmail !== 'string' || !isPlausibleEmail(rawEmail)) {
    return refuse(403, 'email_missing', `The identity token's "${claimName}" claim is not an email address.`);
  }
  if (policy.requireEmailVerified && !isTrue(claims.email_verified)) {
    return refuse(403, 'email_not_verified', 'The identity token does not say the email is verified (email_verified is not true). Verify the email with your identity provider first.');
  }
  // Exactly the claim (or its lower-cased form, by configuration): the string the IdP verified.
  const email = policy.lowercaseEmail ? rawEmail.toLowerCase() : rawEmail;
  const name = typeof claims.name === 'string' ? cleanName(claims.name) : undefined;
  return { ok: true, value: { email, name } };
}

// ---------------------------------------------------------------------------------------------
// Characters that make an email claim unsignable as it is.
//
// Crisp keys the customer's tickets on the exact signed string. "jane@example.com" with a
// zero-width space, a BOM or a trailing NBSP displays as Jane's address but is another identity;
// trimming or stripping it instead would sign a string the identity provider never verified. So
// such a claim is refused, with a code saying which kind of character was found, and the caller
// fixes the identity provider's data. Checked in this order (the first match wins):

/** Unicode White_Space (space, tab, NBSP, U+2028, U+3000...) at either end. */
const EDGE_WHITESPACE = /^\p{White_Space}|\p{White_Space}$/u;
/** C0 and C1 controls, anywhere (NUL, CR, LF, DEL, U+0085...). */
const CONTROL_CHARACTER = /\p{Cc}/u;
/**
 * Bidirectional controls, anywhere: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069. They
 * are format characters too, but get their own code: they can make an address read as another.
 */
const BIDI_CONTROL = /\p{Bidi_Control}/u;
/**
 * Invisible characters, anywhere: format characters (\p{Cf}: zero-width space and joiners,
 * word joiner, BOM, soft hyphen, U+180E...) and the rest of what Unicode defines as
 * default-ignorable (Hangul fillers, variation selectors, combining grapheme joiner): all render
 * as nothing.
 */
const INVISIBLE_CHARACTER = /[\p{Cf}\p{Default_Ignorable_Code_Point}]/u;

const EMAIL_CHARACTER_CHECKS: ReadonlyArray<{ code: EmailCharacterCode; pattern: RegExp }> = [
  { code: 'email_whitespace', pattern: EDGE_WHITESPACE },
  { code: 'email_control_character', pattern: CONTROL_CHARACTER },
  { code: 'email_bidi_control', pattern: BIDI_CONTROL },
  { code: 'email_invisible_character', pattern: INVISIBLE_CHARACTER },
];

export interface EmailCharacterProblem {
  code: EmailCharacterCode;
  /** The offending character as `U+XXXX`: safe to show, it is not the email. */
  codePoint: string;
}

/** The first kind of character that keeps `email` from being signed as it is, if any. */
export function emailCharacterProblem(email: string): EmailCharacterProblem | undefined {
  for (const { code, pattern } of EMAIL_CHARACTER_CHECKS) {
    const match = pattern.exec(email);
    if (match) return { code, codePoint: formatCodePoint(match[0]) };
  }
  return undefined;
}

function formatCodePoint(character: string): string {
  return 'U+' + (character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}

/** A message naming the claim and the offending code point, never the email itself. */
function emailCharacterMessage(claimName: string, { code, codePoint }: EmailCharacterProblem): string {
  const claim = `The identity token's "${claimName}" claim`;
  const refusedNotFixed = 'It is refused rather than cleaned up: only the exact email your identity provider verified is signed.';
  switch (code) {
    case 'email_whitespace':
      return `${claim} starts or ends with whitespace (${codePoint}). ${refusedNotFixed}`;
    case 'email_control_character':
      return `${claim} contains a control character (${codePoint}); no email address does.`;
    case 'email_bidi_control':
      return `${claim} contains a bidirectional text control (${codePoint}), which can make an address display as a different one. ${refusedNotFixed}`;
    case 'email_invisible_character':
      return `${claim} contains an invisible character (${codePoint}), which would make it a different identity from the address it looks like. ${refusedNotFixed}`;
  }
}

function isTrue(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true');
}

// Characters never found in an unquoted address, plus control characters.
const EMAIL_PART = String.raw`[^\s@,;:<>()\[\]\\"\p{Cc}]`;
const EMAIL_RE = new RegExp(`^${EMAIL_PART}{1,64}@${EMAIL_PART}{1,253}$`, 'u');

/** A pragmatic syntax check: one `@`, no spaces, separators or control characters, RFC lengths. */
export function isPlausibleEmail(value: string): boolean {
  if (value.length > 254 || LONE_SURROGATE.test(value) || !EMAIL_RE.test(value)) return false;
  const domain = value.slice(value.indexOf('@') + 1);
  return !domain.startsWith('.') && !domain.endsWith('.') && !domain.includes('..');
}

const CONTROL_CHARS = /\p{Cc}/u;
/** Half of a UTF-16 surrogate pair on its own: not a character, and no URL can encode it. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Token names are not the caller's input: clean them up rather than refusing the request. */
function cleanName(name: string): string | undefined {
  const cleaned = name.replace(/\p{Cs}+/gu, '').replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim();
  if (!cleaned) return undefined;
  return Array.from(cleaned).slice(0, MAX_NICKNAME_LENGTH).join('').trim();
}

// ---------------------------------------------------------------------------------------------
// Query parameters: nickname, locale, participants; everything else is refused.

export interface TicketCenterQuery {
  nickname?: string;
  locale?: string;
  participants?: string[];
}

/** `parameter` of the refusal for a name this API does not know: the name itself is never shown. */
export const UNKNOWN_PARAMETER = '(unknown)';

type QueryParameter = (typeof QUERY_PARAMETERS)[number];

function isQueryParameter(name: string): name is QueryParameter {
  return (QUERY_PARAMETERS as readonly string[]).includes(name);
}

/**
 * First 12 hex characters of SHA-256 of the name (UTF-8): enough for a developer to match a
 * refusal with the request they sent. It is a correlation aid, not anonymisation: whoever
 * guesses the name can confirm it.
 */
export function parameterNameHash(name: string): string {
  return createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 12);
}

/**
 * An unknown name is not echoed, in the message or in `parameter`: it is caller input and can
 * be personal data (`?alice@example.com=1`), and refusals are logged.
 */
function refuseUnknownParameter(name: string): { ok: false; refusal: Refusal } {
  const parameterHash = parameterNameHash(name);
  const message = `Unknown query parameter (name not shown; sha256 prefix ${parameterHash}). Accepted: ${QUERY_PARAMETERS.join(', ')}.`;
  return { ok: false, refusal: { status: 400, code: 'invalid_parameter', message, parameter: UNKNOWN_PARAMETER, parameterHash } };
}

/**
 * Parses and validates the raw query string (as the browser encoded it: `+` is a space,
 * `%2B` a plus). A parameter given twice, or one that tries to set the email, is refused with
 * its name; an unknown one is refused without it (see `refuseUnknownParameter`).
 */
export function parseTicketCenterQuery(rawQuery: string | undefined): Result<TicketCenterQuery> {
  const params = new URLSearchParams(rawQuery ?? '');
  const seen = new Set<QueryParameter>();
  const query: TicketCenterQuery = {};
  for (const [rawName, value] of params) {
    if (rawName === 'email' || rawName === 'hmac') {
      return refuse(400, 'invalid_parameter', `"${rawName}" cannot be set in the request: the email is taken from your verified identity token.`, rawName);
    }
    if (!isQueryParameter(rawName)) return refuseUnknownParameter(rawName);
    // From here on the name is one of QUERY_PARAMETERS (by type): every message below may show it.
    const name: QueryParameter = rawName;
    if (seen.has(name)) return refuse(400, 'invalid_parameter', `"${name}" is given more than once.`, name);
    seen.add(name);

    if (name === 'nickname') {
      const nickname = value.trim();
      if (!nickname) return refuse(400, 'invalid_parameter', '"nickname" is empty; leave it out to use the name from the token.', name);
      if (CONTROL_CHARS.test(nickname)) return refuse(400, 'invalid_parameter', '"nickname" contains control characters.', name);
      if (Array.from(nickname).length > MAX_NICKNAME_LENGTH) {
        return refuse(400, 'invalid_parameter', `"nickname" is longer than ${MAX_NICKNAME_LENGTH} characters.`, name);
      }
      query.nickname = nickname;
    } else if (name === 'locale') {
      const locale = canonicalLocale(value.trim());
      if (!locale) {
        return refuse(400, 'invalid_parameter', '"locale" must be a BCP 47 language tag such as "en" or "pt-BR".', name);
      }
      query.locale = locale;
    } else {
      const parsed = parseParticipants(value);
      if (!parsed.ok) return parsed;
      query.participants = parsed.value;
    }
  }
  return { ok: true, value: query };
}

function canonicalLocale(tag: string): string | undefined {
  if (!tag || tag.length > MAX_LOCALE_LENGTH || !/^[A-Za-z0-9-]+$/.test(tag)) return undefined;
  try {
    return Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
}

function parseParticipants(value: string): Result<string[]> {
  const items = value.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) {
    return refuse(400, 'invalid_parameter', '"participants" must be comma-separated email addresses, with no empty entry.', 'participants');
  }
  const unique: string[] = [];
  const lower = new Set<string>();
  for (const [index, item] of items.entries()) {
    if (!isPlausibleEmail(item)) {
      return refuse(
        400,
        'invalid_parameter',
        `"participants": entry ${index + 1} is not an email address (a "+" in an address must be sent as %2B).`,
        'participants',
      );
    }
    if (!lower.has(item.toLowerCase())) {
      lower.add(item.toLowerCase());
      unique.push(item);
    }
  }
  if (unique.length > MAX_PARTICIPANTS) {
    return refuse(400, 'invalid_parameter', `"participants" has ${unique.length} addresses; at most ${MAX_PARTICIPANTS} are allowed.`, 'participants');
  }
  return { ok: true, value: unique };
}
