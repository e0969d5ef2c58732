/**
 * The ledger's use cases, written against ports: what ingest does before it answers, what deliver
 * does with a ticket, what the sweep and a resend do. The rules themselves are in ./ledger.ts; this
 * module only sequences reads, writes and tickets so that a crash between any two steps loses
 * nothing (every unfinished entry has a due time the sweep honours) and a lost race is re-decided
 * from a fresh read, never forced.
 */
import type { QueuedEvent } from './event';
import {
  claim,
  deadLetterInterrupted,
  DEFAULT_LEDGER_TIMING,
  earlierReceiveMayHaveAttempted,
  drop,
  filter,
  finishAttempt,
  hold,
  ingestDecision,
  isFinal,
  isReplayOf,
  isUnattempted,
  markQueued,
  nextToWake,
  notQueuedEntry,
  orderKey,
  park,
  probeFailed,
  receivedEntry,
  replayed,
  resend,
  swept,
  ticketDecision,
  withLostFirstAttempt,
  type AttemptResult,
  type DropReason,
  type FilterReason,
  type Ledger,
  type LedgerEntry,
  type LedgerTiming,
} from './ledger';
import type { RetryPolicy } from './retry-policy';

/** A message that says "this event is due now". `ticketId` is unique per ticket (the queue's dedupe id). */
export interface Ticket {
  readonly event: QueuedEvent;
  readonly ticketId: string;
}

/** The queue of tickets (SQS FIFO in AWS). Resolves only when every ticket was accepted. */
export interface TicketQueue {
  send(tickets: readonly Ticket[]): Promise<void>;
}

/**
 * The first ticket of an event has the id the queue has always deduplicated on (instance + event),
 * so the queue still drops Ecwid's repeats within its own window; every later ticket (sweep, wake,
 * resend) names the ledger version it was sent for, so the queue never drops it as a repeat.
 */
export const firstTicketId = (event: Pick<QueuedEvent, 'instanceId' | 'eventId'>): string => `${event.instanceId}:${event.eventId}`;
export const laterTicketId = (entry: Pick<LedgerEntry, 'instanceId' | 'eventId' | 'version'>): string =>
  `${entry.instanceId}:${entry.eventId}:v${entry.version}`;

export interface LedgerFlowDeps {
  readonly ledger: Ledger;
  readonly tickets: TicketQueue;
  readonly clock: () => Date;
  /** @default DEFAULT_LEDGER_TIMING */
  readonly timing?: LedgerTiming;
}

const timingOf = (deps: LedgerFlowDeps): LedgerTiming => deps.timing ?? DEFAULT_LEDGER_TIMING;

/** The event a ledger entry carries (exactly what was queued). */
export const eventOf = (entry: Pick<LedgerEntry, 'payload'>): QueuedEvent => JSON.parse(entry.payload) as QueuedEvent;

// ---- ingest ------------------------------------------------------------------------------------

export interface AdmitResult {
  /** Queued by this request: new events, and events a previous request recorded but never queued. */
  readonly queued: readonly QueuedEvent[];
  /** Of those, the ones a previous request recorded (a half-done fan-out resumed). */
  readonly resumed: readonly QueuedEvent[];
  /** Already queued or further: not queued again. */
  readonly duplicates: readonly LedgerEntry[];
}

/**
 * Ingest, for the events of one notification (one per target instance): record each (one
 * conditional write), then queue what is new or still `received`. Throws when the ledger or the
 * queue fails: the caller answers 503, Ecwid retries, and the retry resumes what is missing.
 *
 * Nothing is written after the queue accepted the tickets: `received` stands for "recorded, its
 * first ticket sent unless ingest failed". A repeat that finds it `received` sends that first
 * ticket again (the queue drops it within its 5-minute deduplication window; after that deliver
 * skips it once the event is attempted), and the sweep sends a ticket when `received` outlives
 * its grace period (docs/ledger.md, "Writes per event").
 */
