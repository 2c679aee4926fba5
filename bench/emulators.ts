/**
 * The emulators for the benchmark, in their own process so that the CPU the functions use can be
 * measured apart from the emulators'. Each service sits behind a counting proxy (requests by
 * operation, from the X-Amz-Target header); a control endpoint serves and resets the counts.
 * Prints one JSON line with the endpoints, then runs until killed.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startDynamoDbEmulator } from '../scripts/local/emulators/dynamodb';
import { startSecretsManagerEmulator } from '../scripts/local/emulators/secrets-manager';
import { startSqsEmulator } from '../scripts/local/emulators/sqs';

const counts = new Map<string, number>();

async function countingProxy(service: string, target: string): Promise<string> {
  const upstream = new URL(target);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const operation = String(req.headers['x-amz-target'] ?? 'unknown').split('.').pop();
    counts.set(`${service}.${operation}`, (counts.get(`${service}.${operation}`) ?? 0) + 1);
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function main(): Promise<void> {
  const secrets = await startSecretsManagerEmulator({ 'ticket-center': process.env.BENCH_TICKET_CENTER_SECRET ?? 'bench-ticket-center-secret', hooks: process.env.BENCH_HOOK_SECRET ?? 'bench-hook-secret' });
  const sqs = await startSqsEmulator({ visibilityTimeoutSeconds: 30 });
  const dynamodb = await startDynamoDbEmulator({ tableName: 'crisp-bridge-dedupe' });
  await dynamodb.client.send(
    new CreateTableCommand({
      TableName: 'powertools-idempotency',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const control = createServer((req, res) => {
    if (req.method === 'POST') counts.clear();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Object.fromEntries(counts)));
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
  process.stdout.write(
    JSON.stringify({
      secretsManager: await countingProxy('SecretsManager', secrets.endpoint),
      sqs: await countingProxy('SQS', sqs.endpoint),
      dynamodb: await countingProxy('DynamoDB', dynamodb.endpoint),
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
