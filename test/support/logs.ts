import type { Logger } from '../../functions/commons/logger';
import { createLogger } from '../../functions/commons/logger';

/** A real logger writing into an array, and the parsed lines. */
export function captureLogger(): { logger: Logger; lines: string[]; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const logger = createLogger({ level: 'DEBUG', write: (line) => lines.push(line), dimensions: { service: 'test' } });
  return { logger, lines, entries: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}
