/**
 * Ingest and the poller's instance settings (core/poll/settings.ts): polling-only instances take no
 * webhooks, and only instances in reconciliation mode have their webhooks sighted.
 */
import { parseIonForm } from '../../functions/core/ecwid/ion';
import { ingest, type IngestDeps, type IngestRequest } from '../../functions/core/ingest';
import { INGEST_METRICS } from '../../functions/contract';
import { CONFIG_KEYS, type ConfigValue, type Instance } from '../../functions/core/instance';
import { InMemorySightings, type SightingLog, type WebhookSighting } from '../../functions/core/sightings';
import { fixedClock, ionRequest, makeInstance, SECRET_A, webhookRequest } from './ingest-fakes';
import { MemoryEventQueue, MemoryInstanceStore, RecordingTelemetry } from '../../testkit/ports';
import { fixtureText } from '../../testkit/fixtures';
import { webhookBody } from '../../testkit/events';

const ACCESS_TOKEN = 'secret_access-token-4b1d9e';
const EVENT_ID = '80aece08-40e8-4145-8764-6c2f0d38678';
/** `eventCreated` of modern-order-updated.json, the default webhook body. */
const EVENT_CREATED = 1234567;
const ION_NEW_ORDER = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim();

const webhookOnly = (id: string, extra: Record<string, ConfigValue> = {}): Instance =>
  makeInstance(id, { clientSecret: SECRET_A, extra: { [CONFIG_KEYS.accessToken]: ACCESS_TOKEN, ...extra } });
const reconciling = (id: string, extra: Record<string, ConfigValue> = {}): Instance =>
  webhookOnly(id, { [CONFIG_KEYS.pollerReconcile]: 'true', ...extra });
const pollingOnly = (id: string, extra: Record<string, ConfigValue> = {}): Instance =>
  webhookOnly(id, { [CONFIG_KEYS.vendorType]: 'polling', ...extra });

/** A SightingLog that records every call and what the queue held at that moment. */
class SpySightings implements SightingLog {
  failure?: Error;
  readonly calls: { sightings: WebhookSighting[]; queuedBefore: number }[] = [];
  constructor(private readonly queue: MemoryEventQueue) {}

  async record(sightings: readonly WebhookSighting[]): Promise<void> {
    this.calls.push({ sightings: [...sightings], queuedBefore: this.queue.events.length });
    if (this.failure) throw this.failure;
  }
}

function setup(instances: Instance[]) {
  const queue = new MemoryEventQueue();
  const sightings = new SpySightings(queue);
  const telemetry = new RecordingTelemetry();
  const deps: IngestDeps = { instances: new MemoryInstanceStore(instances), queue, sightings, clock: fixedClock, telemetry };
  return { queue, sightings, telemetry, run: (request: IngestRequest) => ingest(request, deps) };
}

describe('ingest: webhook sightings', () => {
  it('records a sighting only for the reconciling instance of a fan-out, after the enqueue', async () => {
    const { queue, sightings, run } = setup([
      webhookOnly('plain'),
      reconciling('reconciling'),
      // Reconciliation asked for but unusable (no token): the poller does not poll it, so no sighting.
      reconciling('no-token', { [CONFIG_KEYS.accessToken]: '' }),
    ]);

    const result = await run(webhookRequest(webhookBody()));

    expect(result).toMatchObject({ status: 200, body: { queued: 3 } });
    expect(sightings.calls).toEqual([
      {
        sightings: [{ instanceId: 'reconciling', objectType: 'orders', objectId: 'B8HGD', at: EVENT_CREATED }],
        queuedBefore: 3,
      },
    ]);
    expect(queue.batches).toHaveLength(1);
  });

  it('makes no sighting call for webhook-only instances (one SQS call per notification)', async () => {
    const { sightings, run } = setup([webhookOnly('plain'), webhookOnly('webhook', { [CONFIG_KEYS.vendorType]: 'webhook' })]);
    expect((await run(webhookRequest(webhookBody()))).status).toBe(200);
    expect(sightings.calls).toEqual([]);
  });

  it('records nothing when the enqueue failed, and answers 503', async () => {
    const { queue, sightings, run } = setup([reconciling('reconciling')]);
    queue.failure = new Error('SendMessageBatch failed');
    expect((await run(webhookRequest(webhookBody()))).status).toBe(503);
    expect(sightings.calls).toEqual([]);
  });

  it('answers 200 when the sighting log fails, counting and logging it without secrets', async () => {
    const { queue, sightings, telemetry, run } = setup([reconciling('reconciling')]);
    sightings.failure = new Error('sightings queue unavailable');

    const result = await run(webhookRequest(webhookBody()));

    expect(result).toEqual({ status: 200, body: { queued: 1, eventId: EVENT_ID } });
    expect(queue.events).toHaveLength(1);
    expect(telemetry.countOf(INGEST_METRICS.sightingsNotRecorded)).toBe(1);
    const warning = telemetry.lines.find((line) => line.level === 'warn');
    expect(warning).toMatchObject({
      message: expect.stringContaining('sighting not recorded'),
      attributes: { eventId: EVENT_ID, instanceIds: ['reconciling'], error: 'sightings queue unavailable' },
    });
    const output = JSON.stringify(result) + JSON.stringify(telemetry.lines);
    for (const secret of [SECRET_A, ACCESS_TOKEN]) expect(output).not.toContain(secret);
  });

  it('does not sight ION posts or deletions (the poller cannot match them)', async () => {
    const { queue, sightings, run } = setup([
      reconciling('reconciling'),
      reconciling('legacy', { [CONFIG_KEYS.storeId]: parseIonForm(ION_NEW_ORDER).storeId }),
    ]);
    expect((await run(ionRequest(ION_NEW_ORDER))).status).toBe(200);
    const deleted = webhookBody({ eventType: 'order.deleted' });
    expect((await run(webhookRequest(deleted))).status).toBe(200);
    expect(queue.events.map((event) => event.eventType)).toEqual(['CREATED', 'DELETED']);
    expect(sightings.calls).toEqual([]);
  });

  it('feeds an in-memory log the poller reads: sighted at Ecwid eventCreated, gone once acknowledged', async () => {
    const log = new InMemorySightings();
    const body = webhookBody({ eventCreated: 1_714_541_188 });
    const result = await ingest(webhookRequest(body), {
      instances: new MemoryInstanceStore([reconciling('shop-a')]),
      queue: new MemoryEventQueue(),
      sightings: log,
      clock: fixedClock,
    });
    expect(result.status).toBe(200);
    const [sighting] = await log.receive();
    expect(sighting).toMatchObject({ instanceId: 'shop-a', objectType: 'orders', objectId: 'B8HGD', at: 1_714_541_188 });
    await log.acknowledge([sighting.handle]);
    expect(log.size).toBe(0);
  });
});

