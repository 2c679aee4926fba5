/**
 * The consumer use case: an SQS batch in, `batchItemFailures` out. Each event is claimed in the
 * dedupe store before its handler runs and marked done after; a failure releases the claim and
 * reports the record so SQS redelivers it; a `PermanentError` sends it to the dead-letter queue at
 * once. Ports (store, handlers, dead-letter queue, event bus, clock, logger) are passed in.
 *
 * With an event bus (`eventBus`), each claimed event is put on it before its handler runs
 * (claim, put, handler, complete), the batch's events together in as few PutEvents calls as
 * possible (./event-publishing). A retryable refusal releases the claim and retries the event
 * (its handler has not run); a non-retryable one (ValidationException, AccessDenied...)
 * dead-letters it like a `PermanentError`. See docs/event-bus.md.
 *
 * Per record, one line: `crisp event processed` (with `duplicate: false` the one time the
 * handlers ran, `duplicate: true` for every redelivery acknowledged without running them; the
 * handler's `context.count`s and an unhandled event's `EventUnhandled` ride on it), or why it was
 * not processed this time; the line of a message's last attempt says it goes to the dead-letter
 * queue, never that it will be retried.
 */
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { CanonicalJsonError } from '../commons/core/canonical-json';
import { ATTRIBUTES, type HookKind, parseEnvelope } from '../commons/core/hook-envelope';
import { type DedupeStore, dedupeKeyOfValidJson, leaseExpiry, recordExpiry } from '../commons/core/dedupe';
import { type CrispEnvelope, buildBusEntry } from '../commons/core/event-bus-entry';
import type { CrispApi, CrispApiFactory } from '../commons/core/crisp-api';
import type { Logger, MetricSet } from '../commons/logger';
import { isPermanentError, SecretUnavailableError } from './errors';
import type { CrispEvent } from './events';
import { BatchPublisher, type EventBusDeps, type PublishSlot } from './event-publishing';
import { eventCounts } from './event-counts';
import { type HandlerContext, type HandlerSecrets, type HandlerSet, handlerFor } from './registry';

/** Where a message goes that must not be retried (`PermanentError`): the hook queue's dead-letter queue. */
export interface DeadLetterQueue {
  /** Resolves once the queue accepted a copy of `record` (body and attributes) with `reason` added. */
  send(record: SQSRecord, reason: string): Promise<void>;
}

export interface ConsumerDeps {
  store: DedupeStore;
  handlers: HandlerSet;
  /** The handlers' declared settings, by name. Default: none. */
  settings?: Readonly<Record<string, string>>;
  /** The handlers' declared secrets. Default: none (any `get` rejects). */
  secrets?: HandlerSecrets;
  /** Where `PermanentError` events go. Without one they are retried like other failures. */
  deadLetter?: DeadLetterQueue | undefined;
  /** The EventBridge bus every claimed event is put on before its handler runs. Default: none. */
  eventBus?: EventBusDeps | undefined;
  logger: Logger;
  /** Epoch ms. */
  now: () => number;
  /** A fresh random claim owner id. */
  newOwner: () => string;
  /** Milliseconds left in this invocation (`context.getRemainingTimeInMillis`). */
  remainingTimeMs: () => number;
  /** How long a processed event's key is kept. */
  ttlHours: number;
  /** Receives after which SQS moves a message to the dead-letter queue (for the log only). */
  maxReceiveCount?: number | undefined;
  /** Added to the remaining time to make the claim's lease. Default `LEASE_MARGIN_MS` (10 s). */
  leaseMarginMs?: number | undefined;
  /** Makes `context.crisp` for an event. Without one (`crispApi` off), reading `context.crisp` throws. */
  crispApi?: CrispApiFactory | undefined;
}

interface DecodedRecord {
  record: SQSRecord;
  event: CrispEvent;
  key: string;
  deliveryAttempt: number | undefined;
  /** Stored in the dedupe record (`npm run event`), not logged. */
  deliveryAttemptLimit: number | undefined;
  receiveCount: number | undefined;
  hookKind: HookKind;
}