export async function admit(events: readonly QueuedEvent[], deps: LedgerFlowDeps): Promise<AdmitResult> {
  const now = deps.clock();
  const timing = timingOf(deps);
  const entries = events.map((event) => receivedEntry(event, JSON.stringify(event), now, timing));
  const results = await deps.ledger.record(entries);
  const tickets: Ticket[] = [];
  const resumed: QueuedEvent[] = [];
  const duplicates: LedgerEntry[] = [];
  results.forEach((result, index) => {
    // A new entry's payload is this very event serialized: it is queued as it is (not parsed back).
    if (result.created) {
      tickets.push({ event: events[index], ticketId: firstTicketId(result.entry) });
      return;
    }
    const decision = ingestDecision(result.existing, now);
    if (decision.kind === 'duplicate') {
      duplicates.push(decision.entry);
    } else if (decision.kind === 'resume') {
      // A resumed entry is queued as it was first recorded (its payload), so the retry changes nothing.
      tickets.push({ event: eventOf(decision.entry), ticketId: firstTicketId(decision.entry) });
      resumed.push(events[index]);
    } else {
      // Expired but not yet deleted, and recorded over by `record`: cannot happen (record treats it as absent).
      tickets.push({ event: events[index], ticketId: firstTicketId(entries[index]) });
    }
  });
  await deps.tickets.send(tickets);
  return { queued: tickets.map((t) => t.event), resumed, duplicates };
}

/**
 * Ingest, for an instance that takes no delivery (notifications disabled, polling only): record
 * it as final with the reason, so a repeat is recognised and the ledger says why.
 */
export async function recordNotQueued(
  event: QueuedEvent,
  outcome: { status: 'dropped'; reason: DropReason; detail: string } | { status: 'filtered'; reason: FilterReason; detail: string },
  deps: Pick<LedgerFlowDeps, 'ledger' | 'clock' | 'timing'>,
): Promise<void> {
  await deps.ledger.record([notQueuedEntry(event, JSON.stringify(event), outcome, deps.clock(), deps.timing ?? DEFAULT_LEDGER_TIMING)]);
}

// ---- deliver -----------------------------------------------------------------------------------

/** What one attempt did: deliver's callback result, or a drop decided while preparing it. */
export type AttemptOutcome =
  | { readonly kind: 'attempted'; readonly result: AttemptResult }
  | { readonly kind: 'dropped'; readonly reason: DropReason; readonly detail: string };

/**
 * The receiver's say before an attempt is claimed (core/receiver-gate.ts): go (and be told the
 * result afterwards), hold (attempts unused, until the time given), filter, or drop.
 */
export type TicketGate =
  | {
      readonly kind: 'go';
      /** The attempt is its receiver's probe: a failure holds the event until then, its round untouched. */
      readonly probe?: { readonly heldBy: string; readonly until: string };
      done?(result: AttemptResult | undefined): Promise<void>;
    }
  | { readonly kind: 'hold'; readonly heldBy: string; readonly until: string }
  | { readonly kind: 'filter'; readonly detail: string }
  | { readonly kind: 'drop'; readonly detail: string };

export interface TicketDeps extends LedgerFlowDeps {
  readonly retryPolicy: RetryPolicy;
  /** Asked before each claim; absent: always go. */
  gate?(event: QueuedEvent, entry: LedgerEntry): Promise<TicketGate>;
  /** Makes one attempt (verify, sign, POST); never throws for a failed delivery, only for a bug. */
  attempt(event: QueuedEvent, entry: LedgerEntry): Promise<AttemptOutcome>;
  /** Stores the event for operators (the DLQ), with its last error. Resolves once stored. */
  deadLetter(entry: LedgerEntry): Promise<void>;
}

export type TicketOutcome =
  | { readonly kind: 'delivered'; readonly entry: LedgerEntry }
  | { readonly kind: 'retrying'; readonly entry: LedgerEntry }
  | { readonly kind: 'dead-lettered'; readonly entry: LedgerEntry }
  | { readonly kind: 'dropped'; readonly entry: LedgerEntry }
  | { readonly kind: 'parked'; readonly entry: LedgerEntry; readonly blockedBy: string }
  | { readonly kind: 'held'; readonly entry: LedgerEntry; readonly heldBy: string }
  | { readonly kind: 'filtered'; readonly entry: LedgerEntry }
  | { readonly kind: 'skipped'; readonly reason: string; readonly entry?: LedgerEntry };

