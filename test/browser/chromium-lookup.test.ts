/**
 * How the browser suite finds Chromium (test/support/chromium.ts), without a browser: a fake
 * executable in a temp folder on PATH. Missing outside CI: skip with a warning; in CI: fail.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromiumForTests, findChromium, isCI } from '../support/chromium';

let dir: string;
let other: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-chromium-lookup-'));
  other = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-chromium-lookup-other-'));
  for (const name of ['google-chrome', 'chromium-browser']) {
    writeFileSync(path.join(dir, name), '#!/bin/sh\n');
    chmodSync(path.join(dir, name), 0o755);
  }
  writeFileSync(path.join(other, 'chromium'), 'not executable');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(other, { recursive: true, force: true });
});

test('PATH: the first of chromium, chromium-browser, google-chrome that is an executable file', () => {
  expect(findChromium({ PATH: [other, dir].join(path.delimiter) })).toEqual({ found: true, path: path.join(dir, 'chromium-browser'), from: '`chromium-browser` on PATH' });
});

test('CHROME_PATH, then CHROMIUM_PATH, win over PATH; set to nothing usable is not found (no fallback)', () => {
  const env = { PATH: dir, CHROMIUM_PATH: path.join(dir, 'google-chrome') };
  expect(findChromium(env)).toMatchObject({ found: true, path: path.join(dir, 'google-chrome'), from: 'CHROMIUM_PATH' });
  expect(findChromium({ ...env, CHROME_PATH: 'google-chrome' })).toMatchObject({ found: true, path: path.join(dir, 'google-chrome'), from: 'CHROME_PATH' });
  expect(findChromium({ PATH: dir, CHROME_PATH: path.join(other, 'chromium') })).toEqual({ found: false, message: expect.stringContaining('CHROME_PATH is set to') });
});

test('isCI: CI set to a true value', () => {
  for (const value of ['true', '1', 'yes', 'TRUE']) expect(isCI({ CI: value })).toBe(true);
  for (const value of [undefined, '', '0', 'false', 'no', 'False']) expect(isCI({ CI: value })).toBe(false);
});

test('missing: a loud warning and a skip outside CI; an error naming the fix in CI', () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    expect(chromiumForTests('the suite', { PATH: other })).toEqual({ run: false });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toMatch(/SKIPPED: the suite[\s\S]*no Chromium found[\s\S]*apt-get install/);
    expect(() => chromiumForTests('the suite', { PATH: other, CI: 'true' })).toThrow(/the suite: Chromium is required in CI \(CI=true\)[\s\S]*apt-get install/);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(chromiumForTests('the suite', { PATH: dir, CI: 'true' })).toEqual({ run: true, path: path.join(dir, 'chromium-browser') });
  } finally {
    warn.mockRestore();
  }
});
