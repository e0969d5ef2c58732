/**
 * The deliver use case: one ticket in (a queue message saying "this event is due now"), one
 * outcome out. Pure apart from the ports.
 *
 * The ledger decides (core/ledger-flow.ts's handleTicket): whether the event may be attempted now
 * (not final, not waiting for its backoff, no earlier event of its object unfinished), and it
 * counts the attempt before it is made, never from the queue's receive count. This module makes
 * the attempt itself: load the instance, verify/enrich through the Ecwid API, check the callback
 * URL (SSRF), sign, POST; and reports it as the ledger records it (time, duration, HTTP status or
 * error class, a redacted excerpt of the answer). A failed attempt is not held on the queue: the
 * ledger says when it is due again and the sweep sends its next ticket, so every ticket is done
 * once handled. Dropped events (forged, instance gone or disabled) are never retried; permanent
 * failures (callback URL refused, keys missing to verify) are dead-lettered at once.
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
import { attemptsInRound, type AttemptResult, type LedgerEntry, type LedgerTiming } from './ledger';
import { openReceiverGate, type ReceiverGateDeps } from './receiver-gate';
import { handleTicket, type AttemptOutcome, type TicketOutcome, type TicketQueue } from './ledger-flow';
import type { Ledger } from './ledger';
import {
  type CallbackSender,
  type Clock,
  type DeadLetterDetails,
  type DeadLetterQueue,
  type EcwidApi,
  errorText,
  type HostResolver,
  type InstanceLookup,
  NO_TELEMETRY,
  type QueueMessage,
  type Telemetry,
} from './ports';
import type { RetryPolicy } from './retry-policy';

export interface DeliverDeps {
  readonly instances: InstanceLookup;
  readonly ecwid: EcwidApi;
  readonly sender: CallbackSender;
  /** Where every event's state and attempts are kept. */
  readonly ledger: Ledger;
  /** The event queue: tickets for the next parked event of an object, when one finishes. */
  readonly tickets: TicketQueue;
  readonly deadLetters: DeadLetterQueue;
  readonly retryPolicy: RetryPolicy;
  /** @default DEFAULT_LEDGER_TIMING */
  readonly ledgerTiming?: LedgerTiming;
  readonly urlPolicy: CallbackUrlPolicy;
  /** DNS for the URL policy's address check (adapters/http/host-resolver.ts). */
  readonly resolveHost: HostResolver;
  readonly clock: Clock;
  readonly telemetry?: Telemetry;
  /**
   * The receivers' side (docs/health.md): event-type filter, health (pause, circuit breaker,
   * disable) and delivery slots, asked before each claim. Absent: every due event is attempted.
   */
  readonly receivers?: ReceiverGateDeps;
}

export type DropReason = 'forged' | 'instance-deleted' | 'instance-disabled' | 'instance-store-changed';

export type DeliveryOutcome =
  | { readonly status: 'delivered'; readonly httpStatus: number; readonly latencyMs: number }
  | { readonly status: 'dropped'; readonly reason: DropReason | 'unparseable'; readonly detail: string }
  /** The attempt failed; the ledger holds the event until `nextAttemptAt` (the sweep sends its ticket). */
  | { readonly status: 'retrying'; readonly attempt: number; readonly nextAttemptAt: string; readonly error: string }
  | { readonly status: 'dead-lettered'; readonly attempts: number; readonly error: string }
  /** An earlier event of its object is unfinished: the ticket is dropped, the event wakes when that one ends. */
  | { readonly status: 'parked'; readonly blockedBy: string }
  /** A stale or duplicate ticket (already final, not yet due, an attempt in progress). */
  | { readonly status: 'skipped'; readonly reason: string }
  /** Its receiver is paused, its circuit open or at its rate limit: held, attempts unused, until its due time. */
  | { readonly status: 'held'; readonly heldBy: string; readonly until: string }
  /** Not a type its instance takes (`event.notification.types`). */
  | { readonly status: 'filtered'; readonly detail: string };

