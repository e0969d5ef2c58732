/**
 * The poller's reads of Ecwid through the per-token API budget (core/ecwid/api-budget.ts), the
 * same one deliver reads through: each search request waits for its token's turn, a 429 slows
 * the token's pace for every read of this environment and is waited out in-process (up to the
 * budget's `maxWaitMs`), and what is still refused after that ends the instance's poll as
 * rate-limited (progress kept; the next run continues) instead of spending the client's retries.
 *
 * The poller runs in its own Lambda environments, so its budget and deliver's are shared through
 * Ecwid's answers (both halve their pace on a 429, as every deliver environment does), and the
 * poller's own ceiling is a share of the token's 600 a minute (`POLL_ECWID_RATE_PER_SECOND`), so a
 * catch-up poll of a busy store leaves most of the token to deliver. Where both run in one process
 * they can be given one budget object.
 */
import { EcwidBudgetExhaustedError, tooManyRequestsRetryAfter, type EcwidApiBudget } from '../ecwid/api-budget';
import type { PollListRequest, PollPage, PollSource } from '../ports';
import { PollRateLimitedError } from './errors';

/**
 * The poller's share of a token's budget, requests a second per environment: 2 of Ecwid's 10
 * (120 of 600 a minute). A page holds up to 100 objects, so that is 12,000 changed objects a
 * minute per store, far above what a store changes.
 */
export const POLL_ECWID_RATE_PER_SECOND = 2;

/** How long a poll request may wait for its token's turn or a Retry-After (the run lasts minutes). */
export const POLL_ECWID_MAX_WAIT_MS = 30_000;

export class BudgetedPollSource implements PollSource {
  constructor(
    private readonly source: PollSource,
    private readonly budget: Pick<EcwidApiBudget, 'request'>,
  ) {}

  async list(request: PollListRequest): Promise<PollPage> {
    try {
      return await this.budget.request(request.accessToken, () => this.source.list(request));
    } catch (error) {
      if (error instanceof EcwidBudgetExhaustedError) {
        throw new PollRateLimitedError(`${error.message}; the poll continues next run`, error.retryAfterSeconds);
      }
      const retryAfter = tooManyRequestsRetryAfter(error);
      if (retryAfter !== undefined && !(error instanceof PollRateLimitedError)) {
        throw new PollRateLimitedError(`${error instanceof Error ? error.message : String(error)} (rate limited after waiting within the token's budget)`, retryAfter);
      }
      throw error;
    }
  }
}
