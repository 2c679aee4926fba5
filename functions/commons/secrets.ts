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

export type SecretFailureReason = 'not_set' | 'malformed' | 'not_found' | 'access_denied' | 'unreachable';

export type SecretResult<T = string> = { ok: true; value: T } | { ok: false; reason: SecretFailureReason };

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

export interface CachedSecretOptions<T = string> {
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
  /**
   * Turns the stored string into the value callers get; throws `SecretFetchError('malformed')`
   * on a value it cannot use. Default: the trimmed string itself.
   */
  parse?: (value: string) => T;
}

export const DEFAULT_SECRET_REFRESH_MS = 5 * 60 * 1000;
export const DEFAULT_SECRET_RETRY_MS = 5 * 1000;

export class CachedSecret<T = string> {
  private value: T | undefined;
  private raw: string | undefined;
  private fetchedAt = 0;
  private refreshAt = 0;
  private retryAt = 0;
  private lastFailure: SecretFailureReason = 'unreachable';
  private inflight: Promise<SecretResult<T>> | undefined;
  private readonly now: () => number;
  private readonly refreshAfterMs: number;
  private readonly retryAfterMs: number;

  constructor(private readonly options: CachedSecretOptions<T>) {
    this.now = options.now ?? Date.now;
    this.refreshAfterMs = options.refreshAfterMs ?? DEFAULT_SECRET_REFRESH_MS;
    this.retryAfterMs = options.retryAfterMs ?? DEFAULT_SECRET_RETRY_MS;
  }

  /** The current value, from cache when fresh. `logger` lets the caller attach its request id. */
  get(logger: Logger = this.options.logger): Promise<SecretResult<T>> {
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

  /**
   * Re-reads the store now unless the cached value is younger than `minAgeMs`: for a caller
   * that has reason to think the value changed (a signature that does not match may mean the
   * operator just rotated the secret). Resolves with whatever `get` then gives.
   */
  refresh(minAgeMs: number, logger: Logger = this.options.logger): Promise<SecretResult<T>> {
    if (this.value !== undefined && this.now() - this.fetchedAt >= minAgeMs) this.refreshAt = 0;
    return this.get(logger);
  }

  private async load(logger: Logger): Promise<SecretResult<T>> {
    const { label, secretId } = this.options;
    try {
      const raw = (await this.options.fetch())?.trim();
      if (!raw || isPlaceholder(raw)) {
        throw new SecretFetchError('not_set', `the ${label} has not been set (it is empty or still the placeholder)`);
      }
      const value = this.options.parse ? this.options.parse(raw) : (raw as T);
      if (this.raw !== undefined && this.raw !== raw) logger.info('secret rotated', { secret: label, secretId });
      this.raw = raw;
      this.value = value;
      this.fetchedAt = this.now();
      this.refreshAt = this.fetchedAt + this.refreshAfterMs;
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
      return `set the ${label}: the stack output's Set...Command, or printf '%s' "$VALUE" | aws secretsmanager put-secret-value --secret-id ${secretId} --secret-string file:///dev/stdin`;
    case 'malformed':
      return `the value of ${secretId} is not in the expected format: see docs/operations.md (secret rotation)`;
    case 'not_found':
      return `the secret ${secretId} does not exist (or is scheduled for deletion): check the ARN given to the stack`;
    case 'access_denied':
      return `the function may not read ${secretId}: check its role and, for a customer-managed KMS key, the key policy`;
    case 'unreachable':
      return 'Secrets Manager did not answer; the next request tries again';
  }
}
