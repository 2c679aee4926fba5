/**
 * crisp-bridge's deploy-time configuration: one typed shape for the construct props and the
 * CDK context keys (same names), validated before anything is built. A missing, misspelt or
 * insecure value stops `cdk synth` with a message that names the key and says what to pass; an
 * unknown key is refused with the closest known one ("did you mean ...?").
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { checkCrispApiUrl } from '../functions/commons/core/crisp-api';
import { type EventBusConfig, eventBusConfigProblem } from './event-bus-config';

/**
 * Issuer of the local stack's dev tokens (`npm run token`). The `.invalid` domain can never
 * resolve, and synth refuses it, so a deployed stack never accepts a dev token.
 */
export const LOCAL_DEV_ISSUER = 'https://dev-issuer.crisp-bridge.invalid/';

/** Your own handler module, bundled into the consumer instead of the shipped example. */
export interface HandlersConfig {
  /**
   * Path of the module (TypeScript or JavaScript) exporting `defineHandlers({...})` as its default
   * export or as `handlers`; relative paths are resolved from the directory `cdk` runs in.
   */
  readonly entry: string;
  /**
   * Plain settings for your handlers (`context.settings.NAME`), set as the consumer's environment
   * variables. Never a secret: use `secrets`.
   * @default {}
   */
  readonly environment?: Record<string, string>;
  /**
   * Secrets your handlers read (`await context.secrets.get('NAME')`): a Secrets Manager secret or
   * its ARN. The consumer may read exactly these (GetSecretValue), and gets their ARNs, never values.
   * @default {}
   */
  readonly secrets?: Record<string, ISecret | string>;
}

/** `retain` keeps a resource holding data when the stack is deleted; `destroy` deletes it. */
export type RemovalPolicyName = 'retain' | 'destroy';

/** The event bus keys (`eventBus`, `eventSource`, `eventArchiveRetentionDays`) are documented in ./event-bus-config. */
export interface CrispBridgeConfig extends EventBusConfig {
  /**
   * Deploy the signed Ticket Center URL endpoint (`GET /ticket-center/url`). Off, no Ticket
   * Center secret, JWT authorizer or `websiteId` is needed.
   * @default true
   */
  readonly ticketCenter?: boolean;
  /**
   * Deploy the hook receiver, its queue, the dedupe table and the consumer. Off, none of these
   * exist (a Ticket-Center-only deployment).
   * @default true
   */
  readonly hooks?: boolean;
  /** Crisp website ID (a UUID). Required with the Ticket Center. */
  readonly websiteId?: string;
  /** Identity provider issuing the frontend's tokens: `iss`, an https URL. Required with the Ticket Center. */
  readonly jwtIssuer?: string;
  /** Accepted token audiences. Required with the Ticket Center. */
  readonly jwtAudience?: string[];
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
  /** Your handler module, its settings and secrets. @default the shipped example module */
  readonly handlers?: HandlersConfig;
  /**
   * What happens to the resources holding data (the secrets, the hook queue, the dead-letter
   * queue, the dedupe table) when the stack is deleted or a change would replace them.
   * @default 'retain'
   */
  readonly removalPolicy?: RemovalPolicyName | RemovalPolicy;
  /** The consumer function's timeout, in seconds (or a Duration). @default 30 */
  readonly consumerTimeout?: number | Duration;
  /** Receives of a failing message before SQS moves it to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * The most batches the consumer runs at once (the SQS event source's maximum concurrency,
   * 2 to 1000): raise it when events wait in the queue (docs/capacity.md). @default 5
   */
  readonly consumerMaxConcurrency?: number;
  /**
   * How long a message received by the consumer stays hidden: the wait before a failed event is
   * retried. At least the consumer timeout; AWS recommends six times it. In seconds (or a Duration).
   * @default 6 × consumerTimeout (180 s)
   */
  readonly visibilityTimeout?: number | Duration;
  /**
   * Your own domain for the HTTP API (`crisp.example.com`): the hook and Ticket Center URLs use
   * `https://<domainName>/...`, so the URLs pasted into Crisp survive the API's re-creation. Needs
   * `certificateArn`, or `hostedZoneId` + `hostedZoneName` (a DNS-validated certificate is created).
   * @default none (the API's execute-api URL)
   */
  readonly domainName?: string;
  /** An ACM certificate in the stack's region covering `domainName`. @default a new DNS-validated certificate (needs the hosted zone) */
  readonly certificateArn?: string;
  /** The Route 53 public hosted zone holding `domainName`: alias A/AAAA records are created in it. @default none (create the CNAME yourself) */
  readonly hostedZoneId?: string;
  /** That hosted zone's name (`example.com`), a suffix of `domainName`. Required with `hostedZoneId`. */
  readonly hostedZoneName?: string;
  /**
   * A CSS file in your repository for the Crisp Ticket Center (relative to the directory `cdk`
   * runs in): served over HTTPS by CloudFront from a private S3 bucket; paste the
   * `TicketCenterStylesheetUrl` output into Crisp. Needs the Ticket Center.
   * @default none
   */
  readonly ticketCenterStylesheet?: string;
  /**
   * Let your handlers call Crisp's REST API (`context.crisp`: replies sent once, states, metas):
   * a secret for your Crisp Marketplace plugin token is created (set it with the
   * `SetCrispApiTokenCommand` output) and the consumer may read it. Needs the hooks.
   * @default false
   */
  readonly crispApi?: boolean;
  /** Crisp's REST API base URL: https (http only for a loopback stand-in). Needs `crispApi`. @default 'https://api.crisp.chat/v1' */
  readonly crispApiUrl?: string;
}

