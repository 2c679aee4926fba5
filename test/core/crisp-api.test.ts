/**
 * The pure part of the Crisp REST API client (functions/commons/core/crisp-api.ts): the token and
 * its Authorization header, request building, retry decisions and backoff, Crisp's error reason,
 * the error type, and the fingerprints that make replies idempotent.
 */
import fc from 'fast-check';
import {
  attemptTimeoutMs,
  authorizationHeader,
  backoffDelayMs,
  buildHttpRequest,
  checkCrispApiUrl,
  checkRequestPath,
  CrispApiError,
  crispPath,
  DEFAULT_RETRY_POLICY,
  errorReason,
  eventReplyFingerprint,
  FINGERPRINT_LIMIT,
  isCrispApiError,
  messageFingerprint,
  parseCrispApiToken,
  parseRetryAfter,
  retryDecision,
  routeOf,
  sessionReplyFingerprint,
} from '../../functions/commons/core/crisp-api';

const TOKEN = { identifier: '7c3ef21c-1e04-41ce-8c06-5605c346f73e', key: 'cc29e1a5086e428fcc6a697d5837a66d82808e65c5cce006fbf2191ceea80a0a' };

describe('plugin token', () => {
  it('Authorization is Basic base64(identifier:key), as HTTP Basic authentication', () => {
    const header = authorizationHeader(TOKEN);
    expect(header.startsWith('Basic ')).toBe(true);
    expect(Buffer.from(header.slice('Basic '.length), 'base64').toString('utf8')).toBe(`${TOKEN.identifier}:${TOKEN.key}`);
    // Written out: what curl -u identifier:key would send.
    expect(authorizationHeader({ identifier: 'id', key: 'k' })).toBe('Basic aWQ6aw==');
  });

  it('parses {"identifier","key"} (trimmed); refuses anything else without echoing it', () => {
    expect(parseCrispApiToken(JSON.stringify({ identifier: ` ${TOKEN.identifier} `, key: TOKEN.key }))).toEqual(TOKEN);
    for (const raw of ['not json', '{}', '{"identifier":"a"}', '{"identifier":"a","key":""}', '{"identifier":"a:b","key":"k"}', '[]', 'null', `{"identifier":1,"key":"${TOKEN.key}"}`]) {
      let thrown: unknown;
      try {
        parseCrispApiToken(raw);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'CrispApiTokenFormatError' });
      expect((thrown as Error).message).not.toContain(TOKEN.key);
    }
  });
});

describe('requests', () => {
  it('builds the request: base + path, Basic auth, X-Crisp-Tier: plugin, JSON body', () => {
    const request = buildHttpRequest('https://api.crisp.chat/v1/', TOKEN, { method: 'POST', path: '/website/w/conversation/s/message', body: { content: 'hi' } });
    expect(request).toEqual({
      url: 'https://api.crisp.chat/v1/website/w/conversation/s/message',
      method: 'POST',
      headers: {
        authorization: authorizationHeader(TOKEN),
        'x-crisp-tier': 'plugin',
        accept: 'application/json',
        'user-agent': 'crisp-bridge',
        'content-type': 'application/json',
      },
      body: '{"content":"hi"}',
    });
    expect(buildHttpRequest('https://api.crisp.chat/v1', TOKEN, { method: 'GET', path: '/x' }).headers['content-type']).toBeUndefined();
  });

  it('encodes path segments, and refuses empty, . and .. segments', () => {
    expect(crispPath('website', 'a/b', 'conversation', 'session_1?x')).toBe('/website/a%2Fb/conversation/session_1%3Fx');
    for (const bad of ['', '.', '..']) expect(() => crispPath('website', bad)).toThrow(TypeError);
  });

  it('request paths: relative, no .. segment, no control characters; the route drops the query', () => {
    expect(checkRequestPath('/website/w/conversations/1?search_query=jane')).toBe('/website/w/conversations/1?search_query=jane');
    for (const bad of ['website/w', '//evil.example.com/x', 'https://evil.example.com/x', '/website/../user', '/a b', '/a\\b', '/a\nb', '/a#b']) {
      expect(() => checkRequestPath(bad)).toThrow(TypeError);
    }
    expect(routeOf('/website/w/conversations/1?search_query=jane@example.com')).toBe('/website/w/conversations/1');
    expect(routeOf('/website/w/people/profile/jane%40example.com')).toBe('/website/w/people/profile/{email}');
    expect(routeOf('/website/w/people/profile/jane@example.com/events')).toBe('/website/w/people/profile/{email}/events');
    // A refused path is not quoted back: it may hold an email or search text.
    expect(() => checkRequestPath('website/w/people/profile/jane@example.com')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('jane') }));
  });

  it('the base URL: https, or http on loopback; no credentials, query or fragment', () => {
    expect(checkCrispApiUrl('https://api.crisp.chat/v1/')).toBe('https://api.crisp.chat/v1');
    expect(checkCrispApiUrl('http://127.0.0.1:4010/v1')).toBe('http://127.0.0.1:4010/v1');
    expect(checkCrispApiUrl('http://[::1]:4010/v1')).toBe('http://[::1]:4010/v1');
    for (const bad of ['http://api.crisp.chat/v1', 'ftp://127.0.0.1/v1', 'https://u:p@api.crisp.chat/v1', 'https://api.crisp.chat/v1?x=1', 'not a url', 'http://10.0.0.1/v1']) {
      expect(() => checkCrispApiUrl(bad)).toThrow(TypeError);
    }
    // Never quoted back: a mistaken URL may carry a password or a key, whichever check refuses it.
    for (const secretBearing of ['http://user:s3cr3t@api.crisp.chat/v1', 'https://api.crisp.chat/v1?key=s3cr3t', 'ftp://user:s3cr3t@127.0.0.1/v1']) {
      expect(() => checkCrispApiUrl(secretBearing)).toThrow(expect.objectContaining({ message: expect.not.stringContaining('s3cr3t') }));
    }
  });
});

