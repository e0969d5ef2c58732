/**
 * Deliver's time budget, pure: an invocation starts a record only while the record's worst case
 * still fits before the Lambda timeout. A record that is started always finishes and is recorded;
 * one that is not started comes back whole (a batch item failure: no attempt spent, the ledger
 * untouched), so a slow batch never runs past the timeout with an attempt claimed and unrecorded.
 *
 * The worst case counts every wait a record can meet, Ecwid API reads as well as the callback:
 * the receiver gate's wait for a delivery slot, the Ecwid read (the API budget's wait for its turn
 * or a Retry-After, bounded by its maxWaitMs, then one request: every request starts before that
 * wait's deadline, so the read ends within maxWait + timeout), the callback POST's timeout, and
 * the bookkeeping around them (instance, ledger and health reads and writes, tickets, notices).
 */

export interface RecordWorstCase {
  /** Longest wait for a delivery slot of this worker (receiver-gate's maxSlotWaitMs). */
  readonly slotWaitMs: number;
  /** Ecwid API reads one record may make (verifying an ION post, or enriching / checking a webhook: one). */
  readonly ecwidReads: number;
  /** One Ecwid read at its worst: the API budget's longest wait plus one request's timeout. */
  readonly ecwidReadMs: number;
  /** The callback POST's timeout. */
  readonly callbackMs: number;
  /** Ledger, health, queue and notice calls around the attempt. */
  readonly bookkeepingMs: number;
}

/** How long one record may take at most, start to recorded outcome. */
export function worstCaseRecordMs(parts: RecordWorstCase): number {
  for (const [name, value] of Object.entries(parts)) {
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number of at least 0, got ${value}`);
  }
  return parts.slotWaitMs + parts.ecwidReads * parts.ecwidReadMs + parts.callbackMs + parts.bookkeepingMs;
}

/** Kept free at the end of an invocation: the batch answer, the metrics flush, the runtime's own work. */
export const INVOCATION_RESERVE_MS = 1_000;

export interface TimeBudget {
  /** When the invocation must have answered (epoch ms), less the reserve. */
  readonly deadlineMs: number;
  /** Whether a record started at `nowMs` still finishes, at its worst, by the deadline. */
  mayStart(nowMs: number): boolean;
}

/**
 * The budget of one invocation that has `remainingMs` left at `nowMs`
 * (`context.getRemainingTimeInMillis()`), for records that take at most `recordMs`.
 */
export function timeBudget(nowMs: number, remainingMs: number, recordMs: number, reserveMs = INVOCATION_RESERVE_MS): TimeBudget {
  const deadlineMs = nowMs + Math.max(0, remainingMs) - reserveMs;
  return {
    deadlineMs,
    mayStart: (at) => at + recordMs <= deadlineMs,
  };
}
