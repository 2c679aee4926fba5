import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

export interface DedupeTableProps {
  /**
   * Keep point-in-time backups of the table.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
  /**
   * What happens to the table when the stack is deleted. Kept by default: its records are what
   * stops a redelivered event from running twice, and each one says how its event went.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The dedupe records: one item per Crisp event (`pk` = its content-derived key), on-demand
 * capacity, encrypted with an AWS managed key, expired by DynamoDB TTL on `expiresAt`.
 */
export class DedupeTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: DedupeTableProps = {}) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
