import { coalescingHealthStore } from '../../functions/core/health-coalescing';
import { breakerSettings } from '../../functions/core/health';
import { clearForDelivery, reportOutcome, setPaused, type HealthDeps } from '../../functions/core/health-flow';
import { MemoryHealthStore } from '../../testkit/ports';

/** One container's deps over a shared store, on a hand-moved clock. */
function container(shared: MemoryHealthStore, clock: { ms: number }, options: { readCacheMs?: number; successWriteMs?: number } = {}): HealthDeps {
  return {
    store: coalescingHealthStore(shared, { now: () => clock.ms, ...options }),
    clock: () => new Date(clock.ms),
    settings: breakerSettings({ failures: 3, spanSeconds: 0 }),
  };
}

const delivered = (shared: MemoryHealthStore, id: string) => (shared.records.get(id)?.buckets ?? []).reduce((sum, [, ok]) => sum + ok, 0);

describe('coalescingHealthStore: a healthy receiver costs the shared record little', () => {
  const start = Date.UTC(2026, 11, 7, 12, 0, 0);

  test('a slow receiver is read fresh before every attempt, and its outcomes written at once: its slots are shared by every container', async () => {
    const shared = new MemoryHealthStore();
    const clock = { ms: start };
    const deps = container(shared, clock);
    await reportOutcome('shop-a', { ok: true, durationMs: 10_000 }, deps);
    expect(shared.records.get('shop-a')?.slowSince).toBeDefined();
    const reads = shared.calls.get;
    const puts = shared.calls.put;
    clock.ms += 10;
    expect(await clearForDelivery('shop-a', 's1', deps)).toMatchObject({ kind: 'deliver', slowSlotId: 's1' });
    clock.ms += 10;
    await reportOutcome('shop-a', { ok: true, durationMs: 10_000 }, deps, 's1');
    expect(shared.calls.get - reads).toBe(2);
    expect(shared.calls.put - puts).toBe(2);
    expect(shared.records.get('shop-a')?.slowSlots ?? []).toEqual([]);
  });

  test('1,000 successes in 5 s: the first creates the record, the rest are counted here, not written', async () => {
    const shared = new MemoryHealthStore();
    const clock = { ms: start };
    const deps = container(shared, clock);
    for (let i = 0; i < 1000; i++) {
      clock.ms = start + i * 5;
      expect((await clearForDelivery('shop-a', `p${i}`, deps)).kind).toBe('deliver');
      expect((await reportOutcome('shop-a', { ok: true }, deps)).recorded).toBe(true);
    }
    expect(shared.calls.put).toBe(1);
    // One read for the first clear, then at most one per second of healthy traffic.
    expect(shared.calls.get).toBeLessThanOrEqual(1 + 5 + 1);
    expect(delivered(shared, 'shop-a')).toBe(1);
  });

  test('the counts not written go out with the next write: after 10 s, or with the first failure', async () => {
    const shared = new MemoryHealthStore();
    const clock = { ms: start };
    const deps = container(shared, clock);
    for (let i = 0; i < 50; i++) {
      clock.ms = start + i * 100;
      await reportOutcome('shop-a', { ok: true }, deps);
    }
    expect(delivered(shared, 'shop-a')).toBe(1);
    clock.ms = start + 10_100;
    await reportOutcome('shop-a', { ok: true }, deps);
    expect(delivered(shared, 'shop-a')).toBe(51);
    expect(shared.records.get('shop-a')?.lastSuccessAt).toBe(new Date(start + 10_100).toISOString());

    for (let i = 0; i < 5; i++) {
      clock.ms += 10;
      await reportOutcome('shop-a', { ok: true }, deps);
    }
    expect(delivered(shared, 'shop-a')).toBe(51);
    clock.ms += 10;
    await reportOutcome('shop-a', { ok: false, httpStatus: 503, error: 'HTTP 503' }, deps);
    const record = shared.records.get('shop-a')!;
    expect(delivered(shared, 'shop-a')).toBe(56);
    expect(record.consecutiveFailures).toBe(1);
    expect(record.lastSuccessAt! < record.lastFailureAt!).toBe(true);
  });

  test('every failure is written at once, so the circuit opens on the same count as without the cache', async () => {
    const shared = new MemoryHealthStore();
    const clock = { ms: start };
    const deps = container(shared, clock);
    await reportOutcome('shop-a', { ok: true }, deps);
    for (let i = 1; i <= 3; i++) {
      clock.ms += 1000;
      await reportOutcome('shop-a', { ok: false, httpStatus: 500, error: 'HTTP 500' }, deps);
      expect(shared.records.get('shop-a')?.consecutiveFailures).toBe(i);
    }
    expect(shared.records.get('shop-a')?.state).toBe('circuit-open');
    // An open circuit is never served from the copy: the next clear reads the store.
    const reads = shared.calls.get;
    clock.ms += 1;
    expect((await clearForDelivery('shop-a', 'probe-x', deps)).kind).not.toBe('deliver');
    expect(shared.calls.get).toBe(reads + 1);
  });

  test('another container pausing the receiver is seen within the read cache time', async () => {
    const shared = new MemoryHealthStore();
    const clock = { ms: start };
    const a = container(shared, clock);
    const b = container(shared, clock);
    await reportOutcome('shop-a', { ok: true }, a);
    expect((await clearForDelivery('shop-a', 'p1', a)).kind).toBe('deliver');
    await setPaused('shop-a', true, b);
    expect(shared.records.get('shop-a')?.state).toBe('paused');
    clock.ms += 999;
    // Still the copy (at most 1 s old)...
    expect((await clearForDelivery('shop-a', 'p2', a)).kind).toBe('deliver');
    clock.ms += 2;
    // ...then the store.
    expect((await clearForDelivery('shop-a', 'p3', a)).kind).toBe('hold');
  });

  test('two containers writing the same receiver: a refused write re-reads the store, and no count is lost', async () => {
    const shared = new MemoryHealthStore();
    const clock = { ms: start };
    const a = container(shared, clock);
    const b = container(shared, clock);
    await reportOutcome('shop-a', { ok: true }, a); // creates the record (a's first write)
    clock.ms += 100;
    await reportOutcome('shop-a', { ok: true }, b); // b's first write for the receiver: written
    for (let i = 0; i < 7; i++) {
      clock.ms += 100;
      await reportOutcome('shop-a', { ok: true }, a); // a's copy is one version behind: counted in a
    }
    expect(delivered(shared, 'shop-a')).toBe(2);
    clock.ms = start + 9_500;
    await reportOutcome('shop-a', { ok: true }, a); // a re-reads the store (copy older than 1 s), still only counts
    clock.ms = start + 9_600;
    await reportOutcome('shop-a', { ok: false, httpStatus: 502, error: 'HTTP 502' }, b); // failures always written
    clock.ms = start + 10_100;
    // a's 10 s are up: its write (from its 0.6 s old copy) is refused, it re-reads and writes with its 9 pending.
    expect((await reportOutcome('shop-a', { ok: true }, a)).recorded).toBe(true);
    expect(shared.calls.refused).toBe(1);
    const record = shared.records.get('shop-a')!;
    expect(delivered(shared, 'shop-a')).toBe(11);
    expect(record.state).toBe('healthy');
    expect(record.consecutiveFailures).toBe(0);
  });
});