describe('retry decisions', () => {
  const decide = (outcome: Parameters<typeof retryDecision>[0]['outcome'], replaySafe: boolean, attempt = 1) => retryDecision({ outcome, attempt, replaySafe, random: 0.5 });

  it.each([429, 420])('%i (rate limited): retried, for any method', (status) => {
    expect(decide({ kind: 'status', status }, false).retry).toBe(true);
    expect(decide({ kind: 'status', status }, true).retry).toBe(true);
  });

  it.each([500, 502, 503, 504])('%i: retried when replaying is safe, not otherwise', (status) => {
    expect(decide({ kind: 'status', status }, true).retry).toBe(true);
    expect(decide({ kind: 'status', status }, false).retry).toBe(false);
  });

  it('network errors and timeouts: retried when replaying is safe, not otherwise', () => {
    for (const outcome of [{ kind: 'network' }, { kind: 'timeout' }] as const) {
      expect(decide(outcome, true).retry).toBe(true);
      expect(decide(outcome, false).retry).toBe(false);
    }
  });

  it('other 4xx, 2xx and 3xx: never retried', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 499 }).filter((status) => status !== 429 && status !== 420), fc.boolean(), (status, replaySafe) => {
        expect(decide({ kind: 'status', status }, replaySafe).retry).toBe(false);
      }),
    );
  });

  it('never past maxAttempts', () => {
    expect(decide({ kind: 'status', status: 503 }, true, DEFAULT_RETRY_POLICY.maxAttempts - 1).retry).toBe(true);
    expect(decide({ kind: 'status', status: 503 }, true, DEFAULT_RETRY_POLICY.maxAttempts).retry).toBe(false);
    expect(decide({ kind: 'status', status: 429 }, false, DEFAULT_RETRY_POLICY.maxAttempts).retry).toBe(false);
  });

  it('exponential backoff with full jitter: within [0, min(max, base × 2^(n-1)))', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, random) => {
        const delay = backoffDelayMs(attempt, random);
        const cap = Math.min(DEFAULT_RETRY_POLICY.maxDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs * 2 ** (attempt - 1));
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(cap);
      }),
    );
    expect(backoffDelayMs(1, 0.999)).toBeLessThan(200);
    expect(backoffDelayMs(3, 0.999)).toBeGreaterThan(700);
  });

  it('Retry-After is honoured on a rate limit, capped by the largest backoff', () => {
    expect(retryDecision({ outcome: { kind: 'status', status: 429, retryAfterMs: 2000 }, attempt: 1, replaySafe: false, random: 0 })).toEqual({ retry: true, delayMs: 2000 });
    expect(retryDecision({ outcome: { kind: 'status', status: 429, retryAfterMs: 600_000 }, attempt: 1, replaySafe: false, random: 0 })).toEqual({
      retry: true,
      delayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
    });
    expect(parseRetryAfter('3', 0)).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });

  it('an attempt gets at most its own timeout, and never past the deadline less the margin', () => {
    expect(attemptTimeoutMs(30_000, 3_000, 10_000)).toBe(10_000);
    expect(attemptTimeoutMs(8_000, 3_000, 10_000)).toBe(5_000);
    expect(attemptTimeoutMs(2_000, 3_000, 10_000)).toBe(0);
  });
});

