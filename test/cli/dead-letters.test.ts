import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { parseDeadLetter, peekDeadLetters, replayDeadLetters, replayDeduplicationId } from '../../cli/dead-letters';
import { queuedEvent } from '../../testkit/events';

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1' });
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/123456789012/events-dlq.fifo';

function deadMessage(n: number, overrides: Partial<Message> = {}): Message {
  const event = queuedEvent({ eventId: `evt-${n}`, instanceId: n % 2 ? 'shop-a' : 'shop-b', objectId: `O${n}` });
  return {
    MessageId: `m-${n}`,
    ReceiptHandle: `rh-${n}`,
    Body: JSON.stringify(event),
    Attributes: { MessageGroupId: `${event.instanceId}:orders:O${n}`, MessageDeduplicationId: `${event.instanceId}:evt-${n}`, SentTimestamp: '1700000000000' },
    MessageAttributes: {
      lastError: { DataType: 'String', StringValue: 'callback answered HTTP 503' },
      attempts: { DataType: 'String', StringValue: '8' },
      firstReceivedAt: { DataType: 'String', StringValue: '2024-01-01T00:00:00.000Z' },
      instanceId: { DataType: 'String', StringValue: event.instanceId },
      eventId: { DataType: 'String', StringValue: event.eventId },
    },
    ...overrides,
  };
}

const calls = <T>(command: new (input: T) => unknown): T[] => sqsMock.commandCalls(command as never).map((call) => call.args[0].input as T);

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('parseDeadLetter', () => {
  test('reads the attributes deliver sets and the queued event', () => {
    const letter = parseDeadLetter(deadMessage(3));
    expect(letter).toMatchObject({
      messageId: 'm-3',
      eventId: 'evt-3',
      instanceId: 'shop-a',
      objectType: 'orders',
      objectId: 'O3',
      ecwidEventType: 'order.updated',
      attempts: 8,
      lastError: 'callback answered HTTP 503',
      firstReceivedAt: '2024-01-01T00:00:00.000Z',
      groupId: 'shop-a:orders:O3',
      sentAt: '2023-11-14T22:13:20.000Z',
    });
  });

  test('an odd body is still listed, with the reason', () => {
    const letter = parseDeadLetter(deadMessage(1, { Body: 'not json', MessageAttributes: {} }));
    expect(letter).toMatchObject({ messageId: 'm-1', bodyProblem: 'body is not JSON', body: 'not json' });
    expect(letter.eventId).toBeUndefined();
  });
});

describe('peekDeadLetters', () => {
  test('hands every received message back (visibility 0), matching or not', async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [deadMessage(1), deadMessage(2)] })
      .resolvesOnce({ Messages: [deadMessage(3)] })
      .resolves({ Messages: [] });
    const result = await peekDeadLetters(sqs, DLQ, { visibilitySeconds: 30, waitSeconds: 0, match: (l) => l.instanceId === 'shop-a' });
    expect(result.letters.map((l) => l.eventId)).toEqual(['evt-1', 'evt-3']);
    expect(result.scanned).toBe(3);
    const released = calls(ChangeMessageVisibilityBatchCommand).flatMap((input) => input.Entries ?? []);
    expect(released.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual([
      ['rh-1', 0],
      ['rh-2', 0],
      ['rh-3', 0],
    ]);
    expect(calls(ReceiveMessageCommand)[0]).toMatchObject({ QueueUrl: DLQ, VisibilityTimeout: 30, MaxNumberOfMessages: 10 });
  });

  test('stops at the limit', async () => {
    sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [deadMessage(1), deadMessage(2)] });
    const result = await peekDeadLetters(sqs, DLQ, { visibilitySeconds: 30, waitSeconds: 0, limit: 1 });
    expect(result.letters).toHaveLength(1);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(1);
  });

  test('a failing receive still hands back what was received before', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [deadMessage(1)] }).rejects(new Error('throttled'));
    await expect(peekDeadLetters(sqs, DLQ, { visibilitySeconds: 30, waitSeconds: 0 })).rejects.toThrow('throttled');
    expect(calls(ChangeMessageVisibilityBatchCommand).flatMap((i) => i.Entries ?? []).map((e) => e.ReceiptHandle)).toEqual(['rh-1']);
  });
});

