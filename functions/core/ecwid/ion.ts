import { createHash } from 'node:crypto';
import type { NormalizedEventType } from '../event';
import { ECWID_DATE_TIME, ionDateToIso } from './dates';
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

/**
 * What every genuine post carries: the statuses are checked against the order (verify.ts) and the
 * date against its creation time, so a post that leaves them out cannot be verified and is refused.
 */
const REQUIRED_FIELDS: readonly IonField[] = ['owner_id', 'event_type', 'order_id', 'date', 'payment_status', 'fulfillment_status'];

/** Ecwid order numbers: digits, no leading zero (they go into an API path: `..` must never get there). */
export const ION_ORDER_ID_PATTERN = /^[1-9][0-9]{0,19}$/;

/** Length of the hex digest kept in ION event ids (128 bits). */
const ION_ID_HEX_LENGTH = 32;

/**
 * Parses the body of a legacy "Instant Order Notification" (application/x-www-form-urlencoded).
 *
 * Requires `owner_id` (a store id), `event_type`, `order_id` (an order number), `date`
 * (`YYYY-MM-DD hh:mm:ss`) and both statuses; throws InvalidNotificationError naming the first
 * missing or invalid field. A known field sent twice is rejected as ambiguous. Any other field is
 * left out: `raw` holds only the known ION fields, so nothing a sender adds reaches a receiver.
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
  // Only the known fields are looked at: a Map, so `__proto__` or `constructor` are plain names.
  const values = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(body)) {
    if (!(ION_FIELDS as readonly string[]).includes(name)) continue;
    const seen = values.get(name);
    if (seen) seen.push(value);
    else values.set(name, [value]);
  }

  const fields: Partial<Record<IonField, string>> = {};
  const raw: Record<string, string> = {};
  for (const name of ION_FIELDS) {
    const given = values.get(name);
    if (given === undefined) continue;
    if (given.length > 1) {
      throw new InvalidNotificationError(name, `ION field ${name} appears more than once`);
    }
    raw[name] = given[0];
    const text = given[0].trim();
    if (text) fields[name] = text;
  }
  for (const name of REQUIRED_FIELDS) {
    if (fields[name] === undefined) {
      throw new InvalidNotificationError(name, `ION field ${name} is required`);
    }
  }
  if (!ION_ORDER_ID_PATTERN.test(fields.order_id as string)) {
    throw new InvalidNotificationError('order_id', 'ION field order_id must be an order number (digits)');
  }
  if (!ECWID_DATE_TIME.test(fields.date as string)) {
    throw new InvalidNotificationError('date', 'ION field date must look like YYYY-MM-DD hh:mm:ss');
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