export const DEFAULT_DEDUPE_TTL_HOURS = 168;
export const DEFAULT_HOOK_MAX_AGE_SECONDS = 3600;
export const DEFAULT_CONSUMER_TIMEOUT_SECONDS = 30;
export const DEFAULT_MAX_RECEIVE_COUNT = 5;

export class CrispBridgeConfigError extends Error {
  override readonly name = 'CrispBridgeConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

/** How a key is read from CDK context (where every `-c` value is a string). */
type KeyKind = 'string' | 'list' | 'boolean' | 'integer' | 'handlers' | 'removalPolicy' | 'booleanOrString';

/** Every configuration key, and how CDK context gives it. The construct's own extra props are listed in `CONSTRUCT_ONLY_KEYS`. */
export const CONFIG_KEYS: Readonly<Record<keyof CrispBridgeConfig, KeyKind>> = {
  ticketCenter: 'boolean',
  hooks: 'boolean',
  websiteId: 'string',
  jwtIssuer: 'string',
  jwtAudience: 'list',
  emailClaim: 'string',
  requireEmailVerified: 'boolean',
  lowercaseEmail: 'boolean',
  allowedOrigins: 'list',
  ticketCenterSecretArn: 'string',
  hookSecretArn: 'string',
  websiteHooks: 'boolean',
  dedupeTtlHours: 'integer',
  hookMaxAgeSeconds: 'integer',
  hookEvents: 'list',
  hookWebsiteIds: 'list',
  alarmEmail: 'string',
  throttleRateLimit: 'integer',
  throttleBurstLimit: 'integer',
  hookThrottleRateLimit: 'integer',
  hookThrottleBurstLimit: 'integer',
  handlers: 'handlers',
  removalPolicy: 'removalPolicy',
  consumerTimeout: 'integer',
  maxReceiveCount: 'integer',
  consumerMaxConcurrency: 'integer',
  visibilityTimeout: 'integer',
  domainName: 'string',
  certificateArn: 'string',
  hostedZoneId: 'string',
  hostedZoneName: 'string',
  ticketCenterStylesheet: 'string',
  eventBus: 'booleanOrString',
  eventSource: 'string',
  eventArchiveRetentionDays: 'integer',
  crispApi: 'boolean',
  crispApiUrl: 'string',
};

/** Props of the `CrispBridge` construct that are not configuration values (objects CDK builds). */
export const CONSTRUCT_ONLY_KEYS = ['logRetention', 'metricsNamespace'] as const;

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const CLAIM_NAME = /^[A-Za-z0-9_:./-]{1,128}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** A namespace (`message:send`), a prefix (`session:*`) or `*`: the handler keys' syntax, also the bus rules'. */
export const EVENT_PATTERN = /^(\*|[a-z0-9_]+(:[a-z0-9_]+)*(:\*)?)$/;
const HANDLER_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/**
 * Environment variables the consumer sets itself or Lambda reserves: a handler setting may not
 * take one of these names.
 */
const RESERVED_ENV = new Set([
  'DEDUPE_TABLE_NAME',
  'DEDUPE_TTL_HOURS',
  'MAX_RECEIVE_COUNT',
  'LEASE_MARGIN_MS',
  'DEAD_LETTER_QUEUE_URL',
  'BUS_NAME',
  'EVENT_SOURCE',
  'HANDLER_SECRETS',
  'CRISP_API_TOKEN_SECRET_ID',
  'CRISP_API_URL',
  'METRICS_NAMESPACE',
  'NODE_OPTIONS',
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'TZ',
  'LANG',
  'PATH',
  'LD_LIBRARY_PATH',
  'NODE_PATH',
]);
const RESERVED_ENV_PREFIXES = ['AWS_', 'LAMBDA_', 'CRISP_BRIDGE_'];

const HINTS: Record<string, string> = {
  websiteId: 'your Crisp website ID (Crisp: Settings → Workspace Settings → Setup & Integrations)',
  jwtIssuer: 'the issuer of the identity tokens your frontend sends, exactly as their "iss" claim (https://...)',
  jwtAudience: 'the audience (client ID) of those tokens; several are comma-separated',
};

function missing(key: string): CrispBridgeConfigError {
  return new CrispBridgeConfigError(
    key,
    `crisp-bridge: missing required configuration "${key}": ${HINTS[key]}. ` +
      `Set it in your environment's configuration (cdk.json), pass it as CDK context (npx cdk deploy -c ${key}=...) ` +
      `or as the ${key} prop of the CrispBridge construct; or deploy without the Ticket Center (ticketCenter: false).`,
  );
}

/** The refusal of a configuration value: `crisp-bridge: invalid configuration "<key>": <why>`, for every check of a key. */
export function invalid(key: string, why: string): CrispBridgeConfigError {
  return new CrispBridgeConfigError(key, `crisp-bridge: invalid configuration "${key}": ${why}`);
}

const isToken = (value: string): boolean => Token.isUnresolved(value);

/** Refuses keys nobody knows, naming the closest known one: a typo must not be silently ignored. */
export function refuseUnknownKeys(keys: Iterable<string>, known: readonly string[], where: string): void {
  for (const key of keys) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    throw new CrispBridgeConfigError(
      key,
      `crisp-bridge: unknown configuration key "${key}" in ${where}${guess ? `: did you mean "${guess}"?` : '.'} ` +
        `Known keys: ${[...known].sort().join(', ')}.`,
    );
  }
}

