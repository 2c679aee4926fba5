/**
 * A small in-process Secrets Manager: an HTTP endpoint speaking the AWS JSON 1.1 protocol for
 * `GetSecretValue`, `PutSecretValue` and `DescribeSecret`, enough for the real
 * `@aws-sdk/client-secrets-manager` pointed at it through `AWS_ENDPOINT_URL_SECRETS_MANAGER`.
 * No emulator exists on npm; this one also records every call and can be switched off, so
 * tests can assert what the functions asked for and what they do when the store is down.
 * Listens on 127.0.0.1 only (see ./loopback): it hands out secrets without authentication.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback';

export interface SecretsManagerCall {
  action: string;
  secretId: string | undefined;
}

export interface SecretsManagerEmulator {
  /** `http://127.0.0.1:<port>`: the value for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  /** Every call received, oldest first. */
  readonly calls: SecretsManagerCall[];
  /** Creates or replaces a secret; returns its ARN. */
  put(name: string, value: string): string;
  /** Deletes a secret (later reads get ResourceNotFoundException). */
  remove(name: string): void;
  /** `down`: every request fails with a 500, as if the service were unavailable. */
  setAvailable(available: boolean): void;
  arnOf(name: string): string;
  close(): Promise<void>;
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';

export async function startSecretsManagerEmulator(initial: Record<string, string> = {}, port = 0): Promise<SecretsManagerEmulator> {
  const secrets = new Map<string, { value: string; versionId: string; created: number }>();
  const calls: SecretsManagerCall[] = [];
  let available = true;

  const arnOf = (name: string): string => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
  const nameOf = (id: string): string => {
    const match = /^arn:aws:secretsmanager:[^:]+:\d+:secret:(.+?)(-[A-Za-z0-9]{6})?$/.exec(id);
    return match ? match[1]! : id;
  };
  const put = (name: string, value: string): string => {
    secrets.set(name, { value, versionId: randomUUID(), created: Date.now() / 1000 });
    return arnOf(name);
  };
  for (const [name, value] of Object.entries(initial)) put(name, value);

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.replace(/^secretsmanager\./, '');
    let input: { SecretId?: string; SecretString?: string } = {};
    try {
      input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return reply(res, 400, { __type: 'SerializationException', message: 'body is not JSON' });
    }
    calls.push({ action, secretId: input.SecretId });
    if (!available) return reply(res, 500, { __type: 'InternalServiceError', message: 'emulated outage' });

    const name = nameOf(input.SecretId ?? '');
    const secret = secrets.get(name);
    switch (action) {
      case 'GetSecretValue':
        if (!secret) return notFound(res);
        return reply(res, 200, {
          ARN: arnOf(name),
          Name: name,
          SecretString: secret.value,
          VersionId: secret.versionId,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.created,
        });
      case 'PutSecretValue': {
        if (!secret) return notFound(res);
        put(name, input.SecretString ?? '');
        return reply(res, 200, { ARN: arnOf(name), Name: name, VersionId: secrets.get(name)!.versionId, VersionStages: ['AWSCURRENT'] });
      }
      case 'DescribeSecret':
        if (!secret) return notFound(res);
        return reply(res, 200, { ARN: arnOf(name), Name: name });
      default:
        return reply(res, 400, { __type: 'UnknownOperationException', message: `${action} is not emulated` });
    }
  }

  const { url: endpoint } = await listenOnLoopback(server, { port });
  return {
    endpoint,
    calls,
    put,
    remove: (name) => void secrets.delete(nameOf(name)),
    setAvailable: (value) => {
      available = value;
    },
    arnOf,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function notFound(res: ServerResponse): void {
  reply(res, 400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() };
  if (typeof body.__type === 'string') headers['x-amzn-errortype'] = body.__type;
  res.writeHead(status, headers).end(JSON.stringify(body));
}
