import { DEFAULTS, INGEST_METRICS, INGEST_ROUTE, LEDGER_RESERVED_ID_PREFIX, rejectionMetric, type RejectionReason } from '../contract';
import { parseIonForm } from './ecwid/ion';
import { canonicalStoreId, InvalidNotificationError, type EcwidNotification, type WebhookNotification } from './ecwid/notification';
import { ECWID_SIGNATURE_HEADER, verifyEcwidWebhookSignature } from './ecwid/signature';
import { parseWebhookJson } from './ecwid/webhook';
import type { QueuedEvent } from './event';
import { type ErrorBody, type HttpResult, rejection } from './http-errors';
import { acceptsIon, CONFIG_KEYS, configOf, type Instance, INSTANCE_ID_PATTERN } from './instance';
import { normalizeEcwidEvent } from './ecwid/normalize';
import type { DropReason, FilterReason, Ledger, LedgerEntry, LedgerTiming } from './ledger';
import { admit, recordNotQueued, type TicketQueue } from './ledger-flow';
import { webhookHandlingOf, type WebhookHandling } from './poll/settings';
import { type Clock, errorText, type EventQueue, type InstanceLookup, NO_TELEMETRY, type Telemetry } from './ports';
import { type SightingLog, sightingsOf } from './sightings';

/**
 * The ingest use case: one HTTP request from Ecwid in, one answer out, and — only when the
 * answer is 2xx — every resulting message accepted by the queue. Pure apart from the ports.
 */

/** One HTTP request, already decoded from the Lambda event by the handler. */
export interface IngestRequest {
  readonly method: string;
  /** Request path without any API Gateway stage prefix, e.g. `/events/ecwid/shop-a`. */
  readonly path: string;
  /** The `{instanceId}` path parameter when API Gateway matched that route (decoded). */
  readonly instanceId?: string;
  /** Header names in any case (API Gateway v2 lower-cases them). */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The decoded body bytes (base64 already undone). */
  readonly body: Uint8Array;
}

export interface IngestDeps {
  readonly instances: InstanceLookup;
  readonly queue: EventQueue;
  readonly clock: Clock;
  readonly telemetry?: Telemetry;
  /**
   * Where the webhook sightings of instances in reconciliation mode go (core/sightings.ts),
   * after their events were queued, best effort. Instances without reconciliation cost nothing.
   * @default none: nothing is recorded
   */
  readonly sightings?: SightingLog;
  /** @default DEFAULTS.maxBodyBytes (64 KiB) */
  readonly maxBodyBytes?: number;
  /**
   * The event ledger: each event is recorded before it is queued (core/ledger-flow.ts `admit`), so
   * a repeat within the retention is answered 2xx as a duplicate and not queued again, and a
   * fan-out that failed half-way resumes on Ecwid's retry. Events for a disabled or polling-only
   * instance are recorded as dropped / filtered.
   * @default none: events are queued without a record (only the queue's 5-minute window dedupes)
   */
  readonly ledger?: Ledger;
  /** @default DEFAULT_LEDGER_TIMING */
  readonly ledgerTiming?: LedgerTiming;
  /**
   * Webhooks whose `eventCreated` is more than this many seconds old (or more than
   * DEFAULTS.webhookMaxFutureSeconds ahead) are answered 200 and not queued: Ecwid signs only
   * `{eventCreated}.{eventId}`, so an old signature must not open the door to any body.
   * The Lambda and the local runner always set it (DEFAULTS.webhookMaxAgeSeconds, 48 h).
   * @default no window (tests of other rules built on old fixtures)
   */
  readonly webhookMaxAgeSeconds?: number;
}

export interface IngestSuccessBody {
  readonly queued: number;
  readonly eventId: string;
  /** Instances for which the ledger already held this event (not queued again). Absent when none. */
  readonly duplicates?: number;
  /** True when every copy was a duplicate: nothing was queued by this request. */
  readonly duplicate?: true;
  /**
   * Why nothing was queued: a duplicate, or (per-instance route only) the instance does not take
   * it. Never on the shared URL's other 200s, which must not tell a caller about the store.
   */
  readonly message?: string;
}

export type IngestResult = HttpResult<IngestSuccessBody | ErrorBody>;

/**
 * INGEST_ROUTE (`/events/ecwid`) or INGEST_ROUTE/{instanceId}, matched at the end of the path so
 * that a stage name or custom-domain base path in front of it does not matter. (The route is
 * letters and slashes only: nothing in it needs escaping.)
 */
