/**
 * Where crisp-bridge's own files are: the package root (this repository, or
 * `node_modules/crisp-bridge` in an app that installed the package) and the functions' TypeScript
 * sources under it, which `NodejsFunction` bundles with the app's esbuild. Found by walking up
 * to crisp-bridge's package.json, so it holds for the sources (lib/) and the compiled package
 * (dist/lib/) alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'crisp-bridge') return dir;
    if (path.dirname(dir) === dir) throw new Error(`crisp-bridge: cannot find its package.json above ${from}`);
  }
}

export const PACKAGE_ROOT = findPackageRoot(__dirname);

/** The functions' sources: `functions/<name>/handler.ts`, shared code in `functions/commons/`. */
export const FUNCTIONS_DIR = path.join(PACKAGE_ROOT, 'functions');
