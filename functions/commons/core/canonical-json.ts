/**
 * Canonical JSON text: the same value always gives the same string, however it was written.
 * Object keys are sorted (by UTF-16 code units), insignificant whitespace is dropped and strings
 * are re-escaped the one way `JSON.stringify` escapes them (`"\u00e9"` and `"é"` are one string).
 * Numbers keep their literal text, so integers beyond 2^53 (which `JSON.parse` would round, making
 * distinct values collide) stay distinct; only their exponent marker and sign are normalised.
 *
 * A small recursive-descent parser, because `JSON.parse` loses number literals and Node 20 has no
 * reviver source access. Throws `CanonicalJsonError` (a `SyntaxError`) on anything that is not
 * JSON, on nesting deeper than 256 levels, and on a number JSON cannot carry: a literal such as
 * `1e400` that `JSON.parse` would turn into `Infinity`, a value nobody signed.
 */

export type CanonicalJsonProblem = 'syntax' | 'too_deep' | 'non_finite_number';

export class CanonicalJsonError extends SyntaxError {
  override readonly name = 'CanonicalJsonError';
  constructor(
    readonly problem: CanonicalJsonProblem,
    message: string,
  ) {
    super(message);
  }
}

export function canonicalJson(text: string): string {
  const parser = new Parser(text);
  parser.skipWhitespace();
  const out = parser.value();
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail('unexpected text after the JSON value');
  return out;
}

/** How far the caller already checked `text` (lets the parser skip checks, never changes its output). */
export interface CanonicalOptions {
  /**
   * `JSON.parse(text)` succeeded and `text.isWellFormed()` is true: no control character can be
   * inside a string and no string holds a lone surrogate, so neither is looked for. The result
   * and the errors (too deep, a non-finite number) are the same as without it.
   */
  validWellFormedJson?: boolean;
}

/** The canonical text of each member of a top-level JSON object. Throws if `text` is not one. */
export function canonicalMembers(text: string, options: CanonicalOptions = {}): Map<string, string> {
  const parser = new Parser(text, options.validWellFormedJson === true);
  parser.skipWhitespace();
  if (text[parser.pos] !== '{') parser.fail('expected a JSON object');
  const members = parser.objectMembers();
  parser.skipWhitespace();
  if (parser.pos !== text.length) parser.fail('unexpected text after the JSON value');
  return members;
}

