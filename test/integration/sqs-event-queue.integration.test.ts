import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { EnqueueError, SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import type { QueuedEvent } from '../../functions/core/event';
import { deduplicationId, messageGroupId } from '../../functions/adapters/aws/sqs-ids';
import { queuedEvent } from '../../testkit/events';
import {
  createFifoQueueWithDlq,
  deleteQueuePair,
  describeWithMoto,
  drainQueue,
  motoSqsClient,
  unreachableSqs,
  type FifoQueuePair,
} from '../support/moto';

describeWithMoto('SqsEventQueue against a moto FIFO queue', () => {
  let sqs: SQSClient;
  let queues: FifoQueuePair;

  beforeAll(() => {
    sqs = motoSqsClient();
  });

  beforeEach(async () => {
    queues = await createFifoQueueWithDlq(sqs, 'sqs-queue');
  });

  afterEach(async () => {
    await deleteQueuePair(sqs, queues);
  });

  afterAll(() => {
    sqs.destroy();
  });

  test('the harness queue is FIFO, without content-based dedup, with a redrive policy to its DLQ', async () => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queues.queueUrl, AttributeNames: ['All'] }));
    expect(Attributes?.FifoQueue).toBe('true');
    expect(Attributes?.ContentBasedDeduplication).toBe('false');
    expect(JSON.parse(Attributes!.RedrivePolicy!)).toMatchObject({ deadLetterTargetArn: queues.deadLetterQueueArn });
  });

  test('puts exactly one message per event, with body, group, dedup id and attributes', async () => {
    const sent = Array.from({ length: 13 }, (_, i) =>
      queuedEvent({ eventId: `evt-${i}`, instanceId: i % 2 ? 'shop-a' : 'shop-b', objectId: `order-${i % 4}` }),
    );

    await new SqsEventQueue({ queueUrl: queues.queueUrl, client: sqs }).enqueue(sent);

    const messages = await drainQueue(sqs, queues.queueUrl);
    expect(messages).toHaveLength(13);
    const received = messages.map((m) => JSON.parse(m.Body!) as QueuedEvent);
    expect(received.map((e) => e.eventId).sort()).toEqual(sent.map((e) => e.eventId).sort());
    for (const message of messages) {
      const event = JSON.parse(message.Body!) as QueuedEvent;
      expect(event).toEqual(sent.find((e) => e.eventId === event.eventId));
      expect(message.Attributes?.MessageGroupId).toBe(messageGroupId(event));
      expect(message.Attributes?.MessageDeduplicationId).toBe(deduplicationId(event));
      expect(message.MessageAttributes?.eventId?.StringValue).toBe(event.eventId);
      expect(message.MessageAttributes?.instanceId?.StringValue).toBe(event.instanceId);
      expect(message.MessageAttributes?.ecwidEventType?.StringValue).toBe(event.ecwidEventType);
    }
    // Within a group (one object of one instance), the queue keeps the order of the events.
    for (const group of new Set(sent.map(messageGroupId))) {
      const inGroup = (events: QueuedEvent[]) => events.filter((e) => messageGroupId(e) === group).map((e) => e.eventId);
      expect(inGroup(received)).toEqual(inGroup(sent));
    }
  });

  test('a repeated event id (Ecwid retry) is dropped by the queue, across calls and within one batch', async () => {
    const queue = new SqsEventQueue({ queueUrl: queues.queueUrl, client: sqs });
    const first = queuedEvent({ eventId: 'retry-me', receivedAt: '2024-01-01T00:00:01.000Z' });
    const retry = { ...first, receivedAt: '2024-01-01T00:01:01.000Z' };
    const otherInstance = { ...first, instanceId: 'shop-other' };

    await queue.enqueue([first]);
    await queue.enqueue([retry, retry]);
    await queue.enqueue([otherInstance]);

    const messages = await drainQueue(sqs, queues.queueUrl);
    const bodies = messages.map((m) => JSON.parse(m.Body!) as QueuedEvent);
    expect(bodies.map((e) => `${e.instanceId}:${e.eventId}:${e.receivedAt}`).sort()).toEqual([
      'shop-a:retry-me:2024-01-01T00:00:01.000Z',
      'shop-other:retry-me:2024-01-01T00:00:01.000Z',
    ]);
  });

  test('an unreachable SQS endpoint makes enqueue throw', async () => {
    const { client, queueUrl } = await unreachableSqs();
    const error = await new SqsEventQueue({ queueUrl, client }).enqueue([queuedEvent()]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnqueueError);
    expect((error as Error).message).toMatch(/ECONNREFUSED|connect/i);
    client.destroy();
  });

  test('a queue that does not exist makes enqueue throw', async () => {
    const missing = queues.queueUrl.replace(/[^/]+$/, 'does-not-exist.fifo');
    await expect(new SqsEventQueue({ queueUrl: missing, client: sqs }).enqueue([queuedEvent()])).rejects.toThrow(EnqueueError);
  });
});
