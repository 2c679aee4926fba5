import { CachedSecret, SecretFetchError } from '../../functions/commons/secrets';
import { captureLogger } from '../support/logs';

const VALUE = 'the-real-secret-value';

/** A store whose answers the test scripts, and a clock the test moves. */
function setup(answers: Array<string | undefined | Error>) {
  let time = 1_000_000;
  const calls: number[] = [];
  const log = captureLogger();
  const secret = new CachedSecret({
    label: 'Ticket Center secret',
    secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tc-AbCdEf',
    logger: log.logger,
    now: () => time,
    refreshAfterMs: 300_000,
    retryAfterMs: 5_000,
    fetch: async () => {
      calls.push(time);
      const answer = answers.length > 1 ? answers.shift() : answers[0];
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  return { secret, calls, log, advance: (ms: number) => (time += ms) };
}

// Fetched once per cold start, cached, re-read after a few minutes so rotation needs no redeploy.
describe('CachedSecret caching and rotation', () => {
  it('fetches on first use and serves later uses from the cache', async () => {
    const { secret, calls, advance } = setup([VALUE]);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
    advance(299_999);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
    expect(calls).toHaveLength(1);
  });

  it('re-reads after the refresh interval and picks up a rotated value, logging the rotation without values', async () => {
    const { secret, calls, advance, log } = setup([VALUE, 'rotated-value']);
    await secret.get();
    advance(300_000);
    expect(await secret.get()).toEqual({ ok: true, value: 'rotated-value' });
    expect(calls).toHaveLength(2);
    expect(log.entries()).toEqual([expect.objectContaining({ level: 'INFO', message: 'secret rotated', secret: 'Ticket Center secret' })]);
    expect(log.lines.join('\n')).not.toMatch(/rotated-value|the-real-secret-value/);
  });

  it('trims the stored value', async () => {
    const { secret } = setup([`  ${VALUE}\n`]);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
  });

  it('shares one fetch between concurrent callers', async () => {
    const { secret, calls } = setup([VALUE]);
    const results = await Promise.all([secret.get(), secret.get(), secret.get()]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toHaveLength(1);
  });
});

// A failed refresh keeps serving the cached value, warns, and does not hammer the store.
describe('CachedSecret failed refresh', () => {
  it('keeps the cached value, logs a warning, and retries only after the retry delay', async () => {
    const { secret, calls, advance, log } = setup([VALUE, new Error('connect ECONNREFUSED'), 'after-outage']);
    await secret.get();
    advance(300_000);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
    const warning = log.entries().find((e) => e.level === 'WARN');
    expect(warning).toMatchObject({ message: 'secret refresh failed, serving the cached value', reason: 'unreachable', error: { message: 'connect ECONNREFUSED' } });
    advance(4_999);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
    expect(calls).toHaveLength(2);
    advance(1);
    expect(await secret.get()).toEqual({ ok: true, value: 'after-outage' });
    expect(calls).toHaveLength(3);
  });

  it('keeps the cached value when the secret was reset to the placeholder', async () => {
    const { secret, advance, log } = setup([VALUE, 'CRISP_BRIDGE_PLACEHOLDER: not set']);
    await secret.get();
    advance(300_000);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
    expect(log.entries()).toContainEqual(expect.objectContaining({ level: 'WARN', reason: 'not_set' }));
  });
});

// No usable value: the caller gets a reason (-> 503) and the log names the secret to set.
describe('CachedSecret unavailable', () => {
  it.each([
    ['the placeholder', 'not_set', 'CRISP_BRIDGE_PLACEHOLDER: not set yet'],
    ['an empty string', 'not_set', ''],
    ['no string at all', 'not_set', undefined],
    ['a missing secret', 'not_found', new SecretFetchError('not_found', 'ResourceNotFoundException')],
    ['a denied read', 'access_denied', new SecretFetchError('access_denied', 'AccessDeniedException')],
    ['an unreachable store', 'unreachable', new Error('socket hang up')],
  ] as const)('reports %s as %s, naming the secret', async (_, reason, answer) => {
    const { secret, log } = setup([answer]);
    expect(await secret.get()).toEqual({ ok: false, reason });
    const [line] = log.entries();
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'secret unavailable',
      secret: 'Ticket Center secret',
      secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tc-AbCdEf',
      reason,
    });
    expect(String(line!.action)).toContain(reason === 'not_set' ? 'put-secret-value' : '');
  });

  it('asks the store again only after the retry delay, then recovers', async () => {
    const { secret, calls, advance } = setup(['CRISP_BRIDGE_PLACEHOLDER', VALUE]);
    expect((await secret.get()).ok).toBe(false);
    advance(1_000);
    expect(await secret.get()).toEqual({ ok: false, reason: 'not_set' });
    expect(calls).toHaveLength(1);
    advance(4_000);
    expect(await secret.get()).toEqual({ ok: true, value: VALUE });
    expect(calls).toHaveLength(2);
  });
});
