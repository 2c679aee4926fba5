import {
  ATTRIBUTES,
  type HookEnvelope,
  type QueueMessage,
  buildQueueMessage,
  deliveryInfo,
  eventMatches,
  filteredOut,
  header,
  messageSize,
  parseEnvelope,
} from '../../functions/commons/core/hook-envelope';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const bytes = (text: string) => Buffer.from(text, 'utf8');
const envelopeText = (fields: Record<string, unknown>) =>
  JSON.stringify({ website_id: WEBSITE_ID, event: 'message:send', data: { content: 'hi' }, timestamp: 1720000000000, ...fields });

describe('parseEnvelope', () => {
  it('accepts a valid envelope and returns its text', () => {
    const text = envelopeText({ data: { content: 'héllo 📦', from: 'user' } });
    const result = parseEnvelope(bytes(text));
    expect(result).toEqual({ ok: true, envelope: { websiteId: WEBSITE_ID, event: 'message:send', timestamp: 1720000000000 }, text, value: JSON.parse(text) });
  });

  it('accepts a pretty-printed envelope and keeps the text as received', () => {
    const text = JSON.stringify(JSON.parse(envelopeText({})), null, 2);
    const result = parseEnvelope(bytes(text));
    expect(result.ok && result.text).toBe(text);
  });

  it('accepts a timestamp given as a digit string', () => {
    const result = parseEnvelope(bytes(envelopeText({ timestamp: '1720000000000' })));
    expect(result.ok && result.envelope.timestamp).toBe(1720000000000);
  });

  it('accepts timestamp 0', () => {
    const result = parseEnvelope(bytes(envelopeText({ timestamp: 0 })));
    expect(result.ok && result.envelope.timestamp).toBe(0);
  });

  it.each([
    ['0xff 0xfe', Buffer.from([0xff, 0xfe])],
    ['a truncated multi-byte character', Buffer.concat([bytes('{"website_id":"'), Buffer.from([0xe4, 0xb8])])],
    ['an overlong encoding', Buffer.from([0x7b, 0xc0, 0xaf, 0x7d])],
  ])('not UTF-8 (%s) → not_utf8', (_name, raw) => {
    expect(parseEnvelope(raw)).toMatchObject({ ok: false, reason: 'not_utf8' });
  });

  it.each([[''], ['nope'], ['{'], ['{"website_id":'], ['{\'a\':1}']])('%p → not_json', (text) => {
    expect(parseEnvelope(bytes(text))).toMatchObject({ ok: false, reason: 'not_json' });
  });

  it('a raw U+0000 inside a JSON string is not JSON', () => {
    expect(parseEnvelope(bytes(envelopeText({}).replace('"hi"', '"h\u0000i"')))).toMatchObject({ ok: false, reason: 'not_json' });
  });

  it.each([['[]'], ['[{"website_id":"w"}]'], ['"x"'], ['null'], ['42'], ['true']])('%p → not_an_object', (text) => {
    expect(parseEnvelope(bytes(text))).toMatchObject({ ok: false, reason: 'not_an_object' });
  });

  it.each([['website_id'], ['event'], ['timestamp'], ['data']])('missing %s → missing_field', (field) => {
    const envelope = JSON.parse(envelopeText({})) as Record<string, unknown>;
    delete envelope[field];
    expect(parseEnvelope(bytes(JSON.stringify(envelope)))).toMatchObject({ ok: false, reason: 'missing_field', field });
    expect(parseEnvelope(bytes(envelopeText({ [field]: null })))).toMatchObject({ ok: false, reason: 'missing_field', field });
    expect(parseEnvelope(bytes(envelopeText({ [field]: '' })))).toMatchObject({ ok: false, reason: 'missing_field', field });
  });

  it.each<[string, string, unknown]>([
    ['event', 'with a space', 'message send'],
    ['event', '300 characters', 'a'.repeat(300)],
    ['event', 'a number', 42],
    ['event', 'with an empty segment', 'message::send'],
    ['event', 'a trailing colon', 'message:'],
    ['website_id', 'a path', '../x'],
    ['website_id', 'a number', 123],
    ['website_id', 'an object', { id: WEBSITE_ID }],
    ['website_id', '300 characters', 'a'.repeat(300)],
    ['timestamp', '-1', -1],
    ['timestamp', '1.5', 1.5],
    ['timestamp', "'abc'", 'abc'],
    ['timestamp', "'-1'", '-1'],
    ['timestamp', '2^60', 2 ** 60],
    ['timestamp', 'true', true],
    ['timestamp', 'a 17-digit string', '12345678901234567'],
    ['data', 'a string', 'hello'],
    ['data', 'a number', 42],
    ['data', 'zero', 0],
    ['data', 'false', false],
    ['data', 'an array', [{ content: 'hi' }]],
    ['data', 'an empty array', []],
  ])('%s %s → invalid_field', (field, _name, value) => {
    expect(parseEnvelope(bytes(envelopeText({ [field]: value })))).toMatchObject({ ok: false, reason: 'invalid_field', field });
  });

  it('data may be an empty object: the handlers then see every field as absent', () => {
    expect(parseEnvelope(bytes(envelopeText({ data: {} })))).toMatchObject({ ok: true });
  });

  it('takes the text to process as a string too, and returns it unchanged', () => {
    const text = envelopeText({ data: { content: 'Zoë' } });
    expect(parseEnvelope(text)).toMatchObject({ ok: true, text });
  });

  it('never echoes body content in its message', () => {
    const result = parseEnvelope(bytes(envelopeText({ website_id: '../secret-looking-value' })));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toContain('secret-looking-value');
  });
});

