import { parseIonForm } from '../../functions/core/ecwid/ion';
import type { QueuedEvent } from '../../functions/core/event';
import { ingest, type IngestRequest } from '../../functions/core/ingest';
import { DEFAULTS, INGEST_METRICS } from '../../functions/contract';
import type { Instance } from '../../functions/core/instance';
import { fixedClock, ionRequest, makeInstance, SECRET_A, SECRET_B, webhookRequest } from './ingest-fakes';
import { MemoryEventQueue, MemoryInstanceStore, RecordingTelemetry } from '../../testkit/ports';
import { fixtureJson, fixtureText } from '../../testkit/fixtures';
import { webhookBody } from '../../testkit/events';

const ION_NEW_ORDER = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim();

function setup(instances: Instance[] = [makeInstance('shop-a', { clientSecret: SECRET_A })]) {
  const store = new MemoryInstanceStore(instances);
  const queue = new MemoryEventQueue();
  const telemetry = new RecordingTelemetry();
  const run = (request: IngestRequest) => ingest(request, { instances: store, queue, clock: fixedClock, telemetry });
  return { store, queue, telemetry, run };
}

describe('ingest: modern webhooks', () => {
  it('queues a signed webhook for the store instance with every QueuedEvent field', async () => {
    const { queue, run, telemetry } = setup();
    const body = fixtureJson('modern-order-updated.json');

    const result = await run(webhookRequest(body));

    expect(result).toEqual({
      status: 200,
      body: { queued: 1, eventId: '80aece08-40e8-4145-8764-6c2f0d38678' },
    });
    expect(queue.batches).toHaveLength(1);
    expect(queue.events).toEqual<QueuedEvent[]>([
      {
        v: 1,
        objectType: 'orders',
        objectId: 'B8HGD',
        eventType: 'UPDATED',
        eventId: '80aece08-40e8-4145-8764-6c2f0d38678',
        instanceId: 'shop-a',
        storeId: '1003',
        source: 'webhook',
        ecwidEventType: 'order.updated',
        occurredAt: '1970-01-15T06:56:07.000Z',
        receivedAt: '2024-03-01T12:00:00.000Z',
        verified: true,
        raw: body,
      },
    ]);
    expect(telemetry.countOf(INGEST_METRICS.received)).toBe(1);
    expect(telemetry.countOf(INGEST_METRICS.queued)).toBe(1);
    expect(telemetry.countOf(INGEST_METRICS.rejected)).toBe(0);
  });

  it('queues every documented fixture type, including string entity ids', async () => {
    const { queue, run } = setup();
    const body = fixtureJson('modern-application-installed.json');
    expect((await run(webhookRequest(body))).status).toBe(200);
    expect(queue.events[0]).toMatchObject({ objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN' });
  });

  it('accepts an unknown future event type', async () => {
    const { queue, run } = setup();
    const result = await run(webhookRequest(webhookBody({ eventType: 'gift_card.redeemed', entityId: 5, data: undefined })));
    expect(result.status).toBe(200);
    expect(queue.events[0]).toMatchObject({ objectType: 'giftCards', objectId: '5', eventType: 'UNKNOWN', ecwidEventType: 'gift_card.redeemed' });
  });

  it('fans out to every instance of the store, one QueuedEvent each, in one enqueue', async () => {
    const { queue, run, telemetry } = setup([
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-b', { clientSecret: SECRET_A }),
      makeInstance('other-store', { storeId: '2000', clientSecret: SECRET_A }),
    ]);

    const result = await run(webhookRequest(webhookBody()));

    expect(result).toEqual({
      status: 200,
      body: { queued: 2, eventId: '80aece08-40e8-4145-8764-6c2f0d38678' },
    });
    expect(queue.batches).toHaveLength(1);
    expect(queue.events.map((event) => event.instanceId)).toEqual(['shop-a', 'shop-b']);
    expect(new Set(queue.events.map((event) => event.eventId))).toEqual(new Set(['80aece08-40e8-4145-8764-6c2f0d38678']));
    expect(telemetry.countOf(INGEST_METRICS.queued)).toBe(2);
  });

  it('ignores instances the store index lists but that belong to another store', async () => {
    const stale = makeInstance('moved', { storeId: '2000', clientSecret: SECRET_A });
    const store = new MemoryInstanceStore([]);
    store.findByStore = async () => [makeInstance('shop-a', { clientSecret: SECRET_A }), stale];
    const queue = new MemoryEventQueue();
    const result = await ingest(webhookRequest(webhookBody()), { instances: store, queue, clock: fixedClock });
    expect(result.body).toMatchObject({ queued: 1 });
  });

  it('matches the store id in any canonical form (number, string, leading zeros)', async () => {
    const { queue, run } = setup([makeInstance('shop-a', { storeId: '1003', clientSecret: SECRET_A })]);
    expect((await run(webhookRequest(webhookBody({ storeId: '01003' }), SECRET_A, { instanceId: 'shop-a' }))).status).toBe(200);
    expect(queue.events[0].storeId).toBe('1003');
  });

  describe('signature', () => {
    // 200 without queueing (Ecwid must not retry what a retry cannot fix), counted for the alarm,
    // and the same answer as for an unknown store (it tells a caller nothing).
    it('answers 200 without queueing when the header is missing, and counts it', async () => {
      const { queue, run, telemetry } = setup();
      const result = await run(webhookRequest(webhookBody(), null));
      expect(result).toEqual({ status: 200, body: { queued: 0, eventId: webhookBody().eventId } });
      expect(queue.events).toEqual([]);
      expect(telemetry.countOf(INGEST_METRICS.droppedBadSignature)).toBe(1);
      expect(telemetry.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'not queued: missing X-Ecwid-Webhook-Signature header' }));
    });

    it('answers 200 without queueing when the signature does not verify', async () => {
      const { queue, run, telemetry } = setup();
      const result = await run(webhookRequest(webhookBody(), SECRET_B));
      expect(result).toEqual({ status: 200, body: { queued: 0, eventId: webhookBody().eventId } });
      expect(queue.events).toEqual([]);
      expect(telemetry.countOf(INGEST_METRICS.droppedBadSignature)).toBe(1);
    });

    it('queues nothing when the instance has no client secret (fail closed)', async () => {
      const { queue, run, telemetry } = setup([makeInstance('shop-a')]);
      const result = await run(webhookRequest(webhookBody(), SECRET_A));
      expect(result).toMatchObject({ status: 200, body: { queued: 0 } });
      expect(queue.events).toEqual([]);
      expect(telemetry.lines.find((line) => line.attributes.instanceId === 'shop-a')?.attributes.cause).toBe(
        'ecwid.client.secret is not configured',
      );
    });

    it('treats the header as the signature of eventCreated.eventId only (body changes do not matter)', async () => {
      const { run } = setup();
      const request = webhookRequest(webhookBody());
      const tampered = { ...request, body: Buffer.from(JSON.stringify(webhookBody({ data: { orderId: 'OTHER' } }))) };
      expect((await run(tampered)).status).toBe(200);
      const otherId = { ...request, body: Buffer.from(JSON.stringify(webhookBody({ eventId: 'another-event' }))) };
      expect((await run(otherId)).body).toMatchObject({ queued: 0 });
    });

    it('with several instances, leaves out the one whose secret does not verify', async () => {
      const { queue, run, telemetry } = setup([
        makeInstance('app-one', { clientSecret: SECRET_A }),
        makeInstance('app-two', { clientSecret: SECRET_B }),
        makeInstance('no-secret'),
      ]);
      const result = await run(webhookRequest(webhookBody(), SECRET_B));
      expect(result).toMatchObject({ status: 200, body: { queued: 1 } });
      expect(queue.events.map((event) => event.instanceId)).toEqual(['app-two']);
      expect(telemetry.countOf(INGEST_METRICS.excludedBadSignature)).toBe(2);
    });

    it('with several instances, queues nothing when none verifies', async () => {
      const { queue, run } = setup([
        makeInstance('app-one', { clientSecret: SECRET_A }),
        makeInstance('app-two', { clientSecret: SECRET_A }),
      ]);
      expect(await run(webhookRequest(webhookBody(), SECRET_B))).toMatchObject({ status: 200, body: { queued: 0 } });
      expect(queue.events).toEqual([]);
    });
  });

  describe('malformed bodies', () => {
    it('answers 400 for invalid JSON', async () => {
      const { run } = setup();
      const result = await run(webhookRequest('{"eventId": "x",'));
      expect(result).toEqual({
        status: 400,
        body: { error: 'request body is not valid JSON', field: 'body' },
        reason: 'Malformed',
      });
    });

    it.each(['eventId', 'eventCreated', 'storeId', 'entityId', 'eventType'])('answers 400 naming a missing %s', async (field) => {
      const { run, queue, telemetry } = setup();
      const result = await run(webhookRequest(webhookBody({ [field]: undefined }), null, { headers: { 'x-ecwid-webhook-signature': 'x' } }));
      expect(result.status).toBe(400);
      expect(result.body).toMatchObject({ field });
      expect((result.body as { error: string }).error).toContain(field);
      expect(queue.events).toEqual([]);
      expect(telemetry.countOf('RejectedMalformed')).toBe(1);
    });
  });

  it('does not look anything up before the body is valid', async () => {
    const { store, run } = setup();
    await run(webhookRequest('not json'));
    expect(store.calls).toEqual([]);
  });
});

