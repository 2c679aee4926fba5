/**
 * The Ticket Center embed and the demo dashboard in real Chromium (Debian's `chromium`, driven
 * by playwright-core) against the local stack: sign in with the dev issuer, open Support, and
 * check the iframe the embed builds (its `src` against an HMAC computed independently by
 * openssl, its sandbox and referrer policy), the 403 message for an unverified email, the
 * single token refresh on 401, and the 401/503/network error states.
 *
 * Crisp's real page is never loaded: every request to plugins.crisp.chat is answered by a
 * stub here, so the tests behave the same with or without internet access.
 *
 * A full-page screenshot of each state is written to test-output/screenshots/.
 *
 * Chromium is found on the machine (PATH, CHROME_PATH / CHROMIUM_PATH; see ../support/chromium),
 * never installed by the tests: without it the suite is skipped with a loud warning, or, in CI
 * (CI=true), fails.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { type LocalStack, startLocalStack } from '../../scripts/local/stack';
import { chromiumForTests, launchChromium } from '../support/chromium';
import { opensslHmacSha256 } from '../support/openssl';
import { interceptStdout } from '../support/stdout';

// The embed is browser code (DOM types): loaded at run time rather than imported, so the root
// TypeScript project (no DOM lib) does not type-check it. `npm test` checks it with web/tsconfig.json.
const { DEFAULT_MESSAGES } = require('../../web/embed/ticket-center') as { DEFAULT_MESSAGES: Record<string, string> };

// Found on the machine, never installed here (.ci/run does that). Missing: a loud skip, or in CI a failure.
const CHROMIUM = chromiumForTests('the browser tests (test/browser/ticket-center.browser.test.ts)');
const describeInChromium = CHROMIUM.run ? describe : describe.skip;

const WEBSITE_ID = '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f';
const SECRET = 'browser-ticket-center-secret-8d2e4f6a1c';
const TICKET_CENTER_PREFIX = `https://plugins.crisp.chat/urn:crisp.im:ticket-center:0/tickets/${WEBSITE_ID}`;
const SANDBOX = 'allow-forms allow-popups allow-modals allow-downloads allow-scripts allow-same-origin';
const JANE = 'Jane.Doe+support@Example.COM';
const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-output', 'screenshots');

const FRAME = 'iframe.crisp-ticket-center__frame';
const ERROR = '.crisp-ticket-center__error';
const RETRY = '.crisp-ticket-center__retry';

let browser: Browser | undefined;
let stack: LocalStack | undefined;
let stateDir: string | undefined;
let context: BrowserContext | undefined;
const stdoutChunks: string[] = [];
const originalWrite = process.stdout.write;

interface Session {
  page: Page;
  /** Every console message and uncaught page error, as `type: text`. */
  console: string[];
  /** Requests the page made, in order. */
  requests: Request[];
  /** Requests to Crisp (answered by the stub). */
  crispRequests: Request[];
}

const local = () => {
  if (!stack) throw new Error('the local stack did not start');
  return stack;
};
const pathOf = (request: Request) => new URL(request.url()).pathname;
const signedUrlCalls = (s: Session) => s.requests.filter((r) => pathOf(r) === '/ticket-center/url');
const tokenCalls = (s: Session) => s.requests.filter((r) => pathOf(r) === '/local/token' && r.method() === 'POST');

async function newSession(): Promise<Session> {
  if (!browser) throw new Error('Chromium did not start');
  context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 900 } });
  // Crisp's page cannot (and should not) be reached from the tests: a stub answers instead.
  await context.route('https://plugins.crisp.chat/**', (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html; charset=utf-8',
      body: '<!doctype html><title>Crisp stub</title><body style="font-family:sans-serif;padding:1rem">Crisp Ticket Center (stubbed in tests)</body>',
    }),
  );
  const page = await context.newPage();
  const session: Session = { page, console: [], requests: [], crispRequests: [] };
  page.on('console', (message) => session.console.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => session.console.push(`pageerror: ${error.message}`));
  page.on('request', (request) => {
    if (request.url().startsWith('https://plugins.crisp.chat/')) session.crispRequests.push(request);
    else session.requests.push(request);
  });
  return session;
}

async function signIn(s: Session, user: { email?: string; name?: string; verified?: boolean; expired?: boolean } = {}): Promise<void> {
  const response = await s.page.goto(`${local().url}/`);
  expect(response?.status()).toBe(200);
  await s.page.fill('#email', user.email ?? JANE);
  await s.page.fill('#name', user.name ?? 'Jane Doe');
  await s.page.setChecked('#verified', user.verified ?? true);
  await s.page.setChecked('#expired', user.expired ?? false);
  await s.page.click('#sign-in-button');
  await s.page.waitForSelector('#app', { state: 'visible' });
}

