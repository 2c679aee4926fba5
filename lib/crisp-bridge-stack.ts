import { Aws, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
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
    const { ticketCenter, hooks, monitoring } = this.bridge;

    new CfnOutput(this, 'ApiUrl', { description: 'Base URL of the crisp-bridge HTTP API', value: this.bridge.api.url });
    const { customDomain, ticketCenterStylesheet } = this.bridge;
    if (customDomain) {
      new CfnOutput(this, 'CustomDomainUrl', {
        description: 'Base URL of the crisp-bridge HTTP API on your own domain: the hook and Ticket Center URLs use it',
        value: customDomain.url,
      });
      new CfnOutput(this, 'CustomDomainTarget', {
        description: customDomain.hostedZone
          ? 'API Gateway domain name behind your domain (the alias records in your hosted zone point at it)'
          : 'Create a CNAME record from your domain to this API Gateway domain name at your DNS provider',
        value: customDomain.targetDomainName,
      });
    }
    if (ticketCenterStylesheet) {
      new CfnOutput(this, 'TicketCenterStylesheetUrl', {
        description: "Paste into Crisp's Ticket Center settings (Customization: custom stylesheet URL)",
        value: ticketCenterStylesheet.url,
      });
    }
    if (ticketCenter) {
      const secret = ticketCenter.secret;
      new CfnOutput(this, 'TicketCenterUrlEndpoint', {
        description: 'GET this with "Authorization: Bearer <identity token>" to get a signed Ticket Center URL',
        value: this.bridge.ticketCenterUrlEndpoint!,
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

    if (hooks) {
      const receiver = hooks.receiver;
      new CfnOutput(this, 'HookUrl', {
        description: 'Paste into the Crisp Marketplace (your plugin → Settings → Events → Web Hook URL) for Plugin Hooks',
        value: hooks.pluginHookUrl,
      });
      new CfnOutput(this, 'HookSecretArn', { description: 'Secrets Manager secret holding the Crisp hook signing secret', value: receiver.hookSecret.secret.secretArn });
      new CfnOutput(this, 'SetHookSecretCommand', {
        description: 'Run this and paste the signing secret Crisp shows when you create the Web Hook',
        value: receiver.hookSecret.setValueCommand,
      });
      if (receiver.websiteHookKey && hooks.websiteHookUrl) {
        new CfnOutput(this, 'WebsiteHookUrlCommand', {
          description: 'Prints the Website Hook URL, key included, to paste into Crisp (Settings → Website Settings → Advanced → Web Hooks). Treat it as a secret.',
          value:
            `echo "${hooks.websiteHookUrl}?key=$(aws secretsmanager get-secret-value --region ${Aws.REGION} ` +
            `--secret-id ${receiver.websiteHookKey.secret.secretArn} --query SecretString --output text)"`,
        });
      }
      new CfnOutput(this, 'HookQueueUrl', { description: 'SQS queue of accepted hooks', value: hooks.queue.queue.queueUrl });
      new CfnOutput(this, 'HookDeadLetterQueueUrl', {
        description: 'SQS dead-letter queue: hooks whose processing kept failing',
        value: hooks.queue.deadLetterQueue.queueUrl,
      });
      new CfnOutput(this, 'DedupeTableName', { description: 'DynamoDB table of processed events (dedupe records)', value: hooks.dedupeTable.table.tableName });
      new CfnOutput(this, 'ConsumerFunctionName', { description: 'The consumer function running your handlers', value: hooks.consumer.function.functionName });
      const events = this.bridge.events;
      if (events) {
        new CfnOutput(this, 'EventBusName', { description: 'EventBridge bus carrying every Crisp event (source ' + events.source + ')', value: events.bus.eventBusName });
        new CfnOutput(this, 'EventBusArn', { description: 'ARN of that bus', value: events.bus.eventBusArn });
        new CfnOutput(this, 'EventArchiveName', { description: 'Archive of the Crisp events on the bus: npm run replay -- --from <time> --to <time>', value: events.archive.archiveName });
      }
      if (this.bridge.crispApi) {
        new CfnOutput(this, 'CrispApiTokenSecretArn', { description: 'Secrets Manager secret holding the Crisp API plugin token', value: this.bridge.crispApi.secret.secret.secretArn });
        new CfnOutput(this, 'SetCrispApiTokenCommand', {
          description: 'Run this and paste your Crisp Marketplace plugin token (identifier, then key) when asked',
          value: this.bridge.crispApi.setValueCommand,
        });
      }
    }
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic of the crisp-bridge alarms: subscribe email, chat or paging here',
      value: monitoring.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardUrl', {
      description: 'The crisp-bridge CloudWatch dashboard',
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${monitoring.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'MetricsNamespace', { description: 'CloudWatch namespace of the crisp-bridge metrics of this stack', value: this.bridge.metricsNamespace });
  }
}
