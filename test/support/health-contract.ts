/**
 * What the DynamoDB health store must do, whatever the engine: run against moto (AWS semantics,
 * test/integration) and dynalite (the local runner's engine, test/local). The health records
 * share the ledger table, so the suite also checks that no ledger query ever sees them.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHealthStore } from '../../functions/adapters/aws/dynamodb-health';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { breakerSettings, newHealth, recordOutcome, type ReceiverHealth } from '../../functions/core/health';
import { clearForDelivery, reportOutcome, setPaused, type HealthDeps } from '../../functions/core/health-flow';
import { entryAt } from './ledger-contract';

export interface HealthEngine {
  client(): DynamoDBClient;
  tableName(label: string): string;
  /**
   * Whether the engine checks a condition and writes under one lock, as DynamoDB does. dynalite
   * does (a lock per item key); moto's server handles requests on threads with no lock around the
   * check and the write, so two racing conditional writes can both succeed there. On such an engine
   * the racing workers below run one after another: the condition logic is still exercised (each
   * later worker reads what the earlier one wrote), the atomicity itself only on dynalite.
   */
  atomicConditionalWrites: boolean;
}

/** `count` calls of `work`: at once on an engine with atomic conditional writes, else in turn. */
async function workers<T>(engine: HealthEngine, count: number, work: (i: number) => Promise<T>): Promise<T[]> {
  if (engine.atomicConditionalWrites) return Promise.all(Array.from({ length: count }, (_, i) => work(i)));
  const results: T[] = [];
  for (let i = 0; i < count; i++) results.push(await work(i));
  return results;
}

