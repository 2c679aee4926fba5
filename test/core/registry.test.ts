/**
 * The handler registry: which handler an event gets (`handlerFor`), what `defineHandlers`
 * refuses, what a handler module may export (`handlerSetOf`), and, checked by `tsc --noEmit`
 * (run by `npm test` before jest), the types a handler sees: an unused `@ts-expect-error` is a
 * compile error, so each one below fails the build if the type it guards goes loose.
 */
import * as path from 'node:path';
import type { CrispEvent } from '../../functions/consumer/events';
import { type EventHandler, type HandlerContext, type HandlerSet, defineHandlers, handlerFor, handlerSetOf } from '../../functions/consumer/registry';

/** A handler that says who it is, so the tests can tell which one `handlerFor` picked. */
const named = (name: string) => Object.assign((): void => undefined, { displayName: name });
const nameOf = (handler: EventHandler | undefined) => (handler as { displayName?: string } | undefined)?.displayName;

describe('handlerFor: exact namespace, else the longest matching prefix, else *', () => {
  const set = defineHandlers({
    '*': named('any'),
    'message:*': named('message:*'),
    'message:acknowledge:*': named('message:acknowledge:*'),
    'message:send': named('message:send'),
    'session:set_email': named('session:set_email'),
  });

  it.each([
    ['message:send', 'message:send'],
    ['message:received', 'message:*'],
    ['message:acknowledge:read:send', 'message:acknowledge:*'],
    ['message:acknowledge:delivered', 'message:acknowledge:*'],
    ['message:compose:send', 'message:*'],
    ['session:set_email', 'session:set_email'],
    ['session:set_nickname', 'any'],
    ['people:profile:created', 'any'],
    // A prefix matches whole segments: "messages:..." is not under "message:*".
    ['messages:send', 'any'],
    // A namespace this version does not know still reaches its prefix.
    ['message:reaction:added', 'message:*'],
  ])('%s -> %s', (namespace, expected) => {
    expect(nameOf(handlerFor(set, namespace))).toBe(expected);
  });

  it('without *, an event nothing matches has no handler', () => {
    const narrow = defineHandlers({ 'message:*': named('message:*'), 'message:send': named('message:send') });
    expect(handlerFor(narrow, 'session:set_email')).toBeUndefined();
    expect(handlerFor(narrow, 'message')).toBeUndefined();
    expect(nameOf(handlerFor(narrow, 'message:received'))).toBe('message:*');
  });

  it('a prefix covers the namespaces below it, not the namespace it is written on', () => {
    const deeper = defineHandlers({ 'message:send:*': named('message:send:*') });
    expect(handlerFor(deeper, 'message:send')).toBeUndefined();
    expect(nameOf(handlerFor(deeper, 'message:send:retry'))).toBe('message:send:*');
  });

  it('inherited properties are no handlers (constructor, toString, __proto__, hasOwnProperty)', () => {
    const empty = defineHandlers({});
    for (const namespace of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'constructor:*']) {
      expect(handlerFor(empty, namespace)).toBeUndefined();
    }
    expect(nameOf(handlerFor(set, 'constructor'))).toBe('any');
  });
});

