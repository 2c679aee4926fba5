/**
 * Crisp Ticket Center signed URLs: pure logic, no AWS.
 *
 * The URL carries the customer's email and `hmac = hex(HMAC-SHA256(secret, email))`. Crisp trusts
 * that signature as proof the backend authenticated the email, and it never expires: whoever
 * holds the URL reads that customer's tickets until the secret is rotated. So the email comes
 * only from the verified identity token, and the URL is treated as a credential (never logged,
 * never cached).
 */
import { createHmac } from 'node:crypto';

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

export type RefusalCode = 'unauthorized' | 'email_missing' | 'email_not_verified' | 'invalid_parameter' | 'secret_unavailable';

export interface Refusal {
  status: 400 | 401 | 403 | 503;
  code: RefusalCode;
  message: string;
  /** For `invalid_parameter`: the query parameter at fault. */
  parameter?: string;
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
  const rawEmail = claims[policy.emailClaim];
  if (rawEmail === undefined || rawEmail === null || (typeof rawEmail === 'string' && rawEmail.trim() === '')) {
    return refuse(403, 'email_missing', `The identity token has no "${policy.emailClaim}" claim, so there is no email to sign.`);
  }
  if (typeof rawEmail !== 'string' || !isPlausibleEmail(rawEmail.trim())) {
    return refuse(403, 'email_missing', `The identity token's "${policy.emailClaim}" claim is not an email address.`);
  }
  if (policy.requireEmailVerified && !isTrue(claims.email_verified)) {
    return refuse(403, 'email_not_verified', 'The identity token does not say the email is verified (email_verified is not true). Verify the email with your identity provider first.');
  }
  const trimmed = rawEmail.trim();
  const email = policy.lowercaseEmail ? trimmed.toLowerCase() : trimmed;
  const name = typeof claims.name === 'string' ? cleanName(claims.name) : undefined;
  return { ok: true, value: { email, name } };
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
// Query parameters: nickname, locale, participants; everything else is refused by name.

export interface TicketCenterQuery {
  nickname?: string;
  locale?: string;
  participants?: string[];
}

/**
 * Parses and validates the raw query string (as the browser encoded it: `+` is a space,
 * `%2B` a plus). A parameter given twice, an unknown one, or one that tries to set the email
 * is refused with its name.
 */
export function parseTicketCenterQuery(rawQuery: string | undefined): Result<TicketCenterQuery> {
  const params = new URLSearchParams(rawQuery ?? '');
  const seen = new Set<string>();
  const query: TicketCenterQuery = {};
  for (const [name, value] of params) {
    const shownName = name.length > 40 ? name.slice(0, 40) + '…' : name;
    if (name === 'email' || name === 'hmac') {
      return refuse(400, 'invalid_parameter', `"${name}" cannot be set in the request: the email is taken from your verified identity token.`, name);
    }
    if (!(QUERY_PARAMETERS as readonly string[]).includes(name)) {
      return refuse(400, 'invalid_parameter', `Unknown parameter "${shownName}". Accepted: ${QUERY_PARAMETERS.join(', ')}.`, shownName);
    }
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
