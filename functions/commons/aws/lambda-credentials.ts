/**
 * The credential provider the Lambda bundles use instead of the SDK's default chain
 * (`@aws-sdk/credential-provider-node`, swapped at bundle time by an esbuild alias in
 * lib/bundling.ts). Lambda always hands a function its role's credentials in environment
 * variables; the default chain's other sources (SSO, profiles, web identity, IMDS, ECS, login)
 * never apply there, yet they are a third of each bundle and cost cold-start time to load.
 * Outside Lambda (the local stack, the tests) the sources run unbundled and keep the full chain.
 *
 * Memoized as the default chain memoizes its result: the SDK calls the provider on every request
 * (it memoizes only credentials it was given, not a default provider), and reading the
 * environment each time was a measurable part of a warm request. The variables are read again
 * when the SDK asks for a refresh, or when credentials with an expiration are within five minutes
 * of it, as the default chain does; a failed read is not kept.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type Init = Parameters<typeof fromEnv>[0];
type Provider = ReturnType<typeof fromEnv>;
type Identity = Awaited<ReturnType<Provider>>;

/** As the default chain: credentials that expire are read again five minutes before they do. */
const REFRESH_BEFORE_EXPIRY_MS = 300_000;

/** Same signature as `@aws-sdk/credential-provider-node`'s `defaultProvider`. */
export const defaultProvider = (init: Init = {}): Provider => {
  const read = fromEnv(init);
  let credentials: Identity | undefined;
  return async (options) => {
    const stale = credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < REFRESH_BEFORE_EXPIRY_MS;
    if (credentials && !stale && !options?.forceRefresh) return credentials;
    credentials = await read(options);
    return credentials;
  };
};
