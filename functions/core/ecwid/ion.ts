import { createHash } from 'node:crypto';
import type { NormalizedEventType } from '../event';
import { ionDateToIso } from './dates';
import { canonicalStoreId, InvalidNotificationError, type IonNotification } from './notification';

/**
 * The ION event types Ecwid documented, with their normalized meaning. Others are accepted too
 * (see parseIonForm): still about an order, with an UNKNOWN change (normalize.ts).
 */
export const ION_EVENT_TYPES: Readonly<Record<string, NormalizedEventType>> = {
  new_order: 'CREATED',
  order_status_change: 'UPDATED',
};

/** True for a documented ION event type (`new_order`, `order_status_change`). */
export const isIonEventType = (type: string): boolean => Object.hasOwn(ION_EVENT_TYPES, type);

/** Every field Ecwid's ION post can carry, in the order they enter the derived event id. */
const ION_FIELDS = [
  'owner_id',
  'event_type',
  'date',
  'order_id',
  'payment_status',
  'fulfillment_status',
  'old_payment_status',
  'old_fulfillment_status',
] as const;
type IonField = (typeof ION_FIELDS)[number];

const REQUIRED_FIELDS: readonly IonField[] = ['owner_id', 'event_type', 'order_id'];

/** Length of the hex digest kept in ION event ids (128 bits). */
const ION_ID_HEX_LENGTH = 32;

/**
 * Parses the body of a legacy "Instant Order Notification" (application/x-www-form-urlencoded).
 *
 * Requires `owner_id` (a store id), `event_type` and `order_id`; throws InvalidNotificationError
 * naming the first missing or invalid field. A known field sent twice is rejected as ambiguous.
 *
 * An `event_type` other than `new_order` / `order_status_change` is accepted, not rejected:
 * every ION post names an order, deliver verifies it by fetching that order anyway, and a 400
 * would only make Ecwid retry for three days and then drop it. It normalizes to
 * `orders` / `UNKNOWN` (normalize.ts).
 *
 * The event id is derived from the fields, so Ecwid's retry of one notification gets the same
 * id (and is deduplicated) while a later status change of the same order gets a new one.
 */
export function parseIonForm(body: string): IonNotification {
  const params = new URLSearchParams(body);
  const raw: Record<string, string | string[]> = {};
  for (const [name, value] of params) {
    const seen = raw[name];
    if (seen === undefined) raw[name] = value;
    else raw[name] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }

  const fields: Partial<Record<IonField, string>> = {};
  for (const name of ION_FIELDS) {
    const value = raw[name];
    if (Array.isArray(value)) {
      throw new InvalidNotificationError(name, `ION field ${name} appears more than once`);
    }
    const text = value?.trim();
    if (text) fields[name] = text;
  }
  for (const name of REQUIRED_FIELDS) {
    if (fields[name] === undefined) {
      throw new InvalidNotificationError(name, `ION field ${name} is required`);
    }
  }

  const storeId = canonicalStoreId(fields.owner_id, 'owner_id');
  const canonical = ION_FIELDS.map((name) => (name === 'owner_id' ? storeId : (fields[name] ?? null)));
  const eventId = `ion-${createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, ION_ID_HEX_LENGTH)}`;

  return {
    source: 'ion',
    eventId,
    storeId,
    eventType: fields.event_type as string,
    orderId: fields.order_id as string,
    occurredAt: ionDateToIso(fields.date),
    date: fields.date,
    paymentStatus: fields.payment_status,
    fulfillmentStatus: fields.fulfillment_status,
    oldPaymentStatus: fields.old_payment_status,
    oldFulfillmentStatus: fields.old_fulfillment_status,
    raw,
  };
}
