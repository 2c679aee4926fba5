// One cold start, in a fresh Node process: load a bundle and serve one request.
// Usage: node cold.mjs <bundle.mjs> <event.json>. The result goes to stderr as "BENCH {json}";
// the function's own log lines go to stdout, which the parent discards.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const start = performance.now();
const [bundle, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const loadStart = performance.now();
const mod = await import(pathToFileURL(bundle).href);
const loaded = performance.now();
const context = { awsRequestId: 'bench-cold', functionName: 'bench', getRemainingTimeInMillis: () => 30_000 };
const result = await mod.handler(event, context);
const done = performance.now();
const status = result?.statusCode ?? (Array.isArray(result?.batchItemFailures) ? (result.batchItemFailures.length === 0 ? 200 : 500) : 200);
process.stderr.write(
  'BENCH ' +
    JSON.stringify({
      loadMs: loaded - loadStart,
      firstInvokeMs: done - loaded,
      initAndFirstMs: done - loadStart,
      // performance.now() counts from the process's start: Node's own boot included.
      sinceProcessStartMs: done,
      scriptStartMs: start,
      status,
      rss: process.memoryUsage().rss,
    }) +
    '\n',
);
process.exit(0);
