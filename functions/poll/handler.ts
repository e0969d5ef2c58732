import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { envNumber, unconfiguredQueue } from '../adapters/environment';
import { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { SqsSightings } from '../adapters/aws/sqs-sightings';
import { SsmCheckpointStore } from '../adapters/aws/ssm-checkpoint-store';
import { SsmInstanceRepository } from '../adapters/aws/ssm-instance-repository';
import { handlerPowertools } from '../adapters/aws/powertools';
import { invocationSegmentName, traced, type Tracer } from '../adapters/aws/tracing';
import { EcwidPollClient } from '../adapters/http/ecwid-poll-client';
import type { PollState } from '../core/poll/state';
import { pollDueInstances, type PollRunSummary } from '../core/poll/run';
import type { CheckpointStore, Clock, EventQueue, InstanceListing, PollSource, Telemetry } from '../core/ports';
import type { SightingInbox } from '../core/sightings';
import { DEFAULTS, ENV } from '../contract';

/**
 * Poll Lambda (EventBridge schedule, reserved concurrency 1): polls every instance whose interval
 * is due, a few at a time, and stops starting work shortly before its own timeout. Decisions are
 * in core/poll/run.ts and core/poll/session.ts.
 */

export type PollLogger = Pick<Logger, 'info' | 'warn' | 'error'> & { addContext?(context: Context): void };
export type PollMetrics = Pick<Metrics, 'addMetric' | 'publishStoredMetrics'>;

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
  /** @default the module's Powertools Logger */
  readonly logger?: PollLogger;
  /** @default the module's Powertools Metrics */
  readonly metrics?: PollMetrics;
  /** @default the module's Tracer (X-Ray; off outside Lambda and when POWERTOOLS_TRACE_ENABLED=false) */
  readonly tracer?: Tracer;
}

export type PollHandler = (event: unknown, context?: Context) => Promise<PollRunSummary>;

const DEFAULT_SAFETY_MARGIN_MS = 30_000;
/** A lease outlives the run that took it by this much (covers clock differences). */
const LEASE_EXTRA_SECONDS = 60;
/** Without a Lambda context (tests, scripts): the lease a run takes. */
const DEFAULT_LEASE_SECONDS = 15 * 60;

const { logger, metrics, tracer } = handlerPowertools('ecwid-events-poll');

export function createPollHandler(deps: PollHandlerDeps): PollHandler {
  const log = deps.logger ?? logger;
  const meter = deps.metrics ?? metrics;
  const clock = deps.clock ?? (() => new Date());
  const trace = deps.tracer ?? tracer;
  const telemetry: Telemetry = {
    log: (level, message, attributes) => log[level](message, { ...attributes }),
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

// Clients and configuration are built once per execution environment.
const env = process.env;
const prefix = env[ENV.ssmPrefix] || DEFAULTS.ssmPrefix;
const ssm = tracer.captureAWSv3Client(new SSMClient({}));
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const queueUrl = env[ENV.queueUrl];
const sightingsQueueUrl = env[ENV.sightingsQueueUrl];
const instances = new SsmInstanceRepository({ prefix, client: ssm });
export const handler: PollHandler = createPollHandler({
  listInstances: () => instances.list(),
  checkpoints: new SsmCheckpointStore({ prefix, client: ssm }),
  source: new EcwidPollClient({
    baseUrl: env[ENV.ecwidApiBaseUrl] || DEFAULTS.ecwidApiBaseUrl,
    onRetry: ({ status, waitSeconds, attempt }) => logger.info('Ecwid API busy; waiting before trying again', { status, waitSeconds, attempt }),
  }),
  queue: queueUrl ? new SqsEventQueue({ queueUrl, client: sqs }) : unconfiguredQueue(ENV.queueUrl),
  sightings: sightingsQueueUrl ? new SqsSightings({ queueUrl: sightingsQueueUrl, client: sqs }) : undefined,
  concurrency: envNumber(env[ENV.pollConcurrency], { min: 1, integer: true }),
  safetyMarginMs: envNumber(env[ENV.pollSafetyMarginMs], { min: 1, integer: true }),
  tracer,
});
