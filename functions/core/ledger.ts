/**
 * The event ledger: what happened to each event of each instance, and what may happen next.
 *
 * Pure. The ledger is the source of truth for delivery; the queue only carries "this event is due
 * now" tickets. Every transition here takes an entry and returns the next one (never mutates);
 * a store (the `Ledger` port) writes it only if nobody changed the entry since it was read
 * (`version`), so two workers holding the same event cannot both move it.
 *
 * States (docs/ledger.md has the diagram):
 *   received ─(first ticket, first receive: attempted without a claim)─▶ delivered | retrying | dead-lettered
 *   received ─▶ queued ─▶ delivering ─▶ delivered
 *                 ▲  │          │  ╰──▶ retrying ─(due)─▶ queued ...
 *                 │  ╰─(parked behind an earlier event of its object, still queued)
 *                 │             ╰─────▶ dead-lettered (after its own maxAttempts, with the last error)
 *   any non-final ─▶ dropped (forged, instance disabled/deleted...) | filtered (not for delivery)
 *   delivered | dead-lettered | dropped | filtered ─(resend)─▶ queued (history kept, resendCount + 1)
 *
 * Attempts are counted here, never from the queue's receive count: a claim (`delivering`) counts
 * the attempt before the callback is sent, so an attempt cut short by a crash still counts
 * (`interrupted`) and an event waiting behind another never uses up its attempts. The first attempt
 * of an event is the exception (one write instead of two): made unclaimed, counted with its
 * outcome, and counted as `interrupted` if its ticket comes back without one (`withLostFirstAttempt`).
 *
 * Every non-final entry has a `dueAt`: the time at which, if nothing else moved it, the sweep must
 * (re)send its ticket. That is what guarantees that no event silently stops: a lost ticket, a crash
 * between two writes or an expired queue message only delays it until `dueAt`.
 */
import type { EventSource, NormalizedEventType, QueuedEvent } from './event';
import { backoffSeconds, DEFAULT_LEDGER_RETENTION_DAYS, type RetryPolicy } from './retry-policy';

export type LedgerStatus =
  | 'received'
  | 'queued'
  | 'delivering'
  | 'retrying'
  | 'delivered'
  | 'dead-lettered'
  | 'dropped'
  | 'filtered';

export const LEDGER_STATUSES: readonly LedgerStatus[] = [
  'received',
  'queued',
  'delivering',
  'retrying',
  'delivered',
  'dead-lettered',
  'dropped',
  'filtered',
];

/** States an event never leaves by itself (only an operator's resend takes it out). */
export const FINAL_STATUSES: ReadonlySet<LedgerStatus> = new Set(['delivered', 'dead-lettered', 'dropped', 'filtered']);

export const isFinal = (status: LedgerStatus): boolean => FINAL_STATUSES.has(status);

export const isLedgerStatus = (value: unknown): value is LedgerStatus =>
  typeof value === 'string' && (LEDGER_STATUSES as readonly string[]).includes(value);

/** Why an event was not delivered and will not be retried. */
export type DropReason =
  | 'forged'
  | 'instance-disabled'
  | 'instance-deleted'
  | 'instance-store-changed'
  | 'unparseable'
  /** The receiver failed for too long and was disabled (docs/health.md); kept for `events resend`. */
  | 'receiver-disabled';

/** Why an event was deliberately not delivered (configuration, not failure). */
export type FilterReason = 'polling-only' | 'event-type';

/** The longest answer excerpt kept per attempt, in UTF-8 bytes. */
export const EXCERPT_MAX_BYTES = 1024;

/**
 * The excerpt kept of a 2xx answer, and of an earlier attempt's answer once a later attempt is
 * recorded: the latest failure keeps its full excerpt (what an operator reads first), the rest the
 * start of it, so a delivered event's item stays under 1 KB (one write unit) and a dead letter's
 * history stays bounded (docs/ledger.md, "Write units").
 */
export const SHORT_EXCERPT_MAX_BYTES = 128;

/** How one attempt ended. `interrupted`: claimed, then never finished (crash, timeout). */
export type AttemptOutcome = 'delivered' | 'failed' | 'interrupted';

