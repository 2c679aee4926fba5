/**
 * The whole system on one machine: the same routes and the same handler code as the deployed
 * stack, with AWS services emulated in-process and reached through the standard
 * `AWS_ENDPOINT_URL_*` variables, exactly as the deployed functions reach the real ones.
 * Everything listens on loopback only and the API answers only to its own name (localhost),
 * against DNS rebinding: see ./api-gateway and ./emulators/loopback.
 *
 * Each feature adds its routes (and its workers) here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as path from 'node:path';
import { type HttpHandler, type LocalRoute, type LocalSite, startLocalApi } from './api-gateway';
import { stylesheetRoute } from './stylesheet';
import { type CrispApiStub, startCrispApiStub } from './crisp-api-stub';
import { type EventBridgeEmulator, startEventBridgeEmulator } from './emulators/eventbridge';
import { type ConsumerProcess, consumerAround, startConsumerProcess } from './consumer-process';
import { type DevTokenOptions, LOCAL_DEV_AUDIENCE, LOCAL_DEV_ISSUER, issueDevToken, loadOrCreateDevIssuerKey, localStateDir } from './dev-issuer';
import { type SecretsManagerEmulator, startSecretsManagerEmulator } from './emulators/secrets-manager';
import { type DynamoDbEmulator, startDynamoDbEmulator } from './emulators/dynamodb';
import { type FaultProxy, startFaultProxy } from './emulators/fault-proxy';
import { assertLoopback } from './emulators/loopback';
import { type SqsEmulator, startSqsEmulator } from './emulators/sqs';
import { type Poller, type SqsHandler, startPoller } from './sqs-poller';
import { createDemoSite } from './demo-site';

export interface LocalStackOptions {
  /** Default 0 (any free port). */
  port?: number;
  /**
   * The loopback address the API listens on: `127.0.0.1` (default) or `::1`; anything else
   * throws. Every socket of the local stack is on loopback (see ./emulators/loopback).
   */
  host?: string;
  /** Crisp website ID. Default: generated. */
  websiteId?: string;
  /** Ticket Center secret. Default: generated. */
  ticketCenterSecret?: string;
  /** Plugin Hook signing secret. Default: generated. */
  hookSecret?: string;
  /** Website Hook key. Default: generated. */
  websiteHookKey?: string;
  /** Serve `POST /hooks/crisp/website`. Default true. */
  websiteHooks?: boolean;
  /**
   * Run the consumer: poll the hook queue and feed the consumer handler, like Lambda's event
   * source mapping. Off by default here (tests of the receiver inspect the queue); `npm start` turns it on.
   */
  consumer?: boolean;
  /**
   * Run the consumer in a child process that restarts when a file under the handler module's
   * folder changes (what `npm start` does). Implies `consumer`. Default false: in this process.
   */
  consumerProcess?: boolean;
  /**
   * Keep the hook queue, the dead-letter queue and the dedupe table in `stateDir` across
   * restarts (`sqs-state.json`, `dynamodb/`). Default false: in memory.
   */
  persist?: boolean;
  /** The hook queue's visibility timeout, in seconds: how soon a failed event is retried. Default 5. */
  visibilityTimeoutSeconds?: number;
  /** Receives before a message moves to the dead-letter queue. Default 5. */
  maxReceiveCount?: number;
  /** The consumer's timeout in milliseconds, as the event source gives it (its lease follows). Default 30 s. */
  consumerTimeoutMs?: number;
  /**
   * Put a fault proxy between the functions and each emulator, so tests can cut a service off
   * (`stack.faults.sqs.cut()`) and bring it back. Default false.
   */
  faultInjection?: boolean;
  /**
   * Run these bundles (`index.mjs` files that CDK built) instead of the TypeScript sources, by
   * function: `ticket-center-url`, `hook-receiver`, `consumer`. See `npm start -- --bundles`.
   */
  bundles?: Partial<Record<FunctionName, string>>;
  /**
   * Put each processed event on a local EventBridge stand-in (./emulators/eventbridge), as
   * `eventBus` does on AWS: it logs a `local bus event` line per event and delivers to the rules
   * added with `stack.eventBridge.addRule`. Default true.
   */
  eventBus?: boolean;
  /**
   * The base URL of Crisp's REST API for `context.crisp`. Default: a local stand-in
   * (./crisp-api-stub) that records calls and can be told to fail; `stack.crispApi`.
   */
  crispApiUrl?: string;
  /** Serve this CSS file at `/ticket-center.css`, as `ticketCenterStylesheet` is served on AWS. */
  stylesheet?: string;
  /** Serve the demo dashboard at `/` (and `POST /local/token` for it). Default true. */
  demo?: boolean;
  /** Extra environment for the functions (e.g. `HOOK_MAX_AGE_SECONDS`, `HOOK_EVENTS`). */
  functionEnv?: Record<string, string>;
  /**
   * The handler module the consumer runs (a path), as `handlers.entry` on the construct.
   * Default: the shipped example (functions/consumer/handlers/index.ts).
   */
  handlers?: string;
  /** Settings for the handlers (`context.settings`), as `handlers.environment` on the construct. */
  handlerSettings?: Record<string, string>;
  /** Secret values for the handlers (`context.secrets.get`), put in the Secrets Manager emulator. */
  handlerSecrets?: Record<string, string>;
  /** CORS origins. Default none. */
  allowedOrigins?: string[];
  /** Folder holding the dev issuer's key and, with `persist`, the queues and the table. Default `.local/` (or `CRISP_BRIDGE_LOCAL_DIR`). */
  stateDir?: string;
  /** API Gateway-level log lines (the functions log to stdout themselves). */
  log?: (line: Record<string, unknown>) => void;
}