/** What deliver knows about the ticket itself, beside the event it carries. */
export interface TicketInfo {
  /** The DLQ's copy of a dead-lettering: the ledger version it was dead-lettered at (see `isReplayOf`). */
  readonly deadLetteredVersion?: number;
  /** The event's first ticket, as ingest sent it (`firstTicketId`); not a sweep, wake, resend or replay ticket. */
  readonly firstTicket?: boolean;
  /**
   * How many times the queue has handed this ticket out (SQS ApproximateReceiveCount). A hint that
   * an earlier receive may have ended without an outcome, never an attempt count.
   */
  readonly receiveCount?: number;
  /** When the queue first handed this ticket out (ISO 8601), when known. */
  readonly firstReceivedAt?: string;
}

/** How often a lost race (another worker moved the entry between our read and write) is re-decided. */
const RACE_RETRIES = 3;

/**
 * Deliver, for one ticket. Every ticket ends here (the caller deletes it); only a ledger or DLQ
 * failure throws, and then the ticket stays on the queue for another try.
 *
 * The first attempt of an event is made without a claim when its first ticket arrives on its
 * first receive and the entry was never attempted: only the outcome is written (conditional on
 * the version read, the attempt counted in it). The FIFO queue hands out one ticket of an object
 * at a time (its group), so no other worker holds the event meanwhile. If that receive ends
 * without an outcome (crash, timeout), the queue hands the ticket out again: the entry still shows
 * no attempt, so the lost one is counted as interrupted in the next write (`withLostFirstAttempt`).
 * Every other ticket claims its attempt first (docs/ledger.md, "Writes per event").
 */
export async function handleTicket(event: QueuedEvent, deps: TicketDeps, ticket: TicketInfo = {}): Promise<TicketOutcome> {
  const timing = timingOf(deps);
  for (let race = 0; race <= RACE_RETRIES; race++) {
    let entry = await deps.ledger.get(event.instanceId, event.eventId);
    if (!entry) {
      // Queued before the ledger existed, or replayed from the DLQ after the entry expired: adopt it.
      const [recorded] = await deps.ledger.record([receivedEntry(event, JSON.stringify(event), deps.clock(), timing)]);
      entry = recorded.created ? recorded.entry : recorded.existing;
    }
    if (isReplayOf(entry, ticket.deadLetteredVersion)) {
      const again = replayed(entry, deps.clock(), timing, JSON.stringify(event));
      if (!(await deps.ledger.update(again))) continue;
      entry = again;
    }
    if (isFinal(entry.status)) return { kind: 'skipped', reason: `already ${entry.status}`, entry };
    const cutShort = earlierReceiveMayHaveAttempted(ticket, deps.clock(), timing);
    if (ticket.firstTicket === true && cutShort && isUnattempted(entry)) {
      entry = withLostFirstAttempt(entry, ticket.firstReceivedAt, deps.clock());
    }
    const unclaimed = ticket.firstTicket === true && !cutShort && isUnattempted(entry);
    const earlier = await deps.ledger.unfinishedOfObject(entry);
    const now = deps.clock();
    const decision = ticketDecision(entry, earlier, now, deps.retryPolicy, timing);
    switch (decision.kind) {
      case 'skip':
        return { kind: 'skipped', reason: decision.reason, entry };
      case 'wait': {
        const blocker = earlier.find((e) => e.eventId === decision.blockedBy)!;
        const parked = park(entry, blocker, now, timing);
        if (!(await deps.ledger.update(parked))) continue;
        // The blocker may have finished between our read and our park, and looked for a parked
        // successor before we were one: read it again. If it is done, decide again (attempt now).
        const again = await deps.ledger.get(blocker.instanceId, blocker.eventId);
        if (again && !isFinal(again.status)) return { kind: 'parked', entry: parked, blockedBy: blocker.eventId };
        continue;
      }
      case 'dead-letter': {
        const dead = deadLetterInterrupted(entry, now, timing);
        await deps.deadLetter(dead);
        if (!(await deps.ledger.update(dead))) continue;
        await wakeNext(dead, deps);
        return { kind: 'dead-lettered', entry: dead };
      }
      case 'attempt': {
        const gate: TicketGate = deps.gate ? await deps.gate(event, entry) : { kind: 'go' };
        if (gate.kind !== 'go') {
          const at = deps.clock();
          const next =
            gate.kind === 'hold'
              ? hold(entry, gate.heldBy, gate.until, at, timing)
              : gate.kind === 'filter'
                ? filter(entry, 'event-type', gate.detail, at, timing)
                : drop(entry, 'receiver-disabled', gate.detail, at, timing);
          if (!(await deps.ledger.update(next))) continue;
          if (gate.kind === 'hold') return { kind: 'held', entry: next, heldBy: gate.heldBy };
          await wakeNext(next, deps);
          return gate.kind === 'filter' ? { kind: 'filtered', entry: next } : { kind: 'dropped', entry: next };
        }
        const claimed = claim(entry, now, timing);
        if (!unclaimed && !(await deps.ledger.update(claimed))) {
          await gate.done?.(undefined);
          continue;
        }
        let outcome: AttemptOutcome;
        try {
          outcome = await deps.attempt(event, claimed);
        } catch (error) {
          await gate.done?.(undefined);
          throw error;
        }
        const finished = await finish(claimed, outcome, deps, gate.probe, unclaimed ? entry : undefined);
        await gate.done?.(outcome.kind === 'attempted' ? outcome.result : undefined);
        return finished;
      }
    }
  }
  return { kind: 'skipped', reason: 'the entry kept changing while this ticket was handled; its due time brings it back' };
}

