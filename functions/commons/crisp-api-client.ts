/**
 * Crisp's REST API over HTTP, with Node's global `fetch` (no SDK, no realtime client): each
 * attempt bounded by the function's remaining time, retries with exponential backoff and jitter
 * on rate limits (429, 420), Crisp failures (5xx) and network errors or timeouts (the latter
 * only when replaying is safe), one log line per attempt (`crisp api call`: method, route,
 * status, attempt, durationMs; never the token, never a body).
 *
 * `createCrispApi` is `context.crisp`: the typed calls of one event, and replies sent exactly
 * once (see `sendMessage`).
 */
import {
  type AttemptOutcome,
  attemptTimeoutMs,
  buildHttpRequest,
  checkMethod,
  checkRequestPath,
  type ConversationMetas,
  type ConversationState,
  type CrispApi,
  CrispApiError,
  type CrispApiScope,
  type CrispApiToken,
  type CrispConversation,
  type CrispMessage,
  type CrispRequest,
  crispPath,
  DEFAULT_RETRY_POLICY,
  errorReason,
  eventReplyFingerprint,
  type HttpMethod,
  isCrispApiError,
  isIdempotent,
  isRetryableStatus,
  parseRetryAfter,
  retryDecision,
  type RetryPolicy,
  routeOf,
  type SendMessageInput,
  type SentMessage,
  sessionReplyFingerprint,
} from './core/crisp-api';
import type { Logger } from './logger';

/** Left of the function's remaining time when an attempt must end: the consumer still has to record the outcome. */
export const DEFAULT_DEADLINE_MARGIN_MS = 3_000;
/** Longest single attempt. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;
/** An attempt with less time than this is not started. */
const MIN_ATTEMPT_MS = 250;

export interface CrispHttpClientOptions {
  /** `https://api.crisp.chat/v1` (checked by `checkCrispApiUrl`). */
  baseUrl: string;
  /** The plugin token, read when a call is made (rejects, e.g. `SecretUnavailableError`, when it cannot be). */
  token: () => Promise<CrispApiToken>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
  retryPolicy?: RetryPolicy;
  deadlineMarginMs?: number;
  attemptTimeoutMs?: number;
}

export interface CallOptions {
  /** Milliseconds left before the function times out. */
  remainingTimeMs: () => number;
  logger: Logger;
  /** Replaying after a 5xx, network error or timeout is safe. Default: the method is not POST. */
  replaySafe?: boolean;
  /** A status the caller expects as an answer (e.g. 404 for "not sent yet"): still thrown, logged at info, not warn. */
  expectedStatus?: number;
}

export interface CrispResponse<T> {
  status: number;
  /** The body's `data`. */
  data: T;
}

export interface CrispHttpClient {
  /** Resolves with a 2xx response; rejects with `CrispApiError` otherwise. */
  call<T = unknown>(request: CrispRequest, options: CallOptions): Promise<CrispResponse<T>>;
  /**
   * Waits before the next try of a multi-step operation (`sendMessage`'s check-then-post) when
   * `error` is worth retrying and the time left allows; resolves false otherwise.
   */
  pauseBeforeRetry(error: unknown, attempt: number, options: CallOptions): Promise<boolean>;
}