export interface LocalStack {
  readonly url: string;
  readonly websiteId: string;
  readonly ticketCenterSecret: string;
  readonly hookSecret: string;
  readonly websiteHookKey: string;
  readonly secretsManager: SecretsManagerEmulator;
  readonly sqs: SqsEmulator;
  readonly dynamodb: DynamoDbEmulator;
  /** Switches to cut each service off, with `faultInjection`. */
  readonly faults: { sqs: FaultProxy; dynamodb: FaultProxy; secretsManager: FaultProxy } | undefined;
  /** Secret names in the emulator, by purpose. */
  readonly secretNames: typeof LOCAL_SECRET_NAMES;
  /** The local EventBridge bus, unless `eventBus: false`. */
  readonly eventBridge: EventBridgeEmulator | undefined;
  /** The local stand-in for Crisp's REST API (undefined with `crispApiUrl`). */
  readonly crispApi: CrispApiStub | undefined;
  /** The consumer's child process, with `consumerProcess`. */
  readonly consumerProcess: ConsumerProcess | undefined;
  /** A token the local stack accepts. */
  issueToken(options: DevTokenOptions): string;
  close(): Promise<void>;
}

export type FunctionName = 'ticket-center-url' | 'hook-receiver' | 'consumer';

/** The shipped example handler module: what the consumer runs without `handlers`. */
export const EXAMPLE_HANDLERS = path.join(__dirname, '..', '..', 'functions', 'consumer', 'handlers', 'index.ts');

const SOURCES: Record<Exclude<FunctionName, 'consumer'>, () => Promise<{ handler: unknown }>> = {
  'ticket-center-url': () => import('../../functions/ticket-center-url/handler'),
  'hook-receiver': () => import('../../functions/hook-receiver/handler'),
};

/** The local bus and the events' source, as `eventBus` and `eventSource` name them on AWS. */
export const LOCAL_BUS_NAME = 'crisp-bridge-local';
export const LOCAL_EVENT_SOURCE = 'crisp-bridge.local';

/** What `persist` keeps in the state folder. */
export const LOCAL_STATE_FILES = { sqs: 'sqs-state.json', dynamodb: 'dynamodb' } as const;

