/**
 * How every function is bundled: one minified ES module per function, the AWS SDK clients
 * bundled in (tree-shaken from their ES builds) rather than taken from the runtime, so the
 * deployed code is exactly the code tested here. Shared by the constructs and the tests that
 * build bundles, so both use the same settings.
 */
import { OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as path from 'node:path';

export const NODE_TARGET = 'node24';

/** ES module output needs a `require` for the CommonJS parts of dependencies. */
export const ESM_REQUIRE_BANNER = "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);";

/**
 * Module aliases for the Lambda bundles: the SDK's default credential chain is replaced with the
 * environment-variable provider, the only source Lambda uses (see lambda-credentials.ts). About
 * 40% smaller bundles and a faster cold start, measured by `npm run bench`.
 */
export const BUNDLE_ALIASES: Record<string, string> = {
  '@aws-sdk/credential-provider-node': path.join(__dirname, '..', 'functions', 'commons', 'aws', 'lambda-credentials.ts'),
};

export const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: NODE_TARGET,
  minify: true,
  sourceMap: false,
  mainFields: ['module', 'main'],
  externalModules: [],
  banner: ESM_REQUIRE_BANNER,
  esbuildArgs: Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([name, target]) => [`--alias:${name}`, target])),
};
