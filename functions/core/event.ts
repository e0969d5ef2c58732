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
}

// SQS FIFO ids: at most 128 characters of alphanumerics and punctuation.
const SQS_ID_MAX = 128;
const SQS_ID_ALLOWED = /^[\x21-\x7e]+$/;

/** Keeps a readable id when SQS accepts it, else a stable hash of it. */
export function sqsSafeId(value: string): string {
  if (value.length <= SQS_ID_MAX && SQS_ID_ALLOWED.test(value)) return value;
  return createHash('sha256').update(value).digest('hex');
}

/** Events of one object are delivered in order; different objects in parallel. */
export function messageGroupId(event: Pick<QueuedEvent, 'instanceId' | 'objectType' | 'objectId'>): string {
  return sqsSafeId(`${event.instanceId}:${event.objectType}:${event.objectId}`);
}

/** Ecwid's retries of one event (within SQS's 5-minute window) are dropped by the queue. */
export function deduplicationId(event: Pick<QueuedEvent, 'instanceId' | 'eventId'>): string {
  return sqsSafeId(`${event.instanceId}:${event.eventId}`);
}
