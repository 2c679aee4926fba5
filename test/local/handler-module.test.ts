/** Which handler module npm start runs: --handlers, else cdk.json's handlers.entry, else the example. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chooseHandlerModule } from '../../scripts/local/handler-module';

const EXAMPLE = '/example/handlers.ts';
let app: string;
beforeEach(() => {
  app = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-app-'));
  mkdirSync(path.join(app, 'src'));
  writeFileSync(path.join(app, 'src', 'crisp-handlers.ts'), 'export default {};\n');
  writeFileSync(path.join(app, 'src', 'other.ts'), 'export default {};\n');
});
afterEach(() => rmSync(app, { recursive: true, force: true }));
const cdkJson = (context: unknown) => writeFileSync(path.join(app, 'cdk.json'), JSON.stringify({ app: 'x', context }));

test('--handlers wins, resolved from the current folder', () => {
  cdkJson({ handlers: { entry: 'src/crisp-handlers.ts' } });
  expect(chooseHandlerModule('src/other.ts', EXAMPLE, app)).toMatchObject({ file: path.join(app, 'src', 'other.ts'), from: '--handlers' });
});

test("else cdk.json's handlers.entry, what cdk deploy bundles", () => {
  cdkJson({ handlers: { entry: 'src/crisp-handlers.ts' } });
  expect(chooseHandlerModule(undefined, EXAMPLE, app)).toMatchObject({ file: path.join(app, 'src', 'crisp-handlers.ts'), from: 'cdk.json' });
});

test('else the shipped example', () => {
  cdkJson({});
  expect(chooseHandlerModule(undefined, EXAMPLE, app)).toMatchObject({ file: EXAMPLE, from: 'example' });
  rmSync(path.join(app, 'cdk.json'));
  expect(chooseHandlerModule(undefined, EXAMPLE, app)).toMatchObject({ file: EXAMPLE, from: 'example' });
});

test('a module that does not exist, or a malformed entry, is refused naming where it came from', () => {
  expect(() => chooseHandlerModule('src/missing.ts', EXAMPLE, app)).toThrow(/src\/missing\.ts \(from --handlers\) does not exist/);
  cdkJson({ handlers: { entry: 'src/gone.ts' } });
  expect(() => chooseHandlerModule(undefined, EXAMPLE, app)).toThrow(/context\.handlers\.entry\)\) does not exist/);
  cdkJson({ handlers: { entry: 42 } });
  expect(() => chooseHandlerModule(undefined, EXAMPLE, app)).toThrow(/context\.handlers\.entry must be a path/);
  writeFileSync(path.join(app, 'cdk.json'), '{ not json');
  expect(() => chooseHandlerModule(undefined, EXAMPLE, app)).toThrow(/cdk\.json is not JSON/);
});

test("cdk.json's handlers.environment are the settings, each overridden by an environment variable of that name", () => {
  cdkJson({ handlers: { entry: 'src/crisp-handlers.ts', environment: { BUSINESS_HOURS: 'Mon-Fri 09:00-17:00', AUTO_REPLY_TEXT: 'Away' } } });
  expect(chooseHandlerModule(undefined, EXAMPLE, app, { BUSINESS_HOURS: 'Sat 10:00-12:00' }).settings).toEqual({ BUSINESS_HOURS: 'Sat 10:00-12:00', AUTO_REPLY_TEXT: 'Away' });
  cdkJson({ handlers: { environment: { N: 42 } } });
  expect(() => chooseHandlerModule(undefined, EXAMPLE, app, {})).toThrow(/handlers\.environment must map setting names to strings/);
});

test('the entry given alone, as a string (as synth accepts it), is the module too', () => {
  cdkJson({ handlers: 'src/crisp-handlers.ts' });
  expect(chooseHandlerModule(undefined, EXAMPLE, app, {})).toEqual({ file: path.join(app, 'src', 'crisp-handlers.ts'), from: 'cdk.json', settings: {} });
});
