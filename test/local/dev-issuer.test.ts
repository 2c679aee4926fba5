/**
 * The local dev issuer and the local stand-in for API Gateway's JWT authorizer.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { KeyObject } from 'node:crypto';
import {
  type AuthorizerConfig,
  type DevIssuerKey,
  LOCAL_DEV_AUDIENCE,
  LOCAL_DEV_ISSUER,
  issueDevToken,
  loadOrCreateDevIssuerKey,
  verifyAsApiGateway,
} from '../../scripts/local/dev-issuer';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-dev-issuer-'));
  dirs.push(dir);
  return dir;
}

let key: DevIssuerKey;
let keyDir: string;
let config: AuthorizerConfig;

beforeAll(() => {
  keyDir = tempDir();
  key = loadOrCreateDevIssuerKey(keyDir);
  config = { issuer: LOCAL_DEV_ISSUER, audience: [LOCAL_DEV_AUDIENCE], keys: new Map<string, KeyObject>([[key.kid, key.publicKey]]) };
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

function b64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decodePart(token: string, index: number): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function expectRefused(authorization: string | undefined, description: string, cfg: AuthorizerConfig = config): void {
  expect(verifyAsApiGateway(authorization, cfg)).toEqual({ ok: false, description });
}

describe('issueDevToken + verifyAsApiGateway', () => {
  test('a fresh token verifies and its claims come back flattened to strings', () => {
    const before = nowSeconds();
    const token = issueDevToken(key, { email: 'jane@example.com', name: 'Jane Doe', claims: { groups: ['a', 'b'], profile: { tier: 1 } } });
    const result = verifyAsApiGateway(`Bearer ${token}`, config);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const { claims } = result;
    expect(claims.email).toBe('jane@example.com');
    expect(claims.email_verified).toBe('true');
    expect(claims.name).toBe('Jane Doe');
    expect(claims.iss).toBe(LOCAL_DEV_ISSUER);
    expect(claims.aud).toBe(LOCAL_DEV_AUDIENCE);
    expect(claims.groups).toBe('[a b]');
    expect(claims.profile).toBe('{"tier":1}');
    expect(claims.exp).toMatch(/^\d+$/);
    expect(Number(claims.exp)).toBeGreaterThanOrEqual(before + 3600);
    expect(claims.iat).toMatch(/^\d+$/);
    for (const value of Object.values(claims)) expect(typeof value).toBe('string');
  });

  test('the header names RS256 and the key id', () => {
    const token = issueDevToken(key, { email: 'jane@example.com' });
    expect(decodePart(token, 0)).toEqual({ alg: 'RS256', typ: 'JWT', kid: key.kid });
  });

  test('an unverified token says email_verified "false"', () => {
    const result = verifyAsApiGateway(issueDevToken(key, { email: 'jane@example.com', emailVerified: false }), config);
    expect(result.ok && result.claims.email_verified).toBe('false');
  });

  test('the "Bearer " prefix is optional (and case-insensitive)', () => {
    const token = issueDevToken(key, { email: 'jane@example.com' });
    expect(verifyAsApiGateway(token, config).ok).toBe(true);
    expect(verifyAsApiGateway(`Bearer ${token}`, config).ok).toBe(true);
    expect(verifyAsApiGateway(`bearer ${token}`, config).ok).toBe(true);
  });

  test('missing header', () => {
    expectRefused(undefined, 'missing token');
    expectRefused('', 'missing token');
    expectRefused('Bearer ', 'missing token');
    expectRefused('  bearer', 'missing token');
  });

  test('not three parts', () => {
    const [h, p] = issueDevToken(key, { email: 'jane@example.com' }).split('.');
    expectRefused(`Bearer ${h}.${p}`, 'token is not a JWT');
    expectRefused('Bearer a.b.c.d', 'token is not a JWT');
    expectRefused('Bearer notajwt', 'token is not a JWT');
  });

  test('garbage base64', () => {
    expectRefused('Bearer !!!.@@@.###', 'token is not a JWT');
    expectRefused(`Bearer ${Buffer.from('not json').toString('base64url')}.${b64urlJson({})}.sig`, 'token is not a JWT');
    expectRefused(`Bearer ${b64urlJson({ alg: 'RS256', kid: key.kid })}.${b64urlJson(['an', 'array'])}.sig`, 'token is not a JWT');
  });

  test('tampered payload (another email, same signature)', () => {
    const token = issueDevToken(key, { email: 'jane@example.com' });
    const [h, , s] = token.split('.');
    const payload = { ...decodePart(token, 1), email: 'mallory@example.com' };
    expectRefused(`Bearer ${h}.${b64urlJson(payload)}.${s}`, 'signature verification failed');
  });

  test('alg none and HS256 are refused', () => {
    const token = issueDevToken(key, { email: 'jane@example.com' });
    const [, p, s] = token.split('.');
    expectRefused(`${b64urlJson({ alg: 'none', typ: 'JWT', kid: key.kid })}.${p}.`, 'unsupported algorithm none');
    expectRefused(`${b64urlJson({ alg: 'none', typ: 'JWT', kid: key.kid })}.${p}.${s}`, 'unsupported algorithm none');
    expectRefused(`${b64urlJson({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${p}.${s}`, 'unsupported algorithm HS256');
    expectRefused(`${b64urlJson({ typ: 'JWT', kid: key.kid })}.${p}.${s}`, 'unsupported algorithm undefined');
  });

  test('unknown kid, or no kid', () => {
    const token = issueDevToken(key, { email: 'jane@example.com' });
    const [, p, s] = token.split('.');
    expectRefused(`${b64urlJson({ alg: 'RS256', typ: 'JWT', kid: 'dev-unknown' })}.${p}.${s}`, 'kid does not match a key of the issuer');
    expectRefused(`${b64urlJson({ alg: 'RS256', typ: 'JWT' })}.${p}.${s}`, 'kid does not match a key of the issuer');
  });

  test('a token signed by another key with the same kid fails the signature check', () => {
    const other = loadOrCreateDevIssuerKey(tempDir());
    expect(other.kid).not.toBe(key.kid);
    const forged = issueDevToken({ ...other, kid: key.kid }, { email: 'jane@example.com' });
    expect(decodePart(forged, 0).kid).toBe(key.kid);
    expectRefused(forged, 'signature verification failed');
    // ...while the other key's own token is simply unknown here.
    expectRefused(issueDevToken(other, { email: 'jane@example.com' }), 'kid does not match a key of the issuer');
  });

  test('wrong issuer', () => {
    expectRefused(issueDevToken(key, { email: 'jane@example.com', issuer: 'https://issuer.example.com/' }), 'invalid issuer');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', issuer: LOCAL_DEV_ISSUER.replace(/\/$/, '') }), 'invalid issuer');
  });

  test('wrong audience', () => {
    expectRefused(issueDevToken(key, { email: 'jane@example.com', audience: 'other' }), 'invalid audience');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { aud: ['other', 'another'] } }), 'invalid audience');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { aud: undefined } }), 'invalid audience');
  });

  test('an aud array containing the audience is accepted', () => {
    const result = verifyAsApiGateway(issueDevToken(key, { email: 'jane@example.com', claims: { aud: ['other', LOCAL_DEV_AUDIENCE] } }), config);
    expect(result.ok).toBe(true);
    expect(result.ok && result.claims.aud).toBe(`[other ${LOCAL_DEV_AUDIENCE}]`);
  });

  test('client_id is accepted when aud is absent', () => {
    const token = issueDevToken(key, { email: 'jane@example.com', claims: { aud: undefined, client_id: LOCAL_DEV_AUDIENCE } });
    expect(decodePart(token, 1)).not.toHaveProperty('aud');
    const result = verifyAsApiGateway(token, config);
    expect(result.ok).toBe(true);
    expect(result.ok && result.claims.client_id).toBe(LOCAL_DEV_AUDIENCE);
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { aud: undefined, client_id: 'other' } }), 'invalid audience');
  });

  test('expired', () => {
    expectRefused(issueDevToken(key, { email: 'jane@example.com', ttlSeconds: 0 }), 'the token has expired');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', ttlSeconds: -120 }), 'the token has expired');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { exp: undefined } }), 'the token has expired');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { exp: String(nowSeconds() + 3600) } }), 'the token has expired');
    // Valid now, expired for an authorizer whose clock is two hours ahead.
    const token = issueDevToken(key, { email: 'jane@example.com' });
    expectRefused(token, 'the token has expired', { ...config, now: () => nowSeconds() + 7200 });
  });

  test('nbf in the future', () => {
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { nbf: nowSeconds() + 600 } }), 'the token is not valid yet');
    expect(verifyAsApiGateway(issueDevToken(key, { email: 'jane@example.com', claims: { nbf: nowSeconds() - 10 } }), config).ok).toBe(true);
  });

  test('iat in the future', () => {
    const future = nowSeconds() + 600;
    expectRefused(issueDevToken(key, { email: 'jane@example.com', now: future }), 'the token was issued in the future');
    expectRefused(issueDevToken(key, { email: 'jane@example.com', claims: { iat: future } }), 'the token was issued in the future');
    // The same token is fine once the authorizer's clock has caught up.
    const token = issueDevToken(key, { email: 'jane@example.com', now: future });
    expect(verifyAsApiGateway(token, { ...config, now: () => future + 1 }).ok).toBe(true);
  });
});

describe('loadOrCreateDevIssuerKey', () => {
  test('the key persists: a second load of the same folder returns the same key', () => {
    const again = loadOrCreateDevIssuerKey(keyDir);
    expect(again.kid).toBe(key.kid);
    expect(again.kid).toMatch(/^dev-[0-9a-f]{8}$/);
    // A token from one load verifies with the other's public key.
    const token = issueDevToken(again, { email: 'jane@example.com' });
    expect(verifyAsApiGateway(token, config).ok).toBe(true);
  });

  test('creates a missing folder, and the key file is readable by its owner only', () => {
    const dir = path.join(tempDir(), 'nested', 'state');
    const created = loadOrCreateDevIssuerKey(dir);
    expect(created.kid).toMatch(/^dev-/);
    const file = path.join(dir, 'dev-issuer-key.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(keyDir, 'dev-issuer-key.json')).mode & 0o777).toBe(0o600);
  });
});