/** The known key nearest to `key` (case-insensitive edit distance, at most a third of its length), if any. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters counts as one edit. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j += 1) d[0]![j] = j;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** Checks the configuration; throws `CrispBridgeConfigError` naming the first bad key. */
export function validateConfig(config: CrispBridgeConfig, extraKeys: readonly string[] = CONSTRUCT_ONLY_KEYS): void {
  refuseUnknownKeys(
    Object.keys(config).filter((key) => (config as Record<string, unknown>)[key] !== undefined),
    [...Object.keys(CONFIG_KEYS), ...extraKeys],
    'the CrispBridge props',
  );
  const ticketCenter = config.ticketCenter ?? true;
  const hooks = config.hooks ?? true;
  if (!ticketCenter && !hooks) {
    throw new CrispBridgeConfigError(
      'hooks',
      'crisp-bridge: invalid configuration: both ticketCenter and hooks are off, so there is nothing to deploy. Turn at least one on.',
    );
  }

  if (ticketCenter) {
    if (!config.websiteId?.trim()) throw missing('websiteId');
    if (!isToken(config.websiteId) && !UUID.test(config.websiteId)) {
      throw invalid('websiteId', `"${config.websiteId}" is not a Crisp website ID (a UUID such as 42286ab3-b29a-4fde-8538-da0ae501d825).`);
    }
    if (!config.jwtIssuer?.trim()) throw missing('jwtIssuer');
    if (!isToken(config.jwtIssuer)) checkIssuer(config.jwtIssuer);
    if (!config.jwtAudience || config.jwtAudience.length === 0) throw missing('jwtAudience');
    if (config.jwtAudience.some((aud) => !aud.trim())) throw invalid('jwtAudience', 'an audience is empty.');
  } else {
    // Set but unused would mislead whoever reads the configuration.
    for (const key of ['jwtIssuer', 'jwtAudience', 'emailClaim', 'requireEmailVerified', 'lowercaseEmail', 'allowedOrigins', 'ticketCenterSecretArn', 'ticketCenterStylesheet'] as const) {
      if (config[key] !== undefined) throw invalid(key, 'is set but the Ticket Center is off (ticketCenter: false); remove it or turn the Ticket Center on.');
    }
  }
  if (config.websiteId !== undefined && !ticketCenter && !isToken(config.websiteId) && !UUID.test(config.websiteId)) {
    throw invalid('websiteId', `"${config.websiteId}" is not a Crisp website ID (a UUID).`);
  }

  if (config.emailClaim !== undefined && !CLAIM_NAME.test(config.emailClaim)) {
    throw invalid('emailClaim', `"${config.emailClaim}" is not a claim name.`);
  }
  for (const origin of config.allowedOrigins ?? []) checkOrigin(origin);

  for (const key of ['ticketCenterSecretArn', 'hookSecretArn'] as const) {
    const arn = config[key];
    if (arn !== undefined) checkSecretArn(key, arn);
  }

  if (!hooks) {
    for (const key of HOOK_KEYS) {
      if (config[key] !== undefined) throw invalid(key, 'is set but the hooks are off (hooks: false); remove it or turn the hooks on.');
    }
  }

  const concurrency = config.consumerMaxConcurrency;
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 2 || concurrency > 1000)) {
    throw invalid('consumerMaxConcurrency', `expected a whole number between 2 and 1000 (the SQS event source's limits), got ${concurrency}.`);
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
  if (config.handlers !== undefined) checkHandlers(config.handlers);
  if (config.removalPolicy !== undefined) removalPolicyOf(config.removalPolicy);
  retrySchedule(config);
  const busProblem = eventBusConfigProblem(config);
  if (busProblem) throw invalid(busProblem.key, busProblem.why);
  checkCustomDomain(config);
  if (config.ticketCenterStylesheet !== undefined) checkStylesheet(config.ticketCenterStylesheet);
  checkCrispApi(config);
}

