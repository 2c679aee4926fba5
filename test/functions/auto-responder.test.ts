/**
 * The example auto-responder (functions/consumer/handlers/auto-responder.ts): the business hours
 * (parsing, time zones, day ranges, edges), and the handler's decisions with a stand-in
 * `context.crisp`: a visitor's chat message outside hours gets the reply once per conversation
 * (`onceKey`), inside hours nothing, and never on an operator's message, an email, or a Website
 * Hook event.
 */
import type { CrispApi, SendMessageInput, SentMessage } from '../../functions/commons/core/crisp-api';
import {
  AUTO_REPLY_ONCE_KEY,
  autoResponder,
  default as autoResponderModule,
  isWithinBusinessHours,
  localTime,
  parseBusinessHours,
} from '../../functions/consumer/handlers/auto-responder';
import type { CrispEvent } from '../../functions/consumer/events';
import type { HandlerContext } from '../../functions/consumer/registry';
import { captureLogger } from '../support/logs';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SESSION_ID = 'session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881';

describe('business hours', () => {
  const paris = parseBusinessHours('Mon-Fri 09:00-18:00', 'Europe/Paris');
  const at = (iso: string) => new Date(iso);

  it.each([
    // 2026-01-05 is a Monday; Paris is UTC+1 in winter, UTC+2 in summer.
    ['Monday 09:00 Paris (08:00 UTC): open, the start is included', '2026-01-05T08:00:00Z', true],
    ['Monday 08:59 Paris: closed', '2026-01-05T07:59:00Z', false],
    ['Monday 17:59 Paris: open', '2026-01-05T16:59:00Z', true],
    ['Monday 18:00 Paris: closed, the end is excluded', '2026-01-05T17:00:00Z', false],
    ['Friday 12:00 Paris: open', '2026-01-09T11:00:00Z', true],
    ['Saturday 12:00 Paris: closed', '2026-01-10T11:00:00Z', false],
    ['Sunday 23:30 UTC is Monday 00:30 in Paris: closed (before 09:00)', '2026-01-04T23:30:00Z', false],
    ['summer time: Monday 09:00 Paris is 07:00 UTC', '2026-07-06T07:00:00Z', true],
    ['summer time: Monday 08:30 UTC is 10:30 Paris', '2026-07-06T08:30:00Z', true],
    ['summer time: Monday 16:30 UTC is 18:30 Paris: closed', '2026-07-06T16:30:00Z', false],
  ])('%s', (_name, iso, open) => {
    expect(isWithinBusinessHours(paris, at(iso))).toBe(open);
  });

  it('several ranges, a single day, 24:00, a wrapping day range, any case', () => {
    const hours = parseBusinessHours('mon-thu 09:00-18:00, Fri 09:00-16:00, Sat 10:00-24:00, Sat-Sun 00:00-02:00', 'UTC');
    expect(isWithinBusinessHours(hours, at('2026-01-08T17:30:00Z'))).toBe(true); // Thursday
    expect(isWithinBusinessHours(hours, at('2026-01-09T17:30:00Z'))).toBe(false); // Friday after 16:00
    expect(isWithinBusinessHours(hours, at('2026-01-10T23:59:00Z'))).toBe(true); // Saturday late
    expect(isWithinBusinessHours(hours, at('2026-01-11T01:00:00Z'))).toBe(true); // Sunday early
    expect(isWithinBusinessHours(hours, at('2026-01-11T03:00:00Z'))).toBe(false);
    const weekend = parseBusinessHours('Fri-Mon 10:00-12:00', 'UTC');
    expect([...weekend.ranges[0]!.days].sort()).toEqual([0, 1, 5, 6]);
  });

  it('another time zone: Mon-Fri 09:00-17:00 in New York', () => {
    const ny = parseBusinessHours('Mon-Fri 09:00-17:00', 'America/New_York');
    expect(isWithinBusinessHours(ny, at('2026-01-05T14:00:00Z'))).toBe(true); // 09:00 EST
    expect(isWithinBusinessHours(ny, at('2026-01-05T13:59:00Z'))).toBe(false);
    expect(localTime(at('2026-01-05T02:00:00Z'), 'America/New_York')).toEqual({ weekday: 0, minutes: 21 * 60 }); // Sunday 21:00
  });

  it.each([
    ['', 'UTC', /BUSINESS_HOURS is empty/],
    ['Mon-Fri', 'UTC', /is not "<Day>\[-<Day>\] HH:MM-HH:MM"/],
    ['Mon-Fry 09:00-18:00', 'UTC', /"Fry" .* is not a day/],
    ['Mon-Fri 9:00-18:00', 'UTC', /"9:00" .* is not a time/],
    ['Mon-Fri 09:00-24:30', 'UTC', /"24:30" .* is not a time/],
    ['Mon-Fri 22:00-06:00', 'UTC', /ends before it starts; a range crossing midnight is written as two/],
    ['Mon-Fri 09:00-18:00', 'Mars/Olympus', /BUSINESS_TIMEZONE: "Mars\/Olympus" is not an IANA time zone/],
  ])('refuses %j in %s, saying what is wrong', (hours, zone, message) => {
    expect(() => parseBusinessHours(hours, zone)).toThrow(message);
  });
});

// ---------------------------------------------------------------------------------------------
// The handler.