export function createCrispHttpClient(options: CrispHttpClientOptions): CrispHttpClient {
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  const policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const margin = options.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS;
  const perAttempt = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');

  /** Time left for an attempt, or undefined when too little is left to start one. */
  const budget = (call: CallOptions): number | undefined => {
    const ms = attemptTimeoutMs(call.remainingTimeMs(), margin, perAttempt);
    return ms >= MIN_ATTEMPT_MS ? ms : undefined;
  };
  /** Whether an attempt still fits after waiting `delayMs`. */
  const fits = (delayMs: number, call: CallOptions): boolean => attemptTimeoutMs(call.remainingTimeMs() - delayMs, margin, perAttempt) >= MIN_ATTEMPT_MS;
  /** Sleeps `delayMs` if an attempt still fits after it. */
  const pause = async (delayMs: number, call: CallOptions): Promise<boolean> => {
    if (!fits(delayMs, call)) return false;
    if (delayMs > 0) await sleep(delayMs);
    return true;
  };

  async function call<T>(request: CrispRequest, callOptions: CallOptions): Promise<CrispResponse<T>> {
    const method = request.method;
    const route = routeOf(request.path);
    const replaySafe = callOptions.replaySafe ?? isIdempotent(method);
    const token = await options.token();
    const http = buildHttpRequest(baseUrl, token, request);
    for (let attempt = 1; ; attempt += 1) {
      const timeout = budget(callOptions);
      if (timeout === undefined) {
        callOptions.logger.warn('crisp api call', { method, route, attempt, error: 'deadline', willRetry: false });
        throw new CrispApiError(method, route, undefined, 'deadline', attempt - 1, true);
      }
      const started = now();
      let outcome: AttemptOutcome;
      let reason: string;
      let response: Response | undefined;
      let text: string | undefined;
      try {
        response = await doFetch(http.url, { method, headers: http.headers, body: http.body, signal: AbortSignal.timeout(timeout), redirect: 'error' });
        text = method === 'HEAD' ? undefined : await response.text();
        outcome = { kind: 'status', status: response.status, retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now()) };
        reason = response.ok ? 'ok' : errorReason(response.status, text);
      } catch (error) {
        // fetch rejects with the signal's reason, a DOMException (not always an `instanceof Error` across realms).
        const name = typeof error === 'object' && error !== null ? (error as { name?: unknown }).name : undefined;
        const timedOut = name === 'TimeoutError' || name === 'AbortError';
        outcome = timedOut ? { kind: 'timeout' } : { kind: 'network' };
        reason = timedOut ? 'timeout' : 'network_error';
      }
      const durationMs = now() - started;
      const status = outcome.kind === 'status' ? outcome.status : undefined;
      if (response?.ok) {
        callOptions.logger.info('crisp api call', { method, route, status, attempt, durationMs });
        return { status: response.status, data: dataOf<T>(text) };
      }
      const decision = retryDecision({ outcome, attempt, replaySafe, random: random(), policy });
      const retryable = outcome.kind !== 'status' || isRetryableStatus(outcome.status);
      // Decided before logging, slept after: the log line says whether another attempt follows.
      const willRetry = decision.retry && fits(decision.delayMs, callOptions);
      const level = status !== undefined && status === callOptions.expectedStatus ? 'info' : 'warn';
      callOptions.logger[level]('crisp api call', { method, route, status, attempt, durationMs, reason, willRetry });
      if (!willRetry) throw new CrispApiError(method, route, status, reason, attempt, retryable);
      if (decision.delayMs > 0) await sleep(decision.delayMs);
    }
  }

  return {
    call,
    async pauseBeforeRetry(error, attempt, callOptions) {
      if (!isCrispApiError(error) || !error.retryable) return false;
      const outcome: AttemptOutcome = error.status === undefined ? { kind: error.reason === 'timeout' ? 'timeout' : 'network' } : { kind: 'status', status: error.status };
      if (error.reason === 'deadline') return false;
      const decision = retryDecision({ outcome, attempt, replaySafe: true, random: random(), policy });
      return decision.retry ? pause(decision.delayMs, callOptions) : false;
    },
  };
}

/** The `data` of a Crisp response body (`{"error": false, "reason": "...", "data": ...}`); undefined when there is none. */
function dataOf<T>(text: string | undefined): T {
  if (!text) return undefined as T;
  try {
    return (JSON.parse(text) as { data?: T }).data as T;
  } catch {
    // A 2xx whose body is not JSON: the call succeeded, there is just nothing to return.
    return undefined as T;
  }
}

const SESSION_ID = /^session_[0-9a-f-]{36}$/i;

function checkSessionId(sessionId: string): string {
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
    throw new TypeError('not a Crisp session id (session_<uuid>)');
  }
  return sessionId;
}

/**
 * `context.crisp` for one event. Replies are sent exactly once:
 *
 * - each `sendMessage` gets a fingerprint derived from the event's dedupe key, the session and
 *   the reply's index among this run's replies to that session (or from the session and
 *   `onceKey`), so every run of the handler for this event derives the same numbers;
 * - before posting, it asks Crisp for the message with that fingerprint: if an earlier run (or
 *   an earlier attempt whose answer was lost) posted it, it is not posted again;
 * - a post that fails in a way that may have landed (5xx, network error, timeout) is retried only
 *   after that check, within the time left.
 */
