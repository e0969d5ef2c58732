import { compactState, stateBytes, type PollState } from '../../../functions/core/poll/state';
import { describeObject } from '../../../functions/core/ecwid/objects';
import { ecwidDateSeconds } from '../../../functions/core/ecwid/dates';
import { MAX_RAW_BYTES, MAX_STATE_BYTES, MAX_WINDOW_ITEMS, OVERLAP_SECONDS, POLL_PAGE_LIMIT, RECONCILE_LAG_SECONDS, SETTLE_SECONDS } from '../../../functions/core/poll/constants';
import { PollAuthError, PollRateLimitedError } from '../../../functions/core/poll/errors';
import { pollInstance, type PollRequest } from '../../../functions/core/poll/session';
import { POLL_METRICS } from '../../../functions/contract';
import { pollSettingsOf, type PollSettings } from '../../../functions/core/poll/settings';
import { ACCESS_TOKEN, FakePollSource, ManualClock, MemoryCheckpoints, pollingInstance } from './fakes';
import { MemoryEventQueue, RecordingTelemetry } from '../../../testkit/ports';
import { ecwidDate, FakeEcwidStore } from '../../../testkit/ecwid-store';

const ORDERS_EVERY_15: PollSettings = { mode: 'polling', intervalMinutes: 15, objectTypes: ['orders'] };

function setup(settings: PollSettings = ORDERS_EVERY_15) {
  const clock = new ManualClock();
  const store = new FakeEcwidStore();
  const source = new FakePollSource(store);
  const queue = new MemoryEventQueue();
  const checkpoints = new MemoryCheckpoints(clock.now);
  const telemetry = new RecordingTelemetry();
  const instance = pollingInstance();
  const deps = { source, queue, checkpoints, clock: clock.now, telemetry };
  const poll = (extra: Partial<PollRequest> = {}) => pollInstance({ instance, settings, ...extra }, deps);
  return { clock, store, source, queue, checkpoints, telemetry, instance, poll };
}

describe('pollInstance: events', () => {
  test('a new order becomes one CREATED event, an older order changed since becomes UPDATED', async () => {
    const { clock, store, queue, poll } = setup();
    const fresh = store.createOrder(clock.seconds - 300);
    const old = store.createOrder(clock.seconds - 86_400 * 30);
    store.update('orders', old, clock.seconds - 200, { paymentStatus: 'PAID' });
    store.createOrder(clock.seconds - 86_400); // unchanged for a day: outside the first window

    const outcome = await poll();

    expect(outcome.status).toBe('ok');
    expect(queue.events).toHaveLength(2);
    const byId = Object.fromEntries(queue.events.map((e) => [e.objectId, e]));
    expect(byId[fresh]).toMatchObject({
      v: 1,
      eventId: `poll:orders:${fresh}:${clock.seconds - 300}`,
      instanceId: 'shop-a',
      storeId: '1003',
      source: 'poll',
      verified: true,
      objectType: 'orders',
      eventType: 'CREATED',
      ecwidEventType: 'order.created',
      occurredAt: new Date((clock.seconds - 300) * 1000).toISOString(),
      receivedAt: clock.now().toISOString(),
      raw: expect.objectContaining({ id: fresh, paymentStatus: 'AWAITING_PAYMENT' }),
    });
    expect(byId[old]).toMatchObject({ eventType: 'UPDATED', ecwidEventType: 'order.updated', raw: expect.objectContaining({ paymentStatus: 'PAID' }) });
  });

  test('the request carries the token, the store, the window and the page size Ecwid allows', async () => {
    const { clock, source, poll } = setup();
    await poll();
    const edge = clock.seconds - SETTLE_SECONDS;
    expect(source.requests[0]).toEqual({
      storeId: '1003',
      accessToken: ACCESS_TOKEN,
      objectType: 'orders',
      updatedFrom: edge - 15 * 60 - OVERLAP_SECONDS,
      updatedTo: edge,
      offset: 0,
      limit: POLL_PAGE_LIMIT,
    });
  });

  test('products and customers (date strings only) are polled when configured', async () => {
    const { clock, store, queue, poll } = setup({ mode: 'polling', intervalMinutes: 15, objectTypes: ['products', 'customers'] });
    store.createProduct(77, clock.seconds - 400);
    store.createCustomer(5, clock.seconds - 86_400);
    store.update('customers', '5', clock.seconds - 120);

    await poll();

    expect(queue.events.map((e) => [e.objectType, e.objectId, e.eventType, e.ecwidEventType])).toEqual([
      ['products', '77', 'CREATED', 'product.created'],
      ['customers', '5', 'UPDATED', 'customer.updated'],
    ]);
  });

  test('an object too large for a queue message is queued as a stub that says so', async () => {
    const { clock, store, queue, poll } = setup();
    const id = store.createOrder(clock.seconds - 100, { privateAdminNotes: 'x'.repeat(MAX_RAW_BYTES + 10) });
    await poll();
    expect(queue.events[0].raw).toEqual({ id, updateTimestamp: clock.seconds - 100, _truncated: expect.stringContaining('larger than') });
  });
});

