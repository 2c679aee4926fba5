/**
 * SQS for the local stack and the tests: fauxqs (an in-process SQS emulator speaking the JSON
 * protocol of today's SDK), with the hook queue and its dead-letter queue created the way the
 * CDK construct creates them.
 *
 * fauxqs's own `startFauxqs()` listens on 0.0.0.0 (hard-coded; its `host` option only names
 * the host in queue URLs), which would open the queues, without authentication, to the whole
 * network. So the app is built with its `buildApp()` and listened on 127.0.0.1 here (see
 * ./loopback). What `startFauxqs()` adds on top (FAUXQS_* environment, init files, message
 * spies) is not used by the local stack.
 *
 * Persistence (`stateFile`): fauxqs keeps everything in memory. Given a `stateFile`, the
 * emulator builds fauxqs's stores itself (`buildApp({ stores })`; the store classes are fauxqs
 * internals, imported from its dist files, as fauxqs exports only `buildApp`), restores the
 * messages saved in the file into the two queues once they are created, and saves both queues
 * to the file on every change (debounced, 250 ms, atomic write) and on `close()`: see
 * ./sqs-state for what is kept and what is not. Without `stateFile`, nothing is read or written.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { BuildAppOptions } from 'fauxqs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { LOOPBACK, httpUrl } from './loopback';
import { type FauxqsSqsStoreClass, type SqsStatePersistence, persistSqsState } from './sqs-state';

export interface SqsEmulatorOptions {
  port?: number;
  maxMessageBytes?: number;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
  /**
   * Keep the messages of both queues in this JSON file (e.g. `.local/sqs-state.json`), so that
   * they survive a restart; created (with its folder) on the first change. In memory only when
   * absent.
   */
  stateFile?: string;
}

/** The names of the queues, as the CDK construct names them. */
export const HOOK_QUEUE_NAME = 'crisp-bridge-hooks';
export const DEAD_LETTER_QUEUE_NAME = 'crisp-bridge-hooks-dlq';

export interface SqsEmulator {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_SQS`. */
  readonly endpoint: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  /** A client pointed at the emulator, for inspecting the queues. */
  readonly client: SQSClient;
  close(): Promise<void>;
}

export async function startSqsEmulator(options: SqsEmulatorOptions = {}): Promise<SqsEmulator> {
  // fauxqs is an ES module: loaded with import() (tsx, and jest through its moduleNameMapper).
  const { buildApp } = await import('fauxqs');
  await allowSupplementaryCharacters();
  const fauxqs = options.stateFile === undefined ? undefined : await fauxqsStores();
  const app = buildApp({ logger: false, ...(fauxqs ? { stores: fauxqs.stores } : {}) });
  await app.listen({ port: options.port ?? 0, host: LOOPBACK });
  const endpoint = httpUrl(LOOPBACK, (app.server.address() as AddressInfo).port);
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    useQueueUrlAsEndpoint: false,
  });
  const maxMessageBytes = String(options.maxMessageBytes ?? 262_144);
  const dlq = await client.send(new CreateQueueCommand({ QueueName: DEAD_LETTER_QUEUE_NAME, Attributes: { MaximumMessageSize: maxMessageBytes } }));
  const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: HOOK_QUEUE_NAME,
      Attributes: {
        MaximumMessageSize: maxMessageBytes,
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
      },
    }),
  );
  const queueArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  let persistence: SqsStatePersistence | undefined;
  if (fauxqs && options.stateFile !== undefined) {
    try {
      persistence = await persistSqsState({
        file: options.stateFile,
        store: fauxqs.stores.sqsStore,
        storeClass: fauxqs.SqsStore,
        queueNames: [HOOK_QUEUE_NAME, DEAD_LETTER_QUEUE_NAME],
      });
    } catch (error) {
      // An unreadable state (not a bad one: that is moved aside): leave nothing running.
      client.destroy();
      await app.close();
      throw error;
    }
  }
  return {
    endpoint,
    queueUrl: queue.QueueUrl!,
    queueArn: queueArn!,
    deadLetterQueueUrl: dlq.QueueUrl!,
    client,
    close: async () => {
      client.destroy();
      await app.close();
      // After the app: no request can change the queues any more.
      await persistence?.close();
    },
  };
}

/** fauxqs's dist folder: its internals are imported from there by absolute path. */
function fauxqsDist(...parts: string[]): string {
  return path.join(__dirname, '..', '..', '..', 'node_modules', 'fauxqs', 'dist', ...parts);
}

type FauxqsStores = NonNullable<BuildAppOptions['stores']>;

/** fauxqs's three stores, built here so that the SQS one can be saved and restored. */
async function fauxqsStores(): Promise<{ stores: FauxqsStores; SqsStore: FauxqsSqsStoreClass }> {
  // Plain absolute paths: ESM resolves them to the very modules fauxqs imports; so does jest's require.
  const sqs = (await import(fauxqsDist('sqs', 'sqsStore.js'))) as { SqsStore?: FauxqsSqsStoreClass };
  const sns = (await import(fauxqsDist('sns', 'snsStore.js'))) as { SnsStore?: new () => FauxqsStores['snsStore'] };
  const s3 = (await import(fauxqsDist('s3', 's3Store.js'))) as { S3Store?: new () => FauxqsStores['s3Store'] };
  if (typeof sqs.SqsStore !== 'function' || typeof sqs.SqsStore.createMessage !== 'function' || typeof sns.SnsStore !== 'function' || typeof s3.S3Store !== 'function') {
    throw new Error('fauxqs changed: SqsStore/SnsStore/S3Store not found in its dist files; review fauxqsStores() in scripts/local/emulators/sqs.ts');
  }
  return { stores: { sqsStore: new sqs.SqsStore(), snsStore: new sns.SnsStore(), s3Store: new s3.S3Store() }, SqsStore: sqs.SqsStore };
}

/** Characters real SQS accepts in a message body (SendMessage API reference). */
const SQS_INVALID_BODY_CHAR = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * fauxqs 1.9 checks message bodies with a regex that lacks the `u` flag, so it refuses every
 * character outside the Basic Multilingual Plane (emoji, for one) that real SQS accepts
 * (#x10000-#x10FFFF). Its check is a shared RegExp object: give that object the real rule.
 * Emulator fidelity only; nothing in the deployed code depends on it.
 */
async function allowSupplementaryCharacters(): Promise<void> {
  const file = fauxqsDist('sqs', 'sqsTypes.js');
  // A plain absolute path: ESM resolves it to the very module fauxqs imports; so does jest's require.
  const types = (await import(file)) as { INVALID_MESSAGE_BODY_CHAR?: RegExp };
  const check = types.INVALID_MESSAGE_BODY_CHAR;
  if (!(check instanceof RegExp)) throw new Error('fauxqs changed: INVALID_MESSAGE_BODY_CHAR not found; review allowSupplementaryCharacters()');
  Object.defineProperty(check, 'test', { value: (text: string) => SQS_INVALID_BODY_CHAR.test(text), configurable: true });
}