const NUMBER_RE = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const STRING_SPECIAL = /["\\\u0000-\u001f]/g;
const EXPONENT = /[eE]/;

class Parser {
  pos = 0;
  private depth = 0;
  /** Trusted mode: position of the next backslash at or after the last string read (Infinity: none). */
  private nextBackslash = -1;
  constructor(
    private readonly text: string,
    /** See `CanonicalOptions.validWellFormedJson`. */
    private readonly trusted = false,
  ) {}

  fail(message: string, problem: CanonicalJsonProblem = 'syntax'): never {
    throw new CanonicalJsonError(problem, `${message} at position ${this.pos}`);
  }

  skipWhitespace(): void {
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.pos += 1;
    }
  }

  value(): string {
    const c = this.text[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.stringText();
    if (c === 't') return this.literal('true');
    if (c === 'f') return this.literal('false');
    if (c === 'n') return this.literal('null');
    return this.number();
  }

  private nested<T>(parse: () => T): T {
    this.depth += 1;
    if (this.depth > 256) this.fail('JSON nested too deeply', 'too_deep');
    const result = parse();
    this.depth -= 1;
    return result;
  }

  private object(): string {
    const members = this.objectMembers();
    const keys = [...members.keys()].sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${members.get(key)}`).join(',')}}`;
  }

  objectMembers(): Map<string, string> {
    return this.nested(() => {
      this.pos += 1; // {
      const members = new Map<string, string>();
      this.skipWhitespace();
      if (this.text[this.pos] === '}') {
        this.pos += 1;
        return members;
      }
      for (;;) {
        this.skipWhitespace();
        if (this.text[this.pos] !== '"') this.fail('expected a string key');
        const key = this.string();
        this.skipWhitespace();
        if (this.text[this.pos] !== ':') this.fail('expected ":"');
        this.pos += 1;
        this.skipWhitespace();
        members.set(key, this.value()); // a repeated key keeps the last value, as JSON.parse does
        this.skipWhitespace();
        const next = this.text[this.pos];
        this.pos += 1;
        if (next === '}') break;
        if (next !== ',') this.fail('expected "," or "}"');
      }
      return members;
    });
  }

  private array(): string {
    return this.nested(() => {
      this.pos += 1; // [
      const items: string[] = [];
      this.skipWhitespace();
      if (this.text[this.pos] === ']') {
        this.pos += 1;
        return '[]';
      }
      for (;;) {
        this.skipWhitespace();
        items.push(this.value());
        this.skipWhitespace();
        const next = this.text[this.pos];
        this.pos += 1;
        if (next === ']') break;
        if (next !== ',') this.fail('expected "," or "]"');
      }
      return `[${items.join(',')}]`;
    });
  }

  /** Reads a JSON string token; returns its raw text (quotes included) and whether it has escapes. */
  private stringToken(): { raw: string; escaped: boolean } {
    if (this.trusted) return this.trustedStringToken();
    const start = this.pos;
    let i = start + 1; // after the opening quote
    let escaped = false;
    // A regex finds the next quote, backslash or control character far faster than a loop.
    for (;;) {
      STRING_SPECIAL.lastIndex = i;
      const match = STRING_SPECIAL.exec(this.text);
      if (!match) {
        this.pos = this.text.length;
        return this.fail('unterminated string');
      }
      if (match[0] === '"') {
        i = match.index + 1;
        break;
      }
      if (match[0] === '\\') {
        escaped = true;
        i = match.index + 2;
        continue;
      }
      this.pos = match.index;
      return this.fail('control character in string');
    }
    this.pos = i;
    return { raw: this.text.slice(start, i), escaped };
  }

  /**
   * `stringToken` for text known to be valid JSON: the string ends at the first quote not
   * escaped, found with `indexOf` (no control character can occur before it).
   */
  private trustedStringToken(): { raw: string; escaped: boolean } {
    const text = this.text;
    const start = this.pos;
    let end = text.indexOf('"', start + 1);
    // The next backslash, searched once per backslash rather than once per string (positions only grow).
    if (this.nextBackslash <= start) {
      const found = text.indexOf('\\', start + 1);
      this.nextBackslash = found === -1 ? Infinity : found;
    }
    const escaped = this.nextBackslash < end;
    if (escaped) {
      // A quote preceded by an odd number of backslashes is escaped: look further.
      for (;;) {
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes += 1;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
    }
    if (end === -1) {
      this.pos = text.length;
      return this.fail('unterminated string');
    }
    this.pos = end + 1;
    return { raw: text.slice(start, end + 1), escaped };
  }

  /** Reads a JSON string and returns its value. */
  private string(): string {
    const { raw, escaped } = this.stringToken();
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  /**
   * Reads a JSON string and returns its canonical text: as `JSON.stringify` writes its value.
   * Without escapes (and with no lone surrogate, which `JSON.stringify` would escape) that is
   * the raw text itself, with no decoding.
   */
  private stringText(): string {
    const { raw, escaped } = this.stringToken();
    if (!escaped && (this.trusted || raw.isWellFormed())) return raw;
    return JSON.stringify(JSON.parse(raw));
  }

  private literal(word: string): string {
    if (this.text.startsWith(word, this.pos)) {
      this.pos += word.length;
      return word;
    }
    return this.fail('unexpected token');
  }

  private number(): string {
    NUMBER_RE.lastIndex = this.pos;
    const match = NUMBER_RE.exec(this.text);
    if (!match || match[0] === '' || match[0] === '-') this.fail('unexpected token');
    const literal = match[0];
    // Only a literal with an exponent or over 308 digits can overflow a double: check just those.
    if ((literal.length > 308 || EXPONENT.test(literal)) && !Number.isFinite(Number(literal))) {
      this.fail('number too large for JSON (it would be Infinity)', 'non_finite_number');
    }
    this.pos += literal.length;
    return literal.replace('E', 'e').replace('e+', 'e');
  }
}
