/**
 * Verification and enrichment through the Ecwid API: what deliver puts in the callback's `raw`.
 *
 * - ION (legacy, unsigned): verified by fetching the order; raw = `{ notification, order }`.
 * - Webhook (signature checked at ingest): enriched with the entity when the instance can fetch it;
 *   raw = `{ webhook, entity }` (`entity` null when Ecwid says 404, absent when not fetched).
 * - Poll: the poller already holds the object; raw = `{ entity }`.
 *
 * Ecwid API failures throw (EcwidApiError) and are retried by the caller; nothing here retries.
 *
 * ## ION matching rule
 * A notification is genuine when the order exists in the store and its current payment and
 * fulfillment statuses equal the notified ones (legacy names are compared with their REST v3
 * equivalents, LEGACY_STATUS_EQUIVALENTS, since v3 answers with the new vocabulary). Both statuses
 * are required (every genuine post carries them), the fetched order's number must be the posted one,
 * and a `new_order` must be for an order created around the post's `date` (within
 * ION_CREATION_TOLERANCE_SECONDS: Ecwid never said which zone `date` is in), so an old order cannot
 * be announced as new.
 *
 * A genuine notification can be outdated by the time we fetch (the order changed again, or a retry
 * runs hours later). A status mismatch is therefore accepted as "superseded" when the order provably
 * changed AFTER the notification, and the callback then carries the current order:
 * - REST v3: `updateTimestamp` (Unix seconds) is later than the moment we received the notification
 *   (`receivedAt`, our own clock — never the unauthenticated ION `date`).
 * - Legacy v1: `lastChangeDate` is later than the notification's `date`. Both are Ecwid's
 *   "YYYY-MM-DD hh:mm:ss" without a zone (same producer, so compared as text). The ION `date` is not
 *   authenticated: with v1 a forger who knows an order number can claim an old date and get a callback
 *   for an order that did change since — the callback then carries only Ecwid's real order next to
 *   the posted fields. Configure `ecwid.access.token` (v3) for the strict rule.
 * Anything else is forged: dropped, never delivered, never retried.
 *
 * ## Enrichment
 * With `ecwid.access.token`: orders (data.orderId, else entityId — already the normalized objectId),
 * products, customers, categories via REST v3. Without a token, products are read through the legacy
 * v1 Product API when `ecwid.product.key` is set (sent as `secure_auth_key`). Other object types are
 * not fetched; neither are `DELETED` events (the entity is gone; the 404 would tell nothing).
 */
import type { QueuedEvent } from '../event';
import { CONFIG_KEYS, configOf, type Instance } from '../instance';
import { ECWID_DATE_TIME, ecwidDateSeconds, unixSeconds } from './dates';
import { ION_ORDER_ID_PATTERN } from './ion';
import type { EcwidApi, EcwidEntity, EcwidV3Collection } from '../ports';

export type PreparedRaw =
  | { readonly kind: 'ready'; readonly raw: Record<string, unknown>; readonly note?: string }
  | { readonly kind: 'forged'; readonly reason: string };

/** A configuration that makes verification impossible: a failure to retry (the operator can fix it). */
export class VerificationUnavailableError extends Error {
  override readonly name = 'VerificationUnavailableError';
}

/** objectType (normalize.ts) -> REST v3 collection, for the types we enrich. */
const V3_COLLECTIONS: Readonly<Record<string, EcwidV3Collection>> = {
  orders: 'orders',
  products: 'products',
  customers: 'customers',
  categories: 'categories',
};

/**
 * Legacy ION / v1 status names and their REST v3 equivalents (best knowledge: Ecwid renamed the
 * vocabulary when v3 replaced v1 and never published a mapping). Names not listed compare as-is.
 */
export const LEGACY_STATUS_EQUIVALENTS: Readonly<Record<string, string>> = {
  ACCEPTED: 'PAID',
  QUEUED: 'AWAITING_PAYMENT',
  CHARGEABLE: 'AWAITING_PAYMENT',
  DECLINED: 'CANCELLED',
  NEW: 'AWAITING_PROCESSING',
};

const canonicalStatus = (status: string): string => {
  const upper = status.trim().toUpperCase();
  return LEGACY_STATUS_EQUIVALENTS[upper] ?? upper;
};

export async function prepareCallbackRaw(event: QueuedEvent, instance: Instance, api: EcwidApi): Promise<PreparedRaw> {
  switch (event.source) {
    case 'ion':
      return verifyIonEvent(event, instance, api);
    case 'webhook':
      if (event.eventType === 'DELETED') return checkDeletion(event, instance, api);
      return { kind: 'ready', raw: await enrichWebhookEvent(event, instance, api) };
    case 'poll':
      return { kind: 'ready', raw: { entity: event.raw } };
  }
}