/** `crispApiUrl` only with `crispApi` on; an https URL (http for a loopback host only). */
function checkCrispApi(config: Pick<CrispBridgeConfig, 'crispApi' | 'crispApiUrl'>): void {
  if (config.crispApi !== undefined && typeof config.crispApi !== 'boolean') throw invalid('crispApi', `expected true or false, got ${JSON.stringify(config.crispApi)}.`);
  if (config.crispApiUrl === undefined) return;
  if (!config.crispApi) throw invalid('crispApiUrl', 'is set but crispApi is not on; set crispApi: true or remove it.');
  if (isToken(config.crispApiUrl)) return;
  try {
    checkCrispApiUrl(config.crispApiUrl);
  } catch (error) {
    throw invalid('crispApiUrl', `${(error as Error).message}.`);
  }
}

/** Keys that only mean something with the hooks on. */
const HOOK_KEYS = [
  'hookSecretArn',
  'websiteHooks',
  'dedupeTtlHours',
  'hookMaxAgeSeconds',
  'hookEvents',
  'hookWebsiteIds',
  'hookThrottleRateLimit',
  'hookThrottleBurstLimit',
  'handlers',
  'consumerTimeout',
  'maxReceiveCount',
  'consumerMaxConcurrency',
  'visibilityTimeout',
  'crispApi',
  'crispApiUrl',
] as const;

function checkSecretArn(key: string, arn: string): void {
  if (!isToken(arn) && !SECRET_ARN.test(arn)) {
    throw invalid(key, `"${arn}" is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>).`);
  }
}

// ---------------------------------------------------------------------------------------------
// Your own domain (domainName, certificateArn, hostedZoneId, hostedZoneName) and the Ticket
// Center stylesheet. Exported: the CustomDomain and TicketCenterStylesheet constructs check
// their own props with these too.

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/;
const HOSTED_ZONE_ID = /^[A-Z0-9]{5,32}$/;

