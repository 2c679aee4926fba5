/**
 * The SQS emulator's messages on disk, so that `npm start` can be restarted without losing the
 * hook queue or the dead letters (used by ./sqs when it is given a `stateFile`).
 *
 * fauxqs keeps its queues in an `SqsStore` (objects in memory); ./sqs builds that store itself
 * and hands it to `buildApp({ stores })`, so this module reads and fills the very queues the
 * HTTP API serves. What is kept, per message: id, body, message attributes (and so their MD5s,
 * recomputed by fauxqs's own `SqsStore.createMessage`), sent timestamp, receive count, first
 * receive timestamp, and a delay still pending. A message in flight when the emulator stopped
 * comes back visible (its consumer is gone), its receive count kept, so the redrive policy
 * (maxReceiveCount, then the DLQ) keeps counting across restarts.
 *
 * Not kept: receipt handles and visibility deadlines (see above), queue attributes and tags
 * (./sqs recreates the queues from its options at each start), FIFO state (deduplication cache,
 * sequence numbers, group locks; the local queues are standard queues), queues other than the
 * ones named, and SNS/S3 (unused). fauxqs does not enforce MessageRetentionPeriod, so a message
 * stays until consumed, however long the emulator was down.
 *
 * Saving: the queues' mutating methods (`enqueue`, `dequeue`, `deleteMessage`, `purge`) are
 * wrapped on the two queue objects to raise a "changed" flag (one boolean store on the hot
 * path); the first change arms a 250 ms timer (unref'd), which writes the whole snapshot,
 * atomically (./state-files). So a burst of traffic costs at most four writes a second, an idle
 * emulator none, and a kill loses at most the last 250 ms. `close()` writes once more. Should
 * a snapshot take long to build (its JSON is built on the event loop; thousands of queued
 * messages), the delay grows to ten times that, up to 5 s, so that saving never takes more than
 * a tenth of the event loop. A failed write is a warning on stderr (once per distinct error),
 * retried after the next delay (the queues are never blocked by it).
 *
 * Loading: a missing file is an empty start; a file that is not valid JSON, not this format, of
 * another version, or names a queue not asked for, is moved aside (`<file>.corrupt-<time>`)
 * with a warning on stderr, and the queues start empty.
 */
import { readFile } from 'node:fs/promises';
import type { BuildAppOptions } from 'fauxqs';
import { moveAside, warn, writeFileAtomic } from './state-files';

type FauxqsStores = NonNullable<BuildAppOptions['stores']>;
/** fauxqs's SqsStore (not exported by the package: its type is reached through buildApp's options). */
export type FauxqsSqsStore = FauxqsStores['sqsStore'];
type FauxqsQueue = NonNullable<ReturnType<FauxqsSqsStore['getQueueByName']>>;
type FauxqsMessage = FauxqsQueue['messages'][number];
type MessageAttributes = FauxqsMessage['messageAttributes'];
/** The static side of fauxqs's SqsStore class: builds a message with its MD5s. */
export interface FauxqsSqsStoreClass {
  new (): FauxqsSqsStore;
  createMessage(body: string, messageAttributes?: MessageAttributes): FauxqsMessage;
}

export const SQS_STATE_FORMAT = 'crisp-bridge/sqs-state';
export const SQS_STATE_VERSION = 1;
/** Time between a change to the queues and its write to disk (what a kill can lose)... */
export const SQS_STATE_DEBOUNCE_MS = 250;
/** ...unless snapshots are slow (thousands of queued messages): then up to this. */
export const SQS_STATE_MAX_DEBOUNCE_MS = 5000;

/** One message as saved. */
interface SavedMessage {
  messageId: string;
  body: string;
  messageAttributes: MessageAttributes;
  sentTimestamp: number;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  delayUntil?: number;
}

interface SavedState {
  format: typeof SQS_STATE_FORMAT;
  version: typeof SQS_STATE_VERSION;
  savedAt: string;
  /** Queue name → its messages: visible ones in queue order, then those in flight, then delayed ones. */
  queues: Record<string, SavedMessage[]>;
}

