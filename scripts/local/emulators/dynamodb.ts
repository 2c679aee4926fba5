/**
 * DynamoDB for the local stack and the tests: dynalite (in-process), with the dedupe table
 * created as the CDK construct creates it (key `pk`). dynalite has no TTL deletion; the
 * consumer treats an expired record as absent anyway, as it must on AWS where TTL lags.
 * Listens on 127.0.0.1 only (see ./loopback): dynalite accepts any credentials.
 *
 * Persistence (`path`): in memory by default. Given a `path` (a folder, e.g. `.local/dynamodb`),
 * dynalite keeps its tables in a LevelDB database there, and the dedupe records survive a
 * restart. This uses dynalite's own `path` option rather than a snapshot of the table (as the
 * SQS emulator does, see ./sqs-state) because it works here: dynalite always loads `level`,
 * whose `classic-level` ships prebuilt binaries (linux x64/arm64/arm, glibc and musl, macOS,
 * Windows), so no install script is needed, the in-memory mode already loads the same module,
 * and LevelDB writes every change durably (its log) without a debounce window or a full rewrite.
 * On a restart the table already exists: CreateTable's ResourceInUseException is expected.
 * Either way, the start waits for the table to be ACTIVE (dynalite makes it so on a timer).
 *
 * Before dynalite opens the folder, it is opened (and closed) once here, because dynalite does
 * not survive a database that fails to open (its first request throws out of a callback, which
 * ends the process). So: a folder in use by another process (LevelDB's LOCK: another `npm start`
 * on the same `.local/`) is a clear error; a folder LevelDB cannot read (corrupt, or not a
 * LevelDB) is moved aside (`<path>.corrupt-<time>`) with a warning on stderr, and the table
 * starts empty. The data format is dynalite's: a dynalite upgrade that changed it would be read
 * as such a folder.
 */
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { createRequire } from 'node:module';
import { listenOnLoopback } from './loopback';
import { moveAside } from './state-files';

export interface DynamoDbEmulatorOptions {
  port?: number;
  tableName?: string;
  /** Keep the tables in this folder (a LevelDB database; created if missing), so that they survive a restart. In memory when absent. */
  path?: string;
}

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

export async function startDynamoDbEmulator(options: DynamoDbEmulatorOptions = {}): Promise<DynamoDbEmulator> {
  if (options.path !== undefined) await checkDatabaseFolder(options.path);
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path !== undefined ? { path: options.path } : {}) });
  const { url: endpoint } = await listenOnLoopback(server, { port: options.port });
  const tableName = options.tableName ?? 'crisp-bridge-dedupe';
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    // Kept in `path` from a previous run.
    if (!(options.path !== undefined && (error as Error).name === 'ResourceInUseException')) throw error;
  }
  // Even with createTableMs 0, dynalite answers CreateTable with the table CREATING and makes it
  // ACTIVE on a timer (one more database write: slower on disk), before which items are refused.
  for (let waited = 0; ; waited += 10) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (waited >= 5000) {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw new Error(`the DynamoDB emulator's table ${tableName} is still ${Table?.TableStatus}${options.path !== undefined ? ` (in ${options.path})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
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
      // With a `path`, dynalite's close() also closes the LevelDB database (its LOCK released).
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** The part of `level` (dynalite's own dependency) used to check a folder. */
interface LevelDatabase {
  open(): Promise<void>;
  close(): Promise<void>;
}
type LevelError = Error & { code?: string; cause?: Error & { code?: string } };

/**
 * Opens the LevelDB database in `folder` once, with the `level` dynalite itself loads, so that
 * dynalite is only given a folder it can open (see the header).
 */
async function checkDatabaseFolder(folder: string): Promise<void> {
  const { Level } = createRequire(require.resolve('dynalite'))('level') as { Level: new (location: string) => LevelDatabase };
  const attempt = async (): Promise<LevelError | undefined> => {
    const db = new Level(folder);
    try {
      await db.open();
    } catch (error) {
      return error as LevelError;
    }
    await db.close();
    return undefined;
  };
  const error = await attempt();
  if (!error) return;
  const cause = error.cause?.code ?? error.code;
  if (cause === 'LEVEL_LOCKED') {
    throw new Error(`the DynamoDB emulator's folder ${folder} is in use by another process (another \`npm start\`?)`);
  }
  const reason = error.cause?.message ?? error.message;
  // An I/O error is LevelDB failing to read its own files (a missing or garbled one), unless it
  // is the disk or the permissions: those are not the data's fault, so they stop the start.
  const unreadable = cause === 'LEVEL_CORRUPTION' || (cause === 'LEVEL_IO_ERROR' && !/permission denied|no space left|read-only file system/i.test(reason));
  if (!unreadable) {
    throw new Error(`cannot open the DynamoDB emulator's folder ${folder}: ${reason}`);
  }
  moveAside(folder, `not a readable DynamoDB emulator database (${reason})`);
  const again = await attempt();
  if (again) throw new Error(`cannot open the DynamoDB emulator's folder ${folder}: ${again.cause?.message ?? again.message}`);
}