/**
 * Records the attempt's outcome. `unclaimed`: the entry as read, when the attempt was made without
 * a claim (the outcome is then written over that version, the attempt counted in the same write).
 */
async function finish(
  claimed: LedgerEntry,
  outcome: AttemptOutcome,
  deps: TicketDeps,
  probe?: { readonly heldBy: string; readonly until: string },
  unclaimed?: LedgerEntry,
): Promise<TicketOutcome> {
  const timing = timingOf(deps);
  const now = deps.clock();
  const failedProbe = probe && outcome.kind === 'attempted' && !outcome.result.ok && !('permanent' in outcome.result && outcome.result.permanent === true) ? outcome.result : undefined;
  const outcomeOf = (attempted: LedgerEntry): LedgerEntry =>
    outcome.kind === 'dropped'
      ? drop(attempted, outcome.reason, outcome.detail, now, timing)
      : failedProbe && probe
        ? probeFailed(attempted, failedProbe, probe.heldBy, probe.until, now, timing)
        : finishAttempt(attempted, outcome.result, now, deps.retryPolicy, timing);
  let next = outcomeOf(claimed);
  if (unclaimed) next = { ...next, version: unclaimed.version + 1 };
  // Stored in the DLQ before the ledger says so: a failure here leaves the claim to expire and be retried.
  if (next.status === 'dead-lettered') await deps.deadLetter(next);
  let written = await deps.ledger.update(next);
  for (let race = 0; !written && unclaimed && race < RACE_RETRIES; race++) {
    // Without a claim, only the sweep can have moved the entry meanwhile (its grace period ran out
    // while the ticket waited in the queue): our outcome goes over its write, attempt included.
    const fresh = await deps.ledger.get(claimed.instanceId, claimed.eventId);
    if (!fresh || !isUnattempted(fresh)) break;
    next = { ...outcomeOf(claim(fresh, new Date(claimed.statusAt), timing)), version: fresh.version + 1 };
    if (next.status === 'dead-lettered') await deps.deadLetter(next);
    written = await deps.ledger.update(next);
  }
  if (!written) {
    // Someone took the entry over (our claim outlived its lease): they record their own attempt.
    return { kind: 'skipped', reason: 'the claim expired before the attempt finished', entry: claimed };
  }
  if (isFinal(next.status)) await wakeNext(next, deps);
  if (next.heldBy !== undefined) return { kind: 'held', entry: next, heldBy: next.heldBy };
  return { kind: next.status as 'delivered' | 'retrying' | 'dead-lettered' | 'dropped', entry: next };
}

/** After an event finished, its object's next parked event gets a ticket at once. */
async function wakeNext(finished: LedgerEntry, deps: LedgerFlowDeps): Promise<void> {
  const next = nextToWake(finished, await deps.ledger.unfinishedOfObject(finished));
  if (!next) return;
  const queued = markQueued(next, deps.clock(), timingOf(deps));
  // If another worker moved it meanwhile, it is not parked any more: nothing to wake.
  if (await deps.ledger.update(queued)) await deps.tickets.send([{ event: eventOf(queued), ticketId: laterTicketId(queued) }]);
}

