import { SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import { type QueuedEvent } from '../../functions/core/event';
import { deduplicationId, messageGroupId } from '../../functions/adapters/aws/sqs-ids';
import { createIngestHandler } from '../../functions/ingest/handler';
import type { HandlerLogger, HandlerMetrics } from '../../functions/adapters/aws/powertools';
import { instanceDocument } from '../../testkit/instances';
import { ionEvent, webhookEvent } from '../../testkit/events';
import { fixtureJson, fixtureText } from '../../testkit/fixtures';
import {
  closedPort,
  createFifoQueueWithDlq,
  deleteParametersByPath,
  deleteQueuePair,
  describeWithMoto,
  drainQueue,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoSqsClient,
  motoSsmClient,
  uniqueSsmPrefix,
  unreachableSqs,
  type FifoQueuePair,
} from '../support/moto';

/**
 * The ingest Lambda handler wired to real adapters on moto: API Gateway v2 events in, messages
 * on a real FIFO queue out, instance configuration from real SecureStrings.
 */
describeWithMoto('ingest handler with SSM and SQS on moto', () => {
  const APP_SECRET = 'app-client-secret-for-tests';
  const NOW = new Date('2024-05-06T16:28:10.000Z');
  const order = fixtureJson<{ eventId: string; eventCreated: number; eventType: string; storeId: number }>(
    'modern-order-created.json',
  );
  const storeId = String(order.storeId);

  let sqs: SQSClient;
  let ssm: SSMClient;
  let prefix: string;
  let queues: FifoQueuePair;
  let logLines: string[];

  const logger: HandlerLogger = {
    info: (...args: unknown[]) => void logLines.push(JSON.stringify(args)),
    warn: (...args: unknown[]) => void logLines.push(JSON.stringify(args)),
    error: (...args: unknown[]) => void logLines.push(JSON.stringify(args)),
  } as HandlerLogger;
  const metrics: HandlerMetrics = { addMetric: () => undefined, publishStoredMetrics: () => undefined } as unknown as HandlerMetrics;

  const handlerWith = (deps: { queueUrl?: string; sqsClient?: SQSClient; ssmClient?: SSMClient } = {}) =>
    createIngestHandler({
      instances: new SsmInstanceRepository({ prefix, client: deps.ssmClient ?? ssm }),
      queue: new SqsEventQueue({ queueUrl: deps.queueUrl ?? queues.queueUrl, client: deps.sqsClient ?? sqs }),
      clock: () => NOW,
      logger,
      metrics,
    });

  const bodies = async (): Promise<QueuedEvent[]> =>
    (await drainQueue(sqs, queues.queueUrl)).map((m) => JSON.parse(m.Body!) as QueuedEvent);

  beforeAll(async () => {
    sqs = motoSqsClient();
    ssm = motoSsmClient();
    prefix = uniqueSsmPrefix('ingest');
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    // Two instances of the fixture's store (fan-out), one of another store, one switched off.
    await registry.replace('shop-a', instanceDocument({ storeId, clientSecret: APP_SECRET, configuration: { 'ecwid.order.key': 'order-key-a' } }));
    await registry.replace('shop-b', instanceDocument({ storeId, clientSecret: APP_SECRET }));
    await registry.replace('elsewhere', instanceDocument({ storeId: '777', clientSecret: APP_SECRET }));
    await registry.replace('dormant', instanceDocument({ storeId: '888', clientSecret: APP_SECRET, enabled: 'false' }));
  });

  beforeEach(async () => {
    queues = await createFifoQueueWithDlq(sqs, 'ingest');
    logLines = [];
  });

  afterEach(async () => {
    await deleteQueuePair(sqs, queues);
  });

  afterAll(async () => {
    await deleteParametersByPath(ssm, prefix);
    sqs.destroy();
    ssm.destroy();
  });

  test('a signed webhook on the shared route puts exactly one message per instance of the store', async () => {
    const response = await handlerWith()(webhookEvent(order, APP_SECRET));

    expect(response.statusCode).toBe(200);
    const messages = await drainQueue(sqs, queues.queueUrl);
    expect(messages).toHaveLength(2);
    const events = messages.map((m) => JSON.parse(m.Body!) as QueuedEvent).sort((a, b) => a.instanceId.localeCompare(b.instanceId));
    expect(events.map((e) => e.instanceId)).toEqual(['shop-a', 'shop-b']);
    for (const event of events) {
      expect(event).toMatchObject({
        v: 1,
        eventId: order.eventId,
        storeId,
        source: 'webhook',
        ecwidEventType: 'order.created',
        objectType: 'orders',
        objectId: 'XJ12H',
        eventType: 'CREATED',
        verified: true,
        receivedAt: NOW.toISOString(),
        raw: order,
      });
    }
    for (const message of messages) {
      const event = JSON.parse(message.Body!) as QueuedEvent;
      expect(message.Attributes?.MessageGroupId).toBe(messageGroupId(event));
      expect(message.Attributes?.MessageDeduplicationId).toBe(deduplicationId(event));
    }
  });

  test("Ecwid's retry of the same event id is accepted (200) but deduplicated by the queue", async () => {
    const handler = handlerWith();
    const first = await handler(webhookEvent(order, APP_SECRET));
    const retry = await handler(webhookEvent(order, APP_SECRET));

    expect([first.statusCode, retry.statusCode]).toEqual([200, 200]);
    const events = await bodies();
    expect(events.map((e) => `${e.instanceId}:${e.eventId}`).sort()).toEqual([
      `shop-a:${order.eventId}`,
      `shop-b:${order.eventId}`,
    ]);
  });

  test('an ION post on an instance route puts one unverified message for that instance only', async () => {
    const fields = Object.fromEntries(new URLSearchParams(fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim()));
    const response = await handlerWith()(ionEvent({ ...fields, owner_id: storeId }, { instanceId: 'shop-a' }));

    expect(response.statusCode).toBe(200);
    const events = await bodies();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      instanceId: 'shop-a',
      storeId,
      source: 'ion',
      ecwidEventType: 'new_order',
      objectType: 'orders',
      objectId: fields.order_id,
      eventType: 'CREATED',
      verified: false,
    });
  });

  test('nothing is queued for a bad signature, an unknown store or a disabled instance; all answered 200 alike', async () => {
    const handler = handlerWith();
    const badSignature = await handler(webhookEvent(order, 'not-the-app-secret'));
    const unknownStore = await handler(webhookEvent({ ...order, storeId: 4242 }, APP_SECRET));
    const disabled = await handler(webhookEvent({ ...order, storeId: 888 }, APP_SECRET));

    expect([badSignature.statusCode, unknownStore.statusCode, disabled.statusCode]).toEqual([200, 200, 200]);
    // Ecwid must not retry them, and a caller learns nothing about which stores are customers.
    expect(new Set([badSignature.body, unknownStore.body, disabled.body]).size).toBe(1);
    await expect(bodies()).resolves.toEqual([]);
  });

  test('answers 503 when SQS is unreachable, so Ecwid retries', async () => {
    const { client, queueUrl } = await unreachableSqs();

    const response = await handlerWith({ queueUrl, sqsClient: client })(webhookEvent(order, APP_SECRET));

    expect(response.statusCode).toBe(503);
    await expect(bodies()).resolves.toEqual([]);
    client.destroy();
  });

  test('answers 503 when SSM is unreachable', async () => {
    const unreachableSsm = new SSMClient({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
      maxAttempts: 1,
    });

    const response = await handlerWith({ ssmClient: unreachableSsm })(webhookEvent(order, APP_SECRET));

    expect(response.statusCode).toBe(503);
    await expect(bodies()).resolves.toEqual([]);
    unreachableSsm.destroy();
  });

  test('no secret of the instance configuration reaches the logs or the answers', async () => {
    const handler = handlerWith();
    const answers = [
      await handler(webhookEvent(order, APP_SECRET)),
      await handler(webhookEvent(order, 'wrong')),
      await handler(ionEvent({ owner_id: storeId, event_type: 'new_order', order_id: '1' }, { instanceId: 'shop-a' })),
    ];
    const everything = JSON.stringify({ answers, logLines });
    for (const secret of [APP_SECRET, 'order-key-a', 'test-product-key']) expect(everything).not.toContain(secret);
    expect(logLines.length).toBeGreaterThan(0);
  });
});
