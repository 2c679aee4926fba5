/**
 * The local consumer as a child process (./consumer-worker), restarted when the handler module
 * changes: `npm start` runs it so that editing a handler restarts the consumer side only, while
 * the API, the emulators and the queued messages stay up. A batch under way when a change lands
 * is finished first (SIGTERM lets the poller drain), so no message is lost or run twice by the
 * restart; the dedupe table covers the rest, as on AWS.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

export const WORKER_ENV = {
  queueUrl: 'CRISP_BRIDGE_LOCAL_QUEUE_URL',
  queueArn: 'CRISP_BRIDGE_LOCAL_QUEUE_ARN',
  handlers: 'CRISP_BRIDGE_LOCAL_HANDLERS',
  bundle: 'CRISP_BRIDGE_LOCAL_BUNDLE',
  timeoutMs: 'CRISP_BRIDGE_LOCAL_TIMEOUT_MS',
} as const;

/**
 * The consumer around a handler module, exactly as the construct's generated entry builds it:
 * what the local stack runs, in this process or in the worker.
 */
export async function consumerAround(handlers: string): Promise<unknown> {
  const [{ createConsumerHandler }, handlerModule] = await Promise.all([import('../../functions/consumer/create-handler'), import(handlers)]);
  return createConsumerHandler(handlerModule);
}

/** Exit code of a worker whose handler module did not load (it then waits for a change). */
export const LOAD_FAILED_EXIT_CODE = 3;

export interface ConsumerProcessOptions {
  queueUrl: string;
  queueArn: string;
  /** The handler module (a path). */
  handlers: string;
  /** A consumer bundle to run instead of `handlers` (then nothing is watched). */
  bundle?: string;
  /** The function timeout in milliseconds. Default 30 s. */
  timeoutMs?: number;
  /** The local stack's lines about the consumer process (started, restarting, stopped). */
  log?: (line: Record<string, unknown>) => void;
}

export interface ConsumerProcess {
  /** Resolves when the current worker has loaded the handler module and polls the queue. */
  ready(): Promise<void>;
  stop(): Promise<void>;
}

const WORKER = path.join(__dirname, 'consumer-worker.ts');
/** Folders whose changes never restart the consumer. */
const IGNORED = /(^|[\\/])(node_modules|\.git|\.local|cdk\.out|dist)([\\/]|$)/;

export function startConsumerProcess(options: ConsumerProcessOptions): ConsumerProcess {
  const log = options.log ?? (() => undefined);
  const handlers = path.resolve(options.handlers);
  let child: ChildProcess | undefined;
  let stopping = false;
  let readyNow: Promise<void>;
  let debounce: NodeJS.Timeout | undefined;

  const spawnWorker = (): void => {
    const worker = fork(WORKER, [], {
      execArgv: ['--import', pathToFileURL(require.resolve('tsx')).href, '--enable-source-maps'],
      // The functions' environment, as the local stack set it in this process (endpoints, table, settings...).
      env: {
        ...process.env,
        [WORKER_ENV.queueUrl]: options.queueUrl,
        [WORKER_ENV.queueArn]: options.queueArn,
        [WORKER_ENV.handlers]: handlers,
        [WORKER_ENV.bundle]: options.bundle ?? '',
        [WORKER_ENV.timeoutMs]: String(options.timeoutMs ?? 30_000),
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    child = worker;
    // Through this process's streams, so that `npm start -- --pretty` formats the consumer's lines too.
    worker.stdout!.setEncoding('utf8').on('data', (chunk: string) => process.stdout.write(chunk));
    worker.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk));
    readyNow = new Promise<void>((resolve, reject) => {
      worker.once('message', () => {
        log({ level: 'INFO', message: 'local consumer started', handlers: options.bundle ?? handlers, pid: worker.pid });
        resolve();
      });
      worker.once('exit', (code, signal) => {
        if (child === worker) child = undefined;
        if (stopping) return resolve();
        if (code === LOAD_FAILED_EXIT_CODE) {
          log({ level: 'WARN', message: 'local consumer stopped: fix the handler module, it restarts on the next change', handlers });
          return reject(new Error('the handler module did not load'));
        }
        log({ level: 'ERROR', message: 'local consumer exited; it restarts on the next change', code, signal });
        reject(new Error(`the local consumer exited (code ${code}, signal ${signal})`));
      });
    });
    readyNow.catch(() => undefined); // reported through log; ready() callers see it
  };

  const stopWorker = async (): Promise<void> => {
    const worker = child;
    if (!worker || worker.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.kill('SIGTERM');
    const killer = setTimeout(() => worker.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(killer);
  };

  let restarting = Promise.resolve();
  const restart = (changed: string): void => {
    restarting = restarting.then(async () => {
      if (stopping) return;
      log({ level: 'INFO', message: 'local consumer restarting: the handler module changed', changed });
      await stopWorker();
      if (stopping) return;
      spawnWorker();
    });
  };

  let watcher: FSWatcher | undefined;
  if (!options.bundle) {
    const folder = path.dirname(handlers);
    watcher = watch(folder, { recursive: true }, (_event, filename) => {
      const name = filename ? String(filename) : '';
      if (IGNORED.test(name) || /(^|[\\/])\.[^\\/]*$/.test(name)) return;
      clearTimeout(debounce);
      // Editors write a file in several steps: one restart per burst.
      debounce = setTimeout(() => restart(path.join(folder, name)), 150);
    });
  }

  spawnWorker();
  return {
    ready: () => restarting.then(() => readyNow),
    stop: async () => {
      stopping = true;
      clearTimeout(debounce);
      watcher?.close();
      await restarting;
      await stopWorker();
    },
  };
}
