/**
 * The dead-letter copy a PermanentError makes (sqsDeadLetterQueue): the original body and
 * attributes, plus the reason and source message id, always within SQS's limits (10 attributes,
 * characters SQS accepts), so the copy itself is never refused.
 */
import type { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { attributeText, sqsDeadLetterQueue } from '../../functions/commons/aws/sqs';

function recordingClient() {
  const sent: SendMessageCommand['input'][] = [];
  const client = { send: async (command: SendMessageCommand) => void sent.push(command.input) } as unknown as SQSClient;
  return { client, sent };
}

function record(attributes: Record<string, string>): SQSRecord {
  return {
    messageId: 'm-1',
    body: '{"event":"message:send"}',
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { dataType: 'String', stringValue: value, stringListValues: [], binaryListValues: [] }]),
    ),
  } as unknown as SQSRecord;
}

describe('sqsDeadLetterQueue', () => {
  it('copies body and attributes and adds deadLetterReason and deadLetterSourceMessageId', async () => {
    const { client, sent } = recordingClient();
    await sqsDeadLetterQueue(client, 'https://sqs/dlq').send(record({ hookKind: 'plugin' }), 'crm refused the contact');
    expect(sent).toEqual([
      {
        QueueUrl: 'https://sqs/dlq',
        MessageBody: '{"event":"message:send"}',
        MessageAttributes: {
          hookKind: { DataType: 'String', StringValue: 'plugin' },
          deadLetterReason: { DataType: 'String', StringValue: 'crm refused the contact' },
          deadLetterSourceMessageId: { DataType: 'String', StringValue: 'm-1' },
        },
      },
    ]);
  });

  it('never sends more than the 10 attributes SQS allows, and replaces earlier dead-letter attributes', async () => {
    const { client, sent } = recordingClient();
    const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`a${i}`, String(i)]));
    await sqsDeadLetterQueue(client, 'q').send(record({ ...many, deadLetterReason: 'old' }), 'new');
    const attributes = sent[0]!.MessageAttributes!;
    expect(Object.keys(attributes)).toHaveLength(10);
    expect(attributes.deadLetterReason).toEqual({ DataType: 'String', StringValue: 'new' });
  });

  it('falls back to "permanent error" for an empty reason', async () => {
    const { client, sent } = recordingClient();
    await sqsDeadLetterQueue(client, 'q').send(record({}), '');
    expect(sent[0]!.MessageAttributes!.deadLetterReason!.StringValue).toBe('permanent error');
  });
});

describe('attributeText', () => {
  it('cuts between code points, never leaving half a surrogate pair', () => {
    const text = `${'a'.repeat(255)}😀tail`;
    expect(attributeText(text, 256)).toBe(`${'a'.repeat(255)}😀`);
    expect(attributeText(text, 255)).toBe('a'.repeat(255));
  });

  it('replaces the characters SQS refuses (controls, lone surrogates, U+FFFE) and keeps tab and newlines', () => {
    expect(attributeText('a\u0000b\u0007c\td\ne\rf', 100)).toBe('a\ufffdb\ufffdc\td\ne\rf');
    expect(attributeText('x\ud800y\udfffz\ufffe', 100)).toBe('x\ufffdy\ufffdz\ufffd');
  });
});
