import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { failedMessageIds, lambdaContext, SqsEventSource, toSqsRecord, type SqsBatchHandler } from '../../local/event-source';

const QUEUE_URL = 'http://127.0.0.1:4566/000000000000/q.fifo';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:q.fifo';
const sqsMock = mockClient(SQSClient);

const message = (id: string, overrides: Partial<Message> = {}): Message => ({
  MessageId: id,
  ReceiptHandle: `rh-${id}`,
  Body: `{"id":"${id}"}`,
  MD5OfBody: 'md5',
  Attributes: {
    ApproximateReceiveCount: '2',
    SentTimestamp: '1700000000000',
    SenderId: '000000000000',
    ApproximateFirstReceiveTimestamp: '1700000000100',
    MessageGroupId: `g-${id}`,
    MessageDeduplicationId: `d-${id}`,
    SequenceNumber: '00000000000000000001',
  },
  ...overrides,
});

const eventOf = (...ids: string[]): SQSEvent => ({ Records: ids.map((id) => toSqsRecord(message(id), QUEUE_ARN, 'us-east-1')) });

beforeEach(() => sqsMock.reset());

describe('toSqsRecord: Lambda record shape', () => {
  test('system attributes, message attributes (binary as base64), ARN and region', () => {
    const record = toSqsRecord(
      message('m1', {
        MD5OfMessageAttributes: 'md5attrs',
        MessageAttributes: {
          eventId: { DataType: 'String', StringValue: 'e1' },
          blob: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
        },
      }),
      QUEUE_ARN,
      'us-east-1',
    );
    expect(record).toEqual({
      messageId: 'm1',
      receiptHandle: 'rh-m1',
      body: '{"id":"m1"}',
      attributes: {
        ApproximateReceiveCount: '2',
        SentTimestamp: '1700000000000',
        SenderId: '000000000000',
        ApproximateFirstReceiveTimestamp: '1700000000100',
        MessageGroupId: 'g-m1',
        MessageDeduplicationId: 'd-m1',
        SequenceNumber: '00000000000000000001',
      },
      messageAttributes: {
        eventId: { stringValue: 'e1', stringListValues: [], binaryListValues: [], dataType: 'String' },
        blob: { binaryValue: Buffer.from('hi').toString('base64'), stringListValues: [], binaryListValues: [], dataType: 'Binary' },
      },
      md5OfBody: 'md5',
      md5OfMessageAttributes: 'md5attrs',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE_ARN,
      awsRegion: 'us-east-1',
    });
  });
});

describe('failedMessageIds: what Lambda keeps on the queue', () => {
  test.each<[string, SQSBatchResponse | undefined, string[]]>([
    ['no response: all succeeded', undefined, []],
    ['empty list: all succeeded', { batchItemFailures: [] }, []],
    ['listed ids fail', { batchItemFailures: [{ itemIdentifier: 'b' }] }, ['b']],
    ['an unknown id fails the whole batch', { batchItemFailures: [{ itemIdentifier: 'zzz' }] }, ['a', 'b', 'c']],
    ['an empty id fails the whole batch', { batchItemFailures: [{ itemIdentifier: '' }] }, ['a', 'b', 'c']],
  ])('%s', (_name, response, failed) => {
    expect([...failedMessageIds(eventOf('a', 'b', 'c'), response)].sort()).toEqual(failed);
  });
});

test('lambdaContext counts down from the function timeout', () => {
  const context = lambdaContext('deliver', 'us-east-1', 5000);
  expect(context.functionName).toBe('deliver');
  expect(context.invokedFunctionArn).toBe('arn:aws:lambda:us-east-1:000000000000:function:deliver');
  expect(context.getRemainingTimeInMillis()).toBeGreaterThan(4000);
  expect(context.getRemainingTimeInMillis()).toBeLessThanOrEqual(5000);
});

