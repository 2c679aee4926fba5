/**
 * `npm start`: the whole crisp-bridge system on http://127.0.0.1:3000 (PORT to change).
 */
import { parseArgs } from 'node:util';
import { startLocalStack } from './local/stack';

const HELP = `Usage: npm start [-- --port <port>]

Runs crisp-bridge locally: the same routes and function code as the deployed stack, with
Secrets Manager emulated in-process and a local dev identity issuer.

Routes:
  GET /ticket-center/url    Authorization: Bearer <token from npm run token>

Environment:
  PORT                   port to listen on (default 3000)
  CRISP_WEBSITE_ID       your Crisp website ID (default: a generated one)
  TICKET_CENTER_SECRET   the Ticket Center secret (default: a generated dev value, printed)
  ALLOWED_ORIGINS        comma-separated browser origins allowed by CORS (default: none)
  CRISP_BRIDGE_LOCAL_DIR where the dev issuer key lives (default: .local/)
`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const portText = values.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${portText}"`);

  const stack = await startLocalStack({
    port,
    websiteId: process.env.CRISP_WEBSITE_ID || undefined,
    ticketCenterSecret: process.env.TICKET_CENTER_SECRET || undefined,
    allowedOrigins: (process.env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    log: (line) => process.stdout.write(JSON.stringify({ timestamp: new Date().toISOString(), ...line }) + '\n'),
  });

  const lines = [
    `crisp-bridge local stack listening on ${stack.url}`,
    '',
    `  Crisp website ID      ${stack.websiteId}${stack.generated.websiteId ? '   (generated; set CRISP_WEBSITE_ID to use yours)' : '   (from CRISP_WEBSITE_ID)'}`,
    stack.generated.ticketCenterSecret
      ? `  Ticket Center secret  ${stack.ticketCenterSecret}   (generated dev value; set TICKET_CENTER_SECRET to use yours)`
      : '  Ticket Center secret  (from TICKET_CENTER_SECRET)',
    '',
    '  Try:',
    `    curl -s -H "Authorization: Bearer $(npm -s run token -- --email you@example.com)" ${stack.url}/ticket-center/url`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  const stop = (): void => {
    void stack.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`crisp-bridge: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
