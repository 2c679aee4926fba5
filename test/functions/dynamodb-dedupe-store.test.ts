/**
 * The DynamoDB dedupe store's claim, request by request: a duplicate is decided by the one
 * conditional UpdateItem when the store returns the old item with the failure
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, as DynamoDB does), and by a GetItem after it
 * when the store does not (dynalite, the local emulator, accepts the parameter and ignores it).
 *
 * Three stores: a fake client (what is sent, exactly), a loopback server answering as DynamoDB
 * does (the real SDK client must read `Item` off the error), and dynalite (the fallback, for real).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { dynamoDbDedupeStore } from '../../functions/commons/aws/dynamodb-dedupe-store';
import type { Claim } from '../../functions/commons/core/dedupe';
import { startDynamoDbEmulator } from '../../scripts/local/emulators/dynamodb';

const NOW = 1_796_000_000_000;
const claimOf = (key: string, owner = 'owner-1'): Claim => ({
  key,
  owner,
  leaseExpiresAt: NOW + 60_000,
  expiresAt: Math.floor(NOW / 1000) + 48 * 3600,
  now: NOW,
  details: { event: 'message:send', websiteId: 'w-1', messageId: 'm-1', receiveCount: 1 },
});

const conditionFailed = (item?: Record<string, AttributeValue>) =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, ...(item ? { Item: item } : {}) });

/** A client whose `send` answers from `answer` and records every command sent. */
function fakeClient(answer: (command: object) => unknown) {
  const sent: object[] = [];
  const client = {
    send: jest.fn(async (command: object) => {
      sent.push(command);
      const result = answer(command);
      if (result instanceof Error) throw result;
      return result;
    }),
  };
  return { client: client as unknown as DynamoDBClient, sent };
}

describe('claim with a store that returns the old item on a failed condition (DynamoDB)', () => {
  it('asks for the old item on the conditional write', async () => {
    const { client, sent } = fakeClient(() => ({}));
    await expect(dynamoDbDedupeStore(client, 't').claim(claimOf('k-new'))).resolves.toBe('claimed');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeInstanceOf(UpdateItemCommand);
    expect((sent[0] as UpdateItemCommand).input.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
  });

  it('a duplicate (COMPLETED) is decided by the one UpdateItem: no GetItem', async () => {
    const { client, sent } = fakeClient((command) => (command instanceof UpdateItemCommand ? conditionFailed({ pk: { S: 'k' }, status: { S: 'COMPLETED' } }) : {}));
    await expect(dynamoDbDedupeStore(client, 't').claim(claimOf('k'))).resolves.toBe('completed');
    expect(sent.map((c) => c.constructor.name)).toEqual(['UpdateItemCommand']);
  });

  it('a live claim elsewhere (IN_PROGRESS) is in progress, also without a GetItem', async () => {
    const { client, sent } = fakeClient((command) => (command instanceof UpdateItemCommand ? conditionFailed({ pk: { S: 'k' }, status: { S: 'IN_PROGRESS' } }) : {}));
    await expect(dynamoDbDedupeStore(client, 't').claim(claimOf('k'))).resolves.toBe('in_progress');
    expect(sent).toHaveLength(1);
  });

  it('the real SDK client reads Item off the ConditionalCheckFailedException DynamoDB sends: one request', async () => {
    const requests: string[] = [];
    const server: Server = createServer((req: IncomingMessage, res) => {
      requests.push(String(req.headers['x-amz-target']));
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
            message: 'The conditional request failed',
            Item: { pk: { S: 'k' }, status: { S: 'COMPLETED' }, owner: { S: 'someone' } },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    try {
      await expect(dynamoDbDedupeStore(client, 't').claim(claimOf('k'))).resolves.toBe('completed');
      expect(requests).toEqual(['DynamoDB_20120810.UpdateItem']);
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('claim with a store that does not return the old item (the fallback)', () => {
  it('reads the status with a consistent GetItem after the failed write', async () => {
    const { client, sent } = fakeClient((command) => {
      if (command instanceof UpdateItemCommand) return conditionFailed();
      return { Item: { status: { S: 'COMPLETED' } } };
    });
    await expect(dynamoDbDedupeStore(client, 't').claim(claimOf('k'))).resolves.toBe('completed');
    expect(sent.map((c) => c.constructor.name)).toEqual(['UpdateItemCommand', 'GetItemCommand']);
    expect((sent[1] as GetItemCommand).input).toMatchObject({ ConsistentRead: true, Key: { pk: { S: 'k' } } });
  });

  it('an error other than the failed condition is thrown, with no GetItem', async () => {
    const { client, sent } = fakeClient(() => Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' }));
    await expect(dynamoDbDedupeStore(client, 't').claim(claimOf('k'))).rejects.toThrow('throttled');
    expect(sent).toHaveLength(1);
  });

  it('dynalite: new event 2 writes (claim, complete); duplicate UpdateItem + GetItem; a live claim is in progress', async () => {
    const db = await startDynamoDbEmulator();
    const operations: string[] = [];
    db.client.middlewareStack.add(
      (next, context) => async (args) => {
        operations.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countOperations' },
    );
    try {
      const store = dynamoDbDedupeStore(db.client, db.tableName);
      await expect(store.claim(claimOf('k-dyn'))).resolves.toBe('claimed');
      await expect(store.claim(claimOf('k-dyn', 'owner-2'))).resolves.toBe('in_progress');
      await expect(store.complete('k-dyn', 'owner-1', { now: NOW + 1, expiresAt: Math.floor(NOW / 1000) + 3600 })).resolves.toBe(true);
      operations.length = 0;
      await expect(store.claim(claimOf('k-dyn', 'owner-3'))).resolves.toBe('completed');
      expect(operations).toEqual(['UpdateItemCommand', 'GetItemCommand']);
      operations.length = 0;
      await expect(store.claim(claimOf('k-dyn-2'))).resolves.toBe('claimed');
      await expect(store.complete('k-dyn-2', 'owner-1', { now: NOW + 1, expiresAt: Math.floor(NOW / 1000) + 3600 })).resolves.toBe(true);
      expect(operations).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    } finally {
      await db.close();
    }
  });
});