export interface SqsStatePersistence {
  /** Stops watching, and writes the state one last time (a failure is a warning, not an error). */
  close(): Promise<void>;
}

/**
 * Restores the messages saved in `file` into the named queues of `store` (which must exist),
 * then saves them to `file` on every change until `close()`.
 */
export async function persistSqsState(options: {
  file: string;
  store: FauxqsSqsStore;
  storeClass: FauxqsSqsStoreClass;
  queueNames: readonly string[];
}): Promise<SqsStatePersistence> {
  const { file, store, storeClass, queueNames } = options;
  const queues = queueNames.map((name) => {
    const queue = store.getQueueByName(name);
    if (!queue) throw new Error(`sqs state: queue ${name} does not exist`);
    return queue;
  });

  const saved = await loadState(file, queueNames);
  for (const queue of queues) {
    for (const message of saved?.queues[queue.name] ?? []) queue.enqueue(restoreMessage(message, storeClass));
  }

  let dirty = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  let lastError: string | undefined;
  let delayMs = SQS_STATE_DEBOUNCE_MS;

  const write = (): Promise<void> => {
    writing = writing.then(async () => {
      if (!dirty) return;
      dirty = false;
      try {
        // The snapshot is taken here, synchronously: the latest state, consistent across queues.
        const started = performance.now();
        const text = JSON.stringify(snapshot(queues));
        // What it cost the event loop sets the next delay: at most a tenth of the time spent saving.
        delayMs = Math.min(SQS_STATE_MAX_DEBOUNCE_MS, Math.max(SQS_STATE_DEBOUNCE_MS, Math.ceil(10 * (performance.now() - started))));
        await writeFileAtomic(file, text);
        lastError = undefined;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // Once per distinct failure, not every 250 ms while the disk stays full.
        if (message !== lastError) warn(`could not save the SQS emulator's state to ${file}: ${message}`);
        lastError = message;
        if (!closed) changed(); // retry later
      }
    });
    return writing;
  };
  const changed = (): void => {
    dirty = true;
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = undefined;
      void write();
    }, delayMs);
    timer.unref();
  };
  for (const queue of queues) watchQueue(queue, changed);

  return {
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      dirty = true;
      await write();
    },
  };
}

/** Wraps the queue's mutating methods (on this object only) to call `changed` after a change. */
function watchQueue(queue: FauxqsQueue, changed: () => void): void {
  for (const name of ['enqueue', 'dequeue', 'deleteMessage', 'purge'] as const) {
    if (typeof queue[name] !== 'function') throw new Error(`fauxqs changed: SqsQueue.${name} not found; review scripts/local/emulators/sqs-state.ts`);
  }
  const { enqueue, dequeue, deleteMessage, purge } = queue;
  queue.enqueue = function (this: FauxqsQueue, ...args) {
    enqueue.apply(this, args);
    changed();
  };
  // An empty receive changes nothing (a message it moves to the DLQ goes through the DLQ's
  // enqueue); long polls make many of those.
  queue.dequeue = function (this: FauxqsQueue, ...args) {
    const received = dequeue.apply(this, args);
    if (received.length > 0) changed();
    return received;
  };
  queue.deleteMessage = function (this: FauxqsQueue, ...args) {
    const deleted = deleteMessage.apply(this, args);
    if (deleted) changed();
    return deleted;
  };
  queue.purge = function (this: FauxqsQueue, ...args) {
    purge.apply(this, args);
    changed();
  };
  // changeVisibility and the timers only move messages between "in flight" and "visible",
  // which the saved state does not tell apart.
}

function snapshot(queues: readonly FauxqsQueue[]): SavedState {
  const state: SavedState = { format: SQS_STATE_FORMAT, version: SQS_STATE_VERSION, savedAt: new Date().toISOString(), queues: {} };
  for (const queue of queues) {
    const { ready, inflight, delayed } = queue.inspectMessages();
    const inflightInOrder = inflight.map((entry) => entry.message).sort((a, b) => a.sentTimestamp - b.sentTimestamp);
    state.queues[queue.name] = [...ready, ...inflightInOrder, ...delayed].map(saveMessage);
  }
  return state;
}

