import type { RemovalPolicy } from 'aws-cdk-lib';
import { HttpMethod, type HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BridgeFunction } from './bridge-function';
import { CrispSecret } from './crisp-secret';

export const TICKET_CENTER_ROUTE = '/ticket-center/url';

export interface TicketCenterSignerProps {
  /** The HTTP API to add `GET /ticket-center/url` to. */
  readonly httpApi: HttpApi;
  /** Crisp website ID (Crisp: Settings → Workspace Settings → Setup & Integrations). */
  readonly websiteId: string;
  /** Issuer of the identity tokens the frontend sends, exactly as in their `iss` claim (https). */
  readonly jwtIssuer: string;
  /** Accepted `aud` (or `client_id`) values of those tokens. */
  readonly jwtAudience: string[];
  /**
   * Claim holding the user's verified email.
   * @default 'email'
   */
  readonly emailClaim?: string;
  /**
   * Refuse tokens whose `email_verified` claim is not true. Turn off only for an identity
   * provider that verifies every email and does not send the claim.
   * @default true
   */
  readonly requireEmailVerified?: boolean;
  /**
   * Sign the lower-cased email rather than the email exactly as the identity provider gives it.
   * @default false
   */
  readonly lowercaseEmail?: boolean;
  /**
   * ARN of an existing secret holding the Ticket Center secret.
   * @default a new secret, holding a placeholder until you set it
   */
  readonly ticketCenterSecretArn?: string;
  /**
   * Seconds the function caches the secret before reading it again (rotation delay).
   * @default 300
   */
  readonly secretRefreshSeconds?: number;
  /**
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the secrets this construct creates when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * CloudWatch namespace of the metrics the function emits.
   * @default 'CrispBridge'
   */
  readonly metricsNamespace?: string;
}

/**
 * Signed Crisp Ticket Center URLs: the secret, the signer function, and the
 * `GET /ticket-center/url` route behind a JWT authorizer, so the function only ever sees
 * claims API Gateway has verified. The function may read that one secret and nothing else.
 */
export class TicketCenterSigner extends Construct {
  readonly secret: CrispSecret;
  readonly function: BridgeFunction;
  readonly authorizer: HttpJwtAuthorizer;

  constructor(scope: Construct, id: string, props: TicketCenterSignerProps) {
    super(scope, id);
    this.secret = new CrispSecret(this, 'TicketCenterSecret', {
      purpose: 'Crisp Ticket Center secret',
      existingSecretArn: props.ticketCenterSecretArn,
      valueVariable: 'CRISP_TICKET_CENTER_SECRET',
      removalPolicy: props.removalPolicy,
    });

    this.function = new BridgeFunction(this, 'Function', {
      handlerDir: 'ticket-center-url',
      description: 'crisp-bridge: signs Crisp Ticket Center URLs for verified emails',
      logRetention: props.logRetention,
      metricsNamespace: props.metricsNamespace,
      environment: {
        CRISP_WEBSITE_ID: props.websiteId,
        EMAIL_CLAIM: props.emailClaim ?? 'email',
        REQUIRE_EMAIL_VERIFIED: String(props.requireEmailVerified ?? true),
        LOWERCASE_EMAIL: String(props.lowercaseEmail ?? false),
        SECRET_REFRESH_SECONDS: String(props.secretRefreshSeconds ?? 300),
      },
    }).readSecret(this.secret, 'TICKET_CENTER_SECRET_ID');

    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
      authorizerName: 'crisp-bridge-jwt',
      jwtAudience: props.jwtAudience,
      identitySource: ['$request.header.Authorization'],
    });

    props.httpApi.addRoutes({
      path: TICKET_CENTER_ROUTE,
      methods: [HttpMethod.GET],
      integration: new HttpLambdaIntegration('Integration', this.function),
      authorizer: this.authorizer,
    });
  }
}
