/**
 * Publishing the events of one SQS batch to the EventBridge bus, in as few PutEvents calls as
 * the limits allow (10 entries, 256 KB), while `processBatch` keeps handling each event on its
 * own, concurrently.
 *
 * Each event of the batch gets a slot. It either publishes through it (after its dedupe claim)
 * or gives it up (a duplicate, an event in progress elsewhere, a store failure). Entries wait
 * until every slot is used or given up, or until a full call's worth is waiting, then go out
 * together; each event's promise resolves with its own entry's outcome. No timer: when nothing
 * more can arrive, what waits is sent.
 */
import { type BusEntry, chunkEntries, entrySize, isRetryablePublishError } from '../commons/core/event-bus-entry';

/** The port: PutEvents on the bridge's bus (functions/commons/aws/eventbridge.ts). */
export interface EventPublisher {
  /**
   * Puts at most 10 entries (256 KB together). Resolves with the entries that failed, by index
   * in `entries`; rejects (or resolves with every index) when the call as a whole failed.
   */
  publish(entries: readonly BusEntry[]): Promise<{ failed: PublishFailure[] }>;
}

export interface PublishFailure {
  index: number;
  errorCode: string;
  errorMessage: string;
}

/** What the consumer needs to publish: the port and the `Source` of every entry. */
export interface EventBusDeps {
  publisher: EventPublisher;
  /** The bridge's event source (EVENT_SOURCE), e.g. `crisp-bridge.CrispBridge`. */
  source: string;
}

export type PublishOutcome = { ok: true } | { ok: false; errorCode: string; errorMessage: string; retryable: boolean };

/** One event's place in the batch's publication: use it once, or give it up. */
export interface PublishSlot {
  publish(entry: BusEntry): Promise<PublishOutcome>;
  /** This event will not publish (no-op once published or given up). */
  giveUp(): void;
}

interface Waiting {
  entry: BusEntry;
  size: number;
  resolve: (outcome: PublishOutcome) => void;
}

export class BatchPublisher {
  private open: number;
  private waiting: Waiting[] = [];
  /** PutEvents calls made (for tests and logs). */
  calls = 0;

  constructor(
    private readonly publisher: EventPublisher,
    slots: number,
  ) {
    this.open = slots;
  }

  slot(): PublishSlot {
    let used = false;
    const use = (): boolean => {
      if (used) return false;
      used = true;
      this.open -= 1;
      return true;
    };
    return {
      publish: (entry) =>
        new Promise<PublishOutcome>((resolve) => {
          if (!use()) throw new Error('a publish slot is used once');
          this.waiting.push({ entry, size: entrySize(entry), resolve });
          this.flush();
        }),
      giveUp: () => {
        if (use()) this.flush();
      },
    };
  }

  /** Sends full calls at once, and everything left when no slot is open any more. */
  private flush(): void {
    const chunks = chunkEntries(this.waiting, (item) => item.size);
    const ready = this.open === 0 ? chunks : chunks.filter((chunk, index) => index < chunks.length - 1 || chunk.length >= 10);
    if (ready.length === 0) return;
    const sent = new Set(ready.flat());
    this.waiting = this.waiting.filter((item) => !sent.has(item));
    for (const chunk of ready) void this.send(chunk);
  }

  private async send(chunk: Waiting[]): Promise<void> {
    this.calls += 1;
    let failed: PublishFailure[];
    try {
      ({ failed } = await this.publisher.publish(chunk.map((item) => item.entry)));
    } catch (error) {
      const code = errorCodeOf(error);
      const message = error instanceof Error ? error.message : String(error);
      failed = chunk.map((_, index) => ({ index, errorCode: code, errorMessage: message }));
    }
    const byIndex = new Map(failed.map((failure) => [failure.index, failure]));
    chunk.forEach((item, index) => {
      const failure = byIndex.get(index);
      item.resolve(
        failure
          ? { ok: false, errorCode: failure.errorCode, errorMessage: boundedMessage(failure.errorMessage), retryable: isRetryablePublishError(failure.errorCode) }
          : { ok: true },
      );
    });
  }
}

/** An SDK error's code (`ThrottlingException`...), else a network error's (`ECONNREFUSED`), else its name. */
export function errorCodeOf(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'Error';
  const { name, code, Code } = error as { name?: unknown; code?: unknown; Code?: unknown };
  for (const candidate of [Code, name !== 'Error' ? name : undefined, code, name]) {
    if (typeof candidate === 'string' && candidate) return candidate;
  }
  return 'Error';
}

/**
 * AWS's per-entry error text, as logged and stored with the released claim: at most 200
 * characters (cut between code points), since a validation message may quote what it refused.
 */
function boundedMessage(text: string): string {
  const chars = Array.from(text);
  return chars.length <= 200 ? text : `${chars.slice(0, 200).join('')}…`;
}