/** A stand-in for `context.crisp` that remembers what was sent per conversation and once-key. */
function fakeCrisp() {
  const sent: { sessionId: string; input: SendMessageInput }[] = [];
  const seen = new Set<string>();
  const crisp: Partial<CrispApi> = {
    websiteId: WEBSITE_ID,
    async sendMessage(sessionId, input): Promise<SentMessage> {
      const key = `${sessionId}/${input.onceKey}`;
      if (seen.has(key)) return { fingerprint: 1, alreadySent: true };
      seen.add(key);
      sent.push({ sessionId, input });
      return { fingerprint: 1, alreadySent: false };
    },
  };
  return { crisp: crisp as CrispApi, sent };
}

const SETTINGS = { BUSINESS_HOURS: 'Mon-Fri 09:00-18:00', BUSINESS_TIMEZONE: 'Europe/Paris', AUTO_REPLY_TEXT: "We're away until 9:00 (Paris time); we'll answer then." };
const SATURDAY = Date.parse('2026-01-10T11:00:00Z');
const MONDAY_NOON = Date.parse('2026-01-05T11:00:00Z');

function messageSend(data: Record<string, unknown>, timestamp = SATURDAY): CrispEvent<'message:send'> {
  return {
    website_id: WEBSITE_ID,
    event: 'message:send',
    timestamp,
    data: { website_id: WEBSITE_ID, session_id: SESSION_ID, type: 'text', from: 'user', origin: 'chat', content: 'Hello?', fingerprint: 1, timestamp, ...data },
  } as CrispEvent<'message:send'>;
}

function contextFor(crisp: CrispApi, options: { hookKind?: 'plugin' | 'website'; settings?: Partial<typeof SETTINGS> } = {}) {
  const { logger, entries } = captureLogger();
  const context: HandlerContext<keyof typeof SETTINGS, never> = {
    logger,
    dedupeKey: 'v1:test',
    hookKind: options.hookKind ?? 'plugin',
    deliveryAttempt: 1,
    receiveCount: 1,
    remainingTimeMs: () => 10_000,
    count: () => undefined,
    settings: { ...SETTINGS, ...options.settings },
    secrets: { get: () => Promise.reject(new Error('no secrets')) },
    crisp,
    crispApiEnabled: true,
  };
  return { context, entries };
}

describe('the auto-responder handler', () => {
  it('a visitor chat message outside hours: the reply, automated, with the once-per-conversation key', async () => {
    const { crisp, sent } = fakeCrisp();
    const { context, entries } = contextFor(crisp);
    await autoResponder(messageSend({}), context);
    expect(sent).toEqual([{ sessionId: SESSION_ID, input: { text: SETTINGS.AUTO_REPLY_TEXT, automated: true, onceKey: AUTO_REPLY_ONCE_KEY } }]);
    expect(entries()).toEqual([expect.objectContaining({ message: 'auto-reply', session_id: SESSION_ID, alreadySent: false, AutoReplies: 1 })]);
    expect(JSON.stringify(entries())).not.toContain(SETTINGS.AUTO_REPLY_TEXT);
  });

  it('a second message in the same conversation: nothing sent again (found by its once-key)', async () => {
    const { crisp, sent } = fakeCrisp();
    await autoResponder(messageSend({}), contextFor(crisp).context);
    const { context, entries } = contextFor(crisp);
    await autoResponder(messageSend({ fingerprint: 2 }, SATURDAY + 60_000), context);
    expect(sent).toHaveLength(1);
    expect(entries()).toEqual([expect.objectContaining({ message: 'auto-reply', alreadySent: true })]);
  });

  it('within business hours: nothing', async () => {
    const { crisp, sent } = fakeCrisp();
    await autoResponder(messageSend({}, MONDAY_NOON), contextFor(crisp).context);
    expect(sent).toEqual([]);
  });

  it('decides by when the visitor wrote, not when the event is handled (a retry decides the same)', async () => {
    const { crisp, sent } = fakeCrisp();
    jest.useFakeTimers({ now: MONDAY_NOON, doNotFake: ['nextTick', 'setImmediate'] });
    try {
      await autoResponder(messageSend({}, SATURDAY), contextFor(crisp).context);
    } finally {
      jest.useRealTimers();
    }
    expect(sent).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>]>([
    ["an operator's message", { from: 'operator' }],
    ['an email', { origin: 'email' }],
  ])('%s: nothing', async (_name, data) => {
    const { crisp, sent } = fakeCrisp();
    await autoResponder(messageSend(data), contextFor(crisp).context);
    expect(sent).toEqual([]);
  });

  it('a Website Hook event (unverified): refused, with a warning', async () => {
    const { crisp, sent } = fakeCrisp();
    const { context, entries } = contextFor(crisp, { hookKind: 'website' });
    await autoResponder(messageSend({}), context);
    expect(sent).toEqual([]);
    expect(entries()).toEqual([expect.objectContaining({ level: 'WARN', message: expect.stringContaining('Website Hook') })]);
  });

  it('settings it cannot use: a PermanentError naming the setting (dead-lettered, not retried five times)', async () => {
    const { crisp } = fakeCrisp();
    await expect(autoResponder(messageSend({}), contextFor(crisp, { settings: { BUSINESS_TIMEZONE: 'Paris' } }).context)).rejects.toMatchObject({
      name: 'PermanentError',
      reason: expect.stringContaining('BUSINESS_TIMEZONE'),
    });
    await expect(autoResponder(messageSend({}), contextFor(crisp, { settings: { AUTO_REPLY_TEXT: '  ' } }).context)).rejects.toMatchObject({ name: 'PermanentError' });
  });

  it('as a module of its own: message:send, declaring its three settings', () => {
    expect(Object.keys(autoResponderModule.handlers)).toEqual(['message:send']);
    expect(autoResponderModule.settings).toEqual(['BUSINESS_HOURS', 'BUSINESS_TIMEZONE', 'AUTO_REPLY_TEXT']);
  });
});
