/**
 * The local stack's demo dashboard (http://127.0.0.1:3000/) and what it needs that the
 * deployed API does not have: the embed module and the demo built with esbuild, and a token
 * endpoint backed by the local dev issuer. Local only: none of this is deployed.
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DevTokenOptions } from './dev-issuer';

const WEB = path.join(__dirname, '..', '..', 'web');

export interface LocalResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** The CSP the demo runs under: the one a dashboard embedding the Ticket Center needs. */
export const DEMO_CSP =
  "default-src 'self'; frame-src https://plugins.crisp.chat; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Builds the browser module as teams get it: one minified ES module, no dependencies. */
export async function buildEmbed(minify = true): Promise<string> {
  const out = await build({
    entryPoints: [path.join(WEB, 'embed', 'ticket-center.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify,
    write: false,
    logLevel: 'error',
  });
  return out.outputFiles[0]!.text;
}

export type DemoSite = (method: string, pathname: string, body: Buffer) => Promise<LocalResponse | undefined>;

export async function createDemoSite(issueToken: (options: DevTokenOptions) => string): Promise<DemoSite> {
  const [embed, demo] = await Promise.all([
    buildEmbed(),
    build({ entryPoints: [path.join(WEB, 'demo', 'demo.ts')], bundle: true, format: 'esm', target: 'es2020', minify: false, write: false, logLevel: 'error' }).then(
      (out) => out.outputFiles[0]!.text,
    ),
  ]);
  const page = readFileSync(path.join(WEB, 'demo', 'index.html'), 'utf8');
  const css = readFileSync(path.join(WEB, 'demo', 'demo.css'), 'utf8');
  const asset = (type: string, body: string): LocalResponse => ({
    status: 200,
    headers: { 'content-type': `${type}; charset=utf-8`, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' },
    body,
  });

  return async (method, pathname, body) => {
    if (method === 'GET' && (pathname === '/' || pathname === '/index.html')) {
      const response = asset('text/html', page);
      response.headers['content-security-policy'] = DEMO_CSP;
      response.headers['referrer-policy'] = 'strict-origin-when-cross-origin';
      return response;
    }
    if (method === 'GET' && pathname === '/favicon.ico') return { status: 204, headers: {}, body: '' };
    if (method === 'GET' && pathname === '/demo.js') return asset('text/javascript', demo);
    if (method === 'GET' && pathname === '/demo.css') return asset('text/css', css);
    if (method === 'GET' && pathname === '/embed/ticket-center.js') return asset('text/javascript', embed);
    if (method === 'POST' && pathname === '/local/token') {
      let input: { email?: unknown; name?: unknown; verified?: unknown; ttlSeconds?: unknown };
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as typeof input;
      } catch {
        return { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"invalid_json","message":"The body is not JSON."}}' };
      }
      if (typeof input.email !== 'string' || !input.email) {
        return { status: 400, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"invalid_parameter","message":"email is required."}}' };
      }
      const token = issueToken({
        email: input.email,
        name: typeof input.name === 'string' && input.name ? input.name : undefined,
        emailVerified: input.verified !== false,
        ttlSeconds: typeof input.ttlSeconds === 'number' ? input.ttlSeconds : 3600,
      });
      return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ token }) };
    }
    return undefined;
  };
}