describe('pollInstance: nothing missed, nothing twice', () => {
  test('the next poll queues only what changed since; the overlap re-read is not queued again', async () => {
    const { clock, store, queue, poll, checkpoints } = setup();
    const a = store.createOrder(clock.seconds - 100);
    await poll();
    expect(queue.changes()).toEqual([`orders:${a}@${clock.seconds - 100}`]);

    clock.advance(15 * 60);
    const b = store.createOrder(clock.seconds - 500);
    store.update('orders', a, clock.seconds - 400);
    await poll();

    expect(queue.changes().slice(1).sort()).toEqual([`orders:${a}@${clock.seconds - 400}`, `orders:${b}@${clock.seconds - 500}`].sort());
    // Polled again with nothing new: the window overlaps the previous one, yet nothing is queued.
    clock.advance(60);
    await poll();
    expect(queue.events).toHaveLength(3);
    expect(checkpoints.states.get('shop-a')?.cursors.orders?.to).toBe(clock.seconds - SETTLE_SECONDS);
  });

  test('a change inside the overlap of two windows (the boundary) is queued once', async () => {
    const { clock, store, queue, poll } = setup();
    await poll();
    const edge = clock.seconds - SETTLE_SECONDS;
    // Updated exactly at the first window's upper bound, but only visible to the search later
    // (index lag): the next window reaches back OVERLAP_SECONDS and finds it.
    clock.advance(300);
    const late = store.createOrder(edge);
    await poll();
    clock.advance(300);
    await poll();
    expect(queue.changes()).toEqual([`orders:${late}@${edge}`]);
  });

  test('pages through more than one page, each object once', async () => {
    const { clock, store, queue, poll, source } = setup();
    for (let i = 0; i < 250; i++) store.createOrder(clock.seconds - 800 + i);
    await poll();
    expect(queue.events).toHaveLength(250);
    expect(new Set(queue.events.map((e) => e.objectId)).size).toBe(250);
    expect(source.requests.map((r) => r.offset)).toEqual([0, 100, 200]);
  });

  test('the window changing while it is paged through is scanned again, and nothing is skipped', async () => {
    const { clock, store, queue, poll, source, telemetry } = setup();
    const ids = Array.from({ length: 150 }, (_, i) => store.createOrder(clock.seconds - 800 + i));
    // Before page 2: the newest order changes again (it leaves the closed window, the rest shift
    // one place up, and page 2 would start one object too late).
    source.beforeList = (_request, call) => {
      if (call === 2) store.update('orders', ids[149], clock.seconds);
    };
    const outcome = await poll();

    expect(outcome.status).toBe('ok');
    expect(telemetry.countOf(POLL_METRICS.rescans)).toBe(1);
    expect(new Set(queue.events.map((e) => e.objectId))).toEqual(new Set(ids));
    expect(queue.events).toHaveLength(150);
  });

  test('a window that never settles stops the poll without moving the cursor', async () => {
    const { clock, store, poll, source, checkpoints, telemetry } = setup();
    const ids = Array.from({ length: 150 }, (_, i) => store.createOrder(clock.seconds - 800 + i));
    let next = 149;
    source.beforeList = (request) => {
      if (request.offset > 0) store.update('orders', ids[next--], clock.seconds);
    };
    const before = (await poll()).state; // cursor initialized by the failed first poll
    expect(before.lastStatus).toBe('unstable');
    expect(telemetry.countOf(POLL_METRICS.unstable)).toBe(1);
    expect(checkpoints.states.get('shop-a')?.cursors.orders?.to).toBe(clock.seconds - SETTLE_SECONDS - 15 * 60);
  });

  test('a window with more changes than MAX_WINDOW_ITEMS is split and every change queued once', async () => {
    const { clock, store, queue, poll, checkpoints } = setup({ mode: 'polling', intervalMinutes: 60, objectTypes: ['orders'] });
    const count = MAX_WINDOW_ITEMS * 2 + 50;
    for (let i = 0; i < count; i++) store.createOrder(clock.seconds - 3000 + Math.floor(i / 2));
    const outcome = await poll();
    expect(outcome.status).toBe('ok');
    expect(queue.events).toHaveLength(count);
    expect(new Set(queue.events.map((e) => e.objectId)).size).toBe(count);
    expect(checkpoints.states.get('shop-a')?.cursors.orders?.to).toBe(clock.seconds - SETTLE_SECONDS);
  });

  test('webhook sightings: a change a webhook reported is skipped, a later change of that object is not', async () => {
    const { clock, store, queue, poll, telemetry } = setup({ mode: 'reconcile', intervalMinutes: 15, objectTypes: ['orders'] });
    const at = clock.seconds - RECONCILE_LAG_SECONDS - 300;
    const reported = store.createOrder(at);
    const missed = store.createOrder(at - 10);
    store.update('orders', missed, at + 20);
    const outcome = await poll({
      sightings: [
        { instanceId: 'shop-a', objectType: 'orders', objectId: reported, at: at + 1 },
        // A webhook about an earlier change of `missed`: its later change still goes out.
        { instanceId: 'shop-a', objectType: 'orders', objectId: missed, at: at - 10 },
      ],
    });
    expect(queue.changes()).toEqual([`orders:${missed}@${at + 20}`]);
    expect(outcome.reportedByWebhook).toBe(1);
    expect(telemetry.countOf(POLL_METRICS.reportedByWebhook)).toBe(1);
  });

  test('reconciliation trails real time by RECONCILE_LAG_SECONDS: a fresh change waits for its webhook', async () => {
    const { clock, store, queue, poll } = setup({ mode: 'reconcile', intervalMinutes: 15, objectTypes: ['orders'] });
    const id = store.createOrder(clock.seconds - 60);
    await poll();
    expect(queue.events).toHaveLength(0);
    clock.advance(RECONCILE_LAG_SECONDS);
    await poll();
    expect(queue.changes()).toEqual([`orders:${id}@${clock.seconds - RECONCILE_LAG_SECONDS - 60}`]);
  });
});

