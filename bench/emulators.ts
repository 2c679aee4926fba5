/**
 * The emulators for the benchmark, in their own process so that the CPU the functions use can be
 * measured apart from the emulators'. Each service sits behind a counting proxy (requests by
 * operation, from the X-Amz-Target header); a control endpoint serves and resets the counts.
 * DynamoDB's proxy can also answer a failed conditional write as DynamoDB does (see `asAws`).
 * EventBridge is the local fake (scripts/local/emulators/eventbridge.ts): its proxy also counts
 * the entries put and the 64 KB chunks PutEvents bills (`bus.entries`, `bus.chunks64k`: not
 * requests). Prints one JSON line with the endpoints, then runs until killed.
 *
 * The proxies speak HTTPS, as AWS's endpoints do (BENCH_TLS_KEY, BENCH_TLS_CERT: a certificate
 * for 127.0.0.1 that the functions trust through NODE_EXTRA_CA_CERTS), so that a function's first
 * request pays a TLS handshake and takes the SDK's https path, as on AWS. Behind them the
 * emulators are plain HTTP on loopback, in this process, whose CPU is not counted.
 */
import { type AttributeValue, CreateTableCommand, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { startDynamoDbEmulator } from '../scripts/local/emulators/dynamodb';
import { startEventBridgeEmulator } from '../scripts/local/emulators/eventbridge';
import { startSecretsManagerEmulator } from '../scripts/local/emulators/secrets-manager';
import { startSqsEmulator } from '../scripts/local/emulators/sqs';

const counts = new Map<string, number>();
const count = (name: string) => counts.set(name, (counts.get(name) ?? 0) + 1);

/**
 * DynamoDB returns the item that failed a condition when the write asks for it
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), in the ConditionalCheckFailedException's
 * body. dynalite accepts the parameter and ignores it. With `returnOld` on, the proxy does what
 * DynamoDB does: on such a failure it reads the item itself, straight from dynalite (counted as
 * `proxy.GetItem`, not as a request of the function's) and adds it to the error body. Off, the
 * function sees dynalite as it is, and takes its fallback.
 */
let returnOld = true;
let readOldItem: ((table: string, key: unknown) => Promise<unknown>) | undefined;

async function asAws(target: string, requestBody: Buffer, status: number, responseBody: Buffer): Promise<Buffer | undefined> {
  if (!returnOld || status !== 400 || !readOldItem || !/\.(UpdateItem|PutItem|DeleteItem)$/.test(target)) return undefined;
  const input = JSON.parse(requestBody.toString('utf8')) as { TableName?: string; Key?: unknown; Item?: Record<string, unknown>; ReturnValuesOnConditionCheckFailure?: string };
  if (input.ReturnValuesOnConditionCheckFailure !== 'ALL_OLD' || !input.TableName) return undefined;
  const error = JSON.parse(responseBody.toString('utf8')) as { __type?: string; Item?: unknown };
  if (!String(error.__type).endsWith('ConditionalCheckFailedException') || error.Item) return undefined;
  // PutItem names no key: the table's key attribute (`pk` or `id` here) comes from the item.
  const key = input.Key ?? Object.fromEntries(Object.entries(input.Item ?? {}).filter(([name]) => name === 'pk' || name === 'id'));
  count('proxy.GetItem');
  const item = await readOldItem(input.TableName, key);
  return item ? Buffer.from(JSON.stringify({ ...error, Item: item })) : undefined;
}

function tlsOptions(): { key: Buffer; cert: Buffer } {
  const { BENCH_TLS_KEY: key, BENCH_TLS_CERT: cert } = process.env;
  if (!key || !cert) throw new Error('BENCH_TLS_KEY and BENCH_TLS_CERT must name the proxies\' key and certificate (bench/run.ts makes them)');
  return { key: readFileSync(key), cert: readFileSync(cert) };
}
const tls = tlsOptions();

async function countingProxy(service: string, target: string): Promise<string> {
  const upstream = new URL(target);
  const server = createTlsServer(tls, (req: IncomingMessage, res: ServerResponse) => {
    const amzTarget = String(req.headers['x-amz-target'] ?? 'unknown');
    count(`${service}.${amzTarget.split('.').pop()}`);
    if (service === 'EventBridge') {
      // Buffered, to count the entries and the billed 64 KB chunks (each entry is billed per started 64 KB).
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        try {
          const input = JSON.parse(body.toString('utf8')) as { Entries?: Array<{ Source?: string; DetailType?: string; Detail?: string; Time?: unknown }> };
          for (const entry of input.Entries ?? []) {
            const bytes = (entry.Time !== undefined ? 14 : 0) + Buffer.byteLength(entry.Source ?? '') + Buffer.byteLength(entry.DetailType ?? '') + Buffer.byteLength(entry.Detail ?? '');
            count('bus.entries');
            for (let i = 0; i < Math.max(1, Math.ceil(bytes / 65_536)); i++) count('bus.chunks64k');
          }
        } catch {
          // not JSON: the fake answers it
        }
        const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        forward.on('error', () => res.writeHead(502).end());
        forward.end(body);
      });
      return;
    }
    if (service !== 'DynamoDB') {
      const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
      return;
    }
    // DynamoDB: buffered both ways, to answer a failed condition as DynamoDB would (see asAws).
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const requestBody = Buffer.concat(chunks);
      const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        const parts: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => parts.push(chunk));
        answer.on('end', () => {
          const body = Buffer.concat(parts);
          asAws(amzTarget, requestBody, answer.statusCode ?? 502, body)
            .catch(() => undefined)
            .then((rewritten) => {
              const headers = { ...answer.headers };
              if (rewritten) {
                delete headers['x-amz-crc32'];
                headers['content-length'] = String(rewritten.length);
              }
              res.writeHead(answer.statusCode ?? 502, headers).end(rewritten ?? body);
            });
        });
      });
      forward.on('error', () => res.writeHead(502).end());
      forward.end(requestBody);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const secrets = await startSecretsManagerEmulator({ 'ticket-center': process.env.BENCH_TICKET_CENTER_SECRET ?? 'bench-ticket-center-secret', hooks: process.env.BENCH_HOOK_SECRET ?? 'bench-hook-secret' });
  const sqs = await startSqsEmulator({ visibilityTimeoutSeconds: 30 });
  const dynamodb = await startDynamoDbEmulator({ tableName: 'crisp-bridge-dedupe' });
  // The local fake, not EventBridge: it accepts a put at once and logs nothing here.
  const eventbridge = await startEventBridgeEmulator({ log: () => undefined });
  await dynamodb.client.send(
    new CreateTableCommand({
      TableName: 'powertools-idempotency',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  readOldItem = async (table, key) =>
    (await dynamodb.client.send(new GetItemCommand({ TableName: table, Key: key as Record<string, AttributeValue>, ConsistentRead: true }))).Item;
  // GET: the counts; POST: the counts, then reset; `?returnOld=0|1` switches the DynamoDB behaviour (see asAws).
  const control = createServer((req, res) => {
    const mode = new URL(req.url ?? '/', 'http://control').searchParams.get('returnOld');
    if (mode !== null) returnOld = mode === '1';
    if (req.method === 'POST') {
      counts.clear();
      eventbridge.events.length = 0; // the fake keeps every event; nothing here reads them
      eventbridge.calls.length = 0;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(counts)));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  process.stdout.write(
    JSON.stringify({
      secretsManager: await countingProxy('SecretsManager', secrets.endpoint),
      sqs: await countingProxy('SQS', sqs.endpoint),
      dynamodb: await countingProxy('DynamoDB', dynamodb.endpoint),
      eventbridge: await countingProxy('EventBridge', eventbridge.endpoint),
      control: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
      queueUrl: sqs.queueUrl,
      ticketCenterSecretId: secrets.arnOf('ticket-center'),
      hookSecretId: secrets.arnOf('hooks'),
      dedupeTable: dynamodb.tableName,
      idempotencyTable: 'powertools-idempotency',
      pid: process.pid,
    }) + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench emulators: ${String(error)}\n`);
  process.exit(1);
});
