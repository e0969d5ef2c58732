import { CONFIG_KEYS, type Instance } from '../../../functions/core/instance';
import { RECONCILE_LAG_SECONDS, SETTLE_SECONDS } from '../../../functions/core/poll/constants';
import type { PollState } from '../../../functions/core/poll/state';
import { POLL_METRICS } from '../../../functions/contract';
import { isDue, pollDueInstances, pollOnce, type PollRunDeps } from '../../../functions/core/poll/run';
import { PollLeasedError, PollNotConfiguredError } from '../../../functions/core/poll/errors';
import { InMemorySightings } from '../../../functions/core/sightings';
import { instanceDocument } from '../../../testkit/instances';
import { FakePollSource, ManualClock, MemoryCheckpoints, pollingInstance } from './fakes';
import { MemoryEventQueue, RecordingTelemetry } from '../../../testkit/ports';
import { FakeEcwidStore } from '../../../testkit/ecwid-store';

function fleet(instances: Instance[], extra: Partial<PollRunDeps> = {}) {
  const clock = new ManualClock();
  const store = new FakeEcwidStore();
  const source = new FakePollSource(store);
  const queue = new MemoryEventQueue();
  const checkpoints = new MemoryCheckpoints(clock.now);
  const telemetry = new RecordingTelemetry();
  const sightings = new InMemorySightings();
  const deps = (): PollRunDeps => ({
    listInstances: async () => ({ instances, problems: [{ id: 'broken', message: 'SSM parameter /p/instances/broken: is not valid JSON' }] }),
    loadAllStates: () => checkpoints.loadAll(),
    checkpoints,
    source,
    queue,
    clock: clock.now,
    telemetry,
    sightings,
    owner: 'run-1',
    leaseSeconds: 300,
    ...extra,
  });
  return { clock, store, source, queue, checkpoints, telemetry, sightings, run: () => pollDueInstances(deps()) };
}

describe('isDue', () => {
  const settings = { mode: 'polling', intervalMinutes: 15, objectTypes: ['orders'] } as const;
  const state = (lastAttemptAt?: string): PollState => ({ v: 1, cursors: {}, sent: {}, lastAttemptAt });
  const now = new Date('2024-05-01T12:15:00Z');
  test('never polled, or the interval has passed (less a minute of slack): due', () => {
    expect(isDue(undefined, settings, now)).toBe(true);
    expect(isDue(state('2024-05-01T12:01:00Z'), settings, now)).toBe(true);
    expect(isDue(state('2024-05-01T12:00:00Z'), settings, now)).toBe(true);
  });
  test('polled within the interval: not due', () => {
    expect(isDue(state('2024-05-01T12:02:00Z'), settings, now)).toBe(false);
  });
});

