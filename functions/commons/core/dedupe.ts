/**
 * Exactly-once processing of Crisp events over an at-least-once pipe (Crisp retries, SQS
 * redelivers): the dedupe key and the claim/complete/release protocol. Pure logic; the store
 * is a port (`DedupeStore`), implemented on DynamoDB in `aws/dynamodb-dedupe-store.ts`.
 *
 * The key is derived from the event's content, never from headers, the SQS message id or the
 * time of receipt: every redelivery of one event maps to one key, and distinct events never
 * share one.
 */
import { createHash } from 'node:crypto';
import { type CanonicalOptions, canonicalMembers } from './canonical-json';

/** Envelope members the key is made of (everything Crisp sends about the event itself), in sorted order. */
export const DEDUPE_KEY_FIELDS = ['data', 'event', 'timestamp', 'website_id'] as const;

/**
 * `v1:` + SHA-256 (hex) of the canonical JSON of `{data, event, timestamp, website_id}`.
 * Canonical: keys sorted at every level, whitespace and string escapes normalised, number
 * literals kept (see `canonical-json.ts`), so the same event serialised differently on a retry
 * gets the same key. For example `{"data":{"a":1},"event":"message:send","timestamp":1,"website_id":"w"}`.
 * Other top-level members are left out, in case Crisp ever adds per-delivery ones.
 * Throws `SyntaxError` if the body is not a JSON object.
 */
export function dedupeKey(body: string): string {
  return keyOf(body, {});
}

/**
 * `dedupeKey` of a body the caller has just parsed with `JSON.parse` and found well-formed
 * (`isWellFormed()`): the same key, without checking again what those checks guarantee.
 */
export function dedupeKeyOfValidJson(body: string): string {
  return keyOf(body, { validWellFormedJson: true });
}

function keyOf(body: string, options: CanonicalOptions): string {
  const members = canonicalMembers(body, options);
  // Hashed piece by piece: the same bytes as the canonical text, without building it.
  const hash = createHash('sha256').update('{', 'utf8');
  let first = true;
  for (const field of DEDUPE_KEY_FIELDS) {
    const value = members.get(field);
    if (value === undefined) continue;
    hash.update(`${first ? '' : ','}${JSON.stringify(field)}:`, 'utf8').update(value, 'utf8');
    first = false;
  }
  return `v1:${hash.update('}', 'utf8').digest('hex')}`;
}

/** What is stored with a claim, for operators (never the body). */
export interface ClaimDetails {
  event: string;
  websiteId: string;
  messageId: string;
  receiveCount?: number | undefined;
  deliveryAttempt?: number | undefined;
  deliveryAttemptLimit?: number | undefined;
}

export interface Claim {
  key: string;
  /** Random per claim: only the claimant may complete or release it. */
  owner: string;
  /** Epoch ms after which another consumer may take the key over (a crashed or timed-out run). */
  leaseExpiresAt: number;
  /** Epoch seconds after which the record counts as gone (DynamoDB TTL deletes it later). */
  expiresAt: number;
  now: number;
  details: ClaimDetails;
}

/**
 * - `claimed`: the key was new, expired, released after a failure, or its lease had run out: run the handlers.
 * - `completed`: already processed within the dedupe lifetime: a duplicate, acknowledge it.
 * - `in_progress`: another consumer holds a live lease: retry later, never count it as done.
 */
export type ClaimOutcome = 'claimed' | 'completed' | 'in_progress';

export interface DedupeStore {
  /** One conditional write: succeeds only for a new, expired, released or lease-expired key. */
  claim(claim: Claim): Promise<ClaimOutcome>;
  /** Marks our claim done (kept until `expiresAt`). False if the claim is no longer ours. */
  complete(key: string, owner: string, at: { now: number; expiresAt: number }): Promise<boolean>;
  /** Frees our claim after a failure, so a retry can claim it at once. Never touches another's claim. */
  release(key: string, owner: string, failure: { now: number; error: string }): Promise<void>;
}

/** Margin added to the function's remaining time: the lease outlives the run that holds it. */
export const LEASE_MARGIN_MS = 10_000;

/**
 * The lease lasts as long as the invocation can (its remaining time) plus a margin: a run that
 * crashes or times out frees the key when its lease ends, and a live run is never overtaken.
 */
export function leaseExpiry(now: number, remainingTimeMs: number, marginMs: number = LEASE_MARGIN_MS): number {
  return now + Math.max(0, remainingTimeMs) + marginMs;
}

/** Epoch seconds at which a record made `now` stops counting. */
export function recordExpiry(now: number, ttlHours: number): number {
  return Math.floor(now / 1000) + ttlHours * 3600;
}
