// One cold start, in a fresh Node process: load a bundle and serve one request.
// Usage: node cold.mjs <bundle.mjs> <event.json>. The result goes to stderr as "BENCH {json}";
// the function's own log lines go to stdout, which the parent discards.
// BENCH_IMPORT_HTTP_AFTER_LOAD=1: after loading the bundle, `import('node:http')` off the clock
// (timed apart as httpImportMs), before the first request. The SDK's request handler does that
// import on its first request to an http:// endpoint (the emulators); on AWS (https) it does not.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const start = performance.now();
const [bundle, eventFile] = process.argv.slice(2);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const loadStart = performance.now();
const mod = await import(pathToFileURL(bundle).href);
let loaded = performance.now();
let httpImportMs = 0;
if (process.env.BENCH_IMPORT_HTTP_AFTER_LOAD === '1') {
  const before = performance.now();
  await import('node:http');
  httpImportMs = performance.now() - before;
  loaded = performance.now();
}
const context = { awsRequestId: 'bench-cold', functionName: 'bench', getRemainingTimeInMillis: () => 30_000 };
const result = await mod.handler(event, context);
const done = performance.now();
const status = result?.statusCode ?? (Array.isArray(result?.batchItemFailures) ? (result.batchItemFailures.length === 0 ? 200 : 500) : 200);
process.stderr.write(
  'BENCH ' +
    JSON.stringify({
      loadMs: loaded - loadStart - httpImportMs,
      httpImportMs,
      firstInvokeMs: done - loaded,
      initAndFirstMs: done - loadStart - httpImportMs,
      // performance.now() counts from the process's start: Node's own boot included.
      sinceProcessStartMs: done,
      scriptStartMs: start,
      status,
      rss: process.memoryUsage().rss,
    }) +
    '\n',
);
process.exit(0);