export async function verifyIonEvent(event: QueuedEvent, instance: Instance, api: EcwidApi): Promise<PreparedRaw> {
  const notification = event.raw;
  const orderNumber = event.objectId;
  const { accessToken: token, orderKey } = configOf(instance);
  // Before any request: an id that is not an order number must never reach an API path.
  if (!ION_ORDER_ID_PATTERN.test(orderNumber)) return { kind: 'forged', reason: `order id ${JSON.stringify(orderNumber.slice(0, 40))} is not an order number` };

  let order: EcwidEntity | null;
  let changedAfterNotification: (order: EcwidEntity) => boolean;
  if (token) {
    // Unsigned: the read uses only the token's unsigned share, so forged posts cannot spend it all.
    order = await api.getEntity(event.storeId, token, 'orders', orderNumber, { receivedAt: event.receivedAt, unsigned: true });
    const receivedAtSeconds = Date.parse(event.receivedAt) / 1000;
    changedAfterNotification = (found) =>
      typeof found.updateTimestamp === 'number' && found.updateTimestamp > receivedAtSeconds;
  } else if (orderKey) {
    order = await api.getLegacyOrder(event.storeId, orderKey, orderNumber, { unsigned: true });
    const notifiedDate = textField(notification.date);
    changedAfterNotification = (found) => {
      const lastChange = textField(found.lastChangeDate);
      return (
        notifiedDate !== undefined &&
        lastChange !== undefined &&
        ECWID_DATE_TIME.test(notifiedDate) &&
        ECWID_DATE_TIME.test(lastChange) &&
        lastChange > notifiedDate
      );
    };
  } else {
    throw new VerificationUnavailableError(
      `cannot verify the ION notification: the instance has neither ${CONFIG_KEYS.orderKey} nor ${CONFIG_KEYS.accessToken}`,
    );
  }

  if (order === null) return { kind: 'forged', reason: `order ${orderNumber} not found in store ${event.storeId}` };
  const found = order;
  const forged = (reason: string): PreparedRaw => ({ kind: 'forged', reason: `order ${orderNumber}: ${reason}` });

  // The API was asked for this number; an answer about another order verifies nothing.
  const numbers = [found.number, found.orderNumber, found.id].map(textField).filter((value) => value !== undefined);
  if (!numbers.includes(orderNumber)) return forged(`Ecwid answered with another order (${numbers.join(', ') || 'no number'})`);

  const mismatches: string[] = [];
  for (const [field, orderField] of [
    ['payment_status', 'paymentStatus'],
    ['fulfillment_status', 'fulfillmentStatus'],
  ] as const) {
    const notified = textField(notification[field]);
    if (notified === undefined) return forged(`the notification has no ${field}`);
    const current = textField(found[orderField]) ?? '';
    if (canonicalStatus(notified) !== canonicalStatus(current)) {
      mismatches.push(`${field} notified ${notified}, order has ${current || 'none'}`);
    }
  }
  if (event.ecwidEventType === 'new_order') {
    const problem = newOrderProblem(textField(notification.date), found);
    if (problem) return forged(problem);
  }
  const raw = { notification, order };
  if (mismatches.length === 0) return { kind: 'ready', raw };
  if (changedAfterNotification(order)) {
    return { kind: 'ready', raw, note: `statuses superseded by a later change (${mismatches.join('; ')})` };
  }
  return { kind: 'forged', reason: `order ${orderNumber} statuses do not match: ${mismatches.join('; ')}` };
}

/**
 * A `*.deleted` webhook: Ecwid signs only `{eventCreated}.{eventId}`, not the body, so where the
 * instance can fetch the entity (an access token, a collection we know) it must really be gone.
 * One that still exists is dropped as forged, never delivered as DELETED. Otherwise raw = `{ webhook }`.
 */
async function checkDeletion(event: QueuedEvent, instance: Instance, api: EcwidApi): Promise<PreparedRaw> {
  const webhook = event.raw;
  const collection = V3_COLLECTIONS[event.objectType];
  const { accessToken: token } = configOf(instance);
  if (collection === undefined || !token) return { kind: 'ready', raw: { webhook } };
  const entity = await api.getEntity(event.storeId, token, collection, event.objectId, { receivedAt: event.receivedAt });
  if (entity !== null) return { kind: 'forged', reason: `${event.objectType} ${event.objectId} was reported deleted but still exists` };
  return { kind: 'ready', raw: { webhook } };
}

export async function enrichWebhookEvent(event: QueuedEvent, instance: Instance, api: EcwidApi): Promise<Record<string, unknown>> {
  const webhook = event.raw;
  if (event.eventType === 'DELETED') return { webhook };
  const collection = V3_COLLECTIONS[event.objectType];
  if (collection === undefined) return { webhook };

  const { accessToken: token, productKey } = configOf(instance);
  if (token) return { webhook, entity: await api.getEntity(event.storeId, token, collection, event.objectId, { receivedAt: event.receivedAt }) };

  if (collection === 'products' && productKey) {
    return { webhook, entity: await api.getLegacyProduct(event.storeId, productKey, event.objectId) };
  }
  return { webhook };
}

/** How far a new order's creation time may be from the post's `date` (zone unknown: up to ±14 h, plus slack). */
export const ION_CREATION_TOLERANCE_SECONDS = 24 * 3600;

/** Why a `new_order` post does not announce this order's creation, or undefined when it does. */
function newOrderProblem(date: string | undefined, order: EcwidEntity): string | undefined {
  const notifiedAt = ecwidDateSeconds(date);
  if (notifiedAt === undefined) return 'new_order without a usable date';
  // v3: createTimestamp (UTC) or createDate; v1: `created` (zoneless, like the post's date).
  const createdAt = unixSeconds(order.createTimestamp) ?? ecwidDateSeconds(order.createDate) ?? ecwidDateSeconds(order.created);
  if (createdAt === undefined) return 'new_order, but the order has no creation time to check it against';
  if (Math.abs(createdAt - notifiedAt) > ION_CREATION_TOLERANCE_SECONDS) {
    return `new_order dated ${date}, but the order was created at ${new Date(createdAt * 1000).toISOString()}`;
  }
  return undefined;
}

function textField(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  if (typeof value === 'number') return String(value);
  return undefined;
}
