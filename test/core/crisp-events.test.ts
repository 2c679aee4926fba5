/**
 * The event types of functions/consumer/events.ts against the list they were written from: the
 * `EventsMap` interface of the installed crisp-api (a devDependency, read as text, never imported
 * by events.ts). Also type-level checks: the ones written directly below are checked by
 * `tsc --noEmit`; the `compile` tests run the TypeScript compiler from Jest, so that the
 * `CRISP_NAMESPACES` / `CrispEventDataMap` check is shown to fail when the two disagree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { CRISP_NAMESPACES, type CrispEvent, type CrispEventDataMap, type CrispNamespace, type MessageData } from '../../functions/consumer/events';

const EVENTS_TS = resolve(__dirname, '../../functions/consumer/events.ts');

/** The root of the installed crisp-api (its package.json is not exported: walk up from its entry). */
function crispApiRoot(): string {
  let dir = dirname(require.resolve('crisp-api'));
  while (!existsSync(join(dir, 'package.json')) || JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name !== 'crisp-api') {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('crisp-api: package root not found');
    dir = parent;
  }
  return dir;
}

/** The property names of `interface EventsMap` in a .ts or .d.ts source, parsed (not matched by regex). */
function eventsMapKeys(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const map = source.statements.find((node): node is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(node) && node.name.text === 'EventsMap');
  if (!map) throw new Error(`${file}: no interface EventsMap`);
  return map.members.map((member) => {
    if (!ts.isPropertySignature(member) || !(ts.isStringLiteral(member.name) || ts.isIdentifier(member.name))) {
      throw new Error(`${file}: unexpected EventsMap member ${member.getText(source)}`);
    }
    return member.name.text;
  });
}

const root = crispApiRoot();
const crispApiVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version as string;
/** The sources that declare `EventsMap`: the published declarations, and the TypeScript source when shipped. */
const eventsMapSources = [join(root, 'dist/events/Events.d.ts'), join(root, 'lib/events/Events.ts')].filter((file) => existsSync(file));

describe(`CRISP_NAMESPACES against crisp-api ${crispApiVersion}`, () => {
  it('finds EventsMap in the installed crisp-api, and its sources agree', () => {
    expect(eventsMapSources.length).toBeGreaterThan(0);
    const [first, ...others] = eventsMapSources.map(eventsMapKeys);
    for (const keys of others) expect(keys).toEqual(first);
  });

  it('lists exactly the namespaces of EventsMap (82 in crisp-api 11.3.0), each once', () => {
    const expected = eventsMapKeys(eventsMapSources[0]!);
    expect(new Set(CRISP_NAMESPACES).size).toBe(CRISP_NAMESPACES.length);
    expect([...CRISP_NAMESPACES].sort()).toEqual([...new Set(expected)].sort());
    if (crispApiVersion === '11.3.0') expect(CRISP_NAMESPACES).toHaveLength(82);
  });

  it('every namespace is lowercase segments joined by colons', () => {
    for (const namespace of CRISP_NAMESPACES) expect(namespace).toMatch(/^[a-z0-9_]+(:[a-z0-9_]+)+$/);
  });
});

// ---------------------------------------------------------------------------------------------
// Type-level checks, compiled by `tsc --noEmit` (Jest strips the types; the values are asserted
// so that they are used).

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const typeIs = <T extends true>(value: T): T => value;

