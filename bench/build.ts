/**
 * Builds what the benchmark measures, with the same esbuild settings as the deployed functions
 * (lib/bundling.ts): ours from functions/, the alternatives from bench/alternatives/.
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUNDLE_ALIASES, BUNDLING, ESM_REQUIRE_BANNER, NODE_TARGET } from '../lib/bundling';

export const ROOT = path.join(__dirname, '..');
export const OUT = path.join(ROOT, 'bench', '.out');

/** The SDK clients the consumer's first request never needs, replaced for the "lean" reference bundle. */
const ABSENT_CLIENTS = Object.fromEntries(
  ['@aws-sdk/client-sqs', '@aws-sdk/client-eventbridge', '@aws-sdk/client-secrets-manager'].map((name) => [name, path.join(__dirname, 'reference', 'absent-client.ts')]),
);

export interface Built {
  name: string;
  file: string;
  /** The bundle alone (.mjs). */
  bytes: number;
  gzipBytes: number;
  /** Its source map (.mjs.map), shipped next to it when BUNDLING.sourceMap is on; 0 otherwise. */
  mapBytes: number;
  mapGzipBytes: number;
}

/** esbuild options equivalent to the CDK `BUNDLING` settings. */
function options(entry: string, outfile: string, aliases: Record<string, string>) {
  return {
    alias: aliases,
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: NODE_TARGET,
    minify: BUNDLING.minify ?? false,
    sourcemap: BUNDLING.sourceMap ?? false,
    sourcesContent: BUNDLING.sourcesContent ?? true,
    mainFields: BUNDLING.mainFields ?? ['module', 'main'],
    banner: { js: BUNDLING.banner ?? ESM_REQUIRE_BANNER },
    logLevel: 'error' as const,
  };
}

export async function buildAll(): Promise<Record<string, Built>> {
  mkdirSync(OUT, { recursive: true });
  const entries: Record<string, string> = {
    'ours:signer': 'functions/ticket-center-url/handler.ts',
    'ours:receiver': 'functions/hook-receiver/handler.ts',
    'ours:consumer': 'functions/consumer/handler.ts',
    'alt:signer': 'bench/alternatives/powertools-signer.ts',
    'alt:receiver': 'bench/alternatives/express-receiver.ts',
    'alt:consumer': 'bench/alternatives/powertools-consumer.ts',
    // References, not alternatives: the SDK floor under both consumers (the same DynamoDB
    // requests and nothing else), and ours without the SDK clients its first request never needs.
    'floor:consumer': 'bench/reference/sdk-floor-consumer.ts',
    'lean:consumer': 'functions/consumer/handler.ts',
    // Ours without the bundle aliases: what the credential-chain alias saves.
    'base:signer': 'functions/ticket-center-url/handler.ts',
    'base:receiver': 'functions/hook-receiver/handler.ts',
    'base:consumer': 'functions/consumer/handler.ts',
    // Not a function: the micro-benchmarks (verification, dedupe key, the SDK's SendMessage),
    // bundled so that they run on the functions' Node, in a child.
    'micro:core': 'bench/child/micro.ts',
    // Not a function either: the capacity model's local check (1, 2 and 4 pollers draining a queue).
    'child:throughput': 'bench/child/throughput.ts',
  };
  const built: Record<string, Built> = {};
  for (const [name, entry] of Object.entries(entries)) {
    const file = path.join(OUT, `${name.replace(':', '-')}.mjs`);
    // Ours (and the references) with the deployed aliases; the alternatives as their authors ship them (default chain).
    const deployed = ['ours:', 'micro:', 'child:', 'floor:', 'lean:'].some((prefix) => name.startsWith(prefix));
    await build(options(path.join(ROOT, entry), file, name.startsWith('lean:') ? { ...BUNDLE_ALIASES, ...ABSENT_CLIENTS } : deployed ? BUNDLE_ALIASES : {}));
    const bytes = statSync(file).size;
    const map = `${file}.map`;
    const mapBytes = existsSync(map) ? statSync(map).size : 0;
    const mapGzipBytes = mapBytes ? gzipSync(readFileSync(map)).length : 0;
    built[name] = { name, file, bytes, gzipBytes: gzipSync(readFileSync(file)).length, mapBytes, mapGzipBytes };
  }
  return built;
}
