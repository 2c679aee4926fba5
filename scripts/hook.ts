/**
 * `npm run hook -- <event>`: signs a realistic sample Crisp hook and posts it, like Crisp does,
 * to the local stack (default) or to any URL. Prints each reply.
 */
import { parseArgs } from 'node:util';
import { loadDevValues } from './local/dev-secrets';
import { hookHeaders, sampleEvents, sampleHookBody } from './local/sample-hooks';

const HELP = `Usage: npm run hook -- <event> [options]

Sends a sample Crisp hook for <event> (one of: ${sampleEvents().join(', ')}),
signed like Crisp's Plugin Hooks, and prints each reply.

Options:
  --url <url>          where to post (default: the local stack, http://127.0.0.1:$PORT/hooks/crisp)
  --secret <secret>    Plugin Hook signing secret (default: CRISP_HOOK_SECRET, else the local dev secret)
  --website            send as a Website Hook (unsigned; key in the URL) to /hooks/crisp/website
  --key <key>          Website Hook key (default: CRISP_WEBSITE_HOOK_KEY, else the local dev key)
  --website-id <id>    website_id in the envelope (default: CRISP_WEBSITE_ID, else the local dev one;
                       required with a remote --url)
  --attempt <n>        X-Delivery-Attempt-Count of the first delivery (default 1)
  --limit <n>          X-Delivery-Attempt-Limit (default 3)
  --times <n>          deliver the same event n times (redeliveries: attempt, attempt+1, ...; default 1)
  -h, --help           this help

Exits 1 if any reply is not 2xx.
`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      website: { type: 'boolean', default: false },
      key: { type: 'string' },
      'website-id': { type: 'string' },
      attempt: { type: 'string' },
      limit: { type: 'string' },
      times: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const event = positionals[0];
  if (!event || positionals.length > 1) {
    process.stderr.write(`crisp-bridge hook: give exactly one event namespace\n\n${HELP}`);
    return 2;
  }
  const attempt = positive('attempt', values.attempt, 1);
  const attemptLimit = positive('limit', values.limit, 3);
  const times = positive('times', values.times, 1);

  const local = values.url === undefined;
  // The local stack's dev values serve only the local stack; a remote URL needs real ones.
  const dev = local ? loadDevValues().values : undefined;
  const websiteId = values['website-id'] ?? process.env.CRISP_WEBSITE_ID ?? dev?.websiteId;
  if (!websiteId) throw new Error('a remote --url needs --website-id (or CRISP_WEBSITE_ID): the Crisp website the sample event claims to come from');
  const body = sampleHookBody(event, { websiteId });
  const timestamp = String(JSON.parse(body).timestamp);

  let url = values.url ?? `http://127.0.0.1:${process.env.PORT ?? '3000'}/hooks/crisp${values.website ? '/website' : ''}`;
  let secret: string | undefined;
  if (values.website) {
    const key = values.key ?? process.env.CRISP_WEBSITE_HOOK_KEY ?? dev?.websiteHookKey;
    const target = new URL(url);
    if (!target.searchParams.has('key')) {
      if (!key) throw new Error('--website to a remote URL needs --key (or a URL with ?key=)');
      target.searchParams.set('key', key);
    }
    url = target.toString();
  } else {
    secret = values.secret ?? process.env.CRISP_HOOK_SECRET ?? dev?.hookSecret;
    if (!secret) throw new Error('a remote --url needs --secret (or CRISP_HOOK_SECRET): the signing secret set in the deployed stack');
  }

  const shownUrl = url.replace(/([?&]key=)[^&]*/, '$1***');
  process.stdout.write(`${event} → ${shownUrl}\n`);
  let failures = 0;
  for (let i = 0; i < times; i += 1) {
    const headers = hookHeaders({ body, timestamp, attempt: attempt + i, attemptLimit, secret });
    const started = performance.now();
    let line: string;
    try {
      const res = await fetch(url, { method: 'POST', headers, body });
      const text = await res.text();
      if (res.status < 200 || res.status > 299) failures += 1;
      line = `${res.status} ${text.trim()}`;
    } catch (error) {
      failures += 1;
      line = `no reply: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
    }
    process.stdout.write(`  attempt ${attempt + i}/${attemptLimit}: ${line} (${Math.round(performance.now() - started)} ms)\n`);
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`crisp-bridge hook: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
