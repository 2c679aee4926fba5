import { Aws, type CfnResource, DefaultStackSynthesizer, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  S3OriginAccessControl,
  Signing,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { readStylesheet } from '../config';

/** The key (and URL path) the stylesheet is served under, whatever the file's own name. */
export const STYLESHEET_OBJECT_KEY = 'ticket-center.css';
/** The Content-Type the stylesheet is stored and served with. */
export const STYLESHEET_CONTENT_TYPE = 'text/css; charset=utf-8';

export interface TicketCenterStylesheetProps {
  /**
   * Path of the CSS file (relative paths from the directory `cdk` runs in). Checked at synth:
   * it must exist, end in `.css`, be at most 512 KiB of UTF-8 text, and hold no `</style`,
   * `<script` or `<!--`. Its content is deployed: a change to the file changes the asset and
   * redeploys it, and the CloudFront cache is invalidated.
   */
  readonly file: string;
  /**
   * What happens to the bucket when the stack is deleted or the bucket replaced. With
   * `DESTROY`, the deployment deletes the stylesheet first so the bucket can go: it holds
   * nothing but a copy of a file in your repository, so nothing is lost.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * How long browsers keep the stylesheet before asking again (CloudFront keeps it a day, and
   * each deployment that changes it invalidates CloudFront's copy).
   * @default Duration.minutes(5)
   */
  readonly browserCacheMaxAge?: Duration;
  /**
   * The edge locations serving it (a few requests a day per customer: the cheapest class suffices).
   * @default PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: PriceClass;
  /**
   * How long the deployment function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
}

/**
 * A CSS file from your repository, served over HTTPS from your own account for the Crisp Ticket
 * Center (Crisp: Ticket Center → Settings → Customization): a private, encrypted S3 bucket (all
 * public access blocked, TLS 1.2+ only, no website hosting) behind a CloudFront distribution that
 * alone may read it (Origin Access Control), HTTPS only, always answering
 * `Content-Type: text/css; charset=utf-8` with `X-Content-Type-Options: nosniff`. A
 * `BucketDeployment` copies the file and invalidates CloudFront's cache whenever it changes.
 *
 * The URL is the distribution's own (`https://d111111abcdef8.cloudfront.net/ticket-center.css`):
 * a custom domain on CloudFront needs a certificate in us-east-1, which a stack elsewhere cannot
 * create, and the URL is pasted into Crisp once.
 */
export class TicketCenterStylesheet extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly deployment: BucketDeployment;
  readonly responseHeadersPolicy: ResponseHeadersPolicy;
  /** `https://<distribution domain>/ticket-center.css`: paste it into Crisp. */
  readonly url: string;
  /** The absolute path of the deployed file. */
  readonly file: string;

  constructor(scope: Construct, id: string, props: TicketCenterStylesheetProps) {
    super(scope, id);
    const { path: file, css } = readStylesheet(props.file);
    this.file = file;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;

    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds one public stylesheet, a copy of a file in the repository; only CloudFront (Origin Access Control) reads it, ' +
        "and only CDK's deployment writes it. Access logs would need a second bucket, and would only list CloudFront's reads.",
    });

    // Global CloudFront names: the region keeps two stacks of one name in two regions apart
    // (room left for "-" and the longest region names).
    const name = (suffix: string, max: number): string => `${Names.uniqueResourceName(this, { maxLength: max - suffix.length - 17 })}${suffix}-${Aws.REGION}`;
    const originAccessControl = new S3OriginAccessControl(this, 'OriginAccessControl', {
      originAccessControlName: name('Oac', 64),
      description: 'crisp-bridge: CloudFront reads the Ticket Center stylesheet',
      signing: Signing.SIGV4_ALWAYS,
    });
    this.responseHeadersPolicy = new ResponseHeadersPolicy(this, 'ResponseHeaders', {
      responseHeadersPolicyName: name('Headers', 128),
      comment: 'crisp-bridge: the Ticket Center stylesheet is always text/css',
      customHeadersBehavior: {
        customHeaders: [{ header: 'Content-Type', value: STYLESHEET_CONTENT_TYPE, override: true }],
      },
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), override: true },
      },
      // A stylesheet is public: any page (Crisp's Ticket Center) may load it, also as a CORS request.
      corsBehavior: {
        accessControlAllowCredentials: false,
        accessControlAllowHeaders: ['*'],
        accessControlAllowMethods: ['GET', 'HEAD'],
        accessControlAllowOrigins: ['*'],
        originOverride: true,
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'crisp-bridge: Crisp Ticket Center stylesheet',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket, { originAccessControl }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      httpVersion: HttpVersion.HTTP2_AND_3,
      enableIpv6: true,
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: "Crisp's Ticket Center shows this stylesheet to your customers wherever they are: no country is to be refused.",
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'It serves one static, public stylesheet and nothing else (GET and HEAD only): a web ACL (from 5 USD a month) would protect nothing.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason: 'Access logs of one public stylesheet would need a logging bucket with ACLs and hold only the IP addresses of Ticket Center visitors.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          "The distribution uses CloudFront's default *.cloudfront.net certificate (a custom one would have to live in us-east-1), " +
          'with which CloudFront does not let the minimum TLS version be chosen; the content is a public stylesheet.',
      },
    );

    const logGroup = new LogGroup(this, 'DeploymentLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deployment = new BucketDeployment(this, 'Deployment', {
      // The file's content, not its path: any change to it is a new asset, so a new deployment.
      sources: [Source.data(STYLESHEET_OBJECT_KEY, css)],
      destinationBucket: this.bucket,
      contentType: STYLESHEET_CONTENT_TYPE,
      // Browsers ask again after a few minutes; CloudFront keeps it a day unless invalidated.
      cacheControl: [CacheControl.setPublic(), CacheControl.maxAge(props.browserCacheMaxAge ?? Duration.minutes(5)), CacheControl.sMaxAge(Duration.days(1))],
      distribution: this.distribution,
      distributionPaths: [`/${STYLESHEET_OBJECT_KEY}`],
      // With DESTROY, deleting the deployment empties the bucket, so CloudFormation can delete it.
      retainOnDelete: removalPolicy !== RemovalPolicy.DESTROY,
      logGroup,
    });
    acknowledgeDeploymentHandler(this.deployment.handlerRole.node.scope!, this.bucket);

    this.url = `https://${this.distribution.distributionDomainName}/${STYLESHEET_OBJECT_KEY}`;
  }
}