const ROUTE_PATTERN = new RegExp(`(?:^|/)${INGEST_ROUTE.slice(1)}(?:/([^/]+))?/?$`);

type Parser = (body: string) => EcwidNotification;

/** The content type alone decides the format: Ecwid's `?eventtype=` query is ignored. */
const PARSERS: Readonly<Record<string, Parser>> = {
  'application/x-www-form-urlencoded': parseIonForm,
  'application/json': parseWebhookJson,
};

/** The answer so far: the value a step produced, or the answer that ends the request. */
type Step<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly result: IngestResult };
const next = <T>(value: T): Step<T> => ({ ok: true, value });
const stop = (result: IngestResult): Step<never> => ({ ok: false, result });

type Reject = (
  reason: RejectionReason,
  message: string,
  attributes?: Readonly<Record<string, unknown>>,
  extra?: { field?: string; headers?: Record<string, string> },
) => IngestResult;

/** What the steps after parsing share: the notification, its log attributes, the telemetry. */
interface Received {
  readonly notification: EcwidNotification;
  /** eventId, storeId, ecwidEventType and source: on every log line about it. */
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly telemetry: Telemetry;
  readonly reject: Reject;
  /**
   * Posted to the per-instance route: the caller named the instance, so a 200 that queues nothing
   * may say why. On the shared URL it never does (nor which instances took it): the answer must
   * not tell an unauthenticated caller which stores are customers.
   */
  readonly named: boolean;
}

/**
 * Handles one request. Bad input becomes 4xx and port failures 503; only a bug throws.
 * Route, body, targets, which of them take webhooks, signatures, then the queue.
 */
export async function ingest(request: IngestRequest, deps: IngestDeps): Promise<IngestResult> {
  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  telemetry.count(INGEST_METRICS.received);
  const reject = rejecter(telemetry);

  const route = routeOf(request, reject);
  if (!route.ok) return route.result;
  const parsed = parseBody(request, deps.maxBodyBytes ?? DEFAULTS.maxBodyBytes, reject);
  if (!parsed.ok) return parsed.result;
  const notification = parsed.value;
  const { eventId, storeId } = notification;
  const attributes = { eventId, storeId, ecwidEventType: notification.eventType, source: notification.source };
  const received: Received = { notification, attributes, telemetry, reject, named: route.value.instanceId !== undefined };
  // Cheap checks first: a stale webhook costs no instance lookup.
  const stale = staleness(notification, deps.clock(), deps.webhookMaxAgeSeconds);
  if (stale !== undefined) return dropped(received, INGEST_METRICS.droppedStale, stale);

  const targets = await findTargets(route.value.instanceId, received, deps.instances);
  if (!targets.ok) return targets.result;
  const notTaking: NotTaking[] = [];
  const accepting = instancesTakingWebhooks(targets.value, received, notTaking);
  await recordNotTaking(notTaking, request.headers, received, deps);
  if (!accepting.ok) return accepting.result;
  const recipients = verifiedRecipients(accepting.value.instances, request.headers, received);
  if (!recipients.ok) return recipients.result;
  const events = queuedEvents(notification, recipients.value, deps.clock());
  return enqueue(events, accepting.value.handling, received, deps);
}

/** Why a webhook is outside the freshness window, or undefined when it is inside (or there is none). */
function staleness(notification: EcwidNotification, now: Date, maxAgeSeconds: number | undefined): string | undefined {
  if (notification.source !== 'webhook' || maxAgeSeconds === undefined) return undefined;
  const ageSeconds = Math.floor(now.getTime() / 1000) - notification.eventCreated;
  if (ageSeconds > maxAgeSeconds) return `eventCreated is ${Math.round(ageSeconds / 3600)} h old; webhooks older than ${Math.round(maxAgeSeconds / 3600)} h are not taken`;
  if (-ageSeconds > DEFAULTS.webhookMaxFutureSeconds) return `eventCreated is ${-ageSeconds} s in the future`;
  return undefined;
}

/**
 * A 200 that queues nothing: for what a retry by Ecwid cannot fix. Logged and counted (the
 * metric names why); the answer is the same whatever the store, so it tells a caller nothing.
 */
function dropped(received: Received, metric: string, why: string, attributes: Readonly<Record<string, unknown>> = {}): IngestResult {
  received.telemetry.count(metric);
  received.telemetry.log('warn', `not queued: ${why}`, { ...received.attributes, ...attributes });
  return notQueued(received, why);
}

