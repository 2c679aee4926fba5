/**
 * crisp-bridge's deploy-time configuration: one typed shape for the construct props and the
 * CDK context keys (same names), validated before anything is built. A missing or insecure
 * value stops `cdk synth` with a message that names the key and says what to pass.
 */
import { Token } from 'aws-cdk-lib';

/**
 * Issuer of the local stack's dev tokens (`npm run token`). The `.invalid` domain can never
 * resolve, and synth refuses it, so a deployed stack never accepts a dev token.
 */
export const LOCAL_DEV_ISSUER = 'https://dev-issuer.crisp-bridge.invalid/';

export interface CrispBridgeConfig {
  /** Crisp website ID (a UUID). */
  readonly websiteId: string;
  /** Identity provider issuing the frontend's tokens: `iss`, an https URL. */
  readonly jwtIssuer: string;
  /** Accepted token audiences. */
  readonly jwtAudience: string[];
  /** @default 'email' */
  readonly emailClaim?: string;
  /** @default true */
  readonly requireEmailVerified?: boolean;
  /** @default false */
  readonly lowercaseEmail?: boolean;
  /** @default [] (no CORS) */
  readonly allowedOrigins?: string[];
  /** @default a new secret holding a placeholder */
  readonly ticketCenterSecretArn?: string;
  /** @default a new secret holding a placeholder */
  readonly hookSecretArn?: string;
  /** @default false */
  readonly websiteHooks?: boolean;
  /** How long a processed event's dedupe key is kept, in hours. @default 168 */
  readonly dedupeTtlHours?: number;
  /** Freshness window for `X-Crisp-Request-Timestamp`, in seconds. @default 3600 */
  readonly hookMaxAgeSeconds?: number;
  /** Event namespaces to queue (`message:send`, `message:*`). @default [] (all) */
  readonly hookEvents?: string[];
  /** Crisp website IDs to queue hooks from. @default [] (all) */
  readonly hookWebsiteIds?: string[];
  /** Email address subscribed to the alarms. @default none */
  readonly alarmEmail?: string;
  /** Steady-state requests per second on each route (the signed-URL route). @default 50 */
  readonly throttleRateLimit?: number;
  /** Burst above that rate. @default 100 */
  readonly throttleBurstLimit?: number;
  /** Steady-state requests per second on each hook route. @default 100 */
  readonly hookThrottleRateLimit?: number;
  /** Burst above that rate on each hook route. @default 200 */
  readonly hookThrottleBurstLimit?: number;
}

export const DEFAULT_DEDUPE_TTL_HOURS = 168;
export const DEFAULT_HOOK_MAX_AGE_SECONDS = 3600;

export class CrispBridgeConfigError extends Error {
  override readonly name = 'CrispBridgeConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;

const HINTS: Record<string, string> = {
  websiteId: 'your Crisp website ID (Crisp: Settings → Workspace Settings → Setup & Integrations)',
  jwtIssuer: 'the issuer of the identity tokens your frontend sends, exactly as their "iss" claim (https://...)',
  jwtAudience: 'the audience (client ID) of those tokens; several are comma-separated',
};

function missing(key: string): CrispBridgeConfigError {
  return new CrispBridgeConfigError(
    key,
    `crisp-bridge: missing required configuration "${key}": ${HINTS[key]}. ` +
      `Pass it as CDK context (npx cdk deploy -c ${key}=...) or as the ${key} prop of the CrispBridge construct.`,
  );
}

function invalid(key: string, why: string): CrispBridgeConfigError {
  return new CrispBridgeConfigError(key, `crisp-bridge: invalid configuration "${key}": ${why}`);
}

const isToken = (value: string): boolean => Token.isUnresolved(value);

/** Checks the configuration; throws `CrispBridgeConfigError` naming the first bad key. */
export function validateConfig(config: CrispBridgeConfig): void {
  if (!config.websiteId?.trim()) throw missing('websiteId');
  if (!isToken(config.websiteId) && !UUID.test(config.websiteId)) {
    throw invalid('websiteId', `"${config.websiteId}" is not a Crisp website ID (a UUID such as 42286ab3-b29a-4fde-8538-da0ae501d825).`);
  }

  if (!config.jwtIssuer?.trim()) throw missing('jwtIssuer');
  if (!isToken(config.jwtIssuer)) checkIssuer(config.jwtIssuer);

  if (!config.jwtAudience || config.jwtAudience.length === 0) throw missing('jwtAudience');
  if (config.jwtAudience.some((aud) => !aud.trim())) throw invalid('jwtAudience', 'an audience is empty.');

  if (config.emailClaim !== undefined && !CLAIM_NAME.test(config.emailClaim)) {
    throw invalid('emailClaim', `"${config.emailClaim}" is not a claim name.`);
  }

  for (const origin of config.allowedOrigins ?? []) checkOrigin(origin);

  for (const key of ['ticketCenterSecretArn', 'hookSecretArn'] as const) {
    const arn = config[key];
    if (arn !== undefined && !isToken(arn) && !SECRET_ARN.test(arn)) {
      throw invalid(key, `"${arn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>).`);
    }
  }

  const ttlHours = config.dedupeTtlHours ?? DEFAULT_DEDUPE_TTL_HOURS;
  if (!Number.isInteger(ttlHours) || ttlHours < 1 || ttlHours > 24 * 365) {
    throw invalid('dedupeTtlHours', `expected a whole number of hours between 1 and 8760, got ${ttlHours}.`);
  }
  const maxAge = config.hookMaxAgeSeconds ?? DEFAULT_HOOK_MAX_AGE_SECONDS;
  if (!Number.isInteger(maxAge) || maxAge < 60) {
    throw invalid('hookMaxAgeSeconds', `expected a whole number of seconds, at least 60, got ${maxAge}.`);
  }
  if (maxAge > ttlHours * 3600) {
    throw invalid(
      'hookMaxAgeSeconds',
      `${maxAge} s is longer than the dedupe lifetime (dedupeTtlHours = ${ttlHours} h = ${ttlHours * 3600} s): ` +
        'a replayed hook older than its dedupe record would be processed twice. Shorten hookMaxAgeSeconds or lengthen dedupeTtlHours.',
    );
  }
  for (const event of config.hookEvents ?? []) {
    if (!EVENT_PATTERN.test(event)) throw invalid('hookEvents', `"${event}" is not an event namespace (message:send) or prefix (message:*).`);
  }
  for (const id of config.hookWebsiteIds ?? []) {
    if (!UUID.test(id)) throw invalid('hookWebsiteIds', `"${id}" is not a Crisp website ID (a UUID).`);
  }
  if (config.alarmEmail !== undefined && !isToken(config.alarmEmail) && !/^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/.test(config.alarmEmail)) {
    throw invalid('alarmEmail', `"${config.alarmEmail}" is not an email address.`);
  }
  for (const key of ['throttleRateLimit', 'throttleBurstLimit', 'hookThrottleRateLimit', 'hookThrottleBurstLimit'] as const) {
    const value = config[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 10_000)) {
      throw invalid(key, `expected a whole number of requests between 1 and 10000, got ${value}.`);
    }
  }
}

