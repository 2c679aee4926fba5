/**
 * The capacity model's local check (docs/capacity.md): how fast our consumer drains a queue with
 * 1, 2 or 4 concurrent pollers, each a stand-in for one concurrent batch of Lambda's event source
 * (scripts/local/sqs-poller.ts: receive 10, run the bundle's handler, delete what succeeded).
 * Bundled (bench/build.ts) and run in a child on the functions' Node, against the bench's
 * emulators (own process, HTTPS proxies).
 *
 * Usage: node throughput.mjs <consumer bundle.mjs> <input.json> holding { bodies, concurrency,
 * attributes }. Makes its own queue, fills it with the bodies (untimed), then times the drain.
 * Result on stderr as "BENCH {json}": events per second, batches, the mean batch size, the mean
 * time inside the handler per batch, and this process's CPU during the drain.
 */
import { CreateQueueCommand, type MessageAttributeValue, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type SqsHandler, startPoller } from '../../scripts/local/sqs-poller';

interface Input {
  bodies: string[];
  concurrency: number;
  attributes: Record<string, MessageAttributeValue>;
}

const [bundle, inputFile] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputFile!, 'utf8')) as Input;
const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

const { QueueUrl: queueUrl } = await sqs.send(
  new CreateQueueCommand({ QueueName: `bench-throughput-${input.concurrency}-${Date.now()}`, Attributes: { VisibilityTimeout: '30' } }),
);
if (!queueUrl) throw new Error('no queue URL');
for (let i = 0; i < input.bodies.length; i += 10) {
  const out = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: input.bodies.slice(i, i + 10).map((body, index) => ({ Id: String(index), MessageBody: body, MessageAttributes: input.attributes })),
    }),
  );
  if (out.Failed?.length) throw new Error(`could not fill the queue: ${JSON.stringify(out.Failed[0])}`);
}

const mod = (await import(pathToFileURL(bundle!).href)) as { handler: SqsHandler };
let processed = 0;
let failed = 0;
let batches = 0;
let handlerMs = 0;
const counted: SqsHandler = async (event: SQSEvent, context: Context) => {
  const started = performance.now();
  const result = await mod.handler(event, context);
  handlerMs += performance.now() - started;
  batches += 1;
  const failures = result?.batchItemFailures?.length ?? 0;
  failed += failures;
  processed += event.Records.length - failures;
  return result;
};

const cpu = process.cpuUsage();
const started = performance.now();
const poller = startPoller({ client: sqs, queueUrl, queueArn: 'arn:aws:sqs:us-east-1:000000000000:bench-throughput', load: async () => counted, concurrency: input.concurrency });
const deadline = Date.now() + 120_000;
while (processed < input.bodies.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
const elapsedMs = performance.now() - started;
const used = process.cpuUsage(cpu);
await poller.stop();
process.stderr.write(
  'BENCH ' +
    JSON.stringify({
      concurrency: input.concurrency,
      events: processed,
      failed,
      elapsedMs,
      eventsPerSecond: processed / (elapsedMs / 1000),
      batches,
      meanBatchSize: processed / Math.max(1, batches),
      handlerMsPerBatch: handlerMs / Math.max(1, batches),
      cpuMs: (used.user + used.system) / 1000,
    }) +
    '\n',
);
process.exit(0);
