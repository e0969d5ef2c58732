import { SendMessageBatchCommand, SQSClient, type SendMessageBatchCommandInput } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { queuedEventBody, SqsEventQueue } from '../../../functions/adapters/aws/sqs-event-queue';
import { deduplicationId, messageGroupId } from '../../../functions/adapters/aws/sqs-ids';
import { firstTicketId, laterTicketId } from '../../../functions/core/ledger-flow';
import { queuedEvent } from '../../../testkit/events';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/ecwid-events.fifo';
const sqs = mockClient(SQSClient);
const entries = (): NonNullable<SendMessageBatchCommandInput['Entries']> =>
  sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries ?? []);

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
    Successful: (input.Entries ?? []).map((e) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: 'x' })),
    Failed: [],
  }));
});

test('ledger tickets: the event as body and group; the first ticket dedupes like enqueue, later ones by ledger version', async () => {
  const event = queuedEvent({ eventId: 'abc', instanceId: 'shop-a' });
  const queue = new SqsEventQueue({ queueUrl: QUEUE_URL, client: new SQSClient({ region: 'us-east-1' }) });
  await queue.send([
    { event, ticketId: firstTicketId(event) },
    { event, ticketId: laterTicketId({ ...event, version: 7 }) },
  ]);
  const [first, later] = entries();
  expect(first).toMatchObject({ MessageBody: queuedEventBody(event), MessageGroupId: messageGroupId(event), MessageDeduplicationId: deduplicationId(event) });
  expect(later).toMatchObject({ MessageBody: queuedEventBody(event), MessageGroupId: messageGroupId(event), MessageDeduplicationId: 'shop-a:abc:v7' });
  await queue.send([]);
  expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
});
