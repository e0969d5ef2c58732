/**
 * The scale group of `npm run bench` (issue 17): 10,000 stores, 2,000 webhooks/s with skewed
 * traffic, for 2 simulated minutes from cold, through the real handlers in simulated Lambda
 * environments (bench/scale/). Run it alone while developing:
 *
 *   npx tsx bench/scale.ts                       the three runs the bench makes, figures printed
 *   npx tsx bench/scale.ts --seconds 20          a shorter main run (the figures say so)
 *   npx tsx bench/scale.ts --only main|capacity|ssm
 *
 * Runs:
 * - main: the deployed defaults (stack properties) against the traffic above, read model on;
 * - capacity: the deliver side alone on a backlog spread over many stores, already scaled out,
 *   Ecwid answering in 150-600 ms and callbacks in 200 ms: events delivered a second;
 * - ssm: the same traffic for 20 s reading Parameter Store directly (the path before the read
 *   model), for comparison.
 */
import { parseArgs } from 'node:util';
import { STACK_DEFAULTS } from '../lib/ecwid-events-stack';
import { progress, runScale, type ScaleOptions, type ScaleResult } from './scale/scenario';
import { zipfTopShare } from './scale/traffic';

type Figures = Record<string, number>;

export const SCALE = {
  stores: 10_000,
  rate: 2_000,
  seconds: 120,
  /** Zipf exponent: the busiest of 10,000 stores sends ~10% of the events, the top 10 ~30%. */
  skew: 1.0,
  reconcileAt: 60,
  capacityBacklog: 60_000,
  capacitySeconds: 20,
  ssmSeconds: 20,
} as const;

export const SCALE_FIGURE_NOTES: Readonly<Record<string, string>> = {
  config_calls_per_s_10k: 'config reads/s (SSM + read model), 10k stores, 2,000 ev/s, 2 min from cold',
  config_calls_peak_per_s_10k: 'the busiest second of the same',
  ssm_calls_per_s_10k: 'of which Parameter Store calls/s (goal <= 40, the account quota)',
  kms_calls_per_s_10k: 'KMS calls/s (data key unwraps + SecureString decrypts)',
  ingest_refused_share_10k: 'posts not answered 2xx (API or Lambda throttle, 5xx)',
  deliver_backlog_at_end_10k: 'events still queued after 2 min (scale-out ramp, Ecwid limits)',
  ecwid_gets_per_event: 'Ecwid API GETs per delivered event',
  ecwid_429_share_busy_store: 'share of the busiest store\'s Ecwid requests answered 429',
  deliver_capacity_events_per_s: 'deliver at its deployed concurrency, Ecwid 150-600 ms, callback 200 ms (goal >= 2,000)',
  config_calls_per_s_10k_ssm_direct: 'config reads/s when reading Parameter Store directly (before)',
  // The main run's counts per event that the 10k cost model prices (accepted posts; delivered events for deliver's).
  scale_ingest_invocations_per_event: 'ingest invocations per accepted post (main run)',
  scale_ingest_billed_ms_per_event: 'ingest billed ms per accepted post: simulated waits (AWS calls, cold inits), not CPU (the cost model adds the ingest group\'s)',
  scale_deliver_invocations_per_event: 'deliver invocations per delivered event (batches of up to 10)',
  scale_deliver_billed_ms_per_event: 'deliver billed ms per delivered event: simulated waits (Ecwid, callbacks, AWS calls, cold inits), not CPU',
  scale_aws_calls_per_event: 'SQS + DynamoDB read model + KMS Decrypt + SSM GetParameter calls per accepted post (the ledger is in memory: not counted)',
  scale_sqs_requests_per_event: 'SQS requests per accepted post: sends, the event source\'s receives and deletes, visibility changes',
  scale_read_units_per_event: 'read-model DynamoDB read units per accepted post (eventually consistent: 0.5 a read)',
  scale_write_units_per_event: 'read-model DynamoDB write units per accepted post (the ledger\'s are the ledger group\'s)',
  scale_kms_requests_per_event: 'KMS requests per accepted post (data key unwraps)',
  scale_log_bytes_per_event: 'stdout bytes (logs + EMF) of both functions per accepted post',
  scale_callback_bytes_per_event: 'callback request bytes per delivered event (data out)',
  scale_ingest_invocations_per_s: 'ingest invocations a simulated second (the event rate the cost model scales X-Ray and capacity by)',
  scale_deliver_invocations_per_s: 'deliver invocations a simulated second',
  scale_main_seconds: 'simulated seconds of the main run when shortened with --seconds (absent at the default 120)',
  ssm_throttled_share_ssm_direct: 'share of those GetParameter calls throttled',
};