describe('pollInstance: failures keep the checkpoint', () => {
  test('401/403: auth-failed, counted, logged without the token, cursor and state unchanged apart from the attempt', async () => {
    const { clock, store, queue, poll, source, checkpoints, telemetry } = setup();
    store.createOrder(clock.seconds - 100);
    await poll();
    const cursorBefore = checkpoints.states.get('shop-a')?.cursors.orders;

    clock.advance(900);
    store.createOrder(clock.seconds - 100);
    source.failWith = () => new PollAuthError('Ecwid API GET /v3/1003/orders answered HTTP 403: the access token is not accepted', 403);
    const outcome = await poll();

    expect(outcome.status).toBe('auth-failed');
    expect(telemetry.countOf(POLL_METRICS.authFailed)).toBe(1);
    const state = checkpoints.states.get('shop-a')!;
    expect(state.cursors.orders).toEqual(cursorBefore);
    expect(state).toMatchObject({ lastStatus: 'auth-failed', lastAttemptAt: clock.now().toISOString() });
    expect(queue.events).toHaveLength(1);
    expect(JSON.stringify(telemetry.lines)).not.toContain(ACCESS_TOKEN);
    expect(JSON.stringify(state)).not.toContain(ACCESS_TOKEN);

    // Token fixed: the missed order arrives.
    source.failWith = undefined;
    clock.advance(900);
    expect((await poll()).status).toBe('ok');
    expect(queue.events).toHaveLength(2);
  });

  test('rate limited beyond the client retries: rate-limited, cursor unchanged', async () => {
    const { poll, source, checkpoints, telemetry } = setup();
    source.failWith = () => new PollRateLimitedError('answered HTTP 429 (rate limited; gave up after 5 attempts)', 30);
    const outcome = await poll();
    expect(outcome.status).toBe('rate-limited');
    expect(telemetry.countOf(POLL_METRICS.rateLimited)).toBe(1);
    const cursor = checkpoints.states.get('shop-a')!.cursors.orders!;
    expect(cursor.to).toBe(cursor.from + OVERLAP_SECONDS);
  });

  test('a queue failure does not move the cursor; the next poll queues the change', async () => {
    const { clock, store, queue, poll, checkpoints } = setup();
    const id = store.createOrder(clock.seconds - 100);
    queue.failNext = 1;
    const outcome = await poll();
    expect(outcome).toMatchObject({ status: 'failed', queued: 0, error: expect.stringContaining('did not accept 1 events') });
    const cursor = checkpoints.states.get('shop-a')!.cursors.orders!;
    expect(cursor.to).toBeLessThan(clock.seconds - 100);

    clock.advance(900);
    await poll();
    expect(queue.changes()).toEqual([`orders:${id}@${clock.seconds - 900 - 100}`]);
  });

  test('the deadline stops between pages: what was queued is remembered, the window is scanned again next time', async () => {
    const { clock, store, queue, poll, source, checkpoints } = setup();
    for (let i = 0; i < 150; i++) store.createOrder(clock.seconds - 800 + i);
    const deadline = clock.now().getTime() + 1;
    source.beforeList = () => clock.advance(1);
    const first = await poll({ deadline });
    expect(first.status).toBe('partial');
    expect(queue.events).toHaveLength(100);
    expect(checkpoints.states.get('shop-a')!.cursors.orders!.to).toBeLessThan(clock.seconds - 800);

    source.beforeList = undefined;
    clock.advance(60);
    const second = await poll();
    expect(second.status).toBe('ok');
    expect(second.duplicates).toBe(100);
    expect(queue.events).toHaveLength(150);
    expect(new Set(queue.events.map((e) => e.objectId)).size).toBe(150);
  });
});

