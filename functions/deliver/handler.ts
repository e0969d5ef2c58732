import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { givenOrCreatedPowertools, type HandlerLogger, type HandlerMetrics } from '../adapters/aws/powertools';
import { invocationSegmentName, traced, type TraceSpan, type Tracer } from '../adapters/aws/tracing';
import { systemResolver } from '../adapters/http/host-resolver';
import { FALLBACK_POWERTOOLS } from '../config';
import type { CallbackUrlPolicy } from '../core/callback/ssrf';
import { deliverMessage, type DeliveryOutcome } from '../core/deliver';
import {
  type CallbackSender,
  type Clock,
  type EcwidApi,
  errorText,
  type HostResolver,
  type InstanceLookup,
  type QueueMessage,
  type RetryScheduler,
  type Telemetry,
} from '../core/ports';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry-policy';
import { processFifoGroupsInParallel } from './fifo-batch';

/**
 * Deliver Lambda (SQS FIFO event source, ReportBatchItemFailures): adapts each record to
 * core/deliver.ts and the outcomes to a partial batch response. Decisions live in the core.
 * A factory with no side effects on import: the Lambda entry (index.ts) and the local runner
 * give it its dependencies (wiring.ts builds the config-driven ones for both).
 */


export interface DeliverHandlerDeps {
  readonly instances: InstanceLookup;
  readonly retries: RetryScheduler;
  readonly sender: CallbackSender;
  readonly ecwid: EcwidApi;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retryPolicy?: RetryPolicy;
  /** @default https only, no exempt hosts */
  readonly urlPolicy?: CallbackUrlPolicy;
  /** @default the system resolver */
  readonly resolveHost?: HostResolver;
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** @default a Powertools Logger of FALLBACK_POWERTOOLS.deliver */
  readonly logger?: HandlerLogger;
  /** @default a Powertools Metrics of FALLBACK_POWERTOOLS.deliver (EMF to stdout) */
  readonly metrics?: HandlerMetrics;
  /** @default a Tracer (X-Ray; off outside Lambda and when POWERTOOLS_TRACE_ENABLED=false) */
  readonly tracer?: Tracer;
}

export type DeliverHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Makes Powertools count the record as failed; the retry was already scheduled by the core. */
export class DeliveryRetryScheduledError extends Error {
  override readonly name = 'DeliveryRetryScheduledError';
}

const HTTPS_ONLY: CallbackUrlPolicy = { allowHttp: false, allowHosts: [] };

export function createDeliverHandler(deps: DeliverHandlerDeps): DeliverHandler {
  const { logger: log, metrics: meter, tracer: trace } = givenOrCreatedPowertools(deps, FALLBACK_POWERTOOLS.deliver);
  const clock = deps.clock ?? (() => new Date());
  const telemetry: Telemetry = {
    log: (level, message, attributes) => log[level]?.(message, { ...attributes }),
    count: (metric, value = 1) => meter.addMetric(metric, MetricUnit.Count, value),
    milliseconds: (metric, value) => meter.addMetric(metric, MetricUnit.Milliseconds, value),
  };
  const core = {
    instances: deps.instances,
    ecwid: deps.ecwid,
    sender: deps.sender,
    retries: deps.retries,
    retryPolicy: deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
    urlPolicy: deps.urlPolicy ?? HTTPS_ONLY,
    resolveHost: deps.resolveHost ?? systemResolver,
    clock,
    telemetry,
  };

  // One subsegment per record: groups run in parallel, and each record's SSM/SQS calls nest under it.
  // A scheduled retry is an outcome, not an error of the trace: the throw comes after the subsegment.
  const recordHandler = async (record: SQSRecord): Promise<DeliveryOutcome> => {
    const outcome = await traced(trace, '### deliver record', async (span) => {
      if (span.recording) span.metadata('record', recordIds(record));
      const result = await deliverMessage(toQueueMessage(record), core);
      describeOutcome(span, result);
      return result;
    });
    if (outcome.status === 'retry-scheduled') throw new DeliveryRetryScheduledError(outcome.error);
    return outcome;
  };

  // Best effort: a skipped record that is not released still comes back, only later.
  const releaseSkipped = async (records: SQSRecord[]): Promise<void> => {
    try {
      await deps.retries.release(records.map(toQueueMessage));
    } catch (error) {
      log.warn('could not release the skipped records of a failed group; they return after the visibility timeout', {
        messageIds: records.map((record) => record.messageId),
        error: errorText(error),
      });
    }
  };

  return (event, context) => traced(trace, invocationSegmentName(), async (span) => {
    if (context) log.addContext?.(context);
    try {
      const response = await processFifoGroupsInParallel(event, recordHandler, context, releaseSkipped);
      span.metadata('batch', { records: event.Records?.length ?? 0, failed: response.batchItemFailures.length });
      return response;
    } finally {
      meter.publishStoredMetrics();
    }
  }, { invocation: true });
}

/** What a record's subsegment says about it: ids from the queued event (never its raw payload). */
function recordIds(record: SQSRecord): Record<string, unknown> {
  let event: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(record.body);
    if (typeof parsed === 'object' && parsed !== null) event = parsed as Record<string, unknown>;
  } catch {
    // Unparseable: the core dead-letters it; the message id still identifies it.
  }
  const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  return {
    messageId: record.messageId,
    messageGroupId: record.attributes?.MessageGroupId,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount) || undefined,
    eventId: text(event.eventId),
    instanceId: text(event.instanceId),
    storeId: text(event.storeId),
    objectType: text(event.objectType),
    eventType: text(event.eventType),
  };
}

/** The outcome as an annotation (to filter traces by), its details as metadata. */
function describeOutcome(span: TraceSpan, outcome: DeliveryOutcome): void {
  span.annotate('outcome', outcome.status);
  switch (outcome.status) {
    case 'delivered':
      span.annotate('httpStatus', outcome.httpStatus);
      span.metadata('delivery', { latencyMs: outcome.latencyMs });
      break;
    case 'dropped':
      span.annotate('dropReason', outcome.reason);
      span.metadata('delivery', { detail: outcome.detail });
      break;
    case 'retry-scheduled':
      // Errors are redacted by the core (no keys, no callback paths), as in the logs.
      span.metadata('delivery', { delaySeconds: outcome.delaySeconds, error: outcome.error });
      break;
    case 'dead-lettered':
      span.metadata('delivery', { error: outcome.error });
      break;
  }
}

/** SQS record -> the core's QueueMessage (attributes are strings; timestamps are epoch ms). */
export function toQueueMessage(record: SQSRecord): QueueMessage {
  const attributes: Partial<SQSRecord['attributes']> = record.attributes ?? {};
  const receiveCount = Number(attributes.ApproximateReceiveCount);
  const firstReceived = Number(attributes.ApproximateFirstReceiveTimestamp);
  return {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    body: record.body,
    receiveCount: Number.isInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1,
    firstReceivedAt: Number.isFinite(firstReceived) && firstReceived > 0 ? new Date(firstReceived).toISOString() : undefined,
    messageGroupId: attributes.MessageGroupId,
    messageDeduplicationId: attributes.MessageDeduplicationId,
    queueArn: record.eventSourceARN,
  };
}
