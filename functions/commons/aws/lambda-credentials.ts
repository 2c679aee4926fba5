/**
 * The credential provider the Lambda bundles use instead of the SDK's default chain
 * (`@aws-sdk/credential-provider-node`, swapped at bundle time by an esbuild alias in
 * lib/bundling.ts). Lambda always hands a function its role's credentials in environment
 * variables; the default chain's other sources (SSO, profiles, web identity, IMDS, ECS, login)
 * never apply there, yet they are a third of each bundle and cost cold-start time to load.
 * Outside Lambda (the local stack, the tests) the sources run unbundled and keep the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

/** Same signature as `@aws-sdk/credential-provider-node`'s `defaultProvider`. */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
