/**
 * Three simulated hours of a store: orders and products are created and changed, a third of the
 * webhooks are lost, Ecwid rate-limits every fifth search and an order changes while a window is
 * paged through. Webhooks go through the real ingest use case (with sightings), polls through the
 * real Ecwid client against a fake Ecwid API on 127.0.0.1, every five simulated minutes.
 *
 * Afterwards: every object's last state reached the queue (nothing missed), no polled change was
 * queued twice, and no change a webhook delivered was polled again (nothing duplicated).
 */
import { randomUUID } from 'node:crypto';
import { EcwidPollClient } from '../../functions/adapters/http/ecwid-poll-client';
import type { QueuedEvent } from '../../functions/core/event';
import { ingest } from '../../functions/core/ingest';
import { CONFIG_KEYS, type Instance } from '../../functions/core/instance';
import { RECONCILE_LAG_SECONDS } from '../../functions/core/poll/constants';
import { POLL_METRICS } from '../../functions/contract';
import type { PollObjectType } from '../../functions/core/poll/settings';
import { pollDueInstances } from '../../functions/core/poll/run';
import { InMemorySightings } from '../../functions/core/sightings';
import { instanceDocument } from '../../testkit/instances';
import { ecwidSignatureFor } from '../../testkit/events';
import { ManualClock, MemoryCheckpoints } from '../core/poll/fakes';
import { MemoryEventQueue, RecordingTelemetry } from '../../testkit/ports';
import { startEcwidSearchApi, type EcwidSearchApi } from '../../testkit/ecwid-api';

const TOKEN = 'secret_fake_token';
const APP_SECRET = 'app-client-secret';
const STEP_SECONDS = 300;

const instance = (id: string, configuration: Record<string, string>): Instance => ({
  id,
  document: instanceDocument({
    storeId: '1003',
    configuration: {
      [CONFIG_KEYS.accessToken]: TOKEN,
      [CONFIG_KEYS.pollerConfiguration]: 'orders,products',
      [CONFIG_KEYS.pollerRefreshInterval]: '15',
      ...configuration,
    },
  }),
});
// Webhooks verify for both instances (one app); ingest queues them only for the reconciling one,
// since the other is polling only.
const reconciling = instance('shop-r', { [CONFIG_KEYS.pollerReconcile]: 'true', [CONFIG_KEYS.clientSecret]: APP_SECRET });
const pollingOnly = instance('shop-p', { [CONFIG_KEYS.vendorType]: 'polling', [CONFIG_KEYS.clientSecret]: APP_SECRET });

let server: EcwidSearchApi;
beforeAll(async () => {
  server = await startEcwidSearchApi('1003', TOKEN);
});
afterAll(() => server.close());

