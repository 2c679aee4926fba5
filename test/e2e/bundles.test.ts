/**
 * What is deployed is what is tested: the app is synthesized with the real CDK CLI, and the
 * function bundles CDK built (the `index.mjs` files that would be uploaded to Lambda) run in
 * the local stack (`npm start -- --bundles <cdk.out>`, a child process) instead of the
 * TypeScript sources. A smoke subset of the end-to-end tests then runs over HTTP against it.
 *
 * That the child runs the bundles, and only them, is checked from the inside: a module-load
 * hook (`--import`, Node's `module.register`) records every file the child loads; the three
 * bundles must be there and no file under `functions/`.
 *
 * The child runs on Lambda's Node.js 24 (scripts/lambda-node.ts: `LAMBDA_NODE`, else the npm
 * registry's Node package, fetched into bench/.node24), whatever Node runs jest. In CI one must be
 * had; elsewhere, without one, the bundles run on this Node and the suite says so loudly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { type LambdaNode, lambdaNode } from '../../scripts/lambda-node';
import { bundlesFromAssembly } from '../../scripts/local/bundles';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { opensslHmacSha256 } from '../support/openssl';
import { parseJsonLines } from '../support/stdout';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const TICKET_CENTER_SECRET = 'bundles-e2e-ticket-center-secret-3d9a';
const HOOK_SECRET = 'bundles-e2e-hook-secret-6f1c2b8e90a4';
const WEBSITE_HOOK_KEY = 'bundles-e2e-website-hook-key-51e7';

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `crisp-bridge-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

let assemblyDir: string;
let localDir: string;
let loadLog: string;
let bundles: Record<string, string>;
let server: ChildProcess | undefined;
let serverExit: Promise<unknown> | undefined;
let serverOutput = '';
let baseUrl = '';
let functionsNode: LambdaNode;

/** A clean operator environment: nothing from this process's AWS or stack settings. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_') || /^(PORT|NODE_OPTIONS|CRISP_.*|TICKET_CENTER_.*|HOOK_.*|ALLOWED_ORIGINS)$/.test(name)) delete env[name];
  }
  return { ...env, CRISP_BRIDGE_LOCAL_DIR: localDir, ...extra };
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: options.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(command)} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every JSON line the child wrote to stdout so far. */
function serverLogs(): Array<Record<string, any>> {
  return parseJsonLines(serverOutput);
}

