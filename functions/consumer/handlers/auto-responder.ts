/**
 * Example handler: an out-of-hours auto-reply, once per conversation.
 *
 * When a visitor writes in the chat outside your business hours, it answers with your text
 * (`automated`), and only once per conversation: the reply's fingerprint is derived from the
 * session (`onceKey`), not from the event, so the visitor's second and third messages find the
 * reply already there and send nothing; a retried event finds it too.
 *
 * Not part of the shipped example module (functions/consumer/handlers/index.ts): it needs
 * `crispApi: true` and three settings, and a module declaring settings the deployment lacks fails
 * its cold start. Use it as a module of its own (`handlers: { entry:
 * '<this file>', environment: {...} }`) or compose it into yours:
 *
 * ```ts
 * import { autoResponder, AUTO_RESPONDER_SETTINGS, defineHandlers } from 'crisp-bridge/handlers';
 * export default defineHandlers({ 'message:send': autoResponder }, { settings: AUTO_RESPONDER_SETTINGS });
 * ```
 *
 * Settings (`handlers.environment`):
 * - BUSINESS_HOURS: `Mon-Fri 09:00-18:00`, several ranges comma-separated
 *   (`Mon-Thu 09:00-18:00, Fri 09:00-16:00`); days Mon Tue Wed Thu Fri Sat Sun;
 * - BUSINESS_TIMEZONE: an IANA time zone (`Europe/Paris`);
 * - AUTO_REPLY_TEXT: the reply.
 *
 * It acts only on a visitor's chat message (`from: user`, `origin: chat`: never on an email, where
 * auto-replies can answer each other forever), only on a verified Plugin Hook (a Website Hook is
 * authenticated only by its URL: whoever has seen it could make the bridge write to any
 * conversation), and decides by the time the visitor wrote (the event's timestamp), so a retry
 * an hour later decides the same way.
 */
import { PermanentError } from '../errors';
import { defineHandlers, type EventHandler } from '../registry';

export const AUTO_RESPONDER_SETTINGS = ['BUSINESS_HOURS', 'BUSINESS_TIMEZONE', 'AUTO_REPLY_TEXT'] as const;
export type AutoResponderSetting = (typeof AUTO_RESPONDER_SETTINGS)[number];

/** The `onceKey` of the auto-reply: one per conversation. */
export const AUTO_REPLY_ONCE_KEY = 'crisp-bridge.auto-responder';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** One range of business hours: on these weekdays (0 = Sunday), from `start` to `end` minutes after midnight. */
export interface BusinessHoursRange {
  days: ReadonlySet<number>;
  start: number;
  end: number;
}

export interface BusinessHours {
  ranges: readonly BusinessHoursRange[];
  timeZone: string;
}

/** A setting the auto-responder cannot use; the message names the setting and what is expected. */
export class BusinessHoursError extends TypeError {
  override readonly name = 'BusinessHoursError';
}

function day(name: string, text: string): number {
  const index = DAYS.findIndex((candidate) => candidate.toLowerCase() === name.toLowerCase());
  if (index === -1) throw new BusinessHoursError(`BUSINESS_HOURS: "${name}" in "${text}" is not a day (Mon Tue Wed Thu Fri Sat Sun)`);
  return index;
}

function minutes(value: string, text: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value);
  const total = match ? Number(match[1]) * 60 + Number(match[2]) : NaN;
  if (!match || total > 24 * 60) throw new BusinessHoursError(`BUSINESS_HOURS: "${value}" in "${text}" is not a time (HH:MM, 00:00 to 24:00)`);
  return total;
}

/**
 * Parses BUSINESS_HOURS (`Mon-Fri 09:00-18:00, Sat 10:00-13:00`) and BUSINESS_TIMEZONE. A day
 * range may wrap (`Fri-Mon`); a time range may not cross midnight: write it as two
 * (`Mon-Fri 22:00-24:00, Tue-Sat 00:00-06:00`). Throws `BusinessHoursError` saying what is wrong.
 */
