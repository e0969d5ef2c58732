/**
 * When a failed delivery is tried again, and when we give up. The one place for the retry schedule
 * and the limits derived from it (attempt limit, redrive backstop, queue visibility): the deliver
 * function, the local runner and the stack all ask this file.
 */

/** SQS caps a message's visibility timeout (our backoff) at 12 hours. */
export const MAX_BACKOFF_SECONDS = 43_200;

/** SQS's largest redrive `maxReceiveCount`. */
const SQS_MAX_RECEIVE_COUNT = 1000;

/**
 * Receives SQS allows beyond the last attempt before its own redrive moves a message: a backstop
 * only (deliver dead-letters on its last attempt itself); the spares cover a crash or timeout of
 * the invocation that handled it.
 */
export const REDRIVE_SPARE_RECEIVES = 2;

/** The most attempts a policy may have: its redrive backstop must stay within SQS's limit (998). */
export const MAX_ATTEMPTS_LIMIT = SQS_MAX_RECEIVE_COUNT - REDRIVE_SPARE_RECEIVES;

/** One first attempt plus one retry per schedule entry: the attempts when none are given. */
export const attemptsForSchedule = (scheduleSeconds: readonly number[]): number => scheduleSeconds.length + 1;

/** The queue's redrive `maxReceiveCount` for a policy of `maxAttempts` attempts. */
export const redriveMaxReceiveCount = (maxAttempts: number): number => maxAttempts + REDRIVE_SPARE_RECEIVES;

/**
 * The queue's visibility timeout for a consumer with this function timeout. AWS guidance: at least
 * six times the consuming function's timeout, so that a batch in hand never reappears mid-run.
 */
export const queueVisibilityTimeoutSeconds = (consumerTimeoutSeconds: number): number => consumerTimeoutSeconds * 6;

/** True for a valid attempt limit (whole, 1 to MAX_ATTEMPTS_LIMIT). */
export const isValidMaxAttempts = (value: number): boolean => Number.isInteger(value) && value >= 1 && value <= MAX_ATTEMPTS_LIMIT;

/** True for a valid backoff entry (whole seconds, 0 to SQS's 12 h cap). */
export const isValidBackoff = (seconds: number): boolean => Number.isInteger(seconds) && seconds >= 0 && seconds <= MAX_BACKOFF_SECONDS;

/**
 * Backoff before attempt n+1 after attempt n failed (index n-1), in seconds. Sums to ~39 h, so an
 * endpoint that is down for a whole day still gets its events; every entry fits SQS's 12 h cap.
 */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [
  60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 43200,
];

/** One first attempt plus one retry per schedule entry. */
export const DEFAULT_MAX_ATTEMPTS = attemptsForSchedule(DEFAULT_RETRY_SCHEDULE_SECONDS);

export interface RetryPolicy {
  /** Backoff seconds after the 1st, 2nd, ... failed attempt; the last entry repeats. */
  readonly scheduleSeconds: readonly number[];
  /** The attempt whose failure sends the message to the dead-letter queue. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  scheduleSeconds: DEFAULT_RETRY_SCHEDULE_SECONDS,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
};

/** A policy from validated values: the default schedule, and one attempt per entry plus one, where not given. */
export function retryPolicyOf(values: { scheduleSeconds?: readonly number[]; maxAttempts?: number }): RetryPolicy {
  const scheduleSeconds = values.scheduleSeconds ?? DEFAULT_RETRY_SCHEDULE_SECONDS;
  return { scheduleSeconds, maxAttempts: values.maxAttempts ?? attemptsForSchedule(scheduleSeconds) };
}

/**
 * Reads RETRY_SCHEDULE_SECONDS (comma-separated seconds) and MAX_ATTEMPTS. Unset means the default;
 * a malformed value throws (a cold start that fails loudly beats a silently wrong schedule).
 * When only the schedule is given, maxAttempts follows it (schedule length + 1).
 */
export function retryPolicyFrom(values: { schedule?: string; maxAttempts?: string }): RetryPolicy {
  const scheduleText = values.schedule?.trim();
  const attemptsText = values.maxAttempts?.trim();
  let maxAttempts: number | undefined;
  if (attemptsText) {
    maxAttempts = Number(attemptsText);
    if (!isValidMaxAttempts(maxAttempts)) {
      throw new Error(`MAX_ATTEMPTS must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}, got "${attemptsText}"`);
    }
  }
  return retryPolicyOf({ scheduleSeconds: scheduleText ? parseSchedule(scheduleText) : undefined, maxAttempts });
}

function parseSchedule(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  const seconds = parts.map(Number);
  const bad = parts.filter((part, i) => part === '' || !isValidBackoff(seconds[i]));
  if (bad.length > 0) {
    throw new Error(
      `RETRY_SCHEDULE_SECONDS must be comma-separated whole seconds from 0 to ${MAX_BACKOFF_SECONDS}; bad entries: ${bad.map((b) => `"${b}"`).join(', ')}`,
    );
  }
  return seconds;
}

/** True when the attempt that just failed was the last one allowed. */
export const isLastAttempt = (policy: RetryPolicy, attempt: number): boolean => attempt >= policy.maxAttempts;

/**
 * Backoff after failed attempt `attempt` (1-based, = SQS ApproximateReceiveCount).
 *
 * A `Retry-After` (from a 429/503) is honoured as a lower bound: we never come back earlier than the
 * server asked, nor earlier than the schedule says (otherwise an endpoint answering "Retry-After: 1"
 * would burn every attempt in minutes instead of covering a day), and never later than SQS's 12 h cap.
 */
export function backoffSeconds(policy: RetryPolicy, attempt: number, retryAfterSeconds?: number): number {
  const schedule = policy.scheduleSeconds;
  const index = Math.min(Math.max(attempt, 1), schedule.length) - 1;
  const scheduled = schedule.length === 0 ? 0 : schedule[index];
  const requested = retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) ? Math.ceil(retryAfterSeconds) : 0;
  return Math.min(Math.max(scheduled, requested), MAX_BACKOFF_SECONDS);
}

/**
 * Parses an HTTP `Retry-After` value: delta-seconds or an HTTP-date. Returns seconds from `now`
 * (never negative), or undefined when absent or unparseable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text);
  // All three HTTP-date forms start with a day name; anything else (e.g. "-5") is not a date.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/** HTTP statuses whose `Retry-After` we honour. */
export const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * Days a finished event stays in the ledger: Ecwid's repeats of it within this window are
 * recognised as duplicates (Ecwid itself retries for 24 h). The stack's `ledgerRetention` default.
 */
export const DEFAULT_LEDGER_RETENTION_DAYS = 30;

/**
 * The longest one event's round of attempts can take: the backoffs between its maxAttempts
 * attempts (the schedule's last entry repeats), not counting the attempts themselves.
 */
export function retrySpanSeconds(policy: RetryPolicy): number {
  let total = 0;
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) total += backoffSeconds(policy, attempt);
  return total;
}
