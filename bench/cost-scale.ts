/**
 * cost_per_million_events_usd_10k: the AWS cost of one million webhooks at 10,000 stores and
 * 2,000 events/s, every line from counts measured in the same `npm run bench` run:
 *
 * - the scale simulation (bench/scale.ts): invocations of each function and their billed virtual
 *   duration (every wait: AWS calls at realistic latencies, Ecwid, callbacks, cold starts, which
 *   Lambda bills since August 2025), SQS requests of ingest, deliver and the event source
 *   (receive, delete, visibility), DynamoDB reads and writes of the read model, KMS calls,
 *   stdout bytes (logs and EMF), callback bytes;
 * - the ledger group (bench/ledger.ts): the event ledger's measured write and read units per
 *   delivered event (ingest's admit, deliver's claim and outcome, index entries included) and a
 *   month of its storage; the simulation keeps the ledger in memory, so its own DynamoDB counts
 *   are the read model's only;
 * - the ingest and deliver groups: the CPU time of one event in each handler with the real AWS SDK
 *   pipeline (the simulation skips it), scaled to the function's CPU share (1 vCPU at 1769 MB);
 * - the synthesized template: memory sizes, tracing, log settings, the access log format.
 *
 * Lines and prices (us-east-1, arm64, list prices, no free tier):
 *   HTTP API $1.00/M requests (throttled requests are not billed) · Lambda $0.20/M requests and
 *   $0.0000133334/GB-s · SQS FIFO $0.50/M requests (64 KB chunks) · DynamoDB on-demand $0.625/M
 *   write units and $0.125/M read units · KMS $0.03 per 10,000 requests · CloudWatch Logs $0.50/GB
 *   ingested (function output, Lambda platform records unless the system log level drops them, API
 *   access logs) · X-Ray $5.00/M traces (Lambda samples 1 request/s + 5% when tracing is active;
 *   the rate is not configurable for Lambda) · data out $0.09/GB (callbacks).
 * Not included: fixed monthly costs (KMS key $1, alarms, dashboard, the scheduled functions' idle
 * runs), Ecwid-side and receiver-side costs, retries (the simulated receivers always answer 200).
 */
import { readFileSync } from 'node:fs';
import type { SynthesizedApp } from './bundles';
import { PRICES } from './cost';

type Figures = Record<string, number>;

export const SCALE_PRICES = {
  dynamoDbPerMillionWriteUnits: 0.625,
  dynamoDbPerMillionReadUnits: 0.125,
} as const;

/** Lambda's platform START/END/REPORT records per invocation in JSON format (when the system log level keeps them). */
const PLATFORM_LOG_BYTES_PER_INVOCATION = 500;
/** X-Ray's Lambda sampling: 1 request a second per function plus 5% of the rest. */
const XRAY = { reservoirPerSecond: 1, rate: 0.05 } as const;
const GB = 1024 ** 3;
const FULL_VCPU_MB = 1769;

/** What the template says about one function that the cost depends on. */
interface FunctionCostFacts {
  readonly memoryMb: number;
  readonly tracing: boolean;
  /** Lambda drops its own INFO records (START/END/REPORT) at system log level WARN or higher. */
  readonly platformRecords: boolean;
}

