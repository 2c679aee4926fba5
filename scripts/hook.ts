/**
 * `npm run hook -- <event>`: signs a realistic sample Crisp hook (or your own payload) and posts
 * it, like Crisp does, to the running local stack (default) or to any URL. Prints each reply.
 */
import './quiet-node-warnings'; // first: keeps the AWS SDK's Node-version warning out of the output
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { localStateDir } from './local/dev-issuer';
import { loadDevValues } from './local/dev-secrets';
import { hookHeaders, sampleEvents, sampleHookBody } from './local/sample-hooks';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints } from './ops/target';

const HELP = `Usage: npm run hook -- <event> [options]
       npm run hook -- --file <envelope.json> [options]

Sends a Crisp hook, signed like Crisp's Plugin Hooks, and prints each reply. The payload is a
sample for <event> (one of: ${sampleEvents().join(', ')}), with fresh ids,
or your own with --data or --file.

Payload:
  --data <json>        the event's "data" object, e.g. --data '{"session_id":"session_1","content":"hi"}';
                       <event> can be any namespace then, sample or not
  --file <path>        a whole hook envelope {"event", "data", "website_id"?, "timestamp"?} from a JSON
                       file; website_id and timestamp (now) are filled in when missing. <event> may be
                       left out (if given, it must be the file's). A file with its own timestamp is the
                       same event each time it is sent (the consumer skips it as a duplicate); leave
                       the timestamp out for a new event each time.

Where:
  --port <port>        the local stack on http://127.0.0.1:<port>
  --url <url>          post there instead (the local stack's /hooks/crisp, or a deployed one)
                       Default: the running local stack, as npm start recorded it in
                       ${path.join(path.relative(process.cwd(), localStateDir()) || '.', LOCAL_ENDPOINTS_FILE)} (apiUrl), else http://127.0.0.1:$PORT (3000).

Signing and delivery:
  --secret <secret>    Plugin Hook signing secret (default: CRISP_HOOK_SECRET, else the local dev secret)
  --website            send as a Website Hook (unsigned; key in the URL) to /hooks/crisp/website
  --key <key>          Website Hook key (default: CRISP_WEBSITE_HOOK_KEY, else the local dev key)
  --website-id <id>    website_id in the envelope when it has none (default: CRISP_WEBSITE_ID, else the
                       local dev one; required with a remote --url)
  --attempt <n>        X-Delivery-Attempt-Count of the first delivery (default 1)
  --limit <n>          X-Delivery-Attempt-Limit (default 3)
  --times <n>          deliver the same event n times (redeliveries: attempt, attempt+1, ...; default 1)
  -h, --help           this help

The signature is HMAC-SHA256 over "[<X-Crisp-Request-Timestamp>;<the compact JSON body sent>]".
Exits 1 if any reply is not 2xx, 2 on a usage error.
`;

