/**
 * The receiver's side of delivery, end to end through the ledger's deliver flow (handleTicket +
 * the sweep) with the real DynamoDB adapters for the ledger and the health records on the
 * embedded engine (dynalite), a test clock and a scripted receiver: the circuit breaker holds
 * events without using their attempts and drains them in order when the receiver is back, a
 * pause holds, the filter records, a receiver failing too long is disabled with a notice.
 * (The same flow on moto: test/integration/receiver-gate.integration.test.ts.)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeliverySlots } from '../../functions/core/delivery-controls';
import { setPaused } from '../../functions/core/health-flow';
import type { Instance } from '../../functions/core/instance';
import { receiverOutcomeOf } from '../../functions/core/receiver-gate';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { breakerSettings } from '../../functions/core/health';
import { slowReceiverScenario } from '../support/slow-receiver-scenario';
import { down, ecwidDown, event, gateHarness, gone, instance, SETTINGS, T0, up } from '../support/receiver-gate-harness';

let server: DynamoDbEndpoint;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
});
afterAll(async () => {
  client.destroy();
  await server.stop();
});

const harness = (instances: Instance[], options: Parameters<typeof gateHarness>[3] = {}) => gateHarness(client, `gate-${++tables}`, instances, options);

describe('circuit breaker through the ledger', () => {
  test('opens after N failures spanning S, holds later events with attempts unused, probes one at a time, drains in order when back', async () => {
    const h = await harness([instance('shop-a'), instance('shop-b')]);
    h.setReceiver((e) => (e.instanceId === 'shop-a' ? down : up));
    // Every 10 s a new event for each shop, over 60 s.
    for (let n = 1; n <= 6; n++) {
      h.now.value = new Date(T0.getTime() + n * 10_000);
      await h.admit([event('shop-a', n), event('shop-b', n)]);
      await h.run(h.now.value);
    }
    const health = await h.store.get('shop-a');
    expect(health?.state).toBe('circuit-open');
    expect(h.notices.map((n) => n.type)).toEqual(['receiver.failing', 'receiver.circuit-open']);
    // shop-b was never held back.
    for (let n = 1; n <= 6; n++) expect((await h.entry('shop-b', `evt-${n}`)).status).toBe('delivered');

    // Events arriving between probes are held: the ledger says why; no attempt was used.
    h.now.value = new Date(T0.getTime() + 61_000);
    await h.admit([7, 8, 9].map((n) => event('shop-a', n, { receivedAt: h.now.value.toISOString() })));
    await h.run(h.now.value);
    for (const id of ['evt-7', 'evt-8', 'evt-9']) {
      expect(await h.entry('shop-a', id)).toMatchObject({ status: 'queued', heldBy: 'circuit-open', attemptCount: 0 });
    }
    const attemptsBefore = h.seen.filter((s) => s.startsWith('shop-a/')).length;
    const ticketsBefore = h.outcomes.length;

    // The receiver stays down for two more minutes: one probe per 10 s interval, never more; the
    // other held events are not looked at meanwhile (one ticket per probe, not one per held event).
    await h.run(new Date(T0.getTime() + 180_000));
    const probes = h.seen.filter((s) => s.startsWith('shop-a/')).length - attemptsBefore;
    expect(probes).toBeGreaterThanOrEqual(9);
    expect(probes).toBeLessThanOrEqual(13);
    expect(h.outcomes.length - ticketsBefore).toBeLessThanOrEqual(probes + 3);
    for (const id of ['evt-7', 'evt-8', 'evt-9']) expect((await h.entry('shop-a', id)).attemptCount).toBeLessThanOrEqual(1);
    expect((await h.store.get('shop-a'))?.state).toBe('circuit-open');

    // Back up: everything drains, each event delivered exactly once.
    h.setReceiver(() => up);
    const seenBefore = h.seen.length;
    await h.run();
    expect((await h.store.get('shop-a'))?.state).toBe('healthy');
    expect(h.notices.map((n) => n.type).at(-1)).toBe('receiver.recovered');
    const delivered = h.seen.slice(seenBefore);
    for (let n = 1; n <= 9; n++) {
      const entry = await h.entry('shop-a', `evt-${n}`);
      expect(entry.status).toBe('delivered');
      expect(entry.attempts.filter((a) => a.outcome === 'delivered')).toHaveLength(1);
    }
    expect(new Set(delivered).size).toBe(delivered.length);
  });

  test('with no new event after it opens, one held event still carries the probes: the receiver is found back at the next probe, not at the recheck', async () => {
    const h = await harness([instance('shop-a')]);
    // A 410 opens it at once; the events already queued are all held.
    h.setReceiver(() => gone);
    await h.admit([1, 2, 3].map((n) => event('shop-a', n)));
    await h.run(new Date(T0.getTime() + 5_000));
    expect((await h.store.get('shop-a'))?.state).toBe('circuit-open');
    // evt-1 failed (it waits for its retry); the other two are held.
    const held = await Promise.all([2, 3].map((n) => h.entry('shop-a', `evt-${n}`)));
    expect(held.map((e) => [e.status, e.heldBy])).toEqual([['queued', 'circuit-open'], ['queued', 'circuit-open']]);
    // Exactly one comes back at the probe time; the others wait for the wake-up (or their recheck).
    const dueSoon = held.filter((e) => Date.parse(e.dueAt!) <= T0.getTime() + 60_000);
    expect(dueSoon).toHaveLength(1);

    // Back up, and no new event arrives: the carrier's probe finds it within a probe interval or two.
    h.setReceiver(() => up);
    await h.run(new Date(T0.getTime() + 60_000));
    expect((await h.store.get('shop-a'))?.state).toBe('healthy');
    for (let n = 1; n <= 3; n++) expect((await h.entry('shop-a', `evt-${n}`)).status).toBe('delivered');
  });

  test('held events of one object keep their order behind the first', async () => {
    const h = await harness([instance('shop-a')]);
    h.setReceiver(() => gone);
    const sameObject = [1, 2, 3].map((n) => event('shop-a', n, { objectId: '500' }));
    await h.admit(sameObject);
    await h.run(new Date(T0.getTime() + 5_000));
    // 410 Gone opened the circuit at once.
    expect((await h.store.get('shop-a'))?.state).toBe('circuit-open');
    h.setReceiver(() => up);
    const before = h.seen.length;
    await h.run();
    expect(h.seen.slice(before)).toEqual(['shop-a/evt-1', 'shop-a/evt-2', 'shop-a/evt-3']);
  });

  test('an Ecwid API failure is not the receiver\'s: it never opens the circuit', async () => {
    const h = await harness([instance('shop-a')]);
    h.setReceiver(() => ecwidDown);
    await h.admit([event('shop-a', 1)]);
    await h.run(new Date(T0.getTime() + 600_000));
    expect(h.seen.length).toBeGreaterThan(5);
    expect(await h.store.get('shop-a')).toBeUndefined();
    expect(receiverOutcomeOf(down.kind === 'attempted' ? down.result : (undefined as never))).toEqual({ ok: false, error: 'callback answered 503', httpStatus: 503 });
  });

  test('a receiver failing past the disable period is disabled with a notice; its events are dropped and kept', async () => {
    const h = await harness([instance('shop-a')], { settings: { ...SETTINGS, disableAfterSeconds: 120 } });
    h.setReceiver(() => down);
    await h.admit([event('shop-a', 1), event('shop-a', 2)]);
    await h.run(new Date(T0.getTime() + 600_000));
    expect((await h.store.get('shop-a'))?.state).toBe('disabled');
    expect(h.notices.map((n) => n.type)).toContain('receiver.disabled');
    for (const id of ['evt-1', 'evt-2']) {
      expect(await h.entry('shop-a', id)).toMatchObject({ status: 'dropped', reason: 'receiver-disabled' });
    }
    // A new event for it is dropped the same way, never attempted.
    const seen = h.seen.length;
    await h.admit([event('shop-a', 3)]);
    await h.run();
    expect(h.seen.length).toBe(seen);
    expect((await h.entry('shop-a', 'evt-3')).detail).toMatch(/no successful delivery/);
  });
});

describe('pause, filter, slots', () => {
  test('paused: held (not attempted, not dropped); resumed: delivered in order', async () => {
    const h = await harness([instance('shop-a')]);
    await setPaused('shop-a', true, { store: h.store, clock: () => h.now.value });
    await h.admit([1, 2, 3].map((n) => event('shop-a', n, { objectId: '7' })));
    await h.run(new Date(T0.getTime() + 300_000));
    expect(h.seen).toEqual([]);
    expect(await h.entry('shop-a', 'evt-1')).toMatchObject({ status: 'queued', heldBy: 'paused', attemptCount: 0 });
    // What `instances resume` does: the record, then a ticket for each held event at once.
    await setPaused('shop-a', false, { store: h.store, clock: () => h.now.value });
    // One ticket: the object's later events wait behind its first, parked, and follow it.
    expect(await h.wake('shop-a')).toBe(1);
    await h.run(h.now.value);
    expect(h.seen).toEqual(['shop-a/evt-1', 'shop-a/evt-2', 'shop-a/evt-3']);
  });

  test('an instance filtered to order.* never receives a product event; it is recorded as filtered', async () => {
    const h = await harness([instance('shop-a', { 'event.notification.types': 'order.*' })]);
    await h.admit([
      event('shop-a', 1, { ecwidEventType: 'product.updated', objectType: 'product' }),
      event('shop-a', 2, { ecwidEventType: 'order.created' }),
      event('shop-a', 3, { ecwidEventType: 'new_order', source: 'ion' }),
    ]);
    await h.run();
    expect(h.seen).toEqual(['shop-a/evt-2', 'shop-a/evt-3']);
    expect(await h.entry('shop-a', 'evt-1')).toMatchObject({ status: 'filtered', reason: 'event-type', detail: 'product.updated is not in event.notification.types (order.*)' });
  });

  test('a receiver at its rate limit: the event waits for a token, or is held when the wait is too long', async () => {
    const slots = new DeliverySlots(4);
    const h = await harness([instance('shop-a', { 'event.notification.rate_limit': '0.1' })], { slots, maxSlotWaitMs: 1000 });
    await h.admit([event('shop-a', 1), event('shop-a', 2)]);
    await h.run(new Date(T0.getTime() + 5_000));
    expect(h.seen).toEqual(['shop-a/evt-1']);
    expect(await h.entry('shop-a', 'evt-2')).toMatchObject({ status: 'queued', heldBy: 'rate-limited', attemptCount: 0 });
    await h.run();
    expect(h.seen).toEqual(['shop-a/evt-1', 'shop-a/evt-2']);
    // Every slot was given back.
    expect(slots.inFlight()).toBe(0);
  });
});

describe('a slow receiver', () => {
  test("its slowness is the callback's own time, not the Ecwid API read before it", () => {
    expect(receiverOutcomeOf({ ok: true, httpStatus: 200, durationMs: 9_000, receiverMs: 30 })).toEqual({ ok: true, durationMs: 30 });
    expect(receiverOutcomeOf({ ok: false, errorClass: 'timeout', error: 'timed out', durationMs: 10_100, receiverMs: 10_000 })).toEqual({ ok: false, error: 'timed out', durationMs: 10_000 });
    // Not timed (a result from before the field): slowness unknown, the state is left as it is.
    expect(receiverOutcomeOf({ ok: true, httpStatus: 200, durationMs: 9_000 })).toEqual({ ok: true });
  });

  test('an attempt still running after slowAfterMs caps it across workers: its other events are held (attempts unused), woken one by one, all at once when it answers fast', async () => {
    const h = await harness([instance('shop-slow'), instance('shop-fast')], {
      settings: breakerSettings({ ...SETTINGS, slowMaxInFlight: 1 }),
      after: (ms, fn) => {
        timers.push({ ms, fn });
        return () => undefined;
      },
    });
    const timers: { ms: number; fn: () => void }[] = [];
    await slowReceiverScenario(h, timers);
  });
});