function defaults(): Omit<ScaleOptions, 'seconds' | 'config'> {
  return {
    stores: SCALE.stores,
    rate: SCALE.rate,
    skew: SCALE.skew,
    apiRate: STACK_DEFAULTS.throttlingRateLimit,
    apiBurst: STACK_DEFAULTS.throttlingBurstLimit,
    ingestConcurrency: (STACK_DEFAULTS as { ingestReservedConcurrency?: number }).ingestReservedConcurrency ?? 1000,
    deliverConcurrency: STACK_DEFAULTS.deliveryMaxConcurrency,
  };
}

const perSecond = (count: number, seconds: number) => Math.round((count / seconds) * 10) / 10;
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

export function mainFigures(result: ScaleResult): Figures {
  const { aws, options } = result;
  const seconds = options.seconds;
  const ssm = aws.countService('SSM');
  const readModel = aws.count('DynamoDB.GetItem') + aws.count('DynamoDB.Query') + aws.count('DynamoDB.Scan');
  const kms = aws.countService('KMS');
  const configPeak = Math.max(aws.series('SSM').peak(), 0) + Math.max(aws.series('DynamoDB').peak(), 0);
  const accepted = Object.entries(result.answered)
    .filter(([status]) => status.startsWith('2'))
    .reduce((n, [, count]) => n + count, 0);
  const busy = result.ecwid.byStore.get(result.busiestStore) ?? { requests: 0, limited: 0 };
  const delivered = Math.max(1, result.callbacks.delivered.total);
  return {
    config_calls_per_s_10k: perSecond(ssm + readModel, seconds),
    config_calls_peak_per_s_10k: configPeak,
    ssm_calls_per_s_10k: perSecond(ssm, seconds),
    kms_calls_per_s_10k: perSecond(kms, seconds),
    ingest_refused_share_10k: round(1 - accepted / Math.max(1, result.posted)),
    deliver_backlog_at_end_10k: result.queueDepthAtEnd,
    ecwid_gets_per_event: round(result.ecwid.gets.total / delivered),
    ecwid_429_share_busy_store: round(busy.limited / Math.max(1, busy.requests)),
  };
}