describe('ingest: legacy ION posts', () => {
  it('queues an ION post unverified with a derived id and the form fields as raw', async () => {
    const { queue, run } = setup([makeInstance('legacy', { storeId: '12345' })]);
    const expectedId = parseIonForm(ION_NEW_ORDER).eventId;

    const result = await run(ionRequest(ION_NEW_ORDER));

    expect(result).toEqual({ status: 200, body: { queued: 1, eventId: expectedId } });
    expect(queue.events).toEqual<QueuedEvent[]>([
      {
        v: 1,
        objectType: 'orders',
        objectId: '124',
        eventType: 'CREATED',
        eventId: expectedId,
        instanceId: 'legacy',
        storeId: '12345',
        source: 'ion',
        ecwidEventType: 'new_order',
        occurredAt: '2014-05-06T16:28:06',
        receivedAt: '2024-03-01T12:00:00.000Z',
        verified: false,
        raw: {
          owner_id: '12345',
          event_type: 'new_order',
          date: '2014-05-06 16:28:06',
          order_id: '124',
          payment_status: 'ACCEPTED',
          fulfillment_status: 'NEW',
        },
      },
    ]);
  });

  it('needs no signature header', async () => {
    const { run } = setup([makeInstance('legacy', { storeId: '12345' })]);
    expect((await run(ionRequest(ION_NEW_ORDER))).status).toBe(200);
  });

  it('gives a retried notification the same id and a status change a new one', async () => {
    const { queue, run } = setup([makeInstance('legacy', { storeId: '12345' })]);
    await run(ionRequest(ION_NEW_ORDER));
    await run(ionRequest(ION_NEW_ORDER));
    await run(ionRequest(ION_NEW_ORDER.replace('payment_status=ACCEPTED', 'payment_status=PAID')));
    const [first, retry, changed] = queue.events.map((event) => event.eventId);
    expect(retry).toBe(first);
    expect(changed).not.toBe(first);
  });

  it.each(['owner_id', 'event_type', 'order_id'])('answers 400 naming a missing %s', async (field) => {
    const { run } = setup([makeInstance('legacy', { storeId: '12345' })]);
    const form = new URLSearchParams([...new URLSearchParams(ION_NEW_ORDER)].filter(([name]) => name !== field));
    const result = await run(ionRequest(form.toString()));
    expect(result).toMatchObject({ status: 400, body: { error: `ION field ${field} is required`, field } });
  });
});

