/**
 * What the DynamoDB ledger adapter must do, whatever the engine: run against moto (AWS semantics,
 * test/integration) and against dynalite (the local runner's embedded engine, test/local), so that
 * the local choice is held to the same rules.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable, LedgerQueryError, toItem } from '../../functions/adapters/aws/dynamodb-ledger';
import type { QueuedEvent } from '../../functions/core/event';
import { claim, finishAttempt, markQueued, receivedEntry, type LedgerEntry } from '../../functions/core/ledger';
import type { RetryPolicy } from '../../functions/core/retry-policy';

export interface LedgerEngine {
  client(): DynamoDBClient;
  tableName(label: string): string;
  /** The engine returns the item with a refused conditional write (ReturnValuesOnConditionCheckFailure): DynamoDB and moto do, dynalite does not. */
  readonly returnsItemOnConditionFailure: boolean;
}

const T0 = new Date('2024-05-06T16:28:06.000Z');
const at = (seconds: number): Date => new Date(T0.getTime() + seconds * 1000);
const POLICY: RetryPolicy = { scheduleSeconds: [60], maxAttempts: 2 };

export function queuedEventFor(overrides: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    v: 1,
    eventId: 'evt-1',
    instanceId: 'shop-a',
    storeId: '1003',
    source: 'webhook',
    ecwidEventType: 'order.updated',
    objectType: 'order',
    objectId: '124',
    eventType: 'UPDATED',
    receivedAt: T0.toISOString(),
    verified: true,
    raw: { eventId: overrides.eventId ?? 'evt-1', nested: { list: [1, 'two', null], empty: '' } },
    ...overrides,
  };
}

/** A received entry of `seconds` after T0, recorded at that time. */
export function entryAt(seconds: number, overrides: Partial<QueuedEvent> = {}): LedgerEntry {
  const event = queuedEventFor({ receivedAt: at(seconds).toISOString(), ...overrides });
  return receivedEntry(event, JSON.stringify(event), at(seconds));
}

