import type { SQSEvent } from 'aws-lambda';
import type { CallbackRequest, CallbackResult, CallbackSender, EcwidApi } from '../../functions/core/ports';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { createDeliverHandler, toQueueMessage } from '../../functions/deliver/handler';
import type { HandlerMetrics } from '../../functions/adapters/aws/powertools';
import { instance, RecordingRetries, sqsRecord, webhookEvent } from '../core/deliver-support';
import { MemoryInstanceStore } from '../../testkit/ports';

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

function setup(sender: CallbackSender) {
  const retries = new RecordingRetries();
  const metrics = { addMetric: jest.fn(), publishStoredMetrics: jest.fn() };
  const deliver = createDeliverHandler({
    instances: new MemoryInstanceStore([instance({ [CONFIG_KEYS.callbackUrl]: 'https://8.8.8.8/hook' })]),
    retries,
    sender,
    ecwid: NO_ECWID,
    logger: silentLogger,
    metrics: metrics as unknown as HandlerMetrics,
  });
  return { deliver, retries, metrics };
}

const batch = (...records: ReturnType<typeof sqsRecord>[]): SQSEvent => ({ Records: records });

describe('deliver handler', () => {
  it('has a Lambda entry that imports without any environment and exports the production handler', () => {
    let entry: typeof import('../../functions/deliver/index') | undefined;
    jest.isolateModules(() => {
      entry = require('../../functions/deliver/index');
    });
    expect(typeof entry!.handler).toBe('function');
  });

  it('fails the rest of a group after a failed record, while other groups are delivered', async () => {
    const sender = new ScriptedSender(async (id) =>
      shortId(id) === 'A2' ? { ok: false, status: 500, error: 'callback answered HTTP 500' } : { ok: true, status: 200 },
    );
    const { deliver, retries } = setup(sender);

    const response = await deliver(
      batch(
        sqsRecord({ messageId: 'A1', groupId: 'A' }),
        sqsRecord({ messageId: 'B1', groupId: 'B' }),
        sqsRecord({ messageId: 'A2', groupId: 'A' }),
        sqsRecord({ messageId: 'B2', groupId: 'B' }),
        sqsRecord({ messageId: 'A3', groupId: 'A' }),
      ),
    );

    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['A2', 'A3']);
    expect(sender.started.map(shortId).sort()).toEqual(['A1', 'A2', 'B1', 'B2']);
    // Only the record that was attempted gets a backoff; A3 was never tried...
    expect(retries.retried).toEqual([{ messageId: 'A2', delaySeconds: 60 }]);
    // ...and is made visible again at once, to come back behind A2 rather than after the visibility timeout.
    expect(retries.released).toEqual(['A3']);
  });

  it('releases nothing when no record was skipped', async () => {
    const { deliver, retries } = setup(new ScriptedSender(async () => ({ ok: false, error: 'down' })));
    await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A' }), sqsRecord({ messageId: 'B1', groupId: 'B' })));
    expect(retries.released).toEqual([]);
  });

  it('still answers the batch when releasing the skipped records fails', async () => {
    const sender = new ScriptedSender(async () => ({ ok: false, status: 500, error: 'callback answered HTTP 500' }));
    const { deliver, retries } = setup(sender);
    retries.release = () => Promise.reject(new Error('SQS down'));
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
    const records = Array.from({ length: 10 }, (_, i) => sqsRecord({ messageId: `G${i}`, groupId: `group-${i}` }));

    const response = await deliver(batch(...records));

    expect(response.batchItemFailures).toEqual([]);
    timers.forEach(clearTimeout);
    expect(sender.maxInFlight).toBe(10);
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

  it('reports a dead-lettered record as handled, so the group goes on and SQS deletes it', async () => {
    const sender = new ScriptedSender(async (id) =>
      shortId(id) === 'A1' ? { ok: false, status: 500, error: 'callback answered HTTP 500' } : { ok: true, status: 200 },
    );
    const { deliver, retries } = setup(sender);

    const response = await deliver(
      batch(sqsRecord({ messageId: 'A1', groupId: 'A', receiveCount: 11 }), sqsRecord({ messageId: 'A2', groupId: 'A' })),
    );

    expect(response.batchItemFailures).toEqual([]);
    expect(retries.deadLettered.map((d) => d.message.messageId)).toEqual(['A1']);
    expect(retries.deadLettered[0].message).toMatchObject({ messageGroupId: 'A', messageDeduplicationId: 'dedup-A1' });
    expect(sender.started.map(shortId)).toEqual(['A1', 'A2']);
  });

  it('answers a batch where everything failed with every record listed, without throwing', async () => {
    const { deliver } = setup(new ScriptedSender(async () => ({ ok: false, error: 'callback timed out' })));
    const response = await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A' }), sqsRecord({ messageId: 'B1', groupId: 'B' })));
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['A1', 'B1']);
  });

  it('fails the record when the DLQ cannot take it (SQS keeps the message)', async () => {
    const sender = new ScriptedSender(async () => ({ ok: false, error: 'down' }));
    const { deliver, retries } = setup(sender);
    retries.deadLetter = () => Promise.reject(new Error('DLQ unavailable'));
    const response = await deliver(batch(sqsRecord({ messageId: 'A1', groupId: 'A', receiveCount: 11 })));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'A1' }]);
  });

  it('sends an unparseable record to the DLQ at once and reports it handled', async () => {
    const sender = new ScriptedSender(ok);
    const { deliver, retries } = setup(sender);
    const response = await deliver(batch(sqsRecord({ messageId: 'X1', groupId: 'X', body: '{"broken":' })));
    expect(response.batchItemFailures).toEqual([]);
    expect(retries.deadLettered[0].details.lastError).toBe('unparseable message: body is not JSON');
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

  it('treats a missing receive count as the first attempt', () => {
    const record = sqsRecord({ messageId: 'm-1', groupId: 'g-1' });
    const { ApproximateReceiveCount: _ignored, ...attributes } = record.attributes;
    expect(toQueueMessage({ ...record, attributes: attributes as typeof record.attributes }).receiveCount).toBe(1);
  });
});