describe('ingest: routing to instances', () => {
  it('answers 200 without queueing for a store without instances (an uninstalled store: a retry cannot help), and counts it', async () => {
    const { run, queue, telemetry } = setup([makeInstance('shop-a', { storeId: '2000', clientSecret: SECRET_A })]);
    const result = await run(webhookRequest(webhookBody()));
    expect(result).toEqual({ status: 200, body: { queued: 0, eventId: webhookBody().eventId } });
    expect(queue.events).toEqual([]);
    expect(telemetry.countOf(INGEST_METRICS.droppedUnknownStore)).toBe(1);
    expect(telemetry.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'not queued: no instance is configured for store 1003' }));
  });

  it('on /events/ecwid/{instanceId}, queues for that instance only', async () => {
    const { run, queue, store } = setup([
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-b', { clientSecret: SECRET_A }),
    ]);
    const result = await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'shop-b' }));
    expect(result).toMatchObject({ status: 200, body: { queued: 1 } });
    expect(queue.events.map((event) => event.instanceId)).toEqual(['shop-b']);
    expect(store.calls).toEqual(['get:shop-b']);
  });

  it('reads the instance id from the path when API Gateway gave no path parameter', async () => {
    const { run, queue } = setup([makeInstance('shop-a', { clientSecret: SECRET_A }), makeInstance('shop-b', { clientSecret: SECRET_A })]);
    const request = { ...webhookRequest(webhookBody()), path: '/prod/events/ecwid/shop-b' };
    expect((await run(request)).status).toBe(200);
    expect(queue.events.map((event) => event.instanceId)).toEqual(['shop-b']);
  });

  it('answers 404 for an unknown instance id', async () => {
    const { run, telemetry } = setup();
    const result = await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'nobody' }));
    expect(result).toMatchObject({ status: 404, body: { error: 'unknown instance "nobody"' } });
    expect(telemetry.countOf('RejectedUnknownInstance')).toBe(1);
  });

  it('answers 404 without a lookup for an id that cannot be an instance id', async () => {
    const { run, store } = setup();
    const result = await run(webhookRequest(webhookBody(), SECRET_A, { path: '/events/ecwid/..%2Fsecrets' }));
    expect(result.status).toBe(404);
    expect(store.calls).toEqual([]);
  });

  it('answers 400 when the body is for another store than the instance', async () => {
    const { run, queue, telemetry } = setup([makeInstance('shop-a', { storeId: '2000', clientSecret: SECRET_A })]);
    const result = await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'shop-a' }));
    expect(result).toMatchObject({
      status: 400,
      body: { error: 'the event is for store 1003, which is not the store of instance shop-a' },
    });
    expect(queue.events).toEqual([]);
    expect(telemetry.countOf('RejectedStoreMismatch')).toBe(1);
  });
});

