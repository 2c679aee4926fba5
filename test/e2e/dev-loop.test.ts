/**
 * The local dev loop as a user runs it: `npm start -- --handlers <file>` with a handler module
 * outside the repository, edited while the stack runs, and `npm start` stopped and started again.
 * - the consumer runs that module; an edit restarts the consumer side only (the API keeps its
 *   port, a message sent while the module is broken waits in the queue);
 * - a restart of `npm start` keeps the hook queue, the dead-letter queue and the dedupe table
 *   (a redelivered event is still a duplicate); `--fresh` empties them;
 * - a PermanentError sends the event to the dead-letter queue with its reason.
 */
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { loadDevValues } from '../../scripts/local/dev-secrets';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import type { LocalEndpoints } from '../../scripts/ops/target';
import { parseJsonLines } from '../support/stdout';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const REGISTRY = path.join(ROOT, 'functions', 'handlers.ts');

const work = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-dev-loop-'));
const stateDir = path.join(work, '.local');
const handlerFile = path.join(work, 'src', 'crisp-handlers.ts');
mkdirSync(path.dirname(handlerFile), { recursive: true });

/** A handler module of the user's: logs its version; `permanent` refuses every event for good. */
function writeHandlers(version: string, mode: 'ok' | 'permanent' | 'broken' = 'ok'): void {
  const body =
    mode === 'broken'
      ? `export default defineHandlers({ 'message:send': (event, context) => { context.logger.info( }); // a typo\n`
      : mode === 'permanent'
        ? `export default defineHandlers({ 'message:send': () => { throw new PermanentError('the CRM refused the contact'); } });\n`
        : `export default defineHandlers({ 'message:send': (event, context) => { context.logger.info('dev loop handler', { version: ${JSON.stringify(version)} }); } });\n`;
  // A line when the module loads: which version the consumer now runs, whatever restarts happened.
  const loaded = `process.stdout.write(JSON.stringify({ message: 'dev loop module loaded', version: ${JSON.stringify(version)} }) + '\\n');\n`;
  writeFileSync(handlerFile, `import { defineHandlers, PermanentError } from ${JSON.stringify(REGISTRY)};\nvoid PermanentError;\n${loaded}${body}`);
}

