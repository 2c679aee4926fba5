/** The consumer's configuration, read from its environment once at cold start. */
import { type Env, optionalPositiveInteger, requireString } from '../commons/env';

export interface ConsumerConfig {
  tableName: string;
  ttlHours: number;
  maxReceiveCount: number | undefined;
  leaseMarginMs: number;
}

export function loadConsumerConfig(env: Env): ConsumerConfig {
  return {
    tableName: requireString(env, 'DEDUPE_TABLE_NAME'),
    ttlHours: optionalPositiveInteger(env, 'DEDUPE_TTL_HOURS', 168),
    maxReceiveCount: env.MAX_RECEIVE_COUNT ? optionalPositiveInteger(env, 'MAX_RECEIVE_COUNT', 5) : undefined,
    // How long after the function's own deadline a crashed run's claim stays locked.
    leaseMarginMs: optionalPositiveInteger(env, 'LEASE_MARGIN_MS', 10_000),
  };
}