describe('pollDueInstances', () => {
  const webhookOnly: Instance = { id: 'hooks', document: instanceDocument({ configuration: { 'ecwid.access.token': 't' } }) };
  const disabled = pollingInstance('off', { [CONFIG_KEYS.enabled]: 'false' });
  const noToken: Instance = { id: 'no-token', document: instanceDocument({ configuration: { [CONFIG_KEYS.vendorType]: 'polling' } }) };

  test('polls the due polling instances only; reports the unreadable and misconfigured ones', async () => {
    const { clock, store, queue, telemetry, run } = fleet([pollingInstance('shop-a'), pollingInstance('shop-b'), webhookOnly, disabled, noToken]);
    store.createOrder(clock.seconds - 100);

    const summary = await run();

    expect(summary).toMatchObject({ polled: 2, due: 2, deferred: 0, misconfigured: 2 });
    expect(summary.results.map((r) => [r.instanceId, r.status, r.queued]).sort()).toEqual([
      ['shop-a', 'ok', 1],
      ['shop-b', 'ok', 1],
    ]);
    expect(queue.events.map((e) => e.instanceId).sort()).toEqual(['shop-a', 'shop-b']);
    expect(telemetry.countOf(POLL_METRICS.misconfigured)).toBe(2);
    expect(telemetry.lines.find((l) => l.attributes?.instanceId === 'no-token')?.attributes?.problems).toEqual([
      expect.stringContaining('ecwid.access.token is required'),
    ]);

    // Five minutes later nobody is due (15-minute interval); fifteen minutes later both are.
    clock.advance(300);
    expect((await run()).due).toBe(0);
    clock.advance(600);
    expect((await run()).due).toBe(2);
  });

  test('an instance another poll holds is skipped and counted, its lease untouched', async () => {
    const { checkpoints, telemetry, run } = fleet([pollingInstance('shop-a')]);
    await checkpoints.lock('shop-a', 'cli-backfill', 600);
    const summary = await run();
    expect(summary.results).toEqual([{ instanceId: 'shop-a', status: 'leased', queued: 0 }]);
    expect(telemetry.countOf(POLL_METRICS.skippedLeased)).toBe(1);
    expect(checkpoints.leases.get('shop-a')?.owner).toBe('cli-backfill');
  });

  test('the lease is released after the poll, also when it failed', async () => {
    const { checkpoints, source, run } = fleet([pollingInstance('shop-a')]);
    source.failWith = () => new Error('socket hang up');
    const summary = await run();
    expect(summary.results[0]).toMatchObject({ instanceId: 'shop-a', status: 'failed', error: 'socket hang up' });
    expect(checkpoints.leases.size).toBe(0);
  });

  test('past the deadline, due instances are deferred (longest-waiting first next time)', async () => {
    const clock = new ManualClock();
    const { run } = fleet([pollingInstance('shop-a'), pollingInstance('shop-b')], { deadline: clock.now().getTime() - 1, concurrency: 1 });
    const summary = await run();
    expect(summary).toMatchObject({ due: 2, deferred: 2, results: [] });
  });

  test('sightings: kept while a later window can need them, acknowledged once passed, dropped for instances not polled', async () => {
    const reconcile = pollingInstance('shop-a', { [CONFIG_KEYS.vendorType]: 'webhook', [CONFIG_KEYS.pollerReconcile]: 'true' });
    const { clock, store, queue, sightings, run } = fleet([reconcile]);
    const changedAt = clock.seconds - RECONCILE_LAG_SECONDS - 200;
    const reported = store.createOrder(changedAt);
    const fresh = clock.seconds - 30;
    await sightings.record([
      { instanceId: 'shop-a', objectType: 'orders', objectId: reported, at: changedAt },
      { instanceId: 'shop-a', objectType: 'orders', objectId: 'FRESH', at: fresh },
      { instanceId: 'hooks', objectType: 'orders', objectId: 'X', at: fresh },
    ]);

    const summary = await run();

    expect(summary.results[0]).toMatchObject({ status: 'ok', queued: 0 });
    expect(queue.events).toHaveLength(0);
    // The old sighting was used and is gone; the fresh one waits for the window that reaches it.
    expect((await sightings.receive()).map((s) => s.objectId)).toEqual(['FRESH']);
  });
});

describe('pollOnce (CLI)', () => {
  function once(instance: Instance) {
    const clock = new ManualClock();
    const store = new FakeEcwidStore();
    const queue = new MemoryEventQueue();
    const checkpoints = new MemoryCheckpoints(clock.now);
    const deps = { source: new FakePollSource(store), queue, checkpoints, clock: clock.now, owner: 'cli', leaseSeconds: 600 };
    return { clock, store, queue, checkpoints, poll: (since?: number) => pollOnce(instance, { sinceSeconds: since }, deps) };
  }

  test('polling mode: backfill and live edge', async () => {
    const { clock, store, queue, checkpoints, poll } = once(pollingInstance('shop-a'));
    const old = store.createOrder(clock.seconds - 86_400 * 2);
    const recent = store.createOrder(clock.seconds - 120);
    const outcome = await poll(clock.seconds - 86_400 * 3);
    expect(outcome.status).toBe('ok');
    expect(queue.events.map((e) => e.objectId).sort()).toEqual([old, recent].sort());
    expect(checkpoints.states.get('shop-a')!.cursors.orders!.to).toBe(clock.seconds - SETTLE_SECONDS);
    expect(checkpoints.leases.size).toBe(0);
  });

  test('webhook mode: a one-off backfill that leaves the live edge (and its webhooks) alone', async () => {
    const hooks: Instance = { id: 'hooks', document: instanceDocument({ configuration: { [CONFIG_KEYS.accessToken]: 't' } }) };
    const { clock, store, queue, poll } = once(hooks);
    const old = store.createOrder(clock.seconds - 86_400 * 2);
    store.createOrder(clock.seconds - 600);
    await poll(clock.seconds - 86_400 * 3);
    expect(queue.events.map((e) => e.objectId)).toEqual([old]);
  });

  test('refuses a leased instance and an instance that cannot be polled', async () => {
    const { checkpoints, poll } = once(pollingInstance('shop-a'));
    await checkpoints.lock('shop-a', 'scheduled-run', 600);
    await expect(poll()).rejects.toThrow(PollLeasedError);
    const { poll: pollBroken } = once({ id: 'x', document: instanceDocument({ configuration: { [CONFIG_KEYS.vendorType]: 'polling' } }) });
    await expect(pollBroken()).rejects.toThrow(PollNotConfiguredError);
  });
});