/**
 * Handles one ticket. Throws only when the ledger or the dead-letter queue fails (the ticket must
 * then stay on the queue); every other problem is an outcome, and the ticket is done.
 */
export async function deliverTicket(message: QueueMessage, deps: DeliverDeps): Promise<DeliveryOutcome> {
  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  const parsed = parseQueuedEvent(message.body);
  if (!parsed.ok) {
    // No event, so no ledger entry: it can never succeed, straight to the DLQ, unchanged.
    const error = `unparseable message: ${parsed.error}`;
    await deps.deadLetters.deadLetterMessage(message, {
      lastError: error,
      attempts: 0,
      firstReceivedAt: message.firstReceivedAt,
      lastAttemptAt: deps.clock().toISOString(),
    });
    telemetry.count(DELIVER_METRICS.deadLettered);
    telemetry.log('error', 'dead-lettered', { messageId: message.messageId, error });
    return { status: 'dead-lettered', attempts: 0, error };
  }
  const event = parsed.event;
  const attributes = eventAttributes(event, message);
  // The instance is read now, beside the ledger's reads rather than after them (the gate and the
  // attempt join the read): a cold instance cache costs the record no extra round trips.
  deps.instances.readAhead?.(event.instanceId);
  const outcome = await handleTicket(
    event,
    {
      ledger: deps.ledger,
      tickets: deps.tickets,
      clock: deps.clock,
      timing: deps.ledgerTiming,
      retryPolicy: deps.retryPolicy,
      attempt: (queued) => attemptDelivery(queued, deps, telemetry, attributes),
      ...(deps.receivers ? { gate: gateOf(deps.receivers, deps.instances) } : {}),
      deadLetter: (entry) => deps.deadLetters.deadLetter(entry),
    },
    {
      deadLetteredVersion: message.deadLetteredVersion,
      firstTicket: message.firstTicket,
      receiveCount: message.receiveCount,
      firstReceivedAt: message.firstReceivedAt,
    },
  );
  return report(outcome, event, deps, telemetry, attributes);
}

/** The receiver gate with the instance as deliver reads it (cached: the attempt reads it again for free). */
function gateOf(receivers: ReceiverGateDeps, instances: InstanceLookup) {
  return async (event: QueuedEvent) => openReceiverGate(event, await instances.get(event.instanceId), receivers);
}

/** What the logs say about one ticket: ids only, never the payload. */
function eventAttributes(event: QueuedEvent, message: QueueMessage): Record<string, unknown> {
  return {
    messageId: message.messageId,
    eventId: event.eventId,
    instanceId: event.instanceId,
    storeId: event.storeId,
    source: event.source,
    objectType: event.objectType,
    objectId: event.objectId,
    eventType: event.eventType,
  };
}