describe('SqsEventSource', () => {
  /** Receives `batches` in turn, then nothing (after a short wait, like a long poll). */
  function queueServes(...batches: Message[][]): void {
    let next = 0;
    sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
      if (next < batches.length) return { Messages: batches[next++] };
      await new Promise((resolve) => setTimeout(resolve, 20));
      return {};
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  }

  async function runUntil(source: SqsEventSource, done: () => boolean): Promise<void> {
    source.start();
    const deadline = Date.now() + 3000;
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await source.stop();
  }

  const sourceFor = (handler: SqsBatchHandler, onError?: (message: string, error: unknown) => void) =>
    new SqsEventSource({
      client: new SQSClient({ region: 'us-east-1' }),
      queueUrl: QUEUE_URL,
      queueArn: QUEUE_ARN,
      region: 'us-east-1',
      handler,
      pollers: 1,
      functionName: 'deliver-test',
      onError,
    });

  test('long-polls for batches of 10 with every attribute, and deletes only what did not fail', async () => {
    queueServes([message('a'), message('b'), message('c')]);
    const handler = jest.fn<ReturnType<SqsBatchHandler>, Parameters<SqsBatchHandler>>(async () => ({
      batchItemFailures: [{ itemIdentifier: 'b' }],
    }));
    const source = sourceFor(handler);
    await runUntil(source, () => sqsMock.commandCalls(DeleteMessageBatchCommand).length > 0);

    const receive = sqsMock.commandCalls(ReceiveMessageCommand)[0].args[0].input;
    expect(receive).toMatchObject({
      QueueUrl: QUEUE_URL,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 20,
      MessageSystemAttributeNames: ['All'],
      AttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    });
    const [event, context] = handler.mock.calls[0];
    expect(event.Records.map((record) => record.messageId)).toEqual(['a', 'b', 'c']);
    expect(event.Records[0].attributes.MessageGroupId).toBe('g-a');
    expect(context.functionName).toBe('deliver-test');
    const deletes = sqsMock.commandCalls(DeleteMessageBatchCommand);
    expect(deletes).toHaveLength(1);
    expect(deletes[0].args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      Entries: [
        { Id: '0', ReceiptHandle: 'rh-a' },
        { Id: '1', ReceiptHandle: 'rh-c' },
      ],
    });
    expect(source.invocationCount).toBe(1);
  });

  test('a handler that throws fails the whole batch: nothing is deleted', async () => {
    queueServes([message('a'), message('b')]);
    const errors: string[] = [];
    const handler = jest.fn(async () => {
      throw new Error('crash');
    });
    const source = sourceFor(handler, (text) => errors.push(text));
    await runUntil(source, () => handler.mock.calls.length > 0);
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(0);
    expect(errors).toEqual(['the deliver handler threw; the whole batch stays on the queue']);
  });

  test('a receive error is reported and polling goes on', async () => {
    let calls = 0;
    sqsMock.on(ReceiveMessageCommand).callsFake(async () => {
      calls += 1;
      if (calls === 1) throw new Error('connection refused');
      if (calls === 2) return { Messages: [message('a')] };
      await new Promise((resolve) => setTimeout(resolve, 20));
      return {};
    });
    sqsMock.on(DeleteMessageBatchCommand).resolves({});
    const errors: string[] = [];
    const handler = jest.fn(async () => undefined);
    const source = sourceFor(handler, (text) => errors.push(text));
    await runUntil(source, () => sqsMock.commandCalls(DeleteMessageBatchCommand).length > 0);
    expect(errors).toEqual(['ReceiveMessage failed; retrying in 1 s']);
    expect(handler).toHaveBeenCalledTimes(1);
  });

  test('stop() waits for the batch in hand to be handled and settled', async () => {
    queueServes([message('a')]);
    let release: () => void = () => undefined;
    const handler = jest.fn(() => new Promise<void>((resolve) => (release = resolve)));
    const source = sourceFor(handler);
    source.start();
    while (handler.mock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const stopped = source.stop();
    let settled = false;
    void stopped.then(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(settled).toBe(false);
    release();
    await stopped;
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(1);
  });
});
