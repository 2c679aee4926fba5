/**
 * Finds the function bundles in a synthesized cloud assembly (`npx cdk synth -o <dir>`), so the
 * local stack can run exactly what would be deployed.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTION_METADATA_KEY } from '../../lib/constructs/bridge-function';
import type { FunctionName } from './stack';

export function bundlesFromAssembly(assemblyDir: string): Record<FunctionName, string> {
  const templates = readdirSync(assemblyDir).filter((file) => file.endsWith('.template.json'));
  const found: Partial<Record<FunctionName, string>> = {};
  for (const file of templates) {
    const template = JSON.parse(readFileSync(path.join(assemblyDir, file), 'utf8')) as { Resources?: Record<string, { Type: string; Metadata?: Record<string, unknown> }> };
    for (const resource of Object.values(template.Resources ?? {})) {
      const name = resource.Metadata?.[FUNCTION_METADATA_KEY] as FunctionName | undefined;
      const asset = resource.Metadata?.['aws:asset:path'];
      if (resource.Type !== 'AWS::Lambda::Function' || !name || typeof asset !== 'string') continue;
      const bundle = path.resolve(assemblyDir, asset, 'index.mjs');
      if (!existsSync(bundle)) throw new Error(`${name}: no bundle at ${bundle}`);
      found[name] = bundle;
    }
  }
  for (const name of ['ticket-center-url', 'hook-receiver', 'consumer'] as const) {
    if (!found[name]) throw new Error(`no bundle for ${name} in ${assemblyDir}: synthesize with npx cdk synth -o ${assemblyDir} first`);
  }
  return found as Record<FunctionName, string>;
}
