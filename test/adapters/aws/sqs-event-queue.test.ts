import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  EnqueueError,
  MessageTooLargeError,
  queuedEventBody,
  SQS_MESSAGE_MAX_BYTES,
  SqsEventQueue,
} from '../../../functions/adapters/aws/sqs-event-queue';
import type { QueuedEvent } from '../../../functions/core/event';
import { deduplicationId, messageGroupId } from '../../../functions/adapters/aws/sqs-ids';
import { queuedEvent } from '../../../testkit/events';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ecwid-events.fifo';
const sqs = mockClient(SQSClient);

const newQueue = () => new SqsEventQueue({ queueUrl: QUEUE_URL, client: new SQSClient({ region: 'us-east-1' }) });
const events = (n: number): QueuedEvent[] =>
  Array.from({ length: n }, (_, i) => queuedEvent({ eventId: `evt-${i}`, instanceId: `shop-${i % 3}`, objectId: `order-${i}` }));
const batchInputs = (): SendMessageBatchCommandInput[] => sqs.commandCalls(SendMessageBatchCommand).map((c) => c.args[0].input);

/** Answers every batch with all entries successful. */
function acceptEverything(): void {
  sqs.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
}

beforeEach(() => {
  sqs.reset();
});

describe('SqsEventQueue.enqueue', () => {
  test('sends each event as one FIFO message with group, deduplication id, body and attributes', async () => {
    acceptEverything();
    const event = queuedEvent({ eventId: 'abc', instanceId: 'shop-a', ecwidEventType: 'order.created' });

    await newQueue().enqueue([event]);

    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    const [input] = batchInputs();
    expect(input!.QueueUrl).toBe(QUEUE_URL);
    expect(input!.Entries).toEqual([
      {
        Id: '0',
        MessageBody: JSON.stringify(event),
        MessageGroupId: messageGroupId(event),
        MessageDeduplicationId: deduplicationId(event),
        MessageAttributes: {
          eventId: { DataType: 'String', StringValue: 'abc' },
          instanceId: { DataType: 'String', StringValue: 'shop-a' },
          ecwidEventType: { DataType: 'String', StringValue: 'order.created' },
        },
      },
    ]);
    expect(JSON.parse(input!.Entries![0]!.MessageBody!)).toEqual(event);
  });

  test('sends nothing for an empty list', async () => {
    acceptEverything();
    await newQueue().enqueue([]);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });

  test('splits 23 events into batches of 10, 10 and 3, in order', async () => {
    acceptEverything();
    const sent = events(23);

    await newQueue().enqueue(sent);

    const inputs = batchInputs();
    expect(inputs.map((i) => i.Entries!.length)).toEqual([10, 10, 3]);
    const bodies = inputs.flatMap((i) => i.Entries!.map((e) => JSON.parse(e.MessageBody!).eventId));
    expect(bodies).toEqual(sent.map((e) => e.eventId));
    for (const input of inputs) {
      const ids = input.Entries!.map((e) => e.Id);
      expect(new Set(ids).size).toBe(ids.length);
    }
  });

  test('also splits by size so no batch exceeds 256 KiB', async () => {
    acceptEverything();
    // ~100 KiB each: at most two per batch.
    const big = Array.from({ length: 5 }, (_, i) => queuedEvent({ eventId: `big-${i}`, raw: { blob: 'x'.repeat(100 * 1024) } }));

    await newQueue().enqueue(big);

    const inputs = batchInputs();
    expect(inputs.map((i) => i.Entries!.length)).toEqual([2, 2, 1]);
    for (const input of inputs) {
      const bytes = input.Entries!.reduce((sum, e) => sum + Buffer.byteLength(e.MessageBody!), 0);
      expect(bytes).toBeLessThanOrEqual(SQS_MESSAGE_MAX_BYTES);
    }
  });

  test('retries only the failed entries of a batch, then resolves', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: ['0', '2'].map((Id) => ({ Id, MessageId: Id, MD5OfMessageBody: 'x' })),
        Failed: [{ Id: '1', Code: 'ThrottlingException', SenderFault: false, Message: 'Rate exceeded' }],
      })
      .resolvesOnce({ Successful: [{ Id: '1', MessageId: 'm', MD5OfMessageBody: 'x' }], Failed: [] });
    const sent = events(3);

    await newQueue().enqueue(sent);

    const inputs = batchInputs();
    expect(inputs).toHaveLength(2);
    expect(inputs[1]!.Entries!.map((e) => JSON.parse(e.MessageBody!).eventId)).toEqual([sent[1]!.eventId]);
    expect(inputs[1]!.Entries![0]!.MessageDeduplicationId).toBe(deduplicationId(sent[1]!));
  });

  test('throws after the retries when an entry keeps failing, naming the event', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? []).map((e) => ({ Id: e.Id, Code: 'InternalError', SenderFault: false })),
    }));
    const sent = events(2);

    const error = await newQueue().enqueue(sent).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnqueueError);
    expect((error as Error).message).toMatch(/SQS rejected 2 of 2 messages after 3 attempts/);
    expect((error as Error).message).toContain(`event ${sent[0]!.eventId} (instance ${sent[0]!.instanceId}): InternalError`);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 3);
  });

  test('does not retry a sender fault (the entry itself is invalid)', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad group id' }],
    });

    await expect(newQueue().enqueue(events(1))).rejects.toThrow(/SQS rejected 1 of 1 messages: .*InvalidParameterValue bad group id/);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  test('a failure of the call itself becomes an EnqueueError with the cause', async () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { name: 'TimeoutError' });
    sqs.on(SendMessageBatchCommand).rejects(cause);

    const error = await newQueue().enqueue(events(1)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(EnqueueError);
    expect((error as Error).message).toBe(`SendMessageBatch to ${QUEUE_URL} failed (TimeoutError: connect ECONNREFUSED 127.0.0.1:1)`);
    expect((error as Error).cause).toBe(cause);
  });

  test('a failed first batch stops the rest from being sent', async () => {
    sqs.on(SendMessageBatchCommand).rejects(new Error('boom'));
    await expect(newQueue().enqueue(events(25))).rejects.toThrow(EnqueueError);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  test('an event over 256 KiB is refused with a clear error before anything is sent', async () => {
    acceptEverything();
    const huge = queuedEvent({ eventId: 'huge', instanceId: 'shop-z', raw: { blob: 'x'.repeat(SQS_MESSAGE_MAX_BYTES) } });

    const error = await newQueue().enqueue([queuedEvent(), huge]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect((error as Error).message).toMatch(/^Event huge of instance shop-z is \d+ bytes as an SQS message, over the 262144-byte limit$/);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 0);
  });

  test('counts multi-byte characters in bytes, not characters', async () => {
    acceptEverything();
    // 100k characters of 3 bytes each = ~300 KB: over the limit although under 256 Ki characters.
    const wide = queuedEvent({ raw: { text: '€'.repeat(100_000) } });
    await expect(newQueue().enqueue([wide])).rejects.toThrow(MessageTooLargeError);
  });

  test('leaves out an attribute SQS would reject instead of failing the event', async () => {
    acceptEverything();
    const event = queuedEvent({ eventId: 'bad\u0001id' });

    await newQueue().enqueue([event]);

    const entry = batchInputs()[0]!.Entries![0]!;
    expect(Object.keys(entry.MessageAttributes!).sort()).toEqual(['ecwidEventType', 'instanceId']);
    expect(JSON.parse(entry.MessageBody!).eventId).toBe('bad\u0001id');
  });
});

describe('queuedEventBody', () => {
  test('escapes characters that are valid JSON but not valid SQS text, and JSON.parse restores them', () => {
    const event = queuedEvent({ raw: { odd: 'a\uffffb\ufffe', ctrl: '\u0000' } });
    const body = queuedEventBody(event);
    expect(body).not.toMatch(/[\ufffe\uffff\u0000]/);
    expect(JSON.parse(body)).toEqual(event);
  });
});
