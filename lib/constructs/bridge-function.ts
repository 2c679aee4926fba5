import { type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, ApplicationLogLevel, LoggingFormat, Runtime, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { BUNDLING, bundlingPaths } from '../bundling';
import { FUNCTIONS_DIR } from '../package-root';
import type { ReadableSecret } from './crisp-secret';

/** Template metadata naming the `functions/` folder a Lambda function was built from. */
export const FUNCTION_METADATA_KEY = 'crisp-bridge:function';

export interface BridgeFunctionProps {
  /** Folder under `functions/` holding the function's `handler.ts`, e.g. `ticket-center-url`. */
  readonly handlerDir: string;
  /**
   * The file to bundle instead of `functions/<handlerDir>/handler.ts` (the consumer's entry
   * generated around your handler module).
   * @default functions/<handlerDir>/handler.ts
   */
  readonly entry?: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /**
   * Memory in MB; Lambda gives CPU in proportion, which shortens cold starts.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Environment variables, merged with the ones this construct sets. Never put a secret here.
   * @default {}
   */
  readonly environment?: Record<string, string>;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * CloudWatch namespace for the metrics the function emits in its logs.
   * @default 'CrispBridge'
   */
  readonly metricsNamespace?: string;
}

/**
 * A crisp-bridge Lambda function with the project's defaults set once: Node.js 24 on arm64,
 * bundled by esbuild (no Docker), Lambda's JSON log format, a log group with a retention, and
 * a role that may write to that log group only (not AWSLambdaBasicExecutionRole, which allows
 * every log group). `readSecret()` passes a secret's ARN to the function and grants reading
 * exactly that secret, in one call.
 */
export class BridgeFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: BridgeFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `crisp-bridge ${props.handlerDir}: its log group, and what the construct grants`,
    });
    logGroup.grantWrite(role);
    // cdk-nag names a finding by the resource's logical id, e.g. IAM5[Resource::<FnLogs1234.Arn>:*].
    const logGroupId = Stack.of(scope).resolve((logGroup.node.defaultChild as CfnResource).logicalId) as string;
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logGroupId}.Arn>:*]`,
      reason: "The wildcard is the log streams of this function's own log group (Lambda creates one per execution environment).",
    });
    const entry = props.entry ?? path.join(FUNCTIONS_DIR, props.handlerDir, 'handler.ts');
    super(scope, id, {
      role,
      entry,
      handler: 'handler',
      ...bundlingPaths(entry),
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.INFO, // keeps platform.report (duration, memory, init) in the logs
      logGroup,
      environment: {
        METRICS_NAMESPACE: props.metricsNamespace ?? 'CrispBridge',
        // Stack traces point into the sources (the bundles ship source maps).
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: BUNDLING,
    });
    // Lets tools find a function's bundle in a cloud assembly (npm start -- --bundles cdk.out).
    (this.node.defaultChild as CfnResource).addMetadata(FUNCTION_METADATA_KEY, props.handlerDir);
  }

  /**
   * Lets the function read `secret` (GetSecretValue on that secret only, no other action) and
   * tells it where the secret is through `envVar`. The function receives the ARN, never the value.
   */
  readSecret(secret: ReadableSecret, envVar: string): this {
    this.addEnvironment(envVar, secret.secret.secretArn);
    secret.grantReadValue(this);
    return this;
  }
}