/** One delivery attempt, as kept in the ledger. No secrets: errors and excerpts are redacted first. */
export interface AttemptRecord {
  /** 1-based, over the event's whole life (resends continue the count). */
  readonly n: number;
  /** When the attempt started (ISO 8601). */
  readonly at: string;
  readonly durationMs: number;
  readonly outcome: AttemptOutcome;
  /** The receiver's HTTP status, when it answered. */
  readonly httpStatus?: number;
  /** What kind of failure, when there was no 2xx: `http`, `timeout`, `connection`, `url-refused`, `interrupted`, ... */
  readonly errorClass?: string;
  /** The failure, one line, redacted. */
  readonly error?: string;
  /** The start of the answer's body (at most EXCERPT_MAX_BYTES bytes), redacted. */
  readonly excerpt?: string;
}

/** One event of one instance, as the ledger keeps it. */
export interface LedgerEntry {
  readonly instanceId: string;
  readonly eventId: string;
  readonly storeId: string;
  readonly source: EventSource;
  readonly ecwidEventType: string;
  readonly objectType: string;
  readonly objectId: string;
  readonly eventType: NormalizedEventType;
  readonly receivedAt: string;
  readonly occurredAt?: string;
  readonly status: LedgerStatus;
  /** When the entry entered its status. */
  readonly statusAt: string;
  /** Non-final entries only: when the sweep acts if nothing else has (see the module comment). */
  readonly dueAt?: string;
  /** `retrying` only: the earliest time of the next attempt. */
  readonly nextAttemptAt?: string;
  /** `queued` only: the earlier event of the same object this one waits for. */
  readonly blockedBy?: string;
  /**
   * `queued` only: held by its receiver's state (`paused`, `circuit-open`, `probe-in-flight`,
   * `rate-limited`), attempts unused, until `dueAt`, when the sweep sends its ticket again.
   */
  readonly heldBy?: string;
  /** `dropped` / `filtered`: why. */
  readonly reason?: DropReason | FilterReason;
  /** `dropped` / `filtered`: details for people (no secrets). */
  readonly detail?: string;
  /** The last failure (kept after a later success, for history). */
  readonly lastError?: string;
  /** Attempts claimed over the event's whole life. */
  readonly attemptCount: number;
  /** `attemptCount` when the current round began (0, or the count at the last resend). */
  readonly roundStart: number;
  readonly attempts: readonly AttemptRecord[];
  readonly resendCount: number;
  /** Final entries only: the store may forget the entry after this (epoch seconds). */
  readonly expiresAt?: number;
  /** The queued event, exactly as it goes on the queue (JSON), so it can be sent again. */
  readonly payload: string;
  /** Optimistic-concurrency counter: 1 when recorded, + 1 per write. */
  readonly version: number;
}

/** How long things may take before the sweep steps in, and how long final entries are kept. */
export interface LedgerTiming {
  /** A final entry is kept this long after it became final: the dedupe window for Ecwid's repeats. */
  readonly retentionSeconds: number;
  /**
   * `received` (ingest recorded it and sent its first ticket, unconfirmed: ingest writes once) for
   * longer than this without an attempt: the first ticket is presumed lost (or never sent: a crash
   * between the record and the send) and the sweep sends another.
   */
  readonly receivedGraceSeconds: number;
  /** `queued` for longer than this without a claim: the ticket is presumed lost and sent again. */
  readonly queuedStallSeconds: number;
  /** A parked entry is looked at again after this, in case its wake-up was missed. */
  readonly parkedRecheckSeconds: number;
  /** A claim older than this is an interrupted attempt (longer than the deliver function may run). */
  readonly claimLeaseSeconds: number;
}

const DAY_SECONDS = 86_400;

export const DEFAULT_LEDGER_TIMING: LedgerTiming = {
  retentionSeconds: DEFAULT_LEDGER_RETENTION_DAYS * DAY_SECONDS,
  // As long as a queued ticket's stall time: `received` now also stands for "queued" (ingest does not
  // write a second time to say so), and a ticket that waits in a backlog must not be doubled.
  receivedGraceSeconds: 900,
  // Longer than the queue's visibility timeout (720 s), so a ticket that is merely slow is not doubled.
  queuedStallSeconds: 900,
  parkedRecheckSeconds: 900,
  // Twice the deliver function's 120 s timeout.
  claimLeaseSeconds: 240,
};

/**
 * The timing with the retention the stack set (LEDGER_RETENTION_DAYS, whole days). Unset: the
 * default; malformed: throws (a cold start that fails loudly beats a silently wrong dedupe window).
 */
