/**
 * The handler registry your code plugs into: one function per Crisp event namespace, declared
 * with `defineHandlers`, in a module of your own (`handlers: { entry }` on the construct) or the
 * shipped example. A handler that returns marks the event done, once; one that throws has it
 * retried (and after the queue's maximum receives, dead-lettered); one that throws a
 * `PermanentError` sends it to the dead-letter queue at once.
 *
 * Runtime-light on purpose: this module is bundled into the consumer with your handlers, so it
 * imports no AWS SDK and no CDK.
 */
import type { CrispApi } from '../commons/core/crisp-api';
import type { HookKind } from '../commons/core/hook-envelope';
import type { Logger } from '../commons/logger';
import type { CrispEvent, CrispNamespace } from './events';

/** Reads the secrets you declared (`handlers.secrets` on the construct), through the bridge's cache. */
export interface HandlerSecrets<K extends string = string> {
  /**
   * The secret's current value: cached for the life of the execution environment, re-read every
   * few minutes (a rotation applies without a redeploy). Rejects with `SecretUnavailableError`
   * when it cannot be read or still holds the placeholder: the event is then retried.
   */
  get(name: K): Promise<string>;
}

export interface HandlerContext<S extends string = string, K extends string = string> {
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
  /**
   * Counts something about this event as a CloudWatch metric (1 per call, in the bridge's
   * namespace), broken down by `dimensions` (e.g. `{ origin: 'chat' }`; the total without them is
   * recorded too). Written on the event's outcome line (`crisp event processed`) when the event
   * completes: no log line of its own, and counted once per event, since the counts of a run that
   * fails are dropped with it. Keep dimension values few: each distinct combination is a custom
   * metric, billed monthly (one per website, on a plugin installed on thousands of websites, costs
   * thousands a month); the line already holds `website_id` for Logs Insights. Throws a TypeError
   * on a name the bridge writes on that line, a bad name or value, or a dimension given two values.
   */
  count(metric: string, dimensions?: Readonly<Record<string, string>>): void;
  /** The settings you declared (`handlers.environment` on the construct), by name. */
  settings: Readonly<Record<S, string>>;
  /** The secrets you declared (`handlers.secrets` on the construct). */
  secrets: HandlerSecrets<K>;
  /**
   * Crisp's REST API on the event's website (`sendMessage`, `setState`, `updateMetas`,
   * `getConversation`, `getMessage`, `request`), with the bridge's plugin token; replies are sent
   * once per event even when the handler is retried. Only with `crispApi: true` on the construct:
   * otherwise reading it throws, saying how to turn it on (docs/crisp-api.md).
   */
  readonly crisp: CrispApi;
  /** Whether `context.crisp` is available (`crispApi: true`), for handlers that reply only when it is. */
  readonly crispApiEnabled: boolean;
}

export type EventHandler<N extends string = string, S extends string = string, K extends string = string> = (
  event: CrispEvent<N>,
  context: HandlerContext<S, K>,
) => Promise<void> | void;

/**
 * Handlers by key: a known namespace gets its typed `data`; a prefix (`session:*`), `*` or a
 * namespace this version does not know gets `data: unknown`. (A mapped type over the keys, so
 * TypeScript infers them from your object and types each handler's parameters.)
 */
export type HandlerMap<N extends string, S extends string, K extends string> = {
  [P in N]: P extends CrispNamespace ? EventHandler<P, S, K> : EventHandler<string, S, K>;
};

/** What `defineHandlers` returns, and what a handler module exports. */
export interface HandlerSet<S extends string = string, K extends string = string> {
  readonly kind: typeof HANDLER_SET_KIND;
  /** Handlers by namespace (`message:send`), namespace prefix (`session:*`) or `*` (any other event). */
  readonly handlers: Readonly<Record<string, EventHandler<never, S, K>>>;
  /** Setting names the handlers read: checked at cold start, typed in `context.settings`. */
  readonly settings: readonly S[];
  /** Secret names the handlers read: checked at cold start, typed in `context.secrets.get`. */
  readonly secrets: readonly K[];
}

