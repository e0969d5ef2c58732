import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { parseIonForm } from '../../functions/core/ecwid/ion';
import type { Instance } from '../../functions/core/instance';
import { createIngestHandler } from '../../functions/ingest/handler';
import type { HandlerMetrics } from '../../functions/adapters/aws/powertools';
import { fixedClock, makeInstance, SECRET_A, SECRET_B } from '../core/ingest-fakes';
import { MemoryEventQueue, MemoryInstanceStore } from '../../testkit/ports';
import { fixtureText } from '../../testkit/fixtures';
import { apiGatewayEvent, type ApiGatewayEventOptions, ECWID_WEBHOOK_CONTENT_TYPE, ionEvent, signatureOf, webhookBody, webhookEvent as signedWebhookEvent } from '../../testkit/events';

const ION_NEW_ORDER = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim();
/** The Content-Type Ecwid really sends, from the documented request headers. */
const ECWID_CONTENT_TYPE = /^Content-Type: (.+)$/m.exec(fixtureText('modern-webhook-request-headers.http'))![1].trim();

/** A webhook signed with SECRET_A unless told otherwise (null: unsigned). */
const webhookEvent = (body: Record<string, unknown>, secret: string | null = SECRET_A, opts: ApiGatewayEventOptions = {}) =>
  signedWebhookEvent(body, secret, opts);

/** Metrics fake: what was added, and how often it was flushed. */
class RecordingMetrics implements HandlerMetrics {
  readonly added: Array<{ name: string; value: number }> = [];
  published = 0;
  addMetric(name: string, _unit: unknown, value: number): void {
    this.added.push({ name, value });
  }
  publishStoredMetrics(): void {
    this.published += 1;
  }
  total(name: string): number {
    return this.added.filter((metric) => metric.name === name).reduce((sum, metric) => sum + metric.value, 0);
  }
}

