/**
 * The local stack's demo dashboard (http://127.0.0.1:3000/) and what it needs that the
 * deployed API does not have: the embed module and the demo built with esbuild, and a token
 * endpoint backed by the local dev issuer. Local only: none of this is deployed.
 *
 * `POST /local/token` mints tokens the local stack trusts for any email, so it answers only
 * the demo page itself: a JSON body (`text/plain` or a form would be a "simple" cross-site
 * request, sent without a CORS preflight) and an `Origin` that is the stack's own. A page on
 * another site can still send the request; it is refused before a token is made. (A page
 * reaching the stack through DNS rebinding is refused earlier, by the `Host` check of
 * ./api-gateway.)
 */
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { LocalResponse, LocalSite, LocalSiteRequest } from './api-gateway';
import type { DevTokenOptions } from './dev-issuer';

const WEB = path.join(__dirname, '..', '..', 'web');

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

export async function createDemoSite(issueToken: (options: DevTokenOptions) => string): Promise<LocalSite> {
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

  return async (request) => {
    const { method, pathname } = request;
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
    if (method === 'POST' && pathname === '/local/token') return tokenRequestRefusal(request) ?? mintToken(request.body, issueToken);
    return undefined;
  };
}

/**
 * Why a `POST /local/token` is not from the demo page, or undefined if it is: 403
 * `forbidden_origin` unless `Origin` is one of the stack's own (browsers send it with every
 * POST; a missing one is refused too), then 415 `unsupported_media_type` unless the body is
 * declared `application/json` (parameters such as `charset` allowed).
 */
function tokenRequestRefusal(request: LocalSiteRequest): LocalResponse | undefined {
  const origin = request.headers.origin;
  if (origin === undefined || !request.ownOrigins.includes(origin)) {
    return jsonError(403, 'forbidden_origin', `Tokens are issued only to the demo page of this local stack (Origin ${request.ownOrigins.join(', ')}).`);
  }
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    return jsonError(415, 'unsupported_media_type', 'Send the request body as application/json.');
  }
  return undefined;
}

/** A dev token for the email (and name, verified flag, lifetime) of the JSON body. */
function mintToken(body: Buffer, issueToken: (options: DevTokenOptions) => string): LocalResponse {
  let input: { email?: unknown; name?: unknown; verified?: unknown; ttlSeconds?: unknown } | null;
  try {
    input = JSON.parse(body.toString('utf8') || '{}') as typeof input;
  } catch {
    return jsonError(400, 'invalid_json', 'The body is not JSON.');
  }
  if (typeof input !== 'object' || input === null || typeof input.email !== 'string' || !input.email) {
    return jsonError(400, 'invalid_parameter', 'email is required.');
  }
  const token = issueToken({
    email: input.email,
    name: typeof input.name === 'string' && input.name ? input.name : undefined,
    emailVerified: input.verified !== false,
    ttlSeconds: typeof input.ttlSeconds === 'number' ? input.ttlSeconds : 3600,
  });
  return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ token }) };
}

function jsonError(status: number, code: string, message: string): LocalResponse {
  return { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body: JSON.stringify({ error: { code, message } }) };
}
