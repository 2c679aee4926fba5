// Warm latency and CPU per request of one bundle, in its own process.
// Usage: node warm.mjs <bundle.mjs> <events.json> <requests> [warm-up requests, default min(50, requests/5)]
// Events are used in turn. An event holding the text __UNIQUE__ is a template: each request
// gets its own copy with a fresh value there (distinct Crisp events for a consumer), made
// outside the measured time. Result on stderr as "BENCH {json}"; the function's logs go to
// stdout (the parent counts their bytes and discards them).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [bundle, eventsFile, countText, warmupText] = process.argv.slice(2);
const templates = JSON.parse(readFileSync(eventsFile, 'utf8')).map((event) => JSON.stringify(event));
const count = Number(countText);
const warmup = warmupText === undefined ? Math.min(50, Math.floor(count / 5)) : Number(warmupText);
const run = Math.random().toString(36).slice(2);
const eventFor = (i) => {
  const template = templates[i % templates.length];
  return JSON.parse(template.includes('__UNIQUE__') ? template.replaceAll('__UNIQUE__', `${run}-${i}`) : template);
};
const mod = await import(pathToFileURL(bundle).href);
const context = { awsRequestId: 'bench-warm', functionName: 'bench', getRemainingTimeInMillis: () => 30_000 };
const ok = (result) => (result?.statusCode ? result.statusCode < 300 : !(result?.batchItemFailures?.length > 0));

for (let i = 0; i < warmup; i++) await mod.handler(eventFor(i), context);
let failures = 0;
let cpuMicros = 0;
const latencies = [];
for (let i = 0; i < count; i++) {
  const event = eventFor(warmup + i);
  const cpu = process.cpuUsage();
  const t = performance.now();
  const result = await mod.handler(event, context);
  latencies.push(performance.now() - t);
  const used = process.cpuUsage(cpu);
  cpuMicros += used.user + used.system;
  if (!ok(result)) failures += 1;
}
latencies.sort((a, b) => a - b);
const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
process.stderr.write(
  'BENCH ' +
    JSON.stringify({
      requests: count,
      warmup,
      failures,
      p50: q(0.5),
      p99: q(0.99),
      mean: latencies.reduce((a, b) => a + b, 0) / count,
      cpuUsPerRequest: cpuMicros / count,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
    }) +
    '\n',
);
process.exit(0);