describe('eventMatches', () => {
  it("'*' matches everything", () => {
    expect(eventMatches('*', 'message:send')).toBe(true);
    expect(eventMatches('*', 'people:profile:created')).toBe(true);
  });

  it('an exact namespace matches only itself', () => {
    expect(eventMatches('message:send', 'message:send')).toBe(true);
    expect(eventMatches('message:send', 'message:send:x')).toBe(false);
    expect(eventMatches('message:send', 'message:received')).toBe(false);
    expect(eventMatches('message:send', 'Message:send')).toBe(false);
  });

  it("'message:*' matches the namespace's events, not a longer prefix", () => {
    expect(eventMatches('message:*', 'message:send')).toBe(true);
    expect(eventMatches('message:*', 'message:updated')).toBe(true);
    expect(eventMatches('people:*', 'people:profile:created')).toBe(true);
    expect(eventMatches('message:*', 'messages:x')).toBe(false);
    expect(eventMatches('message:*', 'message')).toBe(false);
    expect(eventMatches('message:*', 'session:set_data')).toBe(false);
  });
});

describe('filteredOut', () => {
  const envelope: HookEnvelope = { websiteId: WEBSITE_ID, event: 'message:send', timestamp: 1 };

  it('keeps everything without filters', () => {
    expect(filteredOut(envelope, { events: [], websiteIds: [] })).toBeUndefined();
  });

  it('filters by event', () => {
    expect(filteredOut(envelope, { events: ['message:*'], websiteIds: [] })).toBeUndefined();
    expect(filteredOut(envelope, { events: ['session:set_data', 'message:send'], websiteIds: [] })).toBeUndefined();
    expect(filteredOut(envelope, { events: ['*'], websiteIds: [] })).toBeUndefined();
    expect(filteredOut(envelope, { events: ['session:*'], websiteIds: [] })).toBe('event');
    expect(filteredOut({ ...envelope, event: 'messages:x' }, { events: ['message:*'], websiteIds: [] })).toBe('event');
  });

  it('filters by website', () => {
    expect(filteredOut(envelope, { events: [], websiteIds: [WEBSITE_ID] })).toBeUndefined();
    expect(filteredOut(envelope, { events: [], websiteIds: ['other-website'] })).toBe('website');
    expect(filteredOut(envelope, { events: ['session:*'], websiteIds: ['other-website'] })).toBe('website');
    expect(filteredOut(envelope, { events: ['session:*'], websiteIds: [WEBSITE_ID] })).toBe('event');
  });
});

describe('header', () => {
  const headers = { 'X-Crisp-Signature': 'abc', 'x-crisp-request-timestamp': '123', 'X-EMPTY': '' };

  it('ignores case', () => {
    expect(header(headers, 'x-crisp-signature')).toBe('abc');
    expect(header(headers, 'X-CRISP-SIGNATURE')).toBe('abc');
    expect(header(headers, 'X-Crisp-Request-Timestamp')).toBe('123');
    expect(header(headers, 'x-empty')).toBe('');
  });

  it('returns undefined when absent', () => {
    expect(header(headers, 'x-delivery-attempt-count')).toBeUndefined();
    expect(header(undefined, 'x-crisp-signature')).toBeUndefined();
    expect(header({}, 'x-crisp-signature')).toBeUndefined();
  });
});

