import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { type CfnStage, CorsHttpMethod, HttpApi, type HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';

export interface BridgeApiProps {
  /**
   * Browser origins allowed to call the API (CORS), e.g. `https://app.example.com`.
   * @default [] — no CORS headers: only same-origin and server-side callers
   */
  readonly allowedOrigins?: string[];
  /**
   * Steady-state request rate allowed on each route of the API, per second.
   * @default 50
   */
  readonly throttleRateLimit?: number;
  /**
   * Burst of requests allowed above the steady rate.
   * @default 100
   */
  readonly throttleBurstLimit?: number;
  /**
   * @default 'crisp-bridge'
   */
  readonly apiName?: string;
  /**
   * How long access logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: RetentionDays;
}

/**
 * One JSON line per request. Deliberately absent: the path and query string (a Website Hook
 * URL carries its key there; the route key says which route it was), every header
 * (Authorization, X-Crisp-Signature) and every authorizer claim (the email).
 */
export const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  requestTimeEpoch: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  errorMessage: '$context.error.message',
};

/**
 * The one API Gateway HTTP API in front of crisp-bridge: a `$default` stage with throttling and
 * JSON access logs (no query strings, no headers), and CORS limited to the configured origins. Routes are added by the feature constructs
 * (`TicketCenterSigner`, ...). Only the routes they add exist; anything else is a 404 from
 * API Gateway.
 */
export class BridgeApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;
  /** Base URL of the API, ending with `/`. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: BridgeApiProps = {}) {
    super(scope, id);
    const allowedOrigins = props.allowedOrigins ?? [];
    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: props.apiName ?? 'crisp-bridge',
      description: 'crisp-bridge: signed Crisp Ticket Center URLs and Crisp hooks',
      createDefaultStage: false,
      corsPreflight:
        allowedOrigins.length > 0
          ? {
              allowOrigins: allowedOrigins,
              allowMethods: [CorsHttpMethod.GET],
              allowHeaders: ['authorization'],
              maxAge: Duration.hours(1),
            }
          : undefined,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      throttle: {
        rateLimit: props.throttleRateLimit ?? 50,
        burstLimit: props.throttleBurstLimit ?? 100,
      },
    });
    this.url = this.stage.url;
  }

  /**
   * Gives one route (`'POST /hooks/crisp'`) its own throttling instead of the stage default.
   * `route` is that route's construct: the stage is created after it, or API Gateway refuses
   * route settings for a route it does not know yet.
   */
  throttleRoute(routeKey: string, route: IConstruct, rateLimit: number, burstLimit: number): void {
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride(`RouteSettings.${routeKey}`, {
      ThrottlingRateLimit: rateLimit,
      ThrottlingBurstLimit: burstLimit,
    });
    this.stage.node.addDependency(route);
  }
}