describe('defineHandlers', () => {
  it('returns a frozen set with its handlers, settings and secrets (names deduplicated), detached from the object given', () => {
    const send = named('send');
    const input: Record<string, () => void> = { 'message:send': send };
    const set = defineHandlers(input as Record<string, never>, { settings: ['SLACK_CHANNEL', 'SLACK_CHANNEL'], secrets: ['CRM_KEY', '_OTHER_2'] });
    expect(set).toEqual({ kind: 'crisp-bridge.handlers', handlers: { 'message:send': send }, settings: ['SLACK_CHANNEL'], secrets: ['CRM_KEY', '_OTHER_2'] });
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.isFrozen(set.handlers)).toBe(true);
    expect(Object.isFrozen(set.settings)).toBe(true);
    expect(Object.isFrozen(set.secrets)).toBe(true);
    input['message:received'] = named('late');
    expect(Object.keys(set.handlers)).toEqual(['message:send']);
    expect(defineHandlers({})).toEqual({ kind: 'crisp-bridge.handlers', handlers: {}, settings: [], secrets: [] });
  });

  it.each(['*', 'message:send', 'message:*', 'session:set_email', 'message:acknowledge:read:*', 'plugin:x9_y'])('accepts the key %p', (key) => {
    expect(() => defineHandlers({ [key]: () => undefined } as Record<string, never>)).not.toThrow();
  });

  it.each([
    'message send',
    'Message:Send',
    'message:',
    ':send',
    'message::send',
    '*:send',
    'message:*:send',
    'message*',
    '**',
    'message:**',
    '',
    ' message:send',
    'message:send ',
    'message-send',
  ])('refuses the key %p with a TypeError naming it', (key) => {
    expect(() => defineHandlers({ [key]: () => undefined } as Record<string, never>)).toThrow(TypeError);
    expect(() => defineHandlers({ [key]: () => undefined } as Record<string, never>)).toThrow(`"${key}"`);
  });

  it.each([
    ['a string', 'handler'],
    ['null', null],
    ['an object', { handle: () => undefined }],
    ['undefined', undefined],
  ])('refuses a handler that is %s, naming its key', (_name, value) => {
    expect(() => defineHandlers({ 'message:send': value } as unknown as Record<string, never>)).toThrow(
      new TypeError('defineHandlers: the handler for "message:send" is not a function'),
    );
  });

  it.each(['1ST', 'SLACK-CHANNEL', 'SLACK CHANNEL', '', 'A'.repeat(129), 'clé', '$HOME'])('refuses the setting or secret name %p', (name) => {
    expect(() => defineHandlers({}, { settings: [name] })).toThrow(TypeError);
    expect(() => defineHandlers({}, { settings: [name] })).toThrow(`setting "${name}" is not a valid name`);
    expect(() => defineHandlers({}, { secrets: [name] })).toThrow(`secret "${name}" is not a valid name`);
  });

  it.each(['A', '_', 'slack_channel', 'X1', 'A'.repeat(128)])('accepts the name %p', (name) => {
    expect(defineHandlers({}, { settings: [name], secrets: [name] })).toMatchObject({ settings: [name], secrets: [name] });
  });
});

