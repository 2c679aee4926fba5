/**
 * Real Chromium for the browser tests: Debian's `chromium` package driven by playwright-core.
 *
 * Playwright's own browser downloads are not used (no `npx playwright install`): the browser
 * comes from the distribution, so `ensureChromium()` installs it with apt-get on a fresh
 * machine (CI runs as root) and only returns its path when it is already there.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';

const run = promisify(execFile);

/** Where Debian's `chromium` package puts its launcher. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, headless, offline-friendly Chromium running as root in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The last lines of a command's output, for an error message. */
function tail(text: string | undefined, lines = 15): string {
  return (text ?? '').trim().split('\n').slice(-lines).join('\n');
}

/** Runs an apt-get command (through `sudo -n` when not root), with apt's lock waited for. */
async function aptGet(args: string[]): Promise<void> {
  const root = typeof process.getuid !== 'function' || process.getuid() === 0;
  const command = root ? 'apt-get' : 'sudo';
  const fullArgs = [...(root ? [] : ['-n', 'apt-get']), '-o', 'DPkg::Lock::Timeout=120', ...args];
  try {
    await run(command, fullArgs, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 280_000,
    });
  } catch (error) {
    const failure = error as { code?: unknown; stderr?: string; stdout?: string; message?: string };
    const output = tail(failure.stderr) || tail(failure.stdout) || failure.message || String(error);
    throw new Error(`\`${[command, ...fullArgs].join(' ')}\` failed (${String(failure.code ?? 'no exit code')}):\n${output}`);
  }
}

/**
 * The path of Debian's Chromium, installing the `chromium` package first when it is missing
 * (`apt-get install -y --no-install-recommends chromium`, after `apt-get update` if the first
 * attempt fails, e.g. on a machine whose package lists were never fetched). Allow it a few
 * minutes in that case.
 */
export async function ensureChromium(): Promise<string> {
  if (isExecutable(CHROMIUM_PATH)) return CHROMIUM_PATH;
  const hasApt = ['/usr/bin/apt-get', '/bin/apt-get'].some(existsSync);
  if (!hasApt) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH} and apt-get is not available to install it. ` +
        'The browser tests need Debian/Ubuntu with the `chromium` package (apt-get install chromium).',
    );
  }
  const install = ['install', '-y', '--no-install-recommends', 'chromium'];
  try {
    await aptGet(install);
  } catch (first) {
    try {
      await aptGet(['update']);
      await aptGet(install);
    } catch (second) {
      throw new Error(
        `Could not install Chromium for the browser tests.\n` +
          `First attempt: ${first instanceof Error ? first.message : String(first)}\n` +
          `After apt-get update: ${second instanceof Error ? second.message : String(second)}\n` +
          'Install it by hand with `apt-get update && apt-get install -y --no-install-recommends chromium` (as root).',
      );
    }
  }
  if (!isExecutable(CHROMIUM_PATH)) {
    throw new Error(`apt-get installed chromium, but ${CHROMIUM_PATH} is still missing or not executable.`);
  }
  return CHROMIUM_PATH;
}

/** Launches headless Chromium (installed if needed) with playwright-core. */
export async function launchChromium(executablePath?: string): Promise<Browser> {
  const path = executablePath ?? (await ensureChromium());
  try {
    return await chromium.launch({ executablePath: path, args: CHROMIUM_ARGS });
  } catch (error) {
    throw new Error(`Could not launch ${path} with playwright-core: ${error instanceof Error ? error.message : String(error)}`);
  }
}
