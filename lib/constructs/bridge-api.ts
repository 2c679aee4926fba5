import { type CfnStage, CorsHttpMethod, HttpApi, type HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';

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
}

/**
 * The one API Gateway HTTP API in front of crisp-bridge: a `$default` stage with throttling,
 * and CORS limited to the configured origins. Routes are added by the feature constructs
 * (`TicketCenterSigner`, ...). Only the routes they add exist; anything else is a 404 from
 * API Gateway.
 */
export class BridgeApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
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
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.throttleRateLimit ?? 50,
        burstLimit: props.throttleBurstLimit ?? 100,
      },
    });
    this.url = this.stage.url;
  }

  /** Gives one route (`'POST /hooks/crisp'`) its own throttling instead of the stage default. */
  throttleRoute(routeKey: string, rateLimit: number, burstLimit: number): void {
    (this.stage.node.defaultChild as CfnStage).addPropertyOverride(`RouteSettings.${routeKey}`, {
      ThrottlingRateLimit: rateLimit,
      ThrottlingBurstLimit: burstLimit,
    });
  }
}
