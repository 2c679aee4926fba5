import { App, Stack } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { type CrispBridgeConfig, CrispBridgeConfigError, LOCAL_DEV_ISSUER, configFromContext, validateConfig } from '../../lib/config';
import { CrispBridge, type CrispBridgeProps } from '../../lib/crisp-bridge';
import { configError } from '../support/config-error';

const WEBSITE_ID = '42286ab3-b29a-4fde-8538-da0ae501d825';
const VALID: CrispBridgeConfig = {
  websiteId: WEBSITE_ID,
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: ['app'],
};

/** A context reader over a plain object, as `app.node.tryGetContext` would be. */
const reader =
  (context: Record<string, unknown>) =>
  (key: string): unknown =>
    context[key];

const OTHER_WEBSITE_ID = '8c842203-7ed8-4e29-a608-7cf78a7d2fcc';
const HOOK_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook-AbCdEf';

const VALID_CONTEXT: Record<string, unknown> = {
  websiteId: WEBSITE_ID,
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: 'app',
};


/** Expects `config` to be refused, naming `key`. */
function expectRefused(config: CrispBridgeConfig, key: string): CrispBridgeConfigError {
  const error = configError(() => validateConfig(config));
  expect(error.key).toBe(key);
  expect(error.message).toContain(key);
  return error;
}

// Protects: synth stops on a missing or malformed CDK context value, with a message naming the key.
describe('configFromContext', () => {
  it.each(['websiteId', 'jwtIssuer', 'jwtAudience'])('refuses a missing %s, naming it', (key) => {
    const context = { ...VALID_CONTEXT };
    delete context[key];
    const error = configError(() => configFromContext(reader(context)));
    expect(error.key).toBe(key);
    expect(error.message).toContain(key);
  });

  it.each(['websiteId', 'jwtIssuer', 'jwtAudience'])('treats an empty %s as missing', (key) => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, [key]: '' })));
    expect(error.key).toBe(key);
  });

  it('parses the string values given with -c (booleans, comma-separated lists)', () => {
    const config = configFromContext(
      reader({
        ...VALID_CONTEXT,
        jwtAudience: 'a, b',
        requireEmailVerified: 'false',
        lowercaseEmail: 'true',
        allowedOrigins: 'https://app.example.com, http://localhost:5173',
        emailClaim: ' email ',
      }),
    );
    expect(config.jwtAudience).toEqual(['a', 'b']);
    expect(config.requireEmailVerified).toBe(false);
    expect(config.lowercaseEmail).toBe(true);
    expect(config.allowedOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(config.emailClaim).toBe('email');
  });

  it('parses the native booleans and arrays of cdk.json', () => {
    const config = configFromContext(
      reader({
        ...VALID_CONTEXT,
        jwtAudience: ['a', 'b'],
        requireEmailVerified: true,
        lowercaseEmail: false,
        allowedOrigins: ['https://app.example.com'],
      }),
    );
    expect(config.jwtAudience).toEqual(['a', 'b']);
    expect(config.requireEmailVerified).toBe(true);
    expect(config.lowercaseEmail).toBe(false);
    expect(config.allowedOrigins).toEqual(['https://app.example.com']);
  });

  it('leaves unset optional values undefined (the constructs apply the secure defaults)', () => {
    const config = configFromContext(reader(VALID_CONTEXT));
    // toStrictEqual: no other key at all, not even one set to undefined (ticketCenter, hooks,
    // removalPolicy, consumerTimeout, ... stay unset, and the constructs apply their defaults).
    expect(config).toStrictEqual({
      websiteId: WEBSITE_ID,
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: ['app'],
    });
  });

  it('parses the hook keys given with -c (boolean, integers, comma-separated lists, ARN)', () => {
    const config = configFromContext(
      reader({
        ...VALID_CONTEXT,
        websiteHooks: 'true',
        dedupeTtlHours: '24',
        hookMaxAgeSeconds: '900',
        hookEvents: 'message:send, session:*',
        hookWebsiteIds: `${WEBSITE_ID}, ${OTHER_WEBSITE_ID}`,
        hookSecretArn: HOOK_SECRET_ARN,
      }),
    );
    expect(config.websiteHooks).toBe(true);
    expect(config.dedupeTtlHours).toBe(24);
    expect(config.hookMaxAgeSeconds).toBe(900);
    expect(config.hookEvents).toEqual(['message:send', 'session:*']);
    expect(config.hookWebsiteIds).toEqual([WEBSITE_ID, OTHER_WEBSITE_ID]);
    expect(config.hookSecretArn).toBe(HOOK_SECRET_ARN);
  });

  it('parses the native values of cdk.json for the hook keys', () => {
    const config = configFromContext(
      reader({ ...VALID_CONTEXT, websiteHooks: false, dedupeTtlHours: 48, hookMaxAgeSeconds: 120, hookEvents: ['message:*'], hookWebsiteIds: [WEBSITE_ID] }),
    );
    expect(config.websiteHooks).toBe(false);
    expect(config.dedupeTtlHours).toBe(48);
    expect(config.hookMaxAgeSeconds).toBe(120);
    expect(config.hookEvents).toEqual(['message:*']);
    expect(config.hookWebsiteIds).toEqual([WEBSITE_ID]);
  });

  it.each(['1.5', 'abc', 1.5])('refuses a dedupeTtlHours that is not a whole number (%j), naming it', (value) => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, dedupeTtlHours: value })));
    expect(error.key).toBe('dedupeTtlHours');
    expect(error.message).toContain('dedupeTtlHours');
  });

  it.each(['60.5', '10m'])('refuses a hookMaxAgeSeconds that is not a whole number (%j), naming it', (value) => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, hookMaxAgeSeconds: value })));
    expect(error.key).toBe('hookMaxAgeSeconds');
    expect(error.message).toContain('hookMaxAgeSeconds');
  });

  it('refuses a websiteHooks that is not true/false ("yes"), naming it', () => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, websiteHooks: 'yes' })));
    expect(error.key).toBe('websiteHooks');
  });

  it('validates the hook keys it reads (a freshness window longer than the dedupe lifetime is refused)', () => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, dedupeTtlHours: '1', hookMaxAgeSeconds: '3601' })));
    expect(error.key).toBe('hookMaxAgeSeconds');
  });

  it.each(['requireEmailVerified', 'lowercaseEmail'])('refuses a boolean %s that is not true/false ("yes"), naming it', (key) => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, [key]: 'yes' })));
    expect(error.key).toBe(key);
    expect(error.message).toContain(key);
  });

  it('refuses a list holding something other than strings', () => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, jwtAudience: ['app', 42] })));
    expect(error.key).toBe('jwtAudience');
  });

  it('validates what it reads (an http issuer is refused)', () => {
    const error = configError(() => configFromContext(reader({ ...VALID_CONTEXT, jwtIssuer: 'http://issuer.example.com/' })));
    expect(error.key).toBe('jwtIssuer');
  });
});

