/** The receiver's configuration, read from its environment once at cold start. */
import { type Env, ConfigError, optionalPositiveInteger, requireString } from '../commons/env';
import type { ReceiverConfig } from './receive-hook';

export interface HookReceiverConfig extends ReceiverConfig {
  queueUrl: string;
  /** ARN of the Plugin Hook signing secret. */
  hookSecretId: string;
  /** ARN of the Website Hook key; undefined when Website Hooks are off. */
  websiteHookKeyId: string | undefined;
  secretRefreshSeconds: number;
}

export function loadReceiverConfig(env: Env): HookReceiverConfig {
  return {
    queueUrl: requireString(env, 'HOOK_QUEUE_URL'),
    hookSecretId: requireString(env, 'HOOK_SECRET_ID'),
    websiteHookKeyId: env.WEBSITE_HOOK_KEY_ID?.trim() || undefined,
    maxAgeSeconds: optionalPositiveInteger(env, 'HOOK_MAX_AGE_SECONDS', 3600),
    maxFutureSeconds: optionalPositiveInteger(env, 'HOOK_MAX_FUTURE_SECONDS', 300),
    maxMessageBytes: optionalPositiveInteger(env, 'MAX_MESSAGE_BYTES', 262_144),
    secretRefreshSeconds: optionalPositiveInteger(env, 'SECRET_REFRESH_SECONDS', 300),
    filter: { events: list(env, 'HOOK_EVENTS'), websiteIds: list(env, 'HOOK_WEBSITE_IDS') },
  };
}

function list(env: Env, name: string): string[] {
  const items = (env[name] ?? '').split(',').map((item) => item.trim()).filter(Boolean);
  for (const item of items) {
    if (/\s/.test(item)) throw new ConfigError(`environment variable ${name} has an entry with spaces: "${item}"`);
  }
  return items;
}
