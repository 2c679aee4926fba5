/**
 * DynamoDB for the local stack and the tests: dynalite (in-process, in memory), with the dedupe
 * table created as the CDK construct creates it (key `pk`). dynalite has no TTL deletion; the
 * consumer treats an expired record as absent anyway, as it must on AWS where TTL lags.
 * Listens on 127.0.0.1 only (see ./loopback): dynalite accepts any credentials.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { listenOnLoopback } from './loopback';

export interface DynamoDbEmulator {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpoint: string;
  readonly tableName: string;
  /** A client pointed at the emulator, for inspecting the table. */
  readonly client: DynamoDBClient;
  /** Stops answering (every connection cut) until `resume()`, to test an outage; data is kept. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startDynamoDbEmulator(options: { port?: number; tableName?: string } = {}): Promise<DynamoDbEmulator> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const { url: endpoint } = await listenOnLoopback(server, { port: options.port });
  const tableName = options.tableName ?? 'crisp-bridge-dedupe';
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite's close() drops its in-memory database, so an outage is emulated by keeping the
  // server up and cutting every connection while paused.
  let paused = false;
  server.on('connection', (socket) => {
    if (paused) socket.destroy();
  });
  return {
    endpoint,
    tableName,
    client,
    pause: async () => {
      paused = true;
      server.closeAllConnections();
    },
    resume: async () => {
      paused = false;
    },
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
