/**
 * The callback body: the Open Connectors (Cloud Elements) event shape, docs/callback-contract.md, "Body", one event
 * per request. Keys match the real Cloud Elements samples except the platform's own account fields
 * (`severity`, `user`, `accountId`, `companyId`, `userId`), which have no meaning here; polled events
 * carry `pollDate` like the Cloud Elements polling samples do.
 *
 * Everything in the envelope derives from the queued message, never from the clock, so every attempt
 * sends the same envelope; `raw` carries what Ecwid's API answered at that attempt.
 */
import { deliveryId, type QueuedEvent } from '../event';
import type { Instance } from '../instance';

export const ELEMENT_KEY = 'ecwid';
export const HUB_KEY = 'ecommerce';

export interface CallbackEventEntry {
  readonly date: string;
  readonly elementKey: typeof ELEMENT_KEY;
  readonly hubKey: typeof HUB_KEY;
  readonly eventType: string;
  readonly objectId: string;
  readonly objectType: string;
  readonly pollDate?: string;
}

export interface CallbackBody {
  readonly id: string;
  readonly createdDate: string;
  readonly topic: string;
  readonly action: 'create';
  readonly message: {
    readonly elementKey: typeof ELEMENT_KEY;
    readonly eventId: string;
    readonly instanceId: string;
    readonly instance_id: string;
    readonly instanceName: string;
    readonly instanceTags: string[];
    readonly raw: Record<string, unknown>;
    readonly events: CallbackEventEntry[];
  };
}

/** Open Connectors sent Java's `Date.toString()` in UTC, e.g. `Fri Feb 21 16:43:41 UTC 2020`. */
export function javaUtcDateString(date: Date): string {
  // toUTCString(): "Fri, 21 Feb 2020 16:43:41 GMT"
  const [weekday, day, month, year, time] = date.toUTCString().replace(',', '').split(' ');
  return `${weekday} ${month} ${day} ${time} UTC ${year}`;
}

export function buildCallbackBody(event: QueuedEvent, instance: Instance, raw: Record<string, unknown>): CallbackBody {
  const id = deliveryId(event);
  const entry: CallbackEventEntry = {
    date: event.occurredAt ?? event.receivedAt,
    elementKey: ELEMENT_KEY,
    hubKey: HUB_KEY,
    eventType: event.eventType,
    objectId: event.objectId,
    objectType: event.objectType,
    ...(event.source === 'poll' ? { pollDate: event.receivedAt } : {}),
  };
  return {
    id,
    createdDate: javaUtcDateString(new Date(event.receivedAt)),
    topic: `instance-${instance.id}-${ELEMENT_KEY}-events`,
    action: 'create',
    message: {
      elementKey: ELEMENT_KEY,
      eventId: id,
      instanceId: instance.id,
      instance_id: instance.id,
      instanceName: instance.document.name?.trim() || instance.id,
      // The seed instance JSON has `"tags": [""]`: empty tags are noise, not tags.
      instanceTags: (instance.document.tags ?? []).filter((tag) => tag.trim() !== ''),
      raw,
      events: [entry],
    },
  };
}

/** The exact bytes we sign and send. */
export const serializeCallbackBody = (body: CallbackBody): Buffer => Buffer.from(JSON.stringify(body), 'utf8');
