/**
 * A deploy never overwrites a secret's value.
 *
 * CloudFormation writes a secret's value only when that property changes in the template
 * (`SecretString` for the placeholder secrets, `GenerateSecretString` for the generated Website
 * Hook key). The operator replaces the placeholder with the value from Crisp by hand; if a later
 * crisp-bridge version rendered the placeholder differently (a new wording, the purpose or stack
 * name folded in, a version number), the next `cdk deploy` would silently put the placeholder
 * back over every operator's real secret, and every hook and signed URL would fail. Likewise, a
 * different `GenerateSecretString` regenerates the Website Hook key and breaks the URL pasted
 * into Crisp.
 *
 * So the value is pinned here, written out, across everything a later version might change about
 * the secrets (purpose label, description, `valueVariable`, ids and scopes around them, other
 * props). Changing it must be a deliberate, documented decision (a major version with upgrade
 * notes), never a side effect: if this test fails, do not update the literal to make it pass.
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import { SECRET_PLACEHOLDER, isPlaceholder } from '../../functions/commons/placeholder';
import { CrispSecret } from '../../lib/constructs/crisp-secret';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { CrispBridgeStack } from '../../lib/crisp-bridge-stack';

/** The placeholder, byte for byte. Frozen: see the comment at the top. */
const PINNED_PLACEHOLDER = 'CRISP_BRIDGE_PLACEHOLDER: not set yet. Set the real value (see the stack outputs for the command).';
/** The Website Hook key's generation settings. Frozen too: a change regenerates the key. */
const PINNED_GENERATE = { PasswordLength: 48, ExcludePunctuation: true, IncludeSpace: false };

type Json = Record<string, unknown>;
interface CreatedSecret {
  variant: string;
  id: string;
  properties: Json;
}

const TICKET_CENTER: CrispBridgeProps = { websiteId: '42286ab3-b29a-4fde-8538-da0ae501d825', jwtIssuer: 'https://issuer.example.com/', jwtAudience: ['app'] };

function newApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

/** Every variant: a way a stack holding crisp-bridge secrets may differ from another. */
const VARIANTS: Array<[string, () => Stack]> = [
  ['the reference stack, defaults', () => new CrispBridgeStack(newApp(), 'CrispBridge', { bridge: { ...TICKET_CENTER, websiteHooks: true } })],
  [
    'another stack name and most props changed',
    () =>
      new CrispBridgeStack(newApp(), 'CrispBridge-prod', {
        description: 'another description',
        bridge: {
          ...TICKET_CENTER,
          jwtAudience: ['web', 'mobile'],
          emailClaim: 'https://example.com/email',
          requireEmailVerified: false,
          lowercaseEmail: true,
          allowedOrigins: ['https://app.example.com'],
          websiteHooks: true,
          dedupeTtlHours: 24,
          hookMaxAgeSeconds: 600,
          hookEvents: ['message:send'],
          alarmEmail: 'ops@example.com',
          removalPolicy: 'destroy',
          consumerTimeout: 60,
          maxReceiveCount: 3,
          metricsNamespace: 'Acme/Support',
        },
      }),
  ],
  [
    'a bridge nested in a construct of the user’s own, hooks only',
    () => {
      const stack = new Stack(newApp(), 'UserApp');
      new CrispBridge(new Construct(stack, 'Support'), 'Crisp', { ticketCenter: false, websiteHooks: true });
      return stack;
    },
  ],
  [
    'Ticket Center only',
    () => {
      const stack = new Stack(newApp(), 'TicketCenterOnly');
      new CrispBridge(stack, 'Bridge', { ...TICKET_CENTER, hooks: false });
      return stack;
    },
  ],
  [
    'CrispSecret alone, with other purposes, value variables and removal policies',
    () => {
      const stack = new Stack(newApp(), 'Secrets');
      new CrispSecret(stack, 'A', { purpose: 'A purpose label a later version might choose', valueVariable: 'SOME_OTHER_VARIABLE' });
      new CrispSecret(new Construct(stack, 'Deeper'), 'B', { purpose: 'Crisp hook signing secret (v2 wording)', removalPolicy: RemovalPolicy.DESTROY });
      new CrispSecret(stack, 'C', { purpose: 'Crisp Website Hook key, renamed', generate: true, valueVariable: 'KEY' });
      return stack;
    },
  ],
];