/**
 * The `BucketDeployment` function is CDK's own, one per stack, and runs only while CloudFormation
 * deploys: its findings are acknowledged on it (and its role and policy, below it).
 */
function acknowledgeDeploymentHandler(handler: IConstruct, bucket: Bucket): void {
  const reason = (what: string): string => `CDK's BucketDeployment function (runs only during deployments): ${what}`;
  // cdk-nag names a wildcard by the resource it is on: this bucket's objects (by logical id), and
  // the objects of the CDK asset bucket (named by the bootstrap qualifier).
  const stack = Stack.of(bucket);
  const bucketId = stack.resolve((bucket.node.defaultChild as CfnResource).logicalId) as string;
  const qualifier = stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
  Validations.of(handler).acknowledge(
    { id: 'AwsSolutions-L1', reason: reason('its runtime is chosen and updated by aws-cdk-lib with its bundled AWS CLI layer.') },
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: reason('CDK gives its role the AWS managed basic execution policy (its own logs).'),
    },
    ...[
      'Action::s3:GetObject*',
      'Action::s3:GetBucket*',
      'Action::s3:List*',
      'Action::s3:DeleteObject*',
      'Action::s3:Abort*',
      'Resource::*',
      `Resource::<${bucketId}.Arn>/*`,
      `Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*`,
    ].map((finding) => ({
      id: `AwsSolutions-IAM5[${finding}]`,
      reason: reason(
        'CDK grants reading the CDK asset bucket and replacing the objects of the stylesheet bucket (object wildcards of those two buckets), ' +
          'and CloudFront invalidations, whose ARNs do not exist before they are created.',
      ),
    })),
  );
}
