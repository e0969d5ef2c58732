import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { HandlerLogger, HandlerMetrics } from '../../functions/adapters/aws/powertools';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import { SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import type { QueuedEvent } from '../../functions/core/event';
import { claim, finishAttempt, type Ledger } from '../../functions/core/ledger';
import { DEFAULT_RETRY_POLICY } from '../../functions/core/retry-policy';
import type { EventQueue } from '../../functions/core/ports';
import { createIngestHandler } from '../../functions/ingest/handler';
import { webhookEvent } from '../../testkit/events';
import { fixtureJson } from '../../testkit/fixtures';
import { instanceDocument } from '../../testkit/instances';
import {
  createFifoQueueWithDlq,
  deleteParametersByPath,
  deleteQueuePair,
  describeWithMoto,
  drainQueue,
  motoDynamoDbClient,
  motoSqsClient,
  motoSsmClient,
  uniqueName,
  uniqueSsmPrefix,
  type FifoQueuePair,
} from '../support/moto';

/**
 * The ingest handler with the event ledger on moto's DynamoDB, the queue on moto's SQS and the
 * instances in moto's SSM: the durable dedupe past the FIFO queue's 5-minute window, and a
 * half-done fan-out resumed on Ecwid's retry.
 */
describeWithMoto('ingest with the ledger on moto (DynamoDB + SQS + SSM)', () => {
  const APP_SECRET = 'app-client-secret-for-ledger-tests';
  const T0 = new Date('2024-05-06T16:28:10.000Z');
  const order = fixtureJson<{ eventId: string; storeId: number }>('modern-order-created.json');
  const storeId = String(order.storeId);

  let sqs: SQSClient;
  let ssm: SSMClient;
  let dynamodb: DynamoDBClient;
  let prefix: string;
  let tableName: string;
  let now: Date;
  let logLines: string[];
  const queuePairs: FifoQueuePair[] = [];

  const logger = {
    debug: () => undefined,
    info: (...args: unknown[]) => void logLines.push(JSON.stringify(args)),
    warn: (...args: unknown[]) => void logLines.push(JSON.stringify(args)),
    error: (...args: unknown[]) => void logLines.push(JSON.stringify(args)),
  } as unknown as HandlerLogger;
  const metrics = { addMetric: () => undefined, publishStoredMetrics: () => undefined } as unknown as HandlerMetrics;

  const newQueues = async (label: string): Promise<FifoQueuePair> => {
    const pair = await createFifoQueueWithDlq(sqs, label);
    queuePairs.push(pair);
    return pair;
  };
  const ledgerOn = (table: string): DynamoDbLedger => new DynamoDbLedger({ tableName: table, client: dynamodb, clock: () => now });
  /** An ingest function as a cold start builds it: its own clients, the shared table and queue. */
  const handlerWith = (deps: { queue: EventQueue; ledger?: Ledger }) =>
    createIngestHandler({
      instances: new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 }),
      queue: deps.queue,
      ledger: deps.ledger ?? ledgerOn(tableName),
      clock: () => now,
      logger,
      metrics,
    });
  const sqsQueue = (pair: FifoQueuePair) => new SqsEventQueue({ queueUrl: pair.queueUrl, client: sqs });
  const bodiesOn = async (pair: FifoQueuePair): Promise<QueuedEvent[]> =>
    (await drainQueue(sqs, pair.queueUrl)).map((message) => JSON.parse(message.Body!) as QueuedEvent);
  const instanceIds = (events: readonly QueuedEvent[]) => events.map((event) => event.instanceId).sort();
  /** What deliver writes for a first attempt delivered without a claim: one write, the outcome. */
  const delivered = async (instanceId: string): Promise<void> => {
    const ledger = ledgerOn(tableName);
    const read = (await ledger.get(instanceId, order.eventId))!;
    const next = finishAttempt(claim(read, now), { ok: true, httpStatus: 200, durationMs: 5 }, now, DEFAULT_RETRY_POLICY);
    expect(await ledger.update({ ...next, version: read.version + 1 })).toBe(true);
  };

  beforeAll(async () => {
    sqs = motoSqsClient();
    ssm = motoSsmClient();
    dynamodb = motoDynamoDbClient();
    prefix = uniqueSsmPrefix('ingest-ledger');
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    await registry.replace('shop-a', instanceDocument({ storeId, clientSecret: APP_SECRET }));
    await registry.replace('shop-b', instanceDocument({ storeId, clientSecret: APP_SECRET }));
  });

  beforeEach(async () => {
    now = T0;
    logLines = [];
    tableName = uniqueName('ingest-ledger');
    await ensureLedgerTable(dynamodb, tableName);
  });

  afterEach(async () => {
    await dynamodb.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
  });

  afterAll(async () => {
    await Promise.all(queuePairs.map((pair) => deleteQueuePair(sqs, pair)));
    await deleteParametersByPath(ssm, prefix);
    sqs.destroy();
    ssm.destroy();
    dynamodb.destroy();
  });

  test("a repeat 45 minutes later, after a restart with a fresh queue (no FIFO window to catch it): 200 duplicate, nothing queued", async () => {
    const before = await newQueues('dup-before');
    const first = await handlerWith({ queue: sqsQueue(before) })(webhookEvent(order, APP_SECRET));
    expect(first.statusCode).toBe(200);
    expect(instanceIds(await bodiesOn(before))).toEqual(['shop-a', 'shop-b']);
    now = new Date(T0.getTime() + 60_000);
    await delivered('shop-a');
    await delivered('shop-b');

    // A new cold start with new queues (as the local runner restarted gets): only the ledger remembers.
    now = new Date(T0.getTime() + 45 * 60_000);
    const after = await newQueues('dup-after');
    const repeat = await handlerWith({ queue: sqsQueue(after) })(webhookEvent(order, APP_SECRET));

    expect(repeat.statusCode).toBe(200);
    expect(JSON.parse(repeat.body!)).toEqual({
      queued: 0,
      eventId: order.eventId,
      duplicates: 2,
      duplicate: true,
      message: 'duplicate: this event was already received; not queued again',
    });
    expect(await bodiesOn(after)).toEqual([]);
    expect(logLines.filter((line) => line.includes('duplicate: this event was already received for this instance'))).toHaveLength(2);
    const ledger = ledgerOn(tableName);
    for (const instanceId of ['shop-a', 'shop-b']) {
      expect(await ledger.get(instanceId, order.eventId)).toMatchObject({ status: 'delivered', receivedAt: T0.toISOString(), version: 2 });
    }
  });

  test('the same repeat with an empty ledger would be queued again (what the ledger prevents)', async () => {
    const pair = await newQueues('dup-control');
    now = new Date(T0.getTime() + 45 * 60_000);
    const response = await handlerWith({ queue: sqsQueue(pair) })(webhookEvent(order, APP_SECRET));
    expect(response.statusCode).toBe(200);
    expect(instanceIds(await bodiesOn(pair))).toEqual(['shop-a', 'shop-b']);
  });

  test('SQS took shop-a then failed for shop-b: 503; the retry queues both entries it never confirmed, each once on the queue', async () => {
    const pair = await newQueues('half-sqs');
    const real = sqsQueue(pair);
    const failsForB: EventQueue = {
      async enqueue(events) {
        await real.enqueue(events.filter((event) => event.instanceId !== 'shop-b'));
        throw new Error('SendMessageBatch failed for shop-b (ServiceUnavailable)');
      },
    };
    const failed = await handlerWith({ queue: failsForB })(webhookEvent(order, APP_SECRET));
    expect(failed.statusCode).toBe(503);
    const ledger = ledgerOn(tableName);
    expect((await ledger.get('shop-b', order.eventId))?.status).toBe('received');

    now = new Date(T0.getTime() + 15 * 60_000);
    const retry = await handlerWith({ queue: real })(webhookEvent(order, APP_SECRET));

    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body!)).toMatchObject({ queued: 2 });
    // shop-a's second send carries the same deduplication id: the real FIFO queue keeps one.
    const events = await bodiesOn(pair);
    expect(instanceIds(events)).toEqual(['shop-a', 'shop-b']);
    // Queued as first recorded: the retry's own receive time changes nothing.
    expect(events.every((event) => event.receivedAt === T0.toISOString())).toBe(true);
    // Ingest wrote once per event: `received` until deliver takes it.
    for (const instanceId of ['shop-a', 'shop-b']) expect(await ledger.get(instanceId, order.eventId)).toMatchObject({ status: 'received', version: 1 });
  });

  test('shop-a delivered, shop-b recorded but its ticket never sent: after a restart the retry queues only shop-b', async () => {
    const real = ledgerOn(tableName);
    const down: EventQueue = { enqueue: () => Promise.reject(new Error('Task timed out')) };
    expect((await handlerWith({ queue: down })(webhookEvent(order, APP_SECRET))).statusCode).toBe(503);
    // shop-a's event reached deliver meanwhile (the sweep sent its ticket) and was delivered.
    now = new Date(T0.getTime() + 15 * 60_000);
    await delivered('shop-a');
    expect((await real.get('shop-b', order.eventId))?.status).toBe('received');

    const after = await newQueues('half-after');
    const retry = await handlerWith({ queue: sqsQueue(after) })(webhookEvent(order, APP_SECRET));

    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body!)).toEqual({ queued: 1, eventId: order.eventId, duplicates: 1 });
    expect(instanceIds(await bodiesOn(after))).toEqual(['shop-b']);
    expect(logLines.some((line) => line.includes('resumed: queued now') && line.includes('"instanceId":"shop-b"'))).toBe(true);
  });
});