/** The per-event counts the cost model needs, from the main run. */
export function costInputs(result: ScaleResult): Figures {
  const { aws } = result;
  const accepted = Math.max(1, Object.entries(result.answered).filter(([s]) => s.startsWith('2')).reduce((n, [, c]) => n + c, 0));
  const delivered = Math.max(1, result.callbacks.delivered.total);
  const readUnits = aws.count('DynamoDB.GetItem') * 0.5 + aws.count('DynamoDB.Query') * 0.5;
  return {
    scale_ingest_invocations_per_event: round(result.ingest.invocations / accepted),
    scale_ingest_billed_ms_per_event: round((result.ingest.billedMs + result.ingest.initBilledMs) / accepted),
    scale_deliver_invocations_per_event: round(result.deliver.invocations / delivered),
    scale_deliver_billed_ms_per_event: round((result.deliver.billedMs + result.deliver.initBilledMs) / delivered),
    scale_aws_calls_per_event: round(
      (aws.countService('SQS') + aws.countService('DynamoDB') + aws.count('KMS.Decrypt') + aws.count('SSM.GetParameter')) / accepted,
    ),
    scale_sqs_requests_per_event: round(
      (aws.countService('SQS') + result.source.receives.total + result.source.deleteCalls.total) / accepted,
    ),
    scale_read_units_per_event: round(readUnits / accepted),
    scale_write_units_per_event: round((aws.count('DynamoDB.PutItem') + aws.count('DynamoDB.UpdateItem')) / accepted),
    scale_kms_requests_per_event: round(aws.countService('KMS') / accepted, 5),
    scale_log_bytes_per_event: Math.round(result.stdoutBytes / accepted),
    scale_callback_bytes_per_event: Math.round(result.callbacks.bytes / delivered),
    scale_ingest_invocations_per_s: perSecond(result.ingest.invocations, result.options.seconds),
    scale_deliver_invocations_per_s: perSecond(result.deliver.invocations, result.options.seconds),
  };
}

export async function benchScale(log: (line: string) => void, only?: ReadonlySet<string>, seconds: number = SCALE.seconds): Promise<Figures> {
  const figures: Figures = {};
  const base = defaults();
  log(`scale: Zipf s=${SCALE.skew}: the busiest of ${SCALE.stores} stores sends ${(zipfTopShare(SCALE.stores, SCALE.skew) * 100).toFixed(1)}% of the events`);
  if (!only || only.has('main')) {
    const result = await runScale({ ...base, seconds, config: 'read-model', reconcileAt: SCALE.reconcileAt, log });
    log(`scale main: ${JSON.stringify({ answered: result.answered, calls: Object.fromEntries(result.aws.calls), reconcile: result.reconcileCalls, cpuMs: Math.round(result.cpuMs) })}`);
    Object.assign(figures, mainFigures(result), costInputs(result));
    if (seconds !== SCALE.seconds) figures.scale_main_seconds = seconds;
  }
  if (!only || only.has('capacity')) {
    const result = await runScale({
      ...base,
      seconds: SCALE.capacitySeconds,
      config: 'read-model',
      backlog: SCALE.capacityBacklog,
      deliverWarm: true,
      log,
    });
    figures.deliver_capacity_events_per_s = Math.round(steadyRate(result));
  }
  if (!only || only.has('ssm')) {
    const result = await runScale({ ...base, seconds: SCALE.ssmSeconds, config: 'ssm', log });
    const getCalls = result.aws.count('SSM.GetParameter');
    figures.config_calls_per_s_10k_ssm_direct = perSecond(result.aws.countService('SSM'), SCALE.ssmSeconds);
    figures.ssm_throttled_share_ssm_direct = round(result.aws.ssmThrottledCalls / Math.max(1, getCalls));
  }
  return figures;
}

/**
 * Delivered per second after the first 5 s of the run (environments warm, caches filled), over the
 * seconds that ended with work still queued (a drained queue says nothing about capacity).
 */
function steadyRate(result: ScaleResult): number {
  const counted = result.deliveredBySecond.filter((second, index) => index >= 5 && second.queuedAtEnd > 0);
  if (counted.length === 0) throw new Error('capacity run: the backlog drained before the environments were warm; raise capacityBacklog');
  return counted.reduce((sum, second) => sum + second.delivered, 0) / counted.length;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { seconds: { type: 'string' }, only: { type: 'string' } },
  });
  const only = values.only ? new Set(values.only.split(',')) : undefined;
  benchScale(progress, only, values.seconds ? Number(values.seconds) : undefined).then(
    (figures) => {
      for (const [name, value] of Object.entries(figures)) progress(`${name.padEnd(40)} ${String(value).padStart(10)}  ${SCALE_FIGURE_NOTES[name] ?? ''}`);
      process.exit(0);
    },
    (error: unknown) => {
      progress(`scale bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
