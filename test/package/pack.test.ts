/**
 * The package from outside: `npm pack` (which builds), install the tarball into a fresh app in
 * the system's temp folder with the peers this repository uses, synthesize a plain-JavaScript
 * CDK app with cdk-nag for real (the app's own esbuild bundles the user's handler module), and
 * type-check the user's handler module against the installed .d.ts. Nothing from this
 * repository's sources or node_modules is visible to the app: only the tarball.
 *
 * `npm pack` rebuilds this repository's dist/ (prepack), so the sources must compile; everything
 * else happens under os.tmpdir() and is removed afterwards. About 25 s on two cores.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hookHeaders, sampleHookBody } from '../../scripts/local/sample-hooks';
import { startLocalStack } from '../../scripts/local/stack';

jest.setTimeout(180_000);

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const MARKER = 'user handler 7f3c ran';
const PEERS = ['aws-cdk-lib', 'constructs', 'esbuild', 'cdk-nag'] as const;
const MAX_CONSUMER_BUNDLE_BYTES = 400 * 1024;

const npmAvailable = spawnSync('npm', ['--version'], { encoding: 'utf8' }).error === undefined;
if (!npmAvailable) {
  console.warn(
    '\n**************************************************************\n' +
      '* SKIPPED test/package/pack.test.ts: `npm` is not on PATH, so *\n' +
      '* the package cannot be packed and installed from outside.   *\n' +
      '**************************************************************\n',
  );
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child processes: this one without what `npm test` adds about the
 * repository (its prefix, package and lifecycle), so npm inside the temp app sees only the app,
 * and without CDK's variables, so `new App()` reads only what this test gives it.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^(npm_lifecycle_|npm_package_|npm_command$|npm_config_local_prefix$|npm_config_prefix$|INIT_CWD$|CDK_)/i.test(key)) delete env[key];
  }
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, timeoutMs: number, extraEnv: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ? null : code, stdout, stderr: signal ? `${stderr}\n[killed by ${signal} after ${timeoutMs} ms]` : stderr });
    });
  });
}

function describeRun(what: string, result: RunResult): string {
  const tail = (text: string) => text.split('\n').slice(-60).join('\n');
  return `${what} exited ${result.code}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`;
}

async function mustRun(what: string, command: string, args: string[], cwd: string, timeoutMs: number): Promise<RunResult> {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) throw new Error(describeRun(what, result));
  return result;
}

function readJson<T = any>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

type Json = any;

/** A CloudFormation value with each `{ Ref }` / `{ Fn::GetAtt }` written as `${Ref:Id}` / `${Id.Attr}` and `Fn::Join` applied. */
function render(value: Json): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    if ('Ref' in value) return `\${Ref:${value.Ref}}`;
    if ('Fn::GetAtt' in value) return `\${${value['Fn::GetAtt'].join('.')}}`;
    if ('Fn::Join' in value) {
      const [separator, parts] = value['Fn::Join'] as [string, Json[]];
      return parts.map(render).join(separator);
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

const describePackage = npmAvailable ? describe : describe.skip;

describePackage('the packed package, installed into an app outside the repository', () => {
  let root = '';
  let app = '';
  let tarball = '';
  let tarFiles: string[] = [];
  let synth: RunResult;
  let control: RunResult;
  let typecheck: RunResult;
  let typecheckNode10: RunResult;
  let runtimeImports: RunResult;
  const outdir = () => path.join(app, 'cdk.out');
  const controlOutdir = () => path.join(app, 'cdk.out.no-ack');

  beforeAll(async () => {
    root = mkdtempSync(path.join(realpathSync(os.tmpdir()), 'crisp-bridge-pack-'));
    const packDir = path.join(root, 'pack');
    app = path.join(root, 'app');
    mkdirSync(packDir);
    mkdirSync(path.join(app, 'src'), { recursive: true });

    // 1. Pack (prepack builds dist/ with tsconfig.build.json).
    await mustRun('npm pack', 'npm', ['pack', '--pack-destination', packDir], REPO, 120_000);
    const tarballs = readdirSync(packDir).filter((name) => name.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);
    tarball = path.join(packDir, tarballs[0]!);
    const listing = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (listing.status !== 0) throw new Error(`tar -tzf ${tarball}: ${listing.stderr}`);
    tarFiles = listing.stdout.split('\n').filter(Boolean);

    // 2. An app depending on the tarball and on the peers at this repository's versions.
    const version = (name: string) => readJson<{ version: string }>(path.join(REPO, 'node_modules', name, 'package.json')).version;
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify(
        {
          name: 'crisp-bridge-pack-smoke',
          version: '0.0.0',
          private: true,
          dependencies: { 'crisp-bridge': `file:${tarball}`, ...Object.fromEntries(PEERS.map((name) => [name, version(name)])) },
        },
        null,
        2,
      ),
    );
    // esbuild's binary comes from its optional platform package, so install scripts are not needed.
    await mustRun('npm install', 'npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], app, 90_000);

    // 3. The app, the user's handler module, a tsconfig for the type check.
    const appSource = readFileSync(path.join(FIXTURES, 'app.js'), 'utf8');
    writeFileSync(path.join(app, 'app.js'), appSource);
    // The same app without the user's acknowledgement: the control that shows cdk-nag runs.
    writeFileSync(path.join(app, 'app-no-ack.js'), appSource.split('\n').filter((line) => !line.includes('// user-ack')).join('\n'));
    writeFileSync(path.join(app, 'runtime-imports.js'), readFileSync(path.join(FIXTURES, 'runtime-imports.js'), 'utf8'));
    writeFileSync(path.join(app, 'src', 'crisp-handlers.ts'), readFileSync(path.join(FIXTURES, 'crisp-handlers.ts.txt'), 'utf8'));
    writeFileSync(path.join(app, 'src', 'type-checks.ts'), readFileSync(path.join(FIXTURES, 'type-checks.ts.txt'), 'utf8'));
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify(
        {
          compilerOptions: {
            target: 'ES2022',
            // aws-cdk-lib's own .d.ts use `Disposable`.
            lib: ['ES2022', 'ESNext.Disposable'],
            module: 'node16',
            moduleResolution: 'node16',
            strict: true,
            noEmit: true,
            // No @types/* at all, and the shipped .d.ts are checked too: one that needs a type
            // package the user lacks (aws-lambda, node) fails here.
            types: [],
            skipLibCheck: false,
          },
          include: ['src'],
        },
        null,
        2,
      ),
    );

    // The same sources under the older resolution many CDK apps still use (no `exports`: typesVersions).
    writeFileSync(
      path.join(app, 'tsconfig.node10.json'),
      JSON.stringify({ extends: './tsconfig.json', compilerOptions: { module: 'commonjs', moduleResolution: 'node10' } }, null, 2),
    );

    // 4 and 5, side by side: synth with real bundling, the cdk-nag control (no bundling), tsc,
    // and what Node loads from the package at run time.
    [synth, control, typecheck, runtimeImports, typecheckNode10] = await Promise.all([
      run(process.execPath, ['app.js', outdir()], app, 120_000),
      run(process.execPath, ['app-no-ack.js', controlOutdir()], app, 120_000, { CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }) }),
      run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', path.join(app, 'tsconfig.json')], app, 120_000),
      run(process.execPath, ['runtime-imports.js'], app, 60_000),
      run(process.execPath, [path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '-p', path.join(app, 'tsconfig.node10.json')], app, 120_000),
    ]);
  }, 180_000);

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('the tarball', () => {
    it('holds the build, the functions sources and the license', () => {
      for (const file of [
        'package/package.json',
        'package/dist/lib/index.js',
        'package/dist/lib/index.d.ts',
        'package/dist/functions/handlers.js',
        'package/dist/functions/handlers.d.ts',
        'package/functions/handlers.ts',
        'package/functions/consumer/create-handler.ts',
        'package/README.md',
        'package/LICENSE',
      ]) {
        expect(tarFiles).toContain(file);
      }
    });

    it('ships no source maps or declaration maps pointing at sources it does not ship', () => {
      expect(tarFiles.filter((file) => file.startsWith('package/dist/') && file.endsWith('.map'))).toEqual([]);
    });

    it('holds nothing of the repository tooling', () => {
      const unwanted = tarFiles.filter(
        (file) =>
          /^package\/(test|scripts|bench|bin|coverage|test-output)\//.test(file) ||
          file.split('/').some((part) => ['cdk.out', '.local', 'node_modules', '.git', '.cache'].includes(part)) ||
          /\.(tsbuildinfo|tgz)$|(^|\/)\.env/.test(file),
      );
      expect(unwanted).toEqual([]);
    });

    it('has every file its manifest points at (main, types, exports)', () => {
      const installed = path.join(app, 'node_modules', 'crisp-bridge');
      const manifest = readJson(path.join(installed, 'package.json'));
      const targets: string[] = [manifest.main, manifest.types];
      const walk = (value: Json): void => {
        if (typeof value === 'string') targets.push(value);
        else if (value && typeof value === 'object') Object.values(value).forEach(walk);
      };
      walk(manifest.exports);
      const missing = targets.filter((target) => !existsSync(path.join(installed, target)));
      expect(missing).toEqual([]);
    });

    it('loads in Node: crisp-bridge/handlers without CDK, the root with named exports for ES modules', () => {
      expect({ code: runtimeImports.code, output: runtimeImports.code === 0 ? '' : describeRun('node runtime-imports.js', runtimeImports) }).toEqual({ code: 0, output: '' });
      expect(JSON.parse(runtimeImports.stdout)).toEqual({
        handlers: { defineHandlers: 'function', PermanentError: 'function' },
        cdkModulesLoaded: [],
        esmNamedExports: ['CrispBridge', 'defineHandlers', 'PermanentError'],
      });
    });
  });

  describe('the app', () => {
    it('installed crisp-bridge from the tarball, inside the temp folder and outside the repository', () => {
      expect(path.relative(REPO, app).startsWith('..')).toBe(true);
      const installed = path.join(app, 'node_modules', 'crisp-bridge');
      expect(lstatSync(installed).isSymbolicLink()).toBe(false);
      const locked = readJson(path.join(app, 'package-lock.json')).packages['node_modules/crisp-bridge'];
      expect(path.resolve(app, String(locked.resolved).replace(/^file:/, ''))).toBe(tarball);
      expect(readJson(path.join(installed, 'package.json')).version).toBe(readJson(path.join(REPO, 'package.json')).version);
    });

    it('synthesizes with cdk-nag and finds nothing unacknowledged', () => {
      expect({ code: synth.code, output: synth.code === 0 ? '' : describeRun('node app.js', synth) }).toEqual({ code: 0, output: '' });
      expect(`${synth.stdout}\n${synth.stderr}`).not.toMatch(/AwsSolutions-|ValidationFailed/);
      const report = readJson(path.join(outdir(), 'validation-report.json'));
      expect(report.pluginReports.filter((plugin: Json) => plugin.conclusion !== 'success')).toEqual([]);
    });

    it("without the user's acknowledgement, cdk-nag finds only the rotation of the user's own secret", () => {
      // The control: proves the plugin runs in this app, and that crisp-bridge's resources need nothing from the user.
      expect(control.code).not.toBe(0);
      const report = readJson(path.join(controlOutdir(), 'validation-report.json'));
      const findings = report.pluginReports.flatMap((plugin: Json) =>
        plugin.violations.flatMap((violation: Json) => violation.violatingConstructs.map((construct: Json) => `${violation.ruleName} ${construct.constructPath}`)),
      );
      expect(findings).toEqual(['AwsSolutions-SMG4 SmokeApp/CrmKey/Resource']);
    });
  });

  describe('the synthesized stack', () => {
    let template: Json;
    const resources = (type: string): [string, Json][] => Object.entries<Json>(template.Resources).filter(([, resource]) => resource.Type === type);
    const functionBuiltFrom = (dir: string): [string, Json] | undefined =>
      resources('AWS::Lambda::Function').find(([, fn]) => fn.Metadata?.['crisp-bridge:function'] === dir);
    const crmSecretId = (): string => {
      const matches = resources('AWS::SecretsManager::Secret').filter(([, secret]) => secret.Properties?.Description === 'CRM API key read by the Crisp handlers');
      expect(matches).toHaveLength(1);
      return matches[0]![0];
    };
    const consumer = (): [string, Json] => {
      const found = functionBuiltFrom('consumer');
      expect(found).toBeDefined();
      return found!;
    };

    beforeAll(() => {
      if (synth?.code === 0) template = readJson(path.join(outdir(), 'SmokeApp.template.json'));
    });

    it('has no Ticket Center: no authorizer, no signer function, no /ticket-center route', () => {
      expect(template).toBeDefined();
      expect(resources('AWS::ApiGatewayV2::Authorizer')).toEqual([]);
      expect(functionBuiltFrom('ticket-center-url')).toBeUndefined();
      expect(resources('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties.RouteKey)).toEqual(['POST /hooks/crisp']);
    });

    it('routes POST /hooks/crisp to the hook receiver', () => {
      const receiver = functionBuiltFrom('hook-receiver');
      expect(receiver).toBeDefined();
      const [, route] = resources('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === 'POST /hooks/crisp')!;
      const integrationId = /^integrations\/\$\{Ref:(.+)\}$/.exec(render(route.Properties.Target))?.[1];
      expect(integrationId).toBeDefined();
      expect(render(template.Resources[integrationId!].Properties.IntegrationUri)).toBe(`\${${receiver![0]}.Arn}`);
    });

    it("gives the consumer the user's setting and the CRM secret's ARN, not its value", () => {
      const [, fn] = consumer();
      const variables = fn.Properties.Environment.Variables;
      expect(variables.SLACK_CHANNEL).toBe('#support');
      expect(JSON.parse(render(variables.HANDLER_SECRETS))).toEqual({ CRM_KEY: `\${Ref:${crmSecretId()}}` });
    });

    it('lets the consumer read exactly the CRM secret and no other', () => {
      const [, fn] = consumer();
      const roleId = /^\$\{(.+)\.Arn\}$/.exec(render(fn.Properties.Role))?.[1];
      expect(roleId).toBeDefined();
      const role = template.Resources[roleId!];
      expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
      const statements: Json[] = [
        ...(role.Properties.Policies ?? []).flatMap((policy: Json) => policy.PolicyDocument.Statement),
        ...resources('AWS::IAM::Policy')
          .filter(([, policy]) => (policy.Properties.Roles ?? []).some((r: Json) => r.Ref === roleId))
          .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement),
      ];
      const actions = (statement: Json): string[] => [statement.Action].flat();
      const secretStatements = statements.filter((statement) => actions(statement).some((action) => /^secretsmanager:|^\*$/.test(action)));
      expect(secretStatements.map((statement) => ({ effect: statement.Effect, actions: actions(statement), resources: [statement.Resource].flat().map(render) }))).toEqual([
        { effect: 'Allow', actions: ['secretsmanager:GetSecretValue'], resources: [`\${Ref:${crmSecretId()}}`] },
      ]);
      // The hook signing secret exists, and is the receiver's alone.
      const otherSecrets = resources('AWS::SecretsManager::Secret').map(([id]) => id).filter((id) => id !== crmSecretId());
      expect(otherSecrets).toHaveLength(1);
      expect(JSON.stringify(statements)).not.toContain(otherSecrets[0]!);
    });

    it("bundles the user's handler module into the consumer, without any CDK code", () => {
      const [, fn] = consumer();
      const objectKey = render(fn.Properties.Code.S3Key);
      const assets = readJson(path.join(outdir(), 'SmokeApp.assets.json'));
      const asset = assets.files[objectKey.replace(/\.zip$/, '')];
      expect(asset).toBeDefined();
      const bundleDir = path.join(outdir(), asset.source.path);
      const bundle = readFileSync(path.join(bundleDir, 'index.mjs'), 'utf8');
      expect(bundle).toContain(MARKER);
      // Text every jsii class (constructs, aws-cdk-lib) carries, and the CDK's module names.
      for (const cdkText of ['jsii.rtti', 'constructs.Construct', 'aws-cdk-lib', '@aws-cdk/']) expect(bundle).not.toContain(cdkText);
      expect(statSync(path.join(bundleDir, 'index.mjs')).size).toBeLessThan(MAX_CONSUMER_BUNDLE_BYTES);
      // The source map names every file that went in: the handler module, crisp-bridge's runtime
      // sources (the `crisp-bridge-source` condition), and neither CDK nor crisp-bridge's dist/.
      const sources: string[] = readJson(path.join(bundleDir, 'index.mjs.map')).sources;
      expect(sources).toContain('../../src/crisp-handlers.ts');
      expect(sources).toContain('../../node_modules/crisp-bridge/functions/consumer/registry.ts');
      expect(sources.filter((source) => /node_modules\/(aws-cdk-lib|constructs|@aws-cdk|esbuild|cdk-nag)\/|crisp-bridge\/dist\//.test(source))).toEqual([]);
    });
  });

  describe("the user's handler module", () => {
    it("type-checks against the installed package's .d.ts, which reject undeclared settings and secrets", () => {
      expect({ code: typecheck.code, output: typecheck.code === 0 ? '' : describeRun('tsc', typecheck) }).toEqual({ code: 0, output: '' });
    });

    it('type-checks under moduleResolution node10 too (crisp-bridge/handlers through typesVersions)', () => {
      expect({ code: typecheckNode10.code, output: typecheckNode10.code === 0 ? '' : describeRun('tsc', typecheckNode10) }).toEqual({ code: 0, output: '' });
    });

    // What `npm start -- --handlers ../app/src/crisp-handlers.ts` does from a clone: the module,
    // importing crisp-bridge from the app's own node_modules, runs in the local consumer process.
    it('runs on the local stack from its own folder, with its setting and secret', async () => {
      const chunks: string[] = [];
      const write = process.stdout.write;
      process.stdout.write = ((chunk: string | Uint8Array) => {
        chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      }) as typeof process.stdout.write;
      const stateDir = path.join(root, 'local');
      const stack = await startLocalStack({
        port: 0,
        stateDir,
        consumerProcess: true,
        handlers: path.join(app, 'src', 'crisp-handlers.ts'),
        handlerSettings: { SLACK_CHANNEL: '#support-local' },
        handlerSecrets: { CRM_KEY: 'local-crm-key' },
        hookSecret: 'pack-test-hook-secret',
      });
      try {
        await stack.consumerProcess!.ready();
        const body = sampleHookBody('message:send', { websiteId: stack.websiteId });
        const response = await fetch(`${stack.url}/hooks/crisp`, {
          method: 'POST',
          headers: hookHeaders({ body, timestamp: String(Date.now()), attempt: 1, attemptLimit: 3, secret: 'pack-test-hook-secret' }),
          body,
        });
        expect(response.status).toBe(200);
        const deadline = Date.now() + 30_000;
        const ran = () => chunks.join('').split('\n').find((line) => line.includes('"user handler 7f3c ran"'));
        while (!ran() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        expect(JSON.parse(ran() ?? '{}')).toMatchObject({ channel: '#support-local', keyLength: 'local-crm-key'.length });
      } finally {
        await stack.close();
        process.stdout.write = write;
      }
    }, 60_000);
  });
});