describe('errors', () => {
  it("Crisp's reason from its error body; http_<status> otherwise", () => {
    expect(errorReason(404, JSON.stringify({ error: true, reason: 'not_found', data: {} }))).toBe('not_found');
    expect(errorReason(400, JSON.stringify({ error: true, reason: 'invalid_data', data: { message: 'jane@example.com is wrong' } }))).toBe('invalid_data');
    expect(errorReason(502, '<html>Bad Gateway</html>')).toBe('http_502');
    expect(errorReason(500, '')).toBe('http_500');
    expect(errorReason(400, JSON.stringify({ reason: 'a very long reason with spaces and an email jane@example.com' }))).toBe('http_400');
    expect(errorReason(400, JSON.stringify({ reason: 42 }))).toBe('http_400');
  });

  it('CrispApiError: status, reason, method, route, attempts; recognised by its brand', () => {
    const error = new CrispApiError('POST', '/website/w/conversation/s/message', 503, 'server_error', 4, true);
    expect(error).toMatchObject({ name: 'CrispApiError', status: 503, reason: 'server_error', method: 'POST', route: '/website/w/conversation/s/message', attempts: 4, retryable: true });
    expect(error.message).toBe('Crisp API POST /website/w/conversation/s/message failed: 503 server_error (after 4 attempts)');
    expect(isCrispApiError(error)).toBe(true);
    expect(isCrispApiError(Object.assign(new Error('x'), { [Symbol.for('crisp-bridge.CrispApiError')]: true }))).toBe(true);
    expect(isCrispApiError(new Error('x'))).toBe(false);
    expect(new CrispApiError('GET', '/x', undefined, 'timeout', 1, true).message).toBe('Crisp API GET /x failed: timeout (after 1 attempt)');
  });
});

describe('fingerprints', () => {
  it('deterministic: the same parts give the same number, written out', () => {
    expect(messageFingerprint('event', 'v1:abc', 'session_1', '1')).toBe(messageFingerprint('event', 'v1:abc', 'session_1', '1'));
    // Pinned: a change here would make every retry after an upgrade send its reply again.
    expect(eventReplyFingerprint('v1:abc', 'session_1', 1)).toBe(2889279414351374);
    expect(sessionReplyFingerprint('w', 'session_1', 'crisp-bridge.auto-responder')).toBe(4354727731715199);
  });

  it('a safe integer in [1, 2^52), whatever the parts', () => {
    fc.assert(
      fc.property(fc.array(fc.string(), { maxLength: 5 }), (parts) => {
        const fingerprint = messageFingerprint(...parts);
        expect(Number.isSafeInteger(fingerprint)).toBe(true);
        expect(fingerprint).toBeGreaterThanOrEqual(1);
        expect(fingerprint).toBeLessThan(FINGERPRINT_LIMIT);
      }),
    );
  });

  it('distinct for distinct replies: reply index, session, event, once-key; parts cannot be shifted', () => {
    const seen = new Set<number>();
    for (let event = 0; event < 50; event += 1) {
      for (const session of ['session_a', 'session_b']) {
        for (let index = 1; index <= 5; index += 1) seen.add(eventReplyFingerprint(`v1:${event}`, session, index));
      }
    }
    expect(seen.size).toBe(50 * 2 * 5);
    expect(messageFingerprint('a', 'bc')).not.toBe(messageFingerprint('ab', 'c'));
    expect(sessionReplyFingerprint('w', 'session_a', 'k')).not.toBe(sessionReplyFingerprint('w', 'session_b', 'k'));
    expect(sessionReplyFingerprint('w', 'session_a', 'k')).not.toBe(sessionReplyFingerprint('w', 'session_a', 'k2'));
  });

  it('spread over the whole range (not all small, not all large)', () => {
    const values = Array.from({ length: 2000 }, (_, i) => messageFingerprint(String(i)) / FINGERPRINT_LIMIT);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});
