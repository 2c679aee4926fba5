/**
 * Reading a function's configuration from its environment, once, at cold start.
 * A missing or malformed variable fails the cold start with the variable's name, instead
 * of `process.env.X || ''` failing later, somewhere less obvious.
 */

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function requireString(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`environment variable ${name} is required but not set`);
  return value;
}

export function optionalString(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

export function optionalBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = env[name]?.trim().toLowerCase();
  if (!value) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(`environment variable ${name} must be "true" or "false", got "${env[name]}"`);
}

export function optionalPositiveInteger(env: Env, name: string, fallback: number): number {
  const value = env[name]?.trim();
  if (!value) return fallback;
  if (!/^[1-9][0-9]*$/.test(value)) {
    throw new ConfigError(`environment variable ${name} must be a positive integer, got "${value}"`);
  }
  return Number(value);
}