function report(
  outcome: TicketOutcome,
  event: QueuedEvent,
  deps: DeliverDeps,
  telemetry: Telemetry,
  attributes: Record<string, unknown>,
): DeliveryOutcome {
  switch (outcome.kind) {
    case 'delivered': {
      const last = outcome.entry.attempts.at(-1);
      const latencyMs = Math.max(0, deps.clock().getTime() - Date.parse(event.receivedAt));
      telemetry.count(DELIVER_METRICS.succeeded);
      telemetry.milliseconds?.(DELIVER_METRICS.latency, latencyMs);
      telemetry.log('debug', 'delivered', { ...attributes, attempt: last?.n, httpStatus: last?.httpStatus, latencyMs });
      return { status: 'delivered', httpStatus: last?.httpStatus ?? 200, latencyMs };
    }
    case 'retrying': {
      const entry = outcome.entry;
      const error = entry.lastError ?? 'unknown error';
      telemetry.count(DELIVER_METRICS.failed);
      telemetry.count(DELIVER_METRICS.retried);
      telemetry.log('warn', 'delivery failed; retry due later', {
        ...attributes,
        attempt: attemptsInRound(entry),
        nextAttemptAt: entry.nextAttemptAt,
        error,
      });
      return { status: 'retrying', attempt: attemptsInRound(entry), nextAttemptAt: entry.nextAttemptAt ?? '', error };
    }
    case 'dead-lettered': {
      const entry = outcome.entry;
      const error = entry.lastError ?? 'unknown error';
      if (entry.attempts.at(-1)?.outcome === 'failed') telemetry.count(DELIVER_METRICS.failed);
      telemetry.count(DELIVER_METRICS.deadLettered);
      telemetry.log('error', 'dead-lettered', { ...attributes, attempts: attemptsInRound(entry), error });
      return { status: 'dead-lettered', attempts: attemptsInRound(entry), error };
    }
    case 'dropped': {
      const reason = outcome.entry.reason as DropReason;
      const detail = outcome.entry.detail ?? '';
      if (reason === 'forged') telemetry.count(DELIVER_METRICS.droppedForged);
      else if ((reason as string) === 'receiver-disabled') telemetry.count(DELIVER_METRICS.droppedReceiverDisabled);
      else telemetry.count(DELIVER_METRICS.droppedInstanceUnavailable);
      telemetry.log('warn', reason === 'forged' ? 'dropped as forged' : `dropped: ${detail}`, { ...attributes, reason, detail });
      return { status: 'dropped', reason, detail };
    }
    case 'parked':
      telemetry.log('debug', 'parked behind an earlier event of the object', { ...attributes, blockedBy: outcome.blockedBy });
      return { status: 'parked', blockedBy: outcome.blockedBy };
    case 'skipped':
      telemetry.log('debug', 'ticket skipped', { ...attributes, reason: outcome.reason });
      return { status: 'skipped', reason: outcome.reason };
    case 'held': {
      const until = outcome.entry.dueAt ?? '';
      telemetry.count(DELIVER_METRICS.held);
      telemetry.log('debug', `held: ${outcome.heldBy}`, { ...attributes, heldBy: outcome.heldBy, until });
      return { status: 'held', heldBy: outcome.heldBy, until };
    }
    case 'filtered': {
      const detail = outcome.entry.detail ?? '';
      telemetry.count(DELIVER_METRICS.filtered);
      telemetry.log('debug', 'filtered', { ...attributes, detail });
      return { status: 'filtered', detail };
    }
  }
}

/** A failed attempt before the answer is redacted: what failed, and whether a retry can help. */
interface Failure {
  readonly errorClass: string;
  readonly error: string;
  readonly httpStatus?: number;
  readonly excerpt?: string;
  readonly retryAfterSeconds?: number;
  readonly permanent?: boolean;
}

/**
 * One attempt, claimed by the ledger: verify, sign, POST. Never throws for a failed delivery;
 * the result is redacted (the instance's secrets, secret query parameters) before the ledger sees it.
 */