describe('handlerSetOf: what a handler module may export', () => {
  const set = defineHandlers({ 'message:send': named('send') }, { settings: ['SLACK_CHANNEL'] });

  it.each<[string, unknown]>([
    ['export default defineHandlers(...)', { __esModule: true, default: set }],
    ['export const handlers = defineHandlers(...)', { __esModule: true, handlers: set, other: 1 }],
    ['a default export nested by CommonJS interop', { default: { __esModule: true, default: set } }],
    ['module.exports = defineHandlers(...)', set],
  ])('%s: that very set', (_name, module) => {
    expect(handlerSetOf(module)).toBe(set);
  });

  it('prefers the default export to a named "handlers"', () => {
    const other = defineHandlers({ 'message:received': named('received') });
    expect(handlerSetOf({ default: set, handlers: other })).toBe(set);
  });

  it.each<[string, (plain: Record<string, unknown>) => unknown]>([
    ['export default { ... }', (plain) => ({ default: plain })],
    ['export const handlers = { ... }', (plain) => ({ handlers: plain })],
  ])('a plain object of handlers (%s): a set with no settings or secrets', (_name, wrap) => {
    const send = named('send');
    const result = handlerSetOf(wrap({ 'message:send': send, 'session:*': named('session') }));
    expect(result).toMatchObject({ kind: 'crisp-bridge.handlers', settings: [], secrets: [] });
    expect(result.handlers['message:send']).toBe(send);
    expect(nameOf(handlerFor(result, 'session:set_email'))).toBe('session');
    expect(Object.isFrozen(result)).toBe(true);
  });

  it('a plain object with a bad key or a non-function is refused as defineHandlers refuses it', () => {
    expect(() => handlerSetOf({ default: { 'message send': () => undefined } })).toThrow(/"message send" is not an event namespace/);
    expect(() => handlerSetOf({ handlers: { 'message:send': 'nope' } })).toThrow(/handler for "message:send" is not a function/);
  });

  it.each<[string, unknown]>([
    ['no export at all', {}],
    ['only other exports', { __esModule: true, version: '1.0.0' }],
    ['a default export that is a function', { default: () => undefined }],
    ['a default export that is a string', { default: 'message:send' }],
    ['undefined', undefined],
    ['null', null],
  ])('refuses a module with %s, saying what to export', (_name, module) => {
    expect(() => handlerSetOf(module)).toThrow(new TypeError('the handler module must export defineHandlers({...}) as its default export or as "handlers"'));
  });

  it('accepts a set made by another copy of the registry (a second bundle of the package)', () => {
    let otherCopy!: typeof import('../../functions/consumer/registry');
    jest.isolateModules(() => {
      otherCopy = require('../../functions/consumer/registry') as typeof import('../../functions/consumer/registry');
    });
    expect(otherCopy.defineHandlers).not.toBe(defineHandlers);
    const foreign = otherCopy.defineHandlers({ 'message:send': named('foreign') });
    expect(handlerSetOf({ default: foreign })).toBe(foreign);
  });

  it('a real module file: the tests\' recording fixture, loaded by require', () => {
    const module: unknown = require(path.join(__dirname, '..', 'fixtures', 'handlers', 'recording'));
    const loaded = handlerSetOf(module);
    expect(Object.keys(loaded.handlers).sort()).toEqual(['message:received', 'message:send']);
    expect(loaded.settings).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Types. These compile only if the types are as tight as documented; the handlers also run,
// with a stand-in context, so jest sees them do what their types say.

/** `true` only when A and B are the same type (not merely assignable: `any` fails it). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

function standInContext(requested: string[]): HandlerContext<string, string> {
  return {
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child() { return this; } },
    dedupeKey: 'v1:test',
    hookKind: 'plugin',
    deliveryAttempt: 1,
    receiveCount: 1,
    count: () => undefined,
    remainingTimeMs: () => 1000,
    crispApiEnabled: false,
    get crisp(): never {
      throw new Error('no Crisp API in this test');
    },
    settings: { SLACK_CHANNEL: '#support' },
    secrets: {
      get: async (name) => {
        requested.push(name);
        return `value of ${name}`;
      },
    },
  };
}

describe('types a handler sees (compile-time checks, run by tsc --noEmit)', () => {
  it('message:send: typed data, declared settings and secrets only', async () => {
    const seen: unknown[] = [];
    const set = defineHandlers(
      {
        'message:send': async (event, context) => {
          const sessionIsString: Equals<typeof event.data.session_id, string> = true;
          const namespaceIsExact: Equals<typeof event.event, 'message:send'> = true;
          const channel: string = context.settings.SLACK_CHANNEL;
          const key: string = await context.secrets.get('CRM_KEY');
          // @ts-expect-error UNDECLARED is not a declared setting
          const undeclaredSetting = context.settings.UNDECLARED;
          // @ts-expect-error UNDECLARED is not a declared secret
          const undeclaredSecret = await context.secrets.get('UNDECLARED');
          // @ts-expect-error session_id is a string, not a number
          const wrongType: number = event.data.session_id;
          // @ts-expect-error from is 'user' | 'operator': 'visitor' can never match
          const impossible = event.data.from === 'visitor';
          seen.push(sessionIsString, namespaceIsExact, channel, key, undeclaredSetting, undeclaredSecret, wrongType, impossible);
        },
      },
      { settings: ['SLACK_CHANNEL'], secrets: ['CRM_KEY'] },
    );
    const requested: string[] = [];
    const event = { website_id: 'w', event: 'message:send', timestamp: 1, data: { website_id: 'w', session_id: 'session_1', fingerprint: 1, from: 'user' } };
    await handlerFor(set, 'message:send')!(event as CrispEvent<never>, standInContext(requested) as HandlerContext);
    expect(seen).toEqual([true, true, '#support', 'value of CRM_KEY', undefined, 'value of UNDECLARED', 'session_1', false]);
    expect(requested).toEqual(['CRM_KEY', 'UNDECLARED']);
  });

  it('a module declaring nothing: no setting and no secret is typed; * and prefixes get data: unknown', () => {
    const set: HandlerSet<never, never> = defineHandlers({
      '*': (event, context) => {
        const dataIsUnknown: Equals<typeof event.data, unknown> = true;
        // @ts-expect-error data is unknown until narrowed
        void event.data.session_id;
        // @ts-expect-error no setting is declared
        void context.settings.SLACK_CHANNEL;
        // @ts-expect-error no secret is declared
        void context.secrets.get('CRM_KEY');
        void dataIsUnknown;
      },
      'session:*': (event) => {
        const dataIsUnknown: Equals<typeof event.data, unknown> = true;
        void dataIsUnknown;
      },
    });
    expect(Object.keys(set.handlers).sort()).toEqual(['*', 'session:*']);
  });

  it('known namespaces other than message:send get their own data type', () => {
    const set = defineHandlers({
      'people:profile:created': (event) => {
        const peopleId: Equals<typeof event.data.people_id, string> = true;
        // @ts-expect-error a people event has no session_id of type string
        const session: string = event.data.session_id;
        void peopleId;
        void session;
      },
    });
    expect(Object.keys(set.handlers)).toEqual(['people:profile:created']);
  });
});
