import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { isValidBackoff, isValidMaxAttempts, MAX_ATTEMPTS_LIMIT, MAX_BACKOFF_SECONDS, queueVisibilityTimeoutSeconds } from '../../functions/core/retry-policy';
import { DELIVER_TIMEOUT_SECONDS, ENV } from '../../functions/contract';
import { acknowledgeQueueKeyGrant } from './event-queue';
import { InstanceConfigAccess } from './instance-config-access';
import { RelayFunction, RelayObservability } from './relay-function';

const DELIVER_ENTRY = path.join(__dirname, '..', '..', 'functions', 'deliver', 'index.ts');

/** The deliver function's timeout; the queue's visibility timeout is derived from it. */
export const DELIVER_TIMEOUT = Duration.seconds(DELIVER_TIMEOUT_SECONDS);
/** Records per invocation: the most SQS FIFO allows. */
export const DELIVER_BATCH_SIZE = 10;
/** The main queue's visibility timeout, as the retry policy derives it from the consumer's timeout. */
export const DELIVER_VISIBILITY_TIMEOUT = Duration.seconds(queueVisibilityTimeoutSeconds(DELIVER_TIMEOUT_SECONDS));

export interface DeliveryProps {
  /** The FIFO queue to consume. */
  readonly queue: IQueue;
  /** Where the function moves a message on its last failed attempt. */
  readonly deadLetterQueue: IQueue;
  readonly instanceConfig: InstanceConfigAccess;
  /** How long the function keeps an instance config before reading it again. */
  readonly configCache: Duration;
  /** Backoff in seconds after the 1st, 2nd, ... failed attempt (each at most 12 h). */
  readonly retrySchedule: readonly number[];
  /** The attempt whose failure dead-letters the message. */
  readonly maxAttempts: number;
  /** Timeout of one callback POST. Ten of them (one batch) must fit in the function timeout. */
  readonly callbackTimeout: Duration;
  /** Ports a callback URL may name. @default - the function's own default (443 and 8443) */
  readonly callbackPorts?: readonly number[];
  /** Base URL of the Ecwid API (`/v1/...` and `/v3/...` are appended). */
  readonly ecwidApiBaseUrl: string;
  /** Most concurrent invocations the queue's event source starts (2 to 1000). */
  readonly maxConcurrency: number;
  /**
   * The circuit breaker per receiver and the disable period (docs/health.md).
   *
   * @default - the function's own defaults (DEFAULTS in functions/contract.ts)
   */
  readonly breaker?: ReceiverBreakerProps;
  readonly observability: RelayObservability;
  /**
   * The deliver function's entry (a TypeScript file exporting `handler`).
   *
   * @default functions/deliver/index.ts (the Lambda entry; the handler factory is handler.ts)
   */
  readonly entry?: string;
}

/**
 * A receiver's circuit breaker: `failures` in a row spanning `minSpan` open it; probes every
 * `probeInterval`; disabled after `disableAfter`. An attempt taking `slowAfter` marks it slow:
 * then at most `slowMaxInFlight` of its attempts run at once.
 */
export interface ReceiverBreakerProps {
  readonly failures: number;
  readonly minSpan: Duration;
  readonly probeInterval: Duration;
  readonly disableAfter: Duration;
  /** @default - the function's default (DEFAULTS.slowReceiverAfterMs, 2 s) */
  readonly slowAfter?: Duration;
  /** @default - the function's default (DEFAULTS.slowReceiverMaxInFlight, 2) */
  readonly slowMaxInFlight?: number;
}

/**
 * The consumer: the deliver function on the FIFO queue (batches of 10, partial batch
 * responses, bounded concurrency). Each message is a ticket ("this event is due now"): it
 * decides from the event ledger (attempts counted there, per-object order), verifies/enriches
 * through the Ecwid API, POSTs the callback and records the attempt. A failed attempt waits in
 * the ledger for its backoff (the RetrySweep sends its next ticket), so no message is held in
 * flight; after the last attempt it moves the event to the dead-letter queue, with the last error.
 * The ledger's grant (EventLedger.grantDeliveryUpdates) is given by the stack.
 */
