import { GetQueueAttributesCommand, ReceiveMessageCommand, ChangeMessageVisibilityBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { watchEvent } from '../../cli/commands/test-event';
import type { Queues } from '../../cli/environment';
import { queuedEvent } from '../../testkit/events';

const sqsMock = mockClient(SQSClient);
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/1/events.fifo';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/1/events-dlq.fifo';
const queues: Queues = {
  sqs: new SQSClient({ region: 'us-east-1' }),
  queueUrl: QUEUE,
  deadLetterQueueUrl: DLQ,
  emulated: false,
  arns: async () => ({ queueArn: 'q', deadLetterQueueArn: 'd' }),
};

/** Queue depths per poll: [main, dlq] totals (as visible messages). */
function depths(sequence: Array<[number, number]>) {
  let main = 0;
  let dlq = 0;
  sqsMock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
    if (input.QueueUrl === QUEUE) {
      [main, dlq] = sequence.shift() ?? [main, dlq];
      return { Attributes: { ApproximateNumberOfMessages: String(main), ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } };
    }
    return { Attributes: { ApproximateNumberOfMessages: String(dlq), ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } };
  });
}

function fakeTime() {
  let now = 0;
  return { now: () => new Date(now), sleep: async (ms: number) => void (now += ms) };
}

const target = { eventId: 'evt-9', instanceId: 'shop-a' };

beforeEach(() => {
  sqsMock.reset();
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  sqsMock.on(ReceiveMessageCommand).resolves({ Messages: [] });
});

test('delivered: the queue emptied (twice in a row) and the event is not in the DLQ', async () => {
  depths([[1, 0], [1, 0], [0, 0], [0, 0]]);
  const status: string[] = [];
  const result = await watchEvent(fakeTime(), queues, target, { timeoutMs: 60_000, intervalMs: 1000, onStatus: (s) => status.push(s) });
  expect(result).toEqual({ outcome: 'delivered', waitedMs: 3000 });
  expect(status[0]).toBe('[0s] queue: 1 visible, 0 in flight, 0 delayed; dlq: 0');
});

test('one empty reading between attempts is not "delivered"', async () => {
  depths([[1, 0], [0, 0], [1, 0], [1, 0]]);
  const result = await watchEvent(fakeTime(), queues, target, { timeoutMs: 3000, intervalMs: 1000 });
  expect(result.outcome).toBe('timeout');
});

test('failed: the event is found in the DLQ (and handed back there)', async () => {
  depths([[1, 0], [0, 1]]);
  sqsMock.on(ReceiveMessageCommand).resolves({
    Messages: [
      {
        MessageId: 'm1',
        ReceiptHandle: 'rh1',
        Body: JSON.stringify(queuedEvent({ eventId: 'evt-9', instanceId: 'shop-a' })),
        MessageAttributes: { attempts: { DataType: 'String', StringValue: '8' }, lastError: { DataType: 'String', StringValue: 'HTTP 500' } },
      },
    ],
  });
  const result = await watchEvent(fakeTime(), queues, target, { timeoutMs: 60_000, intervalMs: 1000 });
  expect(result.outcome).toBe('failed');
  expect(result.letter).toMatchObject({ eventId: 'evt-9', attempts: 8, lastError: 'HTTP 500' });
  expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0].args[0].input.Entries?.[0]).toMatchObject({ ReceiptHandle: 'rh1', VisibilityTimeout: 0 });
});

test('another event in the DLQ is not ours', async () => {
  depths([[1, 1], [1, 1], [1, 1]]);
  sqsMock.on(ReceiveMessageCommand).resolves({
    Messages: [{ MessageId: 'm1', ReceiptHandle: 'rh1', Body: JSON.stringify(queuedEvent({ eventId: 'other', instanceId: 'shop-a' })) }],
  });
  const result = await watchEvent(fakeTime(), queues, target, { timeoutMs: 2000, intervalMs: 1000 });
  expect(result).toEqual({ outcome: 'timeout', waitedMs: 2000 });
});
