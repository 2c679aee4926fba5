/**
 * `context.crisp`, wired at cold start: when the construct turned the Crisp API on
 * (`crispApi: true`), the consumer is given the plugin token's secret ARN in
 * CRISP_API_TOKEN_SECRET_ID and the API base URL in CRISP_API_URL. The token is read through a
 * `CachedSecret` (cached, re-read every few minutes, the placeholder refused), on the first
 * call an event makes; an unusable token rejects that call with `SecretUnavailableError`, so the
 * event is retried like any other secret outage.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient, secretsManagerSource } from '../commons/aws/secrets-manager';
import { createCrispApi, createCrispHttpClient, type CrispHttpClientOptions } from '../commons/crisp-api-client';
import { checkCrispApiUrl, type CrispApiFactory, type CrispApiToken, CrispApiTokenFormatError, DEFAULT_CRISP_API_URL, parseCrispApiToken } from '../commons/core/crisp-api';
import { ConfigError, type Env } from '../commons/env';
import type { Logger } from '../commons/logger';
import { CachedSecret, SecretFetchError, type SecretSource } from '../commons/secrets';
import { SecretUnavailableError } from './errors';

export const CRISP_API_TOKEN_SECRET_ENV = 'CRISP_API_TOKEN_SECRET_ID';
export const CRISP_API_URL_ENV = 'CRISP_API_URL';

/** The label of the token in log lines and in `SecretUnavailableError`. */
export const CRISP_API_TOKEN_LABEL = 'Crisp API token';

export interface CrispApiConfig {
  /** ARN (or local name) of the secret holding `{"identifier", "key"}`. */
  tokenSecretId: string;
  baseUrl: string;
}

/** The Crisp API settings from the environment; undefined when it is off (no token secret given). */
export function loadCrispApiConfig(env: Env): CrispApiConfig | undefined {
  const tokenSecretId = env[CRISP_API_TOKEN_SECRET_ENV]?.trim();
  if (!tokenSecretId) return undefined;
  let baseUrl: string;
  try {
    baseUrl = checkCrispApiUrl(env[CRISP_API_URL_ENV]?.trim() || DEFAULT_CRISP_API_URL);
  } catch (error) {
    throw new ConfigError(`environment variable ${CRISP_API_URL_ENV}: ${(error as Error).message}`);
  }
  return { tokenSecretId, baseUrl };
}

export interface CrispApiWiring {
  /** Where the token's value comes from. Default: Secrets Manager. */
  source?: SecretSource;
  /** The execution environment's Secrets Manager client (one per environment), made when needed. */
  secretsClient?: () => SecretsManagerClient;
  /** Test seams of the HTTP client (fetch, sleep, clock...). */
  http?: Omit<CrispHttpClientOptions, 'baseUrl' | 'token'>;
}

/**
 * The factory of `context.crisp` for this environment, or undefined when the Crisp API is off.
 * Throws `ConfigError` on a bad CRISP_API_URL (the cold start fails, naming it).
 */
export function crispApiFactory(env: Env, logger: Logger, wiring: CrispApiWiring = {}): CrispApiFactory | undefined {
  const config = loadCrispApiConfig(env);
  if (!config) return undefined;
  const token = new CachedSecret<CrispApiToken>({
    label: CRISP_API_TOKEN_LABEL,
    secretId: config.tokenSecretId,
    fetch: wiring.source ?? secretsManagerSource((wiring.secretsClient ?? createSecretsManagerClient)(), config.tokenSecretId),
    logger,
    parse: (raw) => {
      try {
        return parseCrispApiToken(raw);
      } catch (error) {
        if (error instanceof CrispApiTokenFormatError) throw new SecretFetchError('malformed', error.message);
        throw error;
      }
    },
  });
  const client = createCrispHttpClient({
    ...wiring.http,
    baseUrl: config.baseUrl,
    async token() {
      const result = await token.get();
      if (!result.ok) throw new SecretUnavailableError(CRISP_API_TOKEN_LABEL, result.reason);
      return result.value;
    },
  });
  return (scope) => createCrispApi(client, scope);
}
