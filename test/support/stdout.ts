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
