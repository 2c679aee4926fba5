/**
 * `npm run hook` as an operator runs it: the real CLI (`tsx scripts/hook.ts`) in a child
 * process, posting to a local stack started in this test, whose queue is then inspected.
 * `CRISP_BRIDGE_LOCAL_DIR` points at a temp folder, so no `.local/` is written in the repo.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { sampleEvents } from '../../scripts/local/sample-hooks';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const WEBSITE_ID = '7e4b2c1a-9f3d-4a6b-8c5e-1d2f3a4b5c6d';
const HOOK_SECRET = 'hook-command-e2e-secret-6d0b3f9a';
const WEBSITE_HOOK_KEY = 'hook-command-e2e-key-Vt5Rw2Yx';
const REQUIRED_SAMPLES = ['message:send', 'message:received', 'session:set_email', 'session:set_data', 'people:profile:created'];

let stack: LocalStack;
let localDir: string;
let hookUrl: string;
const originalWrite = process.stdout.write;
/** Sample events some test has already sent with a 200 and found in the queue. */
const deliveredEvents = new Set<string>();

beforeAll(async () => {
  // The handler's log lines (the stack runs in this process) are not this test's output.
  process.stdout.write = ((_chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    rest.find((arg): arg is () => void => typeof arg === 'function')?.();
    return true;
  }) as typeof process.stdout.write;
  localDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-hook-command-'));
  stack = await startLocalStack({ port: 0, stateDir: localDir, hookSecret: HOOK_SECRET, websiteHookKey: WEBSITE_HOOK_KEY, websiteId: WEBSITE_ID });
  hookUrl = `${stack.url}/hooks/crisp`;
});