describe('ingest: disabled instances', () => {
  it('answers 200 without queueing when every instance is disabled, and counts each', async () => {
    const { run, queue, telemetry } = setup([
      makeInstance('shop-a', { clientSecret: SECRET_A, enabled: 'false' }),
      makeInstance('shop-b', { clientSecret: SECRET_A, enabled: false }),
    ]);
    // The shared URL's answer does not say why (it would tell a caller the store is a customer); the per-instance route does.
    expect(await run(webhookRequest(webhookBody()))).toEqual({ status: 200, body: { queued: 0, eventId: '80aece08-40e8-4145-8764-6c2f0d38678' } });
    expect((await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'shop-a' }))).body).toEqual({
      queued: 0,
      eventId: '80aece08-40e8-4145-8764-6c2f0d38678',
      message: 'not queued: event notifications are disabled for every instance of this store',
    });
    expect(queue.batches).toEqual([]);
    expect(telemetry.countOf(INGEST_METRICS.droppedDisabled)).toBe(3);
    expect(telemetry.lines.filter((line) => line.message.includes('disabled')).map((line) => line.attributes.instanceId)).toEqual([
      'shop-a',
      'shop-b',
      'shop-a',
    ]);
  });

  it('queues for the enabled instances only', async () => {
    const { run, queue, telemetry } = setup([
      makeInstance('shop-a', { clientSecret: SECRET_A, enabled: 'false' }),
      makeInstance('shop-b', { clientSecret: SECRET_A }),
    ]);
    expect((await run(webhookRequest(webhookBody()))).body).toMatchObject({ queued: 1 });
    expect(queue.events.map((event) => event.instanceId)).toEqual(['shop-b']);
    expect(telemetry.countOf(INGEST_METRICS.droppedDisabled)).toBe(1);
  });

  it('does the same for a disabled instance named in the path', async () => {
    const { run, queue } = setup([makeInstance('shop-a', { clientSecret: SECRET_A, enabled: 'false' })]);
    const result = await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'shop-a' }));
    expect(result).toMatchObject({ status: 200, body: { queued: 0 } });
    expect(queue.batches).toEqual([]);
  });
});

