/**
 * The pure parts of the event bus fan-out: the entry built from a Crisp event (size counted
 * EventBridge's way, too large events trimmed, never dropped), PutEvents chunking, which error
 * codes are retried, and the batch publisher's slots (no timer: entries go when no more can come).
 */
import { type BusEntry, MAX_ENTRY_BYTES, buildBusEntry, chunkEntries, entrySize, isRetryablePublishError } from '../../functions/commons/core/event-bus-entry';
import { BatchPublisher, type EventPublisher, type PublishFailure, errorCodeOf } from '../../functions/consumer/event-publishing';

const envelope = (data: unknown = { session_id: 'session_1', content: 'hello' }) => ({
  website_id: '42286ab3-b29a-4fde-8538-da0ae501d825',
  event: 'message:send',
  timestamp: 1_715_938_212_345,
  data,
});
const options = { source: 'crisp-bridge.Test', dedupeKey: 'k1', hookKind: 'plugin' };

describe('buildBusEntry', () => {
  it('source, detail-type verbatim, time from the timestamp, detail = envelope + dedupeKey + hookKind', () => {
    const built = buildBusEntry(envelope(), options);
    expect(built.truncated).toBe(false);
    expect(built.entry).toEqual({
      source: 'crisp-bridge.Test',
      detailType: 'message:send',
      time: new Date(1_715_938_212_345),
      detail: JSON.stringify({ ...envelope(), dedupeKey: 'k1', hookKind: 'plugin' }),
    });
  });

  it('counts size as EventBridge does: 14 for Time plus UTF-8 bytes of Source, DetailType, Detail', () => {
    const entry: BusEntry = { source: 'ab', detailType: 'é', detail: '{"x":"😀"}', time: new Date() };
    expect(entrySize(entry)).toBe(14 + 2 + 2 + 12);
  });

  it('too large: drops the largest data fields first, lists them, keeps identifiers, fits', () => {
    const data = { session_id: 'session_1', fingerprint: 42, content: 'x'.repeat(200_000), preview: 'y'.repeat(100_000), from: 'user' };
    const built = buildBusEntry(envelope(data), options);
    expect(built.truncated).toBe(true);
    expect(built.dropped).toEqual(['data.content']);
    expect(entrySize(built.entry)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
    const detail = JSON.parse(built.entry.detail);
    expect(detail).toMatchObject({ truncated: true, dropped: ['data.content'], dedupeKey: 'k1', data: { session_id: 'session_1', fingerprint: 42, from: 'user' } });
    expect(detail.data.preview).toHaveLength(100_000);
  });

  it('multi-byte text is counted in bytes, not characters', () => {
    const built = buildBusEntry(envelope({ session_id: 's', content: '😀'.repeat(70_000) }), options); // 280 KB of UTF-8, 140k UTF-16 units
    expect(built.dropped).toEqual(['data.content']);
  });

  it('data not an object (or many small fields): keeps the envelope identifiers only', () => {
    const huge = buildBusEntry(envelope('z'.repeat(300_000)), options);
    expect(huge).toMatchObject({ truncated: true, dropped: ['data'] });
    expect(JSON.parse(huge.entry.detail)).toEqual({ website_id: envelope().website_id, event: 'message:send', timestamp: envelope().timestamp, dedupeKey: 'k1', hookKind: 'plugin', truncated: true, dropped: ['data'] });
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`field_${i}`, 'v'.repeat(60)]));
    const built = buildBusEntry(envelope(many), options);
    expect(built.dropped).toEqual(['data']);
    expect(entrySize(built.entry)).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
  });

  it('honours a smaller limit', () => {
    const built = buildBusEntry(envelope({ session_id: 's', content: 'x'.repeat(2000) }), { ...options, maxBytes: 1000 });
    expect(built.dropped).toEqual(['data.content']);
    expect(entrySize(built.entry)).toBeLessThanOrEqual(1000);
  });
});

