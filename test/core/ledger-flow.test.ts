/**
 * The ledger's use cases end to end on the real DynamoDB adapter, against the embedded engine
 * (dynalite), with a recording ticket queue and a test clock. The same flows run against moto and
 * SQS in test/integration/ledger-*.integration.test.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import type { QueuedEvent } from '../../functions/core/event';
import { DEFAULT_LEDGER_TIMING, type LedgerEntry } from '../../functions/core/ledger';
import {
  admit,
  firstTicketId,
  handleTicket,
  resendEvent,
  sweep,
  type AttemptOutcome,
  type Ticket,
  type TicketQueue,
  type TicketOutcome,
} from '../../functions/core/ledger-flow';
import type { RetryPolicy } from '../../functions/core/retry-policy';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { queuedEventFor } from '../support/ledger-contract';

const T0 = new Date('2024-05-06T16:28:06.000Z');
const POLICY: RetryPolicy = { scheduleSeconds: [60, 300, 900], maxAttempts: 4 };

let server: DynamoDbEndpoint;
let client: DynamoDBClient;
let tableCount = 0;

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
});
afterAll(async () => {
  client.destroy();
  await server.stop();
});

class RecordingQueue implements TicketQueue {
  readonly sent: Ticket[] = [];
  readonly pending: Ticket[] = [];
  failNext = 0;
  async send(tickets: readonly Ticket[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('queue unavailable');
    }
    this.sent.push(...tickets);
    this.pending.push(...tickets);
  }
}

interface Harness {
  ledger: DynamoDbLedger;
  queue: RecordingQueue;
  now: { value: Date };
  deps: { ledger: DynamoDbLedger; tickets: RecordingQueue; clock: () => Date };
  /** Attempts the receiver saw, in order: event id + attempt number. */
  seen: string[];
  deadLetters: LedgerEntry[];
  /** Handles queued tickets, then sweeps at the next due time, until nothing is left (or only the tickets queued now). */
  drain(receiver: (event: QueuedEvent) => AttemptOutcome, options?: { ticketsOnly?: boolean }): Promise<TicketOutcome[]>;
}

async function harness(): Promise<Harness> {
  const tableName = `flow-${++tableCount}`;
  await ensureLedgerTable(client, tableName);
  const now = { value: T0 };
  const ledger = new DynamoDbLedger({ tableName, client, clock: () => now.value });
  const queue = new RecordingQueue();
  const deps = { ledger, tickets: queue, clock: () => now.value };
  const seen: string[] = [];
  const deadLetters: LedgerEntry[] = [];
  const receives = new Map<Ticket, number>();
  const h: Harness = {
    ledger,
    queue,
    now,
    deps,
    seen,
    deadLetters,
    async drain(receiver, options = {}) {
      const maxSteps = 500;
      const outcomes: TicketOutcome[] = [];
      for (let step = 0; step < maxSteps; step++) {
        const ticket = queue.pending.shift();
        if (ticket) {
          // As SQS counts receives: the same ticket handed out again (after a crash) counts up.
          const receiveCount = (receives.get(ticket) ?? 0) + 1;
          receives.set(ticket, receiveCount);
          outcomes.push(
            await handleTicket(ticket.event, {
              ...deps,
              retryPolicy: POLICY,
              attempt: async (event, entry) => {
                seen.push(`${event.eventId}#${entry.attemptCount}`);
                return receiver(event);
              },
              deadLetter: async (entry) => {
                deadLetters.push(entry);
              },
            }, { firstTicket: ticket.ticketId === firstTicketId(ticket.event), receiveCount, firstReceivedAt: T0.toISOString() }),
          );
          continue;
        }
        if (options.ticketsOnly) return outcomes;
        const [next] = await ledger.due(new Date('2100-01-01T00:00:00Z'), 1);
        if (!next) return outcomes;
        now.value = new Date(Math.max(now.value.getTime(), Date.parse(next.dueAt!)));
        await sweep({ ...deps, limit: 100 });
      }
      throw new Error(`not drained after ${maxSteps} steps`);
    },
  };
  return h;
}

