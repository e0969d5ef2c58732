/**
 * The sweep (EventBridge schedule, reserved concurrency 1): sends a ticket for every unfinished
 * ledger entry whose due time has passed (retries whose backoff is over, tickets presumed lost,
 * interrupted attempts, events ingest recorded but never queued). core/ledger-flow.ts decides;
 * this only adapts the scheduled event and reports.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { sweep, type LedgerFlowDeps, type SweepResult } from '../core/ledger-flow';

export type SweepLogger = Pick<Logger, 'info'>;
export interface SweepMetrics {
  addMetric(name: string, unit: 'Count', value: number): void;
  publishStoredMetrics(): void;
}

export interface SweepHandlerDeps extends LedgerFlowDeps {
  readonly logger: SweepLogger;
  readonly metrics: SweepMetrics;
  /** Entries handled per ledger query. @default 100 */
  readonly batch?: number;
  /** Stop starting a new batch this long before the Lambda deadline. @default 10000 */
  readonly safetyMarginMs?: number;
}

export type SweepHandler = (event?: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<SweepResult>;

/** Tickets sent by the sweep: non-zero means retries are running or something was stuck. */
export const SWEEP_METRICS = { sent: 'LedgerTicketsSent', raced: 'LedgerSweepRaces' } as const;

export function createSweepHandler(deps: SweepHandlerDeps): SweepHandler {
  const batch = deps.batch ?? 100;
  const margin = deps.safetyMarginMs ?? 10_000;
  return async (_event, context) => {
    let sent = 0;
    let raced = 0;
    try {
      // Batch after batch while a full batch came back and there is time for another.
      for (;;) {
        const result = await sweep({ ...deps, limit: batch });
        sent += result.sent;
        raced += result.raced;
        if (result.sent + result.raced < batch) break;
        if (context && context.getRemainingTimeInMillis() < margin) break;
      }
      if (sent + raced > 0) deps.logger.info('sweep sent tickets', { sent, raced });
      return { sent, raced };
    } finally {
      deps.metrics.addMetric(SWEEP_METRICS.sent, 'Count', sent);
      deps.metrics.addMetric(SWEEP_METRICS.raced, 'Count', raced);
      deps.metrics.publishStoredMetrics();
    }
  };
}
