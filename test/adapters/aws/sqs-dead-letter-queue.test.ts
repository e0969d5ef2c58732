import { ChangeMessageVisibilityBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  deadLetterDeduplicationId,
  queueUrlFromArn,
  SqsDeadLetterQueue,
} from '../../../functions/adapters/aws/sqs-dead-letter-queue';
import { queuedEventBody } from '../../../functions/adapters/aws/sqs-event-queue';
import { claim, finishAttempt, receivedEntry } from '../../../functions/core/ledger';
import type { DeadLetterDetails } from '../../../functions/core/ports';
import { queueMessage, webhookEvent } from '../../core/deliver-support';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/events.fifo';
const DLQ_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/events-dlq.fifo';
const sqs = mockClient(SQSClient);
const client = (): SQSClient => new SQSClient({ region: 'eu-west-1' });

const details: DeadLetterDetails = {
  lastError: 'callback https://hooks.example.com answered HTTP 500',
  attempts: 11,
  firstReceivedAt: '2024-03-01T12:00:01.000Z',
  lastAttemptAt: '2024-03-03T03:00:00.000Z',
  instanceId: 'shop-a',
  eventId: 'evt-1',
};

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
});

describe('SqsDeadLetterQueue', () => {
  it('releases skipped messages at once, ten per batch call', async () => {
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
    const messages = Array.from({ length: 12 }, (_, i) => ({ ...queueMessage(webhookEvent()), receiptHandle: `r-${i}` }));
    await new SqsDeadLetterQueue({ queueUrl: QUEUE_URL, client: client() }).release(messages);
    const calls = sqs.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(calls.map((call) => call.args[0].input.Entries?.length)).toEqual([10, 2]);
    expect(calls[0].args[0].input).toMatchObject({ QueueUrl: QUEUE_URL });
    expect(calls[1].args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'r-10', VisibilityTimeout: 0 },
      { Id: '1', ReceiptHandle: 'r-11', VisibilityTimeout: 0 },
    ]);
  });

  it('throws when SQS could not release a message', async () => {
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
    });
    await expect(
      new SqsDeadLetterQueue({ queueUrl: QUEUE_URL, client: client() }).release([queueMessage(webhookEvent())]),
    ).rejects.toThrow('SQS did not release 1 of 1 messages: ReceiptHandleIsInvalid');
  });

  it('dead-letters a ledger entry: the event as queued, its group, the round\'s attempts, last error and ledger version', async () => {
    const event = webhookEvent();
    const t = (seconds: number) => new Date(Date.parse('2024-03-01T12:00:00.000Z') + seconds * 1000);
    const policy = { scheduleSeconds: [60], maxAttempts: 2 };
    let entry = receivedEntry(event, JSON.stringify(event), t(0));
    entry = finishAttempt(claim(entry, t(1)), { ok: false, errorClass: 'http', httpStatus: 500, error: 'HTTP 500', durationMs: 5 }, t(2), policy);
    entry = finishAttempt(claim(entry, t(70)), { ok: false, errorClass: 'timeout', error: 'timed out', durationMs: 9 }, t(80), policy);
    expect(entry.status).toBe('dead-lettered');

    await new SqsDeadLetterQueue({ deadLetterQueueUrl: DLQ_URL, client: client() }).deadLetter(entry);

    const input = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(input).toEqual({
      QueueUrl: DLQ_URL,
      MessageBody: queuedEventBody(event),
      MessageGroupId: 'shop-a:products:66722483',
      MessageDeduplicationId: expect.stringMatching(/^[0-9a-f]{64}$/),
      MessageAttributes: {
        lastError: { DataType: 'String', StringValue: 'timed out' },
        attempts: { DataType: 'Number', StringValue: '2' },
        firstReceivedAt: { DataType: 'String', StringValue: event.receivedAt },
        lastAttemptAt: { DataType: 'String', StringValue: t(70).toISOString() },
        instanceId: { DataType: 'String', StringValue: 'shop-a' },
        eventId: { DataType: 'String', StringValue: event.eventId },
        deduplicationId: { DataType: 'String', StringValue: 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0' },
        ledgerVersion: { DataType: 'Number', StringValue: String(entry.version) },
      },
    });
    // A later dead-lettering of the same event (after a resend) is another copy.
    await new SqsDeadLetterQueue({ deadLetterQueueUrl: DLQ_URL, client: client() }).deadLetter({ ...entry, version: entry.version + 3 });
    const second = sqs.commandCalls(SendMessageCommand)[1].args[0].input;
    expect(second.MessageDeduplicationId).not.toBe(input.MessageDeduplicationId);
  });

  it('sends the unchanged body to the DLQ in the same message group, with the attempt details', async () => {
    const message = queueMessage(webhookEvent());
    await new SqsDeadLetterQueue({ queueUrl: QUEUE_URL, deadLetterQueueUrl: DLQ_URL, client: client() }).deadLetterMessage(message, details);

    expect(sqs).toHaveReceivedCommandTimes(SendMessageCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DLQ_URL,
      MessageBody: message.body,
      MessageGroupId: 'shop-a:products:66722483',
      MessageDeduplicationId: deadLetterDeduplicationId(message),
      MessageAttributes: {
        lastError: { DataType: 'String', StringValue: details.lastError },
        attempts: { DataType: 'Number', StringValue: '11' },
        firstReceivedAt: { DataType: 'String', StringValue: '2024-03-01T12:00:01.000Z' },
        lastAttemptAt: { DataType: 'String', StringValue: '2024-03-03T03:00:00.000Z' },
        instanceId: { DataType: 'String', StringValue: 'shop-a' },
        eventId: { DataType: 'String', StringValue: 'evt-1' },
        deduplicationId: { DataType: 'String', StringValue: 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0' },
      },
    });
  });

  it('deduplicates per received message: the same receive twice gives one id, a replayed copy another', () => {
    const first = queueMessage(webhookEvent(), { messageId: 'sqs-message-1' });
    expect(deadLetterDeduplicationId(first)).toBe(deadLetterDeduplicationId({ ...first, receiveCount: 12 }));
    expect(deadLetterDeduplicationId({ ...first, messageId: 'sqs-message-2' })).not.toBe(deadLetterDeduplicationId(first));
    expect(deadLetterDeduplicationId(first)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('leaves out attributes it does not know (SQS refuses empty values) and truncates a long error', async () => {
    const message = queueMessage('not json', { messageDeduplicationId: undefined, firstReceivedAt: undefined });
    await new SqsDeadLetterQueue({ deadLetterQueueUrl: DLQ_URL, client: client() }).deadLetterMessage(message, {
      lastError: 'x'.repeat(5000),
      attempts: 1,
      lastAttemptAt: '2024-03-01T12:00:00.000Z',
    });
    const input = sqs.commandCalls(SendMessageCommand)[0].args[0].input;
    expect(Object.keys(input.MessageAttributes ?? {}).sort()).toEqual(['attempts', 'lastAttemptAt', 'lastError']);
    expect(input.MessageAttributes?.lastError.StringValue).toHaveLength(1024);
  });

  it('refuses to dead-letter without DEAD_LETTER_QUEUE_URL, so the record fails and SQS keeps it', async () => {
    await expect(new SqsDeadLetterQueue({ client: client() }).deadLetterMessage(queueMessage(webhookEvent()), details)).rejects.toThrow(
      'DEAD_LETTER_QUEUE_URL is not set',
    );
    expect(sqs).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('propagates SQS errors', async () => {
    sqs.on(SendMessageCommand).rejects(new Error('AccessDenied'));
    await expect(
      new SqsDeadLetterQueue({ deadLetterQueueUrl: DLQ_URL, client: client() }).deadLetterMessage(queueMessage(webhookEvent()), details),
    ).rejects.toThrow('AccessDenied');
  });
});

describe('queueUrlFromArn', () => {
  it('builds the regional endpoint URL', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-west-1:123456789012:events.fifo')).toBe(QUEUE_URL);
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q')).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q');
  });
  it('refuses what is not an SQS ARN', () => {
    expect(() => queueUrlFromArn(undefined)).toThrow('set QUEUE_URL');
    expect(() => queueUrlFromArn('arn:aws:sns:eu-west-1:1:t')).toThrow('cannot derive a queue URL');
  });
});

describe('dead-letter attributes are sanitized (their text comes from receivers and senders)', () => {
  const sent = async (overrides: Partial<DeadLetterDetails>) => {
    await new SqsDeadLetterQueue({ deadLetterQueueUrl: DLQ_URL, client: client() }).deadLetterMessage(queueMessage(webhookEvent()), { ...details, ...overrides });
    return sqs.commandCalls(SendMessageCommand).at(-1)!.args[0].input.MessageAttributes!;
  };

  it('control characters and line breaks become spaces: an error cannot forge a line in the CLI output', async () => {
    const attributes = await sent({ lastError: 'HTTP 500\nlastError: all good\u0000\u001b[31m', eventId: 'evt\r\n-1\u0085' });
    expect(attributes.lastError.StringValue).toBe('HTTP 500 lastError: all good  [31m');
    expect(attributes.eventId.StringValue).toBe('evt  -1 ');
  });

  it('characters SQS refuses (lone surrogates, U+FFFF) become U+FFFD, so the send cannot fail for ever', async () => {
    const attributes = await sent({ lastError: `bad \uD800 half \uDC00 and \uFFFF; ok \u{1F600}` });
    expect(attributes.lastError.StringValue).toBe('bad \uFFFD half \uFFFD and \uFFFD; ok \u{1F600}');
  });

  it('a sender-chosen event id is cut to 256 characters, never splitting a surrogate pair', async () => {
    const attributes = await sent({ eventId: `${'e'.repeat(254)}\u{1F600}tail` });
    expect(attributes.eventId.StringValue).toBe(`${'e'.repeat(254)}…`);
    expect(attributes.eventId.StringValue!.length).toBeLessThanOrEqual(256);
  });
});