const down: AttemptOutcome = {
  kind: 'attempted',
  result: { ok: false, errorClass: 'http', error: 'callback answered 503', httpStatus: 503, durationMs: 5, excerpt: 'down' },
};
const up: AttemptOutcome = { kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 5 } };

const orderEvent = (n: number, overrides: Partial<QueuedEvent> = {}): QueuedEvent =>
  queuedEventFor({ eventId: `evt-${n}`, receivedAt: new Date(T0.getTime() + n * 1000).toISOString(), raw: { n }, ...overrides });

describe('ingest: record before answering', () => {
  test('a new event is recorded (one write) and its first ticket queued; a repeat is a duplicate once deliver has taken it', async () => {
    const h = await harness();
    const update = jest.spyOn(h.ledger, 'update');
    const event = orderEvent(1);
    const first = await admit([event], h.deps);
    expect(first).toEqual({ queued: [event], resumed: [], duplicates: [] });
    expect(h.queue.sent).toEqual([{ event, ticketId: firstTicketId(event) }]);
    expect(await h.ledger.get('shop-a', 'evt-1')).toMatchObject({ status: 'received', version: 1 });
    expect(update).not.toHaveBeenCalled();

    // Before any attempt the ledger cannot tell a queued first ticket from one never sent: the
    // repeat sends it again (same id: the queue drops it within its window; deliver skips it after).
    const early = await admit([{ ...event, receivedAt: 'later' }], h.deps);
    expect(early.queued).toEqual([event]); // as first recorded
    expect(h.queue.sent.map((t) => t.ticketId)).toEqual([firstTicketId(event), firstTicketId(event)]);

    await h.drain(() => up, { ticketsOnly: true });
    expect(h.seen).toEqual(['evt-1#1']);
    h.now.value = new Date(T0.getTime() + 3 * 3600_000); // long after the queue's 5-minute window
    const repeat = await admit([{ ...event, receivedAt: h.now.value.toISOString() }], h.deps);
    expect(repeat.queued).toEqual([]);
    expect(repeat.duplicates.map((e) => [e.eventId, e.status])).toEqual([['evt-1', 'delivered']]);
    expect(h.queue.sent).toHaveLength(2);
  });

  test('the queue failing: nothing is lost, the retry queues the events (as first recorded)', async () => {
    const h = await harness();
    const a = orderEvent(1, { instanceId: 'shop-a' });
    const b = orderEvent(1, { instanceId: 'shop-b' });
    h.queue.failNext = 1;
    await expect(admit([a, b], h.deps)).rejects.toThrow('queue unavailable');
    expect((await h.ledger.get('shop-a', 'evt-1'))?.status).toBe('received');

    const retry = await admit([{ ...a, receivedAt: 'later' }, { ...b, receivedAt: 'later' }], h.deps);
    expect(retry.resumed.map((e) => e.instanceId)).toEqual(['shop-a', 'shop-b']);
    expect(h.queue.sent.map((t) => [t.event.instanceId, t.event.receivedAt])).toEqual([
      ['shop-a', a.receivedAt],
      ['shop-b', b.receivedAt],
    ]);
  });

  test('a fan-out that failed half-way resumes: only the instance not yet taken by deliver is queued', async () => {
    const h = await harness();
    const a = orderEvent(1, { instanceId: 'shop-a' });
    const b = orderEvent(1, { instanceId: 'shop-b' });
    // The first request got shop-a queued (and delivered), then died before shop-b's ticket was sent.
    await admit([a], h.deps);
    await h.drain(() => up, { ticketsOnly: true });
    await h.ledger.record([(await import('../../functions/core/ledger')).receivedEntry(b, JSON.stringify(b), T0)]);
    const retry = await admit([a, b], h.deps);
    expect(retry.queued.map((e) => e.instanceId)).toEqual(['shop-b']);
    expect(retry.resumed.map((e) => e.instanceId)).toEqual(['shop-b']);
    expect(retry.duplicates.map((e) => e.instanceId)).toEqual(['shop-a']);
    expect(h.queue.sent.map((t) => t.event.instanceId)).toEqual(['shop-a', 'shop-b']);
  });
});

