import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import { isFirstTicket } from '../../functions/adapters/aws/sqs-ids';
import type { QueuedEvent } from '../../functions/core/event';
import { DEFAULT_LEDGER_TIMING, type LedgerTiming } from '../../functions/core/ledger';
import { admit, handleTicket, type AttemptOutcome, type TicketInfo } from '../../functions/core/ledger-flow';
import type { RetryPolicy } from '../../functions/core/retry-policy';
import { queuedEventFor } from '../support/ledger-contract';
import { createFifoQueueWithDlq, deleteQueuePair, describeWithMoto, motoDynamoDbClient, motoSqsClient, uniqueName, type FifoQueuePair } from '../support/moto';

/**
 * The unclaimed first attempt against real SQS semantics (moto): the receive count and the first
 * receive time SQS reports are what tells deliver whether an earlier receive of the first ticket
 * may have made an attempt that left no trace in the ledger.
 */
describeWithMoto('unclaimed first attempt on moto (SQS FIFO receive counts + DynamoDB)', () => {
  const POLICY: RetryPolicy = { scheduleSeconds: [60], maxAttempts: 3 };
  // A lease of 2 s stands for deliver's 240 s: a receive cut short comes back only after the
  // visibility timeout (4 s here), longer than the lease; a released one comes back at once.
  const TIMING: LedgerTiming = { ...DEFAULT_LEDGER_TIMING, claimLeaseSeconds: 2 };
  const up: AttemptOutcome = { kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 5 } };

  let sqs: SQSClient;
  let dynamodb: DynamoDBClient;
  let pair: FifoQueuePair;
  let tableName: string;
  let ledger: DynamoDbLedger;
  let event: QueuedEvent;

  beforeAll(() => {
    sqs = motoSqsClient();
    dynamodb = motoDynamoDbClient();
  });
  beforeEach(async () => {
    pair = await createFifoQueueWithDlq(sqs, 'first-attempt', { visibilityTimeoutSeconds: 4, maxReceiveCount: 5 });
    tableName = uniqueName('first-attempt');
    await ensureLedgerTable(dynamodb, tableName);
    ledger = new DynamoDbLedger({ tableName, client: dynamodb });
    event = queuedEventFor({ eventId: `evt-${Date.now()}`, receivedAt: new Date().toISOString() });
    await admit([event], { ledger, tickets: new SqsEventQueue({ queueUrl: pair.queueUrl, client: sqs }), clock: () => new Date(), timing: TIMING });
  });
  afterEach(async () => {
    await deleteQueuePair(sqs, pair);
    await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  });
  afterAll(() => {
    sqs.destroy();
    dynamodb.destroy();
  });

  /** Receives the ticket (waiting until it is visible) and reads what deliver's handler reads of it. */
  async function receive(): Promise<{ message: Message; ticket: TicketInfo }> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { Messages } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: pair.queueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }),
      );
      const message = Messages?.[0];
      if (message) {
        const attributes = message.Attributes ?? {};
        return {
          message,
          ticket: {
            firstTicket: isFirstTicket(attributes.MessageDeduplicationId, event),
            receiveCount: Number(attributes.ApproximateReceiveCount),
            firstReceivedAt: new Date(Number(attributes.ApproximateFirstReceiveTimestamp)).toISOString(),
          },
        };
      }
      if (Date.now() > deadline) throw new Error('the ticket did not come back');
    }
  }

  const deliver = (ticket: TicketInfo, attempt: () => Promise<AttemptOutcome>) =>
    handleTicket(event, { ledger, tickets: { send: async () => undefined }, clock: () => new Date(), timing: TIMING, retryPolicy: POLICY, attempt, deadLetter: async () => undefined }, ticket);

  test('a receive cut short mid-attempt: the ticket comes back after the visibility timeout and the lost attempt is counted', async () => {
    const first = await receive();
    expect(first.ticket).toMatchObject({ firstTicket: true, receiveCount: 1 });
    // The attempt starts and the function dies: nothing is written, the message is not deleted.
    await expect(deliver(first.ticket, async () => Promise.reject(new Error('Task timed out')))).rejects.toThrow('Task timed out');
    expect(await ledger.get(event.instanceId, event.eventId)).toMatchObject({ status: 'received', attemptCount: 0 });

    const again = await receive();
    expect(again.ticket).toMatchObject({ firstTicket: true, receiveCount: 2 });
    const outcome = await deliver(again.ticket, async () => up);
    expect(outcome.kind).toBe('delivered');
    await sqs.send(new DeleteMessageCommand({ QueueUrl: pair.queueUrl, ReceiptHandle: again.message.ReceiptHandle! }));
    const entry = await ledger.get(event.instanceId, event.eventId);
    expect(entry?.attempts.map((a) => [a.n, a.outcome])).toEqual([
      [1, 'interrupted'],
      [2, 'delivered'],
    ]);
    expect(entry?.attempts[0].at).toBe(first.ticket.firstReceivedAt);
  });

  test('a receive released unstarted (visible again at once): no attempt is counted, the next receive attempts unclaimed', async () => {
    const first = await receive();
    // Deliver's time budget did not start it: released for the next receive.
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: pair.queueUrl, ReceiptHandle: first.message.ReceiptHandle!, VisibilityTimeout: 0 }));
    const again = await receive();
    expect(again.ticket).toMatchObject({ firstTicket: true, receiveCount: 2 });
    const outcome = await deliver({ ...again.ticket }, async () => up);
    expect(outcome.kind).toBe('delivered');
    const entry = await ledger.get(event.instanceId, event.eventId);
    expect(entry).toMatchObject({ status: 'delivered', attemptCount: 1, version: 2 });
    expect(entry?.attempts.map((a) => a.outcome)).toEqual(['delivered']);
  });
});
