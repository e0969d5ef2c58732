/**
 * The event queued for one polled change. A polled object is described as the webhook Ecwid would
 * have sent about it (`order.updated` for an order, its id as `entityId`) and normalized through
 * the same table as ingest's webhooks (ecwid/normalize.ts).
 */
import { entityOfObjectType, normalizeWebhookEvent } from '../ecwid/normalize';
import type { EcwidObject, ObjectChange } from '../ecwid/objects';
import type { NormalizedEventType, QueuedEvent } from '../event';
import { CREATED_TOLERANCE_SECONDS, MAX_RAW_BYTES } from './constants';
import type { PollObjectType } from './settings';

/** The event id of a polled change: stable for the same object and update time. */
export const pollEventId = (objectType: string, objectId: string, updatedAt: number): string =>
  `poll:${objectType}:${objectId}:${updatedAt}`;

/** CREATED when created and updated within CREATED_TOLERANCE_SECONDS, else UPDATED. */
export function pollEventType(change: ObjectChange): Extract<NormalizedEventType, 'CREATED' | 'UPDATED'> {
  return change.createdAt !== undefined && Math.abs(change.updatedAt - change.createdAt) <= CREATED_TOLERANCE_SECONDS
    ? 'CREATED'
    : 'UPDATED';
}

/** The Ecwid webhook type a polled change stands for: `order.created`, `customer.updated`, ... */
export function pollEcwidEventType(objectType: PollObjectType, change: ObjectChange): string {
  const entity = entityOfObjectType(objectType);
  if (entity === undefined) throw new Error(`no Ecwid webhook entity normalizes to ${objectType}`);
  return `${entity}.${pollEventType(change) === 'CREATED' ? 'created' : 'updated'}`;
}

/** The queued event for one polled change. */
export function pollEvent(args: {
  readonly instanceId: string;
  readonly storeId: string;
  readonly objectType: PollObjectType;
  readonly change: ObjectChange;
  readonly item: EcwidObject;
  readonly receivedAt: string;
}): QueuedEvent {
  const { change, storeId } = args;
  const ecwidEventType = pollEcwidEventType(args.objectType, change);
  const normalized = normalizeWebhookEvent({ eventType: ecwidEventType, storeId, entityId: change.objectId });
  return {
    v: 1,
    ...normalized,
    eventId: pollEventId(normalized.objectType, normalized.objectId, change.updatedAt),
    instanceId: args.instanceId,
    storeId,
    source: 'poll',
    ecwidEventType,
    occurredAt: new Date(change.updatedAt * 1000).toISOString(),
    receivedAt: args.receivedAt,
    verified: true,
    raw: boundedRaw(args.item, change),
  };
}

/** The object, or a stub naming it when it would not fit in a queue message. */
function boundedRaw(item: EcwidObject, change: ObjectChange): EcwidObject {
  if (Buffer.byteLength(JSON.stringify(item), 'utf8') <= MAX_RAW_BYTES) return item;
  return {
    id: item.id ?? change.objectId,
    updateTimestamp: change.updatedAt,
    _truncated: `the object is larger than ${MAX_RAW_BYTES} bytes; fetch it from the Ecwid API`,
  };
}