describe('deliver: attempts from the ledger, per-object order', () => {
  test('receiver down: five events of one object each get exactly maxAttempts, in order, and reach the DLQ with their last error', async () => {
    const h = await harness();
    const events = [1, 2, 3, 4, 5].map((n) => orderEvent(n));
    await admit(events, h.deps);
    await h.drain(() => down);

    const expected = events.flatMap((e) => [1, 2, 3, 4].map((n) => `${e.eventId}#${n}`));
    expect(h.seen).toEqual(expected);
    expect(h.deadLetters.map((e) => [e.eventId, e.attemptCount, e.lastError])).toEqual(
      events.map((e) => [e.eventId, 4, 'callback answered 503']),
    );
    for (const event of events) {
      const entry = await h.ledger.get('shop-a', event.eventId);
      expect(entry?.status).toBe('dead-lettered');
      expect(entry?.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'failed']);
      expect(entry?.attempts.map((a) => a.excerpt)).toEqual(['down', 'down', 'down', 'down']);
    }
    // Backoffs were honoured: attempts of event 1 are 60, 300 and 900 s apart.
    const first = await h.ledger.get('shop-a', 'evt-1');
    const gaps = first!.attempts.slice(1).map((a, i) => (Date.parse(a.at) - Date.parse(first!.attempts[i].at)) / 1000);
    expect(gaps).toEqual([60, 300, 900]);
  });

  test('an event parked behind a failing one is woken as soon as that one is delivered', async () => {
    const h = await harness();
    await admit([orderEvent(1), orderEvent(2)], h.deps);
    let calls = 0;
    const outcomes = await h.drain(() => (++calls === 1 ? down : up));
    expect(h.seen).toEqual(['evt-1#1', 'evt-1#2', 'evt-2#1']);
    expect(outcomes.map((o) => o.kind)).toEqual(['retrying', 'parked', 'delivered', 'delivered']);
    const second = await h.ledger.get('shop-a', 'evt-2');
    expect(second?.status).toBe('delivered');
    // Woken by the first's delivery, not by the sweep's recheck 15 minutes later.
    expect(Date.parse(second!.attempts[0].at)).toBe(Date.parse((await h.ledger.get('shop-a', 'evt-1'))!.statusAt));
  });

  test('other objects are not held back by a failing one', async () => {
    const h = await harness();
    await admit([orderEvent(1), orderEvent(2, { objectId: '999' })], h.deps);
    const outcomes = await h.drain((event) => (event.objectId === '124' ? down : up), { ticketsOnly: true });
    expect(h.seen).toEqual(['evt-1#1', 'evt-2#1']);
    expect(outcomes.map((o) => o.kind)).toEqual(['retrying', 'delivered']);
  });

  test('a duplicate ticket of a delivered event does nothing', async () => {
    const h = await harness();
    const event = orderEvent(1);
    await admit([event], h.deps);
    h.queue.pending.push({ event, ticketId: 'dup' });
    const outcomes = await h.drain(() => up);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'skipped']);
    expect(h.seen).toEqual(['evt-1#1']);
  });

  test('a first attempt that crashed (made without a claim) counts: its ticket comes back, the lost attempt is recorded as interrupted', async () => {
    const h = await harness();
    await admit([orderEvent(1)], h.deps);
    const update = jest.spyOn(h.ledger, 'update');
    let calls = 0;
    await expect(
      h.drain(() => {
        if (++calls === 1) throw new Error('Lambda timed out');
        return up;
      }),
    ).rejects.toThrow('Lambda timed out');
    // Nothing was written for the crashed attempt (no claim): the entry still shows none.
    expect(update).not.toHaveBeenCalled();
    expect(await h.ledger.get('shop-a', 'evt-1')).toMatchObject({ status: 'received', attemptCount: 0 });
    // SQS hands the same ticket out again (receive count 2): the earlier receive ended without an outcome.
    h.now.value = new Date(T0.getTime() + 720_000);
    h.queue.pending.push(h.queue.sent[0]);
    const outcomes = await h.drain(() => up, { ticketsOnly: true });
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered']);
    expect(h.seen).toEqual(['evt-1#1', 'evt-1#2']);
    const entry = await h.ledger.get('shop-a', 'evt-1');
    expect(entry).toMatchObject({ status: 'delivered', attemptCount: 2 });
    expect(entry?.attempts.map((a) => [a.n, a.outcome, a.at])).toEqual([
      [1, 'interrupted', T0.toISOString()],
      [2, 'delivered', h.now.value.toISOString()],
    ]);
    expect(entry?.attempts[0].durationMs).toBe(720_000);
    // The redelivered ticket took the claim path: the claim (with the lost attempt) and the outcome.
    expect(update).toHaveBeenCalledTimes(2);
  });

  test('a first attempt that crashed with the last attempt of its round dead-letters the event when its ticket comes back', async () => {
    const h = await harness();
    await admit([orderEvent(1)], h.deps);
    await expect(
      h.drain(() => {
        throw new Error('Lambda timed out');
      }),
    ).rejects.toThrow('Lambda timed out');
    h.queue.pending.push(h.queue.sent[0]);
    const event = h.queue.sent[0].event;
    const deadLetters: LedgerEntry[] = [];
    const outcome = await handleTicket(
      event,
      { ...h.deps, retryPolicy: { scheduleSeconds: [60], maxAttempts: 1 }, attempt: async () => up, deadLetter: async (e) => void deadLetters.push(e) },
      { firstTicket: true, receiveCount: 2 },
    );
    expect(outcome.kind).toBe('dead-lettered');
    expect(deadLetters.map((e) => [e.attemptCount, e.attempts.map((a) => a.outcome)])).toEqual([[1, ['interrupted']]]);
    expect(await h.ledger.get('shop-a', 'evt-1')).toMatchObject({ status: 'dead-lettered', attemptCount: 1 });
  });

  test('a first ticket released unstarted (back within the claim lease: skipped after a failure, not started in time) counts no attempt', async () => {
    const h = await harness();
    const event = orderEvent(1);
    await admit([event], h.deps);
    const update = jest.spyOn(h.ledger, 'update');
    h.now.value = new Date(T0.getTime() + 30_000);
    const seen: number[] = [];
    const outcome = await handleTicket(
      event,
      { ...h.deps, retryPolicy: POLICY, attempt: async (_e, entry) => (seen.push(entry.attemptCount), up), deadLetter: async () => undefined },
      { firstTicket: true, receiveCount: 2, firstReceivedAt: T0.toISOString() },
    );
    expect(outcome.kind).toBe('delivered');
    expect(seen).toEqual([1]);
    expect((await h.ledger.get('shop-a', 'evt-1'))?.attempts.map((a) => [a.n, a.outcome])).toEqual([[1, 'delivered']]);
    expect(update).toHaveBeenCalledTimes(1);
  });

  test('a claimed attempt that crashed counts, is recorded as interrupted, and the sweep brings the event back', async () => {
    const h = await harness();
    const event = orderEvent(1);
    await admit([event], h.deps);
    // A later ticket (sweep, wake, resend) claims its attempt before it makes it.
    h.queue.pending.splice(0, 1, { event, ticketId: 'later' });
    let calls = 0;
    await expect(
      h.drain(() => {
        if (++calls === 1) throw new Error('Lambda timed out');
        return up;
      }),
    ).rejects.toThrow('Lambda timed out');
    // The ticket comes back (SQS) while the claim is live: nothing happens.
    h.queue.pending.push({ event, ticketId: 'later' });
    await h.drain(() => up);
    const entry = await h.ledger.get('shop-a', 'evt-1');
    expect(entry?.status).toBe('delivered');
    expect(entry?.attempts.map((a) => [a.n, a.outcome])).toEqual([
      [1, 'interrupted'],
      [2, 'delivered'],
    ]);
    expect(Date.parse(entry!.attempts[1].at) - T0.getTime()).toBeGreaterThanOrEqual(DEFAULT_LEDGER_TIMING.claimLeaseSeconds * 1000);
  });

  test('the sweep moving an unattempted entry during its unclaimed first attempt does not lose the outcome', async () => {
    const h = await harness();
    const event = orderEvent(1);
    await admit([event], h.deps);
    h.now.value = new Date(T0.getTime() + DEFAULT_LEDGER_TIMING.receivedGraceSeconds * 1000);
    const outcome = await handleTicket(
      event,
      {
        ...h.deps,
        retryPolicy: POLICY,
        // The first ticket waited out the grace period in the queue: the sweep sends another while it is attempted.
        attempt: async () => {
          expect(await sweep({ ...h.deps, limit: 10 })).toEqual({ sent: 1, raced: 0 });
          return up;
        },
        deadLetter: async () => undefined,
      },
      { firstTicket: true, receiveCount: 1 },
    );
    expect(outcome.kind).toBe('delivered');
    expect(await h.ledger.get('shop-a', 'evt-1')).toMatchObject({ status: 'delivered', attemptCount: 1, version: 3 });
    // The first ticket (handed to handleTicket above, still in the recording queue) and the sweep's find it delivered.
    expect((await h.drain(() => up, { ticketsOnly: true })).map((o) => o.kind)).toEqual(['skipped', 'skipped']);
  });

  test('a dropped event (forged, instance gone) is final with its reason and unblocks its object', async () => {
    const h = await harness();
    await admit([orderEvent(1), orderEvent(2)], h.deps);
    await h.drain((event) => (event.eventId === 'evt-1' ? { kind: 'dropped', reason: 'forged', detail: 'no such order' } : up));
    expect((await h.ledger.get('shop-a', 'evt-1'))).toMatchObject({ status: 'dropped', reason: 'forged', detail: 'no such order' });
    expect((await h.ledger.get('shop-a', 'evt-2'))?.status).toBe('delivered');
  });
});