describe('deliveryInfo', () => {
  it('reads the delivery headers, whatever their case', () => {
    expect(
      deliveryInfo({ 'X-Delivery-Attempt-Count': '2', 'x-delivery-attempt-limit': '5', 'X-Crisp-Hook-Origin': 'plugin/rtm 38b411d9377a6a00 production' }),
    ).toEqual({ attempt: 2, attemptLimit: 5, origin: 'plugin/rtm 38b411d9377a6a00 production' });
  });

  it('everything undefined without headers', () => {
    expect(deliveryInfo(undefined)).toEqual({ attempt: undefined, attemptLimit: undefined, origin: undefined });
    expect(deliveryInfo({})).toEqual({ attempt: undefined, attemptLimit: undefined, origin: undefined });
  });

  it('accepts counts from 1 to 999999, trimmed', () => {
    expect(deliveryInfo({ 'x-delivery-attempt-count': '1' }).attempt).toBe(1);
    expect(deliveryInfo({ 'x-delivery-attempt-count': ' 3 ' }).attempt).toBe(3);
    expect(deliveryInfo({ 'x-delivery-attempt-limit': '999999' }).attemptLimit).toBe(999999);
  });

  it.each([['0'], ['-1'], ['abc'], ['9999999'], [''], ['1.5'], ['01'], ['1e3']])('ignores count %p', (value) => {
    expect(deliveryInfo({ 'x-delivery-attempt-count': value, 'x-delivery-attempt-limit': value })).toEqual({
      attempt: undefined,
      attemptLimit: undefined,
      origin: undefined,
    });
  });

  it('strips control characters from the origin', () => {
    expect(deliveryInfo({ 'x-crisp-hook-origin': 'plugin/rtm\u0000 abc\r\n\tprod\u007f\u001b[31m' }).origin).toBe('plugin/rtm abcprod[31m');
  });

  it('truncates the origin to 200 characters', () => {
    const origin = deliveryInfo({ 'x-crisp-hook-origin': 'o'.repeat(500) }).origin;
    expect(origin).toBe('o'.repeat(200));
  });

  it('an origin of only control characters is undefined', () => {
    expect(deliveryInfo({ 'x-crisp-hook-origin': '\u0000\n\u0007' }).origin).toBeUndefined();
    expect(deliveryInfo({ 'x-crisp-hook-origin': '   ' }).origin).toBeUndefined();
  });
});

