/**
 * Real Chromium for the browser tests, driven by playwright-core.
 *
 * The browser is never downloaded or installed by the tests (no `npx playwright install`, no
 * apt-get): it is found on the machine. `.ci/run` installs Debian's `chromium` package before
 * `npm test`; elsewhere, install it yourself (`apt-get install chromium`, or any Chrome) or point
 * `CHROME_PATH` / `CHROMIUM_PATH` at one. What the suite does without one: see `chromiumForTests`.
 */
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Environment variables that name the browser to use, first one set wins. */
export const CHROMIUM_ENV = ['CHROME_PATH', 'CHROMIUM_PATH'] as const;

/** Command names looked up on PATH, in this order. */
export const CHROMIUM_COMMANDS = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'] as const;

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

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

export type ChromiumLookup = { found: true; path: string; from: string } | { found: false; message: string };

/**
 * Where Chromium is: `CHROME_PATH` / `CHROMIUM_PATH` when set (a path, or a command name looked
 * up on PATH; set but not found is not found, with no fallback: you asked for that one), else the
 * first of `chromium`, `chromium-browser`, `google-chrome`, `google-chrome-stable` on PATH.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const onPath = (command: string): string | undefined => {
    if (command.includes('/')) return isExecutableFile(command) ? command : undefined;
    for (const dir of dirs) {
      const candidate = path.join(dir, command);
      if (isExecutableFile(candidate)) return candidate;
    }
    return undefined;
  };
  for (const name of CHROMIUM_ENV) {
    const value = env[name]?.trim();
    if (!value) continue;
    const resolved = onPath(value);
    if (resolved) return { found: true, path: resolved, from: name };
    return { found: false, message: `${name} is set to "${value}", which is not an executable file (or a command on PATH).` };
  }
  for (const command of CHROMIUM_COMMANDS) {
    const resolved = onPath(command);
    if (resolved) return { found: true, path: resolved, from: `\`${command}\` on PATH` };
  }
  return {
    found: false,
    message: `no Chromium found: none of ${CHROMIUM_COMMANDS.join(', ')} is on PATH, and neither ${CHROMIUM_ENV.join(' nor ')} is set.`,
  };
}

/** `CI` set to a true value (`true`, `1`, `yes`...; not empty, `0`, `false` or `no`). */
export function isCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== '' && value !== '0' && value !== 'false' && value !== 'no';
}

const HOW_TO_INSTALL =
  'Install it (Debian/Ubuntu: `apt-get install -y --no-install-recommends chromium`, as root) or set CHROME_PATH to a Chrome or Chromium binary. ' +
  '.ci/run installs it before npm test.';

/**
 * What a browser suite should do, decided when its file is loaded:
 * - Chromium found: `{ run: true, path }`;
 * - not found outside CI: `{ run: false }`, after a loud `console.warn` saying the suite is skipped
 *   and how to get Chromium (use `describe.skip`);
 * - not found in CI (`CI` true): throws, so the suite fails with that message instead of
 *   passing without having run.
 */
export function chromiumForTests(suite: string, env: NodeJS.ProcessEnv = process.env): { run: true; path: string } | { run: false } {
  const lookup = findChromium(env);
  if (lookup.found) return { run: true, path: lookup.path };
  if (isCI(env)) {
    throw new Error(`${suite}: Chromium is required in CI (CI=${env.CI}), and ${lookup.message}\n${HOW_TO_INSTALL}`);
  }
  const rule = '!'.repeat(100);
  console.warn(`${rule}\n!! SKIPPED: ${suite}\n!! ${lookup.message}\n!! ${HOW_TO_INSTALL}\n!! (In CI, with CI=true, this fails the suite.)\n${rule}`);
  return { run: false };
}

/** Launches headless Chromium from `executablePath` with playwright-core. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  try {
    return await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  } catch (error) {
    throw new Error(`Could not launch ${executablePath} with playwright-core: ${error instanceof Error ? error.message : String(error)}`);
  }
}