const processedLines = (key: string) => serverLogs().filter((line) => line.message === 'crisp event processed' && line.dedupeKey === key);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (probe()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the server said:\n${serverOutput}`);
}

/** Records every file the process loads through the ES module loader (how the stack loads the functions). */
function writeLoadHook(dir: string): string {
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      'export async function load(url, context, nextLoad) {',
      "  if (process.env.LOAD_LOG && url.startsWith('file:')) appendFileSync(process.env.LOAD_LOG, url + '\\n');",
      '  return nextLoad(url, context);',
      '}',
    ].join('\n'),
  );
  const preload = path.join(dir, 'preload.mjs');
  // The process's Node version goes first into the log, for the test that it is Lambda's.
  writeFileSync(
    preload,
    "import { appendFileSync } from 'node:fs';\nimport { register } from 'node:module';\n" +
      "if (process.env.LOAD_LOG) appendFileSync(process.env.LOAD_LOG, 'node ' + process.version + '\\n');\n" +
      "register('./hooks.mjs', import.meta.url);\n",
  );
  return preload;
}

beforeAll(async () => {
  assemblyDir = tempDir('bundles-cdk-out');
  localDir = tempDir('bundles-local');
  const hookDir = tempDir('bundles-load-hook');
  loadLog = path.join(hookDir, 'loaded.txt');
  const preload = writeLoadHook(hookDir);

  const synth = await run(
    CDK,
    ['synth', '-q', '-o', assemblyDir, '-c', `websiteId=${WEBSITE_ID}`, '-c', 'jwtIssuer=https://issuer.example.com/', '-c', 'jwtAudience=app'],
    { timeoutMs: 120_000 },
  );
  if (synth.code !== 0) throw new Error(`cdk synth failed (${synth.code}):\n${synth.stderr}`);
  bundles = bundlesFromAssembly(assemblyDir);

  functionsNode = lambdaNode();
  if (!functionsNode.found) {
    if (process.env.CI) throw new Error(`the bundle smoke tests run on Lambda's Node.js 24, and ${functionsNode.message}`);
    console.warn(`\n${'!'.repeat(80)}\nbundles.test.ts: ${functionsNode.message}: the bundles run on this Node (${process.version}) instead\n${'!'.repeat(80)}\n`);
  }
  // tsx loads the local stack's own TypeScript; the functions are the bundles.
  const command = functionsNode.found ? functionsNode.path : process.execPath;
  const child = spawn(command, ['--import', 'tsx', 'scripts/start.ts', '--bundles', assemblyDir], {
    cwd: ROOT,
    env: childEnv({
      PORT: '0',
      TICKET_CENTER_SECRET,
      CRISP_HOOK_SECRET: HOOK_SECRET,
      CRISP_WEBSITE_HOOK_KEY: WEBSITE_HOOK_KEY,
      CRISP_WEBSITE_ID: WEBSITE_ID,
      NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`,
      LOAD_LOG: loadLog,
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server = child;
  serverExit = new Promise((resolve) => child.once('exit', resolve));
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (serverOutput += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (serverOutput += chunk));
  child.once('exit', (code) => (serverOutput += `\n[exited with ${code}]\n`));
  await waitFor('the start banner', () => /listening on http:\/\/127\.0\.0\.1:\d+/.test(serverOutput) && serverOutput.includes('running the bundles of'), 30_000);
  baseUrl = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(serverOutput)![1]!;
}, 170_000);

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const exited = await Promise.race([serverExit, new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 10_000)))]);
    clearTimeout(timer);
    if (exited === 'timeout') {
      server.kill('SIGKILL');
      await serverExit;
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}, 20_000);

describe('the synthesized app', () => {
  test('has a bundle (index.mjs) for each of the three functions, inside the cloud assembly', () => {
    expect(Object.keys(bundles).sort()).toEqual(['consumer', 'hook-receiver', 'ticket-center-url']);
    for (const bundle of Object.values(bundles)) {
      expect(path.basename(bundle)).toBe('index.mjs');
      expect(bundle.startsWith(assemblyDir + path.sep)).toBe(true);
      expect(existsSync(bundle)).toBe(true);
    }
    expect(new Set(Object.values(bundles)).size).toBe(3);
  });

  test('the local stack runs those bundles: the banner says so', () => {
    expect(serverOutput).toContain(`running the bundles of ${assemblyDir}`);
    expect(baseUrl).not.toBe('http://127.0.0.1:0');
  });

  test("on Lambda's Node.js 24 (when one could be had: in CI it must)", () => {
    const version = /^node (v\S+)$/m.exec(readFileSync(loadLog, 'utf8'))?.[1];
    if (functionsNode.found) expect(version).toBe(functionsNode.version);
    expect(version).toMatch(functionsNode.found || process.env.CI ? /^v24\./ : /^v\d+\./);
  });
});

describe('smoke tests against the bundles, over HTTP', () => {
  test('a token from npm run token gets a signed URL whose hmac is openssl\'s', async () => {
    const email = 'bundles+smoke@example.com';
    const token = await run(TSX, ['scripts/token.ts', '--email', email], { timeoutMs: 30_000 });
    expect(token.code).toBe(0);
    const res = await fetch(`${baseUrl}/ticket-center/url`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
    expect(res.status).toBe(200);
    const url = new URL(((await res.json()) as { url: string }).url);
    expect(url.pathname).toBe(`/urn:crisp.im:ticket-center:0/tickets/${WEBSITE_ID}`);
    expect(url.searchParams.get('email')).toBe(email);
    expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256(TICKET_CENTER_SECRET, email));
  }, 30_000);

  test('no token: 401', async () => {
    const res = await fetch(`${baseUrl}/ticket-center/url`);
    expect(res.status).toBe(401);
  });

  test('a signed hook: 200 and processed once; the same hook again: 200 and a duplicate; a tampered hook: 401', async () => {
    const body = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
    const timestamp = String(JSON.parse(body).timestamp);
    const key = dedupeKey(body);
    const send = async (attempt: number, sentBody = body) => {
      const headers = hookHeaders({ body, timestamp, attempt, attemptLimit: 3, secret: HOOK_SECRET });
      expect(headers['x-crisp-signature']).toBe(opensslHmacSha256(HOOK_SECRET, `[${timestamp};${body}]`));
      const res = await fetch(`${baseUrl}/hooks/crisp`, { method: 'POST', headers, body: sentBody });
      return { status: res.status, json: (await res.json()) as any };
    };

    expect(await send(1)).toEqual({ status: 200, json: { ok: true } });
    await waitFor('the event processed', () => processedLines(key).length >= 1);
    expect(processedLines(key)).toEqual([expect.objectContaining({ duplicate: false, event: 'message:send', website_id: WEBSITE_ID, attempt: 1 })]);

    expect(await send(2)).toEqual({ status: 200, json: { ok: true } });
    await waitFor('the duplicate acknowledged', () => processedLines(key).length >= 2);
    await sleep(500);
    expect(processedLines(key).map((line) => [line.duplicate, line.attempt])).toEqual([
      [false, 1],
      [true, 2],
    ]);

    // Same headers (the signature of the original), one character of the body changed.
    const tampered = body.replace('"website_id"', '"website_iD"');
    expect(tampered).not.toBe(body);
    const refused = await send(3, tampered);
    expect({ status: refused.status, code: refused.json?.error?.code }).toEqual({ status: 401, code: 'signature_mismatch' });
    await sleep(300);
    expect(processedLines(key)).toHaveLength(2);
    expect(serverLogs().filter((line) => line.message === 'hook accepted')).toHaveLength(2);
  }, 30_000);

  test('the child loaded the three bundles and no function source (checked last, once every function has run)', () => {
    const loaded = readFileSync(loadLog, 'utf8').split('\n').filter(Boolean);
    for (const bundle of Object.values(bundles)) expect(loaded).toContain(pathToFileURL(bundle).href);
    const functionsDir = pathToFileURL(path.join(ROOT, 'functions')).href + '/';
    // The local stack's own tooling imports two pure modules of functions/commons (the Crisp
    // stand-in's logger, the configuration's Crisp URL check). Nothing else of functions/ may be
    // loaded from source: no handler, use case or AWS adapter.
    const TOOLING = /^commons\/(logger|core\/crisp-api)\.ts$/;
    const sources = loaded.filter((url) => url.startsWith(functionsDir)).map((url) => url.slice(functionsDir.length));
    expect(sources.filter((file) => !TOOLING.test(file))).toEqual([]);
    // The hook is live: the start script itself went through it.
    expect(loaded).toContain(pathToFileURL(path.join(ROOT, 'scripts', 'start.ts')).href);
  });
});
