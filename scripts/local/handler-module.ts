/**
 * Which handler module `npm start` runs: `--handlers <file>`, else the `handlers.entry` that the
 * app's cdk.json names (what `cdk deploy` bundles), else the shipped example.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { handlersValue } from '../../lib/config';

export interface HandlerModuleChoice {
  /** Absolute path of the module. */
  file: string;
  /**
   * The settings cdk.json gives the handlers (`handlers.environment`), each overridden by an
   * environment variable of the same name, as `npm start` passes them; none for the example.
   */
  settings: Record<string, string>;
  /** Where the choice came from, for the start banner. */
  from: '--handlers' | 'cdk.json' | 'example';
}

export function chooseHandlerModule(
  flag: string | undefined,
  example: string,
  cwd: string = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): HandlerModuleChoice {
  const cdkJson = path.join(cwd, 'cdk.json');
  let context: Record<string, unknown> | undefined;
  if (existsSync(cdkJson)) {
    try {
      context = (JSON.parse(readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context;
    } catch (error) {
      throw new Error(`${cdkJson} is not JSON: ${(error as Error).message}`);
    }
  }
  // Read as synth reads it: an object, or the entry's path alone.
  const handlers = handlersValue((key) => context?.[key]);
  const environment: unknown = handlers?.environment ?? {};
  if (typeof environment !== 'object' || environment === null || Array.isArray(environment) || Object.values(environment).some((value) => typeof value !== 'string')) {
    throw new Error(`${cdkJson}: context.handlers.environment must map setting names to strings`);
  }
  const settings = Object.fromEntries(Object.entries(environment as Record<string, string>).map(([name, value]) => [name, env[name] ?? value]));
  if (flag !== undefined) return { file: existingModule(path.resolve(cwd, flag), '--handlers'), from: '--handlers', settings };
  const entry: unknown = handlers?.entry;
  if (entry !== undefined) {
    if (typeof entry !== 'string' || entry.trim() === '') throw new Error(`${cdkJson}: context.handlers.entry must be a path to your handler module`);
    return { file: existingModule(path.resolve(cwd, entry), `${cdkJson} (context.handlers.entry)`), from: 'cdk.json', settings };
  }
  return { file: example, from: 'example', settings };
}

function existingModule(file: string, source: string): string {
  if (!existsSync(file)) throw new Error(`the handler module ${file} (from ${source}) does not exist`);
  return file;
}