describe('ingest: HTTP-level rejections', () => {
  it('answers 415 for another content type, and for none', async () => {
    const { run, telemetry } = setup();
    const text = webhookRequest(webhookBody(), SECRET_A, { headers: { 'content-type': 'text/plain' } });
    expect(await run(text)).toMatchObject({ status: 415, body: { error: expect.stringContaining('text/plain') } });
    const none = webhookRequest(webhookBody(), SECRET_A, { headers: { 'content-type': undefined } });
    expect((await run(none)).status).toBe(415);
    expect(telemetry.countOf('RejectedUnsupportedMediaType')).toBe(2);
  });

  it('chooses the parser from the media type, ignoring parameters and case', async () => {
    const { run, queue } = setup([makeInstance('legacy', { storeId: '12345' }), makeInstance('shop-a', { clientSecret: SECRET_A })]);
    const json = webhookRequest(webhookBody(), SECRET_A, { headers: { 'content-type': 'Application/JSON;charset=utf-8' } });
    expect((await run(json)).status).toBe(200);
    const form = ionRequest(ION_NEW_ORDER, { headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' } });
    expect((await run(form)).status).toBe(200);
    expect(queue.events.map((event) => event.source)).toEqual(['webhook', 'ion']);
  });

  it('finds headers in any case', async () => {
    const { run } = setup();
    const request = webhookRequest(webhookBody());
    const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toUpperCase(), value]));
    expect((await run({ ...request, headers })).status).toBe(200);
  });

  it('answers 413 above 64 KiB of decoded body, and accepts exactly 64 KiB', async () => {
    const { run, telemetry } = setup();
    const padTo = (bytes: number) => {
      const base = JSON.stringify(webhookBody({ data: { orderId: 'B8HGD', pad: '' } }));
      return JSON.stringify(webhookBody({ data: { orderId: 'B8HGD', pad: 'x'.repeat(bytes - Buffer.byteLength(base)) } }));
    };
    const limit = DEFAULTS.maxBodyBytes;
    expect(limit).toBe(65536);
    const atLimit = webhookRequest(JSON.parse(padTo(limit)));
    expect(atLimit.body.byteLength).toBe(limit);
    expect((await run(atLimit)).status).toBe(200);
    const over = webhookRequest(JSON.parse(padTo(limit + 1)));
    expect(over.body.byteLength).toBe(limit + 1);
    expect(await run(over)).toMatchObject({ status: 413, body: { error: 'request body is 65537 bytes; the limit is 65536' } });
    expect(telemetry.countOf('RejectedTooLarge')).toBe(1);
  });

  it('answers 405 for another method and 404 for another path', async () => {
    const { run, store } = setup();
    expect(await run(webhookRequest(webhookBody(), SECRET_A, { method: 'GET' }))).toMatchObject({
      status: 405,
      headers: { allow: 'POST' },
    });
    expect(await run(webhookRequest(webhookBody(), SECRET_A, { path: '/events/other' }))).toMatchObject({
      status: 404,
      body: { error: 'no such route: /events/other' },
    });
    expect(await run(webhookRequest(webhookBody(), SECRET_A, { path: '/events/ecwid/a/b' }))).toMatchObject({ status: 404 });
    expect(store.calls).toEqual([]);
  });
});