const T0 = new Date('2026-12-07T10:00:00.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const settings = breakerSettings({ failures: 3, spanSeconds: 2, probeSeconds: 5 });

export function healthStoreContract(engine: HealthEngine): void {
  let tableName: string;
  let now = T0;
  const stores: DynamoDbHealthStore[] = [];
  const storeFor = () => {
    const store = new DynamoDbHealthStore({ tableName, client: engine.client() });
    stores.push(store);
    return store;
  };
  const deps = (): HealthDeps => ({ store: storeFor(), clock: () => now, settings });

  beforeAll(async () => {
    tableName = engine.tableName('health');
    await ensureLedgerTable(engine.client(), tableName);
  });

  let instance = 0;
  const nextInstance = () => `health-${++instance}`;

  test('a first write creates the record; a second first write is refused', async () => {
    const store = storeFor();
    const id = nextInstance();
    const first = recordOutcome(newHealth(id, T0), { ok: false, httpStatus: 500, error: 'HTTP 500' }, T0, settings).next;
    expect(await store.put(first)).toBe(true);
    expect(await store.get(id)).toEqual(first);
    expect(await store.put({ ...first, lastError: 'other' })).toBe(false);
    expect(await store.get('nobody')).toBeUndefined();
  });

  test('an update names the version it read; a stale one is refused and changes nothing', async () => {
    const store = storeFor();
    const id = nextInstance();
    const v1 = recordOutcome(newHealth(id, T0), { ok: true }, T0, settings).next;
    await store.put(v1);
    const v2 = recordOutcome(v1, { ok: false, error: 'timeout' }, at(1), settings).next;
    const stale = recordOutcome(v1, { ok: true }, at(1), settings).next;
    expect(await store.put(v2)).toBe(true);
    expect(await store.put(stale)).toBe(false);
    const read = await store.get(id);
    expect(read).toEqual(v2);
    // The minute buckets survive the round trip as numbers.
    expect(read?.buckets).toEqual([[Math.floor(T0.getTime() / 60_000), 1, 1]]);
  });

  test('getMany reads many instances at once (more than one BatchGetItem page) and leaves out the missing', async () => {
    const store = storeFor();
    const ids = Array.from({ length: 105 }, () => nextInstance());
    for (const id of ids.slice(0, 103)) expect(await store.put(recordOutcome(newHealth(id, T0), { ok: true }, T0, settings).next)).toBe(true);
    const found = await store.getMany([...ids, ids[0]]);
    expect(found.size).toBe(103);
    expect(found.get(ids[102])?.state).toBe('healthy');
    expect(found.has(ids[104])).toBe(false);
  });

  test('the breaker end to end: opens, holds, one probe among many workers, closes', async () => {
    const id = nextInstance();
    now = T0;
    for (let i = 0; i < 3; i++) {
      now = at(i);
      await reportOutcome(id, { ok: false, httpStatus: 503, error: 'HTTP 503' }, deps());
    }
    const opened = await storeFor().get(id);
    expect(opened).toMatchObject({ state: 'circuit-open', consecutiveFailures: 3, nextProbeAt: at(7).toISOString() });

    now = at(4);
    expect(await clearForDelivery(id, 'p0', deps())).toMatchObject({ kind: 'hold', reason: 'circuit-open', until: at(7).toISOString() });

    // Eight deliver workers, each with its own client, reach the probe time together: one probes.
    now = at(7);
    const decisions = await workers(engine, 8, (i) => clearForDelivery(id, `p${i + 1}`, deps()));
    const probes = decisions.filter((d) => d.kind === 'deliver');
    expect(probes).toHaveLength(1);
    expect(decisions.filter((d) => d.kind === 'hold').every((d) => d.kind === 'hold' && d.reason === 'probe-in-flight')).toBe(true);
    const probeId = probes[0].kind === 'deliver' ? probes[0].probeId : undefined;
    expect(probeId).toMatch(/^p\d$/);

    now = at(8);
    const closed = await reportOutcome(id, { ok: true }, deps(), probeId);
    expect(closed).toMatchObject({ recorded: true, health: { state: 'healthy', consecutiveFailures: 0 } });
    expect(closed.notices.map((n) => n.kind)).toEqual(['recovered']);
    expect(await clearForDelivery(id, 'p9', deps())).toEqual({ kind: 'deliver', notices: [] });
  });

  test('concurrent outcomes are all counted (each lost race is re-decided from a fresh read)', async () => {
    const id = nextInstance();
    now = T0;
    const results = await workers(engine, 5, () => reportOutcome(id, { ok: true }, deps()));
    expect(results.every((r) => r.recorded)).toBe(true);
    const health = (await storeFor().get(id)) as ReceiverHealth;
    expect(health.version).toBe(5);
    expect(health.buckets).toEqual([[Math.floor(T0.getTime() / 60_000), 5, 0]]);
  });

  test('pause and resume', async () => {
    const id = nextInstance();
    now = T0;
    expect(await setPaused(id, true, deps())).toMatchObject({ state: 'paused', version: 1 });
    expect(await clearForDelivery(id, 'p', deps())).toMatchObject({ kind: 'hold', reason: 'paused' });
    expect(await setPaused(id, false, deps())).toMatchObject({ state: 'healthy', version: 2 });
  });

  test('health records never show up in the ledger', async () => {
    const store = storeFor();
    const id = nextInstance();
    await store.put(recordOutcome(newHealth(id, T0), { ok: false, error: 'x' }, T0, settings).next);
    const ledger = new DynamoDbLedger({ tableName, client: engine.client(), clock: () => T0 });
    const event = entryAt(0, { instanceId: id, eventId: 'evt-kept' });
    await ledger.record([event]);
    const page = await ledger.list({ instanceId: id });
    expect(page.entries.map((e) => e.eventId)).toEqual(['evt-kept']);
    for (const status of ['received', 'queued', 'delivering', 'retrying', 'delivered', 'dead-lettered', 'dropped', 'filtered'] as const) {
      // `received` and `delivered` are listed per instance (the status index leaves them out).
      const { entries } = await ledger.list({ status, limit: 1000, ...(status === 'delivered' || status === 'received' ? { instanceId: id } : {}) });
      expect(entries.some((e) => e.instanceId === id && e.eventId !== 'evt-kept')).toBe(false);
    }
    expect(await ledger.due(at(10 * 86_400), 1000)).not.toContainEqual(expect.objectContaining({ instanceId: id, eventId: expect.not.stringMatching(/^evt-kept$/) }));
  });
}