describe('buildQueueMessage', () => {
  const envelope: HookEnvelope = { websiteId: WEBSITE_ID, event: 'message:send', timestamp: 1720000000000 };
  const RECEIVED_AT = 1720000001234;

  const build = (text: string, delivery: Parameters<typeof buildQueueMessage>[0]['delivery'] = {}, kind: 'plugin' | 'website' = 'plugin') =>
    buildQueueMessage({ text, envelope, delivery, kind, receivedAt: RECEIVED_AT });

  it('has exactly event, websiteId, hookKind and receivedAt without delivery headers', () => {
    const message = build(envelopeText({}), { attempt: undefined, attemptLimit: undefined, origin: undefined });
    expect(message.attributes).toEqual({
      event: { DataType: 'String', StringValue: 'message:send' },
      websiteId: { DataType: 'String', StringValue: WEBSITE_ID },
      hookKind: { DataType: 'String', StringValue: 'plugin' },
      receivedAt: { DataType: 'Number', StringValue: '1720000001234' },
    });
    expect(Object.keys(message.attributes).sort()).toEqual(['event', 'hookKind', 'receivedAt', 'websiteId']);
  });

  it('adds deliveryAttempt, deliveryAttemptLimit and hookOrigin when present', () => {
    const message = build(envelopeText({}), { attempt: 2, attemptLimit: 5, origin: 'plugin/rtm 38b411d9377a6a00 production' }, 'website');
    expect(message.attributes).toEqual({
      event: { DataType: 'String', StringValue: 'message:send' },
      websiteId: { DataType: 'String', StringValue: WEBSITE_ID },
      hookKind: { DataType: 'String', StringValue: 'website' },
      receivedAt: { DataType: 'Number', StringValue: '1720000001234' },
      deliveryAttempt: { DataType: 'Number', StringValue: '2' },
      deliveryAttemptLimit: { DataType: 'Number', StringValue: '5' },
      hookOrigin: { DataType: 'String', StringValue: 'plugin/rtm 38b411d9377a6a00 production' },
    });
  });

  it('adds only the delivery attributes that are present', () => {
    expect(Object.keys(build(envelopeText({}), { attempt: 1 }).attributes)).toContain(ATTRIBUTES.deliveryAttempt);
    expect(Object.keys(build(envelopeText({}), { attempt: 1 }).attributes)).not.toContain(ATTRIBUTES.deliveryAttemptLimit);
    expect(Object.keys(build(envelopeText({}), { attemptLimit: 3 }).attributes)).toEqual(['event', 'websiteId', 'hookKind', 'receivedAt', 'deliveryAttemptLimit']);
    expect(Object.keys(build(envelopeText({}), { origin: '' }).attributes)).not.toContain(ATTRIBUTES.hookOrigin);
  });

  it('the body is the text as received, emoji and escapes included', () => {
    const text = '{ "website_id": "w", "event": "message:send", "data": {"content": "📦 中文 é \\u00e9 \\ud83d\\ude00 \\u0000"}, "timestamp": 1 }';
    const message = build(text);
    expect(message.body).toBe(text);
    expect(message.attributes[ATTRIBUTES.bodyEncoding]).toBeUndefined();
  });

  it('the envelope text from parseEnvelope round-trips', () => {
    const text = envelopeText({ data: { content: 'Zoë 📦' } });
    const parsed = parseEnvelope(bytes(text));
    if (!parsed.ok) throw new Error('expected a valid envelope');
    const message = buildQueueMessage({ text: parsed.text, envelope: parsed.envelope, delivery: {}, kind: 'plugin', receivedAt: RECEIVED_AT });
    expect(message.body).toBe(text);
  });

  it.each([
    ['U+FFFF', '\uFFFF'],
    ['U+FFFE', '\uFFFE'],
  ])('a body holding a raw %s (legal in a JSON string, refused by SQS) travels as base64 of the exact bytes', (_name, char) => {
    const text = envelopeText({ data: { content: `a${char}b 📦` } });
    expect(text).toContain(char);
    const raw = bytes(text);
    const parsed = parseEnvelope(raw);
    if (!parsed.ok) throw new Error('expected a valid envelope');
    const message = buildQueueMessage({ text: parsed.text, envelope: parsed.envelope, delivery: { attempt: 1 }, kind: 'plugin', receivedAt: RECEIVED_AT });
    expect(message.attributes[ATTRIBUTES.bodyEncoding]).toEqual({ DataType: 'String', StringValue: 'base64' });
    expect(message.body).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(message.body, 'base64').equals(raw)).toBe(true);
    // The other attributes are unchanged.
    expect(message.attributes.event).toEqual({ DataType: 'String', StringValue: 'message:send' });
    expect(message.attributes.deliveryAttempt).toEqual({ DataType: 'Number', StringValue: '1' });
  });

  it('the base64 body is the UTF-8 of the text given, whatever its layout (pretty-printed, escapes)', () => {
    const text = `{\n  "website_id": "w",\n  "event": "message:send",\n  "data": {"c": "\uFFFF \\u00e9"},\n  "timestamp": 1\n}`;
    const message = buildQueueMessage({ text, envelope, delivery: {}, kind: 'plugin', receivedAt: RECEIVED_AT });
    expect(Buffer.from(message.body, 'base64').toString('utf8')).toBe(text);
  });
});

describe('messageSize', () => {
  it('counts body bytes plus each attribute name, type and value (hand-computed)', () => {
    const message: QueueMessage = {
      body: 'é📦', // 2 + 4 = 6 bytes
      attributes: {
        event: { DataType: 'String', StringValue: 'message:send' }, // 5 + 6 + 12 = 23
        websiteId: { DataType: 'String', StringValue: 'w1' }, // 9 + 6 + 2 = 17
        receivedAt: { DataType: 'Number', StringValue: '1720000000000' }, // 10 + 6 + 13 = 29
        hookOrigin: { DataType: 'String', StringValue: 'orígin' }, // 10 + 6 + 7 = 23
      },
    };
    expect(messageSize(message)).toBe(6 + 23 + 17 + 29 + 23);
    expect(messageSize(message)).toBe(98);
  });

  it('an empty message with no attributes is 0', () => {
    expect(messageSize({ body: '', attributes: {} })).toBe(0);
  });

  it('matches a message built by buildQueueMessage', () => {
    const text = '{"website_id":"w1","event":"message:send","data":{"content":"中"},"timestamp":1}'; // 中 is 3 bytes for 1 UTF-16 unit
    const message = buildQueueMessage({
      text,
      envelope: { websiteId: 'w1', event: 'message:send', timestamp: 1 },
      delivery: { attempt: 3 },
      kind: 'plugin',
      receivedAt: 1720000000000,
    });
    const bodyBytes = Buffer.byteLength(text, 'utf8');
    expect(bodyBytes).toBe(text.length + 2);
    // event 23, websiteId 17, hookKind 8 + 6 + 6 = 20, receivedAt 29, deliveryAttempt 15 + 6 + 1 = 22
    expect(messageSize(message)).toBe(bodyBytes + 23 + 17 + 20 + 29 + 22);
  });
});