export function createCrispApi(client: CrispHttpClient, scope: CrispApiScope): CrispApi {
  const { websiteId, dedupeKey, logger } = scope;
  const options = (replaySafe?: boolean): CallOptions => ({ remainingTimeMs: scope.remainingTimeMs, logger, replaySafe });
  const conversation = (sessionId: string, ...rest: string[]) => crispPath('website', websiteId, 'conversation', checkSessionId(sessionId), ...rest);
  const replies = new Map<string, number>();

  async function findMessage(sessionId: string, fingerprint: number): Promise<CrispMessage | undefined> {
    try {
      // 404 is the answer "not sent yet", not a failure of the call.
      const found = { ...options(), expectedStatus: 404 };
      return (await client.call<CrispMessage>({ method: 'GET', path: conversation(sessionId, 'message', String(fingerprint)) }, found)).data ?? {};
    } catch (error) {
      if (isCrispApiError(error) && error.status === 404) return undefined;
      throw error;
    }
  }

  return {
    websiteId,

    async sendMessage(sessionId, input: SendMessageInput): Promise<SentMessage> {
      checkSessionId(sessionId);
      if (typeof input?.text !== 'string' || !input.text.trim()) throw new TypeError('sendMessage: text must be a non-empty string');
      let fingerprint: number;
      if (input.onceKey !== undefined) {
        if (typeof input.onceKey !== 'string' || !input.onceKey) throw new TypeError('sendMessage: onceKey must be a non-empty string');
        fingerprint = sessionReplyFingerprint(websiteId, sessionId, input.onceKey);
      } else {
        const index = (replies.get(sessionId) ?? 0) + 1;
        replies.set(sessionId, index);
        fingerprint = eventReplyFingerprint(dedupeKey, sessionId, index);
      }
      const body: Record<string, unknown> = {
        type: input.type ?? 'text',
        from: 'operator',
        origin: 'chat',
        content: input.text,
        fingerprint,
      };
      if (input.user) body.user = { ...(input.user.nickname ? { nickname: input.user.nickname } : {}), ...(input.user.avatar ? { avatar: input.user.avatar } : {}) };
      if (input.automated !== undefined) body.automated = input.automated;
      if (input.stealth !== undefined) body.stealth = input.stealth;
      const path = conversation(sessionId, 'message');
      for (let attempt = 1; ; attempt += 1) {
        if (await findMessage(sessionId, fingerprint)) {
          logger.info('crisp reply already sent', { session_id: sessionId, fingerprint, onceKey: input.onceKey });
          return { fingerprint, alreadySent: true };
        }
        try {
          // Not replayed blindly: a failure that may have landed comes back here, to the check above.
          await client.call({ method: 'POST', path, body }, options(false));
          return { fingerprint, alreadySent: false };
        } catch (error) {
          if (!(await client.pauseBeforeRetry(error, attempt, options()))) throw error;
        }
      }
    },

    async setState(sessionId, state: ConversationState) {
      if (!['pending', 'unresolved', 'resolved'].includes(state)) throw new TypeError(`setState: unknown state ${JSON.stringify(state)}`);
      await client.call({ method: 'PATCH', path: conversation(sessionId, 'state'), body: { state } }, options());
    },

    async updateMetas(sessionId, metas: ConversationMetas) {
      if (typeof metas !== 'object' || metas === null) throw new TypeError('updateMetas: metas must be an object');
      await client.call({ method: 'PATCH', path: conversation(sessionId, 'meta'), body: metas }, options());
    },

    async getConversation(sessionId) {
      return (await client.call<CrispConversation>({ method: 'GET', path: conversation(sessionId) }, options())).data;
    },

    async getMessage(sessionId, fingerprint) {
      if (!Number.isSafeInteger(fingerprint) || fingerprint < 0) throw new TypeError('getMessage: fingerprint must be a non-negative integer');
      return (await client.call<CrispMessage>({ method: 'GET', path: conversation(sessionId, 'message', String(fingerprint)) }, options())).data;
    },

    async request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
      return (await client.call<T>({ method: checkMethod(method), path: checkRequestPath(path), body }, options())).data;
    },
  };
}