describe('event types (checked by tsc)', () => {
  it('a message:send as in Crisp quick-start (no inbox_id) is a CrispEvent<"message:send">', () => {
    const quickStart: CrispEvent<'message:send'> = {
      website_id: '42286ab3-b29a-4fde-8538-da0ae501d825',
      event: 'message:send',
      timestamp: 1_700_000_000_000,
      data: {
        website_id: '42286ab3-b29a-4fde-8538-da0ae501d825',
        session_id: 'session_36ba3566-9651-4790-afc8-ffedbccc317f',
        type: 'text',
        content: 'Hello!',
        from: 'user',
        origin: 'chat',
        stamped: true,
        timestamp: 1_700_000_000_000,
        fingerprint: 163408807646062,
        user: { nickname: 'visitor', user_id: 'session_36ba3566-9651-4790-afc8-ffedbccc317f' },
        // A field this version does not know is accepted.
        preview: [],
      },
    };
    expect(quickStart.data.inbox_id).toBeUndefined();
  });

  it('identifiers are required, their types checked, other fields optional', () => {
    const minimal: CrispEventDataMap['message:received'] = { website_id: 'w', session_id: 's', fingerprint: 1 };
    // @ts-expect-error fingerprint is a number
    const wrongType: CrispEventDataMap['message:send'] = { website_id: 'w', session_id: 's', fingerprint: '1' };
    // @ts-expect-error session_id is required on a session event
    const noSession: CrispEventDataMap['session:set_email'] = { website_id: 'w', email: 'a@example.com' };
    // @ts-expect-error people_id is required on a profile event
    const noPeople: CrispEventDataMap['people:profile:created'] = { website_id: 'w' };
    const wrongEvent: CrispEvent<'message:send'> = {
      website_id: 'w',
      // @ts-expect-error the envelope's event is the namespace
      event: 'message:received',
      timestamp: 1,
      data: minimal,
    };
    const bucket: CrispEventDataMap['bucket:url:upload:generated'] = {};
    expect([minimal, wrongType, noSession, noPeople, wrongEvent, bucket]).toHaveLength(6);
  });

  it('data is typed per namespace, unknown for other namespaces', () => {
    const checks = [
      typeIs<Equal<CrispEvent<'session:set_state'>['data'], CrispEventDataMap['session:set_state']>>(true),
      typeIs<Equal<CrispEvent<'vendor:custom'>['data'], unknown>>(true),
      typeIs<Equal<CrispEvent['data'], unknown>>(true),
      typeIs<Equal<CrispNamespace, (typeof CRISP_NAMESPACES)[number]>>(true),
      // content is unknown until the message type is known...
      typeIs<Equal<MessageData['content'], unknown>>(true),
      // ...and typed for a known one.
      typeIs<Equal<MessageData<'file'>['content'], import('../../functions/consumer/events').MessageFileContent | undefined>>(true),
      typeIs<Equal<MessageData<'text'>['content'], string | undefined>>(true),
    ];
    expect(checks.every(Boolean)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// The same compiler, run from Jest on events.ts (and variants of it) in memory.

const EVENTS_SOURCE = readFileSync(EVENTS_TS, 'utf8');
const OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2024.d.ts'],
  module: ts.ModuleKind.Preserve,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  strict: true,
  noUncheckedIndexedAccess: true,
  noUnusedLocals: true,
  isolatedModules: true,
  types: [],
  noEmit: true,
};
const libCache = new Map<string, ts.SourceFile | undefined>();
const baseHost = ts.createCompilerHost(OPTIONS);

/** tsc's messages for `events.ts` as `eventsSource`, plus `snippet.ts` (which may import './events'). */
function compile(eventsSource: string, snippet = 'export {};'): string[] {
  const files = new Map([
    ['/virtual/events.ts', eventsSource],
    ['/virtual/snippet.ts', snippet],
  ]);
  const host: ts.CompilerHost = {
    ...baseHost,
    fileExists: (name) => files.has(name) || baseHost.fileExists(name),
    directoryExists: (name) => name === '/virtual' || (baseHost.directoryExists?.(name) ?? false),
    readFile: (name) => files.get(name) ?? baseHost.readFile(name),
    getSourceFile: (name, version) => {
      const text = files.get(name);
      if (text !== undefined) return ts.createSourceFile(name, text, version);
      if (!libCache.has(name)) libCache.set(name, baseHost.getSourceFile(name, version));
      return libCache.get(name);
    },
  };
  const program = ts.createProgram(['/virtual/events.ts', '/virtual/snippet.ts'], OPTIONS, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}

describe('compile: events.ts under the TypeScript compiler', () => {
  it('compiles as it is', () => {
    expect(compile(EVENTS_SOURCE)).toEqual([]);
  });

  it('fails when CRISP_NAMESPACES lacks a namespace of CrispEventDataMap, naming it', () => {
    const line = "  'plan:subscription:updated',\n";
    expect(EVENTS_SOURCE).toContain(line);
    const errors = compile(EVENTS_SOURCE.replace(line, ''));
    expect(errors.join('\n')).toContain('"plan:subscription:updated"');
  });

  it('fails when CrispEventDataMap lacks a namespace of CRISP_NAMESPACES, naming it', () => {
    const line = "  'spam:decision': SpamDecisionData;\n";
    expect(EVENTS_SOURCE).toContain(line);
    const errors = compile(EVENTS_SOURCE.replace(line, ''));
    expect(errors.join('\n')).toContain('"spam:decision"');
  });

  it('type-checks handler data: quick-start message:send accepted, a wrong field type refused', () => {
    const ok = `
      import type { CrispEvent } from './events';
      export const event: CrispEvent<'message:send'> = {
        website_id: 'w', event: 'message:send', timestamp: 1,
        data: { website_id: 'w', session_id: 's', type: 'text', content: 'Hi', from: 'user', origin: 'chat', timestamp: 1, fingerprint: 2 },
      };
      export const email: string | undefined = (null as unknown as CrispEvent<'session:set_email'>).data.email;`;
    expect(compile(EVENTS_SOURCE, ok)).toEqual([]);
    const bad = `
      import type { CrispEventDataMap } from './events';
      export const state: CrispEventDataMap['session:set_state'] = { website_id: 'w', session_id: 's', state: 42 };`;
    expect(compile(EVENTS_SOURCE, bad).join('\n')).toMatch(/Type 'number' is not assignable to type/);
  });
});
