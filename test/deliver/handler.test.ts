import type { Context, SQSEvent } from 'aws-lambda';
import type { CallbackRequest, CallbackResult, CallbackSender, EcwidApi } from '../../functions/core/ports';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { createDeliverHandler, deliverRecordWorstCaseMs, toQueueMessage } from '../../functions/deliver/handler';
import { deduplicationId, sqsSafeId } from '../../functions/adapters/aws/sqs-ids';
import { laterTicketId } from '../../functions/core/ledger-flow';
import type { HandlerMetrics } from '../../functions/adapters/aws/powertools';
import { instance, sqsRecord, webhookEvent } from '../core/deliver-support';
import { MemoryInstanceStore } from '../../testkit/ports';
import { MemoryDeadLetterQueue, MemoryLedger, MemoryTicketQueue } from '../../testkit/ledger';
import type { QueueMessage } from '../../functions/core/ports';
import { DEFAULT_RETRY_POLICY } from '../../functions/core/retry-policy';

/** The DLQ fake, plus the release of skipped records (what SqsDeadLetterQueue also does). */
class ReleasingDeadLetters extends MemoryDeadLetterQueue {
  readonly released: string[] = [];
  releaseFailure?: Error;
  async release(messages: readonly QueueMessage[]): Promise<void> {
    if (this.releaseFailure) throw this.releaseFailure;
    this.released.push(...messages.map((message) => message.messageId));
  }
}

const NO_ECWID: EcwidApi = {
  getLegacyOrder: () => Promise.reject(new Error('unexpected')),
  getLegacyProduct: () => Promise.reject(new Error('unexpected')),
  getEntity: () => Promise.reject(new Error('unexpected')),
};

const silentLogger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };

/** A sender whose answers the test controls; records the order of calls and the concurrency. */
class ScriptedSender implements CallbackSender {
  readonly started: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly answer: (deliveryId: string) => Promise<CallbackResult>) {}
  async send(request: CallbackRequest): Promise<CallbackResult> {
    const id = request.headers['Elements-Webhook-Id'];
    this.started.push(id);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.answer(id);
    } finally {
      this.inFlight--;
    }
  }
}

const ok = async (): Promise<CallbackResult> => ({ ok: true, status: 200 });
const shortId = (deliveryId: string): string => deliveryId.replace(/^shop-a:/, '');

function setup(sender: CallbackSender, options: { clock?: () => Date; recordWorstCaseMs?: number } = {}) {
  const ledger = new MemoryLedger();
  const tickets = new MemoryTicketQueue();
  const deadLetters = new ReleasingDeadLetters();
  const metrics = { addMetric: jest.fn(), publishStoredMetrics: jest.fn() };
  const deliver = createDeliverHandler({
    instances: new MemoryInstanceStore([instance({ [CONFIG_KEYS.callbackUrl]: 'https://8.8.8.8/hook' })]),
    ledger,
    tickets,
    deadLetters,
    sender,
    ecwid: NO_ECWID,
    logger: silentLogger,
    metrics: metrics as unknown as HandlerMetrics,
    ...options,
  });
  return { deliver, ledger, tickets, deadLetters, metrics };
}

/** A Lambda context with this much time left at the (test) clock's `now()`. */
const contextWith = (now: () => number, remainingMs: number): Context => {
  const deadline = now() + remainingMs;
  return { awsRequestId: 'request-1', getRemainingTimeInMillis: () => deadline - now() } as unknown as Context;
};

const batch = (...records: ReturnType<typeof sqsRecord>[]): SQSEvent => ({ Records: records });