/**
 * A receiver is back (its circuit closed, an operator resumed it): every event held for it gets
 * its ticket now, oldest first, instead of at its recheck. Returns how many were woken.
 */
export async function wakeHeld(instanceId: string, deps: LedgerFlowDeps, limit = 10_000): Promise<number> {
  const held: LedgerEntry[] = [];
  let cursor: string | undefined;
  do {
    // The ledger searches its status index (queued, filtered by instance): held events are `queued`,
    // like few others (ingest records `received`), so this reads the queued backlog, not the instance's history.
    const page = await deps.ledger.list({ instanceId, status: 'queued', cursor, limit: 1000 });
    held.push(...page.entries.filter((entry) => entry.heldBy !== undefined));
    cursor = page.cursor;
  } while (cursor && held.length < limit);
  held.sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));
  let woken = 0;
  for (const entry of held.slice(0, limit)) {
    const queued = markQueued(entry, deps.clock(), timingOf(deps));
    // Moved meanwhile (a ticket of its own came first): it needs no wake-up.
    if (!(await deps.ledger.update(queued))) continue;
    await deps.tickets.send([{ event: eventOf(queued), ticketId: laterTicketId(queued) }]);
    woken++;
  }
  return woken;
}

// ---- sweep and resend --------------------------------------------------------------------------

export interface SweepResult {
  /** Tickets sent. */
  readonly sent: number;
  /** Due entries another worker moved first. */
  readonly raced: number;
}

/**
 * Sends a ticket for every unfinished entry whose due time has passed (at most `limit` per run).
 * The entry is moved on first, so two sweeps never both send it; a ticket that then fails to send
 * is sent by a later sweep (its new due time).
 */
export async function sweep(deps: LedgerFlowDeps & { readonly limit: number }): Promise<SweepResult> {
  const timing = timingOf(deps);
  let sent = 0;
  let raced = 0;
  for (const entry of await deps.ledger.due(deps.clock(), deps.limit)) {
    const next = swept(entry, deps.clock(), timing);
    if (!(await deps.ledger.update(next))) {
      raced++;
      continue;
    }
    await deps.tickets.send([{ event: eventOf(next), ticketId: laterTicketId(next) }]);
    sent++;
  }
  return { sent, raced };
}

export type ResendResult =
  | { readonly kind: 'resent'; readonly entry: LedgerEntry }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'unfinished'; readonly entry: LedgerEntry };

/** An operator resends a finished event: a new round, its history kept. */
export async function resendEvent(instanceId: string, eventId: string, deps: LedgerFlowDeps): Promise<ResendResult> {
  const timing = timingOf(deps);
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const entry = await deps.ledger.get(instanceId, eventId);
    if (!entry) return { kind: 'not-found' };
    if (!isFinal(entry.status)) return { kind: 'unfinished', entry };
    const again = resend(entry, deps.clock(), timing);
    if (!(await deps.ledger.update(again))) continue;
    await deps.tickets.send([{ event: eventOf(again), ticketId: laterTicketId(again) }]);
    const queued = markQueued(again, deps.clock(), timing);
    // Left `received` if this fails: the sweep queues it again within its grace period.
    const marked = await deps.ledger.update(queued).catch(() => false);
    return { kind: 'resent', entry: marked ? queued : again };
  }
  throw new Error(`event ${eventId} of instance ${instanceId} kept changing; try again`);
}

/**
 * After the queue lost its tickets (the local runner's in-memory queue after a restart, a purged
 * queue): a ticket now for every unfinished event that could go now: recorded or queued and not
 * parked. The others keep their due time, which the sweep honours (a retry's backoff, a claim's
 * lease, a parked event's blocker). Nothing is written; a duplicate ticket is harmless.
 */
export async function requeueUnfinished(deps: LedgerFlowDeps & { readonly limit: number }): Promise<number> {
  // Every unfinished entry has a due time: "due by the end of time" lists them all, oldest due first.
  const unfinished = await deps.ledger.due(new Date('9999-12-31T23:59:59.999Z'), deps.limit);
  const ready = unfinished.filter((entry) => (entry.status === 'received' || entry.status === 'queued') && entry.blockedBy === undefined);
  if (ready.length > 0) await deps.tickets.send(ready.map((entry) => ({ event: eventOf(entry), ticketId: laterTicketId(entry) })));
  return ready.length;
}
