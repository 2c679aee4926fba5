/**
 * The local consumer in a process of its own (what `npm start` runs, so that a change to the
 * handler module restarts the consumer side only): polls the hook queue like Lambda's event
 * source mapping and feeds the consumer built around the handler module exactly as the
 * construct's generated entry builds it (or a bundle CDK built).
 *
 * Started by ./consumer-process with the functions' environment plus:
 *   CRISP_BRIDGE_LOCAL_QUEUE_URL, CRISP_BRIDGE_LOCAL_QUEUE_ARN   the hook queue
 *   CRISP_BRIDGE_LOCAL_HANDLERS     the handler module (a path), or
 *   CRISP_BRIDGE_LOCAL_BUNDLE       a consumer bundle (index.mjs) to run instead
 *   CRISP_BRIDGE_LOCAL_TIMEOUT_MS   the function timeout (default 30000)
 *
 * The module is loaded before polling starts, like a cold start: a module that does not load
 * (a syntax error, a declared setting missing) exits with code 3 after printing why, and no
 * message is taken from the queue.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { pathToFileURL } from 'node:url';
import { consumerAround, LOAD_FAILED_EXIT_CODE, WORKER_ENV } from './consumer-process';
import { type SqsHandler, startPoller } from './sqs-poller';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`local consumer: ${name} is not set`);
  return value;
}

async function loadHandler(): Promise<SqsHandler> {
  const bundle = process.env[WORKER_ENV.bundle];
  if (bundle) {
    const module = (await import(pathToFileURL(bundle).href)) as { handler?: unknown };
    if (typeof module.handler !== 'function') throw new Error(`${bundle} exports no handler`);
    return module.handler as SqsHandler;
  }
  return (await consumerAround(required(WORKER_ENV.handlers))) as SqsHandler;
}

async function main(): Promise<void> {
  const queueUrl = required(WORKER_ENV.queueUrl);
  const queueArn = required(WORKER_ENV.queueArn);
  const timeoutMs = Number(process.env[WORKER_ENV.timeoutMs] ?? 30_000);
  let handler: SqsHandler;
  try {
    handler = await loadHandler();
  } catch (error) {
    process.stderr.write(
      `${JSON.stringify({
        timestamp: new Date().toISOString(),
        level: 'ERROR',
        message: 'local consumer: the handler module did not load; waiting for a change',
        handlers: process.env[WORKER_ENV.handlers] ?? process.env[WORKER_ENV.bundle],
        error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
      })}\n`,
    );
    process.exit(LOAD_FAILED_EXIT_CODE);
  }
  // The endpoint comes from AWS_ENDPOINT_URL_SQS, as for the functions.
  const poller = startPoller({ client: new SQSClient({ useQueueUrlAsEndpoint: false }), queueUrl, queueArn, load: async () => handler, timeoutMs });
  process.send?.({ type: 'ready' });
  const stop = (): void => {
    // Finish the batches under way (their long polls end within a second), then leave.
    void poller.stop().then(() => process.exit(0));
  };
  // The parent stops it with SIGTERM; Ctrl-C in the terminal reaches the whole process group,
  // and the parent decides (it drains this worker before closing the emulators).
  process.on('SIGINT', () => undefined);
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`local consumer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
