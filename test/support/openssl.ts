/**
 * Expected values computed independently of the code under test: by the openssl binary.
 */
import { execFileSync } from 'node:child_process';

/** Lowercase hex HMAC-SHA256 of `message` keyed with `key`, both UTF-8, by `openssl dgst`. */
export function opensslHmacSha256(key: string, message: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: Buffer.from(message, 'utf8') }).toString();
  const hex = out.trim().split('= ').pop() ?? '';
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}
