/**
 * The alternative receiver: what Crisp's Plugin Hooks guide shows (Express, `crisp-api`'s
 * `verifyHook`, RTM mode "web hooks" with an `.on()` binding), completed to do the same job as
 * ours: verify, then queue in SQS, then answer 200 (the guide answers before verifying, which
 * could not promise "never 2xx before durable"). A long-running server, not a Lambda: its cold
 * start is the process start to the first verified, acknowledged hook.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import express from 'express';
import { Crisp } from 'crisp-api';

const SECRET = process.env.CRISP_HOOK_SECRET ?? '';
const QUEUE_URL = process.env.HOOK_QUEUE_URL ?? '';
const PORT = Number(process.env.PORT ?? 0);

const client = new Crisp();
client.setRtmMode(Crisp.RTM_MODES.WebHooks);
// Without a binding, verifyHook always answers false (the guide says so).
client.on('message:send', () => undefined);

const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
const app = express();
app.use(express.json({ limit: '1mb' }));

app.post('/hooks/crisp', async (req, res) => {
  const timestamp = req.header('x-crisp-request-timestamp');
  const signature = req.header('x-crisp-signature');
  if (!client.verifyHook(SECRET, req.body, timestamp as unknown as number, signature as string)) {
    res.sendStatus(401);
    return;
  }
  try {
    await sqs.send(new SendMessageCommand({ QueueUrl: QUEUE_URL, MessageBody: JSON.stringify(req.body) }));
    res.sendStatus(200);
  } catch {
    res.sendStatus(503);
  }
});

const server = app.listen(PORT, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ listening: typeof address === 'object' && address ? address.port : PORT }) + '\n');
});
