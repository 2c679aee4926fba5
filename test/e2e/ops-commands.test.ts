/**
 * `npm run dlq` and `npm run event` as an operator runs them: the real CLIs (`tsx scripts/dlq.ts`,
 * `tsx scripts/event.ts`) in child processes, against the SQS emulator (fauxqs) and the DynamoDB
 * emulator (dynalite) started in this test and reached through AWS_ENDPOINT_URL_SQS /
 * AWS_ENDPOINT_URL_DYNAMODB, or through an endpoints.json as `npm start` writes it.
 * `CRISP_BRIDGE_LOCAL_DIR` points at a temp folder, so no `.local/` is read or written in the repo.
 *
 * Each command costs a second or two to start: independent ones run in parallel.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type Message, type MessageAttributeValue, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { ATTRIBUTES } from '../../functions/commons/core/hook-envelope';
import { type DynamoDbEmulator, startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';
import { type SqsEmulator, startSqsEmulator } from '../../scripts/local/emulators/sqs';
import { sampleHookBody } from '../../scripts/local/sample-hooks';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints } from '../../scripts/ops/target';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
/** Text of the message:send sample: peek must not print it without --body. */
const CONTENT = 'order #1042';
const LAST_ERROR = 'Error: CRM answered 502';

let sqs: SqsEmulator;
let db: DynamoDbEmulator;
let localDir: string;
let emptyLocalDir: string;
/** The two dead letters put in the DLQ before the tests. */
const letters: Array<{ event: string; body: string; key: string }> = [];

beforeAll(async () => {
  localDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-ops-commands-'));
  emptyLocalDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-ops-commands-empty-'));
  [sqs, db] = await Promise.all([startSqsEmulator(), startDynamoDbEmulator()]);
  for (const [i, event] of ['message:send', 'session:set_email'].entries()) {
    const body = sampleHookBody(event, { websiteId: WEBSITE_ID });
    const attributes: Record<string, MessageAttributeValue> = {
      [ATTRIBUTES.event]: { DataType: 'String', StringValue: event },
      [ATTRIBUTES.websiteId]: { DataType: 'String', StringValue: WEBSITE_ID },
      [ATTRIBUTES.hookKind]: { DataType: 'String', StringValue: 'plugin' },
      [ATTRIBUTES.receivedAt]: { DataType: 'Number', StringValue: String(Date.now()) },
      [ATTRIBUTES.deliveryAttempt]: { DataType: 'Number', StringValue: String(i + 1) },
    };
    await sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.deadLetterQueueUrl, MessageBody: body, MessageAttributes: attributes }));
    letters.push({ event, body, key: dedupeKey(body) });
  }
  // The consumer's record of the first one, after its last failure.
  const now = Date.now();
  await db.client.send(
    new PutItemCommand({
      TableName: db.tableName,
      Item: {
        pk: { S: letters[0]!.key },
        status: { S: 'FAILED' },
        event: { S: 'message:send' },
        websiteId: { S: WEBSITE_ID },
        messageId: { S: 'c5b9d7a4-0000-4000-8000-000000000001' },
        claims: { N: '5' },
        failures: { N: '5' },
        lastError: { S: LAST_ERROR },
        lastFailedAt: { N: String(now) },
        firstClaimedAt: { N: String(now - 60_000) },
        deliveryAttempt: { N: '1' },
        receiveCount: { N: '5' },
        expiresAt: { N: String(Math.floor(now / 1000) + 48 * 3600) },
      },
    }),
  );
});

