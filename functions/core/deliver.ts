/**
 * The deliver use case: one queued message in, one outcome out. Pure apart from the ports.
 *
 * Per attempt: parse the message, load the instance, verify/enrich through the Ecwid API, check the
 * callback URL (SSRF), sign, POST. A failure is retried after a backoff (the message is made visible
 * again later); the failure of the last attempt sends the message to the dead-letter queue and counts
 * as handled, so SQS deletes it from the main queue. Dropped events (forged, instance gone or
 * disabled) are logged and counted, never retried.
 */
import { buildCallbackBody, serializeCallbackBody } from './callback/body';
import { signatureHeaders } from './callback/signing';
import { checkCallbackUrl, type CallbackUrlPolicy } from './callback/ssrf';
import { redactSecretQueryParams } from './ecwid/secrets';
import { canonicalStoreId } from './ecwid/notification';
import { prepareCallbackRaw, VerificationUnavailableError } from './ecwid/verify';
import { deliveryId, type EventSource, type NormalizedEventType, type QueuedEvent } from './event';
import { CONFIG_KEYS, configOf, type Instance, scrubSecrets, secretValuesOf } from './instance';
import { DELIVER_METRICS } from '../contract';
import { isJsonObject } from './json';
import {
  type CallbackSender,
  type Clock,
  type DeadLetterDetails,
  type EcwidApi,
  errorText,
  type HostResolver,
  type InstanceLookup,
  NO_TELEMETRY,
  type QueueMessage,
  type RetryScheduler,
  type Telemetry,
} from './ports';
import { backoffSeconds, isLastAttempt, type RetryPolicy } from './retry-policy';

export interface DeliverDeps {
  readonly instances: InstanceLookup;
  readonly ecwid: EcwidApi;
  readonly sender: CallbackSender;
  readonly retries: RetryScheduler;
  readonly retryPolicy: RetryPolicy;
  readonly urlPolicy: CallbackUrlPolicy;
  /** DNS for the URL policy's address check (adapters/http/host-resolver.ts). */
  readonly resolveHost: HostResolver;
  readonly clock: Clock;
  readonly telemetry?: Telemetry;
}

export type DropReason = 'forged' | 'instance-deleted' | 'instance-disabled' | 'instance-store-changed';

export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly httpStatus: number; readonly latencyMs: number }
  | { readonly status: 'dropped'; readonly reason: DropReason; readonly detail: string }
  /** The handler must report the record as failed (it comes back after `delaySeconds`). */
  | { readonly status: 'retry-scheduled'; readonly delaySeconds: number; readonly error: string }
  | { readonly status: 'dead-lettered'; readonly error: string };

/** A failed attempt: its reason (redacted before use) and the server's Retry-After, if any. */
interface Failure {
  readonly error: string;
  readonly retryAfterSeconds?: number;
  /**
   * Configuration no retry can fix (no callback URL, a refused one, no key to verify with): to the
   * dead-letter queue at once, where the operator sees it, fixes the instance and replays it,
   * instead of ~39 h of retries first.
   */
  readonly permanent?: boolean;
}

/**
 * Handles one message. Throws only when the dead-letter queue cannot take a message (the record
 * must then fail so SQS keeps it); every other problem is an outcome.
 */
