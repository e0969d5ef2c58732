/**
 * cost_per_million_events_usd: what one million webhooks cost to relay, from the call counts and
 * durations measured in this run, the memory sizes and batch size of the synthesized template, and
 * AWS list prices (us-east-1, arm64). A model, not a bill: every assumption is a named constant
 * below and is repeated in the README's Performance section.
 *
 * Per event (one webhook for one instance, delivered on the first attempt):
 * - HTTP API: 1 request.
 * - Lambda requests: 1 ingest invocation + 1/B deliver invocations (B = the event source's
 *   BatchSize: full batches under sustained load).
 * - Lambda duration (GB-s = memory / 1024 x billed seconds, billed per 1 ms):
 *   ingest: the measured in-process time per event (AWS answered at once) scaled to the function's
 *   CPU share (Lambda gives 1 vCPU at 1769 MB, proportionally less below), plus AWS_CALL_MS for each
 *   SQS/SSM call it made per event; rounded up to whole ms.
 *   deliver: the measured wall time of a batch of 10 against a callback answering in
 *   CALLBACK_MS; the part above CALLBACK_MS is scaled to the CPU share like ingest's. Divided by B.
 * - SQS FIFO requests (each 64 KB of payload is one request): ingest's SendMessageBatch calls
 *   (measured), the event source's ReceiveMessage and DeleteMessageBatch (1/B each), deliver's own
 *   calls (measured: 0 when the first attempt succeeds).
 * - SSM: GetParameter is free at standard throughput; each SecureString read costs one KMS Decrypt
 *   (measured reads per event, counted as SecureString reads: an upper bound).
 * - CloudWatch Logs ingestion: the measured bytes the functions wrote (Powertools logs and EMF
 *   metrics) plus PLATFORM_LOG_BYTES_PER_INVOCATION for Lambda's own start/report records.
 * - X-Ray (when the template enables active tracing): XRAY_SAMPLED_SHARE of requests traced per traced function.
 * - Data transfer out: the callback request (measured bytes) leaves AWS for the internet.
 * - The event ledger (when the ledger group ran): its measured DynamoDB write and read units at
 *   on-demand prices, and a month of storage with point-in-time recovery (bench/ledger.ts).
 * Not included: idle polling of the queue by the event source (a fixed monthly cost, not per event),
 * retries (each failed attempt adds a deliver run, a ChangeMessageVisibility and a callback request),
 * CloudWatch alarms and dashboards, KMS key fees, free tiers.
 */
import type { SynthesizedApp } from './bundles';
import { type Figures, round } from './support';

export const PRICES = {
  /** Lambda arm64, us-east-1, first 7.5 billion GB-s/month tier. */
  lambdaGbSecond: 0.0000133334,
  lambdaPerMillionRequests: 0.2,
  /** SQS FIFO, per million requests (each 64 KB chunk of payload is one request). */
  sqsFifoPerMillionRequests: 0.5,
  /** API Gateway HTTP API, first 300 million requests/month. */
  httpApiPerMillionRequests: 1.0,
  /** SSM standard parameters at standard throughput: no charge. */
  ssmStandardPerMillionRequests: 0,
  /** KMS: $0.03 per 10,000 requests (a SecureString read decrypts with KMS). */
  kmsPerMillionRequests: 3.0,
  /** CloudWatch Logs ingestion (standard class), per GB. */
  logsIngestionPerGb: 0.5,
  /** X-Ray traces recorded, per million. */
  xrayPerMillionTraces: 5.0,
  /** Data transfer out to the internet, first 10 TB/month, per GB. */
  dataTransferOutPerGb: 0.09,
} as const;

export const ASSUMPTIONS = {
  /** Latency of one SQS or SSM call from Lambda in the same region (the benchmark's stand-in answers at once). */
  awsCallMs: 10,
  /** The callback's answer time in deliver_batch_ratio's batch (a wait, billed but not CPU). */
  callbackMs: 100,
  /** Lambda gives one full vCPU at 1769 MB and CPU in proportion to memory below that. */
  fullVcpuMemoryMb: 1769,
  /** Lambda's START/END/REPORT records per invocation (JSON log format). */
  platformLogBytesPerInvocation: 500,
  /** X-Ray's default sampling under load: 1 request/s reservoir + 5% — the 5% dominates. */
  xraySampledShare: 0.05,
  /** SQS bills a request per 64 KB of payload. */
  sqsChunkBytes: 64 * 1024,
} as const;