/** Refuses anything but a lowercase DNS name of two labels or more (`crisp.example.com`), naming `key`. */
export function checkDnsName(key: string, name: string): void {
  if (isToken(name)) return;
  if (/^[a-z]+:\/\//i.test(name) || name.includes('/')) {
    throw invalid(key, `"${name}" must be a host name only (crisp.example.com), without https:// or a path.`);
  }
  if (name !== name.toLowerCase()) throw invalid(key, `"${name}" must be written in lowercase (${name.toLowerCase()}).`);
  if (name.includes('*')) throw invalid(key, `"${name}": wildcards are refused; give the exact host name.`);
  const labels = name.split('.');
  if (name.length > 253 || labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label)) || /^\d+$/.test(labels[labels.length - 1]!)) {
    throw invalid(
      key,
      `"${name}" is not a DNS name such as crisp.example.com (lowercase letters, digits and -, labels of at most 63 characters separated by dots, no trailing dot).`,
    );
  }
}

/**
 * `domainName` needs a certificate: the given `certificateArn`, or one created and validated in the
 * hosted zone (`hostedZoneId` + `hostedZoneName`, which must hold the domain). Both together:
 * the given certificate is used and the records are created.
 */
export function checkCustomDomain(config: Pick<CrispBridgeConfig, 'domainName' | 'certificateArn' | 'hostedZoneId' | 'hostedZoneName'>): void {
  const { domainName, certificateArn, hostedZoneId } = config;
  const hostedZoneName = config.hostedZoneName?.replace(/\.$/, '');
  if (domainName === undefined) {
    for (const key of ['certificateArn', 'hostedZoneId', 'hostedZoneName'] as const) {
      if (config[key] !== undefined) throw invalid(key, 'is set but domainName is not; set domainName (crisp.example.com) or remove it.');
    }
    return;
  }
  checkDnsName('domainName', domainName);
  if (certificateArn !== undefined && !isToken(certificateArn) && !ACM_CERTIFICATE_ARN.test(certificateArn)) {
    throw invalid('certificateArn', `"${certificateArn}" is not an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>).`);
  }
  if (hostedZoneId !== undefined && hostedZoneName === undefined) {
    throw invalid('hostedZoneName', `is required with hostedZoneId: the name of that hosted zone (e.g. ${domainName.split('.').slice(1).join('.') || 'example.com'}).`);
  }
  if (hostedZoneName !== undefined && hostedZoneId === undefined) {
    throw invalid('hostedZoneId', 'is required with hostedZoneName: the ID of that Route 53 hosted zone (Z0123456789ABCDEFGHIJ, in the Route 53 console).');
  }
  if (hostedZoneId !== undefined && !isToken(hostedZoneId) && !HOSTED_ZONE_ID.test(hostedZoneId)) {
    throw invalid('hostedZoneId', `"${hostedZoneId}" is not a Route 53 hosted zone ID (such as Z0123456789ABCDEFGHIJ, without /hostedzone/).`);
  }
  if (hostedZoneName !== undefined) {
    checkDnsName('hostedZoneName', hostedZoneName);
    if (!isToken(domainName) && !isToken(hostedZoneName) && domainName !== hostedZoneName && !domainName.endsWith(`.${hostedZoneName}`)) {
      throw invalid('hostedZoneName', `"${hostedZoneName}" does not hold domainName "${domainName}": the zone's name must be a suffix of the domain (e.g. example.com for crisp.example.com).`);
    }
  }
  if (certificateArn === undefined && hostedZoneId === undefined) {
    throw invalid(
      'domainName',
      `"${domainName}" needs a TLS certificate: give certificateArn (an ACM certificate for it in the stack's region), ` +
        'or hostedZoneId and hostedZoneName (its Route 53 hosted zone: a DNS-validated certificate and the alias records are created).',
    );
  }
}

/** The largest Ticket Center stylesheet accepted. */
export const MAX_STYLESHEET_BYTES = 512 * 1024;

/**
 * Reads and checks the Ticket Center stylesheet (`ticketCenterStylesheet`): a `.css` file that
 * exists, is not empty, is at most 512 KiB of UTF-8 text, and holds nothing that could close
 * an HTML `<style>` element it is placed in. Relative paths are resolved from the directory
 * `cdk` runs in. Returns the absolute path and the text.
 */
