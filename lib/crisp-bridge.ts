import { Annotations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { type CrispBridgeConfig, validateConfig } from './config';
import { BridgeApi } from './constructs/bridge-api';
import { TICKET_CENTER_ROUTE, TicketCenterSigner } from './constructs/ticket-center-signer';

export interface CrispBridgeProps extends CrispBridgeConfig {
  /**
   * Steady-state requests per second allowed on each route.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst allowed above the steady rate.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * How long function logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * Everything crisp-bridge deploys, as one construct you can put in your own stack:
 * the HTTP API and the signed Ticket Center URL endpoint. Props are validated first; an
 * incomplete or insecure configuration throws and names the prop.
 */
export class CrispBridge extends Construct {
  readonly api: BridgeApi;
  readonly ticketCenter: TicketCenterSigner;
  /** Full URL of `GET /ticket-center/url`. */
  readonly ticketCenterUrlEndpoint: string;

  constructor(scope: Construct, id: string, props: CrispBridgeProps) {
    super(scope, id);
    validateConfig(props);

    this.api = new BridgeApi(this, 'Api', {
      allowedOrigins: props.allowedOrigins,
      throttleRateLimit: props.throttleRateLimit,
      throttleBurstLimit: props.throttleBurstLimit,
    });
    this.ticketCenter = new TicketCenterSigner(this, 'TicketCenter', {
      httpApi: this.api.httpApi,
      websiteId: props.websiteId,
      jwtIssuer: props.jwtIssuer,
      jwtAudience: props.jwtAudience,
      emailClaim: props.emailClaim,
      requireEmailVerified: props.requireEmailVerified,
      lowercaseEmail: props.lowercaseEmail,
      ticketCenterSecretArn: props.ticketCenterSecretArn,
      logRetention: props.logRetention,
    });
    this.ticketCenterUrlEndpoint = `${this.api.url.replace(/\/$/, '')}${TICKET_CENTER_ROUTE}`;

    if (props.requireEmailVerified === false) {
      Annotations.of(this).addWarningV2(
        'crisp-bridge:email-verified-off',
        'requireEmailVerified is false: any email in a valid token is signed. Keep it only if your identity provider verifies every email.',
      );
    }
    if ((props.allowedOrigins ?? []).length === 0) {
      Annotations.of(this).addInfo('allowedOrigins is empty: browsers on other origins cannot call the API (no CORS headers).');
    }
  }
}