interface Running {
  child: ChildProcess;
  lines: () => Array<Record<string, any>>;
  output: () => string;
  endpoints: LocalEndpoints;
}

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000, output?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${output ? `\n--- output ---\n${output().slice(-3000)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function start(...args: string[]): Promise<Running> {
  const child = spawn(TSX, ['scripts/start.ts', '--port', '0', '--handlers', handlerFile, ...args], {
    cwd: ROOT,
    env: { ...process.env, CRISP_BRIDGE_LOCAL_DIR: stateDir, PORT: '', CRISP_HOOK_SECRET: '', CRISP_WEBSITE_ID: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: tsx runs the script in a child, and a kill must reach both.
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const lines = () => parseJsonLines(out.split('\n').filter((line) => line.startsWith('{')).join('\n'));
  await waitFor('the local consumer to start', () => lines().some((line) => line.message === 'local consumer started'), 30_000, () => out);
  const endpoints = JSON.parse(readFileSync(path.join(stateDir, 'endpoints.json'), 'utf8')) as LocalEndpoints;
  return { child, lines, output: () => out, endpoints };
}

async function stop(running: Running): Promise<void> {
  const exited = new Promise<number | null>((resolve) => running.child.once('exit', (code) => resolve(code)));
  process.kill(-running.child.pid!, 'SIGINT');
  expect(await exited).toBe(0);
}

/** A signed Plugin Hook, as Crisp sends it; the same body again is a redelivery. */
async function sendHook(running: Running, body?: string): Promise<{ body: string; key: string }> {
  const dev = loadDevValues({}, stateDir).values;
  const sent = body ?? sampleHookBody('message:send', { websiteId: dev.websiteId });
  const timestamp = String(Date.now());
  const response = await fetch(`${running.endpoints.apiUrl}/hooks/crisp`, {
    method: 'POST',
    headers: hookHeaders({ body: sent, timestamp, attempt: 1, attemptLimit: 3, secret: dev.hookSecret }),
    body: sent,
  });
  expect(response.status).toBe(200);
  return { body: sent, key: dedupeKey(sent) };
}

async function queueDepth(running: Running, queueUrl: string): Promise<number> {
  const client = new SQSClient({ endpoint: running.endpoints.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const out = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  client.destroy();
  return Number(out.Attributes!.ApproximateNumberOfMessages) + Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible);
}

/** Whether the consumer has loaded that version of the module and polls the queue with it. */
const loadedVersion = (running: Running, version: string): boolean => {
  const lines = running.lines();
  const at = lines.findIndex((line) => line.message === 'dev loop module loaded' && line.version === version);
  return at !== -1 && lines.slice(at).some((line) => line.message === 'local consumer started');
};

const processedBy = (running: Running, key: string) =>
  running.lines().filter((line) => line.dedupeKey === key && (line.message === 'dev loop handler' || line.message === 'crisp event processed'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('npm start -- --handlers <file>', () => {
  let running: Running | undefined;
  afterEach(async () => {
    if (running && running.child.exitCode === null) process.kill(-running.child.pid!, 'SIGKILL');
  });

  test('runs your module, restarts the consumer when it changes, and keeps queues and table across restarts', async () => {
    writeHandlers('one');
    running = await start('--fresh');
    const first = running;
    expect(first.output()).toContain(`Handlers              ${handlerFile} (from --handlers)`);

    const a = await sendHook(first);
    await waitFor('version one to run', () => first.lines().find((line) => line.message === 'dev loop handler' && line.dedupeKey === a.key), 20_000, first.output);
    expect(first.lines().find((line) => line.message === 'dev loop handler' && line.dedupeKey === a.key)).toMatchObject({ version: 'one' });

    // An edit restarts the consumer only: the API keeps its URL.
    writeHandlers('two');
    await waitFor('version two to load', () => loadedVersion(first, 'two'), 20_000, first.output);
    expect(first.lines().filter((line) => line.message === 'local consumer restarting: the handler module changed').length).toBeGreaterThanOrEqual(1);
    const b = await sendHook(first);
    await waitFor('version two to run', () => first.lines().find((line) => line.message === 'dev loop handler' && line.dedupeKey === b.key), 20_000, first.output);
    expect(first.lines().find((line) => line.message === 'dev loop handler' && line.dedupeKey === b.key)).toMatchObject({ version: 'two' });

    // A PermanentError: straight to the dead-letter queue, with its reason.
    writeHandlers('three', 'permanent');
    await waitFor('version three to load', () => loadedVersion(first, 'three'), 20_000, first.output);
    const c = await sendHook(first);
    await waitFor('the event to be dead-lettered', () => first.lines().find((line) => line.message === 'crisp event dead-lettered' && line.dedupeKey === c.key), 20_000, first.output);

    // A module that does not load: the consumer waits for a fix; the hook waits in the queue.
    writeHandlers('four', 'broken');
    await waitFor('the broken module to be reported', () => first.lines().some((line) => line.message === 'local consumer: the handler module did not load; waiting for a change'), 20_000, first.output);
    const d = await sendHook(first);
    expect(await queueDepth(first, first.endpoints.queueUrl)).toBe(1);
    await stop(first);

    // Started again on the same .local/: the queued hook runs, the dead letter and the dedupe records are still there.
    writeHandlers('five');
    running = await start();
    const second = running;
    await waitFor('the queued hook to run', () => second.lines().find((line) => line.message === 'dev loop handler' && line.dedupeKey === d.key), 20_000, second.output);
    expect(second.lines().find((line) => line.message === 'dev loop handler' && line.dedupeKey === d.key)).toMatchObject({ version: 'five' });
    expect(await queueDepth(second, second.endpoints.deadLetterQueueUrl)).toBe(1);
    await sendHook(second, a.body); // Crisp retrying the first event: still a duplicate
    await waitFor('the duplicate', () => processedBy(second, a.key).find((line) => line.duplicate === true), 20_000, second.output);
    expect(processedBy(second, a.key).filter((line) => line.message === 'dev loop handler')).toEqual([]);
    await stop(second);

    // --fresh empties them.
    running = await start('--fresh');
    expect(await queueDepth(running, running.endpoints.deadLetterQueueUrl)).toBe(0);
    await stop(running);
  }, 150_000);
});
