/**
 * The typed registry operators add their code to (in `handlers/index.ts`): one function per
 * event namespace. A handler that throws makes the event retry (and, after the queue's
 * maximum receives, land in the dead-letter queue); one that returns marks it done, once.
 */
import type { HookKind } from '../commons/core/hook-envelope';
import type { Logger } from '../commons/logger';
import type { CrispEvent, CrispNamespace } from './events';

export interface HandlerContext {
  /** Logger whose lines carry the event, website, dedupe key and SQS message id. */
  logger: Logger;
  /** The event's dedupe key: a stable id for this event, handy for idempotent calls downstream. */
  dedupeKey: string;
  /**
   * How the hook was authenticated: `plugin` (a Plugin Hook whose HMAC signature verified) or
   * `website` (a Website Hook, authenticated only by the key in its URL; anyone who has seen the
   * URL can send one). A handler that acts on the outside world can refuse `website` events.
   */
  hookKind: HookKind;
  /** Crisp's delivery attempt for the message that carried the event, when it said. */
  deliveryAttempt: number | undefined;
  /** How many times SQS has delivered this message to the consumer. */
  receiveCount: number | undefined;
  /** Milliseconds left before the function times out. */
  remainingTimeMs(): number;
}

export type EventHandler<N extends string = string> = (event: CrispEvent<N>, context: HandlerContext) => Promise<void> | void;

/** Known namespaces get their typed `data`; any other namespace string is allowed too. */
export type HandlerRegistry = { [N in CrispNamespace]?: EventHandler<N> } & { [namespace: string]: EventHandler<never> | undefined };

/**
 * Declares handlers with their types checked: `defineHandlers({ 'message:send': async (event) => {
 * event.data.content ... } })`. Returns its argument.
 */
export function defineHandlers<T extends { [K in keyof T]: K extends CrispNamespace ? EventHandler<K> : EventHandler<string> }>(handlers: T): T {
  return handlers;
}

/** The handler for `namespace`, if any. */
export function handlerFor(registry: Record<string, unknown>, namespace: string): EventHandler | undefined {
  const handler = Object.prototype.hasOwnProperty.call(registry, namespace) ? registry[namespace] : undefined;
  return typeof handler === 'function' ? (handler as EventHandler) : undefined;
}