describe('replayDeadLetters', () => {
  const options = { queueUrl: QUEUE, deadLetterQueueUrl: DLQ, visibilitySeconds: 300, waitSeconds: 0, dryRun: false, runId: '1700000000000' };

  test('sends copies with the same body and group and a replay dedup id, then deletes exactly those accepted', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [deadMessage(1), deadMessage(2), deadMessage(3)] }).resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({
      Successful: [
        { Id: '0', MessageId: 'n0', MD5OfMessageBody: '' },
        { Id: '2', MessageId: 'n2', MD5OfMessageBody: '' },
      ],
      Failed: [{ Id: '1', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }, { Id: '2' }], Failed: [] });

    const result = await replayDeadLetters(sqs, { ...options, select: () => true });

    const [sent] = calls(SendMessageBatchCommand);
    expect(sent.QueueUrl).toBe(QUEUE);
    expect(sent.Entries?.[0]).toMatchObject({
      Id: '0',
      MessageGroupId: 'shop-a:orders:O1',
      MessageDeduplicationId: 'shop-a:evt-1:replay:1700000000000',
    });
    // The same event, with its history so far: a copy that fails again still shows every attempt.
    expect(JSON.parse(sent.Entries?.[0].MessageBody ?? '')).toEqual({
      ...JSON.parse(deadMessage(1).Body ?? ''),
      history: { attempts: 8, firstSeenAt: expect.any(String), replays: 1, replayRun: '1700000000000' },
    });
    const [deleted] = calls(DeleteMessageBatchCommand);
    expect(deleted.QueueUrl).toBe(DLQ);
    expect(deleted.Entries?.map((e) => e.ReceiptHandle)).toEqual(['rh-1', 'rh-3']);
    // The refused one stays in the DLQ and is handed back at once.
    expect(calls(ChangeMessageVisibilityBatchCommand).flatMap((i) => i.Entries ?? []).map((e) => e.ReceiptHandle)).toEqual(['rh-2']);
    expect(result.replayed.map((l) => l.eventId)).toEqual(['evt-1', 'evt-3']);
    expect(result.failed).toEqual([{ letter: expect.objectContaining({ eventId: 'evt-2' }), reason: 'InternalError: try again' }]);
  });

  test('when the send fails entirely nothing is deleted and everything is handed back', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [deadMessage(1), deadMessage(2)] }).resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).rejects(new Error('connection reset'));
    await expect(replayDeadLetters(sqs, { ...options, select: () => true })).rejects.toThrow('connection reset');
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
    expect(calls(ChangeMessageVisibilityBatchCommand).flatMap((i) => i.Entries ?? []).map((e) => e.ReceiptHandle)).toEqual(['rh-1', 'rh-2']);
  });

  test('only the selected messages move; the others are held until the end, then handed back', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [deadMessage(1), deadMessage(2)] }).resolves({ Messages: [] });
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: '' }], Failed: [] });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }], Failed: [] });
    const result = await replayDeadLetters(sqs, { ...options, select: (l) => l.instanceId === 'shop-b' });
    expect(calls(SendMessageBatchCommand)[0].Entries?.map((e) => e.MessageGroupId)).toEqual(['shop-b:orders:O2']);
    expect(calls(DeleteMessageBatchCommand)[0].Entries?.map((e) => e.ReceiptHandle)).toEqual(['rh-2']);
    expect(calls(ChangeMessageVisibilityBatchCommand).flatMap((i) => i.Entries ?? []).map((e) => e.ReceiptHandle)).toEqual(['rh-1']);
    expect(result.replayed.map((l) => l.eventId)).toEqual(['evt-2']);
  });

  test('a message that comes back after its timeout is not replayed twice', async () => {
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [deadMessage(1)] })
      .resolvesOnce({ Messages: [{ ...deadMessage(1), ReceiptHandle: 'rh-1-again' }] })
      .resolves({ Messages: [] });
    const result = await replayDeadLetters(sqs, { ...options, dryRun: true, select: () => true });
    expect(result.replayed).toHaveLength(1);
    // Handed back with the newest receipt handle.
    expect(calls(ChangeMessageVisibilityBatchCommand).flatMap((i) => i.Entries ?? []).map((e) => e.ReceiptHandle)).toEqual(['rh-1-again']);
  });

  test('dry run sends and deletes nothing', async () => {
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [deadMessage(1), deadMessage(2)] }).resolves({ Messages: [] });
    const result = await replayDeadLetters(sqs, { ...options, dryRun: true, select: () => true });
    expect(result.replayed).toHaveLength(2);
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
  });

  test('a message without a group id is not sent to a FIFO queue', async () => {
    const odd = deadMessage(1, { Body: 'garbage', Attributes: {} });
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [odd] }).resolves({ Messages: [] });
    const result = await replayDeadLetters(sqs, { ...options, select: () => true });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(result.failed[0].reason).toBe('no message group id (FIFO)');
  });

  test('replay dedup ids differ per run and stay within the SQS limit', () => {
    expect(replayDeduplicationId('a:b', '1')).not.toBe(replayDeduplicationId('a:b', '2'));
    expect(replayDeduplicationId('x'.repeat(128), '1')).toMatch(/^[0-9a-f]{64}$/);
  });
});