export async function processBatch(batch: SQSEvent, deps: ConsumerDeps): Promise<SQSBatchResponse> {
  const failures: string[] = [];
  const groups = new Map<string, DecodedRecord[]>();
  for (const record of batch.Records) {
    const decoded = decode(record, deps.logger, deps.maxReceiveCount);
    if (!decoded) {
      failures.push(record.messageId); // kept, and after the maximum receives moved to the DLQ for a human
      continue;
    }
    const group = groups.get(decoded.key);
    if (group) group.push(decoded);
    else groups.set(decoded.key, [decoded]);
  }
  // Distinct events run concurrently; copies of one event inside the batch are handled once.
  // With a bus, each event gets a slot in the batch's PutEvents calls, given up if it does not publish.
  const bus = deps.eventBus ? new BatchPublisher(deps.eventBus.publisher, groups.size) : undefined;
  const results = await Promise.all(
    [...groups.values()].map((group) => {
      const slot = bus?.slot();
      return processEvent(group, deps, slot).finally(() => slot?.giveUp());
    }),
  );
  for (const failed of results) failures.push(...failed);
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

const NO_SECRETS: HandlerSecrets = {
  get: (name) => Promise.reject(new SecretUnavailableError(name, 'not declared')),
};

function numberAttribute(record: SQSRecord, name: string): number | undefined {
  const value = record.messageAttributes?.[name]?.stringValue;
  return value !== undefined && /^[0-9]+$/.test(value) ? Number(value) : undefined;
}

function decode(record: SQSRecord, logger: Logger, maxReceiveCount: number | undefined): DecodedRecord | undefined {
  const receiveCount = Number(record.attributes?.ApproximateReceiveCount) || undefined;
  const fail = (problem: string): undefined => {
    const last = maxReceiveCount !== undefined && (receiveCount ?? 0) >= maxReceiveCount;
    logger.error('invalid queue message', { messageId: record.messageId, problem, receiveCount, willRetry: !last, deadLetter: last }, { EventInvalid: 1 });
    return undefined;
  };
  const encoding = record.messageAttributes?.[ATTRIBUTES.bodyEncoding]?.stringValue;
  const body = record.body ?? '';
  // A well-formed string is its own UTF-8 round trip: parsed as it is, without encoding and
  // decoding it again (a lone surrogate would become U+FFFD that way, so such a body still takes it).
  const parsed = parseEnvelope(encoding === 'base64' ? Buffer.from(body, 'base64') : body.isWellFormed() ? body : Buffer.from(body, 'utf8'));
  if (!parsed.ok) return fail(`${parsed.reason}${parsed.field ? ` (${parsed.field})` : ''}`);
  let key: string;
  try {
    // parseEnvelope has just parsed this text with JSON.parse, and it is well-formed (given so, or
    // decoded from bytes): the key's parser need not check either again.
    key = dedupeKeyOfValidJson(parsed.text);
  } catch (error) {
    return fail(error instanceof CanonicalJsonError && error.problem !== 'syntax' ? error.problem : 'not_json');
  }
  return {
    record,
    event: parsed.value as unknown as CrispEvent,
    key,
    deliveryAttempt: numberAttribute(record, ATTRIBUTES.deliveryAttempt),
    deliveryAttemptLimit: numberAttribute(record, ATTRIBUTES.deliveryAttemptLimit),
    receiveCount,
    // Only a message the receiver marked as a verified Plugin Hook counts as one.
    hookKind: record.messageAttributes?.[ATTRIBUTES.hookKind]?.stringValue === 'plugin' ? 'plugin' : 'website',
  };
}

/** Processes one event (every copy of it in the batch); returns the message ids to retry. */
async function processEvent(copies: DecodedRecord[], deps: ConsumerDeps, slot?: PublishSlot): Promise<string[]> {
  const [first] = copies as [DecodedRecord, ...DecodedRecord[]];
  const { event, key } = first;
  // Crisp's attempt limit is not repeated here: it is the same on every delivery, and the
  // receiver's `hook accepted` line (same dedupeKey) has it.
  const about = (copy: DecodedRecord) => ({
    event: event.event,
    website_id: event.website_id,
    dedupeKey: key,
    attempt: copy.deliveryAttempt,
    receiveCount: copy.receiveCount,
    messageId: copy.record.messageId,
  });
  const log = deps.logger.child({ event: event.event, website_id: event.website_id, dedupeKey: key });
  // The same event may arrive both ways; one signed copy proves it authentic.
  const hookKind: HookKind = copies.some((copy) => copy.hookKind === 'plugin') ? 'plugin' : 'website';
  const retryAll = (message: string, fields: Record<string, unknown>, reason: string, level: 'info' | 'warn' | 'error' = 'warn'): string[] => {
    for (const copy of copies) {
      const last = deps.maxReceiveCount !== undefined && (copy.receiveCount ?? 0) >= deps.maxReceiveCount;
      if (last) {
        // SQS moves this message to the dead-letter queue instead of delivering it again: say so.
        deps.logger.error(
          'crisp event dead-lettered',
          { ...about(copy), ...fields, reason, willRetry: false, deadLetter: true, by: 'max_receives' },
          { EventDeadLettered: 1 },
          { reason },
        );
      } else {
        deps.logger[level](message, { ...about(copy), ...fields, willRetry: true, deadLetter: false }, { EventRetried: 1 }, { reason });
      }
    }
    return copies.map((copy) => copy.record.messageId);
  };
  const processed = (copy: DecodedRecord, duplicate: boolean, fields: Record<string, unknown> = {}, counted: readonly MetricSet[] = []) =>
    deps.logger.info(
      'crisp event processed',
      { ...about(copy), duplicate, ...fields },
      duplicate
        ? { EventDuplicate: 1 }
        : {
            EventProcessed: 1,
            ...(fields.published ? { EventPublished: 1 } : {}),
            ...(fields.truncated ? { EventPublishTruncated: 1 } : {}),
            ...(fields.handler === 'none' ? { EventUnhandled: 1 } : {}),
          },
      undefined,
      counted,
    );

  const now = deps.now();
  const owner = deps.newOwner();
  let outcome;
  try {
    outcome = await deps.store.claim({
      key,
      owner,
      now,
      leaseExpiresAt: leaseExpiry(now, deps.remainingTimeMs(), deps.leaseMarginMs),
      expiresAt: recordExpiry(now, deps.ttlHours),
      details: {
        event: event.event,
        websiteId: event.website_id,
        messageId: first.record.messageId,
        receiveCount: first.receiveCount,
        deliveryAttempt: first.deliveryAttempt,
        deliveryAttemptLimit: first.deliveryAttemptLimit,
      },
    });
  } catch (error) {
    return retryAll('crisp event not processed: dedupe store unavailable', { error }, 'store_unavailable', 'error');
  }

  if (outcome === 'completed') {
    for (const copy of copies) processed(copy, true);
    return [];
  }
  if (outcome === 'in_progress') {
    return retryAll('crisp event in progress elsewhere, retrying later', {}, 'in_progress', 'info');
  }

  const releaseClaim = async (error: string): Promise<void> => {
    try {
      await deps.store.release(key, owner, { now: deps.now(), error });
    } catch (releaseError) {
      log.warn('could not release the claim; it frees itself when its lease ends', { error: releaseError });
    }
  };
  /** To the dead-letter queue now, every copy acknowledged; retried instead if the queue refuses it. */
  const deadLetterNow = async (
    deadLetter: DeadLetterQueue,
    reasonText: string,
    fields: { reason: string; by: string; [field: string]: unknown },
    refused?: () => void,
  ): Promise<string[]> => {
    try {
      await deadLetter.send(first.record, reasonText);
    } catch (sendError) {
      refused?.();
      return retryAll('crisp event will be retried: the dead-letter queue did not accept it', { error: sendError }, 'dead_letter_unavailable');
    }
    for (const copy of copies) {
      deps.logger.error('crisp event dead-lettered', { ...about(copy), ...fields, willRetry: false, deadLetter: true }, { EventDeadLettered: 1 }, { reason: fields.reason });
    }
    return []; // acknowledged here: its copy waits in the dead-letter queue
  };

  // Ours. With a bus, onto the bus first, then the handler: a refused put leaves the handler
  // unrun, so no retry ever runs it twice; a handler failing after the put has the event put
  // again on the retry, with the same dedupeKey (subscribers dedupe on it).
  let publication: Record<string, unknown> = {};
  if (slot && deps.eventBus) {
    const built = buildBusEntry(event as unknown as CrispEnvelope, {
      source: deps.eventBus.source,
      dedupeKey: key,
      hookKind,
    });
    const put = await slot.publish(built.entry);
    if (!put.ok) {
      const { errorCode, errorMessage, retryable } = put;
      await releaseClaim(`${errorCode}: ${errorMessage}`);
      deps.logger.error('crisp event not published', { ...about(first), errorCode, errorMessage, retryable }, { EventPublishFailed: 1 }, { errorCode });
      if (!retryable && deps.deadLetter) {
        return deadLetterNow(deps.deadLetter, `the event bus refused it: ${errorCode}`, { errorCode, reason: 'publish_refused', by: 'event_bus' });
      }
      return retryAll('crisp event will be retried: the event bus did not accept it', { errorCode }, 'publish_failed');
    }
    publication = built.truncated ? { published: true, truncated: true, dropped: built.dropped } : { published: true };
  }

  // Run the handler.
  const handler = handlerFor(deps.handlers, event.event);
  const handlerLog = log.child({ messageId: first.record.messageId });
  const counts = eventCounts(event);
  const context: HandlerContext = {
    logger: handlerLog,
    settings: deps.settings ?? {},
    secrets: deps.secrets ?? NO_SECRETS,
    dedupeKey: key,
    hookKind,
    deliveryAttempt: first.deliveryAttempt,
    receiveCount: first.receiveCount,
    remainingTimeMs: deps.remainingTimeMs,
    count: counts.count,
    crispApiEnabled: deps.crispApi !== undefined,
    get crisp() {
      return (crisp ??= crispFor(deps, event, key, handlerLog));
    },
  };
  let crisp: CrispApi | undefined;
  // Not enumerable: spreading or logging the context must not make (or, when off, throw from) it.
  Object.defineProperty(context, 'crisp', { enumerable: false });
  try {
    if (handler) await handler(event as CrispEvent<never>, context);
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // Released even for a PermanentError: a redrive from the dead-letter queue, once the handler
    // is fixed, must be able to claim the event again.
    await releaseClaim(message);
    if (isPermanentError(error) && deps.deadLetter) {
      return deadLetterNow(deps.deadLetter, error.reason, { error, reason: 'permanent_error', by: 'handler' }, () =>
        deps.logger.error('crisp event failed', { ...about(first), error, permanent: true }, { EventFailed: 1 }),
      );
    }
    deps.logger.error('crisp event failed', { ...about(first), error }, { EventFailed: 1 });
    return retryAll('crisp event will be retried', {}, 'handler_failed');
  }

  try {
    const completed = await deps.store.complete(key, owner, { now: deps.now(), expiresAt: recordExpiry(deps.now(), deps.ttlHours) });
    if (!completed) log.warn('claim lost before completion (the run outlived its lease); the event may run again');
  } catch (error) {
    // The handler ran: acknowledge rather than run it again. The record frees itself when its lease ends.
    log.error('could not mark the event done; a redelivery after the lease may run it again', { error });
  }
  // One line per copy: the first carries the event's outcome, its publication and the handler's counts.
  copies.forEach((copy, index) =>
    processed(copy, index > 0, { ...(handler ? {} : { handler: 'none' }), ...(index === 0 ? publication : {}) }, index === 0 ? counts.sets() : []),
  );
  return [];
}

/** `context.crisp`: made on first use, once per event; without a factory, an error saying how to turn it on. */
function crispFor(deps: ConsumerDeps, event: CrispEvent, dedupeKey: string, logger: Logger): CrispApi {
  if (!deps.crispApi) {
    throw new Error(
      'context.crisp is not available: the Crisp API is off. Deploy with crispApi: true (CrispBridge prop, or -c crispApi=true) ' +
        'and set the plugin token with the SetCrispApiTokenCommand stack output (locally: CRISP_API_TOKEN_SECRET_ID and CRISP_API_URL). See docs/crisp-api.md.',
    );
  }
  return deps.crispApi({ websiteId: event.website_id, dedupeKey, remainingTimeMs: deps.remainingTimeMs, logger });
}
