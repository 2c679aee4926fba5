/**
 * Canonical JSON: one string per JSON value, however the value was written (key order,
 * whitespace, string escapes), with number literals kept so big integers stay distinct. The
 * dedupe key is made of it, so a difference here is a duplicate run or a lost event.
 */
import fc from 'fast-check';
import { CanonicalJsonError, canonicalJson, canonicalMembers } from '../../functions/commons/core/canonical-json';

describe('canonicalJson: the same value gives the same text', () => {
  it('sorts object keys, at every depth', () => {
    expect(canonicalJson('{"b":1,"a":{"z":true,"y":[{"d":null,"c":"x"}]}}')).toBe('{"a":{"y":[{"c":"x","d":null}],"z":true},"b":1}');
    expect(canonicalJson('{"a":{"y":[{"c":"x","d":null}],"z":true},"b":1}')).toBe(canonicalJson('{"b":1,"a":{"z":true,"y":[{"d":null,"c":"x"}]}}'));
  });

  it('sorts keys by UTF-16 code units (as Array.prototype.sort does), not by code points or locale', () => {
    // "😀" is U+1F600 but its first code unit 0xD83D sorts before U+FB00 ("ﬀ").
    const text = '{"ﬀ":6,"😀":5,"é":4,"z":3,"a":2,"Z":1}';
    expect(canonicalJson(text)).toBe('{"Z":1,"a":2,"z":3,"é":4,"😀":5,"ﬀ":6}');
  });

  it('keeps the order of array items', () => {
    expect(canonicalJson('[3,1,2]')).toBe('[3,1,2]');
    expect(canonicalJson('[3,1,2]')).not.toBe(canonicalJson('[1,2,3]'));
  });

  it('drops insignificant whitespace (space, tab, CR, LF) but keeps whitespace inside strings', () => {
    const pretty = ' \t\r\n{ "a" :\n [ 1 ,\t2 ] ,\r\n "b" : "x  y" } \n';
    expect(canonicalJson(pretty)).toBe('{"a":[1,2],"b":"x  y"}');
    expect(canonicalJson(JSON.stringify({ b: 'x  y', a: [1, 2] }, null, 2))).toBe('{"a":[1,2],"b":"x  y"}');
  });

  it('re-escapes strings one way: "\\u00e9" and "é" are one string, "\\/" is "/"', () => {
    expect(canonicalJson('"\\u00e9"')).toBe('"é"');
    expect(canonicalJson('"é"')).toBe('"é"');
    expect(canonicalJson('{"caf\\u00e9":"\\u00e9t\\u00e9"}')).toBe(canonicalJson('{"café":"été"}'));
    expect(canonicalJson('"a\\/b"')).toBe('"a/b"');
    expect(canonicalJson('"\\ud83d\\udce6"')).toBe('"📦"');
    expect(canonicalJson('"\\u0041\\u000A"')).toBe('"A\\n"');
  });

  it('escapes what must be escaped the way JSON.stringify does', () => {
    expect(canonicalJson('"quote \\" backslash \\\\ tab \\t nul \\u0000 unit-sep \\u001f"')).toBe(
      JSON.stringify('quote " backslash \\ tab \t nul \u0000 unit-sep \u001f'),
    );
    expect(canonicalJson('"\\b\\f\\n\\r"')).toBe('"\\b\\f\\n\\r"');
  });

  it('keeps number literals: integers beyond 2^53 stay distinct', () => {
    // JSON.parse rounds both to the same double: a key made from it would merge two events.
    expect(JSON.parse('12345678901234567890')).toBe(JSON.parse('12345678901234567891'));
    expect(canonicalJson('12345678901234567890')).toBe('12345678901234567890');
    expect(canonicalJson('{"n":12345678901234567890}')).not.toBe(canonicalJson('{"n":12345678901234567891}'));
    expect(canonicalJson('{"n":12345678901234567890}')).toBe('{"n":12345678901234567890}');
  });

  it('normalises only the exponent marker and the exponent sign: 1E+5, 1e+5, 1E5 and 1e5 are one literal', () => {
    for (const literal of ['1E+5', '1e+5', '1E5', '1e5']) expect(canonicalJson(literal)).toBe('1e5');
    expect(canonicalJson('2.5E-3')).toBe('2.5e-3');
    expect(canonicalJson('-0')).toBe('-0');
    expect(canonicalJson('-1.25')).toBe('-1.25');
  });

  it('a repeated key keeps the last value, as JSON.parse does', () => {
    expect(JSON.parse('{"a":1,"a":2}')).toEqual({ a: 2 });
    expect(canonicalJson('{"a":1,"b":0,"a":2}')).toBe('{"a":2,"b":0}');
    expect(canonicalJson('{"a":{"x":1},"a":{"y":2}}')).toBe('{"a":{"y":2}}');
  });

  it('accepts scalars, empty containers and literals', () => {
    expect(canonicalJson('true')).toBe('true');
    expect(canonicalJson('false')).toBe('false');
    expect(canonicalJson(' null ')).toBe('null');
    expect(canonicalJson('{ }')).toBe('{}');
    expect(canonicalJson('[ ]')).toBe('[]');
    expect(canonicalJson('""')).toBe('""');
    expect(canonicalJson('0')).toBe('0');
  });

  it('means the same value as JSON.parse for ordinary JSON', () => {
    const samples = [
      { website_id: 'w', event: 'message:send', data: { content: 'Héllo "you" \\ 📦', n: [1, -2.5, 3e-7, true, null, {}], nested: { b: { d: 1, c: 2 } } }, timestamp: 1700000000000 },
      [[], [{}], [[[]]], ''],
      { '': 0, ' ': 1, '\u0000': 2, '\ud800': 'lone surrogate' },
    ];
    const sortKeys = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(sortKeys)
        : value && typeof value === 'object'
          ? Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]))
          : value;
    for (const sample of samples) {
      const canonical = canonicalJson(JSON.stringify(sample, null, 3));
      expect(JSON.parse(canonical)).toEqual(sample);
      expect(canonical).toBe(JSON.stringify(sortKeys(sample)));
    }
  });

  it('accepts nesting up to 256 levels and refuses deeper with a SyntaxError', () => {
    const nest = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(canonicalJson(nest(256))).toBe(nest(256));
    expect(() => canonicalJson(nest(257))).toThrow(SyntaxError);
    expect(() => canonicalJson(nest(100_000))).toThrow(/nested too deeply/);
    const objects = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    expect(canonicalJson(objects(256))).toBe(objects(256));
    expect(() => canonicalJson(objects(257))).toThrow(SyntaxError);
    expect(() => canonicalJson(objects(257))).toThrow(expect.objectContaining({ problem: 'too_deep' }));
  });

  // JSON.parse reads these as Infinity or -Infinity: values no signer wrote (JSON.stringify writes null).
  it.each([['1e400'], ['-1e400'], ['1E+309'], ['9'.repeat(309) + '.0'], ['{"a":[1,2e999]}'], ['1' + '0'.repeat(400)]])(
    '%s is refused as a number JSON cannot carry',
    (text) => {
      expect(() => canonicalJson(text)).toThrow(CanonicalJsonError);
      expect(() => canonicalJson(text)).toThrow(expect.objectContaining({ problem: 'non_finite_number' }));
    },
  );

  it.each([['1e308'], ['-1.7976931348623157e308'], ['1e-400'], ['0e999'], ['9'.repeat(308)]])('%s is a finite number and kept', (text) => {
    expect(canonicalJson(text)).toBe(text);
  });
});