export function ledgerTimingFrom(values: { retentionDays?: string }): LedgerTiming {
  const text = values.retentionDays?.trim();
  if (!text) return DEFAULT_LEDGER_TIMING;
  const days = Number(text);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw new Error(`LEDGER_RETENTION_DAYS must be whole days from 1 to 3650, got "${text}"`);
  }
  return { ...DEFAULT_LEDGER_TIMING, retentionSeconds: days * DAY_SECONDS };
}

/** Every rule breach is a bug or a lost race; the caller re-reads and decides again. */
export class LedgerTransitionError extends Error {
  constructor(entry: Pick<LedgerEntry, 'instanceId' | 'eventId' | 'status'>, transition: string) {
    super(`event ${entry.eventId} of instance ${entry.instanceId} is ${entry.status}: cannot ${transition}`);
    this.name = 'LedgerTransitionError';
  }
}

const plusSeconds = (now: Date, seconds: number): string => new Date(now.getTime() + seconds * 1000).toISOString();
const epochSeconds = (now: Date): number => Math.floor(now.getTime() / 1000);

/** What every transition writes: the new status, its time, and the bookkeeping. */
function moved(entry: LedgerEntry, status: LedgerStatus, now: Date, changes: Partial<LedgerEntry>): LedgerEntry {
  const next: LedgerEntry = {
    ...entry,
    // Fields that belong to one status only are cleared when it is left.
    dueAt: undefined,
    nextAttemptAt: undefined,
    blockedBy: undefined,
    heldBy: undefined,
    expiresAt: undefined,
    ...(isFinal(status) ? {} : { reason: undefined, detail: undefined }),
    ...changes,
    status,
    statusAt: now.toISOString(),
    version: entry.version + 1,
  };
  return withoutUndefined(next);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function final(entry: LedgerEntry, status: LedgerStatus, now: Date, timing: LedgerTiming, changes: Partial<LedgerEntry>): LedgerEntry {
  return moved(entry, status, now, { ...changes, expiresAt: epochSeconds(now) + timing.retentionSeconds });
}

/** The ordering key of an event within its object: arrival time, then event id (deterministic ties). */
export const orderKey = (entry: Pick<LedgerEntry, 'receivedAt' | 'eventId'>): string => `${entry.receivedAt}#${entry.eventId}`;

/** Events of one object (of one instance) are delivered one after the other, in `orderKey` order. */
export const objectKey = (entry: Pick<LedgerEntry, 'instanceId' | 'objectType' | 'objectId'>): string =>
  `${entry.instanceId}#${entry.objectType}:${entry.objectId}`;

// ---- ingest ------------------------------------------------------------------------------------

/** A new entry for an event ingest is about to queue: `received` until the queue has accepted it. */
export function receivedEntry(event: QueuedEvent, payload: string, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  return withoutUndefined({
    instanceId: event.instanceId,
    eventId: event.eventId,
    storeId: event.storeId,
    source: event.source,
    ecwidEventType: event.ecwidEventType,
    objectType: event.objectType,
    objectId: event.objectId,
    eventType: event.eventType,
    receivedAt: event.receivedAt,
    occurredAt: event.occurredAt,
    status: 'received' as const,
    statusAt: now.toISOString(),
    dueAt: plusSeconds(now, timing.receivedGraceSeconds),
    attemptCount: 0,
    roundStart: 0,
    attempts: [],
    resendCount: 0,
    payload,
    version: 1,
  });
}

/**
 * An entry for an event that is recorded but not queued (instance disabled, polling only): final
 * at once, so a repeat is recognised and the ledger says why nothing was delivered.
 */
export function notQueuedEntry(
  event: QueuedEvent,
  payload: string,
  outcome: { status: 'dropped'; reason: DropReason; detail: string } | { status: 'filtered'; reason: FilterReason; detail: string },
  now: Date,
  timing: LedgerTiming = DEFAULT_LEDGER_TIMING,
): LedgerEntry {
  const entry = final(receivedEntry(event, payload, now, timing), outcome.status, now, timing, {
    reason: outcome.reason,
    detail: oneLine(outcome.detail),
  });
  return { ...entry, version: 1 };
}

/** What ingest does with an event of one instance, given what the ledger already holds for it. */
export type IngestDecision =
  /** Never seen (or forgotten after the retention): record it, queue it. */
  | { readonly kind: 'new' }
  /** Recorded but the queue never confirmed it (a fan-out that failed half-way): queue it now. */
  | { readonly kind: 'resume'; readonly entry: LedgerEntry }
  /** Already queued or further: a repeat. Answer 2xx and queue nothing. */
  | { readonly kind: 'duplicate'; readonly entry: LedgerEntry };

export function ingestDecision(existing: LedgerEntry | undefined, now: Date): IngestDecision {
  if (!existing || isExpired(existing, now)) return { kind: 'new' };
  if (existing.status === 'received') return { kind: 'resume', entry: existing };
  return { kind: 'duplicate', entry: existing };
}

/** A store may keep an entry past `expiresAt` for a while (DynamoDB's TTL deletes lazily): it counts as gone. */
export const isExpired = (entry: Pick<LedgerEntry, 'expiresAt'>, now: Date): boolean =>
  entry.expiresAt !== undefined && entry.expiresAt <= epochSeconds(now);

/** The queue accepted the event's ticket (ingest, the sweep, a resend). */
export function markQueued(entry: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status) || entry.status === 'delivering') throw new LedgerTransitionError(entry, 'mark it queued');
  return moved(entry, 'queued', now, { dueAt: plusSeconds(now, timing.queuedStallSeconds) });
}

