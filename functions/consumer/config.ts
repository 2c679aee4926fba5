/** The consumer's configuration, read from its environment once at cold start. */
import { ConfigError, type Env, optionalPositiveInteger, requireString } from '../commons/env';
import type { HandlerSet } from './registry';

export interface ConsumerConfig {
  tableName: string;
  ttlHours: number;
  maxReceiveCount: number | undefined;
  leaseMarginMs: number;
  /** The hook queue's dead-letter queue, where `PermanentError` events go; undefined: retried instead. */
  deadLetterQueueUrl: string | undefined;
  /** The EventBridge bus every event is published to (BUS_NAME, EVENT_SOURCE); undefined: no bus. */
  eventBus: { busName: string; source: string } | undefined;
}

export function loadConsumerConfig(env: Env): ConsumerConfig {
  return {
    tableName: requireString(env, 'DEDUPE_TABLE_NAME'),
    ttlHours: optionalPositiveInteger(env, 'DEDUPE_TTL_HOURS', 168),
    maxReceiveCount: env.MAX_RECEIVE_COUNT ? optionalPositiveInteger(env, 'MAX_RECEIVE_COUNT', 5) : undefined,
    // How long after the function's own deadline a crashed run's claim stays locked.
    leaseMarginMs: optionalPositiveInteger(env, 'LEASE_MARGIN_MS', 10_000),
    deadLetterQueueUrl: env.DEAD_LETTER_QUEUE_URL?.trim() || undefined,
    // Both or neither: a bus without a source would publish events no rule matches.
    eventBus: env.BUS_NAME?.trim() ? { busName: requireString(env, 'BUS_NAME'), source: requireString(env, 'EVENT_SOURCE') } : undefined,
  };
}

/** Environment variable holding `{"NAME": "<secret ARN>"}` for the handlers' secrets (set by the construct). */
export const HANDLER_SECRETS_ENV = 'HANDLER_SECRETS';

export interface HandlerConfig {
  /** The declared settings, by name. */
  settings: Readonly<Record<string, string>>;
  /** The declared secrets' ARNs (or local names), by name. */
  secretIds: Readonly<Record<string, string>>;
}

/**
 * The settings and secrets the handler module declares, found in the environment: a declared
 * name the deployment does not provide fails the cold start naming it, rather than an event later.
 */
export function loadHandlerConfig(env: Env, set: HandlerSet): HandlerConfig {
  const missingSettings = set.settings.filter((name) => !env[name]?.trim());
  if (missingSettings.length > 0) {
    throw new ConfigError(
      `the handlers declare the setting(s) ${missingSettings.join(', ')} but the function has no such environment variable (or it is empty): ` +
        'add them to handlers.environment on the CrispBridge construct (locally: set them in the environment of npm start)',
    );
  }
  let secretIds: Record<string, unknown> = {};
  const raw = env[HANDLER_SECRETS_ENV]?.trim();
  if (raw) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new ConfigError(`environment variable ${HANDLER_SECRETS_ENV} is not JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`environment variable ${HANDLER_SECRETS_ENV} must be a JSON object of secret name to ARN`);
    }
    secretIds = parsed as Record<string, unknown>;
  }
  const missingSecrets = set.secrets.filter((name) => typeof secretIds[name] !== 'string');
  if (missingSecrets.length > 0) {
    throw new ConfigError(
      `the handlers declare the secret(s) ${missingSecrets.join(', ')} but the function is given no such secret: ` +
        'add them to handlers.secrets on the CrispBridge construct (locally: set them in the environment of npm start)',
    );
  }
  return {
    settings: Object.freeze(Object.fromEntries(set.settings.map((name) => [name, env[name]!]))),
    secretIds: Object.freeze(Object.fromEntries(set.secrets.map((name) => [name, secretIds[name] as string]))),
  };
}
