/**
 * `npm run token -- --email a@b.c`: prints a JWT the local stack accepts (and nothing else, so
 * `TOKEN=$(npm -s run token -- --email a@b.c)` works). Signed by the local dev issuer, which a
 * deployed stack never trusts.
 */
import './quiet-node-warnings'; // first: keeps the AWS SDK's Node-version warning out of the output
import { parseArgs } from 'node:util';
import { issueDevToken, loadOrCreateDevIssuerKey } from './local/dev-issuer';

const HELP = `Usage: npm run token -- --email <email> [--name "<full name>"] [--unverified] [--ttl <seconds>]

Prints an identity token (JWT) for the local stack (npm start), as your identity provider
would issue it after sign-in.

  --email <email>    the email claim (required)
  --name <name>      the name claim (the Ticket Center nickname by default)
  --unverified       email_verified: false (the signer answers 403)
  --ttl <seconds>    lifetime (default 3600; 0 or less gives an expired token)
  -h, --help         this help
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      unverified: { type: 'boolean', default: false },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  if (!values.email) {
    process.stderr.write('crisp-bridge token: --email is required\n\n' + HELP);
    process.exit(2);
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl)) {
    process.stderr.write(`crisp-bridge token: --ttl must be a whole number of seconds, got "${values.ttl}"\n`);
    process.exit(2);
  }
  const token = issueDevToken(loadOrCreateDevIssuerKey(), {
    email: values.email,
    name: values.name,
    emailVerified: !values.unverified,
    ttlSeconds: ttl,
  });
  process.stdout.write(token + '\n');
}

try {
  main();
} catch (error) {
  process.stderr.write(`crisp-bridge token: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