// ---- deliver -----------------------------------------------------------------------------------

/** What deliver does with a ticket, given the entry and the unfinished earlier events of its object. */
export type TicketDecision =
  /** Attempt it now (claim first). `interrupted`: the previous claim never finished; record it first. */
  | { readonly kind: 'attempt'; readonly interrupted: boolean }
  /** Park it: an earlier event of the object is not finished. Its wake-up comes when that one ends. */
  | { readonly kind: 'wait'; readonly blockedBy: string }
  /** Nothing to do for this ticket (a stale or duplicate ticket); it can be discarded. */
  | { readonly kind: 'skip'; readonly reason: string }
  /** The previous claim was interrupted and it was the last allowed attempt. */
  | { readonly kind: 'dead-letter'; readonly interrupted: true };

/**
 * The per-object ordering rule and the attempt budget, for one ticket.
 *
 * `earlier` are entries of the same object (same instance) that the store found before this one;
 * only unfinished ones block, and only if they really come earlier (`orderKey`).
 */
export function ticketDecision(
  entry: LedgerEntry,
  earlier: readonly LedgerEntry[],
  now: Date,
  policy: RetryPolicy,
  timing: LedgerTiming = DEFAULT_LEDGER_TIMING,
): TicketDecision {
  if (isFinal(entry.status)) return { kind: 'skip', reason: `already ${entry.status}` };
  let interrupted = false;
  if (entry.status === 'delivering') {
    if (claimIsLive(entry, now, timing)) return { kind: 'skip', reason: 'an attempt is in progress' };
    interrupted = true;
    if (attemptsInRound(entry) >= policy.maxAttempts) return { kind: 'dead-letter', interrupted: true };
  } else if (attemptsInRound(entry) >= policy.maxAttempts) {
    // Only after a lost first attempt (`withLostFirstAttempt`) used the round's last attempt.
    return { kind: 'dead-letter', interrupted: true };
  }
  if (entry.status === 'retrying' && entry.nextAttemptAt !== undefined && entry.nextAttemptAt > now.toISOString()) {
    return { kind: 'skip', reason: `not due until ${entry.nextAttemptAt}` };
  }
  const mine = orderKey(entry);
  const blocker = earlier
    .filter((other) => other.eventId !== entry.eventId && !isFinal(other.status) && orderKey(other) < mine)
    .sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1))[0];
  if (blocker) return { kind: 'wait', blockedBy: blocker.eventId };
  return { kind: 'attempt', interrupted };
}

/** A claim is held for `claimLeaseSeconds` from when it was taken; after that it was interrupted. */
const claimIsLive = (entry: LedgerEntry, now: Date, timing: LedgerTiming): boolean =>
  Date.parse(entry.statusAt) + timing.claimLeaseSeconds * 1000 > now.getTime();

/** Attempts used in the current round (since the last resend). */
export const attemptsInRound = (entry: Pick<LedgerEntry, 'attemptCount' | 'roundStart'>): number => entry.attemptCount - entry.roundStart;