const GB = 1024 ** 3;

export function costModel(figures: Figures, app: SynthesizedApp): Figures {
  const need = (name: string): number => {
    const value = figures[name];
    if (value === undefined || !Number.isFinite(value)) throw new Error(`the cost model needs ${name} from this run`);
    return value;
  };
  const { ingest, deliver } = app.functions;
  const batch = Math.max(1, app.deliverBatchSize);
  const cpuShare = (memoryMb: number) => Math.min(1, memoryMb / ASSUMPTIONS.fullVcpuMemoryMb);

  // Lambda duration.
  const ingestCalls = need('sqs_calls_per_event') + need('ssm_calls_per_event');
  const ingestBilledMs = Math.max(
    1,
    Math.ceil(need('ingest_us_per_event') / 1000 / cpuShare(ingest.memoryMb) + ingestCalls * ASSUMPTIONS.awsCallMs),
  );
  const batchMs = need('deliver_batch_ms');
  const deliverBilledMsPerBatch = Math.ceil(
    Math.max(0, batchMs - ASSUMPTIONS.callbackMs) / cpuShare(deliver.memoryMb) + ASSUMPTIONS.callbackMs,
  );
  const gbSeconds = (ingest.memoryMb / 1024) * (ingestBilledMs / 1000) + ((deliver.memoryMb / 1024) * (deliverBilledMsPerBatch / 1000)) / batch;

  // SQS requests (64 KB chunks).
  const messageBytes = need('queued_message_bytes');
  const chunks = (bytes: number) => Math.max(1, Math.ceil(bytes / ASSUMPTIONS.sqsChunkBytes));
  const sqsRequests =
    need('sqs_calls_per_event') * chunks(messageBytes) + // SendMessageBatch (one event per notification)
    chunks(batch * messageBytes) / batch + // ReceiveMessage by the event source
    1 / batch + // DeleteMessageBatch by the event source
    need('deliver_sqs_calls_per_event');

  const kmsRequests = need('ssm_calls_per_event') + need('deliver_ssm_calls_per_event');
  const logBytes =
    need('ingest_log_bytes_per_event') +
    need('deliver_log_bytes_per_event') +
    ASSUMPTIONS.platformLogBytesPerInvocation * (1 + 1 / batch);
  const tracedFunctions = (ingest.tracing ? 1 : 0) + (deliver.tracing ? 1 : 0);

  const perMillion = {
    http_api: PRICES.httpApiPerMillionRequests,
    lambda_requests: PRICES.lambdaPerMillionRequests * (1 + 1 / batch),
    lambda_duration: gbSeconds * PRICES.lambdaGbSecond * 1e6,
    sqs: PRICES.sqsFifoPerMillionRequests * sqsRequests,
    kms: PRICES.kmsPerMillionRequests * kmsRequests,
    logs: ((logBytes * 1e6) / GB) * PRICES.logsIngestionPerGb,
    xray: tracedFunctions * ASSUMPTIONS.xraySampledShare * PRICES.xrayPerMillionTraces,
    data_transfer: ((need('callback_request_bytes') * 1e6) / GB) * PRICES.dataTransferOutPerGb,
    // The event ledger (bench/ledger.ts: measured units, on-demand prices), when that group ran too.
    ...(figures.ledger_requests_usd_per_million !== undefined
      ? { ledger: figures.ledger_requests_usd_per_million + (figures.ledger_storage_usd_per_million_month ?? 0) }
      : {}),
  };
  const total = Object.values(perMillion).reduce((sum, value) => sum + value, 0);
  const result: Figures = {
    cost_per_million_events_usd: round(total, 3),
    cost_ingest_billed_ms: ingestBilledMs,
    cost_deliver_billed_ms_per_batch: deliverBilledMsPerBatch,
    cost_sqs_requests_per_event: round(sqsRequests, 3),
  };
  for (const [name, value] of Object.entries(perMillion)) result[`cost_${name}_usd_per_million`] = round(value, 3);
  return result;
}
