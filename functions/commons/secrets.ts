/**
 * A secret read from a store (Secrets Manager in production), cached for the life of the
 * execution environment and re-read every few minutes so a rotation takes effect without a
 * redeploy. Core logic only: the store is a port (`fetch`), the clock is a port (`now`).
 *
 * - First use (cold start) fetches; later uses within `refreshAfterMs` cost nothing.
 * - A failed refresh keeps serving the cached value and logs a warning; the store is tried
 *   again after `retryAfterMs`, not on every request.
 * - With no usable value (never set, still the placeholder, missing, unreadable, store down)
 *   the caller gets `{ ok: false, reason }` and answers 503; the log line names the secret
 *   and what to do. The value itself is never logged.
 * - Concurrent callers share one fetch.
 */
import type { Logger } from './logger';
import { isPlaceholder } from './placeholder';

export type SecretFailureReason = 'not_set' | 'not_found' | 'access_denied' | 'unreachable';

export type SecretResult = { ok: true; value: string } | { ok: false; reason: SecretFailureReason };

/** Thrown by a `SecretSource` when the store answered but gave no usable value. */
export class SecretFetchError extends Error {
  override readonly name = 'SecretFetchError';
  constructor(
    readonly reason: SecretFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** Fetches the current secret string; resolves `undefined` when the secret holds no string. */
export type SecretSource = () => Promise<string | undefined>;

export interface CachedSecretOptions {
  /** What the secret is, for people: "Ticket Center secret". */
  label: string;
  /** Where it lives (ARN or name), for the log line that tells the operator what to set. */
  secretId: string;
  fetch: SecretSource;
  logger: Logger;
  /** Milliseconds clock. Default: `Date.now`. */
  now?: () => number;
  /** Re-read the store after this long. Default: 5 minutes. */
  refreshAfterMs?: number;
  /** After a failed read, wait this long before asking the store again. Default: 5 seconds. */
  retryAfterMs?: number;
}

export const DEFAULT_SECRET_REFRESH_MS = 5 * 60 * 1000;
export const DEFAULT_SECRET_RETRY_MS = 5 * 1000;

export class CachedSecret {
  private value: string | undefined;
  private refreshAt = 0;
  private retryAt = 0;
  private lastFailure: SecretFailureReason = 'unreachable';
  private inflight: Promise<SecretResult> | undefined;
  private readonly now: () => number;
  private readonly refreshAfterMs: number;
  private readonly retryAfterMs: number;

  constructor(private readonly options: CachedSecretOptions) {
    this.now = options.now ?? Date.now;
    this.refreshAfterMs = options.refreshAfterMs ?? DEFAULT_SECRET_REFRESH_MS;
    this.retryAfterMs = options.retryAfterMs ?? DEFAULT_SECRET_RETRY_MS;
  }

  /** The current value, from cache when fresh. `logger` lets the caller attach its request id. */
  get(logger: Logger = this.options.logger): Promise<SecretResult> {
    const now = this.now();
    if (this.value !== undefined && now < this.refreshAt) return Promise.resolve({ ok: true, value: this.value });
    if (now < this.retryAt) {
      return Promise.resolve(this.value !== undefined ? { ok: true, value: this.value } : { ok: false, reason: this.lastFailure });
    }
    this.inflight ??= this.load(logger).finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async load(logger: Logger): Promise<SecretResult> {
    const { label, secretId } = this.options;
    try {
      const raw = await this.options.fetch();
      const value = raw?.trim();
      if (!value || isPlaceholder(value)) {
        throw new SecretFetchError('not_set', `the ${label} has not been set (it is empty or still the placeholder)`);
      }
      if (this.value !== undefined && this.value !== value) logger.info('secret rotated', { secret: label, secretId });
      this.value = value;
      this.refreshAt = this.now() + this.refreshAfterMs;
      this.retryAt = 0;
      return { ok: true, value };
    } catch (error) {
      const reason = error instanceof SecretFetchError ? error.reason : 'unreachable';
      this.lastFailure = reason;
      this.retryAt = this.now() + this.retryAfterMs;
      if (this.value !== undefined) {
        logger.warn('secret refresh failed, serving the cached value', { secret: label, secretId, reason, error });
        return { ok: true, value: this.value };
      }
      logger.error('secret unavailable', { secret: label, secretId, reason, error, action: actionFor(reason, label, secretId) });
      return { ok: false, reason };
    }
  }
}

function actionFor(reason: SecretFailureReason, label: string, secretId: string): string {
  switch (reason) {
    case 'not_set':
      return `set the ${label}: aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string "$VALUE"`;
    case 'not_found':
      return `the secret ${secretId} does not exist (or is scheduled for deletion): check the ARN given to the stack`;
    case 'access_denied':
      return `the function may not read ${secretId}: check its role and, for a customer-managed KMS key, the key policy`;
    case 'unreachable':
      return 'Secrets Manager did not answer; the next request tries again';
  }
}