describe('pollInstance: backfill', () => {
  test('--since reaches back before the cursor; what live windows covered is not queued again', async () => {
    const { clock, store, queue, poll, checkpoints } = setup();
    const old = store.createOrder(clock.seconds - 86_400 * 3);
    const recent = store.createOrder(clock.seconds - 120);
    await poll();
    expect(queue.changes()).toEqual([`orders:${recent}@${clock.seconds - 120}`]);

    clock.advance(300);
    const since = clock.seconds - 86_400 * 7;
    const outcome = await poll({ sinceSeconds: since });
    expect(outcome.status).toBe('ok');
    expect(queue.changes()).toEqual([`orders:${recent}@${clock.seconds - 420}`, `orders:${old}@${clock.seconds - 300 - 86_400 * 3}`]);
    const cursor = checkpoints.states.get('shop-a')!.cursors.orders!;
    expect(cursor).toEqual({ from: since, to: clock.seconds - SETTLE_SECONDS });

    // A second backfill over the same span finds nothing new.
    await poll({ sinceSeconds: since });
    expect(queue.events).toHaveLength(2);
  });

  test('liveEdge false backfills only and leaves the live edge where it was', async () => {
    const { clock, store, queue, poll, checkpoints } = setup({ mode: 'reconcile', intervalMinutes: 15, objectTypes: ['orders'] });
    const old = store.createOrder(clock.seconds - 86_400);
    store.createOrder(clock.seconds - RECONCILE_LAG_SECONDS - 60); // inside the live window: not touched
    const outcome = await poll({ sinceSeconds: clock.seconds - 2 * 86_400, liveEdge: false });
    expect(outcome.status).toBe('ok');
    expect(queue.changes()).toEqual([`orders:${old}@${clock.seconds - 86_400}`]);
    const cursor = checkpoints.states.get('shop-a')!.cursors.orders!;
    expect(cursor.to).toBe(clock.seconds - RECONCILE_LAG_SECONDS - 15 * 60);
  });
});

