/**
 * cdk-nag's AwsSolutions pack over the synthesized app, as `cdk synth` runs it (bin/app.ts adds
 * the same plugin): every finding is fixed or acknowledged next to its resource with a reason.
 * A new resource with an unacknowledged finding fails this test.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as path from 'node:path';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

const BASE: CrispBridgeProps = { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };

function appWithNag(): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['the default configuration', {}],
    ['Website Hooks, alarm email, imported secrets', {
      websiteHooks: true,
      alarmEmail: 'ops@example.com',
      ticketCenterSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc-AbCdEf',
      hookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hooks',
    }],
  ])('finds nothing unacknowledged in %s', (_, extra) => {
    const app = appWithNag();
    new CrispBridgeStack(app, 'CrispBridge', { bridge: { ...BASE, ...extra } });
    expect(() => app.synth()).not.toThrow();
  });

  it('finds nothing unacknowledged with a handler module, its settings and secrets (an ISecret and ARNs)', () => {
    const app = appWithNag();
    const stack = new Stack(app, 'WithHandlers');
    new CrispBridge(stack, 'CrispBridge', {
      ...BASE,
      handlers: {
        entry: path.join(__dirname, '..', 'fixtures', 'stack-handlers', 'handlers.ts'),
        environment: { SLACK_CHANNEL: '#support' },
        secrets: {
          CRM_KEY: Secret.fromSecretNameV2(stack, 'CrmKey', 'crm/key'),
          OTHER: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crm/other-AbCdEf',
        },
      },
    });
    expect(() => app.synth()).not.toThrow();
  });

  it('stops synth on a new resource with an unacknowledged finding', () => {
    const app = appWithNag();
    const stack = new CrispBridgeStack(app, 'CrispBridge', { bridge: BASE });
    new Queue(stack, 'CarelessQueue'); // no DLQ, no TLS enforcement
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });

  it('reports findings in a stack of its own too (the plugin sees the whole app)', () => {
    const app = appWithNag();
    new Queue(new Stack(app, 'Other'), 'Q');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });
});
