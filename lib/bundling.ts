/**
 * How every function is bundled: one minified ES module per function, the AWS SDK clients
 * bundled in (tree-shaken from their ES builds) rather than taken from the runtime, so the
 * deployed code is exactly the code tested here, and a source map (file names and lines, not the
 * sources) so a stack trace in production points at the line that threw. Shared by the
 * constructs and the tests that build bundles, so both use the same settings.
 */
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { FUNCTIONS_DIR, PACKAGE_ROOT } from './package-root';

export const NODE_TARGET = 'node24';

/** ES module output needs a `require` for the CommonJS parts of dependencies. */
export const ESM_REQUIRE_BANNER = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";

/**
 * Module aliases for the Lambda bundles: the SDK's default credential chain is replaced with the
 * environment-variable provider, the only source Lambda uses (see lambda-credentials.ts). About
 * 40% smaller bundles and a faster cold start, measured by `npm run bench`.
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': path.join(FUNCTIONS_DIR, 'commons', 'aws', 'lambda-credentials.ts'),
};

/**
 * Package export condition under which `crisp-bridge` (and `crisp-bridge/handlers`) resolve to
 * the runtime-only sources: a handler module importing `defineHandlers` from the package root
 * gets no CDK in its bundle. `module` keeps the ES builds of dependencies that offer one.
 */
export const BUNDLE_CONDITIONS = ['crisp-bridge-source', 'module'];

export const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: NODE_TARGET,
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: [],
  banner: ESM_REQUIRE_BANNER,
  esbuildArgs: {
    ...Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([name, target]) => [`--alias:${name}`, target])),
    '--conditions': BUNDLE_CONDITIONS.join(','),
  },
};

const LOCK_FILES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock'];

function findUp(names: string[], from: string): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    for (const name of names) if (existsSync(path.join(dir, name))) return path.join(dir, name);
    if (path.dirname(dir) === dir) return undefined;
  }
}

function commonAncestor(paths: string[]): string {
  const split = paths.map((p) => path.resolve(p).split(path.sep));
  const common: string[] = [];
  for (let i = 0; split.every((parts) => parts[i] !== undefined && parts[i] === split[0]![i]); i += 1) common.push(split[0]![i]!);
  return common.join(path.sep) || path.sep;
}

/**
 * `projectRoot` and `depsLockFilePath` for NodejsFunction: the app's lock file (found from where
 * `cdk` runs, else crisp-bridge's own), and a root holding it, the entry and crisp-bridge's
 * sources (which may sit outside the app when the package is linked rather than installed).
 */
export function bundlingPaths(entry: string): { projectRoot: string; depsLockFilePath: string } {
  const lock = findUp(LOCK_FILES, process.cwd()) ?? findUp(LOCK_FILES, PACKAGE_ROOT);
  if (!lock) throw new Error('crisp-bridge: no lock file (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lock) found from the current directory');
  return { depsLockFilePath: lock, projectRoot: commonAncestor([path.dirname(lock), path.dirname(entry), PACKAGE_ROOT]) };
}