afterAll(async () => {
  await stack?.close();
  process.stdout.write = originalWrite;
  if (localDir) rmSync(localDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await drainQueue();
});

/** The operator's environment: the stack's values, and nothing the in-process stack set for its functions. */
function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_') || name.startsWith('HOOK_') || name.startsWith('TICKET_CENTER_') || name.startsWith('CRISP_')) delete env[name];
  }
  for (const name of ['PORT', 'WEBSITE_HOOK_KEY_ID', 'NODE_OPTIONS']) delete env[name];
  return {
    ...env,
    CRISP_BRIDGE_LOCAL_DIR: localDir,
    CRISP_HOOK_SECRET: HOOK_SECRET,
    CRISP_WEBSITE_HOOK_KEY: WEBSITE_HOOK_KEY,
    CRISP_WEBSITE_ID: WEBSITE_ID,
    ...extra,
  };
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function hook(args: string[], timeoutMs = 25_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, ['scripts/hook.ts', ...args], { cwd: ROOT, env: commandEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hook ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
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

/** Takes every visible message off the hook queue (received, then deleted). */
async function drainQueue(): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await stack.sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: stack.sqs.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, MessageAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return all;
    for (const message of messages) {
      await stack.sqs.client.send(new DeleteMessageCommand({ QueueUrl: stack.sqs.queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
    all.push(...messages);
  }
}

const attribute = (message: Message, name: string): string | undefined => message.MessageAttributes?.[name]?.StringValue;

/** The `attempt N/L: <status> ...` lines the command prints. */
const attemptLines = (stdout: string): Array<{ attempt: number; limit: number; status: number }> =>
  [...stdout.matchAll(/attempt (\d+)\/(\d+): (\d{3}) /g)].map((m) => ({ attempt: Number(m[1]), limit: Number(m[2]), status: Number(m[3]) }));

describe('npm run hook', () => {
  test('--help exits 0 and lists the sample events', async () => {
    const result = await hook(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage');
    for (const event of REQUIRED_SAMPLES) expect(result.stdout).toContain(event);
  });

  test('message:send: exits 0, prints 200, and the queue holds a message:send event', async () => {
    const result = await hook(['message:send', '--url', hookUrl]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`message:send → ${hookUrl}`);
    expect(attemptLines(result.stdout)).toEqual([{ attempt: 1, limit: 3, status: 200 }]);
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    const message = messages[0]!;
    expect(attribute(message, 'event')).toBe('message:send');
    expect(attribute(message, 'websiteId')).toBe(WEBSITE_ID);
    expect(attribute(message, 'hookKind')).toBe('plugin');
    expect(JSON.parse(message.Body!)).toMatchObject({ event: 'message:send', website_id: WEBSITE_ID });
    // The command does not print the secret it signs with.
    expect(result.stdout).not.toContain(HOOK_SECRET);
    deliveredEvents.add('message:send');
  });

  test('session:set_email --times 3 --attempt 2: attempts 2, 3, 4 each 200; three messages with the same body', async () => {
    const result = await hook(['session:set_email', '--url', hookUrl, '--times', '3', '--attempt', '2']);
    expect(result.code).toBe(0);
    expect(attemptLines(result.stdout)).toEqual([
      { attempt: 2, limit: 3, status: 200 },
      { attempt: 3, limit: 3, status: 200 },
      { attempt: 4, limit: 3, status: 200 },
    ]);
    const messages = await drainQueue();
    expect(messages).toHaveLength(3);
    expect(messages.map((m) => attribute(m, 'deliveryAttempt')).sort()).toEqual(['2', '3', '4']);
    expect(new Set(messages.map((m) => m.Body)).size).toBe(1);
    expect(messages.every((m) => attribute(m, 'event') === 'session:set_email')).toBe(true);
    deliveredEvents.add('session:set_email');
  });

  test('message:send --secret wrong: exits 1, prints 401, nothing queued', async () => {
    const result = await hook(['message:send', '--url', hookUrl, '--secret', 'wrong']);
    expect(result.code).toBe(1);
    expect(attemptLines(result.stdout)).toEqual([{ attempt: 1, limit: 3, status: 401 }]);
    expect(result.stdout).toContain('signature_mismatch');
    expect(await drainQueue()).toEqual([]);
  });

  test('--website: 200, queued as a Website Hook, and the printed URL hides the key', async () => {
    const result = await hook(['people:profile:created', '--website', '--url', `${stack.url}/hooks/crisp/website`]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(attemptLines(result.stdout)).toEqual([{ attempt: 1, limit: 3, status: 200 }]);
    expect(result.stdout).toContain(`${stack.url}/hooks/crisp/website?key=***`);
    expect(result.stdout).not.toContain(WEBSITE_HOOK_KEY);
    expect(result.stdout).not.toContain(encodeURIComponent(WEBSITE_HOOK_KEY));
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    expect(attribute(messages[0]!, 'hookKind')).toBe('website');
    expect(attribute(messages[0]!, 'event')).toBe('people:profile:created');
  });

  test('an unknown event exits 2 and names the available samples', async () => {
    const result = await hook(['no:such_event', '--url', hookUrl]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no:such_event');
    for (const event of REQUIRED_SAMPLES) expect(result.stderr).toContain(event);
    expect(await drainQueue()).toEqual([]);
  });

  test('every sample event gets 200 and is queued under its namespace', async () => {
    expect(sampleEvents()).toEqual(expect.arrayContaining(REQUIRED_SAMPLES));
    // Those the tests above already delivered are not sent again (each run of the command costs a second or two).
    const events = sampleEvents().filter((event) => !deliveredEvents.has(event));
    expect(events.length).toBeGreaterThanOrEqual(REQUIRED_SAMPLES.length - 2);
    const results = await Promise.all(events.map((event) => hook([event, '--url', hookUrl])));
    results.forEach((result, i) => {
      expect({ event: events[i], code: result.code, lines: attemptLines(result.stdout), stderr: result.stderr }).toEqual({
        event: events[i],
        code: 0,
        lines: [{ attempt: 1, limit: 3, status: 200 }],
        stderr: '',
      });
    });
    const messages = await drainQueue();
    expect(messages.map((m) => attribute(m, 'event')).sort()).toEqual([...events].sort());
    for (const message of messages) expect(JSON.parse(message.Body!)).toMatchObject({ event: attribute(message, 'event'), website_id: WEBSITE_ID });
    for (const event of events) deliveredEvents.add(event);
    expect([...deliveredEvents].sort()).toEqual(sampleEvents());
  }, 60_000);
});
