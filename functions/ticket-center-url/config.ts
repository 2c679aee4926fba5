/** The signer's configuration, read from its environment once at cold start. */
import { type Env, optionalBoolean, optionalPositiveInteger, optionalString, requireString } from '../commons/env';
import type { IdentityPolicy } from '../commons/core/ticket-center';

export interface SignerConfig extends IdentityPolicy {
  websiteId: string;
  /** ARN (or name) of the Ticket Center secret in Secrets Manager. Never the value. */
  secretId: string;
  /** Seconds between re-reads of the secret. */
  secretRefreshSeconds: number;
}

export function loadSignerConfig(env: Env): SignerConfig {
  return {
    websiteId: requireString(env, 'CRISP_WEBSITE_ID'),
    secretId: requireString(env, 'TICKET_CENTER_SECRET_ID'),
    emailClaim: optionalString(env, 'EMAIL_CLAIM', 'email'),
    requireEmailVerified: optionalBoolean(env, 'REQUIRE_EMAIL_VERIFIED', true),
    lowercaseEmail: optionalBoolean(env, 'LOWERCASE_EMAIL', false),
    secretRefreshSeconds: optionalPositiveInteger(env, 'SECRET_REFRESH_SECONDS', 300),
  };
}
