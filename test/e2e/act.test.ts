/**
 * Events that act, end to end on the local stack with the reference app's handler module (what
 * `npm start` runs): a visitor's message delivered three times by Crisp puts one event on the
 * bus (detail-type the namespace, detail with dedupeKey and hookKind) and gets one automated
 * reply through Crisp's REST API (the local stand-in), even when the first reply attempt fails.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { type LocalStack, LOCAL_BUS_NAME, LOCAL_EVENT_SOURCE, startLocalStack } from '../../scripts/local/stack';
import { interceptStdout, parseJsonLines } from '../support/stdout';

const REFERENCE_HANDLERS = path.join(__dirname, '..', '..', 'functions', 'consumer', 'handlers', 'reference-app.ts');
const HOOK_SECRET = 'act-test-hook-secret';
const WEBSITE_ID = '0f7a1c1e-7f3b-4f6e-9a53-3c1d2b4e5f60';
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** Open only on another weekday than today (UTC): the messages sent now are out of hours. */
const CLOSED_TODAY = `${DAYS[(new Date().getUTCDay() + 3) % 7]} 09:00-17:00`;
const REPLY = 'We are away; we will answer when we are back.';

const stdout: string[] = [];
const originalWrite = process.stdout.write;
let stack: LocalStack;
let stateDir: string;

beforeAll(async () => {
  interceptStdout(stdout);
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-act-'));
  stack = await startLocalStack({
    port: 0,
    stateDir,
    consumer: true,
    visibilityTimeoutSeconds: 1,
    handlers: REFERENCE_HANDLERS,
    handlerSettings: { BUSINESS_HOURS: CLOSED_TODAY, BUSINESS_TIMEZONE: 'UTC', AUTO_REPLY_TEXT: REPLY },
    hookSecret: HOOK_SECRET,
    websiteId: WEBSITE_ID,
  });
});

afterAll(async () => {
  await stack?.close();
  process.stdout.write = originalWrite;
  rmSync(stateDir, { recursive: true, force: true });
});

const lines = () => parseJsonLines(stdout.join(''));

async function deliver(body: string, attempt: number): Promise<void> {
  const response = await fetch(`${stack.url}/hooks/crisp`, {
    method: 'POST',
    headers: hookHeaders({ body, timestamp: String(Date.now()), attempt, attemptLimit: 3, secret: HOOK_SECRET }),
    body,
  });
  expect(response.status).toBe(200);
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('one visitor message delivered 3 times, the first reply attempt failing: one bus event, one auto-reply', async () => {
  const body = sampleHookBody('message:send', { websiteId: WEBSITE_ID });
  const key = dedupeKey(body);
  const sessionId = (JSON.parse(body) as { data: { session_id: string } }).data.session_id;
  stack.crispApi!.failNext(1, 500, { method: 'POST' });

  for (const attempt of [1, 2, 3]) await deliver(body, attempt);
  await waitFor('one processed line and two duplicates', () => lines().filter((line) => line.message === 'crisp event processed' && line.dedupeKey === key).length === 3);

  // The bus: one event, the namespace as its detail-type, the dedupe key and hook kind in the detail.
  const onBus = stack.eventBridge!.events.filter((event) => event.detail.dedupeKey === key);
  expect(onBus).toHaveLength(1);
  expect(onBus[0]).toMatchObject({ 'detail-type': 'message:send', source: LOCAL_EVENT_SOURCE, busName: LOCAL_BUS_NAME, detail: { hookKind: 'plugin', website_id: WEBSITE_ID } });
  expect(lines().filter((line) => line.message === 'local bus event' && line.dedupeKey === key)).toHaveLength(1);

  // Crisp: one automated reply in the conversation, though the first post failed.
  const messages = stack.crispApi!.messages(WEBSITE_ID, sessionId);
  expect(messages).toHaveLength(1);
  expect(messages[0]).toMatchObject({ from: 'operator', type: 'text', content: REPLY, automated: true });
  expect(stack.crispApi!.calls().filter((call) => call.method === 'POST')).toHaveLength(2); // the failed one, then the one that landed
  const apiLines = lines().filter((line) => line.message === 'crisp api call');
  expect(apiLines.length).toBeGreaterThan(0);
  expect(JSON.stringify(apiLines)).not.toContain(REPLY);

  // A second message in the same conversation: counted, on the bus, no second auto-reply.
  const second = JSON.stringify({ ...JSON.parse(body), data: { ...JSON.parse(body).data, fingerprint: 42, content: 'Hello again?' } });
  await deliver(second, 1);
  await waitFor('the second message processed', () => lines().some((line) => line.message === 'crisp event processed' && line.dedupeKey === dedupeKey(second)));
  expect(stack.crispApi!.messages(WEBSITE_ID, sessionId)).toHaveLength(1);
  expect(stack.eventBridge!.events.filter((event) => event.detail.dedupeKey === dedupeKey(second))).toHaveLength(1);
}, 60_000);
