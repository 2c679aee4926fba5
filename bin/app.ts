#!/usr/bin/env node
/**
 * The reference app: `npx cdk synth|diff|deploy -c env=<name>` with the environment's settings
 * from cdk.json (`environments`), or `-c websiteId=... -c jwtIssuer=... -c jwtAudience=...` alone.
 * Top-level `-c key=value` overrides the environment. A missing, misspelt or insecure value stops
 * synth here with a message that names the key.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { appConfigFromContext } from '../lib/app-config';
import { CrispBridgeConfigError } from '../lib/config';
import { CrispBridgeStack } from '../lib/crisp-bridge-stack';

const app = new App();
// AWS Solutions security checks on every synth: a finding that is neither fixed nor
// acknowledged (next to its resource, with a reason) stops synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
try {
  const config = appConfigFromContext(app.node.getAllContext());
  new CrispBridgeStack(app, config.stackName, {
    description: 'crisp-bridge: signed Crisp Ticket Center URLs and verified Crisp hooks, in your own AWS account',
    ...(config.account || config.region ? { env: { account: config.account, region: config.region } } : {}),
    bridge: config.bridge,
  });
} catch (error) {
  if (error instanceof CrispBridgeConfigError) {
    process.stderr.write(`\n${error.message}\n\n`);
    process.exit(1);
  }
  throw error;
}