describe('ingest: backend failures answer 503 and never 2xx', () => {
  it('503 when the instance store fails (fan-out lookup)', async () => {
    const { run, store, queue, telemetry } = setup();
    store.failure = new Error('ThrottlingException: Rate exceeded');
    const result = await run(webhookRequest(webhookBody()));
    expect(result).toMatchObject({ status: 503, body: { error: 'instance configuration is unavailable; retry later' } });
    expect(queue.batches).toEqual([]);
    expect(telemetry.countOf('RejectedUnavailable')).toBe(1);
    const line = telemetry.lines.find((entry) => entry.level === 'error');
    expect(line?.attributes).toMatchObject({ eventId: '80aece08-40e8-4145-8764-6c2f0d38678', storeId: '1003', error: 'ThrottlingException: Rate exceeded' });
  });

  it('503 when the instance store fails (instance route)', async () => {
    const { run, store } = setup();
    store.failure = new Error('AccessDenied');
    expect((await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'shop-a' }))).status).toBe(503);
  });

  it('503 when the queue fails, for webhooks and ION posts', async () => {
    const { run, queue, telemetry } = setup([makeInstance('shop-a', { clientSecret: SECRET_A }), makeInstance('legacy', { storeId: '12345' })]);
    queue.failure = new Error('SendMessageBatch failed');
    expect(await run(webhookRequest(webhookBody()))).toMatchObject({ status: 503, body: { error: 'the event could not be queued; retry later' } });
    expect((await run(ionRequest(ION_NEW_ORDER))).status).toBe(503);
    expect(telemetry.countOf(INGEST_METRICS.queued)).toBe(0);
    expect(telemetry.countOf('RejectedUnavailable')).toBe(2);
  });

  it('does not log the message of a SyntaxError (it may quote a configuration document)', async () => {
    const { run, store, telemetry } = setup();
    store.failure = new SyntaxError(`Unexpected token in JSON: {"ecwid.client.secret":"${SECRET_A}"`);
    expect((await run(webhookRequest(webhookBody()))).status).toBe(503);
    expect(JSON.stringify(telemetry.lines)).not.toContain(SECRET_A);
    expect(telemetry.lines.find((line) => line.level === 'error')?.attributes.error).toBe('SyntaxError');
  });
});

describe('ingest: log lines about an event carry its ids', () => {
  it('has eventId and storeId on every line after parsing, instanceId on per-instance lines', async () => {
    const { run, telemetry } = setup([
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-b', { clientSecret: SECRET_A, enabled: 'false' }),
    ]);
    await run(webhookRequest(webhookBody()));
    expect(telemetry.lines.length).toBeGreaterThanOrEqual(2);
    for (const line of telemetry.lines) {
      expect(line.attributes).toMatchObject({ eventId: '80aece08-40e8-4145-8764-6c2f0d38678', storeId: '1003' });
      expect(['shop-a', 'shop-b']).toContain(line.attributes.instanceId);
    }
  });
});

describe('ingest: secrets', () => {
  it('never puts a client secret or an expected signature in a response or a log line', async () => {
    const instances = [
      makeInstance('shop-a', { clientSecret: SECRET_A }),
      makeInstance('shop-b', { clientSecret: SECRET_B }),
      makeInstance('legacy', { storeId: '12345', clientSecret: SECRET_A }),
    ];
    const { run, telemetry, store, queue } = setup(instances);
    const body = webhookBody();
    const sensitive = [SECRET_A, SECRET_B, webhookRequest(body, SECRET_A).headers['x-ecwid-webhook-signature'] as string];
    const forged = webhookRequest(body, null, { headers: { 'x-ecwid-webhook-signature': 'AAAA' } });

    const results = [
      await run(webhookRequest(body, SECRET_A)),
      await run(webhookRequest(body, SECRET_B)),
      await run(forged),
      await run(webhookRequest(body, null)),
      await run(webhookRequest(body, 'wrong-secret', { instanceId: 'shop-a' })),
      await run(webhookRequest(webhookBody({ storeId: 12345 }), 'wrong-secret')),
      await run(webhookRequest(webhookBody({ eventId: undefined }))),
      await run(ionRequest(ION_NEW_ORDER)),
    ];
    queue.failure = new Error('queue down');
    results.push(await run(webhookRequest(body, SECRET_A)));
    store.failure = new Error('store down');
    results.push(await run(webhookRequest(body, SECRET_A)));

    expect(results.map((result) => result.status)).toEqual([200, 200, 200, 200, 200, 200, 400, 200, 503, 503]);
    const output = JSON.stringify(results) + JSON.stringify(telemetry.lines);
    for (const value of sensitive) expect(output).not.toContain(value);
  });
});
