/**
 * The example handler shipped with the package (functions/consumer/handlers/count-visitor-messages.ts),
 * called directly with a logger writing into an array and the consumer's own `context.count`: its own code, not the list of handlers
 * the shipped module registers (users edit that list; the consumer's tests use their own
 * modules, in test/fixtures/handlers/).
 */
import type { CrispEvent } from '../../functions/consumer/events';
import { eventCounts } from '../../functions/consumer/event-counts';
import { countVisitorMessages, originDimension } from '../../functions/consumer/handlers/count-visitor-messages';
import type { HandlerContext } from '../../functions/consumer/registry';
import { captureLogger } from '../support/logs';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SESSION_ID = 'session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881';
const CONTENT = 'Hi! My order #1042 still hasn\'t arrived';
const EMAIL = 'jane.doe+orders@example.com';

/** A `message:send` event as the consumer hands it to a handler. */
function messageSend(data: Record<string, unknown>): CrispEvent<'message:send'> {
  return {
    website_id: WEBSITE_ID,
    event: 'message:send',
    timestamp: 1_767_225_600_000,
    data: { website_id: WEBSITE_ID, session_id: SESSION_ID, fingerprint: 176722560012, ...data },
  } as CrispEvent<'message:send'>;
}

function run(event: CrispEvent<'message:send'>) {
  const { logger, entries } = captureLogger();
  const counts = eventCounts(event);
  const context: HandlerContext<never, never> = {
    logger,
    dedupeKey: 'v1:7b0e0a3c',
    hookKind: 'plugin',
    deliveryAttempt: 1,
    receiveCount: 1,
    remainingTimeMs: () => 10_000,
    count: counts.count,
    crispApiEnabled: false,
    get crisp(): never {
      throw new Error('the example calls no Crisp API');
    },
    settings: {},
    secrets: { get: () => Promise.reject(new Error('the example reads no secret')) },
  };
  const result = countVisitorMessages(event, context);
  return { result, entries: entries(), counted: counts.sets() };
}

describe('the example handler, count-visitor-messages', () => {
  it('a visitor message: VisitorMessages counted once per origin, on the outcome line (no line of its own)', () => {
    const { result, entries, counted } = run(messageSend({ type: 'text', from: 'user', origin: 'chat', content: CONTENT, user: { nickname: EMAIL } }));
    expect(result).toBeUndefined();
    expect(entries).toEqual([]);
    expect(counted).toEqual([{ metrics: { VisitorMessages: 1 }, dimensions: { origin: 'chat' } }]);
    // Never the content, never the visitor's details; not per website (a custom metric per website).
    const text = JSON.stringify(counted);
    expect(text).not.toContain('order #1042');
    expect(text).not.toContain(EMAIL);
    expect(text).not.toContain(WEBSITE_ID);
  });

  it.each([
    ['from an operator', { type: 'text', from: 'operator', origin: 'chat', content: CONTENT }],
    ['with no sender', { type: 'text', origin: 'chat', content: CONTENT }],
  ])('a message %s: no line, no count', (_name, data) => {
    const { result, entries, counted } = run(messageSend(data));
    expect(result).toBeUndefined();
    expect(entries).toEqual([]);
    expect(counted).toEqual([]);
  });

  it('a visitor message missing its optional fields (no type, origin or content): counted under origin "unknown", no crash', () => {
    expect(run(messageSend({ from: 'user' })).counted).toEqual([{ metrics: { VisitorMessages: 1 }, dimensions: { origin: 'unknown' } }]);
  });

  it.each([
    ['chat', 'chat'],
    ['email', 'email'],
    ['urn:crisp.im:contact-form:0', 'urn'],
    ['Chat', 'unknown'],
    ['x'.repeat(17), 'unknown'],
    ['chat\n', 'unknown'],
    [' ', 'unknown'],
    [42, 'unknown'],
    [undefined, 'unknown'],
  ])('origin %j is counted as %j: a hook cannot choose how many metrics there are', (origin, expected) => {
    expect(originDimension(origin)).toBe(expected);
    expect(run(messageSend({ from: 'user', origin })).counted).toEqual([{ metrics: { VisitorMessages: 1 }, dimensions: { origin: expected } }]);
  });
});
