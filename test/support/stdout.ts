/**
 * Captures what the functions log (they write JSON lines to stdout) into `into`, without
 * printing it. The caller restores `process.stdout.write` when done.
 */
export function interceptStdout(into: string[]): void {
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    callback?.();
    return true;
  }) as typeof process.stdout.write;
}

/** The JSON log lines in captured output (other lines, like banners, are skipped). */
export function parseJsonLines(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, any>];
      } catch {
        return [];
      }
    });
}

export interface CapturedStdout {
  /** What the current test wrote to stdout. */
  text(): string;
  /** What every test of the file has written so far (for "never logged" checks in afterAll). */
  allText(): string;
  /** The current test's JSON log lines. */
  logs(): Array<Record<string, any>>;
  /** The current test's lines with this `message` (and, if given, this `dedupeKey`). */
  linesFor(message: string, dedupeKey?: string): Array<Record<string, any>>;
}

/**
 * Swallows stdout in each test of the calling file (a `jest.spyOn`, registered in its own
 * `beforeEach`/`afterEach`) and keeps it for the test's assertions. Call once, at the top level.
 */
export function captureTestStdout(): CapturedStdout {
  let current: string[] = [];
  const all: string[] = [];
  let spy: jest.SpyInstance | undefined;
  beforeEach(() => {
    current = [];
    spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      current.push(text);
      all.push(text);
      return true;
    });
  });
  afterEach(() => spy?.mockRestore());
  const logs = () =>
    current
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, any>);
  return {
    text: () => current.join(''),
    allText: () => all.join(''),
    logs,
    linesFor: (message, dedupeKey) => logs().filter((line) => line.message === message && (dedupeKey === undefined || line.dedupeKey === dedupeKey)),
  };
}