/** Captures everything written to stdout/stderr (Powertools writes logs and EMF there). */
function captureOutput() {
  const chunks: string[] = [];
  const record = (chunk: unknown) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(record);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(record);
  return {
    text: () => chunks.join(''),
    jsonLines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.trim().startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

function setup(instances: Instance[] = [makeInstance('shop-a', { clientSecret: SECRET_A })], withRealLogger = false) {
  const store = new MemoryInstanceStore(instances);
  const queue = new MemoryEventQueue();
  const metrics = new RecordingMetrics();
  const logger = withRealLogger ? new Logger({ serviceName: 'ingest-test', logLevel: 'DEBUG' }) : quietLogger();
  const handler = createIngestHandler({ instances: store, queue, clock: fixedClock, logger, metrics });
  return { store, queue, metrics, handler };
}

function quietLogger() {
  return { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
}

const bodyOf = (response: APIGatewayProxyStructuredResultV2) => JSON.parse(response.body ?? 'null') as Record<string, unknown>;

describe('ingest handler: adapting API Gateway v2 events', () => {
  it('answers a signed webhook with 200 JSON and queues it', async () => {
    const { handler, queue } = setup();
    const response = await handler(webhookEvent(webhookBody()));
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json' });
    expect(bodyOf(response)).toEqual({ queued: 1, eventId: '80aece08-40e8-4145-8764-6c2f0d38678' });
    expect(queue.events).toHaveLength(1);
  });

  it('decodes base64 bodies (webhook and ION) exactly like plain ones', async () => {
    const { handler, queue } = setup([makeInstance('shop-a', { clientSecret: SECRET_A }), makeInstance('legacy', { storeId: '12345' })]);
    expect((await handler(webhookEvent(webhookBody(), SECRET_A, { base64: true }))).statusCode).toBe(200);
    expect((await handler(ionEvent(ION_NEW_ORDER, { base64: true }))).statusCode).toBe(200);
    expect(queue.events[0].raw).toEqual(webhookBody());
    expect(queue.events[1].eventId).toBe(parseIonForm(ION_NEW_ORDER).eventId);
    expect(queue.events[1].raw).toMatchObject({ owner_id: '12345', order_id: '124' });
  });

  it('ignores ?eventtype= (the body is authoritative)', async () => {
    const { handler, queue } = setup();
    const response = await handler(webhookEvent(webhookBody(), SECRET_A, { query: { eventtype: 'product.deleted' } }));
    expect(response.statusCode).toBe(200);
    expect(queue.events[0]).toMatchObject({ ecwidEventType: 'order.updated', objectType: 'orders', eventType: 'UPDATED' });
  });

  it('accepts the charset parameter Ecwid sends on the content type', async () => {
    expect(ECWID_CONTENT_TYPE).toBe('application/json; charset=UTF-8');
    expect(ECWID_WEBHOOK_CONTENT_TYPE).toBe(ECWID_CONTENT_TYPE);
    const { handler } = setup();
    expect((await handler(webhookEvent(webhookBody()))).statusCode).toBe(200);
  });

  it('uses the {instanceId} path parameter', async () => {
    const { handler, queue } = setup([makeInstance('shop-a', { clientSecret: SECRET_A }), makeInstance('shop-b', { clientSecret: SECRET_A })]);
    expect((await handler(webhookEvent(webhookBody(), SECRET_A, { instanceId: 'shop-b' }))).statusCode).toBe(200);
    expect(queue.events.map((event) => event.instanceId)).toEqual(['shop-b']);
  });

  it('measures the body limit on decoded bytes, not on the base64 text', async () => {
    const { handler } = setup();
    const base = JSON.stringify(webhookBody({ data: { orderId: 'B8HGD', pad: '' } }));
    const body = webhookBody({ data: { orderId: 'B8HGD', pad: 'x'.repeat(60 * 1024 - base.length) } });
    const event = webhookEvent(body, SECRET_A, { base64: true });
    expect(event.body!.length).toBeGreaterThan(64 * 1024);
    expect((await handler(event)).statusCode).toBe(200);

    const tooBig = webhookBody({ data: { orderId: 'B8HGD', pad: 'x'.repeat(64 * 1024 - base.length + 1) } });
    const response = await handler(webhookEvent(tooBig, SECRET_A, { base64: true }));
    expect(response.statusCode).toBe(413);
    expect(bodyOf(response)).toEqual({ error: 'request body is 65537 bytes; the limit is 65536' });
  });

  it('answers 405 (with Allow) and 404 cleanly for what API Gateway would not route', async () => {
    const { handler } = setup();
    const get = await handler(apiGatewayEvent(undefined, { method: 'GET' }));
    expect(get.statusCode).toBe(405);
    expect(get.headers).toMatchObject({ allow: 'POST', 'content-type': 'application/json' });
    expect(bodyOf(get)).toEqual({ error: 'method GET not allowed; use POST' });
    const other = await handler(apiGatewayEvent(undefined, { rawPath: '/favicon.ico', method: 'GET' }));
    expect(other.statusCode).toBe(404);
    expect(bodyOf(other)).toEqual({ error: 'no such route: /favicon.ico' });
  });

  it('maps every outcome to its status code', async () => {
    const instances = [
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-b', { clientSecret: SECRET_A }),
      makeInstance('elsewhere', { storeId: '2000', clientSecret: SECRET_A }),
      makeInstance('off', { storeId: '3000', clientSecret: SECRET_A, enabled: 'false' }),
    ];
    const { handler, store, queue } = setup(instances);
    const status = async (event: APIGatewayProxyEventV2) => (await handler(event)).statusCode;

    expect(await status(webhookEvent(webhookBody()))).toBe(200);
    expect(queue.events.map((event) => event.instanceId)).toEqual(['shop-a', 'shop-b']);
    // An unknown store: 200 that queues nothing (an uninstalled store must not make Ecwid retry).
    expect(await status(webhookEvent(webhookBody({ storeId: 4000 })))).toBe(200);
    expect(await status(webhookEvent(webhookBody(), SECRET_A, { instanceId: 'ghost' }))).toBe(404);
    expect(await status(webhookEvent(webhookBody(), SECRET_A, { instanceId: 'elsewhere' }))).toBe(400);
    const disabled = await handler(webhookEvent(webhookBody({ storeId: 3000 })));
    expect(disabled.statusCode).toBe(200);
    expect(bodyOf(disabled)).toEqual({ queued: 0, eventId: webhookBody().eventId });
    // A bad or missing signature: 200 that queues nothing, the same answer as an unknown store's.
    expect(await status(webhookEvent(webhookBody(), SECRET_B))).toBe(200);
    expect(await status(webhookEvent(webhookBody(), null))).toBe(200);
    expect(await status(apiGatewayEvent('{oops', { headers: { 'content-type': 'application/json' } }))).toBe(400);
    expect(await status(webhookEvent(webhookBody({ eventType: undefined })))).toBe(400);
    expect(await status(apiGatewayEvent('hello', { headers: { 'content-type': 'text/plain' } }))).toBe(415);
    expect(await status(webhookEvent(webhookBody({ data: { pad: 'x'.repeat(70_000) } })))).toBe(413);
    queue.failure = new Error('queue down');
    expect(await status(webhookEvent(webhookBody()))).toBe(503);
    store.failure = new Error('store down');
    expect(await status(webhookEvent(webhookBody()))).toBe(503);
    expect(queue.events).toHaveLength(2);
  });

  it('answers 500 without details when something unexpected throws, and still flushes metrics', async () => {
    const store = new MemoryInstanceStore([makeInstance('shop-a', { clientSecret: SECRET_A })]);
    const metrics = new RecordingMetrics();
    const logger = quietLogger();
    const handler = createIngestHandler({
      instances: store,
      queue: new MemoryEventQueue(),
      clock: () => {
        throw new Error('clock broke');
      },
      logger,
      metrics,
    });
    const response = await handler(webhookEvent(webhookBody()));
    expect(response.statusCode).toBe(500);
    expect(bodyOf(response)).toEqual({ error: 'internal error' });
    expect(metrics.total('IngestErrors')).toBe(1);
    expect(metrics.published).toBe(1);
    expect(logger.error).toHaveBeenCalledWith('ingest failed unexpectedly', expect.objectContaining({ requestId: 'req-1' }));
  });
});

describe('ingest handler: metrics', () => {
  it('counts received, queued, rejected by reason and dropped-disabled, and flushes once per invocation', async () => {
    const { handler, metrics } = setup([
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-off', { clientSecret: SECRET_A, enabled: 'false' }),
    ]);
    await handler(webhookEvent(webhookBody()));
    await handler(webhookEvent(webhookBody(), SECRET_B));
    await handler(apiGatewayEvent('x', { headers: { 'content-type': 'text/plain' } }));

    expect(metrics.total('EventsReceived')).toBe(3);
    expect(metrics.total('EventsQueued')).toBe(1);
    expect(metrics.total('EventsDroppedDisabled')).toBe(2);
    expect(metrics.total('EventsRejected')).toBe(1);
    expect(metrics.total('EventsDroppedBadSignature')).toBe(1);
    expect(metrics.total('RejectedUnsupportedMediaType')).toBe(1);
    expect(metrics.published).toBe(3);
  });

  it('emits EMF through Powertools Metrics', async () => {
    const output = captureOutput();
    try {
      const metrics = new Metrics({ namespace: 'IngestTest', serviceName: 'ingest-test' });
      const handler = createIngestHandler({
        instances: new MemoryInstanceStore([makeInstance('shop-a', { clientSecret: SECRET_A })]),
        queue: new MemoryEventQueue(),
        clock: fixedClock,
        logger: quietLogger(),
        metrics,
      });
      await handler(webhookEvent(webhookBody(), SECRET_B));
      const emf = output.jsonLines().find((line) => '_aws' in line);
      expect(emf).toBeDefined();
      expect(emf).toMatchObject({ EventsReceived: 1, EventsDroppedBadSignature: 1, service: 'ingest-test' });
      expect(JSON.stringify(emf)).toContain('"Namespace":"IngestTest"');
    } finally {
      output.restore();
    }
  });
});

describe('ingest handler: logs (Powertools Logger, captured)', () => {
  it('writes structured JSON with eventId, storeId and instanceId on every line about an event', async () => {
    const output = captureOutput();
    try {
      const { handler } = setup(
        [makeInstance('shop-a', { clientSecret: SECRET_A }), makeInstance('shop-b', { clientSecret: SECRET_A, enabled: 'false' })],
        true,
      );
      await handler(webhookEvent(webhookBody(), SECRET_A, { requestId: 'req-42' }));
      const lines = output.jsonLines();
      expect(lines.length).toBeGreaterThanOrEqual(2);
      for (const line of lines) {
        expect(line).toMatchObject({
          service: 'ingest-test',
          requestId: 'req-42',
          eventId: '80aece08-40e8-4145-8764-6c2f0d38678',
          storeId: '1003',
        });
        expect(['shop-a', 'shop-b']).toContain(line.instanceId);
      }
      expect(lines.map((line) => line.message)).toEqual(
        expect.arrayContaining(['queued', 'not queued: event notifications are disabled for this instance']),
      );
    } finally {
      output.restore();
    }
  });

  it('at INFO, the level the stack deploys, a queued event writes no line (the per-event line is DEBUG: the ledger and the metrics keep count)', async () => {
    const output = captureOutput();
    try {
      const store = new MemoryInstanceStore([makeInstance('shop-a', { clientSecret: SECRET_A })]);
      const queue = new MemoryEventQueue();
      const handler = createIngestHandler({
        instances: store,
        queue,
        clock: fixedClock,
        logger: new Logger({ serviceName: 'ingest-test', logLevel: 'INFO' }),
        metrics: new RecordingMetrics(),
      });
      expect((await handler(webhookEvent(webhookBody(), SECRET_A))).statusCode).toBe(200);
      expect(queue.events).toHaveLength(1);
      expect(output.jsonLines()).toEqual([]);
    } finally {
      output.restore();
    }
  });

  it('does not carry one invocation’s keys into the next', async () => {
    const output = captureOutput();
    try {
      const { handler } = setup([makeInstance('shop-a', { clientSecret: SECRET_A })], true);
      await handler(webhookEvent(webhookBody({ eventId: 'first-event' }), SECRET_A, { requestId: 'req-first' }));
      const firstCount = output.jsonLines().length;
      await handler(apiGatewayEvent('x', { headers: { 'content-type': 'text/plain' }, requestId: 'req-second' }));
      const second = output.jsonLines().slice(firstCount);
      expect(second).toHaveLength(1);
      expect(second[0]).toMatchObject({ requestId: 'req-second', reason: 'UnsupportedMediaType' });
      expect(second[0]).not.toHaveProperty('eventId');
      expect(second[0]).not.toHaveProperty('instanceId');
    } finally {
      output.restore();
    }
  });

  it('never writes a client secret or a signature into a response, a log line or a metric', async () => {
    const instances = [
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-b', { clientSecret: SECRET_B }),
      makeInstance('legacy', { storeId: '12345', clientSecret: SECRET_A }),
    ];
    const body = webhookBody();
    const sensitive = [SECRET_A, SECRET_B, signatureOf(body, SECRET_A), signatureOf(body, SECRET_B)];
    const output = captureOutput();
    const responses: APIGatewayProxyStructuredResultV2[] = [];
    try {
      const store = new MemoryInstanceStore(instances);
      const queue = new MemoryEventQueue();
      const handler = createIngestHandler({
        instances: store,
        queue,
        clock: fixedClock,
        logger: new Logger({ serviceName: 'ingest-test', logLevel: 'DEBUG' }),
        metrics: new Metrics({ namespace: 'IngestTest', serviceName: 'ingest-test' }),
      });
      responses.push(await handler(webhookEvent(body, SECRET_A)));
      responses.push(await handler(webhookEvent(body, 'wrong-secret')));
      responses.push(await handler(webhookEvent(body, null)));
      responses.push(await handler(webhookEvent(body, 'wrong-secret', { instanceId: 'shop-b' })));
      responses.push(await handler(webhookEvent(webhookBody({ storeId: 12345 }), 'wrong')));
      responses.push(await handler(webhookEvent(webhookBody({ entityId: undefined }))));
      responses.push(await handler(ionEvent(ION_NEW_ORDER)));
      queue.failure = new Error('queue down');
      responses.push(await handler(webhookEvent(body, SECRET_B)));
      store.failure = new Error('store down');
      responses.push(await handler(webhookEvent(body, SECRET_A)));
    } finally {
      output.restore();
    }
    expect(responses.map((response) => response.statusCode)).toEqual([200, 200, 200, 200, 200, 400, 200, 503, 503]);
    const everything = output.text() + JSON.stringify(responses);
    expect(output.jsonLines().length).toBeGreaterThan(9);
    for (const value of sensitive) expect(everything).not.toContain(value);
  });
});

describe('ingest handler module', () => {
  it('imports without QUEUE_URL and answers requests that need no queue', async () => {
    const saved = { ...process.env };
    delete process.env.QUEUE_URL;
    delete process.env.SSM_PREFIX;
    const output = captureOutput();
    try {
      let mod: typeof import('../../functions/ingest/index') | undefined;
      jest.isolateModules(() => {
        mod = require('../../functions/ingest/index');
      });
      expect(typeof mod!.handler).toBe('function');
      const response = await mod!.handler(apiGatewayEvent(undefined, { method: 'GET' }));
      expect(response.statusCode).toBe(405);
    } finally {
      output.restore();
      process.env = saved;
    }
  });
});