/**
 * Parks an entry behind an earlier unfinished event of its object; the ticket is discarded. The
 * blocker's end wakes it (`nextToWake`); the sweep looks again at the recheck time, or when the
 * blocker is next due, whichever is later (a blocker retrying in 8 h cannot finish sooner).
 */
export function park(entry: LedgerEntry, blocker: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status)) throw new LedgerTransitionError(entry, 'park it');
  // A claim cut short is recorded before the entry waits (its attempt counted).
  const base = entry.status === 'delivering' ? recordInterrupted(entry, now) : entry;
  const recheck = plusSeconds(now, timing.parkedRecheckSeconds);
  const dueAt = blocker.dueAt !== undefined && blocker.dueAt > recheck ? blocker.dueAt : recheck;
  return moved(base, 'queued', now, { blockedBy: blocker.eventId, dueAt });
}

/** A hold lasts at least this long, so a receiver's hold never spins through the sweep. */
export const HELD_RECHECK_MIN_SECONDS = 1;

/**
 * Holds an entry for its receiver (paused, circuit open, rate limited): no attempt is used, the
 * ticket is discarded, and the sweep sends it again at `until` (no earlier than a recheck, so a
 * hold never spins). A stale claim is recorded as interrupted first, as when parking.
 */
export function hold(entry: LedgerEntry, heldBy: string, until: string | undefined, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status)) throw new LedgerTransitionError(entry, 'hold it');
  const base = entry.status === 'delivering' ? recordInterrupted(entry, now) : entry;
  const soonest = plusSeconds(now, HELD_RECHECK_MIN_SECONDS);
  const dueAt = until === undefined ? plusSeconds(now, timing.parkedRecheckSeconds) : until > soonest ? until : soonest;
  return moved(base, 'queued', now, { heldBy, dueAt });
}

/**
 * Claims the next attempt: counts it, and holds the entry for `claimLeaseSeconds`. An interrupted
 * previous claim is recorded as its own attempt first.
 */
export function claim(entry: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status)) throw new LedgerTransitionError(entry, 'claim an attempt');
  const base = entry.status === 'delivering' ? recordInterrupted(entry, now) : entry;
  return moved(base, 'delivering', now, {
    attemptCount: base.attemptCount + 1,
    dueAt: plusSeconds(now, timing.claimLeaseSeconds),
  });
}

/** The attempt a stale claim stood for, recorded as interrupted (we cannot know whether it was sent). */
function recordInterrupted(entry: LedgerEntry, now: Date): LedgerEntry {
  const error = 'the attempt did not finish (the deliver function stopped or timed out)';
  const attempt: AttemptRecord = {
    n: entry.attemptCount,
    at: entry.statusAt,
    durationMs: Math.max(0, now.getTime() - Date.parse(entry.statusAt)),
    outcome: 'interrupted',
    errorClass: 'interrupted',
    error,
  };
  return { ...entry, attempts: [...entry.attempts, attempt], lastError: error };
}

/**
 * An entry whose last allowed attempt was interrupted (a stale claim, or a lost first attempt
 * already recorded by `withLostFirstAttempt`): dead-letter it.
 */
export function deadLetterInterrupted(entry: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status)) throw new LedgerTransitionError(entry, 'dead-letter an interrupted attempt');
  const base = entry.status === 'delivering' ? recordInterrupted(entry, now) : entry;
  if (base.attempts.at(-1)?.outcome !== 'interrupted') throw new LedgerTransitionError(entry, 'dead-letter an interrupted attempt');
  return final(base, 'dead-lettered', now, timing, {});
}

/**
 * Never attempted, nothing in progress: the only state in which deliver may make an attempt
 * without claiming it first (its first ticket, on its first receive: `handleTicket`).
 */
export const isUnattempted = (entry: Pick<LedgerEntry, 'status' | 'attemptCount'>): boolean =>
  entry.attemptCount === 0 && (entry.status === 'received' || entry.status === 'queued');

/**
 * Whether an earlier receive of a ticket may have made an attempt that left no trace (an unclaimed
 * first attempt cut short). Only a receive that ended without an answer (crash, timeout, a failed
 * outcome write) can have; such a receive keeps the message invisible for the queue's visibility
 * timeout (six times the deliver timeout), longer than the claim lease. A ticket back sooner than
 * the lease after its first receive was released on purpose, unstarted (records skipped after a
 * failure in their group, records deliver's time budget did not start), so nothing was attempted.
 */