export async function deliverMessage(message: QueueMessage, deps: DeliverDeps): Promise<DeliveryOutcome> {
  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  const attempt = Math.max(1, message.receiveCount);
  const base = { messageId: message.messageId, attempt };

  const parsed = parseQueuedEvent(message.body);
  if (!parsed.ok) {
    // It can never succeed: straight to the DLQ, whatever the attempt.
    return deadLetter(message, deps, telemetry, `unparseable message: ${parsed.error}`, base);
  }
  const event = parsed.event;
  const attributes = {
    ...base,
    eventId: event.eventId,
    instanceId: event.instanceId,
    storeId: event.storeId,
    source: event.source,
    objectType: event.objectType,
    objectId: event.objectId,
    eventType: event.eventType,
  };

  let secrets: string[] = [];
  let failure: Failure;
  try {
    const instance = await deps.instances.get(event.instanceId);
    const unavailable = instanceUnavailable(instance, event);
    if (unavailable) {
      telemetry.count(DELIVER_METRICS.droppedInstanceUnavailable);
      telemetry.log('warn', `dropped: ${unavailable.detail}`, { ...attributes, reason: unavailable.reason });
      return { status: 'dropped', ...unavailable };
    }
    const live = instance as Instance;
    secrets = secretValuesOf(live);

    const prepared = await prepareCallbackRaw(event, live, deps.ecwid);
    if (prepared.kind === 'forged') {
      telemetry.count(DELIVER_METRICS.droppedForged);
      telemetry.log('warn', 'dropped as forged', { ...attributes, reason: prepared.reason });
      return { status: 'dropped', reason: 'forged', detail: prepared.reason };
    }
    if (prepared.note) telemetry.log('info', prepared.note, attributes);

    const sent = await send(event, live, prepared.raw, deps);
    if (sent.ok) {
      const latencyMs = Math.max(0, deps.clock().getTime() - Date.parse(event.receivedAt));
      telemetry.count(DELIVER_METRICS.succeeded);
      telemetry.milliseconds?.(DELIVER_METRICS.latency, latencyMs);
      telemetry.log('debug', 'delivered', { ...attributes, httpStatus: sent.status, latencyMs });
      return { status: 'delivered', httpStatus: sent.status, latencyMs };
    }
    failure = sent;
  } catch (error) {
    failure = {
      error: errorText(error),
      retryAfterSeconds: typeof error === 'object' && error !== null ? (error as { retryAfterSeconds?: number }).retryAfterSeconds : undefined,
      permanent: error instanceof VerificationUnavailableError,
    };
  }

  const error = redact(failure.error, secrets);
  telemetry.count(DELIVER_METRICS.failed);
  if (failure.permanent || isLastAttempt(deps.retryPolicy, attempt)) {
    return deadLetter(message, deps, telemetry, error, attributes);
  }
  const delaySeconds = backoffSeconds(deps.retryPolicy, attempt, failure.retryAfterSeconds);
  try {
    await deps.retries.retryLater(message, delaySeconds);
  } catch (scheduleError) {
    // The message still comes back, after the queue's visibility timeout instead of the backoff.
    telemetry.log('error', 'could not schedule the retry', { ...attributes, error: errorText(scheduleError) });
  }
  telemetry.count(DELIVER_METRICS.retried);
  telemetry.log('warn', 'delivery failed; retry scheduled', { ...attributes, error, delaySeconds });
  return { status: 'retry-scheduled', delaySeconds, error };
}

type SendResult = { readonly ok: true; readonly status: number } | ({ readonly ok: false } & Failure);

async function send(event: QueuedEvent, instance: Instance, raw: Record<string, unknown>, deps: DeliverDeps): Promise<SendResult> {
  const config = configOf(instance);
  const callbackUrl = config.callbackUrl;
  if (!callbackUrl) return { ok: false, error: `instance has no ${CONFIG_KEYS.callbackUrl}`, permanent: true };
  const check = await checkCallbackUrl(callbackUrl, deps.urlPolicy, deps.resolveHost);
  // A host that does not resolve may be a DNS hiccup: retried. Anything else refused is the URL itself.
  if (!check.ok) return { ok: false, error: `callback URL refused: ${check.reason}`, permanent: check.transient !== true };

  const body = serializeCallbackBody(buildCallbackBody(event, instance, raw));
  const headers = signatureHeaders({
    deliveryId: deliveryId(event),
    body,
    signatureKey: config.signatureKey,
    webhookSecrets: config.webhookSecrets.length > 0 ? config.webhookSecrets.join(' ') : undefined,
    now: deps.clock(),
  });
  const result = await deps.sender.send({ target: check, body, headers });
  if (result.ok) return { ok: true, status: result.status };
  return { ok: false, error: result.error, retryAfterSeconds: result.retryAfterSeconds };
}

