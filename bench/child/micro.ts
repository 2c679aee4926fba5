/**
 * Micro-benchmarks of our code's parts, bundled (bench/build.ts) and run in a child on the
 * functions' Node, like the functions: signature verification (what the receiver calls), the
 * dedupe key, and the AWS SDK client's own CPU per SendMessage (the emulator is in another
 * process). Usage: node micro.mjs <input.json>, the input holding { body1k, body100k, secret,
 * sqsEndpoint, queueUrl }. Result on stderr as "BENCH {json}".
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dedupeKey } from '../../functions/commons/core/dedupe';
import { verifySignedHook } from '../../functions/commons/core/hook-signature';

interface Input {
  body1k: string;
  body100k: string;
  secret: string;
  sqsEndpoint: string;
  queueUrl: string;
}

const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Input;

const cpuPer = (f: () => unknown, runs: number): number => {
  for (let i = 0; i < Math.min(200, runs); i++) f();
  const start = process.cpuUsage();
  for (let i = 0; i < runs; i++) f();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / runs;
};

async function main(): Promise<void> {
  const timestamp = String(Date.now());
  const signature = createHmac('sha256', input.secret).update(`[${timestamp};${input.body1k}]`).digest('hex');
  const verifyInput = { signature, timestamp, rawBody: Buffer.from(input.body1k), secrets: { current: input.secret } };
  if (!verifySignedHook(verifyInput).ok) throw new Error('the micro-benchmark signature does not verify');
  for (let i = 0; i < 5000; i++) verifySignedHook(verifyInput);
  const verifyUs = cpuPer(() => verifySignedHook(verifyInput), 50_000);
  const dedupeUs1k = cpuPer(() => dedupeKey(input.body1k), 5000);
  const dedupeUs100k = cpuPer(() => dedupeKey(input.body100k), 300);

  const sdk = new SQSClient({ endpoint: input.sqsEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, useQueueUrlAsEndpoint: false });
  const send = () =>
    sdk.send(new SendMessageCommand({ QueueUrl: input.queueUrl, MessageBody: input.body1k, MessageAttributes: { event: { DataType: 'String', StringValue: 'message:send' } } }));
  for (let i = 0; i < 50; i++) await send();
  let sdkCpu = 0;
  for (let i = 0; i < 300; i++) {
    const start = process.cpuUsage();
    await send();
    const used = process.cpuUsage(start);
    sdkCpu += used.user + used.system;
  }
  sdk.destroy();
  process.stderr.write(`BENCH ${JSON.stringify({ verifyUs, dedupeUs1k, dedupeUs100k, sdkSendUs: sdkCpu / 300 })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`micro: ${String(error)}\n`);
    process.exit(1);
  },
);
