/**
 * The receiver's side of delivery, end to end through the ledger's deliver flow (handleTicket +
 * the sweep) with the real DynamoDB adapters for the ledger and the health records on the
 * embedded engine (dynalite), a test clock and a scripted receiver: the circuit breaker holds
 * events without using their attempts and drains them in order when the receiver is back, a
 * pause holds, the filter records, a receiver failing too long is disabled with a notice.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHealthStore } from '../../functions/adapters/aws/dynamodb-health';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { DeliverySlots } from '../../functions/core/delivery-controls';
import type { QueuedEvent } from '../../functions/core/event';
import { breakerSettings, type HealthNotice } from '../../functions/core/health';
import { setPaused } from '../../functions/core/health-flow';
import type { NoticeDeps } from '../../functions/core/health-notices';
import type { Instance } from '../../functions/core/instance';
import type { LedgerEntry } from '../../functions/core/ledger';
import { admit, handleTicket, sweep, wakeHeld, type AttemptOutcome, type Ticket, type TicketOutcome, type TicketQueue } from '../../functions/core/ledger-flow';
import { openReceiverGate, receiverOutcomeOf, type ReceiverGateDeps } from '../../functions/core/receiver-gate';
import type { RetryPolicy } from '../../functions/core/retry-policy';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { instanceDocument } from '../../testkit/instances';
import { RecordingTelemetry } from '../../testkit/ports';
import { queuedEventFor } from '../support/ledger-contract';

const T0 = new Date('2026-12-07T10:00:00.000Z');
const POLICY: RetryPolicy = { scheduleSeconds: [30], maxAttempts: 50 };
// Short thresholds, as the local runner's --breaker-* options give them.
const SETTINGS = breakerSettings({ failures: 3, spanSeconds: 20, probeSeconds: 10, disableAfterSeconds: 3600, noticeAfterFailures: 2 });

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

class Queue implements TicketQueue {
  readonly pending: Ticket[] = [];
  async send(tickets: readonly Ticket[]): Promise<void> {
    this.pending.push(...tickets);
  }
}

const instance = (id: string, configuration: Record<string, string> = {}): Instance => ({
  id,
  document: instanceDocument({ callbackUrl: `https://${id}.example/hooks`, configuration }),
});

const down: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'http', error: 'callback answered 503', httpStatus: 503, durationMs: 5 } };
const gone: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'http', error: 'callback answered 410', httpStatus: 410, durationMs: 5 } };
const up: AttemptOutcome = { kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 5 } };
const ecwidDown: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'error', error: 'Ecwid API answered 503', durationMs: 5 } };

async function harness(instances: Instance[], options: { slots?: DeliverySlots; maxSlotWaitMs?: number; settings?: typeof SETTINGS } = {}) {
  const tableName = `gate-${++tables}`;
  await ensureLedgerTable(client, tableName);
  const now = { value: T0 };
  const clock = () => now.value;
  const ledger = new DynamoDbLedger({ tableName, client, clock });
  const store = new DynamoDbHealthStore({ tableName, client });
  const queue = new Queue();
  const notices: HealthNotice[] = [];
  const telemetry = new RecordingTelemetry();
  const noticeDeps: NoticeDeps = {
    topic: { publish: async (notice) => void notices.push(notice) },
    sender: { send: async () => ({ ok: true, status: 204 }) },
    urlPolicy: { allowHttp: false, allowHosts: [] },
    resolveHost: async () => [{ address: '93.184.216.34', family: 4 }],
    clock,
    telemetry,
  };
  let probes = 0;
  const gateDeps: ReceiverGateDeps = {
    health: { store, clock, settings: options.settings ?? SETTINGS },
    notices: noticeDeps,
    slots: options.slots,
    newProbeId: () => `probe-${++probes}`,
    clock,
    sleep: async (ms) => void (now.value = new Date(now.value.getTime() + ms)),
    telemetry,
    heldRecheckSeconds: 600,
    maxSlotWaitMs: options.maxSlotWaitMs,
    wakeHeld: (instanceId) => wakeHeld(instanceId, deps),
  };
  const byId = new Map(instances.map((i) => [i.id, i]));
  const deps = { ledger, tickets: queue, clock };
  /** Attempts each receiver saw, in order. */
  const seen: string[] = [];
  const outcomes: TicketOutcome[] = [];
  let receiver: (event: QueuedEvent) => AttemptOutcome = () => up;

  async function handle(ticket: Ticket): Promise<TicketOutcome> {
    const outcome = await handleTicket(ticket.event, {
      ...deps,
      retryPolicy: POLICY,
      gate: (event) => openReceiverGate(event, byId.get(event.instanceId), gateDeps),
      attempt: async (event) => {
        seen.push(`${event.instanceId}/${event.eventId}`);
        return receiver(event);
      },
      deadLetter: async () => undefined,
    });
    outcomes.push(outcome);
    return outcome;
  }

  return {
    ledger,
    store,
    now,
    notices,
    seen,
    outcomes,
    telemetry,
    setReceiver(fn: (event: QueuedEvent) => AttemptOutcome) {
      receiver = fn;
    },
    /** Handles every queued ticket, then sweeps at each next due time, until `until` (or nothing is left). */
    async run(until: Date = new Date(T0.getTime() + 86_400_000)): Promise<void> {
      for (let step = 0; step < 2000; step++) {
        const ticket = queue.pending.shift();
        if (ticket) {
          await handle(ticket);
          continue;
        }
        const [next] = await ledger.due(new Date('2100-01-01T00:00:00Z'), 1);
        if (!next || Date.parse(next.dueAt!) > until.getTime()) return;
        now.value = new Date(Math.max(now.value.getTime(), Date.parse(next.dueAt!)));
        await sweep({ ...deps, limit: 100 });
      }
      throw new Error('did not settle');
    },
    admit: (events: QueuedEvent[]) => admit(events, deps),
    wake: (instanceId: string) => wakeHeld(instanceId, deps),
    entry: (instanceId: string, eventId: string) => ledger.get(instanceId, eventId) as Promise<LedgerEntry>,
  };
}

/** Event n of shop, object `object`, received n seconds after T0. */
const event = (instanceId: string, n: number, overrides: Partial<QueuedEvent> = {}): QueuedEvent =>
  queuedEventFor({ instanceId, eventId: `evt-${n}`, objectId: String(100 + n), receivedAt: new Date(T0.getTime() + n * 1000).toISOString(), ...overrides });

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
