/**
 * The local stack's identity provider and JWT authorizer.
 *
 * - The dev issuer signs RS256 tokens with a key kept in `.local/dev-issuer-key.json` (created on
 *   first use, git-ignored), so `npm run token` and `npm start` agree without talking to each other.
 * - `verifyAsApiGateway` checks a request's token the way API Gateway's HTTP API JWT authorizer
 *   does: `Bearer ` prefix optional, RSA signature by the issuer's key (`kid`), `iss`, `aud` or
 *   `client_id`, `exp` in the future, `nbf` and `iat` in the past. Claims come out flattened to
 *   strings, as API Gateway hands them to the function (`true` becomes `"true"`).
 *
 * Its issuer is `LOCAL_DEV_ISSUER` (an `.invalid` domain) and synth refuses it, so a deployed
 * stack never trusts these tokens.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LOCAL_DEV_ISSUER } from '../../lib/config';

export { LOCAL_DEV_ISSUER };
export const LOCAL_DEV_AUDIENCE = 'crisp-bridge-local';

export interface DevIssuerKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** Where local-only state lives: `CRISP_BRIDGE_LOCAL_DIR`, else `.local/` in the project. */
export function localStateDir(): string {
  return process.env.CRISP_BRIDGE_LOCAL_DIR ?? path.join(__dirname, '..', '..', '.local');
}

/** Loads the dev issuer's key, creating it (atomically, so two processes agree) if needed. */
export function loadOrCreateDevIssuerKey(dir: string = localStateDir()): DevIssuerKey {
  const file = path.join(dir, 'dev-issuer-key.json');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), kid: `dev-${randomUUID().slice(0, 8)}` };
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(jwk), { mode: 0o600 });
    try {
      linkSync(tmp, file); // fails if another process created the key first: then use theirs
    } catch {
      /* keep the existing key */
    } finally {
      unlinkSync(tmp);
    }
  }
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as { kid: string } & Record<string, unknown>;
  const privateKey = createPrivateKey({ key: jwk as never, format: 'jwk' });
  return { kid: jwk.kid, privateKey, publicKey: createPublicKey(privateKey) };
}

export interface DevTokenOptions {
  email: string;
  name?: string | undefined;
  /** `email_verified` claim. Default true. */
  emailVerified?: boolean;
  /** Lifetime in seconds; zero or negative gives an already expired token. Default 3600. */
  ttlSeconds?: number;
  audience?: string;
  issuer?: string;
  /** Seconds since the epoch. Default now. */
  now?: number;
  /** Extra claims. */
  claims?: Record<string, unknown>;
}

export function issueDevToken(key: DevIssuerKey, options: DevTokenOptions): string {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const ttl = options.ttlSeconds ?? 3600;
  const payload: Record<string, unknown> = {
    iss: options.issuer ?? LOCAL_DEV_ISSUER,
    aud: options.audience ?? LOCAL_DEV_AUDIENCE,
    sub: 'dev|' + createHash('sha256').update(options.email).digest('hex').slice(0, 16),
    email: options.email,
    email_verified: options.emailVerified ?? true,
    ...(options.name ? { name: options.name } : {}),
    iat: ttl > 0 ? now : now + ttl - 60,
    exp: now + ttl,
    ...options.claims,
  };
  const header = { alg: 'RS256', typ: 'JWT', kid: key.kid };
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = sign('RSA-SHA256', Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

export interface AuthorizerConfig {
  issuer: string;
  audience: string[];
  /** Keys of the issuer, by `kid` (what API Gateway reads from the issuer's jwks_uri). */
  keys: Map<string, KeyObject>;
  /** Seconds since the epoch. */
  now?: () => number;
}

export type AuthorizerResult = { ok: true; claims: Record<string, string> } | { ok: false; description: string };

const RSA_ALGORITHMS: Record<string, string> = { RS256: 'RSA-SHA256', RS384: 'RSA-SHA384', RS512: 'RSA-SHA512' };

export function verifyAsApiGateway(authorization: string | undefined, config: AuthorizerConfig): AuthorizerResult {
  const fail = (description: string): AuthorizerResult => ({ ok: false, description });
  const raw = (authorization ?? '').replace(/^\s*Bearer(\s+|$)/i, '').trim();
  if (!raw) return fail('missing token');
  const parts = raw.split('.');
  if (parts.length !== 3) return fail('token is not a JWT');
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: string; kid?: string };
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return fail('token is not a JWT');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return fail('token is not a JWT');
  const algorithm = RSA_ALGORITHMS[header.alg ?? ''];
  if (!algorithm) return fail(`unsupported algorithm ${String(header.alg)}`);
  const key = header.kid === undefined ? undefined : config.keys.get(header.kid);
  if (!key) return fail('kid does not match a key of the issuer');
  if (!verify(algorithm, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) return fail('signature verification failed');

  const now = (config.now ?? (() => Math.floor(Date.now() / 1000)))();
  if (payload.iss !== config.issuer) return fail('invalid issuer');
  const audiences = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
  const clientId = payload.client_id;
  if (!audiences.some((aud) => config.audience.includes(String(aud))) && !(typeof clientId === 'string' && config.audience.includes(clientId))) {
    return fail('invalid audience');
  }
  if (typeof payload.exp !== 'number' || payload.exp <= now) return fail('the token has expired');
  if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now)) return fail('the token is not valid yet');
  if (payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > now)) return fail('the token was issued in the future');
  return { ok: true, claims: flattenClaims(payload) };
}

/** API Gateway passes every claim to the function as a string; arrays become "[a b]". */
export function flattenClaims(payload: Record<string, unknown>): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [name, value] of Object.entries(payload)) {
    if (Array.isArray(value)) claims[name] = `[${value.join(' ')}]`;
    else if (value !== null && typeof value === 'object') claims[name] = JSON.stringify(value);
    else claims[name] = String(value);
  }
  return claims;
}

function b64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
