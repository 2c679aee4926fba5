/**
 * Errors a handler can throw (or meet) that the consumer treats specially. Recognised by a brand
 * rather than `instanceof`, so a copy of this module bundled twice (your handler module and the
 * consumer importing the package through different paths) is still recognised.
 */

const PERMANENT = Symbol.for('crisp-bridge.PermanentError');

/**
 * "This event will never succeed, don't retry": the consumer sends it straight to the
 * dead-letter queue with `reason`, marks nothing done, and logs `crisp event dead-lettered`.
 * Use it for events your handler can never process (a payload it cannot use, a customer that no
 * longer exists), not for outages: throw any other error to have the event retried.
 */
export class PermanentError extends Error {
  override readonly name: string = 'PermanentError';
  readonly [PERMANENT] = true;
  constructor(
    /** Why, for the dead letter and the log line. Never put message content or an email here. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

export function isPermanentError(error: unknown): error is PermanentError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[PERMANENT] === true;
}

/** `context.secrets.get(name)` could not give a value (not set, unreadable, store down): the event is retried. */
export class SecretUnavailableError extends Error {
  override readonly name = 'SecretUnavailableError';
  constructor(
    readonly secret: string,
    readonly reason: string,
  ) {
    super(`the handler secret "${secret}" is unavailable (${reason}); the event will be retried`);
  }
}
