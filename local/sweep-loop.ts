import type { SweepHandler } from '../functions/sweep/handler';
import type { SweepResult } from '../functions/core/ledger-flow';
import { startPeriodicRun } from './periodic-run';

/**
 * The local runner's stand-in for the scheduled sweep Lambda (EventBridge, every minute in AWS):
 * every `intervalMs` it runs the same sweep handler, which sends a ticket for every ledger entry
 * whose due time has passed (retries whose backoff is over, lost tickets, interrupted attempts,
 * events recorded but never queued). Locally it runs about every second, so a retry is at most a
 * second later than its backoff. Runs never overlap.
 */
export interface SweepLoopOptions {
  readonly handler: SweepHandler;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** Each run's result (the runner says nothing when nothing was due). */
  readonly onRun?: (result: SweepResult) => void;
  /** A run that throws (the ledger or the queue unreachable): reported, the loop goes on. */
  readonly onError?: (error: unknown) => void;
}

export interface SweepLoop {
  /** One run now (after the one in progress, if any). */
  runNow(): Promise<SweepResult | undefined>;
  /** No new run; resolves when the one in progress (if any) has finished. */
  stop(): Promise<void>;
}

export function startSweepLoop(options: SweepLoopOptions): SweepLoop {
  return startPeriodicRun({
    job: () => options.handler(),
    intervalMs: Math.max(10, options.intervalMs ?? 1000),
    onRun: options.onRun,
    onError: options.onError,
  });
}
