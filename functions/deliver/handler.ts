import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { givenOrCreatedPowertools, type HandlerLogger, type HandlerMetrics } from '../adapters/aws/powertools';
import { isFirstTicket, LEDGER_VERSION_ATTRIBUTE } from '../adapters/aws/sqs-ids';
import { invocationSegmentName, traced, type TraceSpan, type Tracer } from '../adapters/aws/tracing';
import { systemResolver } from '../adapters/http/host-resolver';
import { FALLBACK_POWERTOOLS } from '../config';
import type { CallbackUrlPolicy } from '../core/callback/ssrf';
import { deliverTicket, type DeliverDeps, type DeliveryOutcome } from '../core/deliver';
import type { Ledger, LedgerTiming } from '../core/ledger';
import { wakeHeld, type TicketQueue } from '../core/ledger-flow';
import { DeliverySlots } from '../core/delivery-controls';
import type { BreakerSettings, HealthStore } from '../core/health';
import type { NoticeTopic } from '../core/health-notices';
import type { ReceiverGateDeps } from '../core/receiver-gate';
import {
  type CallbackSender,
  type Clock,
  type DeadLetterQueue,
  type EcwidApi,
  errorText,
  type HostResolver,
  type InstanceLookup,
  type QueueMessage,
  type Telemetry,
} from '../core/ports';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../core/retry-policy';
import { processFifoGroupsInParallel } from './fifo-batch';
import { DEFAULT_ECWID_TIMEOUT_MS } from '../adapters/http/ecwid-api-client';
import { DEFAULTS, DELIVER_METRICS } from '../contract';
import { DEFAULT_ECWID_MAX_WAIT_MS } from '../core/ecwid/api-budget';
import { DEFAULT_SLOT_WAIT_MS } from '../core/receiver-gate';
import { timeBudget, worstCaseRecordMs, type TimeBudget } from '../core/time-budget';

/**
 * Deliver Lambda (SQS FIFO event source, ReportBatchItemFailures): adapts each record (a ledger
 * ticket) to core/deliver.ts and the outcomes to a partial batch response. Decisions live in the
 * core and the ledger: a failed delivery is an outcome (the ledger holds it until its next attempt
 * is due and the sweep sends a new ticket), so a record fails only when the ledger or the
 * dead-letter queue could not be written, and SQS then keeps it.
 * A factory with no side effects on import: the Lambda entry (index.ts) and the local runner
 * give it its dependencies (wiring.ts builds the config-driven ones for both).
 */

/** The dead-letter queue, and (optionally) a way to make skipped records visible again at once. */
export type DeliverDeadLetters = DeadLetterQueue & { release?(messages: readonly QueueMessage[]): Promise<void> };

export interface DeliverHandlerDeps {
  readonly instances: InstanceLookup;
  readonly sender: CallbackSender;
  readonly ecwid: EcwidApi;
  readonly ledger: Ledger;
  /** The event queue (tickets for an object's next event, when one finishes). */
  readonly tickets: TicketQueue;
  readonly deadLetters: DeliverDeadLetters;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retryPolicy?: RetryPolicy;
  /** @default DEFAULT_LEDGER_TIMING */
  readonly ledgerTiming?: LedgerTiming;
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
  /**
   * The longest one record may take (core/time-budget.ts): a record is started only while this
   * still fits in the invocation's remaining time (`getRemainingTimeInMillis`); the others come back.
   * @default deliverRecordWorstCaseMs(DEFAULTS.callbackTimeoutMs)
   */
  readonly recordWorstCaseMs?: number;
  /**
   * Receiver health and delivery controls (docs/health.md): the health records (items of the
   * ledger table), the breaker's thresholds, where notices go, and this worker's delivery slots.
   * @default none: every due event is attempted (no breaker, no pause, no filter)
   */
  readonly receivers?: {
    readonly health: HealthStore;
    readonly breaker: BreakerSettings;
    /** @default no topic: notices go to operational webhooks only */
    readonly noticeTopic?: NoticeTopic;
    /** Concurrent callbacks of this worker, shared fairly among receivers. @default 10 (one batch) */
    readonly slots?: number;
  };
}

export type DeliverHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

const HTTPS_ONLY: CallbackUrlPolicy = { allowHttp: false, allowHosts: [] };

