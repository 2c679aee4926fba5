/** Adapters: the hook queue and its dead-letter queue, backed by Amazon SQS. */
import { type MessageAttributeValue, SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DeadLetterQueue } from '../../consumer/process-batch';
import type { HookQueue } from '../../hook-receiver/receive-hook';

/**
 * One client per execution environment. Crisp wants an answer within a second, so a slow SQS
 * call is cut short and retried once rather than left to hang; the receiver then answers 503
 * and Crisp retries. The endpoint comes from the standard `AWS_ENDPOINT_URL_SQS` when set, and
 * is used for every call (`useQueueUrlAsEndpoint: false`): on AWS it is the same host as the
 * queue URL; against an emulator it is where the emulator actually listens.
 */
export function createSqsClient(): SQSClient {
  return new SQSClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 500, requestTimeout: 1500 },
    useQueueUrlAsEndpoint: false,
  });
}

export function sqsHookQueue(client: SQSClient, queueUrl: string): HookQueue {
  return {
    async send(message) {
      const out = await client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.body, MessageAttributes: message.attributes }),
      );
      return out.MessageId;
    },
  };
}

/**
 * The dead-letter port: a copy of the record (body and attributes) plus `deadLetterReason`.
 * `client` may be a factory, called on the first dead letter: most execution environments never
 * send one, and need not pay for making an SQS client at cold start.
 */
export function sqsDeadLetterQueue(client: SQSClient | (() => SQSClient), queueUrl: string): DeadLetterQueue {
  let made: SQSClient | undefined = typeof client === 'function' ? undefined : client;
  return {
    async send(record, reason) {
      // SQS takes at most 10 attributes per message: keep up to 8 of the original ones (the receiver
      // sets fewer) so the two dead-letter attributes always fit.
      const attributes: Record<string, MessageAttributeValue> = {};
      const originals = Object.entries(record.messageAttributes ?? {}).filter(([name, value]) => value.stringValue !== undefined && !name.startsWith('deadLetter'));
      for (const [name, value] of originals.slice(0, 8)) attributes[name] = { DataType: value.dataType, StringValue: value.stringValue };
      attributes.deadLetterReason = { DataType: 'String', StringValue: attributeText(reason, 256) || 'permanent error' };
      attributes.deadLetterSourceMessageId = { DataType: 'String', StringValue: record.messageId };
      made ??= (client as () => SQSClient)();
      await made.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: record.body, MessageAttributes: attributes }));
    },
  };
}

/**
 * A reason as an SQS attribute value: at most `max` characters, cut between code points, with
 * the characters SQS refuses (controls other than tab and newlines, lone surrogates, U+FFFE/F)
 * replaced by U+FFFD, so the copy is never refused for its reason.
 */
export function attributeText(text: string, max: number): string {
  const out: string[] = [];
  for (const char of text) {
    if (out.length >= max) break;
    const code = char.codePointAt(0)!;
    const allowed =
      code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || code >= 0x10000;
    out.push(allowed ? char : '\ufffd');
  }
  return out.join('');
}