export function parseBusinessHours(hours: string, timeZone: string): BusinessHours {
  if (typeof hours !== 'string' || !hours.trim()) throw new BusinessHoursError('BUSINESS_HOURS is empty: expected e.g. "Mon-Fri 09:00-18:00"');
  try {
    clockIn(timeZone);
  } catch {
    throw new BusinessHoursError(`BUSINESS_TIMEZONE: "${timeZone}" is not an IANA time zone (e.g. Europe/Paris)`);
  }
  const ranges = hours.split(',').map((part): BusinessHoursRange => {
    const text = part.trim();
    const match = /^([A-Za-z]{3})(?:\s*-\s*([A-Za-z]{3}))?\s+(\S+)\s*-\s*(\S+)$/.exec(text);
    if (!match) throw new BusinessHoursError(`BUSINESS_HOURS: "${text}" is not "<Day>[-<Day>] HH:MM-HH:MM" (e.g. "Mon-Fri 09:00-18:00")`);
    const first = day(match[1]!, text);
    const last = match[2] ? day(match[2], text) : first;
    const days = new Set<number>();
    for (let d = first; ; d = (d + 1) % 7) {
      days.add(d);
      if (d === last) break;
    }
    const start = minutes(match[3]!, text);
    const end = minutes(match[4]!, text);
    if (end <= start) {
      throw new BusinessHoursError(`BUSINESS_HOURS: "${text}" ends before it starts; a range crossing midnight is written as two (22:00-24:00 and 00:00-06:00 the next day)`);
    }
    return { days, start, end };
  });
  return { ranges, timeZone };
}

const clocks = new Map<string, Intl.DateTimeFormat>();

/** A formatter of weekday, hour and minute in `timeZone`, made once per zone (throws for an unknown zone). */
function clockIn(timeZone: string): Intl.DateTimeFormat {
  let clock = clocks.get(timeZone);
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    clocks.set(timeZone, clock);
  }
  return clock;
}

/** The weekday (0 = Sunday) and minutes after midnight of `instant` in `timeZone`. */
export function localTime(instant: Date, timeZone: string): { weekday: number; minutes: number } {
  const parts = clockIn(timeZone).formatToParts(instant);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  return { weekday: DAYS.indexOf(get('weekday') as (typeof DAYS)[number]), minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** Whether `instant` falls within the business hours (start included, end excluded). */
export function isWithinBusinessHours(hours: BusinessHours, instant: Date): boolean {
  const { weekday, minutes: now } = localTime(instant, hours.timeZone);
  return hours.ranges.some((range) => range.days.has(weekday) && now >= range.start && now < range.end);
}

const parsed = new Map<string, BusinessHours>();

function businessHoursOf(settings: Readonly<Record<AutoResponderSetting, string>>): BusinessHours {
  const cacheKey = `${settings.BUSINESS_HOURS}\n${settings.BUSINESS_TIMEZONE}`;
  let hours = parsed.get(cacheKey);
  if (!hours) {
    try {
      hours = parseBusinessHours(settings.BUSINESS_HOURS, settings.BUSINESS_TIMEZONE.trim());
    } catch (error) {
      // Settings that cannot work will not work on a retry either: straight to the dead-letter queue.
      if (error instanceof BusinessHoursError) throw new PermanentError(`auto-responder: ${error.message}`);
      throw error;
    }
    parsed.set(cacheKey, hours);
  }
  return hours;
}

export const autoResponder: EventHandler<'message:send', AutoResponderSetting> = async (event, context) => {
  const { data } = event;
  const { logger, settings } = context;
  if (data.from !== 'user' || data.origin !== 'chat') return;
  if (context.hookKind !== 'plugin') {
    logger.warn('auto-responder: not replying to a Website Hook event (unverified); use Plugin Hooks', { session_id: data.session_id });
    return;
  }
  const hours = businessHoursOf(settings);
  const writtenAt = new Date(typeof data.timestamp === 'number' ? data.timestamp : event.timestamp);
  if (isWithinBusinessHours(hours, writtenAt)) return;
  const text = settings.AUTO_REPLY_TEXT.trim();
  if (!text) throw new PermanentError('auto-responder: AUTO_REPLY_TEXT is empty');
  const sent = await context.crisp.sendMessage(data.session_id, { text, automated: true, onceKey: AUTO_REPLY_ONCE_KEY });
  logger.info('auto-reply', { session_id: data.session_id, fingerprint: sent.fingerprint, alreadySent: sent.alreadySent }, sent.alreadySent ? {} : { AutoReplies: 1 });
};

/** This file as a handler module of its own: `handlers: { entry: '.../auto-responder.ts', environment: {...} }`. */
export default defineHandlers({ 'message:send': autoResponder }, { settings: AUTO_RESPONDER_SETTINGS });