describe('ingest: polling-only instances', () => {
  it('answers 200 without queueing when every instance is polling only, and counts each', async () => {
    const { queue, sightings, telemetry, run } = setup([pollingOnly('poll-a'), pollingOnly('poll-b', { [CONFIG_KEYS.vendorType]: 'POLLING' })]);

    const result = await run(webhookRequest(webhookBody()));

    // The shared URL does not say why (see ingest.test.ts, disabled instances); the per-instance route does.
    expect(result).toEqual({ status: 200, body: { queued: 0, eventId: EVENT_ID } });
    expect(queue.batches).toEqual([]);
    expect(sightings.calls).toEqual([]);
    expect(telemetry.countOf(INGEST_METRICS.droppedPollingOnly)).toBe(2);
    expect(telemetry.countOf(INGEST_METRICS.droppedDisabled)).toBe(0);
    expect(telemetry.countOf(INGEST_METRICS.queued)).toBe(0);
    expect(telemetry.lines.filter((line) => line.message.includes('polling only')).map((line) => line.attributes.instanceId)).toEqual([
      'poll-a',
      'poll-b',
    ]);
    expect((await run(webhookRequest(webhookBody(), SECRET_A, { instanceId: 'poll-a' }))).body).toEqual({
      queued: 0,
      eventId: EVENT_ID,
      message: 'not queued: every instance of this store is polling only (event.vendor.type = polling)',
    });
  });

  it('skips a polling-only instance even when its polling settings are invalid (the operator chose polling)', async () => {
    const { queue, telemetry, run } = setup([pollingOnly('broken', { [CONFIG_KEYS.accessToken]: '', [CONFIG_KEYS.pollerRefreshInterval]: 'often' })]);
    expect(await run(webhookRequest(webhookBody()))).toMatchObject({ status: 200, body: { queued: 0 } });
    expect(queue.batches).toEqual([]);
    expect(telemetry.countOf(INGEST_METRICS.droppedPollingOnly)).toBe(1);
  });

  it('queues for the other instances of the store, and skips ION posts too', async () => {
    const { queue, run } = setup([pollingOnly('poll-a'), webhookOnly('plain'), reconciling('reconciling')]);
    expect((await run(webhookRequest(webhookBody()))).body).toMatchObject({ queued: 2 });

    const ion = setup([pollingOnly('legacy', { [CONFIG_KEYS.storeId]: parseIonForm(ION_NEW_ORDER).storeId })]);
    expect(await ion.run(ionRequest(ION_NEW_ORDER))).toMatchObject({ status: 200, body: { queued: 0 } });
    expect(ion.queue.batches).toEqual([]);
    expect(queue.events.map((event) => event.instanceId)).toEqual(['plain', 'reconciling']);
  });

  it('answers 200 for a polling-only instance named in the path, whatever the signature', async () => {
    const { queue, run } = setup([pollingOnly('poll-a')]);
    const result = await run(webhookRequest(webhookBody(), 'another-secret', { instanceId: 'poll-a' }));
    expect(result).toMatchObject({ status: 200, body: { queued: 0 } });
    expect(queue.batches).toEqual([]);
  });

  it('logs why when the instances are a mix of disabled and polling only', async () => {
    const { telemetry, run } = setup([pollingOnly('poll-a'), webhookOnly('off', { [CONFIG_KEYS.enabled]: 'false' })]);
    expect((await run(webhookRequest(webhookBody()))).body).toEqual({ queued: 0, eventId: EVENT_ID });
    expect(telemetry.lines.map((line) => [line.attributes.instanceId, line.message])).toEqual(
      expect.arrayContaining([
        ['poll-a', 'not queued: this instance is polling only (event.vendor.type = polling)'],
        ['off', 'not queued: event notifications are disabled for this instance'],
      ]),
    );
    expect(telemetry.countOf(INGEST_METRICS.droppedPollingOnly)).toBe(1);
    expect(telemetry.countOf(INGEST_METRICS.droppedDisabled)).toBe(1);
  });

  it("treats Open Connectors' `webhooks` and an unreadable vendor type as webhooks (a duplicate rather than a loss)", async () => {
    const { queue, run } = setup([
      webhookOnly('oc', { [CONFIG_KEYS.vendorType]: 'webhooks' }),
      webhookOnly('typo', { [CONFIG_KEYS.vendorType]: 'pollling' }),
    ]);
    expect((await run(webhookRequest(webhookBody()))).body).toMatchObject({ queued: 2 });
    expect(queue.events).toHaveLength(2);
  });
});
