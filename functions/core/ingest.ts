import { DEFAULTS, INGEST_METRICS, INGEST_ROUTE, rejectionMetric, type RejectionReason } from '../contract';
import { parseIonForm } from './ecwid/ion';
import { canonicalStoreId, InvalidNotificationError, type EcwidNotification } from './ecwid/notification';
import { ECWID_SIGNATURE_HEADER, verifyEcwidWebhookSignature } from './ecwid/signature';
import { parseWebhookJson } from './ecwid/webhook';
import type { QueuedEvent } from './event';
import { type ErrorBody, type HttpResult, rejection } from './http-errors';
import { CONFIG_KEYS, configOf, type Instance, INSTANCE_ID_PATTERN } from './instance';
import { normalizeEcwidEvent } from './ecwid/normalize';
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
}

export interface IngestSuccessBody {
  readonly queued: number;
  readonly eventId: string;
  readonly instances: readonly string[];
  /** Present when nothing was queued because every instance is disabled or polling only. */
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

/**
 * Handles one request. Bad input becomes 4xx and port failures 503; only a bug throws.
 */
export async function ingest(request: IngestRequest, deps: IngestDeps): Promise<IngestResult> {
  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  telemetry.count(INGEST_METRICS.received);

  const reject = (
    reason: RejectionReason,
    message: string,
    attributes: Record<string, unknown> = {},
    extra: { field?: string; headers?: Record<string, string> } = {},
  ): IngestResult => {
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

  // Route. API Gateway only routes POST to the two paths; the local runner forwards anything.
  const route = ROUTE_PATTERN.exec(request.path);
  if (!route) return reject('RouteNotFound', `no such route: ${request.path}`);
  if (request.method.toUpperCase() !== 'POST') {
    return reject('MethodNotAllowed', `method ${request.method} not allowed; use POST`, {}, { headers: { allow: 'POST' } });
  }
  const routeInstanceId = request.instanceId ?? (route[1] === undefined ? undefined : decodePathSegment(route[1]));

  // Body: size on the decoded bytes, format from the content type.
  const maxBodyBytes = deps.maxBodyBytes ?? DEFAULTS.maxBodyBytes;
  if (request.body.byteLength > maxBodyBytes) {
    return reject('TooLarge', `request body is ${request.body.byteLength} bytes; the limit is ${maxBodyBytes}`);
  }
  const mediaType = mediaTypeOf(headerValue(request.headers, 'content-type'));
  const parse = mediaType === undefined ? undefined : PARSERS[mediaType];
  if (!parse) {
    return reject(
      'UnsupportedMediaType',
      `content type ${mediaType ?? '(none)'} is not supported; use application/json (webhooks) or application/x-www-form-urlencoded (ION)`,
    );
  }
  let notification: EcwidNotification;
  try {
    // A view on the body's bytes, not a copy (Buffer.from(Uint8Array) would copy them).
    notification = parse(Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8'));
  } catch (error) {
    if (error instanceof InvalidNotificationError) {
      return reject('Malformed', error.message, { field: error.field }, { field: error.field });
    }
    throw error;
  }
  const { eventId, storeId } = notification;
  const eventAttributes = { eventId, storeId, ecwidEventType: notification.eventType, source: notification.source };

  // Targets: the instance named in the path, or every instance of the store (fan-out).
  let targets: Instance[];
  try {
    if (routeInstanceId !== undefined) {
      const instance = INSTANCE_ID_PATTERN.test(routeInstanceId)
        ? await deps.instances.get(routeInstanceId)
        : undefined;
      if (!instance) {
        return reject('UnknownInstance', `unknown instance ${JSON.stringify(routeInstanceId)}`, {
          ...eventAttributes,
          instanceId: routeInstanceId,
        });
      }
      if (!belongsToStore(instance, storeId)) {
        return reject('StoreMismatch', `the event is for store ${storeId}, which is not the store of instance ${instance.id}`, {
          ...eventAttributes,
          instanceId: instance.id,
        });
      }
      targets = [instance];
    } else {
      targets = [];
      const seen = new Set<string>();
      for (const instance of await deps.instances.findByStore(storeId)) {
        if (seen.has(instance.id)) continue;
        seen.add(instance.id);
        // The store index is written separately from the instances: trust the instance itself.
        if (belongsToStore(instance, storeId)) targets.push(instance);
        else telemetry.log('warn', 'store index lists an instance of another store; skipped', { ...eventAttributes, instanceId: instance.id });
      }
      if (targets.length === 0) {
        return reject('UnknownStore', `no instance is configured for store ${storeId}`, eventAttributes);
      }
    }
  } catch (error) {
    return reject('Unavailable', 'instance configuration is unavailable; retry later', { ...eventAttributes, error: errorText(error) });
  }

  // Instances that take no webhooks first: switched off, or polling only (the poller is their
  // source). A store with none left is answered 200, so Ecwid neither retries nor blocks the
  // app, whatever the signature.
  const handling = new Map<string, WebhookHandling>();
  let pollingOnly = 0;
  const enabled = targets.filter((instance) => {
    if (!configOf(instance).notificationsEnabled) {
      telemetry.count(INGEST_METRICS.droppedDisabled);
      telemetry.log('info', 'not queued: event notifications are disabled for this instance', {
        ...eventAttributes,
        instanceId: instance.id,
      });
      return false;
    }
    const how = webhookHandlingOf(instance.document);
    if (how === 'skip') {
      pollingOnly += 1;
      telemetry.count(INGEST_METRICS.droppedPollingOnly);
      telemetry.log('info', `not queued: this instance is polling only (${CONFIG_KEYS.vendorType} = polling)`, {
        ...eventAttributes,
        instanceId: instance.id,
      });
      return false;
    }
    handling.set(instance.id, how);
    return true;
  });
  if (enabled.length === 0) {
    const why =
      pollingOnly === 0
        ? 'event notifications are disabled for every instance of this store'
        : pollingOnly === targets.length
          ? `every instance of this store is polling only (${CONFIG_KEYS.vendorType} = polling)`
          : 'every instance of this store is disabled or polling only';
    return { status: 200, body: { queued: 0, eventId, instances: [], message: `not queued: ${why}` } };
  }

  // Webhooks: each instance checks the signature with its own app client_secret. One that does
  // not verify is left out (it belongs to another app, or its secret is wrong); none -> 401.
  let recipients = enabled;
  if (notification.source === 'webhook') {
    const webhook = notification;
    const signature = headerValue(request.headers, ECWID_SIGNATURE_HEADER);
    if (!signature) {
      return reject('BadSignature', 'missing X-Ecwid-Webhook-Signature header', eventAttributes);
    }
    recipients = enabled.filter((instance) => {
      const secret = configOf(instance).clientSecret;
      if (verifyEcwidWebhookSignature(signature, secret, webhook.eventCreated, eventId)) return true;
      telemetry.count(INGEST_METRICS.excludedBadSignature);
      telemetry.log('warn', 'signature does not verify for this instance; not queued for it', {
        ...eventAttributes,
        instanceId: instance.id,
        cause: secret ? 'signature mismatch' : `${CONFIG_KEYS.clientSecret} is not configured`,
      });
      return false;
    });
    if (recipients.length === 0) {
      return reject('BadSignature', 'X-Ecwid-Webhook-Signature does not verify', eventAttributes);
    }
  }

  const normalized = normalizeEcwidEvent(notification);
  const receivedAt = deps.clock().toISOString();
  const events: QueuedEvent[] = recipients.map((instance) => ({
    v: 1,
    ...normalized,
    eventId,
    instanceId: instance.id,
    storeId,
    source: notification.source,
    ecwidEventType: notification.eventType,
    ...(notification.occurredAt === undefined ? {} : { occurredAt: notification.occurredAt }),
    receivedAt,
    // ION posts carry no signature: deliver verifies them by fetching the order.
    verified: notification.source === 'webhook',
    raw: notification.raw,
  }));

  try {
    await deps.queue.enqueue(events);
  } catch (error) {
    return reject('Unavailable', 'the event could not be queued; retry later', {
      ...eventAttributes,
      instanceIds: recipients.map((instance) => instance.id),
      error: errorText(error),
    });
  }

  telemetry.count(INGEST_METRICS.queued, events.length);
  if (deps.sightings) {
    const reconciling = events.filter((event) => handling.get(event.instanceId) === 'queue-and-sight');
    await recordSightings(deps.sightings, reconciling, telemetry, eventAttributes);
  }
  for (const event of events) {
    telemetry.log('info', 'queued', {
      ...eventAttributes,
      instanceId: event.instanceId,
      objectType: event.objectType,
      objectId: event.objectId,
      eventType: event.eventType,
    });
  }
  return { status: 200, body: { queued: events.length, eventId, instances: events.map((event) => event.instanceId) } };
}

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
