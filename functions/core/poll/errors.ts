/**
 * Why a poll stops. The first two are thrown by the PollSource adapter (adapters/http/
 * ecwid-poll-client.ts); the session throws the next three to unwind; the last two are the
 * CLI's one-off poll refusing to start.
 */
import { errorText } from '../ports';
import type { PollStatus } from './state';

/** Ecwid refused the token (401/403): the token is wrong, expired or lacks a scope. */
export class PollAuthError extends Error {
  override readonly name = 'PollAuthError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Ecwid kept answering 429 after the client's own retries. */
export class PollRateLimitedError extends Error {
  override readonly name = 'PollRateLimitedError';
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The run's time budget is used up: what completed is saved, the rest waits for the next poll. */
export class DeadlineReached extends Error {}
/** A window's contents kept changing while it was paged through. */
export class UnstableWindowError extends Error {}
/** The queue did not accept a page's events. */
export class QueueFailedError extends Error {}

/** Another poll holds the instance's lease. */
export class PollLeasedError extends Error {
  override readonly name = 'PollLeasedError';
}

/** The instance has no usable polling configuration. */
export class PollNotConfiguredError extends Error {
  override readonly name = 'PollNotConfiguredError';
}

/** The status a poll ends with when `error` stopped it, and the error as text. */
export function stopReason(error: unknown): { status: PollStatus; error: string } {
  const text = errorText(error);
  if (error instanceof PollAuthError) return { status: 'auth-failed', error: text };
  if (error instanceof PollRateLimitedError) return { status: 'rate-limited', error: text };
  if (error instanceof DeadlineReached) return { status: 'partial', error: text };
  if (error instanceof UnstableWindowError) return { status: 'unstable', error: text };
  return { status: 'failed', error: text };
}
