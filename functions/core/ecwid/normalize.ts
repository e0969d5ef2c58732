import type { NormalizedEvent, NormalizedEventType } from '../event';
import { ION_EVENT_TYPES } from './ion';
import type { EcwidNotification, WebhookNotification } from './notification';
import { actionOf, entityOf } from './webhook';

/**
 * docs/protocol.md, "Normalization", in one place: how an Ecwid notification becomes
 * `{ objectType, objectId, eventType }`. Ingest, the CLI's test events and the local runner
 * call normalizeEcwidEvent, the poller normalizeWebhookEvent (a polled change is described as the
 * webhook Ecwid would have sent); nothing else decides these three fields.
 */

/** What normalization reads of a webhook. */
export type WebhookFields = Pick<WebhookNotification, 'eventType' | 'storeId' | 'entityId' | 'data'>;

type ObjectIdRule = (event: WebhookFields) => string;

interface EntityRule {
  readonly objectType: string;
  readonly objectId: ObjectIdRule;
}

/** `entityId`, or the store when the entity is the store and Ecwid left `entityId` out. */
const entityId: ObjectIdRule = (event) => (event.entityId === undefined ? event.storeId : String(event.entityId));

/** The first of `data[keys]` that is present (a non-empty string or a number), else `entityId`. */
const dataThenEntityId =
  (...keys: string[]): ObjectIdRule =>
  (event) => {
    for (const key of keys) {
      const value = event.data?.[key];
      if (typeof value === 'string' && value.trim() !== '') return value.trim();
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    }
    return entityId(event);
  };

/** The entities of the 42 documented webhook types. Any other entity: see genericRule. */
export const WEBHOOK_ENTITY_TABLE: Readonly<Record<string, EntityRule>> = {
  order: { objectType: 'orders', objectId: dataThenEntityId('orderId') },
  unfinished_order: { objectType: 'unfinishedOrders', objectId: dataThenEntityId('orderId', 'cartId') },
  // The invoice itself is the entity; its order is data.orderId (kept in raw).
  invoice: { objectType: 'invoices', objectId: entityId },
  product: { objectType: 'products', objectId: entityId },
  category: { objectType: 'categories', objectId: entityId },
  customer: { objectType: 'customers', objectId: entityId },
  customer_group: { objectType: 'customerGroups', objectId: entityId },
  discount_coupon: { objectType: 'discountCoupons', objectId: entityId },
  promotion: { objectType: 'promotions', objectId: entityId },
  product_class: { objectType: 'productClasses', objectId: entityId },
  review: { objectType: 'reviews', objectId: entityId },
  application: { objectType: 'applications', objectId: entityId },
  profile: { objectType: 'profiles', objectId: entityId },
};

/** Webhook actions with a normalized meaning; every other action is UNKNOWN. */
const WEBHOOK_ACTIONS: Readonly<Record<string, NormalizedEventType>> = {
  created: 'CREATED',
  updated: 'UPDATED',
  deleted: 'DELETED',
};

/** Normalizes any Ecwid notification, ION or webhook, known or not yet known type. */
export function normalizeEcwidEvent(event: EcwidNotification): NormalizedEvent {
  if (event.source === 'ion') {
    return { objectType: 'orders', objectId: event.orderId, eventType: ownValue(ION_EVENT_TYPES, event.eventType) ?? 'UNKNOWN' };
  }
  return normalizeWebhookEvent(event);
}

/** Normalizes a webhook (`entity.action`), known or not yet known type. */
export function normalizeWebhookEvent(event: WebhookFields): NormalizedEvent {
  const entity = entityOf(event.eventType);
  const rule = ownValue(WEBHOOK_ENTITY_TABLE, entity) ?? genericRule(entity);
  return {
    objectType: rule.objectType,
    objectId: rule.objectId(event),
    eventType: ownValue(WEBHOOK_ACTIONS, actionOf(event.eventType)) ?? 'UNKNOWN',
  };
}

/** The webhook entity whose events normalize to `objectType` (`orders` -> `order`): the table read backwards. */
export function entityOfObjectType(objectType: string): string | undefined {
  return Object.keys(WEBHOOK_ENTITY_TABLE).find((entity) => WEBHOOK_ENTITY_TABLE[entity].objectType === objectType);
}

/** A table lookup that never answers with an Object.prototype member (`constructor`, `toString`). */
const ownValue = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(table, key) ? table[key] : undefined;

/** Types Ecwid adds later (`gift_card.redeemed`): camelCase plural of the entity, `entityId`. */
function genericRule(entity: string): EntityRule {
  return { objectType: pluralCamelCase(entity), objectId: entityId };
}

/** `gift_card` -> `giftCards`, `product_class` -> `productClasses`, `category` -> `categories`. */
export function pluralCamelCase(entity: string): string {
  const words = entity.split(/[_\-\s]+/).filter((word) => word !== '');
  if (words.length === 0) return entity;
  const camel = words
    .map((word, index) =>
      index === 0 ? word.charAt(0).toLowerCase() + word.slice(1) : word.charAt(0).toUpperCase() + word.slice(1),
    )
    .join('');
  if (/[^aeiou]y$/i.test(camel)) return `${camel.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(camel)) return `${camel}es`;
  return `${camel}s`;
}