async function deadLetter(
  message: QueueMessage,
  deps: DeliverDeps,
  telemetry: Telemetry,
  error: string,
  attributes: Readonly<Record<string, unknown>> & { instanceId?: string; eventId?: string },
): Promise<DeliveryOutcome> {
  const details: DeadLetterDetails = {
    lastError: error,
    attempts: Math.max(1, message.receiveCount),
    firstReceivedAt: message.firstReceivedAt,
    lastAttemptAt: deps.clock().toISOString(),
    instanceId: attributes.instanceId,
    eventId: attributes.eventId,
  };
  // Throws when the DLQ is unreachable: the record then fails and SQS keeps the message.
  await deps.retries.deadLetter(message, details);
  telemetry.count(DELIVER_METRICS.deadLettered);
  telemetry.log('error', 'dead-lettered', { ...attributes, error });
  return { status: 'dead-lettered', error };
}

function instanceUnavailable(
  instance: Instance | undefined,
  event: QueuedEvent,
): { reason: DropReason; detail: string } | undefined {
  if (!instance) return { reason: 'instance-deleted', detail: `instance ${event.instanceId} no longer exists` };
  const config = configOf(instance);
  if (!config.notificationsEnabled) {
    return { reason: 'instance-disabled', detail: `instance ${event.instanceId} has notifications disabled` };
  }
  const configured = config.storeId;
  if (configured !== undefined && canonicalOrSelf(configured) !== canonicalOrSelf(event.storeId)) {
    return {
      reason: 'instance-store-changed',
      detail: `instance ${event.instanceId} now belongs to store ${configured}, not ${event.storeId}`,
    };
  }
  return undefined;
}

function canonicalOrSelf(storeId: string): string {
  try {
    return canonicalStoreId(storeId, CONFIG_KEYS.storeId);
  } catch {
    return storeId;
  }
}

/** `secrets`: the instance's (secretValuesOf in instance.ts). */
export function redact(text: string, secrets: readonly string[]): string {
  return scrubSecrets(redactSecretQueryParams(text), secrets);
}

// ---- message parsing ---------------------------------------------------------------------------

const SOURCES: readonly EventSource[] = ['ion', 'webhook', 'poll'];
const EVENT_TYPES: readonly NormalizedEventType[] = ['CREATED', 'UPDATED', 'DELETED', 'UNKNOWN'];
const REQUIRED_STRINGS = ['eventId', 'instanceId', 'storeId', 'objectType', 'objectId', 'ecwidEventType', 'receivedAt'] as const;

/** Validates a queue message body as a QueuedEvent, listing every problem. */
export function parseQueuedEvent(body: string): { ok: true; event: QueuedEvent } | { ok: false; error: string } {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, error: 'body is not JSON' };
  }
  if (!isJsonObject(value)) return { ok: false, error: 'body is not a JSON object' };
  const candidate = value;
  const problems: string[] = [];
  if (candidate.v !== 1) problems.push(`unsupported schema version ${JSON.stringify(candidate.v)}`);
  for (const field of REQUIRED_STRINGS) {
    if (typeof candidate[field] !== 'string' || candidate[field] === '') problems.push(`${field} must be a non-empty string`);
  }
  if (!SOURCES.includes(candidate.source as EventSource)) problems.push(`source must be one of ${SOURCES.join(', ')}`);
  if (!EVENT_TYPES.includes(candidate.eventType as NormalizedEventType)) {
    problems.push(`eventType must be one of ${EVENT_TYPES.join(', ')}`);
  }
  if (typeof candidate.receivedAt === 'string' && Number.isNaN(Date.parse(candidate.receivedAt))) {
    problems.push('receivedAt must be an ISO 8601 time');
  }
  if (candidate.occurredAt !== undefined && typeof candidate.occurredAt !== 'string') problems.push('occurredAt must be a string');
  if (typeof candidate.verified !== 'boolean') problems.push('verified must be a boolean');
  if (!isJsonObject(candidate.raw)) problems.push('raw must be an object');
  if (problems.length > 0) return { ok: false, error: problems.join('; ') };
  return { ok: true, event: candidate as unknown as QueuedEvent };
}
