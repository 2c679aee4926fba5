/**
 * `npm run hook` as an operator runs it: the real CLI (`tsx scripts/hook.ts`) in a child
 * process, posting to a local stack started in this test, whose queue is then inspected.
 * `CRISP_BRIDGE_LOCAL_DIR` points at a temp folder, so no `.local/` is written in the repo.
 */
import { spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { sampleEvents } from '../../scripts/local/sample-hooks';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints } from '../../scripts/ops/target';

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
  return run('scripts/hook.ts', args, timeoutMs);
}

function run(script: string, args: string[], timeoutMs = 25_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [script, ...args], { cwd: ROOT, env: commandEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
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

/** Writes `endpoints.json` in the local folder, as npm start does (`apiUrl` as given), for the duration of `body`. */
async function withEndpoints<T>(apiUrl: string, body: () => Promise<T>): Promise<T> {
  const endpoints: LocalEndpoints = {
    apiUrl,
    sqsEndpoint: stack.sqs.endpoint,
    dynamodbEndpoint: stack.dynamodb.endpoint,
    queueUrl: stack.sqs.queueUrl,
    deadLetterQueueUrl: stack.sqs.deadLetterQueueUrl,
    tableName: stack.dynamodb.tableName,
  };
  const file = path.join(localDir, LOCAL_ENDPOINTS_FILE);
  writeFileSync(file, JSON.stringify(endpoints, null, 2));
  try {
    return await body();
  } finally {
    rmSync(file, { force: true });
  }
}

/** A URL nothing listens on (a stale endpoints.json): a port just freed. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
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

describe('npm run hook: where it posts', () => {
  test('without --url: the apiUrl npm start recorded in endpoints.json', async () => {
    const result = await withEndpoints(stack.url, () => hook(['message:send']));
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain(`message:send → ${stack.url}/hooks/crisp\n`);
    expect(attemptLines(result.stdout)).toEqual([{ attempt: 1, limit: 3, status: 200 }]);
    expect((await drainQueue()).map((m) => attribute(m, 'event'))).toEqual(['message:send']);
  });

  test('--port chooses the local stack explicitly (over a stale endpoints.json); with nothing listening, a hint', async () => {
    const port = new URL(stack.url).port;
    const dead = await deadUrl();
    const [chosen, stale] = await withEndpoints(dead, () => Promise.all([hook(['session:set_data', '--port', port]), hook(['session:set_data'])]));
    expect({ code: chosen.code, stderr: chosen.stderr }).toEqual({ code: 0, stderr: '' });
    expect(chosen.stdout).toContain(`session:set_data → http://127.0.0.1:${port}/hooks/crisp\n`);
    expect(attemptLines(chosen.stdout)).toEqual([{ attempt: 1, limit: 3, status: 200 }]);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain('no reply');
    expect(stale.stderr).toContain(`nothing answers at ${dead}`);
    expect(stale.stderr).toContain('npm start');
    expect((await drainQueue()).map((m) => attribute(m, 'event'))).toEqual(['session:set_data']);
  });
});

describe('npm run hook: your own payload', () => {
  test('--data: the data object for the event given (any namespace), signed as sent and queued as sent', async () => {
    const data = { session_id: 'session_own-data', content: 'données perso ✓', nested: { n: 1.5, list: [true, null] } };
    const before = Date.now();
    const result = await hook(['custom:own_event', '--url', hookUrl, '--data', JSON.stringify(data)]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(attemptLines(result.stdout)).toEqual([{ attempt: 1, limit: 3, status: 200 }]);
    const messages = await drainQueue();
    expect(messages).toHaveLength(1);
    const body = JSON.parse(messages[0]!.Body!) as Record<string, unknown>;
    expect(body).toEqual({ website_id: WEBSITE_ID, event: 'custom:own_event', data, timestamp: expect.any(Number) });
    expect(body.timestamp as number).toBeGreaterThanOrEqual(before);
    expect(attribute(messages[0]!, 'event')).toBe('custom:own_event');
  });

  test('--file: a whole envelope sent as it is (compact); website_id and timestamp filled in when missing', async () => {
    const full = { website_id: WEBSITE_ID, event: 'message:send', data: { session_id: 'session_from-file', content: 'from a file' }, timestamp: Date.now() - 5_000 };
    const partial = { event: 'session:set_email', data: { session_id: 'session_partial', email: 'jane@example.com' } };
    const fullFile = path.join(localDir, 'full-envelope.json');
    const partialFile = path.join(localDir, 'partial-envelope.json');
    writeFileSync(fullFile, JSON.stringify(full, null, 2)); // pretty-printed: the command sends the compact form
    writeFileSync(partialFile, JSON.stringify(partial));
    const before = Date.now();
    const [fromFull, fromPartial] = await Promise.all([hook(['--file', fullFile, '--url', hookUrl]), hook(['session:set_email', '--file', partialFile, '--url', hookUrl])]);
    for (const result of [fromFull, fromPartial]) {
      expect({ code: result.code, stderr: result.stderr, lines: attemptLines(result.stdout) }).toEqual({ code: 0, stderr: '', lines: [{ attempt: 1, limit: 3, status: 200 }] });
    }
    expect(fromFull.stdout).toContain(`message:send → ${hookUrl} (from ${fullFile})`);
    const bodies = new Map((await drainQueue()).map((m) => [attribute(m, 'event'), m.Body!]));
    expect(bodies.get('message:send')).toBe(JSON.stringify(full));
    const filled = JSON.parse(bodies.get('session:set_email')!) as Record<string, unknown>;
    expect(filled).toEqual({ website_id: WEBSITE_ID, ...partial, timestamp: expect.any(Number) });
    expect(filled.timestamp as number).toBeGreaterThanOrEqual(before);
  });

  test('a bad payload exits 2 with a clear message, and nothing is sent', async () => {
    const files = {
      'not-json.json': '{"event": "message:send", data: {}}',
      'array.json': '[{"event":"message:send","data":{}}]',
      'no-event.json': '{"data":{"content":"hi"}}',
      'data-string.json': '{"event":"message:send","data":"hi"}',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(localDir, name), text);
    const cases: Array<[string[], RegExp]> = [
      [['--file', path.join(localDir, 'not-json.json')], /not-json\.json is not JSON/],
      [['--file', path.join(localDir, 'array.json')], /must hold a JSON object.*an array/],
      [['--file', path.join(localDir, 'no-event.json')], /has no "event"/],
      [['--file', path.join(localDir, 'data-string.json')], /"data" must be a JSON object, got a string/],
      [['message:send', '--data', '[1]'], /--data must be a JSON object/],
    ];
    const results = await Promise.all(cases.map(([args]) => hook([...args, '--url', hookUrl])));
    results.forEach((result, i) => {
      expect({ args: cases[i]![0], code: result.code, stdout: result.stdout }).toEqual({ args: cases[i]![0], code: 2, stdout: '' });
      expect(result.stderr).toMatch(cases[i]![1]);
    });
    expect(await drainQueue()).toEqual([]);
  });
});

describe("the AWS SDK's NodeVersionSupportWarning", () => {
  const nodeMajor = Number(process.versions.node.split('.')[0]);
  const WARNING = 'NodeVersionSupportWarning';

  (nodeMajor < 22 ? test : test.skip)(`is not printed by the local commands on Node ${process.versions.node} (a bare SDK client prints it)`, async () => {
    const [bare, dlq] = await Promise.all([
      run('-e', [`const { SQSClient } = require('@aws-sdk/client-sqs'); new SQSClient({ region: 'us-east-1' });`]),
      withEndpoints(stack.url, () => run('scripts/dlq.ts', ['status', '--local'])),
    ]);
    // Not vacuous: without scripts/quiet-node-warnings.ts, this Node and this SDK do warn.
    expect(bare.stderr).toContain(WARNING);
    expect({ code: dlq.code, stderr: dlq.stderr }).toEqual({ code: 0, stderr: '' });
    expect(dlq.stdout).toContain('dead-letter queue');
  });
});
