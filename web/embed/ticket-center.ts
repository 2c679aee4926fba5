/**
 * crisp-bridge Ticket Center embed: mounts Crisp's Ticket Center iframe for the signed-in user.
 *
 *   import { mountTicketCenter } from './ticket-center.js';
 *   const handle = mountTicketCenter(document.getElementById('support')!, {
 *     endpoint: 'https://api.example.com/ticket-center/url',
 *     getToken: async ({ forceRefresh }) => auth.getIdToken({ forceRefresh }),
 *     locale: navigator.language,
 *   });
 *
 * It fetches the signed URL with the user's bearer token (never cached: `no-store`), builds the
 * iframe from the answer with the attributes Crisp requires, keeps the URL nowhere else (it is
 * a credential: no storage, no log, no attribute but the iframe's `src`), retries once with a
 * fresh token on 401, and shows a clear message otherwise. No dependencies; a few KB.
 *
 * Styling: the element gets the class `crisp-ticket-center` and `crisp-ticket-center--loading`,
 * `--ready` or `--error` (also `data-state`); inside, `crisp-ticket-center__status`,
 * `crisp-ticket-center__frame`, `crisp-ticket-center__error`, `crisp-ticket-center__message`
 * and `crisp-ticket-center__retry`. The error element also carries `data-error="<kind>"`.
 */

export type TicketCenterErrorKind =
  /** The identity token was refused twice (expired session): sign in again. */
  | 'unauthorized'
  /** The token has no email to sign. */
  | 'email_missing'
  /** The identity provider has not verified the email. */
  | 'email_not_verified'
  /**
   * The token's email holds characters that are never signed (surrounding whitespace, control,
   * invisible or bidirectional-override characters: codes `email_whitespace`,
   * `email_control_character`, `email_invisible_character`, `email_bidi_control`): the account's
   * email must be corrected at the identity provider.
   */
  | 'email_unusable'
  /** A parameter (locale, nickname, participants) was refused. */
  | 'invalid_parameter'
  /** The service cannot sign URLs right now (503). */
  | 'unavailable'
  /** No answer: offline, blocked, DNS... */
  | 'network'
  /** Anything else, including an answer that is not a Ticket Center URL. */
  | 'unexpected';