export class Delivery extends Construct {
  public readonly function: NodejsFunction;
  /** The deliver function's own log group. */
  public readonly functionLogGroup: LogGroup;
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: DeliveryProps) {
    super(scope, id);
    validateDeliveryProps(props);

    const deliver = new RelayFunction(this, 'Deliver', {
      entry: props.entry ?? DELIVER_ENTRY,
      description: 'Ecwid events: verifies, signs and POSTs queued events to the callback URL, with retries',
      timeout: DELIVER_TIMEOUT,
      memorySize: 256,
      observability: props.observability,
      environment: {
        [ENV.ecwidApiBaseUrl]: props.ecwidApiBaseUrl,
        [ENV.retrySchedule]: props.retrySchedule.join(','),
        [ENV.maxAttempts]: String(props.maxAttempts),
        [ENV.callbackTimeoutMs]: String(props.callbackTimeout.toMilliseconds()),
        ...(props.callbackPorts ? { [ENV.callbackAllowedPorts]: validatedPorts(props.callbackPorts).join(',') } : {}),
        ...(props.breaker
          ? {
              [ENV.breakerFailures]: String(props.breaker.failures),
              [ENV.breakerSpanSeconds]: String(props.breaker.minSpan.toSeconds()),
              [ENV.breakerProbeSeconds]: String(props.breaker.probeInterval.toSeconds()),
              [ENV.receiverDisableAfterSeconds]: String(props.breaker.disableAfter.toSeconds()),
              ...(props.breaker.slowAfter ? { [ENV.slowReceiverAfterMs]: String(props.breaker.slowAfter.toMilliseconds()) } : {}),
              ...(props.breaker.slowMaxInFlight !== undefined ? { [ENV.slowReceiverMaxInFlight]: String(props.breaker.slowMaxInFlight) } : {}),
            }
          : {}),
        // Outgoing HTTPS subsegments would record full URLs: the legacy Order API takes the
        // store's secret key as a query parameter, and callback URLs may carry tokens.
        POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS: 'false',
      },
    });
    this.function = deliver.function;
    this.functionLogGroup = deliver.logGroup;

    // Consume (receive, delete; sqs:ChangeMessageVisibility, in the same grant, releases the records
    // of a group skipped after a failed one), and send the ticket of an object's next event when one finishes.
    this.function.addEnvironment(ENV.queueUrl, props.queue.queueUrl);
    props.queue.grantConsumeMessages(this.function);
    props.queue.grantSendMessages(this.function);

    this.function.addEnvironment(ENV.deadLetterQueueUrl, props.deadLetterQueue.queueUrl);
    props.deadLetterQueue.grantSendMessages(this.function);
    acknowledgeQueueKeyGrant(props.deadLetterQueue, deliver);

    this.function.addEnvironment(ENV.ssmPrefix, props.instanceConfig.ssmPrefix);
    this.function.addEnvironment(ENV.configCacheSeconds, String(props.configCache.toSeconds()));
    props.instanceConfig.grantRead(this.function, deliver);

    this.eventSource = new SqsEventSource(props.queue, {
      batchSize: DELIVER_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency,
    });
    this.function.addEventSource(this.eventSource);
  }
}

function validateDeliveryProps(props: DeliveryProps): void {
  const { retrySchedule, maxAttempts, maxConcurrency, callbackTimeout, breaker } = props;
  if (breaker) {
    const { failures, minSpan, probeInterval, disableAfter } = breaker;
    if (!Number.isInteger(failures) || failures < 1 || failures > 1000) throw new Error(`breakerFailures must be a whole number from 1 to 1000, got ${failures}`);
    const seconds = (d: Duration) => d.toSeconds({ integral: false });
    if (!Number.isInteger(seconds(minSpan)) || seconds(minSpan) < 0 || seconds(minSpan) > 86_400) {
      throw new Error(`breakerMinSpan must be whole seconds from 0 to 1 day, got ${seconds(minSpan)} s`);
    }
    if (!Number.isInteger(seconds(probeInterval)) || seconds(probeInterval) < 1 || seconds(probeInterval) > 3600) {
      throw new Error(`breakerProbeInterval must be whole seconds from 1 s to 1 hour, got ${seconds(probeInterval)} s`);
    }
    if (!Number.isInteger(seconds(disableAfter)) || seconds(disableAfter) < 3600 || seconds(disableAfter) > 30 * 86_400) {
      throw new Error(`receiverDisableAfter must be whole seconds from 1 hour to 30 days, got ${seconds(disableAfter)} s`);
    }
    const { slowAfter, slowMaxInFlight } = breaker;
    if (slowAfter) {
      const ms = slowAfter.toMilliseconds({ integral: false });
      const limit = callbackTimeout.toMilliseconds();
      if (!Number.isInteger(ms) || ms < 100 || ms > limit) {
        throw new Error(`slowReceiverThreshold must be whole milliseconds from 100 ms to the callback timeout (${limit} ms), got ${ms} ms`);
      }
    }
    if (slowMaxInFlight !== undefined && (!Number.isInteger(slowMaxInFlight) || slowMaxInFlight < 1 || slowMaxInFlight > 100)) {
      throw new Error(`slowReceiverMaxInFlight must be a whole number from 1 to 100, got ${slowMaxInFlight}`);
    }
  }
  if (retrySchedule.length === 0) throw new Error('retrySchedule must have at least one entry');
  const bad = retrySchedule.filter((s) => !isValidBackoff(s));
  if (bad.length > 0) {
    throw new Error(
      `retrySchedule entries must be whole seconds from 0 to ${MAX_BACKOFF_SECONDS} (SQS's visibility cap); bad: ${bad.join(', ')}`,
    );
  }
  // The limit keeps the redrive backstop within SQS's maxReceiveCount (see core/retry-policy.ts).
  if (!isValidMaxAttempts(maxAttempts)) {
    throw new Error(`maxAttempts must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}, got ${maxAttempts}`);
  }
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 2 || maxConcurrency > 1000) {
    throw new Error(`deliveryMaxConcurrency must be an integer from 2 to 1000 (SQS event source limits), got ${maxConcurrency}`);
  }
  const batchWorst = callbackTimeout.toMilliseconds() * DELIVER_BATCH_SIZE;
  if (callbackTimeout.toMilliseconds() < 1 || batchWorst >= DELIVER_TIMEOUT.toMilliseconds()) {
    throw new Error(
      `callbackTimeout must be positive and ${DELIVER_BATCH_SIZE} of them must fit in the deliver timeout ` +
        `(${DELIVER_TIMEOUT.toSeconds()} s), got ${callbackTimeout.toMilliseconds()} ms`,
    );
  }
  try {
    const url = new URL(props.ecwidApiBaseUrl);
    if (url.protocol !== 'https:') throw new Error('not https');
  } catch {
    throw new Error(`ecwidApiBaseUrl must be an https URL, got "${props.ecwidApiBaseUrl}"`);
  }
}

/** Whole numbers from 1 to 65535, at least one. */
function validatedPorts(ports: readonly number[]): readonly number[] {
  if (ports.length === 0 || ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new Error(`callbackPorts must be whole numbers from 1 to 65535, got ${JSON.stringify(ports)}`);
  }
  return ports;
}