export function readStylesheet(file: string, key = 'ticketCenterStylesheet'): { path: string; css: string } {
  if (typeof file !== 'string' || !file.trim()) throw invalid(key, 'expected the path of a CSS file (e.g. styles/ticket-center.css).');
  const resolved = path.resolve(file);
  if (path.extname(resolved).toLowerCase() !== '.css') throw invalid(key, `"${file}" must be a .css file.`);
  if (!existsSync(resolved)) throw invalid(key, `"${file}" does not exist (resolved from ${process.cwd()} to ${resolved}).`);
  if (!statSync(resolved).isFile()) throw invalid(key, `"${file}" is not a file (resolved from ${process.cwd()} to ${resolved}).`);
  const size = statSync(resolved).size;
  if (size > MAX_STYLESHEET_BYTES) throw invalid(key, `"${file}" is ${size} bytes; at most ${MAX_STYLESHEET_BYTES} (512 KiB) is accepted.`);
  const bytes = readFileSync(resolved);
  let css: string;
  try {
    css = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(key, `"${file}" is not UTF-8 text.`);
  }
  if (!css.trim()) throw invalid(key, `"${file}" is empty.`);
  if (css.includes('\u0000')) throw invalid(key, `"${file}" contains a NUL character: not a text stylesheet.`);
  if (/<\/style/i.test(css) || /<!--|<script/i.test(css)) {
    throw invalid(key, `"${file}" contains "</style", "<script" or "<!--": markup that could end the <style> element the stylesheet is placed in. Remove it (CSS never needs it).`);
  }
  return { path: resolved, css };
}

function checkStylesheet(file: string): void {
  readStylesheet(file);
}

function checkHandlers(handlers: HandlersConfig): void {
  refuseUnknownKeys(Object.keys(handlers), ['entry', 'environment', 'secrets'], 'handlers');
  if (typeof handlers.entry !== 'string' || !handlers.entry.trim()) {
    throw invalid('handlers', 'handlers.entry is required: the path of your handler module (e.g. src/crisp-handlers.ts).');
  }
  const entry = path.resolve(handlers.entry);
  if (!HANDLER_EXTENSIONS.includes(path.extname(entry))) {
    throw invalid('handlers', `handlers.entry "${handlers.entry}" must be a ${HANDLER_EXTENSIONS.join(', ')} file.`);
  }
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw invalid('handlers', `handlers.entry "${handlers.entry}" does not exist (resolved from ${process.cwd()} to ${entry}).`);
  }
  const names = new Set<string>();
  for (const [name, value] of Object.entries(handlers.environment ?? {})) {
    checkHandlerName('handlers.environment', name);
    if (typeof value !== 'string') throw invalid('handlers', `handlers.environment.${name} must be a string.`);
    names.add(name);
  }
  for (const [name, secret] of Object.entries(handlers.secrets ?? {})) {
    checkHandlerName('handlers.secrets', name);
    if (names.has(name)) throw invalid('handlers', `"${name}" is both a setting and a secret; give them different names.`);
    if (typeof secret === 'string') checkSecretArn(`handlers.secrets.${name}`, secret);
    else if (typeof secret !== 'object' || secret === null || typeof (secret as ISecret).secretArn !== 'string') {
      throw invalid('handlers', `handlers.secrets.${name} must be a Secrets Manager secret (ISecret) or its ARN.`);
    }
  }
}

function checkHandlerName(where: string, name: string): void {
  if (!ENV_NAME.test(name)) throw invalid('handlers', `${where}: "${name}" is not a valid name (letters, digits and _, not starting with a digit).`);
  if (RESERVED_ENV.has(name) || RESERVED_ENV_PREFIXES.some((prefix) => name.startsWith(prefix))) {
    throw invalid('handlers', `${where}: "${name}" is reserved by Lambda or crisp-bridge; choose another name.`);
  }
}

/** `retain` (the default) or `destroy`, as a CDK RemovalPolicy. */
export function removalPolicyOf(value: RemovalPolicyName | RemovalPolicy | undefined): RemovalPolicy {
  // RemovalPolicy.RETAIN is the string 'retain', DESTROY is 'destroy'.
  if (value === undefined) return RemovalPolicy.RETAIN;
  if (value === RemovalPolicy.RETAIN || value === RemovalPolicy.DESTROY) return value as RemovalPolicy;
  throw invalid('removalPolicy', `expected "retain" or "destroy", got ${JSON.stringify(value)}.`);
}

export interface RetrySchedule {
  consumerTimeout: Duration;
  visibilityTimeout: Duration;
  maxReceiveCount: number;
}