export function ledgerAdapterContract(engine: LedgerEngine): void {
  let ledger: DynamoDbLedger;
  let now = T0;

  beforeAll(async () => {
    const tableName = engine.tableName('ledger');
    await ensureLedgerTable(engine.client(), tableName);
    // Creating it again is harmless (the runner does it on every start).
    await ensureLedgerTable(engine.client(), tableName);
    ledger = new DynamoDbLedger({ tableName, client: engine.client(), clock: () => now });
  });

  // Each test uses its own instance id: one table per suite.
  let instance = 0;
  const nextInstance = () => `shop-${++instance}`;

  test('record writes once: a repeat finds the entry already there, in the order asked', async () => {
    const instanceId = nextInstance();
    const first = entryAt(0, { instanceId, eventId: 'e1' });
    expect(await ledger.record([first])).toEqual([{ created: true, entry: first }]);
    const again = entryAt(5, { instanceId, eventId: 'e1' });
    const other = entryAt(5, { instanceId, eventId: 'e2' });
    const results = await ledger.record([other, again]);
    expect(results).toEqual([
      { created: true, entry: other },
      { created: false, existing: first },
    ]);
    expect(await ledger.get(instanceId, 'e1')).toEqual(first);
  });

  test(`a repeat costs ${engine.returnsItemOnConditionFailure ? 'one call (the refused Put returns the entry)' : 'two calls (the refused Put, then a Get)'}`, async () => {
    const instanceId = nextInstance();
    const first = entryAt(0, { instanceId, eventId: 'r1' });
    await ledger.record([first]);
    const calls: string[] = [];
    const name = `count-calls-${instanceId}`;
    engine.client().middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String((context as { commandName?: string }).commandName));
        return next(args);
      },
      { step: 'initialize', name },
    );
    try {
      expect(await ledger.record([entryAt(9, { instanceId, eventId: 'r1' })])).toEqual([{ created: false, existing: first }]);
    } finally {
      engine.client().middlewareStack.remove(name);
    }
    expect(calls).toEqual(engine.returnsItemOnConditionFailure ? ['PutItemCommand'] : ['PutItemCommand', 'GetItemCommand']);
  });

  test('an entry past its expiry (TTL not yet run) is recorded over', async () => {
    const instanceId = nextInstance();
    const old = finishAttempt(claim(markQueued(entryAt(0, { instanceId }), at(1)), at(2)), { ok: true, httpStatus: 200, durationMs: 1 }, at(3), POLICY);
    await ledger.record([entryAt(0, { instanceId })]);
    // Move the stored entry through its life, then look at it after its expiry.
    expect(await ledger.update(markQueued(entryAt(0, { instanceId }), at(1)))).toBe(true);
    const stored = await ledger.get(instanceId, 'evt-1');
    expect(await ledger.update(claim(stored!, at(2)))).toBe(true);
    expect(await ledger.update(old)).toBe(true);
    const finished = await ledger.get(instanceId, 'evt-1');
    expect(finished?.status).toBe('delivered');
    expect(typeof finished?.expiresAt).toBe('number');

    now = new Date((finished!.expiresAt! - 1) * 1000);
    const repeat = entryAt(10, { instanceId });
    expect((await ledger.record([repeat]))[0].created).toBe(false);
    now = new Date(finished!.expiresAt! * 1000);
    expect(await ledger.record([repeat])).toEqual([{ created: true, entry: repeat }]);
    now = T0;
  });

  test('entries round-trip exactly: attempts, optional fields, the payload', async () => {
    const instanceId = nextInstance();
    const recorded = entryAt(0, { instanceId, occurredAt: T0.toISOString() });
    await ledger.record([recorded]);
    const failed = finishAttempt(
      claim(markQueued(recorded, at(1)), at(2)),
      { ok: false, errorClass: 'http', error: 'callback answered 500', httpStatus: 500, durationMs: 30, excerpt: '<h1>oops</h1>' },
      at(3),
      POLICY,
    );
    // Three writes later (queued, claimed, failed): each names the version it read.
    expect(await ledger.update({ ...failed, version: 2 })).toBe(true);
    expect(await ledger.update({ ...failed, version: 3 })).toBe(true);
    expect(await ledger.update(failed)).toBe(true);
    const read = await ledger.get(instanceId, 'evt-1');
    expect(read).toEqual(failed);
    expect(JSON.parse(read!.payload)).toEqual(queuedEventFor({ instanceId, receivedAt: T0.toISOString(), occurredAt: T0.toISOString() }));
    expect(await ledger.get(instanceId, 'missing')).toBeUndefined();
  });

  test('an update from a stale read is refused and changes nothing', async () => {
    const instanceId = nextInstance();
    const recorded = entryAt(0, { instanceId });
    await ledger.record([recorded]);
    const queued = markQueued(recorded, at(1));
    expect(await ledger.update(queued)).toBe(true);
    // A second worker that read version 1 too.
    expect(await ledger.update({ ...markQueued(recorded, at(2)), detail: 'late' })).toBe(false);
    expect(await ledger.get(instanceId, 'evt-1')).toEqual(queued);
  });

  test('list: an instance newest first, paged, with time, status and type filters', async () => {
    const instanceId = nextInstance();
    const entries = [0, 1, 2, 3, 4].map((s) =>
      entryAt(s, { instanceId, eventId: `e${s}`, ecwidEventType: s % 2 === 0 ? 'order.created' : 'order.updated' }),
    );
    await ledger.record(entries);
    await ledger.update(markQueued(entries[3], at(10)));

    const ids = (page: { entries: readonly LedgerEntry[] }) => page.entries.map((e) => e.eventId);
    const page1 = await ledger.list({ instanceId, limit: 2 });
    expect(ids(page1)).toEqual(['e4', 'e3']);
    expect(page1.cursor).toEqual(expect.any(String));
    const page2 = await ledger.list({ instanceId, limit: 2, cursor: page1.cursor });
    expect(ids(page2)).toEqual(['e2', 'e1']);
    const page3 = await ledger.list({ instanceId, limit: 2, cursor: page2.cursor });
    expect(ids(page3)).toEqual(['e0']);
    expect(page3.cursor).toBeUndefined();
    // Full entries, not index projections.
    expect(page1.entries[1]).toEqual(await ledger.get(instanceId, 'e3'));

    expect(ids(await ledger.list({ instanceId, since: at(1).toISOString(), until: at(3).toISOString() }))).toEqual(['e2', 'e1']);
    expect(ids(await ledger.list({ instanceId, status: 'queued' }))).toEqual(['e3']);
    expect(ids(await ledger.list({ instanceId, eventType: 'order.created' }))).toEqual(['e4', 'e2', 'e0']);
    expect(ids(await ledger.list({ instanceId, eventType: 'UPDATED' }))).toEqual(['e4', 'e3', 'e2', 'e1', 'e0']);
    // A filter that drops most items still fills the page (several queries behind one page).
    const filtered = await ledger.list({ instanceId, eventType: 'order.created', limit: 2 });
    expect(ids(filtered)).toEqual(['e4', 'e2']);
    expect(ids(await ledger.list({ instanceId, eventType: 'order.created', limit: 2, cursor: filtered.cursor }))).toEqual(['e0']);
  });

  test('list: by object, and by status across instances', async () => {
    const a = nextInstance();
    const b = nextInstance();
    await ledger.record([
      entryAt(0, { instanceId: a, eventId: 'o1', objectId: '1' }),
      entryAt(1, { instanceId: a, eventId: 'o2', objectId: '2' }),
      entryAt(2, { instanceId: a, eventId: 'o1b', objectId: '1' }),
      entryAt(3, { instanceId: b, eventId: 'o1', objectId: '1' }),
    ]);
    const byObject = await ledger.list({ instanceId: a, object: { objectType: 'order', objectId: '1' } });
    expect(byObject.entries.map((e) => e.eventId)).toEqual(['o1b', 'o1']);
    const dropped = await ledger.get(b, 'o1');
    const finished = { ...dropped!, status: 'dropped' as const, reason: 'forged' as const, statusAt: at(50).toISOString(), dueAt: undefined, version: 2 };
    expect(await ledger.update(finished)).toBe(true);
    const byStatus = await ledger.list({ status: 'dropped' });
    expect(byStatus.entries.map((e) => [e.instanceId, e.eventId])).toContainEqual([b, 'o1']);
    expect(byStatus.entries.every((e) => e.status === 'dropped')).toBe(true);
    // One instance's entries of a status (deliver's wake-up of held events: queued).
    const bDropped = await ledger.list({ instanceId: b, status: 'dropped' });
    expect(bDropped.entries.map((e) => [e.instanceId, e.eventId])).toEqual([[b, 'o1']]);
    expect((await ledger.list({ instanceId: a, status: 'dropped' })).entries).toEqual([]);
    await expect(ledger.list({ object: { objectType: 'order', objectId: '1' } })).rejects.toThrow(LedgerQueryError);
    await expect(ledger.list({})).rejects.toThrow(LedgerQueryError);
    await expect(ledger.list({ instanceId: a, cursor: 'not-a-cursor' })).rejects.toThrow(LedgerQueryError);
  });

  test('delivered events leave the status index (sparse): listed per instance, refused across instances', async () => {
    const instanceId = nextInstance();
    const recorded = entryAt(0, { instanceId, eventId: 'd1' });
    await ledger.record([recorded, entryAt(1, { instanceId, eventId: 'd2' })]);
    const delivered = finishAttempt(claim(recorded, at(1)), { ok: true, httpStatus: 200, durationMs: 3 }, at(2), POLICY);
    expect(await ledger.update({ ...delivered, version: recorded.version + 1 })).toBe(true);
    expect((await ledger.list({ instanceId, status: 'delivered' })).entries.map((e) => e.eventId)).toEqual(['d1']);
    expect((await ledger.list({ instanceId, status: 'received' })).entries.map((e) => e.eventId)).toEqual(['d2']);
    await expect(ledger.list({ status: 'delivered' })).rejects.toThrow(/name an instance/);
    // The sweep never sees it, the object's order rule neither.
    expect((await ledger.due(at(10 ** 6), 1000)).some((e) => e.instanceId === instanceId && e.eventId === 'd1')).toBe(false);
    expect((await ledger.unfinishedOfObject({ instanceId, objectType: 'order', objectId: '124' })).map((e) => e.eventId)).toEqual(['d2']);
  });

  test('received events are not in the status index (every event passes through): listed per instance, found by the sweep when overdue', async () => {
    const instanceId = nextInstance();
    const waiting = entryAt(0, { instanceId, eventId: 'r1', objectId: 'r' });
    await ledger.record([waiting]);
    const item = toItem(waiting);
    // No status-index key: its put and delete would be every event's, all on one partition.
    expect(item).not.toHaveProperty('statusTime');
    expect(item).toMatchObject({ receivedDueAt: waiting.dueAt, unfinishedObjectKey: expect.any(String) });
    expect((await ledger.list({ instanceId, status: 'received' })).entries.map((e) => e.eventId)).toEqual(['r1']);
    await expect(ledger.list({ status: 'received' })).rejects.toThrow(/received events are listed per instance .*: name an instance/);
    // Not due before its grace is over, due after (the sweep scans the unfinished-by-object index).
    const dueIds = async (when: Date) => (await ledger.due(when, 1000)).filter((e) => e.instanceId === instanceId).map((e) => e.eventId);
    const dueAt = Date.parse(waiting.dueAt!);
    expect(await dueIds(new Date(dueAt - 30_000))).toEqual([]);
    // The scan runs at most once a minute of the sweep's clock (the sweep asks batch after batch).
    expect(await dueIds(new Date(dueAt + 1000))).toEqual([]);
    expect(await dueIds(new Date(dueAt + 60_000))).toEqual(['r1']);
    // Once it moves on (queued: a ticket was sent), it is in the status index and no longer carries the mark.
    const queued = markQueued(waiting, at(20));
    expect(await ledger.update(queued)).toBe(true);
    expect(toItem(queued)).not.toHaveProperty('receivedDueAt');
    expect((await ledger.list({ status: 'queued', instanceId })).entries.map((e) => e.eventId)).toEqual(['r1']);
  });

  test('the item leaves out what its stored event repeats, and reads back exactly the entry written', async () => {
    const instanceId = nextInstance();
    const event = queuedEventFor({ instanceId, eventId: 'lean', occurredAt: at(0).toISOString() });
    const entry = receivedEntry(event, JSON.stringify(event), at(0));
    await ledger.record([entry]);
    expect(await ledger.get(instanceId, 'lean')).toEqual(entry);
    const item = toItem(entry);
    for (const name of ['storeId', 'source', 'objectType', 'objectId', 'occurredAt', 'receivedAt']) expect(item).not.toHaveProperty(name);
    expect(item).toMatchObject({ eventType: 'UPDATED', ecwidEventType: 'order.updated', status: 'received' });
    // A field that differs from the stored event is kept as it is.
    const odd = { ...entry, eventId: 'odd', storeId: '999' };
    await ledger.record([odd]);
    expect(await ledger.get(instanceId, 'odd')).toEqual(odd);
  });

  test('unfinished events of an object, in arrival order; finished ones leave the index', async () => {
    const instanceId = nextInstance();
    const first = entryAt(0, { instanceId, eventId: 'z-first', objectId: '7' });
    const second = entryAt(1, { instanceId, eventId: 'a-second', objectId: '7' });
    const otherObject = entryAt(2, { instanceId, eventId: 'other', objectId: '8' });
    await ledger.record([second, otherObject, first]);
    const object = { instanceId, objectType: 'order', objectId: '7' };
    expect((await ledger.unfinishedOfObject(object)).map((e) => e.eventId)).toEqual(['z-first', 'a-second']);
    // Given an entry, it is left out (the caller holds it).
    expect((await ledger.unfinishedOfObject(second)).map((e) => e.eventId)).toEqual(['z-first']);
    const delivered = finishAttempt(claim(markQueued(first, at(3)), at(4)), { ok: true, httpStatus: 204, durationMs: 3 }, at(5), POLICY);
    expect(await ledger.update({ ...markQueued(first, at(3)) })).toBe(true);
    expect(await ledger.update({ ...claim(markQueued(first, at(3)), at(4)) })).toBe(true);
    expect(await ledger.update(delivered)).toBe(true);
    expect((await ledger.unfinishedOfObject(object)).map((e) => e.eventId)).toEqual(['a-second']);
  });

  test('due: unfinished entries whose due time has passed, oldest due first', async () => {
    const instanceId = nextInstance();
    // A far-future clock base so that other tests' entries (due around T0) come first but are filtered by instance here.
    const base = 10 ** 6;
    const overdueReceived = entryAt(base, { instanceId, eventId: 'received' });
    const queued = markQueued(entryAt(base + 1, { instanceId, eventId: 'queued' }), at(base + 1));
    const retrying = finishAttempt(
      claim(markQueued(entryAt(base + 2, { instanceId, eventId: 'retrying' }), at(base + 2)), at(base + 2)),
      { ok: false, errorClass: 'connection', error: 'refused', durationMs: 1 },
      at(base + 3),
      POLICY,
    );
    await ledger.record([overdueReceived, { ...queued, version: 1 }, { ...retrying, version: 1 }]);
    // retrying's backoff (60 s) and received's grace (900 s from base) are over; queued's stall (900 s from base + 1) is not.
    const when = at(base + 900);
    expect((await ledger.due(when, 1000)).filter((e) => e.instanceId === instanceId).map((e) => e.eventId)).toEqual(['retrying', 'received']);
    const later = at(base + 10 ** 5);
    expect((await ledger.due(later, 1000)).filter((e) => e.instanceId === instanceId).map((e) => e.eventId).sort()).toEqual([
      'queued',
      'received',
      'retrying',
    ]);
  });
}