async function openSupport(s: Session): Promise<void> {
  await s.page.click('#nav-support');
  await s.page.waitForSelector('#ticket-center', { state: 'visible' });
}

async function screenshot(s: Session, name: string): Promise<void> {
  await s.page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** The error box the embed shows, once it is there. */
async function errorShown(s: Session, kind: string): Promise<{ text: string; role: string | null; hasRetry: boolean }> {
  const box = s.page.locator(`${ERROR}[data-error="${kind}"]`);
  await box.waitFor({ state: 'visible' });
  return {
    text: (await box.locator('.crisp-ticket-center__message').textContent()) ?? '',
    role: await box.getAttribute('role'),
    hasRetry: (await box.locator(RETRY).count()) === 1,
  };
}

beforeAll(async () => {
  if (!CHROMIUM.run) return;
  browser = await launchChromium(CHROMIUM.path);
  mkdirSync(SCREENSHOTS, { recursive: true });
  interceptStdout(stdoutChunks); // the functions log JSON lines to stdout
  stateDir = mkdtempSync(path.join(tmpdir(), 'crisp-bridge-browser-'));
  stack = await startLocalStack({ port: 0, stateDir, websiteId: WEBSITE_ID, ticketCenterSecret: SECRET, consumer: false });
}, 60_000);

afterEach(async () => {
  await context?.close();
  context = undefined;
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  process.stdout.write = originalWrite;
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

describeInChromium('the Ticket Center embed in Chromium', () => {
  test('a verified user opens Support: the iframe carries a correctly signed URL, stored nowhere else', async () => {
    const s = await newSession();
    await signIn(s);
    await screenshot(s, 'signed-in-home');
    await openSupport(s);
    const frame = s.page.locator(FRAME);
    await frame.waitFor({ state: 'attached' });
    await s.page.waitForSelector('#url-params dd[data-param="hmac"]');

    const src = (await frame.getAttribute('src')) ?? '';
    const url = new URL(src);
    const hmac = opensslHmacSha256(SECRET, JANE);
    expect(url.origin + url.pathname).toBe(TICKET_CENTER_PREFIX);
    expect(url.searchParams.get('email')).toBe(JANE);
    expect(url.searchParams.get('hmac')).toBe(hmac);
    expect(url.searchParams.get('nickname')).toBe('Jane Doe');
    expect(url.searchParams.get('locale')).toBe('en-US');

    expect(await frame.getAttribute('sandbox')).toBe(SANDBOX);
    expect(await frame.getAttribute('referrerpolicy')).toBe('origin');
    expect(await frame.getAttribute('title')).toBe('Ticket Center');
    expect(await frame.getAttribute('width')).toBe('100%');
    expect(await frame.getAttribute('height')).toBe('600px');

    const element = s.page.locator('#ticket-center');
    expect(await element.getAttribute('class')).toContain('crisp-ticket-center--ready');
    expect(await element.getAttribute('data-state')).toBe('ready');
    expect(await element.getAttribute('aria-busy')).toBe('false');

    // The iframe really navigated there, telling Crisp only the dashboard's origin.
    await s.page.frameLocator(FRAME).locator('body').waitFor();
    expect(s.crispRequests.map((r) => r.url())).toEqual([src]);
    expect(await s.crispRequests[0]!.headerValue('referer')).toBe(`${local().url}/`);

    // The developer panel describes the URL without printing the hmac.
    expect(await s.page.textContent('#url-params dd[data-param="email"]')).toBe(JANE);
    expect(await s.page.textContent('#url-params dd[data-param="nickname"]')).toBe('Jane Doe');
    expect(await s.page.textContent('#url-params dd[data-param="website"]')).toBe(WEBSITE_ID);
    expect(await s.page.textContent('#url-params dd[data-param="hmac"]')).toMatch(/^present/);
    const bodyText = (await s.page.evaluate('document.body.innerText')) as string;
    expect(bodyText).toContain(JANE);
    expect(bodyText).not.toContain(hmac);

    // The URL is a credential: in the iframe's src and nowhere else.
    const stored = (await s.page.evaluate(
      '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, name: window.name, href: location.href, history: history.length })',
    )) as { local: number; session: number; cookie: string; name: string; href: string };
    expect(stored).toMatchObject({ local: 0, session: 0, cookie: '', name: '', href: `${local().url}/` });
    const html = (await s.page.content()) as string;
    expect(html.split(hmac)).toHaveLength(2); // once: the iframe's src attribute

    // Exactly one signed URL was fetched, with the bearer token and never from a cache.
    const calls = signedUrlCalls(s);
    expect(calls).toHaveLength(1);
    expect(await calls[0]!.headerValue('authorization')).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(new URL(calls[0]!.url()).searchParams.get('locale')).toBe('en-US');
    expect((await calls[0]!.response())?.status()).toBe(200);
    expect(await (await calls[0]!.response())?.headerValue('cache-control')).toBe('no-store');

    // Nothing in the console, and neither the URL nor its hmac ever logged.
    const errors = s.console.filter((line) => /^(error|pageerror):/.test(line) && !line.includes('plugins.crisp.chat'));
    expect(errors).toEqual([]);
    for (const line of s.console) {
      expect(line).not.toContain(hmac);
      expect(line).not.toContain(src);
    }
    // Nor by the local API and the function (their stdout).
    expect(stdoutChunks.join('')).not.toContain(hmac);

    await screenshot(s, 'support-ready');
  });

  test('an unverified user sees the 403 message and no iframe', async () => {
    const s = await newSession();
    await signIn(s, { email: 'unverified.user@example.com', name: 'Una Verified', verified: false });
    await openSupport(s);
    const shown = await errorShown(s, 'email_not_verified');
    expect(shown.text).toBe(DEFAULT_MESSAGES.email_not_verified);
    expect(shown.text).toMatch(/verify your email/i);
    expect(shown.role).toBe('alert');
    expect(await s.page.locator('iframe').count()).toBe(0);
    expect(await s.page.getAttribute('#ticket-center', 'data-state')).toBe('error');
    expect(await s.page.getAttribute('#ticket-center', 'class')).toContain('crisp-ticket-center--error');
    const calls = signedUrlCalls(s);
    expect(calls).toHaveLength(1); // a 403 is not retried
    expect((await calls[0]!.response())?.status()).toBe(403);
    expect(s.crispRequests).toHaveLength(0);
    await screenshot(s, 'unverified-403');
  });

  test('an email holding an invisible character is refused (403 email_invisible_character): the email_unusable message, no retry, no iframe', async () => {
    const s = await newSession();
    await signIn(s, { email: 'jane\u200b.doe@example.com', name: 'Jane Doe' });
    await openSupport(s);
    const shown = await errorShown(s, 'email_unusable');
    expect(shown.text).toBe(DEFAULT_MESSAGES.email_unusable);
    expect(shown.hasRetry).toBe(false);
    expect(await s.page.locator('iframe').count()).toBe(0);
    const calls = signedUrlCalls(s);
    expect(calls).toHaveLength(1);
    const response = await calls[0]!.response();
    expect(response?.status()).toBe(403);
    expect(((await response!.json()) as { error: { code: string } }).error.code).toBe('email_invisible_character');
    expect(s.crispRequests).toHaveLength(0);
  });

  test('after verifying their email, Try again fetches a fresh token and mounts the Ticket Center', async () => {
    const s = await newSession();
    const email = 'soon.verified@example.com';
    await signIn(s, { email, name: 'Soon Verified', verified: false });
    await openSupport(s);
    await errorShown(s, 'email_not_verified');
    // The demo panel says why.
    await s.page.waitForFunction('document.getElementById("token-count").textContent.includes("email_not_verified")');
    // The user verifies their email: the identity provider's next token says so.
    await s.page.route('**/local/token', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify({ token: stack!.issueToken({ email, name: 'Soon Verified' }) }) }));
    await s.page.click(RETRY);
    await s.page.locator(FRAME).waitFor({ state: 'attached' });
    expect(tokenCalls(s)).toHaveLength(2); // the sign-in, then the fresh token the retry asked for
    expect(signedUrlCalls(s)).toHaveLength(2);
    expect(new URL((await s.page.getAttribute(FRAME, 'src')) ?? '').searchParams.get('email')).toBe(email);
    await screenshot(s, 'verified-after-retry');
  });

  test('an expired token is refreshed once, and the Ticket Center mounts', async () => {
    const s = await newSession();
    await signIn(s, { expired: true });
    await openSupport(s);
    await s.page.locator(FRAME).waitFor({ state: 'attached' });

    const calls = signedUrlCalls(s);
    expect(calls).toHaveLength(2);
    expect((await calls[0]!.response())?.status()).toBe(401);
    expect((await calls[1]!.response())?.status()).toBe(200);
    // Two different tokens: the expired one, then the fresh one.
    const [first, second] = await Promise.all(calls.map((call) => call.headerValue('authorization')));
    expect(first).not.toBe(second);
    expect(tokenCalls(s)).toHaveLength(2); // the sign-in, then the single refresh

    const src = (await s.page.getAttribute(FRAME, 'src')) ?? '';
    expect(new URL(src).searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, JANE));
    expect(await s.page.getAttribute('#ticket-center', 'data-state')).toBe('ready');
    await s.page.waitForFunction('document.getElementById("token-count").textContent.includes("2")');
    expect(await s.page.textContent('#token-count')).toMatch(/\b2\b/);
    await screenshot(s, 'expired-token-refreshed');
  });

  test('when the fresh token is refused too, the 401 message is shown after exactly two calls', async () => {
    const s = await newSession();
    // Every token the dev issuer hands out is one the authorizer refuses.
    await s.page.route('**/local/token', (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ token: 'not-a-jwt' }) }),
    );
    await signIn(s);
    await openSupport(s);
    const shown = await errorShown(s, 'unauthorized');
    expect(shown.text).toBe(DEFAULT_MESSAGES.unauthorized);
    expect(shown.role).toBe('alert');
    expect(shown.hasRetry).toBe(true);
    expect(await s.page.textContent(RETRY)).toBe('Try again');

    const calls = signedUrlCalls(s);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(await call.headerValue('authorization')).toBe('Bearer not-a-jwt');
      expect((await call.response())?.status()).toBe(401);
    }
    expect(tokenCalls(s)).toHaveLength(2); // the sign-in, then the single refresh
    expect(await s.page.locator('iframe').count()).toBe(0);
    await screenshot(s, 'unauthorized-after-refresh');
  });

  test('503 and network errors show their messages, and Try again mounts the Ticket Center', async () => {
    const s = await newSession();
    await signIn(s);

    // The service cannot reach its secret: the API's 503 contract.
    const unavailable = (route: import('playwright-core').Route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        headers: { 'cache-control': 'no-store' },
        body: JSON.stringify({ error: { code: 'secret_unavailable', message: 'The Ticket Center secret is unavailable.' } }),
      });
    await s.page.route('**/ticket-center/url*', unavailable);
    await openSupport(s);
    const shown503 = await errorShown(s, 'unavailable');
    expect(shown503.text).toBe(DEFAULT_MESSAGES.unavailable);
    expect(shown503.role).toBe('alert');
    expect(shown503.hasRetry).toBe(true);
    expect(signedUrlCalls(s)).toHaveLength(1); // a 503 is not retried by the embed
    await screenshot(s, 'unavailable-503');

    // No answer at all.
    await s.page.unroute('**/ticket-center/url*', unavailable);
    const offline = (route: import('playwright-core').Route) => route.abort('failed');
    await s.page.route('**/ticket-center/url*', offline);
    await s.page.click(RETRY);
    const shownNetwork = await errorShown(s, 'network');
    expect(shownNetwork.text).toBe(DEFAULT_MESSAGES.network);
    expect(shownNetwork.hasRetry).toBe(true);
    expect(signedUrlCalls(s)).toHaveLength(2);
    await screenshot(s, 'network-error');

    // Back online: Try again mounts the iframe.
    await s.page.unroute('**/ticket-center/url*', offline);
    await s.page.click(RETRY);
    await s.page.locator(FRAME).waitFor({ state: 'attached' });
    expect(await s.page.getAttribute('#ticket-center', 'data-state')).toBe('ready');
    expect(await s.page.locator(ERROR).count()).toBe(0);
    const src = (await s.page.getAttribute(FRAME, 'src')) ?? '';
    expect(new URL(src).searchParams.get('hmac')).toBe(opensslHmacSha256(SECRET, JANE));
    expect(signedUrlCalls(s)).toHaveLength(3);
    await screenshot(s, 'retry-ready');
  });
});