export interface HandlerOptions<S extends string, K extends string> {
  /** Names of the settings your handlers read (the keys of `handlers.environment`). */
  settings?: readonly S[];
  /** Names of the secrets your handlers read (the keys of `handlers.secrets`). */
  secrets?: readonly K[];
}

const HANDLER_SET_KIND = 'crisp-bridge.handlers';

/** A namespace (`message:send`), a prefix (`session:*`) or `*`. */
const HANDLER_KEY = /^(\*|[a-z0-9_]+(:[a-z0-9_]+)*(:\*)?)$/;
/** What a setting or secret may be called: an environment variable name. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Declares your handlers with their types checked: known namespaces get their typed `data`,
 * and the settings and secrets you list are typed in the context.
 *
 * ```ts
 * export default defineHandlers(
 *   {
 *     'message:send': async (event, { settings, secrets }) => {
 *       if (event.data.from !== 'user') return;
 *       await notify(settings.SLACK_CHANNEL, await secrets.get('SLACK_TOKEN'));
 *     },
 *   },
 *   { settings: ['SLACK_CHANNEL'], secrets: ['SLACK_TOKEN'] },
 * );
 * ```
 */
export function defineHandlers<const S extends string = never, const K extends string = never, N extends string = never>(
  handlers: HandlerMap<N, S, K>,
  options: HandlerOptions<S, K> = {},
): HandlerSet<S, K> {
  for (const [key, handler] of Object.entries(handlers as Record<string, unknown>)) {
    if (!HANDLER_KEY.test(key)) {
      throw new TypeError(`defineHandlers: "${key}" is not an event namespace (message:send), a prefix (session:*) or "*"`);
    }
    if (typeof handler !== 'function') throw new TypeError(`defineHandlers: the handler for "${key}" is not a function`);
  }
  const names = (kind: string, list: readonly string[] | undefined): string[] => {
    for (const name of list ?? []) {
      if (!NAME.test(name)) throw new TypeError(`defineHandlers: ${kind} "${name}" is not a valid name (letters, digits and _, not starting with a digit)`);
    }
    return [...new Set(list ?? [])];
  };
  return Object.freeze({
    kind: HANDLER_SET_KIND,
    handlers: Object.freeze({ ...(handlers as Record<string, EventHandler<never, S, K>>) }),
    settings: Object.freeze(names('setting', options.settings)) as readonly S[],
    secrets: Object.freeze(names('secret', options.secrets)) as readonly K[],
  });
}

/**
 * The handler set a module exports: `export default defineHandlers(...)`, `export const handlers
 * = defineHandlers(...)`, or a plain object of handlers (no settings or secrets). Throws a
 * `TypeError` naming what is wrong, so a bad module fails the cold start, not an event.
 */
export function handlerSetOf(module: unknown): HandlerSet {
  const exports = (module ?? {}) as Record<string, unknown>;
  // CommonJS interop can nest the default export one level down.
  const candidates = [exports.default, (exports.default as Record<string, unknown> | undefined)?.default, exports.handlers, exports];
  for (const candidate of candidates) {
    if (isHandlerSet(candidate)) return candidate;
  }
  for (const candidate of candidates.slice(0, 3)) {
    if (candidate && typeof candidate === 'object') return defineHandlers(candidate as Record<string, never>);
  }
  throw new TypeError('the handler module must export defineHandlers({...}) as its default export or as "handlers"');
}

function isHandlerSet(value: unknown): value is HandlerSet {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === HANDLER_SET_KIND;
}

/** The handler for `namespace`: the exact one, else the longest matching prefix (`session:*`), else `*`. */
export function handlerFor(set: HandlerSet, namespace: string): EventHandler | undefined {
  const own = (key: string) => (Object.prototype.hasOwnProperty.call(set.handlers, key) ? (set.handlers[key] as EventHandler | undefined) : undefined);
  const exact = own(namespace);
  if (exact) return exact;
  const parts = namespace.split(':');
  for (let length = parts.length - 1; length >= 1; length -= 1) {
    const prefix = own(`${parts.slice(0, length).join(':')}:*`);
    if (prefix) return prefix;
  }
  return own('*');
}