/** The 200 that queues nothing; the reason only on the per-instance route (see Received.named). */
function notQueued(received: Received, why: string): IngestResult {
  const body: IngestSuccessBody = { queued: 0, eventId: received.notification.eventId };
  return { status: 200, body: received.named ? { ...body, message: `not queued: ${why}` } : body };
}

/** Counts and logs a rejection, and makes its answer. */
function rejecter(telemetry: Telemetry): Reject {
  return (reason, message, attributes = {}, extra = {}) => {
    const result = rejection(reason, message, extra);
    telemetry.count(INGEST_METRICS.rejected);
    telemetry.count(rejectionMetric(reason));
    telemetry.log(reason === 'Unavailable' ? 'error' : 'warn', `rejected: ${message}`, {
      ...attributes,
      status: result.status,
      reason,
    });
    return result;
  };
}

/** The route and method. API Gateway only routes POST to the two paths; the local runner forwards anything. */
function routeOf(request: IngestRequest, reject: Reject): Step<{ readonly instanceId?: string }> {
  const route = ROUTE_PATTERN.exec(request.path);
  if (!route) return stop(reject('RouteNotFound', `no such route: ${request.path}`));
  if (request.method.toUpperCase() !== 'POST') {
    return stop(reject('MethodNotAllowed', `method ${request.method} not allowed; use POST`, {}, { headers: { allow: 'POST' } }));
  }
  return next({ instanceId: request.instanceId ?? (route[1] === undefined ? undefined : decodePathSegment(route[1])) });
}