describe('deliver handler', () => {
  it('has a Lambda entry whose cold start fails naming LEDGER_TABLE_NAME when the stack did not set it', () => {
    const saved = { ...process.env };
    delete process.env.LEDGER_TABLE_NAME;
    try {
      jest.isolateModules(() => {
        expect(() => require('../../functions/deliver/index')).toThrow('environment variable LEDGER_TABLE_NAME is not set');
      });
    } finally {
      process.env = saved;
    }
  });

  it('a failed delivery is an outcome: the ticket is done (deleted), the ledger holds the retry; later records of the group go on', async () => {
    const sender = new ScriptedSender(async (id) =>
      shortId(id) === 'A2' ? { ok: false, status: 500, error: 'callback answered HTTP 500' } : { ok: true, status: 200 },
    );
    const { deliver, ledger, deadLetters } = setup(sender);
    const recordOf = (id: string, group: string, at: number) =>
      sqsRecord({ messageId: id, groupId: group, body: JSON.stringify(webhookEvent({ eventId: id, objectId: `object-${group}`, receivedAt: new Date(at).toISOString() })) });

    const response = await deliver(batch(recordOf('A1', 'A', 1), recordOf('B1', 'B', 2), recordOf('A2', 'A', 3), recordOf('B2', 'B', 4), recordOf('A3', 'A', 5)));

    expect(response.batchItemFailures).toEqual([]);
    // A3 is not attempted while A2 (earlier, same object) waits for its retry: it is parked in the ledger.
    expect(sender.started.map(shortId).sort()).toEqual(['A1', 'A2', 'B1', 'B2']);
    expect((await ledger.get('shop-a', 'A2'))?.status).toBe('retrying');
    expect(await ledger.get('shop-a', 'A3')).toMatchObject({ status: 'queued', blockedBy: 'A2' });
    expect(deadLetters.released).toEqual([]);
  });

  it('fails a record only when the ledger cannot be written, and releases the records of its group it skipped', async () => {
    const { deliver, ledger, deadLetters } = setup(new ScriptedSender(ok));
    ledger.failure = new Error('DynamoDB unavailable');
    const response = await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A' }), sqsRecord({ messageId: 'A2', groupId: 'A' })));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['A1', 'A2']);
    expect(deadLetters.released).toEqual(['A2']);
  });

  it('still answers the batch when releasing the skipped records fails', async () => {
    const { deliver, ledger, deadLetters } = setup(new ScriptedSender(ok));
    ledger.failure = new Error('DynamoDB unavailable');
    deadLetters.releaseFailure = new Error('SQS down');
    const response = await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A' }), sqsRecord({ messageId: 'A2', groupId: 'A' })));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['A1', 'A2']);
  });

  it('delivers different groups in parallel', async () => {
    // Every callback waits until all ten have started (or 2 s pass, so a sequential
    // implementation fails the assertion instead of hanging).
    let release: () => void = () => undefined;
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const timers: NodeJS.Timeout[] = [];
    const sender = new ScriptedSender(async () => {
      if (sender.started.length === 10) release();
      await Promise.race([allStarted, new Promise((resolve) => timers.push(setTimeout(resolve, 2000)))]);
      return { ok: true, status: 200 };
    });
    const { deliver } = setup(sender);
    const records = Array.from({ length: 10 }, (_, i) =>
      sqsRecord({ messageId: `G${i}`, groupId: `group-${i}`, body: JSON.stringify(webhookEvent({ eventId: `G${i}`, objectId: `object-${i}` })) }),
    );

    const response = await deliver(batch(...records));

    expect(response.batchItemFailures).toEqual([]);
    timers.forEach(clearTimeout);
    expect(sender.maxInFlight).toBe(10);
  });

  describe('time budget (getRemainingTimeInMillis)', () => {
    it('starts no record when the worst case of one no longer fits: every record comes back whole, the ledger untouched', async () => {
      const sender = new ScriptedSender(ok);
      const { deliver, ledger, deadLetters, metrics } = setup(sender, { recordWorstCaseMs: 29_000 });
      const records = ['A1', 'A2', 'B1'].map((id) => sqsRecord({ messageId: id, groupId: id[0] }));

      const response = await deliver(batch(...records), contextWith(Date.now, 25_000));

      expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['A1', 'A2', 'B1']);
      expect(sender.started).toEqual([]);
      for (const id of ['A1', 'A2', 'B1']) expect(await ledger.get('shop-a', id)).toBeUndefined();
      // Made visible again at once, for an invocation with time to deliver them.
      expect([...deadLetters.released].sort()).toEqual(['A1', 'A2', 'B1']);
      expect(metrics.addMetric).toHaveBeenCalledWith('RecordsNotStartedInTime', 'Count', 3);
    });

    it('a slow group stops starting records once the worst case would run past the timeout; other groups and started records finish', async () => {
      // Each callback takes 10 s of the (fake) clock; the worst case of a record is 20 s.
      let nowMs = Date.parse('2024-03-01T12:00:00.000Z');
      const sender = new ScriptedSender(async () => {
        nowMs += 10_000;
        return { ok: true, status: 200 };
      });
      const { deliver, ledger, deadLetters } = setup(sender, { clock: () => new Date(nowMs), recordWorstCaseMs: 20_000 });
      const recordOf = (id: string) =>
        sqsRecord({ messageId: id, groupId: id[0], body: JSON.stringify(webhookEvent({ eventId: id, objectId: `object-${id[0]}` })) });

      // 45 s left, less the 1 s reserve: A1 and B1 start at 0 s (their callbacks move the shared
      // clock to 20 s), A2 at 20 s (done by 40 s at worst), A3 would start at 30 s: 50 s at worst, too late.
      const response = await deliver(batch(recordOf('A1'), recordOf('A2'), recordOf('A3'), recordOf('B1')), contextWith(() => nowMs, 45_000));

      expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['A3']);
      expect(sender.started.map(shortId).sort()).toEqual(['A1', 'A2', 'B1']);
      expect((await ledger.get('shop-a', 'A2'))?.status).toBe('delivered');
      // No attempt spent on A3: the queue sends it again, and the ledger has not seen it.
      expect(await ledger.get('shop-a', 'A3')).toBeUndefined();
      expect(deadLetters.released).toEqual(['A3']);
    });

    it('counts the Ecwid read as well as the callback: the default worst case is a slot wait, the API budget wait and timeout, the callback timeout and the bookkeeping', () => {
      expect(deliverRecordWorstCaseMs(10_000)).toBe(2_000 + (2_000 + 10_000) + 10_000 + 5_000);
      expect(deliverRecordWorstCaseMs(3_000)).toBe(deliverRecordWorstCaseMs(10_000) - 7_000);
    });
  });

  it('delivers the records of one group one at a time, in order', async () => {
    const sender = new ScriptedSender(async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { ok: true, status: 200 };
    });
    const { deliver } = setup(sender);

    const response = await deliver(batch(...['A1', 'A2', 'A3'].map((id) => sqsRecord({ messageId: id, groupId: 'A' }))));

    expect(response.batchItemFailures).toEqual([]);
    expect(sender.started.map(shortId)).toEqual(['A1', 'A2', 'A3']);
    expect(sender.maxInFlight).toBe(1);
  });

  it('reports a dead-lettered record as handled, so SQS deletes it; the object\'s next event is woken with a ticket', async () => {
    const sender = new ScriptedSender(async (id) =>
      shortId(id) === 'A1' ? { ok: false, status: 500, error: 'callback answered HTTP 500' } : { ok: true, status: 200 },
    );
    const { deliver, ledger, tickets, deadLetters } = setup(sender);
    // A1 has used all but one of its attempts (counted in the ledger; its receive count says 1).
    await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A' })));
    const a1 = (await ledger.get('shop-a', 'A1'))!;
    await ledger.update({ ...a1, attemptCount: DEFAULT_RETRY_POLICY.maxAttempts - 1, nextAttemptAt: a1.statusAt, dueAt: a1.statusAt, version: a1.version + 1 });
    const a2 = sqsRecord({ messageId: 'A2', groupId: 'A', body: JSON.stringify(webhookEvent({ eventId: 'A2', receivedAt: '2024-03-01T12:00:09.000Z' })) });
    expect((await deliver(batch(a2))).batchItemFailures).toEqual([]);
    expect((await ledger.get('shop-a', 'A2'))?.status).toBe('queued');

    const response = await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A', receiveCount: 1 })));

    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.entries.map((e) => [e.eventId, e.status, e.attemptCount])).toEqual([['A1', 'dead-lettered', 11]]);
    expect(tickets.sent.map((t) => t.event.eventId)).toEqual(['A2']);
    expect(sender.started.map(shortId)).toEqual(['A1', 'A1']);
  });

  it('fails the record when the DLQ cannot take it (SQS keeps the message)', async () => {
    const sender = new ScriptedSender(async () => ({ ok: false, error: 'down' }));
    const { deliver, deadLetters } = setup(sender);
    deadLetters.failure = new Error('DLQ unavailable');
    const response = await deliver(batch(sqsRecord({ messageId: 'X1', groupId: 'X', body: '{"broken":' })));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'X1' }]);
  });

  it('sends an unparseable record to the DLQ at once and reports it handled', async () => {
    const sender = new ScriptedSender(ok);
    const { deliver, deadLetters } = setup(sender);
    const response = await deliver(batch(sqsRecord({ messageId: 'X1', groupId: 'X', body: '{"broken":' })));
    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.messages[0].details.lastError).toBe('unparseable message: body is not JSON');
    expect(sender.started).toEqual([]);
  });

  it('publishes the metrics of the invocation', async () => {
    const { deliver, metrics } = setup(new ScriptedSender(ok));
    await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A' })));
    expect(metrics.addMetric).toHaveBeenCalledWith('DeliverySucceeded', 'Count', 1);
    expect(metrics.addMetric).toHaveBeenCalledWith('DeliveryLatency', 'Milliseconds', expect.any(Number));
    expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
  });
});

