/**
 * Crisp's REST API (v1), the pure part: the plugin token and its Authorization header, request
 * building, which failures are retried and after how long, Crisp's error `reason`, the error type,
 * and the message fingerprints that make a reply idempotent. No I/O here: the HTTP adapter is
 * functions/commons/crisp-api-client.ts, the consumer's wiring functions/consumer/crisp-api.ts.
 *
 * Types are written here rather than imported from the official `crisp-api` package: its types
 * would have to become a runtime dependency of crisp-bridge for a handler module's own type check
 * to see them, and its runtime (socket.io client) is not wanted in the consumer (docs/crisp-api.md).
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger';

export const DEFAULT_CRISP_API_URL = 'https://api.crisp.chat/v1';

/** The authentication tier of a Marketplace plugin token (`X-Crisp-Tier`). */
export const CRISP_TIER = 'plugin';

/** A Crisp Marketplace plugin token, as stored in its secret: `{"identifier": "...", "key": "..."}`. */
export interface CrispApiToken {
  identifier: string;
  key: string;
}

/** The token's secret could not be used: the message names what is wrong, never a value. */
export class CrispApiTokenFormatError extends TypeError {
  override readonly name = 'CrispApiTokenFormatError';
}

/** Parses the token secret's value; throws `CrispApiTokenFormatError` (no value in the message) on anything else. */
export function parseCrispApiToken(raw: string): CrispApiToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new CrispApiTokenFormatError('the Crisp API token secret is not JSON: expected {"identifier": "...", "key": "..."}');
  }
  const { identifier, key } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof identifier !== 'string' || typeof key !== 'string' || !identifier.trim() || !key.trim()) {
    throw new CrispApiTokenFormatError('the Crisp API token secret must hold {"identifier": "...", "key": "..."}, both non-empty strings');
  }
  if (/[:\s]/.test(identifier.trim()) || /\s/.test(key.trim())) {
    throw new CrispApiTokenFormatError('the Crisp API token identifier must not contain ":" or spaces, nor the key spaces');
  }
  return { identifier: identifier.trim(), key: key.trim() };
}

/** `Basic base64(identifier:key)`: HTTP Basic authentication, as Crisp's REST API takes its tokens. */
export function authorizationHeader(token: CrispApiToken): string {
  return `Basic ${Buffer.from(`${token.identifier}:${token.key}`, 'utf8').toString('base64')}`;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Checks Crisp's REST API base URL (`crispApiUrl`, `CRISP_API_URL`): an https URL without
 * credentials, query or fragment; http only for a loopback host (the local stand-in). Returns it
 * without a trailing slash; throws a `TypeError` saying what is wrong.
 */
export function checkCrispApiUrl(value: string): string {
  // The value is never quoted back: a URL given by mistake may carry a password or a key.
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`the Crisp API URL is not a URL (expected e.g. ${DEFAULT_CRISP_API_URL})`);
  }
  if (url.username || url.password) throw new TypeError('the Crisp API URL must not contain credentials');
  if (url.search || url.hash) throw new TypeError(`the Crisp API URL (${url.origin}) must not have a query string or fragment`);
  const loopback = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new TypeError(`the Crisp API URL (${url.origin}) must be https (http is accepted only for 127.0.0.1, ::1 or localhost, the local stand-in)`);
  }
  return url.href.replace(/\/+$/, '');
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: readonly HttpMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** A path from segments, each percent-encoded: `crispPath('website', id, 'conversation', session)`. */
export function crispPath(...segments: string[]): string {
  for (const segment of segments) {
    if (typeof segment !== 'string' || segment === '' || segment === '.' || segment === '..') {
      throw new TypeError(`invalid Crisp API path segment ${JSON.stringify(segment)}`);
    }
  }
  return `/${segments.map((segment) => encodeURIComponent(segment)).join('/')}`;
}

/**
 * Checks a path given to `context.crisp.request`: relative to the API base (`/website/...`), no
 * scheme or host, no `..` segment, no backslash or control character. Returns it.
 */