export function earlierReceiveMayHaveAttempted(
  ticket: { readonly receiveCount?: number; readonly firstReceivedAt?: string },
  now: Date,
  timing: LedgerTiming = DEFAULT_LEDGER_TIMING,
): boolean {
  if ((ticket.receiveCount ?? 1) <= 1) return false;
  const first = ticket.firstReceivedAt === undefined ? Number.NaN : Date.parse(ticket.firstReceivedAt);
  return !(now.getTime() - first < timing.claimLeaseSeconds * 1000);
}

export const LOST_FIRST_ATTEMPT_ERROR =
  'an earlier receive of the first ticket ended without an outcome (the deliver function stopped or timed out); the attempt may have reached the receiver';

/**
 * A first attempt is made without a claim (one write instead of two) and recorded only with its
 * outcome. When its ticket comes back (the queue hands it out again) and the entry still shows no
 * attempt, that receive ended without an outcome: it is counted as an interrupted attempt, as a
 * stale claim would be, so the receiver never gets more than its attempts. In memory only (the
 * version is unchanged): the next write (claim, park, hold, dead-letter) stores it.
 * `startedAt`: when the lost receive began (the queue's first receive time), else the entry's.
 */
export function withLostFirstAttempt(entry: LedgerEntry, startedAt: string | undefined, now: Date): LedgerEntry {
  if (!isUnattempted(entry)) throw new LedgerTransitionError(entry, 'record a lost first attempt');
  const at = startedAt ?? entry.statusAt;
  const attempt: AttemptRecord = {
    n: entry.attemptCount + 1,
    at,
    durationMs: Math.max(0, now.getTime() - Date.parse(at)),
    outcome: 'interrupted',
    errorClass: 'interrupted',
    error: LOST_FIRST_ATTEMPT_ERROR,
  };
  return { ...entry, attemptCount: attempt.n, attempts: [...entry.attempts, attempt], lastError: LOST_FIRST_ATTEMPT_ERROR };
}

/** What one attempt did, as deliver saw it (already redacted). */
export type AttemptResult =
  | { readonly ok: true; readonly httpStatus: number; readonly durationMs: number; readonly receiverMs?: number; readonly excerpt?: string }
  | {
      readonly ok: false;
      readonly errorClass: string;
      readonly error: string;
      readonly httpStatus?: number;
      readonly durationMs: number;
      /** The callback's part of `durationMs` (URL check, POST, answer), when it was reached: what says a receiver is slow. */
      readonly receiverMs?: number;
      readonly excerpt?: string;
      /** From the receiver's Retry-After: the next attempt is not earlier. */
      readonly retryAfterSeconds?: number;
      /**
       * Trying again cannot help (the callback URL is refused, the instance lacks the keys to
       * verify): dead-lettered at once, whatever attempts are left, so an operator fixes and resends it.
       */
      readonly permanent?: boolean;
    };

/**
 * Records the claimed attempt's result: delivered, retrying after the policy's backoff, or
 * dead-lettered when it was the last attempt of the round.
 */
export function finishAttempt(
  entry: LedgerEntry,
  result: AttemptResult,
  now: Date,
  policy: RetryPolicy,
  timing: LedgerTiming = DEFAULT_LEDGER_TIMING,
): LedgerEntry {
  if (entry.status !== 'delivering') throw new LedgerTransitionError(entry, 'finish an attempt');
  const attempt = attemptRecordOf(entry, result);
  const attempts = [...entry.attempts.map(shortened), attempt];
  if (result.ok) return final(entry, 'delivered', now, timing, { attempts });
  const lastError = attempt.error;
  if (result.permanent === true || attemptsInRound(entry) >= policy.maxAttempts) {
    return final(entry, 'dead-lettered', now, timing, { attempts, lastError });
  }
  const nextAttemptAt = plusSeconds(now, backoffSeconds(policy, attemptsInRound(entry), result.retryAfterSeconds));
  return moved(entry, 'retrying', now, { attempts, lastError, nextAttemptAt, dueAt: nextAttemptAt });
}