describe('state', () => {
  test('compactState keeps the newest remembered changes and stays under MAX_STATE_BYTES', () => {
    const sent: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) sent[`orders:ORDER-NUMBER-${i}`] = 1_700_000_000 + i;
    const state: PollState = { v: 1, cursors: { orders: { from: 1, to: 2 } }, sent };
    const { state: compacted, dropped } = compactState(state);
    expect(stateBytes(compacted)).toBeLessThanOrEqual(MAX_STATE_BYTES);
    const kept = Object.values(compacted.sent);
    expect(Math.min(...kept)).toBeGreaterThan(1_700_000_000);
    expect(compacted.sent['orders:ORDER-NUMBER-999']).toBe(1_700_000_999);
    expect(dropped).toBe(1000 - kept.length);
    expect(compactState(compacted)).toEqual({ state: compacted, dropped: 0 });
  });

  test('a poll whose state outgrows MAX_STATE_BYTES saves it compacted and counts the truncation', async () => {
    const { clock, checkpoints, telemetry, poll } = setup();
    // Remembered changes inside the overlap of a cursor already at the edge: all kept by the poll.
    const edge = clock.seconds - SETTLE_SECONDS;
    const sent: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) sent[`orders:ORDER-NUMBER-${i}`] = edge - i % 60;
    checkpoints.states.set('shop-a', { v: 1, cursors: { orders: { from: edge - 900, to: edge } }, sent });

    await poll();

    const saved = checkpoints.states.get('shop-a')!;
    expect(stateBytes(saved)).toBeLessThanOrEqual(MAX_STATE_BYTES);
    expect(Object.keys(saved.sent).length).toBeLessThan(1000);
    expect(telemetry.countOf(POLL_METRICS.stateTruncated)).toBe(1);
    expect(telemetry.lines.find((line) => line.message.startsWith('poll state too large'))?.attributes).toMatchObject({
      dropped: 1000 - Object.keys(saved.sent).length,
    });
  });

  test('the remembered changes are pruned to the overlap', async () => {
    const { clock, store, poll, checkpoints } = setup();
    const id = store.createOrder(clock.seconds - 300);
    await poll();
    expect(checkpoints.states.get('shop-a')!.sent).toEqual({});
    const late = store.createOrder(clock.seconds - SETTLE_SECONDS - 10);
    clock.advance(60);
    await poll();
    expect(checkpoints.states.get('shop-a')!.sent).toEqual({ [`orders:${late}`]: clock.seconds - 60 - SETTLE_SECONDS - 10 });
    expect(id).toBeDefined();
  });
});

describe('describeObject and Ecwid dates', () => {
  test('reads ids and times of each collection', () => {
    expect(describeObject('orders', { id: 'EBJFT', orderNumber: 492512057, createTimestamp: 1714541188, updateTimestamp: 1714541190 })).toEqual({
      objectId: 'EBJFT',
      createdAt: 1714541188,
      updatedAt: 1714541190,
    });
    expect(describeObject('orders', { orderNumber: 1028, createDate: '2018-05-31 15:08:36 +0000', updateDate: '2018-05-31 15:09:35 +0000' })).toEqual({
      objectId: '1028',
      createdAt: 1527779316,
      updatedAt: 1527779375,
    });
    expect(describeObject('customers', { id: 177737165, registered: '2021-12-21 06:05:58 +0000', updated: '2024-06-04 21:15:10 +0000' })).toEqual({
      objectId: '177737165',
      createdAt: Date.UTC(2021, 11, 21, 6, 5, 58) / 1000,
      updatedAt: Date.UTC(2024, 5, 4, 21, 15, 10) / 1000,
    });
    expect(describeObject('products', { id: 5, createTimestamp: 1 })).toBeUndefined();
    expect(describeObject('products', { updateTimestamp: 1 })).toBeUndefined();
  });

  test('ecwidDateSeconds honours the zone offset', () => {
    expect(ecwidDateSeconds('2014-10-15 16:54:11 +0400')).toBe(Date.UTC(2014, 9, 15, 12, 54, 11) / 1000);
    expect(ecwidDateSeconds(ecwidDate(1_700_000_000))).toBe(1_700_000_000);
    expect(ecwidDateSeconds('yesterday')).toBeUndefined();
  });

  test('the settings of the fixture-style instance say polling, every 15 minutes, orders', () => {
    expect(pollSettingsOf(pollingInstance().document)).toEqual({ kind: 'on', settings: ORDERS_EVERY_15 });
  });
});