test('three hours of changes: nothing missed, nothing duplicated across polls and webhooks', async () => {
  const clock = new ManualClock();
  const queue = new MemoryEventQueue();
  const sightings = new InMemorySightings();
  const checkpoints = new MemoryCheckpoints(clock.now);
  const telemetry = new RecordingTelemetry();
  const store = server.store;
  const instances = [reconciling, pollingOnly];
  const source = new EcwidPollClient({ baseUrl: server.baseUrl, sleep: async () => undefined, clock: clock.now });

  /** `${type}:${id}` -> eventCreated of every webhook that reached the queue (shop-r only). */
  const webhooked = new Map<string, number[]>();
  let changes = 0;
  const changed = async (type: PollObjectType, id: string, at: number, action: 'created' | 'updated') => {
    changes += 1;
    if (changes % 3 === 0) return; // this webhook is lost
    const entity = type === 'orders' ? 'order' : 'product';
    const body = {
      eventId: randomUUID(),
      eventCreated: at,
      storeId: 1003,
      entityId: type === 'orders' ? 900_000 + changes : Number(id),
      eventType: `${entity}.${action}`,
      ...(type === 'orders' ? { data: { orderId: id } } : {}),
    };
    const result = await ingest(
      {
        method: 'POST',
        path: '/events/ecwid',
        headers: { 'content-type': 'application/json', 'x-ecwid-webhook-signature': ecwidSignatureFor(APP_SECRET, at, body.eventId) },
        body: Buffer.from(JSON.stringify(body)),
      },
      { instances: { get: async (i) => instances.find((x) => x.id === i), findByStore: async () => instances }, queue, sightings, clock: clock.now },
    );
    expect(result).toMatchObject({ status: 200, body: { queued: 1 } });
    const key = `${type}:${id}`;
    webhooked.set(key, [...(webhooked.get(key) ?? []), at]);
  };

  const runPoller = () =>
    pollDueInstances({
      listInstances: async () => ({ instances }),
      loadAllStates: () => checkpoints.loadAll(),
      checkpoints,
      source,
      queue,
      sightings,
      clock: clock.now,
      telemetry,
      owner: 'scheduled',
      leaseSeconds: 240,
      concurrency: 2,
    });

  server.rateLimitEvery = 5;
  const orders: string[] = [];
  let productId = 500;
  let disturbed = false;
  for (let step = 0; step < 36; step++) {
    const start = clock.seconds;
    clock.advance(STEP_SECONDS);
    // Activity during the step, at increasing seconds within it.
    let at = start + 5;
    const busy = step === 10 || step === 21;
    const burst = busy ? 150 : 3;
    for (let i = 0; i < burst; i++) {
      const id = store.createOrder(at);
      orders.push(id);
      await changed('orders', id, at, 'created');
      at += busy ? 1 : 40;
    }
    for (const index of [step * 7, step * 13 + 1]) {
      const id = orders[index % orders.length];
      at += 11;
      store.update('orders', id, at, { fulfillmentStatus: `STEP_${step}` });
      await changed('orders', id, at, 'updated');
    }
    if (step % 3 === 0) {
      productId += 1;
      at += 3;
      store.createProduct(productId, at);
      await changed('products', String(productId), at, 'created');
    }
    if (step === 20) {
      // While the next poll pages through a window, an order in it changes again.
      server.beforeSearch = (type, query) => {
        if (disturbed || type !== 'orders' || query.offset === '0') return;
        disturbed = true;
        // The newest order of the window being paged: it leaves the window, the rest shift up.
        const [inWindow] = store.search('orders', Number(query.updatedFrom), Number(query.updatedTo), 0, 1).items;
        store.update('orders', String(inWindow.id), clock.seconds - 1, { fulfillmentStatus: 'DURING_SCAN' });
      };
    }
    await runPoller();
  }
  // Quiet time: the reconciliation window (30 minutes behind) catches up.
  for (let step = 0; step < (RECONCILE_LAG_SECONDS + 3600) / STEP_SECONDS; step++) {
    clock.advance(STEP_SECONDS);
    await runPoller();
  }

  const polled = (instanceId: string) => queue.events.filter((e) => e.instanceId === instanceId && e.source === 'poll');
  const changeOf = (e: QueuedEvent) => `${e.objectType}:${e.objectId}@${Math.floor(Date.parse(e.occurredAt!) / 1000)}`;
  const finalStates = [
    ...[...store.objects.orders.values()].map((o) => `orders:${o.id}@${o.updateTimestamp}`),
    ...[...store.objects.products.values()].map((p) => `products:${p.id}@${p.updateTimestamp}`),
  ];

  // Polling only: every object's last state was polled, and no change twice.
  const pollingChanges = polled('shop-p').map(changeOf);
  expect(new Set(pollingChanges).size).toBe(pollingChanges.length);
  expect(finalStates.filter((s) => !pollingChanges.includes(s))).toEqual([]);
  expect(queue.events.filter((e) => e.instanceId === 'shop-p' && e.source !== 'poll')).toEqual([]);

  // Webhooks plus reconciliation: every last state arrived by webhook or by poll ...
  const reconciled = polled('shop-r').map(changeOf);
  const byWebhook = (state: string) => {
    const [key, at] = state.split('@');
    return (webhooked.get(key) ?? []).includes(Number(at));
  };
  expect(finalStates.filter((s) => !byWebhook(s) && !reconciled.includes(s))).toEqual([]);
  // ... no polled change twice, and none that a webhook had delivered.
  expect(new Set(reconciled).size).toBe(reconciled.length);
  expect(reconciled.filter(byWebhook)).toEqual([]);

  // The run did exercise what it claims to.
  expect(reconciled.length).toBeGreaterThan(20); // lost webhooks were made good
  expect(telemetry.countOf(POLL_METRICS.reportedByWebhook)).toBeGreaterThan(50);
  expect(telemetry.countOf(POLL_METRICS.rescans)).toBeGreaterThanOrEqual(1);
  expect(disturbed).toBe(true);
  expect(server.requests.filter((r) => r.status === 429).length).toBeGreaterThan(10);
  expect(server.requests.some((r) => r.query.offset === '100')).toBe(true);
  expect(sightings.size).toBeLessThan(10); // used sightings were acknowledged
}, 60_000);
