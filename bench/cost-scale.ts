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
 * The ledger is priced by the template's billing mode (`cost_per_million_events_usd_10k`, as
 * deployed) and by the other one (`..._on_demand`, `..._provisioned`): on demand, its measured
 * units at $0.625/M write and $0.125/M read units; provisioned, for the table and each index, the
 * capacity auto scaling holds at the simulated rate (measured units per event x events/s / target
 * utilization, within the scalable target's min and max) at $0.00065 per WCU-hour and $0.00013 per
 * RCU-hour, divided by the events of that hour. With an on-demand template the provisioned
 * figure uses the construct's default sizing (LEDGER_CAPACITY_DEFAULTS).
 * Not included: fixed monthly costs (KMS key $1, alarms, dashboard, the scheduled functions' idle
 * runs), Ecwid-side and receiver-side costs, retries (the simulated receivers always answer 200).
 */
import { readFileSync } from 'node:fs';
import { LEDGER_TABLE } from '../functions/contract';
import { LEDGER_CAPACITY_DEFAULTS, LEDGER_CAPACITY_FLOOR, ledgerCapacityRange, LEDGER_UNITS_PER_EVENT } from '../lib/constructs/event-ledger';
import type { SynthesizedApp } from './bundles';
import { PRICES } from './cost';
import { LEDGER_PRICES, ledgerPartFigure } from './ledger';

type Figures = Record<string, number>;
type TemplateResources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

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

  const ledgerLines = ledgerCost10k(figures, template.Resources, eventsPerSecond);
  const perMillion: Record<string, number> = {
    http_api: PRICES.httpApiPerMillionRequests,
    lambda_requests: PRICES.lambdaPerMillionRequests * (ingestInvocations + deliverInvocations),
    lambda_duration: (gbSeconds(ingest.memoryMb, ingestMs) + gbSeconds(deliver.memoryMb, deliverMs)) * PRICES.lambdaGbSecond * 1e6,
    sqs: PRICES.sqsFifoPerMillionRequests * need('scale_sqs_requests_per_event'),
    dynamodb:
      SCALE_PRICES.dynamoDbPerMillionReadUnits * need('scale_read_units_per_event') +
      SCALE_PRICES.dynamoDbPerMillionWriteUnits * need('scale_write_units_per_event'),
    // The event ledger: the simulation's ledger is in memory and counts nothing, so this line is
    // the ledger group's measurement (first attempts delivered; each retry adds a claim and an outcome),
    // priced by the template's billing mode.
    ledger: ledgerLines.deployed,
    kms: PRICES.kmsPerMillionRequests * need('scale_kms_requests_per_event'),
    logs: ((logBytes * 1e6) / GB) * PRICES.logsIngestionPerGb,
    xray: (traced(ingest.tracing, ingestInvocations) + traced(deliver.tracing, deliverInvocations)) * PRICES.xrayPerMillionTraces,
    data_transfer: ((need('scale_callback_bytes_per_event') * 1e6) / GB) * PRICES.dataTransferOutPerGb,
  };
  const total = Object.values(perMillion).reduce((sum, value) => sum + value, 0);
  const withLedger = (ledger: number) => round(total - ledgerLines.deployed + ledger);
  const result: Figures = {
    cost_per_million_events_usd_10k: round(total),
    cost_per_million_events_usd_10k_on_demand: withLedger(ledgerLines.onDemand),
    cost_per_million_events_usd_10k_provisioned: withLedger(ledgerLines.provisioned),
    cost_10k_ledger_provisioned_template: ledgerLines.provisionedTemplate ? 1 : 0,
    cost_10k_ledger_on_demand_usd_per_million: round(ledgerLines.onDemand),
    cost_10k_ledger_provisioned_usd_per_million: round(ledgerLines.provisioned),
    cost_10k_access_log_bytes: accessLogBytes,
  };
  for (const [name, value] of Object.entries(perMillion)) result[`cost_10k_${name}_usd_per_million`] = round(value);
  return result;
}

/** The parts of the ledger that bill capacity: the table and each index. */
const LEDGER_PARTS = ['table', ...Object.values(LEDGER_TABLE.indexes).map((index) => index.indexName)] as const;
type LedgerPart = (typeof LEDGER_PARTS)[number];
type CapacityRange = { min: number; max: number; targetPercent: number };

/**
 * The ledger's line per million events (requests + a month of storage) as deployed, on demand and
 * provisioned, at `eventsPerSecond`. `provisionedTemplate` says which mode the template deploys.
 */