export function costModel10k(figures: Figures, app: SynthesizedApp): Figures {
  const need = (name: string): number => {
    const value = figures[name];
    if (value === undefined || !Number.isFinite(value)) throw new Error(`the 10k cost model needs ${name} from this run`);
    return value;
  };
  const template = JSON.parse(readFileSync(app.templateFile, 'utf8')) as { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
  const facts = (role: 'ingest' | 'deliver'): FunctionCostFacts => {
    const fn = app.functions[role];
    const logging = (template.Resources[fn.logicalId]?.Properties?.LoggingConfig ?? {}) as { SystemLogLevel?: string };
    return { memoryMb: fn.memoryMb, tracing: fn.tracing, platformRecords: !['WARN', 'ERROR', 'FATAL'].includes(logging.SystemLogLevel ?? 'INFO') };
  };
  const ingest = facts('ingest');
  const deliver = facts('deliver');
  const cpuShare = (memoryMb: number) => Math.min(1, memoryMb / FULL_VCPU_MB);
  const gbSeconds = (memoryMb: number, ms: number) => (memoryMb / 1024) * (ms / 1000);

  // Per event. Waits come from the simulation; CPU from the in-process groups, on Lambda's CPU share.
  const ingestInvocations = need('scale_ingest_invocations_per_event');
  const deliverInvocations = need('scale_deliver_invocations_per_event');
  const ingestMs = need('scale_ingest_billed_ms_per_event') + (need('ingest_us_per_event') / 1000) / cpuShare(ingest.memoryMb);
  const deliverMs = need('scale_deliver_billed_ms_per_event') + (need('deliver_us_per_event_instant_callback') / 1000) / cpuShare(deliver.memoryMb);

  const accessLogBytes = accessLogLineBytes(template);
  const logBytes =
    need('scale_log_bytes_per_event') +
    (ingest.platformRecords ? ingestInvocations * PLATFORM_LOG_BYTES_PER_INVOCATION : 0) +
    (deliver.platformRecords ? deliverInvocations * PLATFORM_LOG_BYTES_PER_INVOCATION : 0) +
    accessLogBytes;
  const eventsPerSecond = need('scale_ingest_invocations_per_s') / Math.max(ingestInvocations, 1e-9);
  const traced = (on: boolean, invocationsPerEvent: number) =>
    on ? (XRAY.reservoirPerSecond + XRAY.rate * Math.max(0, invocationsPerEvent * eventsPerSecond - XRAY.reservoirPerSecond)) / eventsPerSecond : 0;

  const perMillion: Record<string, number> = {
    http_api: PRICES.httpApiPerMillionRequests,
    lambda_requests: PRICES.lambdaPerMillionRequests * (ingestInvocations + deliverInvocations),
    lambda_duration: (gbSeconds(ingest.memoryMb, ingestMs) + gbSeconds(deliver.memoryMb, deliverMs)) * PRICES.lambdaGbSecond * 1e6,
    sqs: PRICES.sqsFifoPerMillionRequests * need('scale_sqs_requests_per_event'),
    dynamodb:
      SCALE_PRICES.dynamoDbPerMillionReadUnits * need('scale_read_units_per_event') +
      SCALE_PRICES.dynamoDbPerMillionWriteUnits * need('scale_write_units_per_event'),
    // The event ledger: the simulation's ledger is in memory and counts nothing, so this line is
    // the ledger group's measurement (first attempts delivered; each retry adds a claim and an outcome).
    ledger: need('ledger_requests_usd_per_million') + need('ledger_storage_usd_per_million_month'),
    kms: PRICES.kmsPerMillionRequests * need('scale_kms_requests_per_event'),
    logs: ((logBytes * 1e6) / GB) * PRICES.logsIngestionPerGb,
    xray: (traced(ingest.tracing, ingestInvocations) + traced(deliver.tracing, deliverInvocations)) * PRICES.xrayPerMillionTraces,
    data_transfer: ((need('scale_callback_bytes_per_event') * 1e6) / GB) * PRICES.dataTransferOutPerGb,
  };
  const total = Object.values(perMillion).reduce((sum, value) => sum + value, 0);
  const result: Figures = { cost_per_million_events_usd_10k: round(total), cost_10k_access_log_bytes: accessLogBytes };
  for (const [name, value] of Object.entries(perMillion)) result[`cost_10k_${name}_usd_per_million`] = round(value);
  return result;
}

/** The HTTP API access log line for one request: the stage's format with typical values. */
function accessLogLineBytes(template: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }): number {
  const stage = Object.values(template.Resources).find((resource) => resource.Type === 'AWS::ApiGatewayV2::Stage');
  const format = (stage?.Properties?.AccessLogSettings as { Format?: string } | undefined)?.Format;
  if (!format) return 0;
  const typical: Record<string, string> = {
    '$context.requestId': 'Ab1CdEfGhIjKlMn=',
    '$context.requestTime': '05/Jan/2026:12:00:00 +0000',
    '$context.identity.sourceIp': '198.51.100.7',
    '$context.identity.userAgent': 'Ecwid webhooks',
    '$context.httpMethod': 'POST',
    '$context.routeKey': 'POST /events/ecwid',
    '$context.path': '/events/ecwid',
    '$context.status': '200',
    '$context.protocol': 'HTTP/1.1',
    '$context.responseLength': '96',
    '$context.responseLatency': '21',
    '$context.integrationStatus': '200',
    '$context.integrationLatency': '19',
    '$context.integrationErrorMessage': '-',
    '$context.error.message': '-',
  };
  // Each log event also carries CloudWatch's own overhead (26 bytes a record).
  return Buffer.byteLength(format.replace(/\$context\.[A-Za-z.]+/g, (name) => typical[name] ?? '-')) + 26;
}

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;