export async function attemptDelivery(
  event: QueuedEvent,
  deps: Pick<DeliverDeps, 'instances' | 'ecwid' | 'sender' | 'urlPolicy' | 'resolveHost' | 'clock'>,
  telemetry: Telemetry = NO_TELEMETRY,
  attributes: Readonly<Record<string, unknown>> = {},
): Promise<AttemptOutcome> {
  const startedAt = deps.clock().getTime();
  const elapsed = () => Math.max(0, deps.clock().getTime() - startedAt);
  let secrets: string[] = [];
  let failure: Failure;
  let sendingSince: number | undefined;
  // The callback's own time, without the Ecwid API's: receiver health judges slowness by it.
  const receiverMs = () => (sendingSince === undefined ? {} : { receiverMs: Math.max(0, deps.clock().getTime() - sendingSince) });
  try {
    const instance = await deps.instances.get(event.instanceId);
    const unavailable = instanceUnavailable(instance, event);
    if (unavailable) return { kind: 'dropped', ...unavailable };
    const live = instance as Instance;
    secrets = secretValuesOf(live);

    const prepared = await prepareCallbackRaw(event, live, deps.ecwid);
    if (prepared.kind === 'forged') return { kind: 'dropped', reason: 'forged', detail: prepared.reason };
    if (prepared.note) telemetry.log('info', prepared.note, attributes);

    sendingSince = deps.clock().getTime();
    const sent = await send(event, live, prepared.raw, deps);
    if (sent.ok) {
      const excerpt = sent.excerpt === undefined ? undefined : redact(sent.excerpt, secrets);
      return { kind: 'attempted', result: { ok: true, httpStatus: sent.status, durationMs: elapsed(), ...receiverMs(), ...(excerpt === undefined ? {} : { excerpt }) } };
    }
    failure = sent;
  } catch (error) {
    const missingKeys = error instanceof VerificationUnavailableError || (error as Error | undefined)?.name === 'VerificationUnavailableError';
    failure = {
      errorClass: missingKeys ? 'config' : 'error',
      error: errorText(error),
      permanent: missingKeys,
      retryAfterSeconds: typeof error === 'object' && error !== null ? (error as { retryAfterSeconds?: number }).retryAfterSeconds : undefined,
    };
  }
  const result: AttemptResult = {
    ok: false,
    errorClass: failure.errorClass,
    error: redact(failure.error, secrets),
    durationMs: elapsed(),
    ...receiverMs(),
    ...(failure.httpStatus === undefined ? {} : { httpStatus: failure.httpStatus }),
    ...(failure.excerpt === undefined ? {} : { excerpt: redact(failure.excerpt, secrets) }),
    ...(failure.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: failure.retryAfterSeconds }),
    ...(failure.permanent ? { permanent: true } : {}),
  };
  return { kind: 'attempted', result };
}

type SendResult = { readonly ok: true; readonly status: number; readonly excerpt?: string } | ({ readonly ok: false } & Failure);

async function send(
  event: QueuedEvent,
  instance: Instance,
  raw: Record<string, unknown>,
  deps: Pick<DeliverDeps, 'sender' | 'urlPolicy' | 'resolveHost' | 'clock'>,
): Promise<SendResult> {
  const config = configOf(instance);
  const callbackUrl = config.callbackUrl;
  if (!callbackUrl) return { ok: false, errorClass: 'config', error: `instance has no ${CONFIG_KEYS.callbackUrl}`, permanent: true };
  const check = await checkCallbackUrl(callbackUrl, deps.urlPolicy, deps.resolveHost);
  if (!check.ok) {
    // A host that does not resolve may come back (DNS); any other refusal stays a refusal.
    if (check.transient) return { ok: false, errorClass: 'dns', error: `callback URL refused: ${check.reason}` };
    return { ok: false, errorClass: 'url-refused', error: `callback URL refused: ${check.reason}`, permanent: true };
  }

  const body = serializeCallbackBody(buildCallbackBody(event, instance, raw));
  const headers = signatureHeaders({
    deliveryId: deliveryId(event),
    body,
    signatureKey: config.signatureKey,
    webhookSecrets: config.webhookSecrets.length > 0 ? config.webhookSecrets.join(' ') : undefined,
    now: deps.clock(),
  });
  const result = await deps.sender.send({ target: check, body, headers });
  if (result.ok) return { ok: true, status: result.status, excerpt: result.excerpt };
  return {
    ok: false,
    errorClass: result.errorClass ?? (result.status === undefined ? 'connection' : 'http'),
    error: result.error,
    httpStatus: result.status,
    excerpt: result.excerpt,
    retryAfterSeconds: result.retryAfterSeconds,
  };
}

/** What the dead-letter copy of a dead-lettered entry says about it (no secrets: the ledger's are redacted). */
export function deadLetterDetailsOf(entry: LedgerEntry): DeadLetterDetails {
  return {
    lastError: entry.lastError ?? 'unknown error',
    attempts: attemptsInRound(entry),
    firstReceivedAt: entry.receivedAt,
    lastAttemptAt: entry.attempts.at(-1)?.at ?? entry.statusAt,
    instanceId: entry.instanceId,
    eventId: entry.eventId,
    ledgerVersion: entry.version,
  };
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
