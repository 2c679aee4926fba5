/**
 * The local demo dashboard: sign in with the local dev issuer, then open Support, which mounts
 * the Ticket Center with the embed module exactly as a customer's dashboard would.
 * Tokens come from the stack's `POST /local/token`, which answers this page only.
 */
import { mountTicketCenter, type TicketCenterHandle } from '../embed/ticket-center';

interface Session {
  email: string;
  name: string;
  verified: boolean;
  token: string;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let session: Session | undefined;
let handle: TicketCenterHandle | undefined;
let observer: MutationObserver | undefined;
let tokensIssued = 0;
let lastErrorKind: string | undefined;

/**
 * A token from the local dev issuer. The stack issues one only to a JSON request from its own
 * origin (scripts/local/demo-site.ts): keep the content type; the browser adds `Origin`.
 */
async function issueToken(claims: { email: string; name: string; verified: boolean; expired?: boolean }): Promise<string> {
  const response = await fetch('/local/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: claims.email, name: claims.name, verified: claims.verified, ttlSeconds: claims.expired ? -60 : 3600 }),
  });
  if (!response.ok) throw new Error(`the dev issuer answered ${response.status}`);
  tokensIssued += 1;
  return ((await response.json()) as { token: string }).token;
}

function show(view: 'sign-in' | 'app'): void {
  $('sign-in').hidden = view !== 'sign-in';
  $('app').hidden = view !== 'app';
  $('who').hidden = view !== 'app';
  $('sign-out').hidden = view !== 'app';
}

function showTab(tab: 'home' | 'support'): void {
  $('home').hidden = tab !== 'home';
  $('support').hidden = tab !== 'support';
  $('nav-home').classList.toggle('active', tab === 'home');
  $('nav-support').classList.toggle('active', tab === 'support');
  if (tab === 'support') openSupport();
}

/** What the signed URL carries, for developers; never the hmac itself. */
function describeUrl(src: string): void {
  const url = new URL(src);
  const params = url.searchParams;
  const hmac = params.get('hmac') ?? '';
  const rows: Array<[string, string]> = [
    ['email', params.get('email') ?? '(none)'],
    ['nickname', params.get('nickname') ?? '(none)'],
    ['locale', params.get('locale') ?? '(none)'],
    ['participants', params.get('participants') ?? '(none)'],
    ['hmac', /^[0-9a-f]{64}$/.test(hmac) ? 'present (64 hex characters, not shown)' : 'missing'],
    ['website', url.pathname.split('/').pop() ?? ''],
  ];
  const list = $('url-params');
  list.replaceChildren(
    ...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      dd.dataset.param = name;
      dd.textContent = value;
      return [dt, dd];
    }),
  );
}

function updatePanel(element: HTMLElement): void {
  const frame = element.querySelector('iframe');
  if (frame) describeUrl(frame.src);
  else $('url-params').replaceChildren();
  $('token-count').textContent = `Tokens issued so far: ${tokensIssued}${lastErrorKind ? ` (last error: ${lastErrorKind})` : ''}`;
}

function openSupport(): void {
  handle?.destroy();
  observer?.disconnect();
  lastErrorKind = undefined;
  $('url-params').replaceChildren();
  const element = $('ticket-center');
  observer = new MutationObserver(() => updatePanel(element));
  observer.observe(element, { childList: true });
  handle = mountTicketCenter(element, {
    endpoint: '/ticket-center/url',
    locale: navigator.language,
    getToken: async ({ forceRefresh }) => {
      if (!session) throw new Error('not signed in');
      if (forceRefresh) session.token = await issueToken(session);
      return session.token;
    },
    onError: (error) => {
      lastErrorKind = error.kind;
      updatePanel(element);
    },
  });
}

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const claims = {
    email: $<HTMLInputElement>('email').value.trim(),
    name: $<HTMLInputElement>('name').value.trim(),
    verified: $<HTMLInputElement>('verified').checked,
    expired: $<HTMLInputElement>('expired').checked,
  };
  issueToken(claims).then(
    (token) => {
      session = { email: claims.email, name: claims.name, verified: claims.verified, token };
      $('who').textContent = `${claims.name || claims.email}${claims.verified ? '' : ' (unverified)'}`;
      $('sign-in-error').hidden = true;
      show('app');
      showTab('home');
    },
    (error: unknown) => {
      $('sign-in-error').textContent = `Sign-in failed: ${error instanceof Error ? error.message : String(error)}`;
      $('sign-in-error').hidden = false;
    },
  );
});
$('nav-home').addEventListener('click', () => showTab('home'));
$('nav-support').addEventListener('click', () => showTab('support'));
$('sign-out').addEventListener('click', () => {
  observer?.disconnect();
  handle?.destroy();
  handle = undefined;
  session = undefined;
  show('sign-in');
});
show('sign-in');