/** A mistake in the command line or its payload: exit 2 with the message (and the help, if `help`). */
class UsageError extends Error {
  constructor(
    message: string,
    readonly help = false,
  ) {
    super(message);
  }
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive whole number, got "${value}"`);
  return n;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The envelope in a --file: a JSON object with an `event` and a `data` object. */
function readEnvelopeFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--file ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--file ${file} is not JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  if (!isObject(value)) {
    throw new UsageError(`--file ${file} must hold a JSON object, a Crisp hook envelope {"event": ..., "data": {...}}; it holds ${describe(value)}`);
  }
  if (typeof value.event !== 'string' || value.event === '') {
    throw new UsageError(`--file ${file} has no "event" (the event namespace, e.g. "message:send")`);
  }
  if (!isObject(value.data)) {
    throw new UsageError(`--file ${file}: "data" must be a JSON object, got ${describe(value.data)}`);
  }
  return value;
}

/** The --data object. */
function parseData(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--data is not JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  if (!isObject(value)) throw new UsageError(`--data must be a JSON object (the event's "data"), got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** The local stack's base URL, and where it came from. */
function localApi(portOption: string | undefined): { base: string; from: string } {
  if (portOption !== undefined) {
    const port = Number(portOption);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port must be a port number, got "${portOption}"`);
    return { base: `http://127.0.0.1:${port}`, from: '--port' };
  }
  const file = path.join(localStateDir(), LOCAL_ENDPOINTS_FILE);
  if (existsSync(file)) {
    let apiUrl: unknown;
    try {
      apiUrl = (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalEndpoints>).apiUrl;
    } catch {
      apiUrl = undefined;
    }
    if (typeof apiUrl === 'string' && /^https?:\/\//.test(apiUrl)) return { base: apiUrl.replace(/\/+$/, ''), from: file };
    process.stderr.write(`crisp-bridge hook: ${file} has no apiUrl (written by an older npm start?); using PORT\n`);
  }
  return { base: `http://127.0.0.1:${process.env.PORT ?? '3000'}`, from: process.env.PORT === undefined ? 'the default port' : 'PORT' };
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      port: { type: 'string' },
      file: { type: 'string' },
      data: { type: 'string' },
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
  if (positionals.length > 1 || (positionals.length === 0 && values.file === undefined)) {
    throw new UsageError(`give exactly one event namespace${values.file === undefined ? ' (or --file)' : ''}`, true);
  }
  if (values.file !== undefined && values.data !== undefined) throw new UsageError('--file and --data do not go together: --file holds the whole envelope, data included');
  if (values.url !== undefined && values.port !== undefined) throw new UsageError('--url and --port do not go together');
  const attempt = positive('attempt', values.attempt, 1);
  const attemptLimit = positive('limit', values.limit, 3);
  const times = positive('times', values.times, 1);

  // The payload first: a bad one is refused before anything else is looked at.
  const fromFile = values.file === undefined ? undefined : readEnvelopeFile(values.file);
  const data = values.data === undefined ? undefined : parseData(values.data);
  const event = fromFile ? (fromFile.event as string) : positionals[0]!;
  if (fromFile && positionals[0] !== undefined && positionals[0] !== event) {
    throw new UsageError(`the event given (${positionals[0]}) is not the file's ("${event}"); leave it out with --file`);
  }

  const local = values.url === undefined;
  // The local stack's dev values serve only the local stack; a remote URL needs real ones.
  const dev = local ? loadDevValues().values : undefined;
  const websiteId = values['website-id'] ?? process.env.CRISP_WEBSITE_ID ?? dev?.websiteId;
  const needWebsiteId = (): string => {
    if (!websiteId) throw new Error('a remote --url needs --website-id (or CRISP_WEBSITE_ID): the Crisp website the event claims to come from');
    return websiteId;
  };
  let body: string;
  if (fromFile) {
    // website_id first when filled in, the file's members in their order, the timestamp last when filled in.
    const envelope: Record<string, unknown> = { ...(fromFile.website_id === undefined ? { website_id: needWebsiteId() } : {}), ...fromFile };
    if (envelope.timestamp === undefined) envelope.timestamp = Date.now();
    body = JSON.stringify(envelope);
  } else if (data) {
    body = JSON.stringify({ website_id: needWebsiteId(), event, data, timestamp: Date.now() });
  } else {
    const sampleWebsiteId = needWebsiteId();
    try {
      body = sampleHookBody(event, { websiteId: sampleWebsiteId });
    } catch (error) {
      throw new UsageError(`${(error as Error).message} (or give your own payload with --data or --file)`);
    }
  }
  // When the request is sent, as Crisp's header says: signed together with the body.
  const timestamp = String(Date.now());

  const api = local ? localApi(values.port) : undefined;
  let url = values.url ?? `${api!.base}/hooks/crisp${values.website ? '/website' : ''}`;
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
  process.stdout.write(`${event} → ${shownUrl}${values.file === undefined ? '' : ` (from ${values.file})`}\n`);
  let failures = 0;
  let unreachable = false;
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
      unreachable = true;
      line = `no reply: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
    }
    process.stdout.write(`  attempt ${attempt + i}/${attemptLimit}: ${line} (${Math.round(performance.now() - started)} ms)\n`);
  }
  if (unreachable && api) {
    process.stderr.write(`crisp-bridge hook: nothing answers at ${api.base} (from ${api.from}): is the local stack running (npm start)? --port or --url to choose\n`);
  }
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const help = error instanceof UsageError && error.help;
    process.stderr.write(`crisp-bridge hook: ${error instanceof Error ? error.message : String(error)}\n${help ? `\n${HELP}` : ''}`);
    process.exit(2);
  },
);