export function checkRequestPath(path: string): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new TypeError(`Crisp API path must start with "/" (relative to ${DEFAULT_CRISP_API_URL})`);
  }
  if (/[\\\u0000-\u001f\u007f\s#]/.test(path)) throw new TypeError('Crisp API path must not contain spaces, "#", a backslash or control characters');
  const pathname = path.split('?')[0]!;
  if (pathname.split('/').some((segment) => segment === '..' || segment === '.')) throw new TypeError('Crisp API path must not contain "." or ".." segments');
  return path;
}

export function checkMethod(method: string): HttpMethod {
  const upper = String(method).toUpperCase() as HttpMethod;
  if (!METHODS.includes(upper)) throw new TypeError(`unsupported HTTP method ${JSON.stringify(method)} (${METHODS.join(', ')})`);
  return upper;
}

/**
 * The route as logged and put in errors: the path without its query string (which may hold
 * search text), and any segment that could be an email (`@`, `%40`: people routes take one)
 * replaced by `{email}`.
 */
export function routeOf(path: string): string {
  const index = path.indexOf('?');
  const pathname = index === -1 ? path : path.slice(0, index);
  return pathname
    .split('/')
    .map((segment) => (/@|%40/i.test(segment) ? '{email}' : segment))
    .join('/');
}

export interface CrispRequest {
  method: HttpMethod;
  /** Relative to the base URL: `/website/{website_id}/conversation/{session_id}/message`. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
}

export interface HttpRequest {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body: string | undefined;
}

export const USER_AGENT = 'crisp-bridge';

/** The HTTP request for `request` against `baseUrl` with `token`. */
export function buildHttpRequest(baseUrl: string, token: CrispApiToken, request: CrispRequest): HttpRequest {
  const headers: Record<string, string> = {
    authorization: authorizationHeader(token),
    'x-crisp-tier': CRISP_TIER,
    accept: 'application/json',
    'user-agent': USER_AGENT,
  };
  let body: string | undefined;
  if (request.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.body);
  }
  return { url: `${baseUrl.replace(/\/+$/, '')}${request.path}`, method: request.method, headers, body };
}

// ---------------------------------------------------------------------------------------------
// Retries.

/** Crisp's rate limits answer 429 Too Many Requests or 420 Enhance Your Calm; 5xx is Crisp failing. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 420 || (status >= 500 && status <= 599);
}

/** Rate-limited: the request was refused before Crisp did anything with it. */
export function isRateLimited(status: number): boolean {
  return status === 429 || status === 420;
}

/** Methods whose repetition has the effect of one request. POST is not one of them. */
export function isIdempotent(method: HttpMethod): boolean {
  return method !== 'POST';
}

/** How one attempt ended. */
export type AttemptOutcome =
  | { kind: 'status'; status: number; retryAfterMs?: number | undefined }
  | { kind: 'network' }
  | { kind: 'timeout' };

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** First backoff cap; doubled each attempt. */
  baseDelayMs: number;
  /** Largest backoff. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 200, maxDelayMs: 5_000 };

/**
 * Exponential backoff with full jitter: uniformly in [0, min(max, base × 2^(attempt-1))).
 * `random` in [0, 1).
 */
export function backoffDelayMs(attempt: number, random: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(Math.min(Math.max(random, 0), 0.999999) * cap);
}

export type RetryDecision = { retry: false } | { retry: true; delayMs: number };

/**
 * Whether to try again after attempt number `attempt` ended with `outcome`:
 * - 429 / 420 (rate limited): yes, any method (nothing was done); after Retry-After when given;
 * - 5xx, network error, timeout: yes when replaying the request is safe (`replaySafe`: an
 *   idempotent method, or a POST whose caller checked that it did not land); not otherwise;
 * - any other status (2xx, 3xx, other 4xx): never.
 * And never past `maxAttempts`.
 */
export function retryDecision(input: {
  outcome: AttemptOutcome;
  attempt: number;
  replaySafe: boolean;
  random: number;
  policy?: RetryPolicy;
}): RetryDecision {
  const policy = input.policy ?? DEFAULT_RETRY_POLICY;
  if (input.attempt >= policy.maxAttempts) return { retry: false };
  const { outcome } = input;
  const backoff = backoffDelayMs(input.attempt, input.random, policy);
  if (outcome.kind === 'status') {
    if (isRateLimited(outcome.status)) {
      const after = outcome.retryAfterMs !== undefined ? Math.min(outcome.retryAfterMs, policy.maxDelayMs) : undefined;
      return { retry: true, delayMs: Math.max(backoff, after ?? 0) };
    }
    if (outcome.status >= 500 && outcome.status <= 599) return input.replaySafe ? { retry: true, delayMs: backoff } : { retry: false };
    return { retry: false };
  }
  return input.replaySafe ? { retry: true, delayMs: backoff } : { retry: false };
}

/** `Retry-After` (seconds, or an HTTP date) in milliseconds from `nowMs`; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

/** Time for one attempt: at most `perAttemptMs`, and never past the function's deadline less `marginMs`. */
export function attemptTimeoutMs(remainingMs: number, marginMs: number, perAttemptMs: number): number {
  return Math.max(0, Math.min(perAttemptMs, remainingMs - marginMs));
}

// ---------------------------------------------------------------------------------------------
// Errors.

const REASON = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Crisp's `reason` from an error body (`{"error": true, "reason": "not_found", "data": {...}}`),
 * when it is a short code; otherwise `http_<status>`. Nothing else of the body is kept: its
 * `data` may echo what was sent.
 */
export function errorReason(status: number, bodyText: string | undefined): string {
  if (bodyText) {
    try {
      const body = JSON.parse(bodyText) as { reason?: unknown };
      if (typeof body?.reason === 'string' && REASON.test(body.reason)) return body.reason;
    } catch {
      // not JSON: the status says it all
    }
  }
  return `http_${status}`;
}

const CRISP_API_ERROR = Symbol.for('crisp-bridge.CrispApiError');

/**
 * A Crisp REST API call failed: `status` (undefined when no response came), Crisp's `reason`
 * (`not_found`, `invalid_data`... or `timeout`, `network_error`, `deadline`), the `method` and
 * `route` (path without query). Never the token, never the request or response body. `retryable`:
 * whether trying later may succeed (rate limit, Crisp failing, no answer); the consumer retries
 * the event either way unless the handler throws a `PermanentError`.
 */
export class CrispApiError extends Error {
  override readonly name = 'CrispApiError';
  readonly [CRISP_API_ERROR] = true;
  constructor(
    readonly method: HttpMethod,
    readonly route: string,
    readonly status: number | undefined,
    readonly reason: string,
    readonly attempts: number,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(`Crisp API ${method} ${route} failed: ${status === undefined ? reason : `${status} ${reason}`} (after ${attempts} attempt${attempts === 1 ? '' : 's'})`, options);
  }
}

/** Recognised by a brand, like `PermanentError`, so two bundled copies of this module agree. */
export function isCrispApiError(error: unknown): error is CrispApiError {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[CRISP_API_ERROR] === true;
}

// ---------------------------------------------------------------------------------------------
// Fingerprints.

/**
 * Largest fingerprint derived here (exclusive): 2^52. Crisp's message fingerprint is an integer
 * (`fingerprint: number` in crisp-api, `int` in go-crisp-api; Crisp's own are ~15 digits); a
 * 52-bit value is a safe integer in JavaScript (below 2^53) and fits every signed 64-bit integer.
 */
export const FINGERPRINT_LIMIT = 2 ** 52;

/**
 * A message fingerprint derived from `parts`: SHA-256 of their JSON array, 52 bits of it, in
 * [1, 2^52). Deterministic (same parts, same number, in every process and version) and spread
 * evenly, so two different replies collide with probability about 2^-52.
 */
export function messageFingerprint(...parts: string[]): number {
  const digest = createHash('sha256').update(JSON.stringify(['crisp-bridge.fingerprint.v1', ...parts]), 'utf8').digest();
  // 7 bytes = 56 bits; keep the low 52.
  const high = digest.readUIntBE(0, 3) & 0x0f_ffff; // 20 bits
  const low = digest.readUInt32BE(3); // 32 bits
  const value = high * 2 ** 32 + low;
  return value === 0 ? 1 : value;
}

/** The fingerprint of the `index`-th reply (1, 2, ...) to `sessionId` while handling the event `dedupeKey`. */
export function eventReplyFingerprint(dedupeKey: string, sessionId: string, index: number): number {
  return messageFingerprint('event', dedupeKey, sessionId, String(index));
}

/** The fingerprint of the reply named `onceKey` in a session: the same for every event of that session. */
export function sessionReplyFingerprint(websiteId: string, sessionId: string, onceKey: string): number {
  return messageFingerprint('session', websiteId, sessionId, onceKey);
}

// ---------------------------------------------------------------------------------------------
// What handlers get: `context.crisp`.

export type ConversationState = 'pending' | 'unresolved' | 'resolved';

/** Who a reply appears to come from, instead of the plugin's default. */
export interface ReplyUser {
  nickname?: string;
  /** Avatar image URL. */
  avatar?: string;
}

export interface SendMessageInput {
  /** The message text. */
  text: string;
  /** `text` (default), or `note`: a private note only operators see. */
  type?: 'text' | 'note';
  /** Shown as the sender instead of the plugin's default. */
  user?: ReplyUser;
  /** Marks the message as sent by automation (a bot), not typed by a person. */
  automated?: boolean;
  /** Sent without notifying the visitor (no sound, no unread badge). */
  stealth?: boolean;
  /**
   * Sends this message at most once per conversation under this name, across events: a second
   * call with the same `onceKey` in the same session (from this event, a retry or any later
   * event) finds it and sends nothing. Without it, a message is sent once per event (per reply
   * index within the handler's run).
   */
  onceKey?: string;
}

export interface SentMessage {
  /** The message's fingerprint in the conversation. */
  fingerprint: number;
  /** True when the message was already there (an earlier attempt sent it): nothing was sent this time. */
  alreadySent: boolean;
}

/** A message as `getMessage` returns it (the fields crisp-bridge relies on; Crisp sends more). */
export interface CrispMessage {
  session_id?: string;
  website_id?: string;
  type?: string;
  from?: 'user' | 'operator' | (string & {});
  origin?: string;
  content?: unknown;
  fingerprint?: number;
  timestamp?: number;
  automated?: boolean;
  user?: { type?: string; user_id?: string; nickname?: string; avatar?: string };
  [extra: string]: unknown;
}

/** A conversation as `getConversation` returns it (the usual fields; Crisp sends more). */
export interface CrispConversation {
  session_id: string;
  website_id: string;
  inbox_id?: string | null;
  people_id?: string;
  state?: ConversationState;
  is_verified?: boolean;
  is_blocked?: boolean;
  availability?: string;
  last_message?: string;
  topic?: string;
  meta?: {
    nickname?: string;
    email?: string;
    phone?: string;
    avatar?: string;
    data?: Record<string, string | number | boolean>;
    segments?: string[];
    [extra: string]: unknown;
  };
  created_at?: number;
  updated_at?: number;
  [extra: string]: unknown;
}

export interface ConversationMetas {
  email?: string;
  nickname?: string;
  phone?: string;
  subject?: string;
  /** Custom data: values are strings, numbers or booleans. */
  data?: Record<string, string | number | boolean>;
  /** Replaces the conversation's segments. */
  segments?: string[];
}

/**
 * Crisp's REST API for the event being handled (`context.crisp`): calls on the event's website,
 * authenticated with the bridge's plugin token, retried on rate limits and Crisp failures within
 * the function's remaining time. Every method rejects with `CrispApiError` when Crisp says no.
 */
export interface CrispApi {
  /** The website the event came from: every call is made on it. */
  readonly websiteId: string;
  /**
   * Posts a message in the conversation as an operator (type `text`, origin `chat`), exactly once:
   * its fingerprint is derived from the event (or `onceKey`), and a message already there with it
   * (sent by an earlier attempt) is returned instead of being sent again.
   */
  sendMessage(sessionId: string, input: SendMessageInput): Promise<SentMessage>;
  /** Sets the conversation's state. */
  setState(sessionId: string, state: ConversationState): Promise<void>;
  /** Updates the conversation's metas (only the fields given). */
  updateMetas(sessionId: string, metas: ConversationMetas): Promise<void>;
  getConversation(sessionId: string): Promise<CrispConversation>;
  /** The message with this fingerprint; rejects with `CrispApiError` (status 404) when there is none. */
  getMessage(sessionId: string, fingerprint: number): Promise<CrispMessage>;
  /**
   * Any other route, relative to the API base (`/website/${context.crisp.websiteId}/...`); resolves
   * with the response's `data`. Retried on rate limits always, on Crisp failures and timeouts
   * only for methods other than POST (a POST might have landed).
   */
  request<T = unknown>(method: HttpMethod, path: string, body?: unknown): Promise<T>;
}

/** What the consumer knows about the event when it makes `context.crisp`. */
export interface CrispApiScope {
  websiteId: string;
  dedupeKey: string;
  remainingTimeMs: () => number;
  logger: Logger;
}

/** Makes `context.crisp` for one event (a port of the consumer, wired at cold start). */
export type CrispApiFactory = (scope: CrispApiScope) => CrispApi;
