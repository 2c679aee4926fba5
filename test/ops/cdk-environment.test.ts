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
  expect(() => stackOfEnvironment('staging', dir)).toThrow('--env staging: crisp-bridge: no environment "staging" in cdk.json. Environments: prod, dev.');
});

test("this repository's cdk.json: dev deploys CrispBridge-dev", () => {
  expect(stackOfEnvironment('dev', path.join(__dirname, '..', '..'))).toEqual({ stackName: 'CrispBridge-dev', region: undefined });
});

test('top-level keys override the environment, as in the app: a region for every environment, a stackName without --env', () => {
  const other = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-env-'));
  try {
    writeFileSync(path.join(other, 'cdk.json'), JSON.stringify({ context: { region: 'eu-central-1', environments: { prod: { region: 'eu-west-1' } } } }));
    expect(stackOfEnvironment('prod', other)).toEqual({ stackName: 'CrispBridge-prod', region: 'eu-central-1' });
    writeFileSync(path.join(other, 'cdk.json'), JSON.stringify({ context: { stackName: 'Support' } }));
    expect(stackOfEnvironment(undefined, other)).toEqual({ stackName: 'Support', region: undefined });
  } finally {
    rmSync(other, { recursive: true, force: true });
  }
});
