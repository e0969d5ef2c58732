import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { envNumber, ssmInstanceStoreFromEnv } from '../adapters/environment';
import { SqsRetryScheduler } from '../adapters/aws/sqs-retry-scheduler';
import { handlerPowertools } from '../adapters/aws/powertools';
import { invocationSegmentName, traced, type TraceSpan, type Tracer } from '../adapters/aws/tracing';
import { HttpCallbackSender } from '../adapters/http/callback-sender';
import { systemResolver } from '../adapters/http/host-resolver';
import { callbackUrlPolicyFrom, type CallbackUrlPolicy } from '../core/callback/ssrf';
import { deliverMessage, type DeliveryOutcome } from '../core/deliver';
import { EcwidApiClient } from '../adapters/http/ecwid-api-client';
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
import { DEFAULT_RETRY_POLICY, retryPolicyFrom, type RetryPolicy } from '../core/retry-policy';
import { DEFAULTS, ENV } from '../contract';
import { processFifoGroupsInParallel } from './fifo-batch';

/**
 * Deliver Lambda (SQS FIFO event source, ReportBatchItemFailures): adapts each record to
 * core/deliver.ts and the outcomes to a partial batch response. Decisions live in the core.
 */

export type DeliverLogger = Pick<Logger, 'info' | 'warn' | 'error'> & { addContext?(context: Context): void };
export type DeliverMetrics = Pick<Metrics, 'addMetric' | 'publishStoredMetrics'>;

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
  /** @default the module's Powertools Logger */
  readonly logger?: DeliverLogger;
  /** @default the module's Powertools Metrics (EMF to stdout) */
  readonly metrics?: DeliverMetrics;
  /** @default the module's Tracer (X-Ray; off outside Lambda and when POWERTOOLS_TRACE_ENABLED=false) */
  readonly tracer?: Tracer;
}

export type DeliverHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Makes Powertools count the record as failed; the retry was already scheduled by the core. */
export class DeliveryRetryScheduledError extends Error {
  override readonly name = 'DeliveryRetryScheduledError';
}

const { logger, metrics, tracer } = handlerPowertools('ecwid-events-deliver');

const HTTPS_ONLY: CallbackUrlPolicy = { allowHttp: false, allowHosts: [] };

export function createDeliverHandler(deps: DeliverHandlerDeps): DeliverHandler {
  const log = deps.logger ?? logger;
  const meter = deps.metrics ?? metrics;
  const clock = deps.clock ?? (() => new Date());
  const trace = deps.tracer ?? tracer;
  const telemetry: Telemetry = {
    log: (level, message, attributes) => log[level](message, { ...attributes }),
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

// Clients and configuration are built once per execution environment, not per record: the
// keep-alive agents of adapters/http/request.ts and the SSM cache then serve every warm invocation.
const env = process.env;
export const handler: DeliverHandler = createDeliverHandler({
  instances: ssmInstanceStoreFromEnv(env, tracer.captureAWSv3Client(new SSMClient({}))),
  retries: new SqsRetryScheduler({
    queueUrl: env[ENV.queueUrl],
    deadLetterQueueUrl: env[ENV.deadLetterQueueUrl],
    client: tracer.captureAWSv3Client(new SQSClient({})),
  }),
  sender: new HttpCallbackSender({
    timeoutMs: envNumber(env[ENV.callbackTimeoutMs], { min: 1 }) ?? DEFAULTS.callbackTimeoutMs,
  }),
  ecwid: new EcwidApiClient({ baseUrl: env[ENV.ecwidApiBaseUrl] || DEFAULTS.ecwidApiBaseUrl }),
  retryPolicy: retryPolicyFrom({ schedule: env[ENV.retrySchedule], maxAttempts: env[ENV.maxAttempts] }),
  urlPolicy: callbackUrlPolicyFrom({ allowHttp: env[ENV.allowHttpCallbacks], allowHosts: env[ENV.callbackAllowHosts] }),
  tracer,
});
