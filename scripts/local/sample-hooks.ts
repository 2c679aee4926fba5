/**
 * Realistic sample Crisp hooks (fixtures in scripts/fixtures/hooks/), signed as Crisp signs
 * them. Used by `npm run hook` and by the tests.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { signHook } from '../../functions/commons/core/hook-signature';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'hooks');

/** Event namespaces there is a sample for. */
export function sampleEvents(): string[] {
  return readdirSync(FIXTURES)
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length).replace(/-/g, ':'))
    .sort();
}

/**
 * A compact JSON body for `event`, as Crisp would send it, with fresh ids so each call is a
 * distinct event.
 */
export function sampleHookBody(event: string, options: { websiteId: string; timestampMs?: number }): string {
  const file = path.join(FIXTURES, `${event.replace(/:/g, '-')}.json`);
  let template: string;
  try {
    template = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no sample for "${event}"; samples exist for: ${sampleEvents().join(', ')}`);
  }
  const timestamp = options.timestampMs ?? Date.now();
  const filled = template
    .replaceAll('{{website_id}}', options.websiteId)
    .replaceAll('{{uuid}}', randomUUID())
    .replaceAll('{{uuid2}}', randomUUID())
    .replaceAll('{{timestamp}}', String(timestamp))
    .replaceAll('{{fingerprint}}', String(timestamp * 100 + randomInt(100)));
  return JSON.stringify(JSON.parse(filled));
}

export interface HookDelivery {
  body: string;
  headers: Record<string, string>;
}

/**
 * The headers Crisp sends with a hook: signature (Plugin Hooks only), request timestamp,
 * delivery attempt and limit, hook origin.
 */
export function hookHeaders(options: {
  body: string;
  timestamp: string;
  attempt: number;
  attemptLimit: number;
  secret?: string | undefined;
}): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'user-agent': 'Crisp-Hook-Sender (crisp-bridge npm run hook)',
    'x-crisp-request-timestamp': options.timestamp,
    'x-delivery-attempt-count': String(options.attempt),
    'x-delivery-attempt-limit': String(options.attemptLimit),
    'x-crisp-hook-origin': options.secret === undefined ? 'website/hooks local development' : 'plugin/rtm local development',
  };
  if (options.secret !== undefined) headers['x-crisp-signature'] = signHook(options.secret, options.timestamp, options.body);
  return headers;
}
