import { type CrispBridgeConfig, CrispBridgeConfigError, LOCAL_DEV_ISSUER, configFromContext, validateConfig } from '../../lib/config';

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

const VALID_CONTEXT: Record<string, unknown> = {
  websiteId: WEBSITE_ID,
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: 'app',
};

/** Runs `fn`, expects a CrispBridgeConfigError, and returns it. */
function configError(fn: () => unknown): CrispBridgeConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CrispBridgeConfigError);
    return error as CrispBridgeConfigError;
  }
  throw new Error('expected a CrispBridgeConfigError, nothing was thrown');
}

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
    expect(config).toEqual({
      websiteId: WEBSITE_ID,
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: ['app'],
      emailClaim: undefined,
      requireEmailVerified: undefined,
      lowercaseEmail: undefined,
      allowedOrigins: undefined,
      ticketCenterSecretArn: undefined,
    });
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

  describe('emailClaim', () => {
    it('refuses a claim name with spaces', () => {
      expectRefused({ ...VALID, emailClaim: 'my email' }, 'emailClaim');
    });

    it('accepts a namespaced claim name', () => {
      expect(() => validateConfig({ ...VALID, emailClaim: 'https://example.com/email' })).not.toThrow();
    });
  });
});