describe('toQueueMessage', () => {
  it('maps the SQS record attributes', () => {
    const record = sqsRecord({ messageId: 'm-1', groupId: 'g-1', receiveCount: 3, body: JSON.stringify(webhookEvent()) });
    expect(toQueueMessage(record)).toEqual({
      messageId: 'm-1',
      receiptHandle: 'receipt-m-1',
      body: record.body,
      receiveCount: 3,
      firstReceivedAt: '2024-03-01T12:00:01.000Z',
      messageGroupId: 'g-1',
      messageDeduplicationId: 'dedup-m-1',
      queueArn: 'arn:aws:sqs:eu-west-1:123456789012:events.fifo',
    });
  });

  it('reads the ledger version of a replayed dead letter', () => {
    const record = sqsRecord({ messageId: 'm-1', groupId: 'g-1' });
    const replay = { ...record, messageAttributes: { ledgerVersion: { dataType: 'Number', stringValue: '7', stringListValues: [], binaryListValues: [] } } };
    expect(toQueueMessage(replay).deadLetteredVersion).toBe(7);
    expect(toQueueMessage(record).deadLetteredVersion).toBeUndefined();
  });

  it("marks the event's first ticket (deduplicated on the event's own id), not a later ledger ticket or a foreign message", () => {
    const event = webhookEvent();
    const body = JSON.stringify(event);
    const first = sqsRecord({ messageId: 'm-1', groupId: 'g-1', body, deduplicationId: deduplicationId(event) });
    expect(toQueueMessage(first).firstTicket).toBe(true);
    const later = sqsRecord({ messageId: 'm-2', groupId: 'g-1', body, deduplicationId: sqsSafeId(laterTicketId({ ...event, version: 3 })) });
    expect(toQueueMessage(later).firstTicket).toBeUndefined();
    expect(toQueueMessage(sqsRecord({ messageId: 'm-3', groupId: 'g-1', body: 'not json', deduplicationId: deduplicationId(event) })).firstTicket).toBeUndefined();
  });

  it('treats a missing receive count as the first attempt', () => {
    const record = sqsRecord({ messageId: 'm-1', groupId: 'g-1' });
    const { ApproximateReceiveCount: _ignored, ...attributes } = record.attributes;
    expect(toQueueMessage({ ...record, attributes: attributes as typeof record.attributes }).receiveCount).toBe(1);
  });
});