/**
 * The consumer's timeout, the queue's visibility timeout and its maximum receives, checked
 * together: a visibility timeout shorter than the timeout would let SQS hand a message still
 * being processed to a second consumer.
 */
export function retrySchedule(config: Pick<CrispBridgeConfig, 'consumerTimeout' | 'visibilityTimeout' | 'maxReceiveCount'>): RetrySchedule {
  const seconds = (key: string, value: number | Duration | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    // A Duration of 1500 millis is not a whole number of seconds: refuse it by name, not with CDK's conversion error.
    const n = typeof value === 'number' ? value : value.toMilliseconds() / 1000;
    if (!Number.isInteger(n) || n < 1) throw invalid(key, `expected a whole number of seconds, at least 1, got ${n}.`);
    return n;
  };
  const timeout = seconds('consumerTimeout', config.consumerTimeout, DEFAULT_CONSUMER_TIMEOUT_SECONDS);
  if (timeout > 900) throw invalid('consumerTimeout', `${timeout} s is longer than Lambda's maximum of 900 s.`);
  const visibility = seconds('visibilityTimeout', config.visibilityTimeout, 6 * timeout);
  if (visibility < timeout) {
    throw invalid(
      'visibilityTimeout',
      `${visibility} s is shorter than the consumer timeout (${timeout} s): SQS would hand a message still being processed to another consumer.`,
    );
  }
  if (visibility > 43_200) throw invalid('visibilityTimeout', `${visibility} s is longer than SQS's maximum of 43200 s (12 hours).`);
  const maxReceiveCount = config.maxReceiveCount ?? DEFAULT_MAX_RECEIVE_COUNT;
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    throw invalid('maxReceiveCount', `expected a whole number between 1 and 1000, got ${maxReceiveCount}.`);
  }
  return { consumerTimeout: Duration.seconds(timeout), visibilityTimeout: Duration.seconds(visibility), maxReceiveCount };
}

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
// booleans, numbers, arrays or objects. Both are accepted.

export type ContextReader = (key: string) => unknown;

/** Reads every configuration key through `read` (unset keys stay undefined), then validates. */
export function configFromContext(read: ContextReader): CrispBridgeConfig {
  const config: Record<string, unknown> = {};
  for (const [key, kind] of Object.entries(CONFIG_KEYS)) {
    const value = readValue(read, key, kind);
    if (value !== undefined) config[key] = value;
  }
  validateConfig(config as CrispBridgeConfig, []);
  return config as CrispBridgeConfig;
}

function readValue(read: ContextReader, key: string, kind: KeyKind): unknown {
  switch (kind) {
    case 'string':
      return stringValue(read, key);
    case 'list':
      return listValue(read, key);
    case 'boolean':
      return booleanValue(read, key);
    case 'integer':
      return integerValue(read, key);
    case 'removalPolicy':
      return stringValue(read, key);
    case 'handlers':
      return handlersValue(read, key);
    case 'booleanOrString': {
      // `eventBus`: true/false from cdk.json or -c, else a string (an ARN) as it is.
      const value = read(key);
      if (value === true || value === 'true') return true;
      if (value === false || value === 'false') return false;
      return stringValue(read, key);
    }
  }
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

/**
 * `handlers` from context: an object `{ "entry": ..., "environment": {...}, "secrets": {"NAME": "<ARN>"} }`
 * (cdk.json), or with `-c handlers=<path>` just the entry.
 */
/**
 * `handlers` as CDK context gives it: an object, its JSON text, or the entry's path alone (how
 * synth reads it, and `npm start` too). Only its shape is checked here; `validateConfig` checks the rest.
 */
export function handlersValue(read: ContextReader, key = 'handlers'): HandlersConfig | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed.startsWith('{')) {
      try {
        return JSON.parse(trimmed) as HandlersConfig;
      } catch {
        throw invalid(key, 'is not valid JSON.');
      }
    }
    return { entry: trimmed };
  }
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(key, `expected {"entry": "<path>", ...}, got ${JSON.stringify(value)}.`);
  const secrets = (value as { secrets?: unknown }).secrets;
  if (secrets !== undefined && (typeof secrets !== 'object' || secrets === null || Object.values(secrets).some((arn) => typeof arn !== 'string'))) {
    throw invalid(key, 'handlers.secrets in context must map names to secret ARNs (strings).');
  }
  return value as HandlersConfig;
}
