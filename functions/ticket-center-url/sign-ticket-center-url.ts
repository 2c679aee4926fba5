/**
 * The signed-URL use case: verified identity + validated parameters + the secret -> the URL.
 * Its ports (config, secret, logger) are passed in, so it runs the same under Lambda, the local
 * stack and the tests.
 *
 * One log line per decision. A refusal logs its status, code and, for a query parameter, the
 * known name or `(unknown)` with `parameterHash` (a SHA-256 prefix of the unknown name, never the
 * name: it can be an email). The email, the URL and the HMAC are never logged.
 */
import {
  type Claims,
  type Refusal,
  type TicketCenterResponseBody,
  buildTicketCenterUrl,
  identityFromClaims,
  parseTicketCenterQuery,
  ticketCenterResponseBody,
} from '../commons/core/ticket-center';
import type { Logger } from '../commons/logger';
import type { SecretResult } from '../commons/secrets';
import type { SignerConfig } from './config';

export interface SignRequest {
  /** Claims of the token API Gateway's JWT authorizer verified; undefined if none reached us. */
  claims: Claims | undefined;
  /** The raw query string, as the browser encoded it. */
  rawQueryString: string | undefined;
}

export interface SignDeps {
  config: SignerConfig;
  secret: { get(logger?: Logger): Promise<SecretResult> };
  logger: Logger;
}

export type SignOutcome = { ok: true; body: TicketCenterResponseBody } | { ok: false; refusal: Refusal };

export async function signTicketCenterUrl(request: SignRequest, { config, secret, logger }: SignDeps): Promise<SignOutcome> {
  const refused = (refusal: Refusal): SignOutcome => {
    // The decision and why; never the email, the URL, the HMAC or an unknown parameter's name.
    logger.info(
      'ticket center url refused',
      { status: refusal.status, code: refusal.code, parameter: refusal.parameter, parameterHash: refusal.parameterHash },
      { TicketCenterUrlRefused: 1 },
    );
    return { ok: false, refusal };
  };

  const identity = identityFromClaims(request.claims, config);
  if (!identity.ok) return refused(identity.refusal);
  const query = parseTicketCenterQuery(request.rawQueryString);
  if (!query.ok) return refused(query.refusal);

  const key = await secret.get(logger);
  if (!key.ok) {
    return refused({
      status: 503,
      code: 'secret_unavailable',
      message: 'The Ticket Center is not available right now: its signing secret is not configured or cannot be read. Try again later.',
    });
  }

  const { nickname, locale, participants } = query.value;
  const url = buildTicketCenterUrl(
    { websiteId: config.websiteId, email: identity.value.email, nickname: nickname ?? identity.value.name, locale, participants },
    key.value,
  );
  logger.info(
    'ticket center url signed',
    {
      nickname: nickname ? 'query' : identity.value.name ? 'token' : 'none',
      locale,
      participants: participants?.length ?? 0,
    },
    { TicketCenterUrlSigned: 1 },
  );
  return { ok: true, body: ticketCenterResponseBody(url) };
}