describe('canonicalJson: anything that is not JSON throws a SyntaxError', () => {
  it.each([
    ['empty text', ''],
    ['only whitespace', '  \n'],
    ['a trailing comma in an object', '{"a":1,}'],
    ['a trailing comma in an array', '[1,2,]'],
    ['a leading comma', '[,1]'],
    ['a missing comma', '[1 2]'],
    ['a leading zero', '01'],
    ['a leading zero inside an array', '[01]'],
    ['a negative leading zero', '-01'],
    ['a bare minus', '-'],
    ['a leading plus', '+1'],
    ['a leading dot', '.5'],
    ['a trailing dot', '1.'],
    ['an exponent without digits', '1e'],
    ['hex', '0x10'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['an unterminated string', '"abc'],
    ['an unterminated string ending in a backslash', '"abc\\'],
    ['an unterminated string inside an object', '{"a":"b}'],
    ['a raw newline in a string', '"a\nb"'],
    ['a raw tab in a string', '"a\tb"'],
    ['a raw NUL in a string', '"a\u0000b"'],
    ['an invalid escape', '"\\x41"'],
    ['a short unicode escape', '"\\u00e"'],
    ['a single-quoted string', "'a'"],
    ['an unquoted key', '{a:1}'],
    ['a missing colon', '{"a" 1}'],
    ['an unterminated object', '{"a":1'],
    ['an unterminated array', '[1'],
    ['a misspelt literal', 'tru'],
    ['text after the value', '{"a":1} x'],
    ['two values', '1 2'],
    ['a non-breaking space as whitespace', '\u00a0{}'],
    ['a comment', '{"a":1 /* no */}'],
  ])('%s', (_, text) => {
    expect(() => JSON.parse(text)).toThrow(SyntaxError); // the reference agrees it is not JSON
    expect(() => canonicalJson(text)).toThrow(SyntaxError);
  });

  it('names the position in the error', () => {
    expect(() => canonicalJson('{"a":1,}')).toThrow(/at position \d+/);
  });
});

describe('canonicalMembers: the canonical text of each top-level member', () => {
  it('maps each member name to its canonical value text', () => {
    const members = canonicalMembers(' {"data": {"b": 2, "a": "\\u00e9"}, "event":"message:send", "n": 12345678901234567891, "e": 1E+2 } ');
    expect(Object.fromEntries(members)).toEqual({
      data: '{"a":"é","b":2}',
      event: '"message:send"',
      n: '12345678901234567891',
      e: '1e2',
    });
  });

  it('keeps the last of a repeated member', () => {
    expect(canonicalMembers('{"a":1,"b":2,"a":3}').get('a')).toBe('3');
    expect(canonicalMembers('{"a":1,"b":2,"a":3}').size).toBe(2);
  });

  it('decodes escaped member names', () => {
    expect([...canonicalMembers('{"caf\\u00e9":1,"a\\/b":2}').keys()].sort()).toEqual(['a/b', 'café']);
  });

  it('is empty for an empty object', () => {
    expect(canonicalMembers('{}').size).toBe(0);
  });

  it.each([
    ['an array', '[1]'],
    ['a string', '"x"'],
    ['a number', '1'],
    ['null', 'null'],
    ['empty text', ''],
    ['an unterminated object', '{"a":1'],
    ['a trailing comma', '{"a":1,}'],
    ['text after the object', '{"a":1}{}'],
    ['a leading zero in a member', '{"a":01}'],
    ['too deep a member', `{"a":${'['.repeat(300)}${']'.repeat(300)}}`],
  ])('throws a SyntaxError for %s', (_, text) => {
    expect(() => canonicalMembers(text)).toThrow(SyntaxError);
  });
});

// The fast path for strings without escapes must give exactly what JSON.stringify gives.
describe('canonicalJson matches a sorted JSON.stringify for any JSON value without exotic numbers', () => {
  const sortedStringify = (value: unknown): string => {
    if (Array.isArray(value)) return `[${value.map(sortedStringify).join(',')}]`;
    if (value !== null && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      return `{${Object.keys(record).sort().map((key) => `${JSON.stringify(key)}:${sortedStringify(record[key])}`).join(',')}}`;
    }
    return JSON.stringify(value);
  };
  it('holds for random values (fast-check), including lone surrogates and control characters in strings', () => {
    const value = fc.jsonValue({ maxDepth: 4 }).filter((v) => !JSON.stringify(v).match(/[0-9][eE]|\.[0-9]*0[,\]}]|-0[,\]}]|[0-9]{16,}|0\.0{6,}/));
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string());
    fc.assert(
      fc.property(fc.oneof(value, text.map((s) => ({ s, n: [s] }))), (v) => {
        const json = JSON.stringify(v);
        expect(canonicalJson(json)).toBe(sortedStringify(JSON.parse(json)));
      }),
      { numRuns: 500 },
    );
  });
});