/** The claimed attempt's record. */
function attemptRecordOf(entry: LedgerEntry, result: AttemptResult): AttemptRecord {
  return withoutUndefined({
    n: entry.attemptCount,
    at: entry.statusAt,
    durationMs: Math.max(0, Math.round(result.durationMs)),
    outcome: result.ok ? ('delivered' as const) : ('failed' as const),
    httpStatus: result.httpStatus,
    errorClass: result.ok ? undefined : result.errorClass,
    error: result.ok ? undefined : oneLine(result.error),
    excerpt: result.excerpt === undefined ? undefined : excerptOf(result.excerpt, result.ok ? SHORT_EXCERPT_MAX_BYTES : EXCERPT_MAX_BYTES),
  });
}

/** An earlier attempt's record once a later one is added: the start of its excerpt only. */
const shortened = (attempt: AttemptRecord): AttemptRecord =>
  attempt.excerpt === undefined || attempt.excerpt.length <= SHORT_EXCERPT_MAX_BYTES / 4
    ? attempt
    : { ...attempt, excerpt: excerptOf(attempt.excerpt, SHORT_EXCERPT_MAX_BYTES) };

/**
 * The claimed attempt was its receiver's probe (an open circuit) and failed: recorded like any
 * attempt, but it does not count against the event's round (the receiver is down, not the event
 * at fault), and the event is held with the others until `until`.
 */
export function probeFailed(
  entry: LedgerEntry,
  result: AttemptResult & { ok: false },
  heldBy: string,
  until: string,
  now: Date,
  timing: LedgerTiming = DEFAULT_LEDGER_TIMING,
): LedgerEntry {
  if (entry.status !== 'delivering') throw new LedgerTransitionError(entry, 'finish a probe');
  const attempt = attemptRecordOf(entry, result);
  const held = hold(entry, heldBy, until, now, timing);
  return { ...held, attempts: [...entry.attempts.map(shortened), attempt], lastError: attempt.error, roundStart: entry.roundStart + 1 };
}

/** Not delivered and never retried (forged, instance gone, unparseable...). */
export function drop(entry: LedgerEntry, reason: DropReason, detail: string, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status)) throw new LedgerTransitionError(entry, 'drop it');
  return final(entry, 'dropped', now, timing, { reason, detail: oneLine(detail) });
}

/** Deliberately not delivered (configuration). */
export function filter(entry: LedgerEntry, reason: FilterReason, detail: string, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (isFinal(entry.status)) throw new LedgerTransitionError(entry, 'filter it');
  return final(entry, 'filtered', now, timing, { reason, detail: oneLine(detail) });
}

/**
 * An operator sends a final event again: a new round with a full attempt budget, its history kept.
 * The caller queues its ticket and then marks it queued.
 */
export function resend(entry: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (!isFinal(entry.status)) throw new LedgerTransitionError(entry, 'resend it (it is not finished)');
  return moved(entry, 'received', now, {
    resendCount: entry.resendCount + 1,
    roundStart: entry.attemptCount,
    dueAt: plusSeconds(now, timing.receivedGraceSeconds),
  });
}

/**
 * A ticket that is the dead-letter queue's copy of this very dead-lettering (an operator replayed
 * the DLQ message; it names the version the entry had when it was dead-lettered): a new round, as a
 * resend, queued at once. Any other ticket for a final entry is stale and skipped.
 */
export function isReplayOf(entry: Pick<LedgerEntry, 'status' | 'version'>, deadLetteredVersion: number | undefined): boolean {
  return entry.status === 'dead-lettered' && deadLetteredVersion !== undefined && entry.version === deadLetteredVersion;
}

/**
 * The replayed dead letter's entry, queued for a new round (one write: `version` + 1). `payload`:
 * the event as the replayed copy carries it (the CLI adds its replay history), kept for the next
 * dead-letter copy.
 */
export function replayed(entry: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING, payload?: string): LedgerEntry {
  return { ...markQueued(resend(entry, now, timing), now, timing), ...(payload === undefined ? {} : { payload }), version: entry.version + 1 };
}

// ---- sweep -------------------------------------------------------------------------------------

/** What the sweep does with an unfinished entry whose `dueAt` has passed. */
export type SweepDecision =
  /** Send its ticket (again); deliver re-checks everything when it arrives. */
  | { readonly kind: 'enqueue' }
  /** Not due after all (read after it moved on). */
  | { readonly kind: 'leave' };

export function sweepDecision(entry: LedgerEntry, now: Date): SweepDecision {
  if (isFinal(entry.status)) return { kind: 'leave' };
  if (entry.dueAt === undefined || entry.dueAt > now.toISOString()) return { kind: 'leave' };
  return { kind: 'enqueue' };
}