describe('sweep and resend', () => {
  test('an event recorded but never queued (crash before the enqueue) is queued by the sweep after the grace period', async () => {
    const h = await harness();
    const event = orderEvent(1);
    const { receivedEntry } = await import('../../functions/core/ledger');
    await h.ledger.record([receivedEntry(event, JSON.stringify(event), T0)]);
    expect(await sweep({ ...h.deps, limit: 10 })).toEqual({ sent: 0, raced: 0 });
    h.now.value = new Date(T0.getTime() + DEFAULT_LEDGER_TIMING.receivedGraceSeconds * 1000);
    expect(await sweep({ ...h.deps, limit: 10 })).toEqual({ sent: 1, raced: 0 });
    expect(await sweep({ ...h.deps, limit: 10 })).toEqual({ sent: 0, raced: 0 });
    await h.drain(() => up);
    expect((await h.ledger.get('shop-a', 'evt-1'))?.status).toBe('delivered');
  });

  test('resend: a dead-lettered event gets a new round, keeps its history and counts the resend', async () => {
    const h = await harness();
    await admit([orderEvent(1)], h.deps);
    await h.drain(() => down);
    const result = await resendEvent('shop-a', 'evt-1', h.deps);
    expect(result.kind).toBe('resent');
    await h.drain(() => up);
    const entry = await h.ledger.get('shop-a', 'evt-1');
    expect(entry).toMatchObject({ status: 'delivered', resendCount: 1, attemptCount: 5 });
    expect(entry?.attempts.map((a) => a.outcome)).toEqual(['failed', 'failed', 'failed', 'failed', 'delivered']);
    expect(await resendEvent('shop-a', 'missing', h.deps)).toEqual({ kind: 'not-found' });
    await admit([orderEvent(9)], h.deps);
    expect((await resendEvent('shop-a', 'evt-9', h.deps)).kind).toBe('unfinished');
  });
});