export const LOCAL_SECRET_NAMES = {
  ticketCenter: 'crisp-bridge/ticket-center',
  hook: 'crisp-bridge/hook-signing-secret',
  websiteHookKey: 'crisp-bridge/website-hook-key',
  crispApiToken: 'crisp-bridge/crisp-api-token',
} as const;

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  // Before any emulator starts, so that a refused address leaves nothing running.
  if (options.host !== undefined) assertLoopback(options.host);
  const websiteId = options.websiteId ?? randomUUID();
  const ticketCenterSecret = options.ticketCenterSecret ?? randomBytes(24).toString('base64url');
  const hookSecret = options.hookSecret ?? randomBytes(24).toString('hex');
  const websiteHookKey = options.websiteHookKey ?? randomBytes(24).toString('base64url');
  const websiteHooks = options.websiteHooks ?? true;

  const secretsManager = await startSecretsManagerEmulator({
    [LOCAL_SECRET_NAMES.ticketCenter]: ticketCenterSecret,
    [LOCAL_SECRET_NAMES.hook]: hookSecret,
    [LOCAL_SECRET_NAMES.websiteHookKey]: websiteHookKey,
    ...Object.fromEntries(Object.entries(options.handlerSecrets ?? {}).map(([name, value]) => [`crisp-bridge/handler/${name}`, value])),
  });
  // Crisp's REST API: a stand-in with a token of its own, put in the Secrets Manager emulator like
  // the operator's plugin token (`crispApi` on the construct); the token never leaves this process.
  const crispToken = { identifier: `local-plugin-${randomUUID()}`, key: randomBytes(32).toString('hex') };
  const crispApi = options.crispApiUrl === undefined ? await startCrispApiStub({ token: crispToken }) : undefined;
  secretsManager.put(LOCAL_SECRET_NAMES.crispApiToken, JSON.stringify(crispToken));
  const eventBridge = options.eventBus === false ? undefined : await startEventBridgeEmulator();
  const maxReceiveCount = options.maxReceiveCount ?? 5;
  const stateDir = options.stateDir ?? localStateDir();
  const sqs = await startSqsEmulator({
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 5,
    maxReceiveCount,
    ...(options.persist ? { stateFile: path.join(stateDir, LOCAL_STATE_FILES.sqs) } : {}),
  });
  const dynamodb = await startDynamoDbEmulator(options.persist ? { path: path.join(stateDir, LOCAL_STATE_FILES.dynamodb) } : {});
  const faults = options.faultInjection
    ? {
        sqs: await startFaultProxy(sqs.endpoint),
        dynamodb: await startFaultProxy(dynamodb.endpoint),
        secretsManager: await startFaultProxy(secretsManager.endpoint),
      }
    : undefined;

  // What the CDK constructs give the deployed functions, pointed at the emulators.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: faults?.secretsManager.endpoint ?? secretsManager.endpoint,
    AWS_ENDPOINT_URL_SQS: faults?.sqs.endpoint ?? sqs.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: faults?.dynamodb.endpoint ?? dynamodb.endpoint,
    CRISP_WEBSITE_ID: websiteId,
    TICKET_CENTER_SECRET_ID: secretsManager.arnOf(LOCAL_SECRET_NAMES.ticketCenter),
    HOOK_QUEUE_URL: sqs.queueUrl,
    HOOK_SECRET_ID: secretsManager.arnOf(LOCAL_SECRET_NAMES.hook),
    WEBSITE_HOOK_KEY_ID: websiteHooks ? secretsManager.arnOf(LOCAL_SECRET_NAMES.websiteHookKey) : '',
    DEDUPE_TABLE_NAME: dynamodb.tableName,
    MAX_RECEIVE_COUNT: String(maxReceiveCount),
    DEAD_LETTER_QUEUE_URL: sqs.deadLetterQueueUrl,
    ...(eventBridge ? { AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint, BUS_NAME: LOCAL_BUS_NAME, EVENT_SOURCE: LOCAL_EVENT_SOURCE } : {}),
    CRISP_API_URL: options.crispApiUrl ?? crispApi!.url,
    CRISP_API_TOKEN_SECRET_ID: secretsManager.arnOf(LOCAL_SECRET_NAMES.crispApiToken),
    HANDLER_SECRETS: JSON.stringify(
      Object.fromEntries(Object.keys(options.handlerSecrets ?? {}).map((name) => [name, secretsManager.arnOf(`crisp-bridge/handler/${name}`)])),
    ),
    ...options.handlerSettings,
    ...options.functionEnv,
  });
  delete process.env.AWS_PROFILE;
  if (!eventBridge) {
    delete process.env.BUS_NAME;
    delete process.env.EVENT_SOURCE;
  }

  const key = loadOrCreateDevIssuerKey(stateDir);
  // The TypeScript sources, or the bundles CDK built from them.
  const load = async (name: FunctionName): Promise<unknown> => {
    const bundle = options.bundles?.[name];
    const module = (
      bundle ? await import(bundle) : name === 'consumer' ? { handler: await consumerAround(path.resolve(options.handlers ?? EXAMPLE_HANDLERS)) } : await SOURCES[name]()
    ) as { handler?: unknown };
    if (typeof module.handler !== 'function') throw new Error(`${bundle ?? name} exports no handler`);
    return module.handler;
  };
  const hookReceiver = async () => (await load('hook-receiver')) as HttpHandler;
  const routes: LocalRoute[] = [
    {
      method: 'GET',
      path: '/ticket-center/url',
      jwt: true,
      functionName: 'crisp-bridge-ticket-center-url',
      load: async () => (await load('ticket-center-url')) as HttpHandler,
    },
    { method: 'POST', path: '/hooks/crisp', functionName: 'crisp-bridge-hook-receiver', load: hookReceiver, timeoutMs: 5000 },
    ...(websiteHooks
      ? [{ method: 'POST', path: '/hooks/crisp/website', functionName: 'crisp-bridge-hook-receiver', load: hookReceiver, timeoutMs: 5000 } as const]
      : []),
  ];

  const demo = options.demo === false ? undefined : await createDemoSite((tokenOptions) => issueDevToken(key, tokenOptions));
  const stylesheet = options.stylesheet ? stylesheetRoute(options.stylesheet) : undefined;
  const localSite: LocalSite | undefined =
    stylesheet || demo ? async (request) => (await stylesheet?.site(request)) ?? (await demo?.(request)) : undefined;
  const api = await startLocalApi({
    routes,
    localSite,
    authorizer: { issuer: LOCAL_DEV_ISSUER, audience: [LOCAL_DEV_AUDIENCE], keys: new Map<string, KeyObject>([[key.kid, key.publicKey]]) },
    allowedOrigins: options.allowedOrigins,
    host: options.host,
    port: options.port,
    log: options.log,
  });

  let poller: Poller | undefined;
  let consumerProcess: ConsumerProcess | undefined;
  if (options.consumerProcess) {
    consumerProcess = startConsumerProcess({
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      handlers: path.resolve(options.handlers ?? EXAMPLE_HANDLERS),
      bundle: options.bundles?.consumer,
      timeoutMs: options.consumerTimeoutMs,
      log: options.log,
    });
  } else if (options.consumer) {
    poller = startPoller({
      client: sqs.client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      load: async () => (await load('consumer')) as SqsHandler,
      timeoutMs: options.consumerTimeoutMs,
      log: options.log,
    });
  }

  return {
    url: api.url,
    websiteId,
    ticketCenterSecret,
    hookSecret,
    websiteHookKey,
    secretsManager,
    sqs,
    dynamodb,
    faults,
    secretNames: LOCAL_SECRET_NAMES,
    consumerProcess,
    crispApi,
    eventBridge,
    issueToken: (tokenOptions) => issueDevToken(key, tokenOptions),
    close: async () => {
      await api.close();
      await poller?.stop();
      await consumerProcess?.stop();
      await Promise.all([faults?.sqs.close(), faults?.dynamodb.close(), faults?.secretsManager.close()]);
      await sqs.close();
      await dynamodb.close();
      await secretsManager.close();
      await crispApi?.close();
      await eventBridge?.close();
    },
  };
}