// Protects: no insecure or malformed configuration reaches a deployed stack.
describe('validateConfig', () => {
  it('accepts a complete, secure configuration', () => {
    expect(() => validateConfig(VALID)).not.toThrow();
  });

  describe('websiteId', () => {
    it('refuses a value that is not a UUID', () => {
      expectRefused({ ...VALID, websiteId: 'my-website' }, 'websiteId');
    });
  });

  describe('jwtIssuer', () => {
    it('refuses an http issuer', () => {
      expectRefused({ ...VALID, jwtIssuer: 'http://issuer.example.com/' }, 'jwtIssuer');
    });

    it('refuses an issuer with a query string', () => {
      expectRefused({ ...VALID, jwtIssuer: 'https://issuer.example.com/?tenant=1' }, 'jwtIssuer');
    });

    it('refuses an issuer with a fragment', () => {
      expectRefused({ ...VALID, jwtIssuer: 'https://issuer.example.com/#x' }, 'jwtIssuer');
    });

    it('refuses an issuer URL with credentials in it', () => {
      expectRefused({ ...VALID, jwtIssuer: 'https://user:pass@issuer.example.com/' }, 'jwtIssuer');
    });

    it('refuses a value that is not a URL', () => {
      expectRefused({ ...VALID, jwtIssuer: 'issuer.example.com' }, 'jwtIssuer');
    });

    it("refuses the local stack's dev issuer", () => {
      expectRefused({ ...VALID, jwtIssuer: LOCAL_DEV_ISSUER }, 'jwtIssuer');
    });
  });

  describe('jwtAudience', () => {
    it('refuses an empty list', () => {
      expectRefused({ ...VALID, jwtAudience: [] }, 'jwtAudience');
    });

    it('refuses a blank audience', () => {
      expectRefused({ ...VALID, jwtAudience: ['app', ' '] }, 'jwtAudience');
    });
  });

  describe('allowedOrigins', () => {
    it('refuses a wildcard', () => {
      expectRefused({ ...VALID, allowedOrigins: ['*'] }, 'allowedOrigins');
      expectRefused({ ...VALID, allowedOrigins: ['https://*.example.com'] }, 'allowedOrigins');
    });

    it('refuses an origin with a path', () => {
      expectRefused({ ...VALID, allowedOrigins: ['https://app.example.com/app'] }, 'allowedOrigins');
    });

    it('refuses an origin with a trailing slash', () => {
      expectRefused({ ...VALID, allowedOrigins: ['https://app.example.com/'] }, 'allowedOrigins');
    });

    it('refuses an http origin other than localhost', () => {
      expectRefused({ ...VALID, allowedOrigins: ['http://app.example.com'] }, 'allowedOrigins');
    });

    it('refuses a value that is not a URL', () => {
      expectRefused({ ...VALID, allowedOrigins: ['app.example.com'] }, 'allowedOrigins');
    });

    it('accepts http://localhost with a port', () => {
      expect(() => validateConfig({ ...VALID, allowedOrigins: ['http://localhost:5173'] })).not.toThrow();
    });

    it('accepts an https origin', () => {
      expect(() => validateConfig({ ...VALID, allowedOrigins: ['https://app.example.com'] })).not.toThrow();
    });
  });

  describe('ticketCenterSecretArn', () => {
    it('refuses a malformed ARN', () => {
      expectRefused({ ...VALID, ticketCenterSecretArn: 'crisp/tc' }, 'ticketCenterSecretArn');
      expectRefused({ ...VALID, ticketCenterSecretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/crisp/tc' }, 'ticketCenterSecretArn');
      expectRefused({ ...VALID, ticketCenterSecretArn: 'arn:aws:secretsmanager:eu-west-1:1234:secret:crisp/tc' }, 'ticketCenterSecretArn');
    });

    it('accepts a complete ARN and a partial ARN', () => {
      expect(() => validateConfig({ ...VALID, ticketCenterSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc-AbCdEf' })).not.toThrow();
      expect(() => validateConfig({ ...VALID, ticketCenterSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/tc' })).not.toThrow();
    });
  });

  describe('dedupeTtlHours and hookMaxAgeSeconds', () => {
    it('accepts the defaults, and a window equal to the dedupe lifetime', () => {
      expect(() => validateConfig({ ...VALID, dedupeTtlHours: undefined, hookMaxAgeSeconds: undefined })).not.toThrow();
      expect(() => validateConfig({ ...VALID, dedupeTtlHours: 1, hookMaxAgeSeconds: 3600 })).not.toThrow();
      expect(() => validateConfig({ ...VALID, dedupeTtlHours: 8760, hookMaxAgeSeconds: 60 })).not.toThrow();
    });

    it('refuses a freshness window longer than the dedupe lifetime, naming both keys', () => {
      const error = expectRefused({ ...VALID, dedupeTtlHours: 1, hookMaxAgeSeconds: 3601 }, 'hookMaxAgeSeconds');
      expect(error.message).toContain('dedupeTtlHours');
    });

    it('measures the window against the default dedupe lifetime (168 h) when dedupeTtlHours is unset', () => {
      expectRefused({ ...VALID, hookMaxAgeSeconds: 168 * 3600 + 1 }, 'hookMaxAgeSeconds');
      expect(() => validateConfig({ ...VALID, hookMaxAgeSeconds: 168 * 3600 })).not.toThrow();
    });

    it.each([59, 0, -1, 60.5])('refuses hookMaxAgeSeconds %p (under 60 s or not whole)', (hookMaxAgeSeconds) => {
      expectRefused({ ...VALID, hookMaxAgeSeconds }, 'hookMaxAgeSeconds');
    });

    it.each([0, -1, 8761, 1.5])('refuses dedupeTtlHours %p (not a whole number between 1 and 8760)', (dedupeTtlHours) => {
      expectRefused({ ...VALID, dedupeTtlHours, hookMaxAgeSeconds: 60 }, 'dedupeTtlHours');
    });
  });

  describe('hookEvents', () => {
    it.each(['message send', 'Message:Send!', '', 'message:', ':send', 'message:*:send', '**'])('refuses %j, naming the key', (event) => {
      expectRefused({ ...VALID, hookEvents: ['message:send', event] }, 'hookEvents');
    });

    it.each(['*', 'message:*', 'message:send', 'people:profile:created', 'session:set_email'])('accepts %j', (event) => {
      expect(() => validateConfig({ ...VALID, hookEvents: [event] })).not.toThrow();
    });
  });

  describe('hookWebsiteIds', () => {
    it('refuses an entry that is not a UUID', () => {
      expectRefused({ ...VALID, hookWebsiteIds: [WEBSITE_ID, 'my-website'] }, 'hookWebsiteIds');
    });

    it('accepts UUIDs', () => {
      expect(() => validateConfig({ ...VALID, hookWebsiteIds: [WEBSITE_ID, OTHER_WEBSITE_ID] })).not.toThrow();
    });
  });

  describe('hookSecretArn', () => {
    it('refuses a malformed ARN', () => {
      expectRefused({ ...VALID, hookSecretArn: 'crisp/hook' }, 'hookSecretArn');
      expectRefused({ ...VALID, hookSecretArn: 'arn:aws:ssm:eu-west-1:123456789012:parameter/crisp/hook' }, 'hookSecretArn');
      expectRefused({ ...VALID, hookSecretArn: 'arn:aws:secretsmanager:eu-west-1:1234:secret:crisp/hook' }, 'hookSecretArn');
    });

    it('accepts a complete ARN and a partial ARN', () => {
      expect(() => validateConfig({ ...VALID, hookSecretArn: HOOK_SECRET_ARN })).not.toThrow();
      expect(() => validateConfig({ ...VALID, hookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:crisp/hook' })).not.toThrow();
    });
  });

  describe('emailClaim', () => {
    it('refuses a claim name with spaces', () => {
      expectRefused({ ...VALID, emailClaim: 'my email' }, 'emailClaim');
    });

    it('accepts a namespaced claim name', () => {
      expect(() => validateConfig({ ...VALID, emailClaim: 'https://example.com/email' })).not.toThrow();
    });
  });
});

// Protects: a misspelt prop is never silently ignored (a typo in alarmEmail would mean no alarm email, in websiteHooks no route).
describe('unknown keys', () => {
  it.each([
    ['alarmEmial', 'alarmEmail'],
    ['websiteHook', 'websiteHooks'],
    ['hookSecretARN', 'hookSecretArn'],
    ['removalpolicy', 'removalPolicy'],
    ['visibiltyTimeout', 'visibilityTimeout'],
  ])('refuses %s: did you mean %s?', (key, known) => {
    const error = configError(() => validateConfig({ ...VALID, [key]: 'x' } as CrispBridgeConfig));
    expect(error.key).toBe(key);
    expect(error.message).toContain(`unknown configuration key "${key}"`);
    expect(error.message).toContain(`did you mean "${known}"?`);
  });

  it('refuses a key like no known one, listing the known keys', () => {
    const error = configError(() => validateConfig({ ...VALID, frobnicate: true } as CrispBridgeConfig));
    expect(error.key).toBe('frobnicate');
    expect(error.message).not.toContain('did you mean');
    expect(error.message).toContain('alarmEmail, allowedOrigins');
  });

  it('ignores a key set to undefined (an optional value left unset)', () => {
    expect(() => validateConfig({ ...VALID, alarmEmial: undefined } as CrispBridgeConfig)).not.toThrow();
  });

  it('is what the CrispBridge construct does with its props (and it accepts its own logRetention and metricsNamespace)', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Props');
    const error = configError(() => new CrispBridge(stack, 'Typo', { ...VALID, alarmEmial: 'ops@example.com' } as CrispBridgeProps));
    expect(error.message).toContain('did you mean "alarmEmail"?');
    expect(() => new CrispBridge(stack, 'Ok', { ...VALID, logRetention: RetentionDays.ONE_WEEK, metricsNamespace: 'Acme/Support' })).not.toThrow();
  });
});