describe('chunkEntries', () => {
  it('at most 10 per call', () => {
    expect(chunkEntries(Array.from({ length: 23 }, (_, i) => i), () => 1).map((chunk) => chunk.length)).toEqual([10, 10, 3]);
  });
  it('at most 256 KB per call, order kept', () => {
    const sizes = [100_000, 100_000, 100_000, 200_000, 10];
    expect(chunkEntries(sizes, (size) => size)).toEqual([[100_000, 100_000], [100_000], [200_000, 10]]);
  });
});

describe('isRetryablePublishError', () => {
  it.each(['ThrottlingException', 'InternalFailure', 'InternalException', 'ServiceUnavailable', 'TimeoutError', 'ECONNRESET', 'SomethingNew'])('%s: retried', (code) => {
    expect(isRetryablePublishError(code)).toBe(true);
  });
  it.each(['ValidationException', 'AccessDeniedException', 'MalformedDetail', 'InvalidArgument', 'NotAuthorizedForSourceException', 'ResourceNotFoundException'])('%s: not retried', (code) => {
    expect(isRetryablePublishError(code)).toBe(false);
  });
});

describe('BatchPublisher', () => {
  const entry = (n: number): BusEntry => ({ source: 's', detailType: 'message:send', detail: JSON.stringify({ n }), time: new Date(0) });
  function fakePublisher(fail: (entry: BusEntry) => string | undefined = () => undefined) {
    const calls: BusEntry[][] = [];
    const publisher: EventPublisher = {
      async publish(entries) {
        calls.push([...entries]);
        const failed: PublishFailure[] = [];
        entries.forEach((item, index) => {
          const code = fail(item);
          if (code) failed.push({ index, errorCode: code, errorMessage: 'no' });
        });
        return { failed };
      },
    };
    return { calls, publisher };
  }

  it('waits until every slot is used or given up, then sends what waits in one call', async () => {
    const { calls, publisher } = fakePublisher();
    const batch = new BatchPublisher(publisher, 3);
    const [a, b, c] = [batch.slot(), batch.slot(), batch.slot()];
    const first = a!.publish(entry(1));
    const second = b!.publish(entry(2));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(calls).toEqual([]);
    c!.giveUp();
    expect(await Promise.all([first, second])).toEqual([{ ok: true }, { ok: true }]);
    expect(calls.map((call) => call.length)).toEqual([2]);
  });

  it('sends a full call of 10 at once, without waiting for the others', async () => {
    const { calls, publisher } = fakePublisher();
    const batch = new BatchPublisher(publisher, 12);
    const slots = Array.from({ length: 12 }, () => batch.slot());
    const results = slots.slice(0, 10).map((slot, i) => slot.publish(entry(i)));
    await Promise.all(results);
    expect(calls.map((call) => call.length)).toEqual([10]);
    slots[10]!.giveUp();
    const last = slots[11]!.publish(entry(11));
    await last;
    expect(calls.map((call) => call.length)).toEqual([10, 1]);
  });

  it('each slot gets its own entry\'s outcome; a rejected call fails every entry with its code', async () => {
    const { publisher } = fakePublisher((item) => (JSON.parse(item.detail).n === 2 ? 'AccessDeniedException' : undefined));
    const batch = new BatchPublisher(publisher, 2);
    const results = await Promise.all([batch.slot().publish(entry(1)), batch.slot().publish(entry(2))]);
    expect(results).toEqual([{ ok: true }, { ok: false, errorCode: 'AccessDeniedException', errorMessage: 'no', retryable: false }]);

    const down = new BatchPublisher({ publish: () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })) }, 1);
    expect(await down.slot().publish(entry(1))).toEqual({ ok: false, errorCode: 'ECONNRESET', errorMessage: 'socket hang up', retryable: true });
  });

  it('giving up twice, or after publishing, changes nothing', async () => {
    const { calls, publisher } = fakePublisher();
    const batch = new BatchPublisher(publisher, 2);
    const a = batch.slot();
    const b = batch.slot();
    const pending = a.publish(entry(1));
    a.giveUp();
    b.giveUp();
    b.giveUp();
    await pending;
    expect(calls).toHaveLength(1);
  });

  it('errorCodeOf: SDK error name, else network code', () => {
    expect(errorCodeOf(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe('ThrottlingException');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    expect(errorCodeOf('weird')).toBe('Error');
  });
});
