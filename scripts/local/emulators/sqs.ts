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
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { LOOPBACK, httpUrl } from './loopback';

export interface SqsEmulatorOptions {
  port?: number;
  maxMessageBytes?: number;
  visibilityTimeoutSeconds?: number;
  maxReceiveCount?: number;
}

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
  const app = buildApp({ logger: false });
  await app.listen({ port: options.port ?? 0, host: LOOPBACK });
  const endpoint = httpUrl(LOOPBACK, (app.server.address() as AddressInfo).port);
  const client = new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    useQueueUrlAsEndpoint: false,
  });
  const maxMessageBytes = String(options.maxMessageBytes ?? 262_144);
  const dlq = await client.send(new CreateQueueCommand({ QueueName: 'crisp-bridge-hooks-dlq', Attributes: { MaximumMessageSize: maxMessageBytes } }));
  const dlqArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: 'crisp-bridge-hooks',
      Attributes: {
        MaximumMessageSize: maxMessageBytes,
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
      },
    }),
  );
  const queueArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  return {
    endpoint,
    queueUrl: queue.QueueUrl!,
    queueArn: queueArn!,
    deadLetterQueueUrl: dlq.QueueUrl!,
    client,
    close: async () => {
      client.destroy();
      await app.close();
    },
  };
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
  const file = path.join(__dirname, '..', '..', '..', 'node_modules', 'fauxqs', 'dist', 'sqs', 'sqsTypes.js');
  // A plain absolute path: ESM resolves it to the very module fauxqs imports; so does jest's require.
  const types = (await import(file)) as { INVALID_MESSAGE_BODY_CHAR?: RegExp };
  const check = types.INVALID_MESSAGE_BODY_CHAR;
  if (!(check instanceof RegExp)) throw new Error('fauxqs changed: INVALID_MESSAGE_BODY_CHAR not found; review allowSupplementaryCharacters()');
  Object.defineProperty(check, 'test', { value: (text: string) => SQS_INVALID_BODY_CHAR.test(text), configurable: true });
}