export class TicketCenterError extends Error {
  override readonly name = 'TicketCenterError';
  constructor(
    readonly kind: TicketCenterErrorKind,
    message: string,
    /** HTTP status, when there was an answer. */
    readonly status?: number,
    /** The API's error code, when it gave one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface TicketCenterOptions {
  /** Full URL of crisp-bridge's `GET /ticket-center/url`. */
  endpoint: string;
  /**
   * The signed-in user's identity token (a JWT). Called with `forceRefresh: true` once after a
   * 401, to get a fresh one.
   */
  getToken: (request: { forceRefresh: boolean }) => string | Promise<string>;
  /** Display language, a BCP 47 tag such as `en` or `pt-BR`. */
  locale?: string;
  /** The customer's display name (default: the token's `name`). */
  nickname?: string;
  /** Emails copied on tickets (at most 10). */
  participants?: string[];
  /** Called on every error shown, e.g. to log it or to send the user to sign in again. */
  onError?: (error: TicketCenterError) => void;
  /** Replaces the default text of an error message. */
  messages?: Partial<Record<TicketCenterErrorKind, string>>;
  /** Text shown while loading. Default: "Loading your support tickets…" */
  loadingText?: string;
}

export interface TicketCenterHandle {
  /** `loading`, `ready` or `error`. */
  readonly state: 'loading' | 'ready' | 'error';
  /** The last error shown, if any. */
  readonly error: TicketCenterError | undefined;
  /** Fetches a new signed URL and mounts it again (e.g. after the user signed in again). */
  reload(): Promise<void>;
  /** Stops any request under way and empties the element. */
  destroy(): void;
}

/** The messages shown by default, by kind. */
export const DEFAULT_MESSAGES: Record<TicketCenterErrorKind, string> = {
  unauthorized: 'Your session has expired. Please sign in again to see your support tickets.',
  email_missing: 'Your account has no email address, so your support tickets cannot be shown.',
  email_not_verified: 'Please verify your email address to see your support tickets.',
  email_unusable: "Your account's email address contains characters that cannot be used for support tickets. Please correct it in your account settings.",
  invalid_parameter: 'The support tickets could not be opened with these settings.',
  unavailable: 'Support tickets are unavailable right now. Please try again in a few minutes.',
  network: 'Support tickets could not be loaded. Check your connection and try again.',
  unexpected: 'Something went wrong while loading your support tickets. Please try again.',
};

/** The 403 codes for an email that holds characters crisp-bridge never signs. */
const EMAIL_CHARACTER_CODES: ReadonlySet<string> = new Set(['email_whitespace', 'email_control_character', 'email_invisible_character', 'email_bidi_control']);

/** Where Crisp's Ticket Center lives: any other iframe source is refused. */
const TICKET_CENTER_ORIGIN = 'https://plugins.crisp.chat';
const CLASS = 'crisp-ticket-center';

interface SignedUrlAnswer {
  url?: unknown;
  iframe?: { src?: unknown; title?: unknown; referrerpolicy?: unknown; sandbox?: unknown; width?: unknown; height?: unknown };
  error?: { code?: unknown; message?: unknown };
}

export function mountTicketCenter(element: HTMLElement, options: TicketCenterOptions): TicketCenterHandle {
  if (!element) throw new TypeError('mountTicketCenter: an element is required');
  if (!options?.endpoint || typeof options.getToken !== 'function') {
    throw new TypeError('mountTicketCenter: options.endpoint and options.getToken are required');
  }
  let state: TicketCenterHandle['state'] = 'loading';
  let lastError: TicketCenterError | undefined;
  let controller: AbortController | undefined;
  let generation = 0;

  const setState = (next: TicketCenterHandle['state']) => {
    state = next;
    element.classList.add(CLASS);
    element.classList.remove(`${CLASS}--loading`, `${CLASS}--ready`, `${CLASS}--error`);
    element.classList.add(`${CLASS}--${next}`);
    element.dataset.state = next;
    element.setAttribute('aria-busy', String(next === 'loading'));
  };

  const showLoading = () => {
    setState('loading');
    const status = document.createElement('p');
    status.className = `${CLASS}__status`;
    status.setAttribute('role', 'status');
    status.textContent = options.loadingText ?? 'Loading your support tickets…';
    element.replaceChildren(status);
  };

  const showError = (error: TicketCenterError) => {
    lastError = error;
    setState('error');
    const box = document.createElement('div');
    box.className = `${CLASS}__error`;
    box.dataset.error = error.kind;
    box.setAttribute('role', 'alert');
    const message = document.createElement('p');
    message.className = `${CLASS}__message`;
    message.textContent = options.messages?.[error.kind] ?? DEFAULT_MESSAGES[error.kind];
    box.append(message);
    // Retrying cannot help until the account's email changes at the identity provider.
    if (error.kind !== 'email_missing' && error.kind !== 'email_unusable') {
      const retry = document.createElement('button');
      retry.type = 'button';
      retry.className = `${CLASS}__retry`;
      retry.textContent = 'Try again';
      // A fresh token: the user may have verified their email or signed in again meanwhile.
      retry.addEventListener('click', () => void load(true));
      box.append(retry);
    }
    element.replaceChildren(box);
    options.onError?.(error);
  };

  const showFrame = (answer: SignedUrlAnswer) => {
    const frame = answer.iframe ?? {};
    const src = typeof frame.src === 'string' ? frame.src : '';
    if (!src.startsWith(`${TICKET_CENTER_ORIGIN}/`)) {
      throw new TicketCenterError('unexpected', 'The answer did not hold a Crisp Ticket Center URL.');
    }
    const iframe = document.createElement('iframe');
    iframe.className = `${CLASS}__frame`;
    iframe.title = typeof frame.title === 'string' ? frame.title : 'Ticket Center';
    iframe.setAttribute('referrerpolicy', typeof frame.referrerpolicy === 'string' ? frame.referrerpolicy : 'origin');
    iframe.setAttribute(
      'sandbox',
      typeof frame.sandbox === 'string' ? frame.sandbox : 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin',
    );
    iframe.setAttribute('width', typeof frame.width === 'string' ? frame.width : '100%');
    iframe.setAttribute('height', typeof frame.height === 'string' ? frame.height : '600px');
    iframe.style.border = '0';
    // The signed URL goes into the iframe and nowhere else.
    iframe.src = src;
    setState('ready');
    element.replaceChildren(iframe);
  };

  const requestUrl = (): string => {
    const url = new URL(options.endpoint, document.baseURI);
    if (options.locale) url.searchParams.set('locale', options.locale);
    if (options.nickname) url.searchParams.set('nickname', options.nickname);
    if (options.participants?.length) url.searchParams.set('participants', options.participants.join(','));
    return url.toString();
  };

  const fetchSigned = async (forceRefresh: boolean, signal: AbortSignal): Promise<Response> => {
    const token = await options.getToken({ forceRefresh });
    try {
      return await fetch(requestUrl(), {
        headers: { Authorization: `Bearer ${token}` },
        cache: 'no-store',
        credentials: 'omit',
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new TicketCenterError('network', 'The signed-URL endpoint could not be reached.');
    }
  };

  async function load(freshToken = false): Promise<void> {
    const mine = ++generation;
    controller?.abort();
    controller = new AbortController();
    const { signal } = controller;
    lastError = undefined;
    showLoading();
    try {
      let response = await fetchSigned(freshToken, signal);
      if (response.status === 401 && !freshToken) response = await fetchSigned(true, signal); // once, with a fresh token
      const answer = (await response.json().catch(() => ({}))) as SignedUrlAnswer;
      if (mine !== generation) return;
      if (!response.ok) throw errorFor(response.status, answer);
      showFrame(answer);
    } catch (error) {
      if (mine !== generation || signal.aborted) return;
      showError(error instanceof TicketCenterError ? error : new TicketCenterError('unexpected', error instanceof Error ? error.message : String(error)));
    }
  }

  void load();
  return {
    get state() {
      return state;
    },
    get error() {
      return lastError;
    },
    reload: () => load(),
    destroy: () => {
      generation += 1;
      controller?.abort();
      element.replaceChildren();
      element.classList.remove(CLASS, `${CLASS}--loading`, `${CLASS}--ready`, `${CLASS}--error`);
      delete element.dataset.state;
      element.removeAttribute('aria-busy');
    },
  };
}

function errorFor(status: number, answer: SignedUrlAnswer): TicketCenterError {
  const code = typeof answer.error?.code === 'string' ? answer.error.code : undefined;
  const message = typeof answer.error?.message === 'string' ? answer.error.message : `HTTP ${status}`;
  if (status === 401) return new TicketCenterError('unauthorized', message, status, code);
  if (status === 403 && code === 'email_not_verified') return new TicketCenterError('email_not_verified', message, status, code);
  if (status === 403 && code !== undefined && EMAIL_CHARACTER_CODES.has(code)) return new TicketCenterError('email_unusable', message, status, code);
  if (status === 403) return new TicketCenterError('email_missing', message, status, code);
  if (status === 400) return new TicketCenterError('invalid_parameter', message, status, code);
  if (status === 503) return new TicketCenterError('unavailable', message, status, code);
  return new TicketCenterError('unexpected', message, status, code);
}