/** The notification in the body: size on the decoded bytes, format from the content type. */
function parseBody(request: IngestRequest, maxBodyBytes: number, reject: Reject): Step<EcwidNotification> {
  if (request.body.byteLength > maxBodyBytes) {
    return stop(reject('TooLarge', `request body is ${request.body.byteLength} bytes; the limit is ${maxBodyBytes}`));
  }
  const mediaType = mediaTypeOf(headerValue(request.headers, 'content-type'));
  const parse = mediaType !== undefined && Object.hasOwn(PARSERS, mediaType) ? PARSERS[mediaType] : undefined;
  if (!parse) {
    return stop(
      reject(
        'UnsupportedMediaType',
        `content type ${mediaType ?? '(none)'} is not supported; use application/json (webhooks) or application/x-www-form-urlencoded (ION)`,
      ),
    );
  }
  try {
    // A view on the body's bytes, not a copy (Buffer.from(Uint8Array) would copy them).
    const notification = parse(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8'));
    if (notification.eventId.startsWith(LEDGER_RESERVED_ID_PREFIX)) {
      // The ledger table keeps its own items under these ids (the receiver health item).
      const message = `eventId must not start with "${LEDGER_RESERVED_ID_PREFIX}" (reserved)`;
      return stop(reject('Malformed', message, { field: 'eventId' }, { field: 'eventId' }));
    }
    return next(notification);
  } catch (error) {
    if (error instanceof InvalidNotificationError) {
      return stop(reject('Malformed', error.message, { field: error.field }, { field: error.field }));
    }
    throw error;
  }
}

/** The instance named in the path, or every instance of the store (fan-out). */
async function findTargets(routeInstanceId: string | undefined, received: Received, instances: InstanceLookup): Promise<Step<Instance[]>> {
  const { attributes, reject } = received;
  try {
    return routeInstanceId === undefined
      ? await storeInstances(received, instances)
      : await namedInstance(routeInstanceId, received, instances);
  } catch (error) {
    return stop(reject('Unavailable', 'instance configuration is unavailable; retry later', { ...attributes, error: errorText(error) }));
  }
}

async function namedInstance(instanceId: string, received: Received, instances: InstanceLookup): Promise<Step<Instance[]>> {
  const { attributes, reject, notification } = received;
  const instance = INSTANCE_ID_PATTERN.test(instanceId) ? await instances.get(instanceId) : undefined;
  if (!instance) {
    return stop(reject('UnknownInstance', `unknown instance ${JSON.stringify(instanceId)}`, { ...attributes, instanceId }));
  }
  if (!belongsToStore(instance, notification.storeId)) {
    return stop(
      reject('StoreMismatch', `the event is for store ${notification.storeId}, which is not the store of instance ${instance.id}`, {
        ...attributes,
        instanceId: instance.id,
      }),
    );
  }
  return next([instance]);
}

async function storeInstances(received: Received, instances: InstanceLookup): Promise<Step<Instance[]>> {
  const { attributes, telemetry, notification } = received;
  const targets: Instance[] = [];
  const seen = new Set<string>();
  for (const instance of await instances.findByStore(notification.storeId)) {
    if (seen.has(instance.id)) continue;
    seen.add(instance.id);
    // The store index is written separately from the instances: trust the instance itself.
    if (belongsToStore(instance, notification.storeId)) targets.push(instance);
    else telemetry.log('warn', 'store index lists an instance of another store; skipped', { ...attributes, instanceId: instance.id });
  }
  // 200, not 404: an uninstalled store's events would make Ecwid retry (and block the app's
  // webhooks for every store), and the answer must match a bad signature's (no customer list).
  if (targets.length === 0) return stop(dropped(received, INGEST_METRICS.droppedUnknownStore, `no instance is configured for store ${notification.storeId}`));
  return next(targets);
}

/**
 * The targets that take webhooks, and how: not switched off, not polling only (the poller is
 * their source). A store with none left is answered 200, so Ecwid neither retries nor blocks the
 * app, whatever the signature.
 */
function instancesTakingWebhooks(
  targets: readonly Instance[],
  received: Received,
  notTaking: NotTaking[],
): Step<{ readonly instances: Instance[]; readonly handling: ReadonlyMap<string, WebhookHandling> }> {
  const { attributes, telemetry } = received;
  const handling = new Map<string, WebhookHandling>();
  let pollingOnly = 0;
  let ionRefused = 0;
  const instances = targets.filter((instance) => {
    const config = configOf(instance);
    if (!config.notificationsEnabled) {
      telemetry.count(INGEST_METRICS.droppedDisabled);
      telemetry.log('info', 'not queued: event notifications are disabled for this instance', { ...attributes, instanceId: instance.id });
      notTaking.push({ instance, outcome: { status: 'dropped', reason: 'instance-disabled', detail: 'event notifications are disabled for this instance' } });
      return false;
    }
    if (received.notification.source === 'ion' && !acceptsIon(config)) {
      // Unsigned: only instances set up for ION take it, so a forged post cannot reach the others.
      ionRefused += 1;
      telemetry.count(INGEST_METRICS.droppedIonRefused);
      telemetry.log('warn', `not queued: this instance does not take ION posts (${CONFIG_KEYS.orderKey} or ${CONFIG_KEYS.ionEnabled})`, {
        ...attributes,
        instanceId: instance.id,
      });
      return false;
    }
    const how = webhookHandlingOf(instance.document);
    if (how === 'skip') {
      pollingOnly += 1;
      telemetry.count(INGEST_METRICS.droppedPollingOnly);
      const detail = `this instance is polling only (${CONFIG_KEYS.vendorType} = polling)`;
      telemetry.log('info', `not queued: ${detail}`, { ...attributes, instanceId: instance.id });
      notTaking.push({ instance, outcome: { status: 'filtered', reason: 'polling-only', detail } });
      return false;
    }
    handling.set(instance.id, how);
    return true;
  });
  if (instances.length > 0) return next({ instances, handling });
  const why =
    ionRefused === targets.length
      ? 'no instance of this store takes ION posts'
      : ionRefused > 0
        ? 'every instance of this store is disabled, polling only or does not take ION posts'
        : pollingOnly === 0
          ? 'event notifications are disabled for every instance of this store'
          : pollingOnly === targets.length
            ? `every instance of this store is polling only (${CONFIG_KEYS.vendorType} = polling)`
            : 'every instance of this store is disabled or polling only';
  return stop(notQueued(received, why));
}

/**
 * Webhooks: each instance checks the signature with its own app client_secret. One that does not
 * verify is left out (it belongs to another app, or its secret is wrong); none -> 401. ION posts
 * carry no signature: every instance receives them (deliver verifies them through the order).
 */
function verifiedRecipients(instances: Instance[], headers: IngestRequest['headers'], received: Received): Step<Instance[]> {
  const { notification, attributes, telemetry } = received;
  if (notification.source !== 'webhook') return next(instances);
  const signature = headerValue(headers, ECWID_SIGNATURE_HEADER);
  // 200 that queues nothing, as for an unknown store: a retry by Ecwid cannot fix a signature, and
  // a 401 would tell the caller the store is a customer. Counted and alarmed (a rotated secret).
  if (!signature) return stop(dropped(received, INGEST_METRICS.droppedBadSignature, 'missing X-Ecwid-Webhook-Signature header'));
  const recipients = instances.filter((instance) => {
    const secret = configOf(instance).clientSecrets.length > 0;
    if (signatureVerifies(instance, signature, notification)) return true;
    telemetry.count(INGEST_METRICS.excludedBadSignature);
    telemetry.log('warn', 'signature does not verify for this instance; not queued for it', {
      ...attributes,
      instanceId: instance.id,
      cause: secret ? 'signature mismatch' : `${CONFIG_KEYS.clientSecret} is not configured`,
    });
    return false;
  });
  if (recipients.length === 0) return stop(dropped(received, INGEST_METRICS.droppedBadSignature, 'X-Ecwid-Webhook-Signature does not verify'));
  return next(recipients);
}

/** The current or, during a rotation, the previous client secret (CONFIG_KEYS.clientSecretPrevious). */
function signatureVerifies(instance: Instance, signature: string, notification: WebhookNotification): boolean {
  return configOf(instance).clientSecrets.some((secret) =>
    verifyEcwidWebhookSignature(signature, secret, notification.eventCreated, notification.eventId),
  );
}

/** An instance that does not take this event, and what the ledger records about it. */
interface NotTaking {
  readonly instance: Instance;
  readonly outcome:
    | { readonly status: 'dropped'; readonly reason: DropReason; readonly detail: string }
    | { readonly status: 'filtered'; readonly reason: FilterReason; readonly detail: string };
}

/**
 * Records the events not queued for disabled or polling-only instances (final at once, with the
 * reason), so the ledger says why nothing was delivered. Only what could be genuine for that
 * instance (anyone could post the rest): a webhook that verifies with its secret, an ION post for an
 * instance set up for ION (deliver would verify it; here nothing else can).
 * Best effort: the answer does not depend on it (a retry could not get the event delivered anyway).
 */
async function recordNotTaking(
  notTaking: readonly NotTaking[],
  headers: IngestRequest['headers'],
  received: Received,
  deps: IngestDeps,
): Promise<void> {
  const { ledger } = deps;
  if (!ledger || notTaking.length === 0) return;
  const { notification, attributes, telemetry } = received;
  const signature = headerValue(headers, ECWID_SIGNATURE_HEADER);
  const genuine = notTaking.filter(({ instance }) =>
    notification.source === 'webhook'
      ? signature !== undefined && signatureVerifies(instance, signature, notification)
      : acceptsIon(configOf(instance)),
  );
  const now = deps.clock();
  await Promise.all(
    genuine.map(async ({ instance, outcome }) => {
      const [event] = queuedEvents(notification, [instance], now);
      try {
        await recordNotQueued(event, outcome, { ledger, clock: deps.clock, timing: deps.ledgerTiming });
      } catch (error) {
        telemetry.count(INGEST_METRICS.notRecorded);
        telemetry.log('warn', `not recorded in the ledger (${outcome.status}: ${outcome.reason})`, {
          ...attributes,
          instanceId: instance.id,
          error: errorText(error),
        });
      }
    }),
  );
}

/** One queued event per recipient, normalized once. */
function queuedEvents(notification: EcwidNotification, recipients: readonly Instance[], now: Date): QueuedEvent[] {
  const normalized = normalizeEcwidEvent(notification);
  const receivedAt = now.toISOString();
  return recipients.map((instance) => ({
    v: 1,
    ...normalized,
    eventId: notification.eventId,
    instanceId: instance.id,
    storeId: notification.storeId,
    source: notification.source,
    ecwidEventType: notification.eventType,
    ...(notification.occurredAt === undefined ? {} : { occurredAt: notification.occurredAt }),
    receivedAt,
    // ION posts carry no signature: deliver verifies them by fetching the order.
    verified: notification.source === 'webhook',
    raw: notification.raw,
  }));
}

/**
 * Queues the events (503 when the ledger or the queue fails), then notes the sightings of
 * reconciling instances. With the ledger, each event is recorded first: only what it did not
 * already hold as queued is queued (a repeat is a duplicate; a half-done fan-out resumes).
 */
async function enqueue(
  events: readonly QueuedEvent[],
  handling: ReadonlyMap<string, WebhookHandling>,
  received: Received,
  deps: IngestDeps,
): Promise<IngestResult> {
  const { attributes, telemetry, reject } = received;
  let queued: readonly QueuedEvent[] = events;
  let duplicates: readonly LedgerEntry[] = [];
  let resumed: ReadonlySet<string> = new Set();
  try {
    if (deps.ledger) {
      const admitted = await admit(events, { ledger: deps.ledger, tickets: ticketsVia(deps.queue), clock: deps.clock, timing: deps.ledgerTiming });
      ({ queued, duplicates } = admitted);
      resumed = new Set(admitted.resumed.map((event) => event.instanceId));
    } else {
      await deps.queue.enqueue(events);
    }
  } catch (error) {
    return reject('Unavailable', `the event could not be ${deps.ledger ? 'recorded or ' : ''}queued; retry later`, {
      ...attributes,
      instanceIds: events.map((event) => event.instanceId),
      error: errorText(error),
    });
  }
  telemetry.count(INGEST_METRICS.queued, queued.length);
  if (duplicates.length > 0) telemetry.count(INGEST_METRICS.duplicates, duplicates.length);
  if (resumed.size > 0) telemetry.count(INGEST_METRICS.resumed, resumed.size);
  for (const entry of duplicates) {
    telemetry.log('info', 'duplicate: this event was already received for this instance; not queued again', {
      ...attributes,
      instanceId: entry.instanceId,
      status: entry.status,
      firstReceivedAt: entry.receivedAt,
    });
  }
  if (deps.sightings) {
    const reconciling = queued.filter((event) => handling.get(event.instanceId) === 'queue-and-sight');
    await recordSightings(deps.sightings, reconciling, telemetry, attributes);
  }
  for (const event of queued) {
    const { instanceId, objectType, objectId, eventType } = event;
    if (resumed.has(instanceId)) {
      telemetry.log('info', 'resumed: queued now (an earlier request recorded it but did not queue it)', { ...attributes, instanceId });
    }
    telemetry.log('debug', 'queued', { ...attributes, instanceId, objectType, objectId, eventType });
  }
  const { eventId } = received.notification;
  const body: IngestSuccessBody = { queued: queued.length, eventId };
  if (duplicates.length === 0) return { status: 200, body };
  if (queued.length > 0) return { status: 200, body: { ...body, duplicates: duplicates.length } };
  return {
    status: 200,
    body: { ...body, duplicates: duplicates.length, duplicate: true, message: 'duplicate: this event was already received; not queued again' },
  };
}

/**
 * Ingest's tickets are each event's first ticket, whose id (`firstTicketId`) is the queue's own
 * deduplication id for the event: sent as the queue has always taken them.
 */
const ticketsVia = (queue: EventQueue): TicketQueue => ({
  send: async (tickets) => {
    // A repeat queues nothing: no call at all.
    if (tickets.length > 0) await queue.enqueue(tickets.map((ticket) => ticket.event));
  },
});

/**
 * Notes the queued webhook events of reconciling instances for the poller. Only after they were
 * queued (a sighting of an event nobody queued would hide a change), and never failing the
 * answer: a lost sighting costs at most one duplicate delivery.
 */
async function recordSightings(
  log: SightingLog,
  events: readonly QueuedEvent[],
  telemetry: Telemetry,
  eventAttributes: Readonly<Record<string, unknown>>,
): Promise<void> {
  const sightings = sightingsOf(events);
  if (sightings.length === 0) return;
  try {
    await log.record(sightings);
  } catch (error) {
    telemetry.count(INGEST_METRICS.sightingsNotRecorded, sightings.length);
    telemetry.log('warn', 'webhook sighting not recorded; a reconciliation poll may deliver this change again', {
      ...eventAttributes,
      instanceIds: [...new Set(sightings.map((sighting) => sighting.instanceId))],
      error: errorText(error),
    });
  }
}

function belongsToStore(instance: Instance, storeId: string): boolean {
  const configured = configOf(instance).storeId;
  if (configured === undefined) return false;
  try {
    return canonicalStoreId(configured, CONFIG_KEYS.storeId) === storeId;
  } catch {
    return false;
  }
}

/** Header lookup by name in any case; the first value when a client repeats it. */
function headerValue(headers: IngestRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/** `Application/JSON; charset=UTF-8` -> `application/json`. */
function mediaTypeOf(contentType: string | undefined): string | undefined {
  const type = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return type ? type : undefined;
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