function saveMessage(message: FauxqsMessage): SavedMessage {
  return {
    messageId: message.messageId,
    body: message.body,
    messageAttributes: message.messageAttributes,
    sentTimestamp: message.sentTimestamp,
    approximateReceiveCount: message.approximateReceiveCount,
    ...(message.approximateFirstReceiveTimestamp !== undefined ? { approximateFirstReceiveTimestamp: message.approximateFirstReceiveTimestamp } : {}),
    ...(message.delayUntil !== undefined ? { delayUntil: message.delayUntil } : {}),
  };
}

function restoreMessage(saved: SavedMessage, storeClass: FauxqsSqsStoreClass): FauxqsMessage {
  // createMessage computes the body's and the attributes' MD5s as fauxqs does for a SendMessage.
  const message = storeClass.createMessage(saved.body, saved.messageAttributes);
  message.messageId = saved.messageId;
  message.sentTimestamp = saved.sentTimestamp;
  message.approximateReceiveCount = saved.approximateReceiveCount;
  if (saved.approximateFirstReceiveTimestamp !== undefined) message.approximateFirstReceiveTimestamp = saved.approximateFirstReceiveTimestamp;
  // A delay that has run out while the emulator was down: enqueue() makes the message visible.
  if (saved.delayUntil !== undefined) message.delayUntil = saved.delayUntil;
  return message;
}

/** The saved state, or undefined (no file, or a bad one now moved aside). */
async function loadState(file: string, queueNames: readonly string[]): Promise<SavedState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the SQS emulator's state ${file}: ${(error as Error).message}`);
  }
  try {
    return parseState(text, queueNames);
  } catch (error) {
    moveAside(file, `not a usable SQS emulator state (${(error as Error).message})`);
    return undefined;
  }
}

/** Parses and checks a saved state; throws, saying why, if it is not one this code wrote. */
export function parseState(text: string, queueNames: readonly string[]): SavedState {
  const state = JSON.parse(text) as unknown;
  if (!isRecord(state) || state.format !== SQS_STATE_FORMAT) throw new Error(`not a ${SQS_STATE_FORMAT} file`);
  if (state.version !== SQS_STATE_VERSION) throw new Error(`version ${JSON.stringify(state.version)}, expected ${SQS_STATE_VERSION}`);
  if (!isRecord(state.queues)) throw new Error('no queues');
  for (const [name, messages] of Object.entries(state.queues)) {
    if (!queueNames.includes(name)) throw new Error(`unknown queue ${name}`);
    if (!Array.isArray(messages)) throw new Error(`queue ${name}: messages not a list`);
    messages.forEach((message: unknown, index) => {
      const problem = messageProblem(message);
      if (problem) throw new Error(`queue ${name}, message ${index}: ${problem}`);
    });
  }
  return state as unknown as SavedState;
}

function messageProblem(message: unknown): string | undefined {
  if (!isRecord(message)) return 'not an object';
  if (typeof message.messageId !== 'string' || message.messageId === '') return 'no messageId';
  if (typeof message.body !== 'string') return 'no body';
  if (!isRecord(message.messageAttributes)) return 'no messageAttributes';
  for (const [name, value] of Object.entries(message.messageAttributes)) {
    if (!isRecord(value) || typeof value.DataType !== 'string') return `attribute ${name}: no DataType`;
    if (value.StringValue !== undefined && typeof value.StringValue !== 'string') return `attribute ${name}: StringValue not a string`;
    if (value.BinaryValue !== undefined && typeof value.BinaryValue !== 'string') return `attribute ${name}: BinaryValue not a string`;
  }
  if (!isTimestamp(message.sentTimestamp)) return 'no sentTimestamp';
  if (!Number.isSafeInteger(message.approximateReceiveCount) || (message.approximateReceiveCount as number) < 0) return 'bad approximateReceiveCount';
  if (message.approximateFirstReceiveTimestamp !== undefined && !isTimestamp(message.approximateFirstReceiveTimestamp)) return 'bad approximateFirstReceiveTimestamp';
  if (message.delayUntil !== undefined && !isTimestamp(message.delayUntil)) return 'bad delayUntil';
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTimestamp(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
