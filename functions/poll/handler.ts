import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { givenOrCreatedPowertools, type HandlerLogger, type HandlerMetrics } from '../adapters/aws/powertools';
import { invocationSegmentName, traced, type Tracer } from '../adapters/aws/tracing';
import { FALLBACK_POWERTOOLS } from '../config';
import type { PollState } from '../core/poll/state';
import { pollDueInstances, type PollRunSummary } from '../core/poll/run';
import type { CheckpointStore, Clock, EventQueue, InstanceListing, PollSource, Telemetry } from '../core/ports';
import type { SightingInbox } from '../core/sightings';

/**
 * Poll Lambda (EventBridge schedule, reserved concurrency 1): polls every instance whose interval
 * is due, a few at a time, and stops starting work shortly before its own timeout. Decisions are
 * in core/poll/run.ts and core/poll/session.ts. A factory with no side effects on import: the Lambda
 * entry (index.ts) gives it its dependencies.
 */


export interface PollHandlerDeps {
  readonly listInstances: () => Promise<InstanceListing>;
  readonly checkpoints: CheckpointStore & { loadAll?(): Promise<ReadonlyMap<string, PollState>> };
  readonly source: PollSource;
  readonly queue: EventQueue;
  readonly sightings?: SightingInbox;
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** @default 4 */
  readonly concurrency?: number;
  /** Stop starting work this long before the Lambda deadline. @default 30000 */
  readonly safetyMarginMs?: number;
  /** @default a Powertools Logger of FALLBACK_POWERTOOLS.poll */
  readonly logger?: HandlerLogger;
  /** @default a Powertools Metrics of FALLBACK_POWERTOOLS.poll */
  readonly metrics?: HandlerMetrics;
  /** @default a Tracer (X-Ray; off outside Lambda and when POWERTOOLS_TRACE_ENABLED=false) */
  readonly tracer?: Tracer;
}

export type PollHandler = (event: unknown, context?: Context) => Promise<PollRunSummary>;

const DEFAULT_SAFETY_MARGIN_MS = 30_000;
/** A lease outlives the run that took it by this much (covers clock differences). */
const LEASE_EXTRA_SECONDS = 60;
/** Without a Lambda context (tests, scripts): the lease a run takes. */
const DEFAULT_LEASE_SECONDS = 15 * 60;

export function createPollHandler(deps: PollHandlerDeps): PollHandler {
  const { logger: log, metrics: meter, tracer: trace } = givenOrCreatedPowertools(deps, FALLBACK_POWERTOOLS.poll);
  const clock = deps.clock ?? (() => new Date());
  const telemetry: Telemetry = {
    log: (level, message, attributes) => log[level]?.(message, { ...attributes }),
    count: (metric, value = 1) => meter.addMetric(metric, MetricUnit.Count, value),
  };

  return (_event, context) => traced(trace, invocationSegmentName(), async (span) => {
    if (context) log.addContext?.(context);
    const remaining = context?.getRemainingTimeInMillis();
    const deadline = remaining === undefined ? undefined : clock().getTime() + remaining - (deps.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS);
    const leaseSeconds = remaining === undefined ? DEFAULT_LEASE_SECONDS : Math.ceil(remaining / 1000) + LEASE_EXTRA_SECONDS;
    try {
      const summary = await pollDueInstances({
        listInstances: deps.listInstances,
        loadAllStates: deps.checkpoints.loadAll ? () => deps.checkpoints.loadAll!() : undefined,
        checkpoints: deps.checkpoints,
        source: deps.source,
        queue: deps.queue,
        sightings: deps.sightings,
        clock,
        telemetry,
        owner: context?.awsRequestId ?? randomUUID(),
        leaseSeconds,
        concurrency: deps.concurrency,
        deadline,
      });
      const { polled, due, deferred, misconfigured, results } = summary;
      const run = { polled, due, deferred, misconfigured, results };
      log.info('poll run finished', run);
      span.metadata('run', run);
      return summary;
    } finally {
      meter.publishStoredMetrics();
    }
  }, { invocation: true });
}
