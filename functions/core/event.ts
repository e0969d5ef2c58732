import { createHash } from 'node:crypto';

/** The four normalized event types of the Open Connectors events framework. */
export type NormalizedEventType = 'CREATED' | 'UPDATED' | 'DELETED' | 'UNKNOWN';

/** The three normalized fields (docs/protocol.md, "Normalization"). `objectId` is always a string. */
export interface NormalizedEvent {
  readonly objectType: string;
  readonly objectId: string;
  readonly eventType: NormalizedEventType;
}

/** Where an event came from: a legacy ION form post, a modern signed webhook, or a poll. */
export type EventSource = 'ion' | 'webhook' | 'poll';

/**
 * The message put on the FIFO queue by ingest (and the poller) and consumed by deliver.
 * Everything deliver needs is in here, so a message in the DLQ can be replayed as it is.
 */
export interface QueuedEvent extends NormalizedEvent {
  /** Schema version of this message, bumped on incompatible change. */
  readonly v: 1;
  /** Stable id: Ecwid's `eventId` for webhooks, derived from the fields for ION posts. */
  readonly eventId: string;
  readonly instanceId: string;
  readonly storeId: string;
  readonly source: EventSource;
  /** The original Ecwid type: `order.updated`, `new_order`, ... */
  readonly ecwidEventType: string;
  /** When Ecwid says the event happened (ISO 8601), when known. */
  readonly occurredAt?: string;
  /** When we received it (ISO 8601). */
  readonly receivedAt: string;
  /**
   * false for ION posts (no signature): deliver verifies them by fetching the order.
   * true for webhooks whose signature was checked at ingest and for polled objects.
   */
  readonly verified: boolean;
  /** The decoded body Ecwid sent (form fields or webhook JSON). */
  readonly raw: Record<string, unknown>;
  /**
   * Only on a copy replayed from the dead-letter queue (`ecwid-events dlq replay`): what happened
   * before, so attempts and first-seen survive the replay and a second dead-lettering. Deliver
   * ignores it (the message body travels to the DLQ unchanged).
   */
  readonly history?: ReplayHistory;
}

/** What a replayed copy carries of the event's earlier rounds (see QueuedEvent.history). */
export interface ReplayHistory {
  /** Attempts made in every earlier round together. */
  readonly attempts: number;
  /** When the first round first received it (ISO 8601). */
  readonly firstSeenAt?: string;
  /** Replays so far, this one included. */
  readonly replays: number;
  /** The replay run that made this copy: how `dlq replay --wait` recognises it if it fails again. */
  readonly replayRun: string;
}

/**
 * The public id of one event's delivery to one instance: the callback's `Elements-Webhook-Id`,
 * `webhook-id`, body `id` and `message.eventId`, stable across retries and replays. Ecwid's
 * eventId alone is not unique across instances (a store's event fans out to each of its
 * instances), hence `{instanceId}:{eventId}`.
 *
 * Receivers rely on its exact form: the composition itself when it is at most
 * DELIVERY_ID_MAX_LENGTH printable ASCII characters (`shop-a:80aece08-...`), else its SHA-256 in
 * hex (64 characters). test/core/event.test.ts pins it over the fixtures.
 */
export function deliveryId(event: Pick<QueuedEvent, 'instanceId' | 'eventId'>): string {
  return compactId(`${event.instanceId}:${event.eventId}`);
}

/**
 * The events of one object keep their order (they are delivered one after the other); events of
 * different objects do not wait for each other.
 */
export function orderingKey(event: Pick<QueuedEvent, 'instanceId' | 'objectType' | 'objectId'>): string {
  return `${event.instanceId}:${event.objectType}:${event.objectId}`;
}

/** The longest delivery id sent as it is; a longer (or non-ASCII) one is sent as its hash. */
export const DELIVERY_ID_MAX_LENGTH = 128;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** The id itself when short and printable, else a stable hash of it (always short and printable). */
export function compactId(id: string, maxLength = DELIVERY_ID_MAX_LENGTH): string {
  if (id.length <= maxLength && PRINTABLE_ASCII.test(id)) return id;
  return createHash('sha256').update(id).digest('hex');
}
