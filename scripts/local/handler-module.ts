/**
 * Which handler module `npm start` runs: `--handlers <file>`, else the `handlers.entry` that the
 * app's cdk.json names (what `cdk deploy` bundles), else the shipped example.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

export interface HandlerModuleChoice {
  /** Absolute path of the module. */
  file: string;
  /** Where the choice came from, for the start banner. */
  from: '--handlers' | 'cdk.json' | 'example';
}

export function chooseHandlerModule(flag: string | undefined, example: string, cwd: string = process.cwd()): HandlerModuleChoice {
  if (flag !== undefined) return { file: existingModule(path.resolve(cwd, flag), '--handlers'), from: '--handlers' };
  const cdkJson = path.join(cwd, 'cdk.json');
  if (existsSync(cdkJson)) {
    let context: { handlers?: { entry?: unknown } } | undefined;
    try {
      context = (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: typeof context }).context;
    } catch (error) {
      throw new Error(`${cdkJson} is not JSON: ${(error as Error).message}`);
    }
    const entry = context?.handlers?.entry;
    if (entry !== undefined) {
      if (typeof entry !== 'string' || entry.trim() === '') throw new Error(`${cdkJson}: context.handlers.entry must be a path to your handler module`);
      return { file: existingModule(path.resolve(cwd, entry), `${cdkJson} (context.handlers.entry)`), from: 'cdk.json' };
    }
  }
  return { file: example, from: 'example' };
}

function existingModule(file: string, source: string): string {
  if (!existsSync(file)) throw new Error(`the handler module ${file} (from ${source}) does not exist`);
  return file;
}
