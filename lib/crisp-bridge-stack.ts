import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { CrispBridge, type CrispBridgeProps } from './crisp-bridge';

export interface CrispBridgeStackProps extends StackProps {
  readonly bridge: CrispBridgeProps;
}

/** The deployable app: the CrispBridge construct and the outputs an operator needs next. */
export class CrispBridgeStack extends Stack {
  readonly bridge: CrispBridge;

  constructor(scope: Construct, id: string, props: CrispBridgeStackProps) {
    super(scope, id, props);
    this.bridge = new CrispBridge(this, 'CrispBridge', props.bridge);
    const secret = this.bridge.ticketCenter.secret;

    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the crisp-bridge HTTP API', value: this.bridge.api.url });
    new CfnOutput(this, 'TicketCenterUrlEndpoint', {
      description: 'GET this with "Authorization: Bearer <identity token>" to get a signed Ticket Center URL',
      value: this.bridge.ticketCenterUrlEndpoint,
    });
    new CfnOutput(this, 'TicketCenterSecretArn', {
      description: 'Secrets Manager secret holding the Crisp Ticket Center secret',
      value: secret.secret.secretArn,
    });
    new CfnOutput(this, 'SetTicketCenterSecretCommand', {
      description: secret.created
        ? 'Run this once, and paste the secret from Crisp (Plugins → Ticket Center → Settings → Security) when asked'
        : 'Run this to change the (imported) Ticket Center secret',
      value: secret.setValueCommand,
    });
  }
}