/** Every AWS::SecretsManager::Secret the variants create. */
const SECRETS: CreatedSecret[] = VARIANTS.flatMap(([variant, build]) =>
  Object.entries(Template.fromStack(build()).findResources('AWS::SecretsManager::Secret')).map(([id, resource]) => ({
    variant,
    id,
    properties: (resource as { Properties: Json }).Properties,
  })),
);
const PLACEHOLDER_SECRETS = SECRETS.filter((secret) => secret.properties.GenerateSecretString === undefined);
const GENERATED_SECRETS = SECRETS.filter((secret) => secret.properties.GenerateSecretString !== undefined);

// Protects: CloudFormation never writes a placeholder over a value an operator set.
describe('the placeholder value of created secrets', () => {
  it('is the constant the functions recognise as "not set yet"', () => {
    expect(SECRET_PLACEHOLDER).toBe(PINNED_PLACEHOLDER);
    expect(isPlaceholder(PINNED_PLACEHOLDER)).toBe(true);
  });

  it('covers every variant (the comparison below is not vacuous)', () => {
    // Per variant: 2 (TC + hook), 2, 1 (hook), 1 (TC), 2 (A, B).
    expect(PLACEHOLDER_SECRETS).toHaveLength(8);
    expect(new Set(PLACEHOLDER_SECRETS.map((secret) => secret.variant)).size).toBe(VARIANTS.length);
  });

  it('varies in what may vary: the descriptions differ between variants', () => {
    const descriptions = new Set(PLACEHOLDER_SECRETS.map((secret) => secret.properties.Description));
    expect(descriptions.size).toBeGreaterThanOrEqual(4);
  });

  it('is byte-identical in every created secret, in every variant, and equals the pinned literal', () => {
    for (const secret of PLACEHOLDER_SECRETS) {
      const value = secret.properties.SecretString;
      expect({ variant: secret.variant, id: secret.id, type: typeof value }).toEqual({ variant: secret.variant, id: secret.id, type: 'string' });
      expect(Buffer.from(value as string, 'utf8').equals(Buffer.from(PINNED_PLACEHOLDER, 'utf8'))).toBe(true);
    }
    expect([...new Set(PLACEHOLDER_SECRETS.map((secret) => secret.properties.SecretString))]).toEqual([PINNED_PLACEHOLDER]);
  });

  // A Name (or a different one) makes CloudFormation replace the secret: a new secret holding the
  // placeholder, and the functions pointed at it.
  it('gives no created secret a fixed Name', () => {
    for (const secret of SECRETS) expect([secret.variant, secret.id, secret.properties.Name]).toEqual([secret.variant, secret.id, undefined]);
  });
});

// Protects: a deploy never regenerates the Website Hook key (the URL pasted into Crisp keeps working).
describe('the generated Website Hook key', () => {
  it('is generated in each of the four variants that have one, with identical settings, equal to the pinned ones', () => {
    expect(GENERATED_SECRETS.map((secret) => secret.variant)).toHaveLength(4);
    for (const secret of GENERATED_SECRETS) {
      expect(secret.properties.SecretString).toBeUndefined();
      expect(secret.properties.GenerateSecretString).toEqual(PINNED_GENERATE);
    }
  });
});

// Protects: a later version does not move a created secret to a new logical id, which CloudFormation
// would deploy as a new secret holding the placeholder (the old one, with the operator's value, retained and unused).
describe('logical ids of the created secrets in CrispBridgeStack', () => {
  it('stay the same', () => {
    const ids = SECRETS.filter((secret) => secret.variant === 'the reference stack, defaults').map((secret) => secret.id);
    expect(ids.sort()).toEqual(
      ['CrispBridgeTicketCenterTicketCenterSecret6E7D73A6', 'CrispBridgeHookReceiverHookSecret5ACF4425', 'CrispBridgeHookReceiverWebsiteHookKeySecret1B50F7FB'].sort(),
    );
  });
});
