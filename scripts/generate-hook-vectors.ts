/**
 * Generates test/fixtures/crisp-api-vectors.json: Plugin Hook signature vectors checked with
 * Crisp's official Node library (`crisp-api`, a dev dependency) as the oracle.
 *
 * Regenerate with:
 *
 *   npx tsx scripts/generate-hook-vectors.ts
 *
 * (needs `openssl` on PATH; run it again after changing VECTORS below or upgrading crisp-api,
 * then review the diff of the JSON file and commit it). Tests only read the JSON file.
 *
 * How each vector is made: the signature is computed independently by the openssl binary over
 * `"[" + timestamp + ";" + JSON.stringify(body) + "]"` (the library signs the re-serialised
 * body), then `client.verifyHook(secret, body, timestamp, signature)` must return true, and
 * must return false after a one-character change to the body and to the signature. Any
 * disagreement aborts without writing the file.
 *
 * Library quirk (see ../shared/crisp-protocol.md): `verifyHook` returns false until the
 * client's real-time "loopback" is bound, which happens on a timer after
 * `setRtmMode(WebHooks)` and a first `.on()`. The script waits until a known-good vector (the
 * first one of test/fixtures/crisp-hook-signatures.json) verifies, with a timeout.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Crisp } from 'crisp-api';
import { opensslHmacSha256 } from '../test/support/openssl';

const LIBRARY = 'crisp-api';
const ROOT = join(__dirname, '..');
const OUTPUT = join(ROOT, 'test', 'fixtures', 'crisp-api-vectors.json');
const KNOWN_GOOD = join(ROOT, 'test', 'fixtures', 'crisp-hook-signatures.json');
const READY_TIMEOUT_MS = 10_000;

interface VectorSpec {
  name: string;
  secret: string;
  timestamp: string;
  body: Record<string, unknown>;
}

const WEBSITE_ID = '8c842203-7ed8-4e29-a608-7cf78a7d2fcc';
const SESSION_ID = 'session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881';

const VECTORS: VectorSpec[] = [
  {
    name: 'message-send-simple',
    secret: 'plugin-signing-secret-1',
    timestamp: '1720000000000',
    body: {
      website_id: WEBSITE_ID,
      event: 'message:send',
      data: {
        website_id: WEBSITE_ID,
        session_id: SESSION_ID,
        type: 'text',
        content: 'Hello, I need help with my order',
        from: 'user',
        origin: 'chat',
        stamped: true,
        timestamp: 1720000000000,
        fingerprint: 172000000000012,
        user: { nickname: 'visitor1234', user_id: SESSION_ID },
      },
      timestamp: 1720000000000,
    },
  },
  {
    name: 'message-send-non-ascii',
    secret: 'clé-secrète-Ω',
    timestamp: '1720000123456',
    body: {
      website_id: WEBSITE_ID,
      event: 'message:send',
      data: {
        website_id: WEBSITE_ID,
        session_id: SESSION_ID,
        type: 'text',
        content: 'Café crème, 中文测试, parcel 📦 arrived ✅',
        from: 'user',
        origin: 'chat',
        timestamp: 1720000123456,
        fingerprint: 172000012345601,
        user: { nickname: 'Zoë 李', user_id: SESSION_ID },
      },
      timestamp: 1720000123456,
    },
  },
  {
    name: 'message-send-escapes',
    secret: 'esc-secret',
    timestamp: '1720000200000',
    body: {
      website_id: WEBSITE_ID,
      event: 'message:send',
      data: {
        website_id: WEBSITE_ID,
        session_id: SESSION_ID,
        type: 'text',
        content: 'He said "hi"\nback\\slash\ttab </script><script>alert(1)</script> a/b \r\n end',
        from: 'operator',
        origin: 'chat',
        timestamp: 1720000200000,
        fingerprint: 172000020000007,
        user: { nickname: 'O\'Brien "Ops"', user_id: 'c2a6a3d0-0000-4000-8000-000000000001' },
      },
      timestamp: 1720000200000,
    },
  },
  {
    name: 'message-received-nested-arrays-numbers',
    secret: '0123456789abcdef0123456789abcdef',
    timestamp: '1720000300000',
    body: {
      website_id: WEBSITE_ID,
      event: 'message:received',
      data: {
        website_id: WEBSITE_ID,
        session_id: SESSION_ID,
        type: 'picker',
        content: {
          id: 'rating',
          text: 'Rate us',
          choices: [
            { value: 'bad', label: 'Bad', selected: false, score: -1 },
            { value: 'ok', label: 'OK', selected: false, score: 0 },
            { value: 'good', label: 'Good', selected: true, score: 1.5 },
          ],
        },
        from: 'user',
        origin: 'chat',
        mentions: [],
        read: null,
        amounts: [0, -42, 3.14159, 1e21, 0.000001, 9007199254740991],
        matrix: [
          [1, 2],
          [3, [4, 5, { deep: [true, false, null] }]],
        ],
        timestamp: 1720000300000,
        fingerprint: 172000030000003,
      },
      timestamp: 1720000300000,
    },
  },
  {
    name: 'session-set-data',
    secret: 'data-secret',
    timestamp: '1720000400000',
    body: {
      website_id: WEBSITE_ID,
      event: 'session:set_data',
      data: {
        website_id: WEBSITE_ID,
        session_id: SESSION_ID,
        data: { plan: 'pro', seats: 12, trial: false, signup: '2024-07-03', tags: ['vip', 'beta'] },
      },
      timestamp: 1720000400000,
    },
  },
  {
    name: 'session-set-email-timestamp-in-seconds',
    secret: 'seconds-secret',
    timestamp: '1720000500',
    body: {
      website_id: WEBSITE_ID,
      event: 'session:set_email',
      data: { website_id: WEBSITE_ID, session_id: SESSION_ID, email: 'jane.doe+crisp@example.com' },
      timestamp: 1720000500000,
    },
  },
];

/** The library types the timestamp as a number but uses it verbatim in the signed string. */
type VerifyHook = (secret: string, body: object, timestamp: string, signature: string) => boolean;