export function ledgerCost10k(
  figures: Figures,
  resources: TemplateResources,
  eventsPerSecond: number,
): { deployed: number; onDemand: number; provisioned: number; provisionedTemplate: boolean } {
  const need = (name: string): number => {
    const value = figures[name];
    if (value === undefined || !Number.isFinite(value)) throw new Error(`the 10k cost model needs ${name} from this run`);
    return value;
  };
  if (!(eventsPerSecond > 0)) throw new Error(`the 10k cost model needs a positive event rate, got ${eventsPerSecond}`);
  const storage = need('ledger_storage_usd_per_million_month');
  const onDemand = need('ledger_requests_usd_per_million') + storage;
  const template = ledgerCapacityOfTemplate(resources);
  const capacity = template ?? defaultLedgerCapacity();
  let usdPerHour = 0;
  for (const part of LEDGER_PARTS) {
    for (const kind of ['read', 'write'] as const) {
      const range = capacity[part][kind];
      const needed = (need(ledgerPartFigure(part, kind)) * eventsPerSecond) / (range.targetPercent / 100);
      const units = Math.min(range.max, Math.max(range.min, needed));
      usdPerHour += units * (kind === 'read' ? LEDGER_PRICES.provisionedRcuHour : LEDGER_PRICES.provisionedWcuHour);
    }
  }
  const provisioned = ((usdPerHour / (eventsPerSecond * 3600)) * 1e6) + storage;
  return { deployed: template ? provisioned : onDemand, onDemand, provisioned, provisionedTemplate: template !== undefined };
}

/** The construct's default sizing (what `ledgerBillingMode: PROVISIONED` deploys without other settings). */
function defaultLedgerCapacity(): Record<LedgerPart, Record<'read' | 'write', CapacityRange>> {
  const ranges = Object.fromEntries(
    LEDGER_PARTS.map((part) => [
      part,
      Object.fromEntries(
        (['read', 'write'] as const).map((kind) => [
          kind,
          { ...ledgerCapacityRange(LEDGER_UNITS_PER_EVENT[part][kind], LEDGER_CAPACITY_DEFAULTS), targetPercent: LEDGER_CAPACITY_DEFAULTS.targetUtilizationPercent },
        ]),
      ),
    ]),
  );
  return ranges as Record<LedgerPart, Record<'read' | 'write', CapacityRange>>;
}

/**
 * The ledger table's provisioned capacity as the template deploys it: each part's scalable target
 * (min, max) and its target-tracking policy; undefined when the table is on demand. The ledger
 * table is the one with the ledger's status index. A part without a scalable target keeps its
 * fixed capacity.
 */
function ledgerCapacityOfTemplate(resources: TemplateResources): Record<LedgerPart, Record<'read' | 'write', CapacityRange>> | undefined {
  const entry = Object.entries(resources).find(
    ([, r]) =>
      r.Type === 'AWS::DynamoDB::Table' &&
      ((r.Properties?.GlobalSecondaryIndexes ?? []) as { IndexName: string }[]).some((i) => i.IndexName === LEDGER_TABLE.indexes.byStatus.indexName),
  );
  if (!entry) throw new Error('the 10k cost model found no ledger table in the template');
  const [tableId, table] = entry;
  // CloudFormation's default billing mode is PROVISIONED (CDK leaves it out then).
  if ((table.Properties?.BillingMode ?? 'PROVISIONED') === 'PAY_PER_REQUEST') return undefined;
  type Throughput = { ReadCapacityUnits: number; WriteCapacityUnits: number };
  const fixed = (throughput: Throughput | undefined, kind: 'read' | 'write'): CapacityRange => {
    const units = (kind === 'read' ? throughput?.ReadCapacityUnits : throughput?.WriteCapacityUnits) ?? LEDGER_CAPACITY_FLOOR.min;
    return { min: units, max: units, targetPercent: 100 };
  };
  const indexes = (table.Properties?.GlobalSecondaryIndexes ?? []) as { IndexName: string; ProvisionedThroughput?: Throughput }[];
  const capacity = Object.fromEntries(
    LEDGER_PARTS.map((part) => {
      const throughput = part === 'table' ? (table.Properties?.ProvisionedThroughput as Throughput | undefined) : indexes.find((i) => i.IndexName === part)?.ProvisionedThroughput;
      return [part, { read: fixed(throughput, 'read'), write: fixed(throughput, 'write') }];
    }),
  ) as Record<LedgerPart, Record<'read' | 'write', CapacityRange>>;
  const policies = Object.values(resources).filter((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalingPolicy');
  for (const [targetId, target] of Object.entries(resources)) {
    if (target.Type !== 'AWS::ApplicationAutoScaling::ScalableTarget') continue;
    const resourceId = JSON.stringify(target.Properties?.ResourceId);
    if (!resourceId.includes(`"Ref":"${tableId}"`)) continue;
    const part = (/\/index\/(\w+)/.exec(resourceId)?.[1] ?? 'table') as LedgerPart;
    const kind = String(target.Properties?.ScalableDimension).endsWith(':ReadCapacityUnits') ? 'read' : 'write';
    const policy = policies.find((p) => JSON.stringify(p.Properties?.ScalingTargetId) === JSON.stringify({ Ref: targetId }));
    const targetValue = (policy?.Properties?.TargetTrackingScalingPolicyConfiguration as { TargetValue?: number } | undefined)?.TargetValue;
    if (!capacity[part]) continue;
    capacity[part][kind] = { min: Number(target.Properties?.MinCapacity), max: Number(target.Properties?.MaxCapacity), targetPercent: targetValue ?? 100 };
  }
  return capacity;
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
