/**
 * `npm start`: the whole crisp-bridge system on http://127.0.0.1:3000 (PORT to change).
 */
import './quiet-node-warnings'; // first: keeps the AWS SDK's Node-version warning out of the output
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { localStateDir } from './local/dev-issuer';
import { LOCAL_ENDPOINTS_FILE, type LocalEndpoints } from './ops/target';
import { DEV_VALUE_ENV, loadDevValues } from './local/dev-secrets';
import { bundlesFromAssembly } from './local/bundles';
import { chooseHandlerModule } from './local/handler-module';
import { installPrettyStdout } from './local/pretty-log';
import { EXAMPLE_HANDLERS, LOCAL_STATE_FILES, startLocalStack } from './local/stack';

const HELP = `Usage: npm start [-- --port <port>] [--handlers <file>] [--fresh] [--bundles <cdk.out>]

Runs crisp-bridge locally: the same routes and function code as the deployed stack, with
Secrets Manager, SQS and DynamoDB emulated in-process, a local dev identity issuer, and the
consumer fed from the queue like Lambda's event source mapping.

  --handlers <file>  the handler module the consumer runs (default: handlers.entry in cdk.json,
                     else the shipped example); the consumer restarts when a file in its folder
                     changes, the API, the queues and the table stay up
  --fresh            start with empty queues and an empty dedupe table (they are otherwise kept
                     in .local/ across restarts)
  --pretty           human-readable log lines (JSON, Lambda's format, is the default)
  --bundles <dir>    run the function bundles of a synthesized app (npx cdk synth -o <dir>)
                     instead of the TypeScript sources: exactly what would be deployed

Routes:
  GET  /                           the demo dashboard (local only), with /embed/ticket-center.js
  GET  /ticket-center/url          Authorization: Bearer <token from npm run token>
  POST /hooks/crisp                Crisp Plugin Hooks (signed; try npm run hook -- message:send)
  POST /hooks/crisp/website?key=   Crisp Website Hooks (npm run hook -- message:send --website)

Environment (each value is otherwise generated once and kept in .local/dev-secrets.json):
  PORT                    port to listen on (default 3000)
  CRISP_WEBSITE_ID        your Crisp website ID
  TICKET_CENTER_SECRET    the Ticket Center secret
  CRISP_HOOK_SECRET       the Plugin Hook signing secret
  CRISP_WEBSITE_HOOK_KEY  the Website Hook key
  ALLOWED_ORIGINS         comma-separated browser origins allowed by CORS (default: none)
  CRISP_BRIDGE_LOCAL_DIR  where local state lives (default: .local/)
  HOOK_MAX_AGE_SECONDS, HOOK_EVENTS, HOOK_WEBSITE_IDS, EMAIL_CLAIM, REQUIRE_EMAIL_VERIFIED,
  TICKET_CENTER_STYLESHEET  a CSS file served at /ticket-center.css, as ticketCenterStylesheet is deployed
  LOWERCASE_EMAIL         as in the deployed functions
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      handlers: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      pretty: { type: 'boolean', default: false },
      bundles: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const portText = values.port ?? process.env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, got "${portText}"`);

  const pretty = values.pretty ? installPrettyStdout() : undefined;
  const dev = loadDevValues();
  const handlers = chooseHandlerModule(values.handlers, EXAMPLE_HANDLERS);
  const stateDir = localStateDir();
  if (values.fresh) {
    for (const file of Object.values(LOCAL_STATE_FILES)) rmSync(path.join(stateDir, file), { recursive: true, force: true });
  }
  const stack = await startLocalStack({
    port,
    ...dev.values,
    consumerProcess: true,
    persist: true,
    stateDir,
    handlers: handlers.file,
    handlerSettings: handlers.settings,
    stylesheet: process.env.TICKET_CENTER_STYLESHEET || undefined,
    bundles: values.bundles ? bundlesFromAssembly(values.bundles) : undefined,
    allowedOrigins: (process.env.ALLOWED_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    log: (line) => process.stdout.write(JSON.stringify({ timestamp: new Date().toISOString(), ...line }) + '\n'),
  });

  const show = (label: string, key: keyof typeof dev.values): string =>
    dev.fromEnv.has(key)
      ? `  ${label.padEnd(22)}(from ${DEV_VALUE_ENV[key]})`
      : `  ${label.padEnd(22)}${dev.values[key]}   (dev value; set ${DEV_VALUE_ENV[key]} to use yours)`;
  const lines = [
    `crisp-bridge local stack listening on ${stack.url}`,
    ...(values.bundles ? [`  running the bundles of ${values.bundles}`] : []),
    '',
    dev.fromEnv.has('websiteId') ? `  Crisp website ID      ${stack.websiteId}` : show('Crisp website ID', 'websiteId'),
    show('Ticket Center secret', 'ticketCenterSecret'),
    show('Hook signing secret', 'hookSecret'),
    show('Website Hook key', 'websiteHookKey'),
    `  Hook queue            ${stack.sqs.queueUrl} (dead letters: ${stack.sqs.deadLetterQueueUrl})`,
    `  Dedupe table          ${stack.dynamodb.tableName}; queues and table kept in ${stateDir} (--fresh to empty them)`,
    `  Event bus             local stand-in at ${stack.eventBridge?.endpoint} ("local bus event" line per event)`,
    `  Crisp REST API        local stand-in at ${stack.crispApi?.url} ("crisp api call" line per call)`,
    `  Handlers              ${displayPath(handlers.file)} (${handlers.from === 'example' ? 'the shipped example; --handlers <file> for yours' : `from ${handlers.from}`}); the consumer restarts when it changes`,
    '',
    `  Demo dashboard        ${stack.url}/   (sign in, then Support: the Ticket Center embed)`,
    ...(process.env.TICKET_CENTER_STYLESHEET ? [`  Stylesheet            ${stack.url}/ticket-center.css   (from ${process.env.TICKET_CENTER_STYLESHEET})`] : []),
    '',
    '  Try:',
    `    curl -s -H "Authorization: Bearer $(npm -s run token -- --email you@example.com)" ${stack.url}/ticket-center/url`,
    '    npm run hook -- message:send --times 3     (one "crisp event processed" line, two duplicates)',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');

  // So that npm run dlq -- --local and npm run event -- --local reach this stack.
  const endpointsFile = path.join(localStateDir(), LOCAL_ENDPOINTS_FILE);
  const endpoints: LocalEndpoints = {
    apiUrl: stack.url,
    sqsEndpoint: stack.sqs.endpoint,
    dynamodbEndpoint: stack.dynamodb.endpoint,
    queueUrl: stack.sqs.queueUrl,
    deadLetterQueueUrl: stack.sqs.deadLetterQueueUrl,
    tableName: stack.dynamodb.tableName,
  };
  writeFileSync(endpointsFile, JSON.stringify(endpoints, null, 2));

  // Ctrl-C reaches every process of the group, and tsx relays it too: the first signal stops the
  // stack (draining the consumer, flushing the queues to .local/), repeats are ignored meanwhile.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    rmSync(endpointsFile, { force: true });
    void stack.close().then(() => {
      pretty?.restore();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

/** A path under the current folder relative to it, any other absolute. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' || relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

main().catch((error: unknown) => {
  process.stderr.write(`crisp-bridge: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
