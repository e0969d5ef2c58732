/**
 * The slow-receiver flow, shared by the dynalite test (test/core/receiver-gate.test.ts) and the moto
 * one: two workers' attempts at once through the ledger and the health record, the slow state
 * marked while the first attempt still runs, the other events held, then woken.
 */
import type { AttemptOutcome, Ticket } from '../../functions/core/ledger-flow';
import { event, fastUp, timedOut, type GateHarness } from './receiver-gate-harness';

/** `h` built with slowMaxInFlight 1 and an `after` that pushes onto `timers` (fired by hand here). */
export async function slowReceiverScenario(h: GateHarness, timers: { ms: number; fn: () => void }[]): Promise<void> {
  const answers = new Map<string, (outcome: AttemptOutcome) => void>();
  h.setReceiver((e) =>
    e.instanceId === 'shop-fast' ? fastUp : new Promise<AttemptOutcome>((resolve) => answers.set(e.eventId, resolve)),
  );
  await h.admit([1, 2, 3].flatMap((n) => [event('shop-slow', n), event('shop-fast', n)]));
  const tickets = h.queue.pending.splice(0);
  const ticketOf = (instanceId: string, n: number): Ticket => tickets.find((t) => t.event.instanceId === instanceId && t.event.eventId === `evt-${n}`)!;

  // Worker 1 starts shop-slow's first event; the receiver does not answer.
  const first = h.handle(ticketOf('shop-slow', 1));
  await until(() => answers.has('evt-1'));
  expect((await h.store.get('shop-slow'))?.slowSince).toBeUndefined();
  // slowAfterMs later it is still running: the receiver is marked slow, this attempt holds its one slot.
  expect(timers.map((t) => t.ms)).toEqual([2000]);
  timers.shift()!.fn();
  await until(async () => (await h.store.get('shop-slow'))?.slowSince !== undefined);
  expect((await h.store.get('shop-slow'))?.slowSlots).toHaveLength(1);

  // Other workers meanwhile: shop-slow's next events are held at once, attempts unused; shop-fast delivers.
  expect(await h.handle(ticketOf('shop-slow', 2))).toMatchObject({ kind: 'held', heldBy: 'receiver-slow' });
  expect(await h.handle(ticketOf('shop-slow', 3))).toMatchObject({ kind: 'held', heldBy: 'receiver-slow' });
  for (const n of [1, 2, 3]) expect(await h.handle(ticketOf('shop-fast', n))).toMatchObject({ kind: 'delivered' });
  expect(await h.entry('shop-slow', 'evt-3')).toMatchObject({ status: 'queued', heldBy: 'receiver-slow', attemptCount: 0 });
  expect([...answers.keys()]).toEqual(['evt-1']);

  // The slow attempt times out: its slot passes to the oldest held event (one ticket, not all).
  answers.get('evt-1')!(timedOut);
  expect(await first).toMatchObject({ kind: 'retrying' });
  expect(h.queue.pending.map((t) => `${t.event.instanceId}/${t.event.eventId}`)).toEqual(['shop-slow/evt-2']);
  const health = await h.store.get('shop-slow');
  expect(health?.slowSince).toBeDefined();
  expect(health?.slowSlots ?? []).toHaveLength(0);

  // It answers fast now: the slow state ends and every held event goes at once.
  h.setReceiver(() => fastUp);
  await h.run(h.now.value);
  expect(await h.entry('shop-slow', 'evt-2')).toMatchObject({ status: 'delivered', attemptCount: 1 });
  expect(await h.entry('shop-slow', 'evt-3')).toMatchObject({ status: 'delivered', attemptCount: 1 });
  expect((await h.store.get('shop-slow'))?.slowSince).toBeUndefined();
  // The timed-out one is retried on its schedule, and delivered.
  await h.run();
  expect(await h.entry('shop-slow', 'evt-1')).toMatchObject({ status: 'delivered', attemptCount: 2 });
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not reached');
}
