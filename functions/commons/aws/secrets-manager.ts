/** Adapter: a `SecretSource` backed by AWS Secrets Manager. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretFetchError, type SecretSource } from '../secrets';

/**
 * One client per execution environment. The endpoint comes from the standard
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` variable when set (the local stack and the tests point it
 * at an emulator); timeouts keep a hung connection from eating the function's time.
 */
export function createSecretsManagerClient(): SecretsManagerClient {
  return new SecretsManagerClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
  });
}

export function secretsManagerSource(client: SecretsManagerClient, secretId: string): SecretSource {
  return async () => {
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return out.SecretString;
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (name === 'ResourceNotFoundException' || name === 'InvalidRequestException') {
        throw new SecretFetchError('not_found', `${name} for ${secretId}`);
      }
      if (name === 'AccessDeniedException' || name === 'DecryptionFailure' || name === 'UnrecognizedClientException') {
        throw new SecretFetchError('access_denied', `${name} for ${secretId}`);
      }
      throw error;
    }
  };
}
