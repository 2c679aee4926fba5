/**
 * The local stack's dev values (website ID, Ticket Center secret, hook signing secret, Website
 * Hook key): taken from the environment when set, else generated once and kept in
 * `.local/dev-secrets.json` (git-ignored), so `npm start` and `npm run hook` agree across
 * restarts without talking to each other.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { localStateDir } from './dev-issuer';

export interface DevValues {
  websiteId: string;
  ticketCenterSecret: string;
  hookSecret: string;
  websiteHookKey: string;
}

/** Which environment variable overrides which value. */
export const DEV_VALUE_ENV: Record<keyof DevValues, string> = {
  websiteId: 'CRISP_WEBSITE_ID',
  ticketCenterSecret: 'TICKET_CENTER_SECRET',
  hookSecret: 'CRISP_HOOK_SECRET',
  websiteHookKey: 'CRISP_WEBSITE_HOOK_KEY',
};

export interface LoadedDevValues {
  values: DevValues;
  /** Values that came from the environment rather than the dev file. */
  fromEnv: Set<keyof DevValues>;
}

export function loadDevValues(env: NodeJS.ProcessEnv = process.env, dir: string = localStateDir()): LoadedDevValues {
  const file = path.join(dir, 'dev-secrets.json');
  let stored: Partial<DevValues> = {};
  if (existsSync(file)) stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevValues>;
  const generated: DevValues = {
    websiteId: stored.websiteId ?? randomUUID(),
    ticketCenterSecret: stored.ticketCenterSecret ?? randomBytes(24).toString('base64url'),
    hookSecret: stored.hookSecret ?? randomBytes(24).toString('hex'),
    websiteHookKey: stored.websiteHookKey ?? randomBytes(24).toString('base64url'),
  };
  if (JSON.stringify(stored) !== JSON.stringify(generated)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(generated, null, 2), { mode: 0o600 });
  }
  const values = { ...generated };
  const fromEnv = new Set<keyof DevValues>();
  for (const [key, name] of Object.entries(DEV_VALUE_ENV) as Array<[keyof DevValues, string]>) {
    const value = env[name]?.trim();
    if (value) {
      values[key] = value;
      fromEnv.add(key);
    }
  }
  return { values, fromEnv };
}