/**
 * Ledger, health, queue and notice calls around one attempt: a dozen DynamoDB/SQS/SNS calls of
 * tens of milliseconds each, with room for the SDK's retries when one is throttled.
 */
export const RECORD_BOOKKEEPING_MS = 5_000;

/**
 * One record's worst case with the adapters wiring.ts builds: a slot wait, one Ecwid read (the
 * API budget's wait plus one request), the callback's timeout, the bookkeeping. 29 s by default.
 */
export function deliverRecordWorstCaseMs(callbackTimeoutMs: number): number {
  return worstCaseRecordMs({
    slotWaitMs: DEFAULT_SLOT_WAIT_MS,
    ecwidReads: 1,
    ecwidReadMs: DEFAULT_ECWID_MAX_WAIT_MS + DEFAULT_ECWID_TIMEOUT_MS,
    callbackMs: callbackTimeoutMs,
    bookkeepingMs: RECORD_BOOKKEEPING_MS,
  });
}

export function createDeliverHandler(deps: DeliverHandlerDeps): DeliverHandler {
  const { logger: log, metrics: meter, tracer: trace } = givenOrCreatedPowertools(deps, FALLBACK_POWERTOOLS.deliver);
  const clock = deps.clock ?? (() => new Date());
  const telemetry: Telemetry = {
    log: (level, message, attributes) => log[level]?.(message, { ...attributes }),
    count: (metric, value = 1) => meter.addMetric(metric, MetricUnit.Count, value),
    milliseconds: (metric, value) => meter.addMetric(metric, MetricUnit.Milliseconds, value),
  };
  const core: DeliverDeps = {
    instances: deps.instances,
    ecwid: deps.ecwid,
    sender: deps.sender,
    ledger: deps.ledger,
    tickets: deps.tickets,
    deadLetters: deps.deadLetters,
    retryPolicy: deps.retryPolicy ?? DEFAULT_RETRY_POLICY,
    ledgerTiming: deps.ledgerTiming,
    urlPolicy: deps.urlPolicy ?? HTTPS_ONLY,
    resolveHost: deps.resolveHost ?? systemResolver,
    clock,
    telemetry,
    ...(deps.receivers ? { receivers: receiverGateDeps(deps.receivers, deps, clock, telemetry) } : {}),
  };

  // One subsegment per record: groups run in parallel, and each record's ledger/SQS calls nest under it.
  const recordHandler = (record: SQSRecord): Promise<DeliveryOutcome> =>
    traced(trace, '### deliver record', async (span) => {
      if (span.recording) span.metadata('record', recordIds(record));
      const result = await deliverTicket(toQueueMessage(record), core);
      describeOutcome(span, result);
      return result;
    });

  // Best effort: a skipped record that is not released still comes back, only later.
  const releaseSkipped = async (records: SQSRecord[]): Promise<void> => {
    if (!deps.deadLetters.release) return;
    try {
      await deps.deadLetters.release(records.map(toQueueMessage));
    } catch (error) {
      log.warn('could not release the skipped records of a failed group; they return after the visibility timeout', {
        messageIds: records.map((record) => record.messageId),
        error: errorText(error),
      });
    }
  };

  const recordWorstCaseMs = deps.recordWorstCaseMs ?? deliverRecordWorstCaseMs(DEFAULTS.callbackTimeoutMs);

  return (event, context) => traced(trace, invocationSegmentName(), async (span) => {
    if (context) log.addContext?.(context);
    // Without a Lambda context (a script, a test) there is no timeout to keep.
    const budget: TimeBudget | undefined =
      typeof context?.getRemainingTimeInMillis === 'function'
        ? timeBudget(clock().getTime(), context.getRemainingTimeInMillis(), recordWorstCaseMs)
        : undefined;
    let refused = false;
    const mayStart = budget
      ? (): boolean => {
          if (budget.mayStart(clock().getTime())) return true;
          refused = true;
          return false;
        }
      : undefined;
    const started = new Set<string>();
    const startedHandler = (record: SQSRecord): Promise<DeliveryOutcome> => {
      started.add(record.messageId);
      return recordHandler(record);
    };
    try {
      const response = await processFifoGroupsInParallel(event, startedHandler, context, releaseSkipped, mayStart);
      // The refused records and the rest of their groups: all come back, none was started.
      const notStarted = refused ? response.batchItemFailures.map((f) => f.itemIdentifier).filter((id) => !started.has(id)) : [];
      if (notStarted.length > 0) {
        meter.addMetric(DELIVER_METRICS.notStartedInTime, MetricUnit.Count, notStarted.length);
        log.warn('records not started: too little time left in the invocation; they come back whole', {
          messageIds: notStarted,
          recordWorstCaseMs,
        });
      }
      span.metadata('batch', { records: event.Records?.length ?? 0, failed: response.batchItemFailures.length, notStarted: notStarted.length });
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
    case 'retrying':
      // Errors are redacted by the core (no keys, no callback paths), as in the logs.
      span.metadata('delivery', { attempt: outcome.attempt, nextAttemptAt: outcome.nextAttemptAt, error: outcome.error });
      break;
    case 'dead-lettered':
      span.metadata('delivery', { attempts: outcome.attempts, error: outcome.error });
      break;
    case 'parked':
      span.metadata('delivery', { blockedBy: outcome.blockedBy });
      break;
    case 'skipped':
      span.metadata('delivery', { reason: outcome.reason });
      break;
  }
}

/** SQS record -> the core's QueueMessage (attributes are strings; timestamps are epoch ms). */
export function toQueueMessage(record: SQSRecord): QueueMessage {
  const attributes: Partial<SQSRecord['attributes']> = record.attributes ?? {};
  const receiveCount = Number(attributes.ApproximateReceiveCount);
  const firstReceived = Number(attributes.ApproximateFirstReceiveTimestamp);
  const deadLetteredVersion = Number(record.messageAttributes?.[LEDGER_VERSION_ATTRIBUTE]?.stringValue);
  return {
    messageId: record.messageId,
    receiptHandle: record.receiptHandle,
    body: record.body,
    receiveCount: Number.isInteger(receiveCount) && receiveCount > 0 ? receiveCount : 1,
    firstReceivedAt: Number.isFinite(firstReceived) && firstReceived > 0 ? new Date(firstReceived).toISOString() : undefined,
    messageGroupId: attributes.MessageGroupId,
    messageDeduplicationId: attributes.MessageDeduplicationId,
    queueArn: record.eventSourceARN,
    ...(Number.isInteger(deadLetteredVersion) && deadLetteredVersion > 0 ? { deadLetteredVersion } : {}),
    ...(firstTicketOf(attributes.MessageDeduplicationId, record.body) ? { firstTicket: true } : {}),
  };
}

/** Whether the message is its event's first ticket (false when the body is no queued event: the core dead-letters it). */
function firstTicketOf(deduplicationId: string | undefined, body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { instanceId?: unknown; eventId?: unknown };
    if (typeof parsed.instanceId !== 'string' || typeof parsed.eventId !== 'string') return false;
    return isFirstTicket(deduplicationId, { instanceId: parsed.instanceId, eventId: parsed.eventId });
  } catch {
    return false;
  }
}

/** The receiver gate's dependencies, built once per handler (its slots are shared by every batch of this worker). */
function receiverGateDeps(
  receivers: NonNullable<DeliverHandlerDeps['receivers']>,
  deps: DeliverHandlerDeps,
  clock: Clock,
  telemetry: Telemetry,
): ReceiverGateDeps {
  const urlPolicy = deps.urlPolicy ?? HTTPS_ONLY;
  const resolveHost = deps.resolveHost ?? systemResolver;
  return {
    health: { store: receivers.health, clock, settings: receivers.breaker },
    notices: { topic: receivers.noticeTopic, sender: deps.sender, urlPolicy, resolveHost, clock, telemetry },
    slots: new DeliverySlots(receivers.slots ?? 10),
    newProbeId: () => randomUUID(),
    clock,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    telemetry,
    wakeHeld: (instanceId, limit) => wakeHeld(instanceId, { ledger: deps.ledger, tickets: deps.tickets, clock, timing: deps.ledgerTiming }, limit),
    after: (ms, fn) => {
      const timer = setTimeout(fn, ms);
      // Never keeps a process (the local runner, a test) alive on its own.
      timer.unref();
      return () => clearTimeout(timer);
    },
  };
}