describeInChromium('what the local stack serves', () => {
  test('the embed is one ES module under 5 KB gzipped, with no dependencies', async () => {
    const response = await fetch(`${local().url}/embed/ticket-center.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/javascript/);
    const code = await response.text();
    expect(gzipSync(code).length).toBeLessThan(5 * 1024);
    expect(code).not.toMatch(/\bimport\s*[\s{*'"(.]/); // no static import, no import(), no import.meta
    expect(code).not.toMatch(/\brequire\s*\(/);
    expect(code).toMatch(/\bexport\s*\{[^}]*\bmountTicketCenter\b/);

    // And the browser loads it as a module.
    const s = await newSession();
    await s.page.goto(`${local().url}/`);
    const exported = (await s.page.evaluate('import("/embed/ticket-center.js").then((m) => Object.keys(m).sort())')) as string[];
    expect(exported).toEqual(expect.arrayContaining(['DEFAULT_MESSAGES', 'TicketCenterError', 'mountTicketCenter']));
  });

  test('the demo page is served with the content security policy a dashboard needs', async () => {
    const response = await fetch(`${local().url}/`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain('frame-src https://plugins.crisp.chat');
    expect(csp).toContain("frame-ancestors 'none'");
    // Chromium gets the same header on the page it renders.
    const s = await newSession();
    const pageResponse = await s.page.goto(`${local().url}/`);
    expect(await pageResponse?.headerValue('content-security-policy')).toBe(csp);
  });
});
