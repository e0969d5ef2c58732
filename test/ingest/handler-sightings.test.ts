/**
 * The ingest handler and webhook sightings: the factory hands its `sightings` to the core, and the
 * production module sends them to SIGHTINGS_QUEUE_URL (when set) for reconciling instances only,
 * after the event's own SendMessageBatch.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { ENV, INGEST_METRICS, ssmInstanceName, ssmStoreIndexName } from '../../functions/contract';
import { CONFIG_KEYS, type Instance } from '../../functions/core/instance';
import { InMemorySightings } from '../../functions/core/sightings';
import { createIngestHandler, type IngestHandler } from '../../functions/ingest/handler';
import type { HandlerMetrics } from '../../functions/adapters/aws/powertools';
import { fixedClock, makeInstance, SECRET_A } from '../core/ingest-fakes';
import { MemoryEventQueue, MemoryInstanceStore } from '../../testkit/ports';
import { webhookBody, webhookEvent } from '../../testkit/events';

const PREFIX = '/ecwid-events-sightings-test';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo';
const SIGHTINGS_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sightings';

const reconciling = (id: string, storeId = '1003'): Instance =>
  makeInstance(id, {
    storeId,
    clientSecret: SECRET_A,
    extra: { [CONFIG_KEYS.pollerReconcile]: 'true', [CONFIG_KEYS.accessToken]: 'secret_token-value' },
  });
const webhookOnly = (id: string, storeId: string): Instance => makeInstance(id, { storeId, clientSecret: SECRET_A });

/** Created now: the production wiring refuses webhooks older than its window (48 h). */
const CREATED = Math.floor(Date.now() / 1000);
const webhookFor = (storeId: number): APIGatewayProxyEventV2 =>
  webhookEvent(webhookBody({ storeId, eventCreated: CREATED }), SECRET_A, { requestId: 'req-sightings' });

class RecordingMetrics implements HandlerMetrics {
  readonly added: Array<{ name: string; value: number }> = [];
  addMetric(name: string, _unit: unknown, value: number): void {
    this.added.push({ name, value });
  }
  publishStoredMetrics(): void {}
  total(name: string): number {
    return this.added.filter((metric) => metric.name === name).reduce((sum, metric) => sum + metric.value, 0);
  }
}

describe('createIngestHandler: sightings', () => {
  it('records the webhook of a reconciling instance in the given log', async () => {
    const sightings = new InMemorySightings();
    const handler = createIngestHandler({
      instances: new MemoryInstanceStore([reconciling('shop-r')]),
      queue: new MemoryEventQueue(),
      sightings,
      clock: fixedClock,
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
      metrics: new RecordingMetrics(),
    });
    expect((await handler(webhookFor(1003))).statusCode).toBe(200);
    expect(await sightings.receive()).toEqual([expect.objectContaining({ instanceId: 'shop-r', objectType: 'orders', objectId: 'B8HGD' })]);
  });

  it('answers 200 when recording fails, with a warning and a metric', async () => {
    const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const metrics = new RecordingMetrics();
    const queue = new MemoryEventQueue();
    const handler = createIngestHandler({
      instances: new MemoryInstanceStore([reconciling('shop-r')]),
      queue,
      sightings: { record: () => Promise.reject(new Error('AccessDenied')) },
      clock: fixedClock,
      logger,
      metrics,
    });
    const response = await handler(webhookFor(1003));
    expect(response.statusCode).toBe(200);
    expect(queue.events).toHaveLength(1);
    expect(metrics.total(INGEST_METRICS.sightingsNotRecorded)).toBe(1);
    expect(logger.warn).toHaveBeenCalledWith(
      expect.stringContaining('sighting not recorded'),
      expect.objectContaining({ requestId: 'req-sightings', instanceIds: ['shop-r'], error: 'AccessDenied' }),
    );
  });
});

describe('ingest handler module: sightings wiring', () => {
  const saved = { ...process.env };
  const parameters: Record<string, string> = {
    [ssmStoreIndexName(PREFIX, '1003')]: JSON.stringify(['shop-r']),
    [ssmInstanceName(PREFIX, 'shop-r')]: JSON.stringify(reconciling('shop-r').document),
    [ssmStoreIndexName(PREFIX, '2000')]: JSON.stringify(['shop-w']),
    [ssmInstanceName(PREFIX, 'shop-w')]: JSON.stringify(webhookOnly('shop-w', '2000').document),
  };
  const mocks: Array<{ restore(): void }> = [];

  afterEach(() => {
    process.env = saved;
    for (const mock of mocks.splice(0)) mock.restore();
  });

  /**
   * The module's own `handler`, loaded with the given SIGHTINGS_QUEUE_URL (or none), its SDK
   * clients mocked in the module's isolated registry. Returns where each SendMessageBatch went.
   */
  function loadHandler(sightingsQueueUrl: string | undefined) {
    process.env = {
      ...saved,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_TRACE_ENABLED: 'false',
      [ENV.queueUrl]: QUEUE_URL,
      [ENV.ssmPrefix]: PREFIX,
    };
    if (sightingsQueueUrl) process.env[ENV.sightingsQueueUrl] = sightingsQueueUrl;
    let handler: IngestHandler | undefined;
    let batches: () => Array<{ QueueUrl?: string; Entries?: Array<{ MessageBody?: string }> }> = () => [];
    jest.isolateModules(() => {
      const sqsModule = require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');
      const ssmModule = require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
      const sqs = mockClient(sqsModule.SQSClient);
      const ssm = mockClient(ssmModule.SSMClient);
      mocks.push(sqs, ssm);
      ssm.on(ssmModule.GetParameterCommand).callsFake(async (input: { Name: string }) => {
        const value = parameters[input.Name];
        if (value === undefined) throw new ssmModule.ParameterNotFound({ message: 'not found', $metadata: {} });
        return { Parameter: { Name: input.Name, Value: value } };
      });
      sqs.on(sqsModule.SendMessageBatchCommand).callsFake(async (input: { Entries: Array<{ Id: string }> }) => ({
        Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: `m-${entry.Id}` })),
        Failed: [],
      }));
      batches = () => sqs.commandCalls(sqsModule.SendMessageBatchCommand).map((call) => call.args[0].input);
      handler = (require('../../functions/ingest/index') as typeof import('../../functions/ingest/index')).handler;
    });
    return { handler: handler!, sentTo: () => batches().map((input) => input.QueueUrl), batches: () => batches() };
  }

  it('sends one SendMessageBatch for a webhook-only instance, even with a sightings queue', async () => {
    const { handler, sentTo } = loadHandler(SIGHTINGS_URL);
    expect((await handler(webhookFor(2000))).statusCode).toBe(200);
    expect(sentTo()).toEqual([QUEUE_URL]);
  });

  it('sends the sighting of a reconciling instance to SIGHTINGS_QUEUE_URL, after the event', async () => {
    const { handler, sentTo, batches } = loadHandler(SIGHTINGS_URL);
    expect((await handler(webhookFor(1003))).statusCode).toBe(200);
    expect(sentTo()).toEqual([QUEUE_URL, SIGHTINGS_URL]);
    const [sighting] = batches()[1].Entries!;
    expect(JSON.parse(sighting.MessageBody!)).toEqual({ i: 'shop-r', t: 'orders', o: 'B8HGD', a: CREATED });
  });

  it('records nothing without SIGHTINGS_QUEUE_URL (no poller in the stack)', async () => {
    const { handler, sentTo } = loadHandler(undefined);
    expect((await handler(webhookFor(1003))).statusCode).toBe(200);
    expect(sentTo()).toEqual([QUEUE_URL]);
  });
});