afterAll(async () => {
  await Promise.all([sqs?.close(), db?.close()]);
  for (const dir of [localDir, emptyLocalDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The operator's environment: dummy credentials, a region, the emulators' endpoints; nothing of
 * the caller's AWS configuration, so no command can reach real AWS.
 */
function commandEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('AWS_') || name.startsWith('CRISP_')) delete env[name];
  delete env.NODE_OPTIONS;
  const result: NodeJS.ProcessEnv = {
    ...env,
    CRISP_BRIDGE_LOCAL_DIR: localDir,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'ops-e2e',
    AWS_SECRET_ACCESS_KEY: 'ops-e2e',
    AWS_CONFIG_FILE: path.join(localDir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(localDir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_MAX_ATTEMPTS: '1',
    // On Node 20 the SDK warns on stderr that its 2027 releases need Node 22: not the command's output.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
  };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(script: 'dlq' | 'event', args: string[], env: NodeJS.ProcessEnv = commandEnv(), timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [`scripts/${script}.ts`, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The explicit target options. */
const queues = (): string[] => ['--queue-url', sqs.queueUrl, '--dlq-url', sqs.deadLetterQueueUrl, '--table', db.tableName];

async function counts(queueUrl: string): Promise<{ waiting: number; inFlight: number }> {
  const out = await sqs.client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { waiting: Number(out.Attributes?.ApproximateNumberOfMessages), inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible) };
}

async function receiveAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60, MessageAttributeNames: ['All'] }),
    );
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

// The tests run in order: the DLQ holds the two letters until the redrive test moves them.

describe('help and usage errors', () => {
  test('--help exits 0; no command, an unknown command, purge without --yes and a bad key exit 2; nothing is purged', async () => {
    const [dlqHelp, eventHelp, noCommand, bogus, purge, badKey] = await Promise.all([
      run('dlq', ['--help']),
      run('event', ['--help']),
      run('dlq', []),
      run('dlq', ['bogus']),
      run('dlq', ['purge', ...queues()]),
      run('event', ['abc', ...queues()]),
    ]);
    expect(dlqHelp.code).toBe(0);
    expect(dlqHelp.stdout).toContain('Usage');
    for (const command of ['status', 'peek', 'redrive', 'purge', '--local', '--stack']) expect(dlqHelp.stdout).toContain(command);
    expect(eventHelp.code).toBe(0);
    expect(eventHelp.stdout).toContain('Usage');
    expect(eventHelp.stdout).toContain('dedupe');

    expect(noCommand.code).toBe(2);
    expect(noCommand.stdout).toContain('Usage');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('unknown command "bogus"');

    expect(purge.code).toBe(2);
    expect(purge.stderr).toContain('--yes');
    expect(purge.stdout).toBe('');
    expect(await counts(sqs.deadLetterQueueUrl)).toEqual({ waiting: 2, inFlight: 0 });

    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('dedupe key');
  });
});

describe('against the given queues and table', () => {
  test('status prints the counts of both queues', async () => {
    const result = await run('dlq', ['status', ...queues()]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain(sqs.deadLetterQueueUrl);
    expect(result.stdout).toMatch(/hook queue\s+0 waiting, 0 in flight/);
    expect(result.stdout).toMatch(/dead-letter queue\s+2 waiting, 0 in flight/);
    expect(result.stdout).toContain('not available here');
  });

  test('peek prints events, dedupe keys and the record, not the bodies; --body adds them; the letters stay', async () => {
    // One after the other: a peek hides the letters while it reads them.
    const peek = await run('dlq', ['peek', ...queues()]);
    expect({ code: peek.code, stderr: peek.stderr }).toEqual({ code: 0, stderr: '' });
    for (const letter of letters) {
      expect(peek.stdout).toContain(`event ${letter.event}`);
      expect(peek.stdout).toContain(`dedupe key ${letter.key}`);
    }
    expect(peek.stdout).toContain(`website ${WEBSITE_ID}`);
    expect(peek.stdout).toContain('FAILED, 5 failure(s)');
    expect(peek.stdout).toContain(`last error: ${LAST_ERROR}`);
    expect(peek.stdout).toContain('record: none');
    expect(peek.stdout).not.toContain(CONTENT);
    expect(peek.stdout).not.toContain('body:');

    const body = await run('dlq', ['peek', '--body', ...queues()]);
    expect(body.code).toBe(0);
    expect(body.stdout).toContain(CONTENT);
    for (const letter of letters) expect(body.stdout).toContain(`body: ${letter.body}`);

    expect(await counts(sqs.deadLetterQueueUrl)).toEqual({ waiting: 2, inFlight: 0 });
  });

  test('event <key> prints the record and the Logs Insights query; an unknown key prints "no record"', async () => {
    const unknown = `v1:${'ab'.repeat(32)}`;
    const [known, missing] = await Promise.all([run('event', [letters[0]!.key, ...queues()]), run('event', [unknown, ...queues()])]);
    expect({ code: known.code, stderr: known.stderr }).toEqual({ code: 0, stderr: '' });
    expect(known.stdout).toMatch(/status\s+FAILED/);
    expect(known.stdout).toMatch(/failures\s+5/);
    expect(known.stdout).toMatch(new RegExp(`last error\\s+${LAST_ERROR}`));
    expect(known.stdout).toMatch(/event\s+message:send/);
    expect(known.stdout).toContain('Logs Insights');
    expect(known.stdout).toContain(`filter dedupeKey = "${letters[0]!.key}"`);
    expect(known.stdout).not.toContain(CONTENT);

    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 0, stderr: '' });
    expect(missing.stdout).toContain(`${unknown}: no record`);
    expect(missing.stdout).toContain(`filter dedupeKey = "${unknown}"`);
  });
});

describe('the local stack (endpoints.json) and a deployed stack', () => {
  test('status --local reads endpoints.json (no endpoint variables needed); without it: exit 1, start it with npm start', async () => {
    const local: LocalEndpoints = {
      apiUrl: 'http://localhost:3000',
      sqsEndpoint: sqs.endpoint,
      dynamodbEndpoint: db.endpoint,
      queueUrl: sqs.queueUrl,
      deadLetterQueueUrl: sqs.deadLetterQueueUrl,
      tableName: db.tableName,
    };
    writeFileSync(path.join(localDir, LOCAL_ENDPOINTS_FILE), JSON.stringify(local));
    const localEnv = commandEnv({ AWS_ENDPOINT_URL_SQS: undefined, AWS_ENDPOINT_URL_DYNAMODB: undefined, AWS_REGION: undefined });
    const [found, missing] = await Promise.all([
      run('dlq', ['status', '--local'], localEnv),
      run('dlq', ['status', '--local'], { ...localEnv, CRISP_BRIDGE_LOCAL_DIR: emptyLocalDir }),
    ]);
    expect({ code: found.code, stderr: found.stderr }).toEqual({ code: 0, stderr: '' });
    expect(found.stdout).toContain('the local stack');
    expect(found.stdout).toMatch(/dead-letter queue\s+2 waiting/);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('npm start');
    expect(missing.stderr).toContain(emptyLocalDir);
  });

  test('status --stack of a stack that cannot be read: exit 1 naming the stack', async () => {
    // CloudFormation at a closed local port: the command can never reach real AWS.
    const result = await run('dlq', ['status', '--stack', 'DoesNotExist', '--region', 'us-east-1'], commandEnv({ AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:9' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('"DoesNotExist"');
    expect(result.stderr).toContain('--local');
    expect(result.stdout).toBe('');
  });
});

describe('redrive', () => {
  test('moves the dead letters back to the hook queue (one by one: fauxqs has no move task) and prints COMPLETED', async () => {
    expect(await counts(sqs.deadLetterQueueUrl)).toEqual({ waiting: 2, inFlight: 0 });
    const result = await run('dlq', ['redrive', ...queues()]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('COMPLETED: 2/2 moved');
    expect(await counts(sqs.deadLetterQueueUrl)).toEqual({ waiting: 0, inFlight: 0 });
    const moved = await receiveAll(sqs.queueUrl);
    expect(moved.map((message) => message.Body).sort()).toEqual(letters.map((letter) => letter.body).sort());
    expect(moved.map((message) => message.MessageAttributes?.[ATTRIBUTES.event]?.StringValue).sort()).toEqual(letters.map((letter) => letter.event).sort());
  });
});