/** One character changed: the first one that is a letter or digit, incremented. */
function changeOneCharacter(value: string, from = 0): string {
  for (let i = from; i < value.length; i++) {
    const c = value[i]!;
    if (/[0-9a-f]/.test(c)) return value.slice(0, i) + (c === 'f' ? '0' : c === '9' ? 'a' : String.fromCharCode(c.charCodeAt(0) + 1)) + value.slice(i + 1);
    if (/[g-zA-Z]/.test(c)) return value.slice(0, i) + (c === 'z' ? 'a' : c === 'Z' ? 'A' : String.fromCharCode(c.charCodeAt(0) + 1)) + value.slice(i + 1);
  }
  throw new Error('nothing to change');
}

async function main(): Promise<void> {
  const client = new Crisp();
  client.setRtmMode(Crisp.RTM_MODES.WebHooks);
  client.on('message:send', () => {});
  const verifyHook: VerifyHook = (secret, body, timestamp, signature) =>
    (client.verifyHook as unknown as VerifyHook).call(client, secret, body, timestamp, signature);

  // Wait for the loopback, with a vector that is known to verify.
  const known = (JSON.parse(readFileSync(KNOWN_GOOD, 'utf8')) as { vectors: Array<{ secret: string; timestamp: string; body: string; signature: string }> })
    .vectors[0]!;
  const started = Date.now();
  while (!verifyHook(known.secret, JSON.parse(known.body) as object, known.timestamp, known.signature)) {
    if (Date.now() - started > READY_TIMEOUT_MS) throw new Error(`${LIBRARY} verifyHook never accepted the known-good vector (loopback not bound?)`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const version = (JSON.parse(readFileSync(join(ROOT, 'node_modules', LIBRARY, 'package.json'), 'utf8')) as { version: string }).version;
  const checkedWith = `${LIBRARY}@${version} verifyHook`;

  const vectors = VECTORS.map((spec) => {
    const body = JSON.stringify(spec.body);
    const signature = opensslHmacSha256(spec.secret, `[${spec.timestamp};${body}]`);
    if (!verifyHook(spec.secret, spec.body, spec.timestamp, signature)) throw new Error(`${spec.name}: ${checkedWith} refuses the signature`);
    // Round trip: the body as stored in the file, parsed again, still verifies.
    if (!verifyHook(spec.secret, JSON.parse(body) as object, spec.timestamp, signature)) throw new Error(`${spec.name}: parsed body refused`);
    // One character changed in the body (inside a value, so it still parses), the signature, the timestamp.
    const tamperedBody = changeOneCharacter(body, body.indexOf('"event":"') + 9);
    if (verifyHook(spec.secret, JSON.parse(tamperedBody) as object, spec.timestamp, signature)) throw new Error(`${spec.name}: tampered body accepted`);
    if (verifyHook(spec.secret, spec.body, spec.timestamp, changeOneCharacter(signature))) throw new Error(`${spec.name}: tampered signature accepted`);
    if (verifyHook(spec.secret, spec.body, changeOneCharacter(spec.timestamp), signature)) throw new Error(`${spec.name}: tampered timestamp accepted`);
    return { name: spec.name, secret: spec.secret, timestamp: spec.timestamp, body, signature, checked_with: checkedWith };
  });

  const file = {
    algorithm:
      'lowercase hex HMAC-SHA256, key = signing secret (UTF-8), message = "[" + X-Crisp-Request-Timestamp + ";" + body + "]" (UTF-8); body = JSON.stringify of the envelope (compact)',
    generated_by: 'npx tsx scripts/generate-hook-vectors.ts',
    checked_with: checkedWith,
    vectors,
  };
  writeFileSync(OUTPUT, `${JSON.stringify(file, null, 2)}\n`);
  console.log(`${vectors.length} vectors checked with ${checkedWith} written to ${OUTPUT}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