const EVENT_PATTERN = /^(\*|[a-z0-9_]+(:[a-z0-9_]+)*(:\*)?)$/;

function checkIssuer(issuer: string): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw invalid('jwtIssuer', `"${issuer}" is not a URL.`);
  }
  if (url.protocol !== 'https:') throw invalid('jwtIssuer', `"${issuer}" must be an https URL: API Gateway fetches the issuer's keys over https.`);
  if (url.search || url.hash) throw invalid('jwtIssuer', `"${issuer}" must not have a query string or fragment.`);
  if (url.username || url.password) throw invalid('jwtIssuer', 'the issuer URL must not contain credentials.');
  if (url.hostname === new URL(LOCAL_DEV_ISSUER).hostname) {
    throw invalid('jwtIssuer', 'that is the local stack\'s dev issuer; a deployed stack must trust your real identity provider.');
  }
}

function checkOrigin(origin: string): void {
  if (isToken(origin)) return;
  if (origin.includes('*')) {
    throw invalid('allowedOrigins', `"${origin}": wildcards are refused; list each origin that may fetch signed URLs.`);
  }
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw invalid('allowedOrigins', `"${origin}" is not an origin such as https://app.example.com.`);
  }
  const local = url.hostname === 'localhost' || url.hostname === '127.0.0.1';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    throw invalid('allowedOrigins', `"${origin}" must use https (http is accepted only for localhost).`);
  }
  if (url.origin !== origin) {
    throw invalid('allowedOrigins', `"${origin}" must be a bare origin like ${url.origin} (scheme, host and port; no path or trailing slash).`);
  }
}

// ---------------------------------------------------------------------------------------------
// CDK context -> config. Values from `-c key=value` are strings; from cdk.json they may be
// booleans or arrays. Both are accepted.

export type ContextReader = (key: string) => unknown;

export function configFromContext(read: ContextReader): CrispBridgeConfig {
  const config: CrispBridgeConfig = {
    websiteId: stringValue(read, 'websiteId') ?? '',
    jwtIssuer: stringValue(read, 'jwtIssuer') ?? '',
    jwtAudience: listValue(read, 'jwtAudience') ?? [],
    emailClaim: stringValue(read, 'emailClaim'),
    requireEmailVerified: booleanValue(read, 'requireEmailVerified'),
    lowercaseEmail: booleanValue(read, 'lowercaseEmail'),
    allowedOrigins: listValue(read, 'allowedOrigins'),
    ticketCenterSecretArn: stringValue(read, 'ticketCenterSecretArn'),
    hookSecretArn: stringValue(read, 'hookSecretArn'),
    websiteHooks: booleanValue(read, 'websiteHooks'),
    dedupeTtlHours: integerValue(read, 'dedupeTtlHours'),
    hookMaxAgeSeconds: integerValue(read, 'hookMaxAgeSeconds'),
    hookEvents: listValue(read, 'hookEvents'),
    hookWebsiteIds: listValue(read, 'hookWebsiteIds'),
    alarmEmail: stringValue(read, 'alarmEmail'),
    throttleRateLimit: integerValue(read, 'throttleRateLimit'),
    throttleBurstLimit: integerValue(read, 'throttleBurstLimit'),
    hookThrottleRateLimit: integerValue(read, 'hookThrottleRateLimit'),
    hookThrottleBurstLimit: integerValue(read, 'hookThrottleBurstLimit'),
  };
  validateConfig(config);
  return config;
}

function stringValue(read: ContextReader, key: string): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw invalid(key, `expected a string, got ${JSON.stringify(value)}.`);
  return value.trim();
}

function listValue(read: ContextReader, key: string): string[] | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : undefined;
  if (!items || items.some((item) => typeof item !== 'string')) {
    throw invalid(key, `expected a comma-separated list of strings, got ${JSON.stringify(value)}.`);
  }
  return (items as string[]).map((item) => item.trim()).filter((item) => item !== '');
}

function integerValue(read: ContextReader, key: string): number | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw invalid(key, `expected a whole number, got ${JSON.stringify(value)}.`);
  return n;
}

function booleanValue(read: ContextReader, key: string): boolean | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid(key, `expected true or false, got ${JSON.stringify(value)}.`);
}
