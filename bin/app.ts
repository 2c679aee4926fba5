#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth|deploy -c websiteId=... -c jwtIssuer=... -c jwtAudience=...`.
 * Configuration comes from CDK context; a missing or insecure value stops synth here with a
 * message that names the key.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CrispBridgeConfigError, configFromContext } from '../lib/config';
import { CrispBridgeStack } from '../lib/crisp-bridge-stack';

const app = new App();
// AWS Solutions security checks on every synth: a finding that is neither fixed nor
// acknowledged (next to its resource, with a reason) stops synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
try {
  const bridge = configFromContext((key) => app.node.tryGetContext(key));
  new CrispBridgeStack(app, String(app.node.tryGetContext('stackName') ?? 'CrispBridge'), {
    description: 'crisp-bridge: signed Crisp Ticket Center URLs and verified Crisp hooks, in your own AWS account',
    bridge,
  });
} catch (error) {
  if (error instanceof CrispBridgeConfigError) {
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  }
  throw error;
}