/**
 * The sweep sent the entry's ticket. A stale claim stays `delivering` (the ticket's deliver
 * records the interrupted attempt); anything else is `queued` again. Either way `dueAt` moves on,
 * so the sweep does not send it again every run.
 */
export function swept(entry: LedgerEntry, now: Date, timing: LedgerTiming = DEFAULT_LEDGER_TIMING): LedgerEntry {
  if (entry.status !== 'delivering') return markQueued(entry, now, timing);
  return { ...entry, dueAt: plusSeconds(now, timing.queuedStallSeconds), version: entry.version + 1 };
}

/**
 * After an event of an object finished, the next unfinished one parked behind it gets its ticket
 * at once (not at its recheck). `candidates` are the object's unfinished entries.
 */
export function nextToWake(finished: LedgerEntry, candidates: readonly LedgerEntry[]): LedgerEntry | undefined {
  const mine = orderKey(finished);
  return candidates
    .filter((c) => c.eventId !== finished.eventId && !isFinal(c.status) && orderKey(c) > mine)
    .sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1))
    .find((c, index) => index === 0 && c.status === 'queued' && c.blockedBy !== undefined);
}

// ---- text --------------------------------------------------------------------------------------

/** One line, for errors and reasons kept in the ledger (the caller has redacted it). */
function oneLine(text: string): string {
  return excerptOf(text.replace(/\s+/g, ' ').trim());
}

/** At most EXCERPT_MAX_BYTES UTF-8 bytes of `text`, never cutting a character in two. */
export function excerptOf(text: string, maxBytes: number = EXCERPT_MAX_BYTES): string {
  if (utf8Length(text) <= maxBytes) return text;
  const marker = '…';
  const budget = maxBytes - utf8Length(marker);
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = utf8Length(char);
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end) + marker;
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

// ---- the port ----------------------------------------------------------------------------------

/** What `record` found for one entry. */
export type RecordResult =
  | { readonly created: true; readonly entry: LedgerEntry }
  | { readonly created: false; readonly existing: LedgerEntry };

export interface LedgerQuery {
  /** Unset: every instance (by status, or by time across instances). */
  readonly instanceId?: string;
  readonly status?: LedgerStatus;
  /** `TYPE:ID`, with `instanceId`. */
  readonly object?: { readonly objectType: string; readonly objectId: string };
  /** Received at or after (ISO 8601). */
  readonly since?: string;
  /** Received before (ISO 8601). */
  readonly until?: string;
  /** Ecwid's event type (`order.created`, `new_order`) or the normalized one (`CREATED`). */
  readonly eventType?: string;
  readonly limit?: number;
  /** From the previous page. */
  readonly cursor?: string;
}

export interface LedgerPage {
  /** Newest first. */
  readonly entries: readonly LedgerEntry[];
  /** Absent on the last page. */
  readonly cursor?: string;
}

/**
 * Where the ledger lives (DynamoDB in AWS and, through an embedded engine, locally). Reads of one
 * entry are strongly consistent; a write names the version it read and fails with `false` (never
 * silently) when the entry changed since. Backend failures throw.
 */
export interface Ledger {
  /**
   * Creates each entry unless one is already there and not expired (one conditional write each).
   * Results are in the order of `entries`.
   */
  record(entries: readonly LedgerEntry[]): Promise<RecordResult[]>;
  get(instanceId: string, eventId: string): Promise<LedgerEntry | undefined>;
  /** Writes `next` if the stored entry still has `next.version - 1`. */
  update(next: LedgerEntry): Promise<boolean>;
  /**
   * Unfinished entries of one object (of one instance), in `orderKey` order, read consistently.
   * Given an entry's `eventId`, that entry is left out (the caller holds it: one read fewer).
   */
  unfinishedOfObject(entry: Pick<LedgerEntry, 'instanceId' | 'objectType' | 'objectId'> & { readonly eventId?: string }): Promise<LedgerEntry[]>;
  /** Unfinished entries whose `dueAt` is at or before `now`, oldest due first, at most `limit`. */
  due(now: Date, limit: number): Promise<LedgerEntry[]>;
  /** Search, newest first, paged. */
  list(query: LedgerQuery): Promise<LedgerPage>;
}
