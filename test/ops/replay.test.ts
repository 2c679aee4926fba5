/**
 * `npm run replay`: the real command (`tsx scripts/replay.ts`, child processes) and its parts
 * (scripts/ops/replay.ts, in-process) against a small fake EventBridge speaking the JSON
 * protocol (DescribeArchive, DescribeRule, StartReplay, DescribeReplay), reached through
 * AWS_ENDPOINT_URL_EVENTBRIDGE. The replay's progress is scripted: STARTING, RUNNING half way,
 * then COMPLETED (or FAILED).
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import * as path from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { listenOnLoopback } from '../../scripts/local/emulators/loopback';
import { archiveNameFromStack, checkWindow, parseTime, progressLine, replayName, waitForReplay } from '../../scripts/ops/replay';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const BUS_ARN = 'arn:aws:events:eu-west-1:123456789012:event-bus/CrispBridge';
const ARCHIVE = 'CrispBridgeEventBusArchive1234';
const ARCHIVE_ARN = `arn:aws:events:eu-west-1:123456789012:archive/${ARCHIVE}`;
const RULE_ARN = 'arn:aws:events:eu-west-1:123456789012:rule/CrispBridge/ToCrm';

interface Request {
  action: string;
  body: Record<string, any>;
}

let server: Server;
let endpoint: string;
const requests: Request[] = [];
/** What DescribeReplay answers, in turn (the last one repeats). */
let script: Array<(window: { from: number; to: number }) => Record<string, unknown>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const action = String(req.headers['x-amz-target'] ?? '').replace(/^AWSEvents\./, '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, any>;
      requests.push({ action, body });
      const send = (status: number, payload: Record<string, unknown>) => {
        const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
        if (typeof payload.__type === 'string') headers['x-amzn-errortype'] = payload.__type;
        res.writeHead(status, headers).end(JSON.stringify(payload));
      };
      const start = requests.find((r) => r.action === 'StartReplay')?.body;
      switch (action) {
        case 'DescribeArchive':
          if (body.ArchiveName !== ARCHIVE) return send(400, { __type: 'ResourceNotFoundException', message: `Archive ${body.ArchiveName} does not exist.` });
          return send(200, { ArchiveName: ARCHIVE, ArchiveArn: ARCHIVE_ARN, EventSourceArn: BUS_ARN, State: 'ENABLED', RetentionDays: 30 });
        case 'DescribeRule':
          if (body.Name !== 'ToCrm') return send(400, { __type: 'ResourceNotFoundException', message: `Rule ${body.Name} does not exist on EventBus CrispBridge.` });
          return send(200, { Name: 'ToCrm', Arn: RULE_ARN, EventBusName: 'CrispBridge' });
        case 'StartReplay':
          return send(200, { ReplayArn: `arn:aws:events:eu-west-1:123456789012:replay/${body.ReplayName}`, State: 'STARTING', ReplayStartTime: Date.now() / 1000 });
        case 'DescribeReplay': {
          const count = requests.filter((r) => r.action === 'DescribeReplay').length;
          const next = script[Math.min(count, script.length) - 1]!;
          return send(200, { ReplayName: body.ReplayName, ...next({ from: start!.EventStartTime, to: start!.EventEndTime }) });
        }
        default:
          return send(400, { __type: 'UnknownOperationException', message: action });
      }
    });
  });
  ({ url: endpoint } = await listenOnLoopback(server));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  requests.length = 0;
  script = [
    () => ({ State: 'STARTING' }),
    ({ from, to }) => ({ State: 'RUNNING', EventLastReplayedTime: (from + to) / 2 }),
    ({ to }) => ({ State: 'COMPLETED', EventLastReplayedTime: to }),
  ];
});

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
    Object.assign(env, { AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const child = spawn(TSX, ['scripts/replay.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run replay (the command)', () => {
  it('starts the replay from the archive to its bus, for the window and rule given, and prints its progress to the end', async () => {
    const result = await run(['--from', '2024-05-17T09:00:00Z', '--to', '2024-05-17T10:00:00Z', '--archive', ARCHIVE, '--rule', 'ToCrm', '--interval', '0.05']);
    // 2024 is older than the archive's 30 days: said, not refused (the archive may have been kept longer).
    expect(result.stderr).toBe('note: the archive keeps events 30 days: the start of the window is older, those events are gone\n');
    expect(result.code).toBe(0);
    const start = requests.find((r) => r.action === 'StartReplay')!.body;
    expect(start).toMatchObject({
      ReplayName: expect.stringMatching(/^crisp-\d{8}T\d{6}Z-[a-z0-9]+$/),
      EventSourceArn: ARCHIVE_ARN,
      EventStartTime: Date.UTC(2024, 4, 17, 9) / 1000,
      EventEndTime: Date.UTC(2024, 4, 17, 10) / 1000,
      Destination: { Arn: BUS_ARN, FilterArns: [RULE_ARN] },
    });
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`replay ${start.ReplayName}: 2024-05-17T09:00:00.000Z to 2024-05-17T10:00:00.000Z, archive ${ARCHIVE} to ${BUS_ARN}`);
    expect(lines.slice(1)).toEqual([
      `  to the rule(s) ${RULE_ARN} only`,
      '  STARTING',
      '  RUNNING: replayed up to 2024-05-17T09:30:00.000Z (50% of the window)',
      '  COMPLETED: replayed up to 2024-05-17T10:00:00.000Z (100% of the window)',
    ]);
  });

  it('a failed replay: its reason, exit code 1', async () => {
    script = [() => ({ State: 'FAILED', StateReason: 'Destination rule not found' })];
    const result = await run(['--from', '2h', '--to', 'now', '--archive', ARCHIVE, '--interval', '0.05']);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('  to every rule of the bus');
    expect(result.stdout).toContain('  FAILED (Destination rule not found)');
    expect(requests.find((r) => r.action === 'StartReplay')!.body.Destination).toEqual({ Arn: BUS_ARN });
  });

  it.each<[string, string[], RegExp]>([
    ['--event, which EventBridge cannot do', ['--from', '1h', '--to', 'now', '--event', 'message:send', '--archive', ARCHIVE], /--event is not offered: EventBridge replays every archived event of the window.*Use --rule/],
    ['a time it cannot read', ['--from', 'yesterday', '--to', 'now', '--archive', ARCHIVE], /--from "yesterday" is not a time/],
    ['no --to', ['--from', '1h', '--archive', ARCHIVE], /--to is required/],
    ['a window ending before it starts', ['--from', '1h', '--to', '2h', '--archive', ARCHIVE], /--from .* must be before --to/],
    ['an unknown archive', ['--from', '1h', '--to', 'now', '--archive', 'nope'], /Archive nope does not exist/],
    ['an unknown rule', ['--from', '1h', '--to', 'now', '--archive', ARCHIVE, '--rule', 'Nope'], /--rule Nope: no such rule on the bus/],
  ])('refuses %s, saying why, and starts nothing', async (_name, args, message) => {
    const result = await run(args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/^crisp-bridge replay: /);
    expect(requests.filter((r) => r.action === 'StartReplay')).toEqual([]);
  });

  it('--help says what a replay does', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('replay-name');
    expect(result.stdout).toContain('dedupe on detail.dedupeKey');
  });
});

describe('replay parts', () => {
  const now = new Date('2024-05-17T12:00:00Z');

  it.each<[string, string]>([
    ['2024-05-17T09:00:00Z', '2024-05-17T09:00:00.000Z'],
    ['2024-05-17T09:00:00+02:00', '2024-05-17T07:00:00.000Z'],
    ['2024-05-17T09:00', '2024-05-17T09:00:00.000Z'],
    ['2024-05-17', '2024-05-17T00:00:00.000Z'],
    ['1715936400000', '2024-05-17T09:00:00.000Z'],
    ['now', '2024-05-17T12:00:00.000Z'],
    ['30m', '2024-05-17T11:30:00.000Z'],
    ['2h', '2024-05-17T10:00:00.000Z'],
    ['-2h', '2024-05-17T10:00:00.000Z'],
    ['-1d', '2024-05-16T12:00:00.000Z'],
  ])('parseTime(%p) = %s', (text, iso) => {
    expect(parseTime('from', text, now).toISOString()).toBe(iso);
  });

  it.each(['', 'tomorrow', '2024-13-45', '17/05/2024', '+2h'])('parseTime refuses %p', (text) => {
    expect(() => parseTime('from', text, now)).toThrow(/--from/);
  });

  it('checkWindow: start before end, end not in the future', () => {
    expect(() => checkWindow(new Date('2024-05-17T10:00:00Z'), new Date('2024-05-17T09:00:00Z'), now)).toThrow(/must be before/);
    expect(() => checkWindow(new Date('2024-05-17T10:00:00Z'), new Date('2024-05-18T09:00:00Z'), now)).toThrow(/in the future/);
    expect(() => checkWindow(new Date('2024-05-17T10:00:00Z'), now, now)).not.toThrow();
  });

  it('reads the archive from the stack\'s EventArchiveName output, or says the stack has no bus', async () => {
    const stub = (outputs: Array<{ OutputKey: string; OutputValue: string }>) => ({ send: async () => ({ Stacks: [{ Outputs: outputs }] }) }) as never;
    await expect(archiveNameFromStack(stub([{ OutputKey: 'EventArchiveName', OutputValue: ARCHIVE }]), 'CrispBridge')).resolves.toBe(ARCHIVE);
    await expect(archiveNameFromStack(stub([{ OutputKey: 'HookUrl', OutputValue: 'x' }]), 'CrispBridge')).rejects.toThrow(/no EventArchiveName output: deploy it with eventBus/);
    const failing = { send: async () => Promise.reject(new Error('Stack with id Nope does not exist')) } as never;
    await expect(archiveNameFromStack(failing, 'Nope')).rejects.toThrow(/cannot read the outputs of stack "Nope".*--archive/);
  });

  it('waitForReplay reports each change once, until a final state', async () => {
    const client = new EventBridgeClient({ endpoint, region: 'eu-west-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
    requests.push({ action: 'StartReplay', body: { EventStartTime: Date.UTC(2024, 4, 17, 9) / 1000, EventEndTime: Date.UTC(2024, 4, 17, 10) / 1000 } });
    script = [() => ({ State: 'STARTING' }), () => ({ State: 'STARTING' }), ...script.slice(1)];
    const seen: string[] = [];
    const final = await waitForReplay(client, 'r1', { from: new Date(Date.UTC(2024, 4, 17, 9)), to: new Date(Date.UTC(2024, 4, 17, 10)) }, {
      intervalMs: 0,
      onProgress: (progress) => seen.push(progressLine(progress)),
    });
    client.destroy();
    expect(final.state).toBe('COMPLETED');
    expect(seen).toEqual(['STARTING', 'RUNNING: replayed up to 2024-05-17T09:30:00.000Z (50% of the window)', 'COMPLETED: replayed up to 2024-05-17T10:00:00.000Z (100% of the window)']);
  });

  it('replay names fit EventBridge\'s pattern', () => {
    expect(replayName(now)).toMatch(/^crisp-20240517T120000Z-[a-z0-9]{1,6}$/);
    expect(replayName(now).length).toBeLessThanOrEqual(64);
  });
});
