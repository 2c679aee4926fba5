/**
 * Lambda's Node.js, on this machine: the functions run on Node.js 24 in Lambda, so the benchmark
 * and the bundle smoke tests (test/e2e/bundles.test.ts) run the bundles on a Node 24 binary,
 * whatever Node runs the harness. Found, in order: an explicit path (`--node`, `LAMBDA_NODE`, or
 * the benchmark's older `BENCH_NODE`), then the npm registry's Node package for this platform
 * (`node-<platform>-<arch>@24`) installed under `bench/.node24` (git-ignored), fetched with npm
 * when absent and allowed. Nothing here runs at deploy time.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

export const LAMBDA_NODE_MAJOR = 24;
const ROOT = path.join(__dirname, '..');
const PREFIX = path.join(ROOT, 'bench', '.node24');

export type LambdaNode = { found: true; path: string; version: string; source: string } | { found: false; message: string };

/** `node --version` of a binary, or undefined when it does not run. */
export function nodeVersion(file: string): string | undefined {
  const result = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

export interface LambdaNodeOptions {
  /** An explicit binary (e.g. the benchmark's `--node`): used as it is, whatever its version. */
  explicit?: string;
  /** Fetch the npm package when it is not installed yet. Default true. */
  fetch?: boolean;
  /** Progress lines (the fetch takes a few seconds). */
  log?: (line: string) => void;
}

export function lambdaNode(options: LambdaNodeOptions = {}): LambdaNode {
  const explicit = options.explicit ?? process.env.LAMBDA_NODE ?? process.env.BENCH_NODE;
  if (explicit) {
    const version = nodeVersion(explicit);
    const from = options.explicit ? '--node' : process.env.LAMBDA_NODE ? 'LAMBDA_NODE' : 'BENCH_NODE';
    return version ? { found: true, path: explicit, version, source: from } : { found: false, message: `${explicit} (${from}) does not run` };
  }
  const pkg = `node-${process.platform}-${process.arch}`;
  const binary = path.join(PREFIX, 'node_modules', pkg, process.platform === 'win32' ? 'node.exe' : path.join('bin', 'node'));
  let fetchProblem = '';
  if (!existsSync(binary) && options.fetch !== false) {
    options.log?.(`fetching Node.js ${LAMBDA_NODE_MAJOR} (Lambda's): npm install --no-save --prefix bench/.node24 ${pkg}@${LAMBDA_NODE_MAJOR}`);
    const npm = spawnSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefix', PREFIX, `${pkg}@${LAMBDA_NODE_MAJOR}`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 300_000,
    });
    if (npm.status !== 0) fetchProblem = `: npm install failed (${(npm.stderr || npm.stdout || String(npm.error)).trim().split('\n').slice(-3).join(' / ')})`;
  }
  const version = existsSync(binary) ? nodeVersion(binary) : undefined;
  if (version?.startsWith(`v${LAMBDA_NODE_MAJOR}.`)) return { found: true, path: binary, version, source: `npm package ${pkg}@${LAMBDA_NODE_MAJOR} in bench/.node24` };
  return {
    found: false,
    message: `no Node.js ${LAMBDA_NODE_MAJOR} for ${process.platform}-${process.arch}${fetchProblem || (version ? ` (bench/.node24 holds ${version})` : '')}; set LAMBDA_NODE to one`,
  };
}
