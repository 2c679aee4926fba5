/**
 * The commands as an operator runs them: real child processes from the project folder.
 * `CRISP_BRIDGE_LOCAL_DIR` points at a temp folder, so no `.local/` is written in the repo.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { opensslHmacSha256 } from '../support/openssl';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const CDK = path.join(ROOT, 'node_modules', '.bin', 'cdk');
const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const SECRET = 'commands-e2e-ticket-center-secret-8c2e';

const tempDirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `crisp-bridge-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

let localDir: string;

/** The operator's environment, without anything a local stack in this process may have set. */
function commandEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'PORT',
    'CRISP_WEBSITE_ID',
    'TICKET_CENTER_SECRET',
    'TICKET_CENTER_SECRET_ID',
    'ALLOWED_ORIGINS',
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    'NODE_OPTIONS',
  ]) {
    delete env[name];
  }
  return { ...env, CRISP_BRIDGE_LOCAL_DIR: localDir, ...extra };
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: options.env ?? commandEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(command)} ${args.join(' ')} did not finish within ${options.timeoutMs} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

beforeAll(() => {
  localDir = tempDir('commands-local');
});

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe('help and usage errors', () => {
  test.each([['scripts/token.ts'], ['scripts/start.ts']])('tsx %s --help prints the usage and exits 0', async (script) => {
    const result = await run(TSX, [script, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage');
  });

  test('token without --email exits 2 and names --email', async () => {
    const result = await run(TSX, ['scripts/token.ts']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--email');
    expect(result.stdout).toBe('');
  });
});

describe('npm start + npm run token', () => {
  let server: ChildProcess | undefined;
  let serverExit: Promise<number | null> | undefined;
  let serverOutput = '';
  let baseUrl = '';

  beforeAll(async () => {
    const child = spawn(TSX, ['scripts/start.ts'], {
      cwd: ROOT,
      env: commandEnv({ PORT: '0', TICKET_CENTER_SECRET: SECRET, CRISP_WEBSITE_ID: WEBSITE_ID }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    serverExit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not report its URL within 20 s:\n${serverOutput}`)), 20_000);
      const onData = (chunk: Buffer): void => {
        serverOutput += chunk.toString('utf8');
        const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(serverOutput);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => (serverOutput += chunk.toString('utf8')));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code} before listening:\n${serverOutput}`));
      });
    });
  }, 30_000);

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) {
      server.kill('SIGTERM');
      const exited = await Promise.race([serverExit, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
      if (exited === 'timeout') {
        server.kill('SIGKILL');
        await serverExit;
      }
    }
  }, 20_000);

  async function tokenFor(...args: string[]): Promise<string> {
    const result = await run(TSX, ['scripts/token.ts', ...args]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1); // only the token, so TOKEN=$(npm -s run token ...) works
    return lines[0]!;
  }

  test('the start banner names the port and does not print the secret it was given', () => {
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(baseUrl).not.toBe('http://127.0.0.1:0');
    expect(serverOutput).not.toContain(SECRET);
  });

  test('a token from npm run token gets a signed URL', async () => {
    const email = 'cmd+test@example.com';
    const token = await tokenFor('--email', email);
    expect(token.split('.')).toHaveLength(3);
    const res = await fetch(`${baseUrl}/ticket-center/url`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string };
    const url = new URL(body.url);
    expect(url.pathname).toBe(`/urn:crisp.im:ticket-center:0/tickets/${WEBSITE_ID}`);
    expect(url.searchParams.get('email')).toBe(email);
    expect(url.searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, email));
  }, 30_000);

  test('no token: 401', async () => {
    const res = await fetch(`${baseUrl}/ticket-center/url`);
    expect(res.status).toBe(401);
  });

  test('an --unverified token: 403 email_not_verified', async () => {
    const token = await tokenFor('--email', 'cmd+test@example.com', '--unverified');
    const res = await fetch(`${baseUrl}/ticket-center/url`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('email_not_verified');
  }, 30_000);

  test('the dev issuer key was written to CRISP_BRIDGE_LOCAL_DIR', () => {
    expect(existsSync(path.join(localDir, 'dev-issuer-key.json'))).toBe(true);
  });

  test('SIGTERM stops it cleanly (exit code 0)', async () => {
    server!.kill('SIGTERM');
    const code = await Promise.race([serverExit, new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000))]);
    expect(code).toBe(0);
  }, 15_000);
});

describe('cdk synth', () => {
  const context = (values: Record<string, string>): string[] => Object.entries(values).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  const full = { websiteId: WEBSITE_ID, jwtIssuer: 'https://issuer.example.com/', jwtAudience: 'app' };

  test('synthesizes the stack with the required context', async () => {
    const out = tempDir('cdk-out');
    const result = await run(CDK, ['synth', '--quiet', '-o', out, ...context(full)], { timeoutMs: 85_000 });
    expect({ code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ code: 0, stderr: '' });
    const templateFile = path.join(out, 'CrispBridge.template.json');
    expect(existsSync(templateFile)).toBe(true);
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).some((resource) => resource.Type === 'AWS::Lambda::Function')).toBe(true);
  }, 90_000);

  test('without jwtAudience: fails and names it', async () => {
    const { jwtAudience: _omitted, ...rest } = full;
    const result = await run(CDK, ['synth', '--quiet', '-o', tempDir('cdk-out'), ...context(rest)], { timeoutMs: 85_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('jwtAudience');
  }, 90_000);

  test('without websiteId: fails and names it', async () => {
    const { websiteId: _omitted, ...rest } = full;
    const result = await run(CDK, ['synth', '--quiet', '-o', tempDir('cdk-out'), ...context(rest)], { timeoutMs: 85_000 });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('websiteId');
  }, 90_000);
});
