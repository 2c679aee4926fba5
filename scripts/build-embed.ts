/**
 * `npm run build:embed [-- --out <dir>]`: writes the Ticket Center embed as teams ship it: one
 * minified ES module (ticket-center.js, no dependencies) and its TypeScript source for the types.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { buildEmbed } from './local/demo-site';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('Usage: npm run build:embed [-- --out <dir>]   (default dist/embed)\n');
    return;
  }
  const out = path.resolve(values.out ?? path.join(__dirname, '..', 'dist', 'embed'));
  mkdirSync(out, { recursive: true });
  const code = await buildEmbed();
  writeFileSync(path.join(out, 'ticket-center.js'), code);
  copyFileSync(path.join(__dirname, '..', 'web', 'embed', 'ticket-center.ts'), path.join(out, 'ticket-center.ts'));
  process.stdout.write(`${path.join(out, 'ticket-center.js')}: ${code.length} bytes, ${gzipSync(code).length} gzipped\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`crisp-bridge build:embed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
