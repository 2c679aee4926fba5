/** --env <name> on the operations commands: the stack (and region) a cdk.json environment deploys. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stackOfEnvironment } from '../../scripts/ops/cdk-environment';

const dir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  path.join(dir, 'cdk.json'),
  JSON.stringify({ app: 'x', context: { environments: { prod: { stackName: 'Support-prod', region: 'eu-west-1' }, dev: { websiteHooks: true } } } }),
);

test('without --env: the stack CrispBridge, the profile region', () => {
  expect(stackOfEnvironment(undefined, dir)).toEqual({ stackName: 'CrispBridge', region: undefined });
});

test("an environment's stackName and region, else CrispBridge-<env> as the app names it", () => {
  expect(stackOfEnvironment('prod', dir)).toEqual({ stackName: 'Support-prod', region: 'eu-west-1' });
  expect(stackOfEnvironment('dev', dir)).toEqual({ stackName: 'CrispBridge-dev', region: undefined });
});

test('an unknown environment is refused, listing the known ones', () => {
  expect(() => stackOfEnvironment('staging', dir)).toThrow('--env staging: no such environment in cdk.json (environments: prod, dev)');
});

test("this repository's cdk.json: dev deploys CrispBridge-dev", () => {
  expect(stackOfEnvironment('dev', path.join(__dirname, '..', '..'))).toEqual({ stackName: 'CrispBridge-dev', region: undefined });
});
