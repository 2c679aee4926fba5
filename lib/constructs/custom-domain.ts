import { Stack, Token } from 'aws-cdk-lib';
import { ApiMapping, DomainName, EndpointType, type IHttpApi, type IHttpStage, IpAddressType, SecurityPolicy } from 'aws-cdk-lib/aws-apigatewayv2';
import { Certificate, CertificateValidation, type ICertificate } from 'aws-cdk-lib/aws-certificatemanager';
import { AaaaRecord, ARecord, HostedZone, type IHostedZone, RecordTarget } from 'aws-cdk-lib/aws-route53';
import { ApiGatewayv2DomainProperties } from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { ACM_CERTIFICATE_ARN, checkCustomDomain, invalid } from '../config';

export interface CustomDomainProps {
  /** The HTTP API served on the domain. */
  readonly httpApi: IHttpApi;
  /**
   * The API's stage mapped at the domain's root (crisp-bridge's `$default` stage). Required: an
   * API created without a default stage has none to map implicitly.
   */
  readonly stage: IHttpStage;
  /** The domain, lowercase, e.g. `crisp.example.com`. */
  readonly domainName: string;
  /**
   * An existing ACM certificate covering `domainName`, in the stack's region (a regional API
   * Gateway domain cannot use a certificate from another region, such as CloudFront's us-east-1).
   * @default a new certificate, validated through DNS in the hosted zone (`hostedZoneId` is then required)
   */
  readonly certificateArn?: string;
  /**
   * The Route 53 public hosted zone holding `domainName`, by ID (no lookup: synth works offline).
   * Given, alias A and AAAA records for the domain are created in it (and, without
   * `certificateArn`, the certificate's validation record).
   * @default no DNS record: create a CNAME from `domainName` to `targetDomainName` yourself
   */
  readonly hostedZoneId?: string;
  /** That hosted zone's name (`example.com`): required with `hostedZoneId`, a suffix of `domainName`. */
  readonly hostedZoneName?: string;
}

/**
 * Your own domain in front of an API Gateway HTTP API: a regional, dual-stack (IPv4 and IPv6)
 * API Gateway custom domain with TLS 1.2 at least, mapped at its root to the given stage, so
 * `https://<domainName>/hooks/crisp` reaches the same route as the execute-api URL. URLs pasted
 * into Crisp then name your domain, and survive the API's re-creation.
 *
 * The certificate is the given one (`certificateArn`) or a new ACM certificate validated through
 * DNS in the given Route 53 hosted zone. With a hosted zone, alias A and AAAA records point the
 * domain at API Gateway; without one, `targetDomainName` is what your DNS provider's CNAME must
 * point at. The execute-api endpoint stays on (see docs/custom-domain.md).
 */
export class CustomDomain extends Construct {
  readonly domainName: DomainName;
  readonly certificate: ICertificate;
  /** The hosted zone, when one was given. */
  readonly hostedZone: IHostedZone | undefined;
  /** `https://<domainName>/`. */
  readonly url: string;
  /**
   * API Gateway's own name for the domain (`d-abc123.execute-api.<region>.amazonaws.com`): the
   * target of a CNAME record when the domain's DNS is not in Route 53.
   */
  readonly targetDomainName: string;
  /** The alias records, with a hosted zone. */
  readonly records: { readonly a: ARecord; readonly aaaa: AaaaRecord } | undefined;

  constructor(scope: Construct, id: string, props: CustomDomainProps) {
    super(scope, id);
    checkCustomDomain(props);
    const region = Stack.of(this).region;
    const certificateRegion = props.certificateArn && !Token.isUnresolved(props.certificateArn) ? ACM_CERTIFICATE_ARN.exec(props.certificateArn)?.[1] : undefined;
    if (certificateRegion && !Token.isUnresolved(region) && certificateRegion !== region) {
      throw invalid(
        'certificateArn',
        `the certificate is in ${certificateRegion}, the stack in ${region}; ` +
          'a regional API Gateway domain needs a certificate in its own region (request or import one there).',
      );
    }

    this.hostedZone =
      props.hostedZoneId !== undefined
        ? HostedZone.fromHostedZoneAttributes(this, 'HostedZone', { hostedZoneId: props.hostedZoneId, zoneName: props.hostedZoneName!.replace(/\.$/, '') })
        : undefined;
    this.certificate = props.certificateArn
      ? Certificate.fromCertificateArn(this, 'Certificate', props.certificateArn)
      : new Certificate(this, 'Certificate', {
          domainName: props.domainName,
          validation: CertificateValidation.fromDns(this.hostedZone!),
        });

    this.domainName = new DomainName(this, 'DomainName', {
      domainName: props.domainName,
      certificate: this.certificate,
      endpointType: EndpointType.REGIONAL,
      securityPolicy: SecurityPolicy.TLS_1_2,
      ipAddressType: IpAddressType.DUAL_STACK,
    });
    const mapping = new ApiMapping(this, 'ApiMapping', { api: props.httpApi, domainName: this.domainName, stage: props.stage });
    // The stage's name is the literal `$default`, not a reference: say the mapping needs it.
    mapping.node.addDependency(props.stage);

    if (this.hostedZone) {
      const target = RecordTarget.fromAlias(new ApiGatewayv2DomainProperties(this.domainName.regionalDomainName, this.domainName.regionalHostedZoneId));
      this.records = {
        a: new ARecord(this, 'AliasRecord', { zone: this.hostedZone, recordName: props.domainName, target }),
        aaaa: new AaaaRecord(this, 'AliasRecordIpv6', { zone: this.hostedZone, recordName: props.domainName, target }),
      };
    }
    this.url = `https://${props.domainName}/`;
    this.targetDomainName = this.domainName.regionalDomainName;
  }
}
