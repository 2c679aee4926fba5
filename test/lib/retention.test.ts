/**
 * `removalPolicy`: what happens to the resources holding data (the secrets the stack creates, the
 * hook queue, its dead-letter queue, the dedupe table) when the stack is deleted or a change
 * replaces them. Retained by default: deleting a stack must not lose a secret pasted from Crisp,
 * queued hooks, dead letters, or the records that stop an event from running twice.
 */
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CrispBridgeConfigError } from '../../lib/config';
import type { CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

type Resource = { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const BRIDGE: CrispBridgeProps = {
  websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825',
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
  // The generated Website Hook key is data too: it is in the URL pasted into Crisp.
  websiteHooks: true,
};

/** The data-bearing resources, by logical-id prefix (CDK appends an 8-character hash). */
const DATA_RESOURCES = [
  ['AWS::SecretsManager::Secret', 'CrispBridgeTicketCenterTicketCenterSecret'],
  ['AWS::SecretsManager::Secret', 'CrispBridgeHookReceiverHookSecret'],
  ['AWS::SecretsManager::Secret', 'CrispBridgeHookReceiverWebsiteHookKeySecret'],
  ['AWS::SQS::Queue', 'CrispBridgeHookQueue'],
  ['AWS::SQS::Queue', 'CrispBridgeHookQueueDeadLetterQueue'],
  ['AWS::DynamoDB::Table', 'CrispBridgeDedupeTable'],
] as const;

function resources(overrides: Partial<CrispBridgeProps> = {}): Record<string, Resource> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new CrispBridgeStack(app, 'Retention', { bridge: { ...BRIDGE, ...overrides } });
  return Template.fromStack(stack).toJSON().Resources as Record<string, Resource>;
}

/** The logical id of the data resource `prefix` of `type`, checking there is exactly one. */
function idOf(all: Record<string, Resource>, type: string, prefix: string): string {
  const pattern = new RegExp(`^${prefix}[0-9A-F]{8}$`);
  const ids = Object.keys(all).filter((id) => pattern.test(id) && all[id]!.Type === type);
  expect(ids).toHaveLength(1);
  return ids[0]!;
}

/** Resource ids by the policy CloudFormation applies on deletion. */
function withDeletionPolicy(all: Record<string, Resource>, policy: string): string[] {
  return Object.keys(all)
    .filter((id) => all[id]!.DeletionPolicy === policy)
    .sort();
}

// Protects: by default nothing holding data is deleted with the stack or lost when a change replaces it.
describe('by default (retain)', () => {
  const all = resources();

  it.each(DATA_RESOURCES)('retains the %s %s on deletion and on replacement', (type, prefix) => {
    const resource = all[idOf(all, type, prefix)]!;
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.UpdateReplacePolicy).toBe('Retain');
  });

  it('retains exactly those resources (the log groups are deleted with the stack)', () => {
    const expected = DATA_RESOURCES.map(([type, prefix]) => idOf(all, type, prefix)).sort();
    expect(withDeletionPolicy(all, 'Retain')).toEqual(expected);
    const logGroups = Object.keys(all).filter((id) => all[id]!.Type === 'AWS::Logs::LogGroup');
    expect(logGroups.length).toBeGreaterThan(0);
    for (const id of logGroups) expect([all[id]!.DeletionPolicy, all[id]!.UpdateReplacePolicy]).toEqual(['Delete', 'Delete']);
  });

  it('is the same with removalPolicy: "retain" and with RemovalPolicy.RETAIN', () => {
    const expected = withDeletionPolicy(all, 'Retain');
    expect(withDeletionPolicy(resources({ removalPolicy: 'retain' }), 'Retain')).toEqual(expected);
    expect(withDeletionPolicy(resources({ removalPolicy: RemovalPolicy.RETAIN }), 'Retain')).toEqual(expected);
  });
});

// Protects: a throw-away stack (dev) can opt in to deleting its data, and then nothing is left behind.
describe('removalPolicy: "destroy"', () => {
  const all = resources({ removalPolicy: 'destroy' });

  it.each(DATA_RESOURCES)('deletes the %s %s with the stack', (type, prefix) => {
    const resource = all[idOf(all, type, prefix)]!;
    expect(resource.DeletionPolicy).toBe('Delete');
    expect(resource.UpdateReplacePolicy).toBe('Delete');
  });

  it('retains nothing', () => {
    expect(withDeletionPolicy(all, 'Retain')).toEqual([]);
    expect(Object.values(all).filter((resource) => resource.UpdateReplacePolicy === 'Retain')).toEqual([]);
  });
});

// Protects: a misspelt policy is not silently taken as the default (or as destroy).
describe('invalid removalPolicy', () => {
  it.each(['delete', 'Retain', 'snapshot', ''])('refuses %j, naming removalPolicy', (value) => {
    let error: unknown;
    try {
      resources({ removalPolicy: value as 'retain' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CrispBridgeConfigError);
    expect((error as CrispBridgeConfigError).key).toBe('removalPolicy');
    expect((error as Error).message).toContain('"retain" or "destroy"');
  });
});
