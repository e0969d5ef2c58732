/**
 * The objects the REST v3 search endpoints list (`GET /v3/{storeId}/{orders|products|customers}`
 * with `updatedFrom` / `updatedTo`): which fields hold their id and their created and updated
 * times. Orders: `id` is the order id webhooks report as `data.orderId` (older stores: the
 * number). Customers have only date strings.
 */
import { ecwidDateSeconds, unixSeconds } from './dates';

/** Ecwid REST v3 collections that can be listed by update time. */
export const LISTABLE_COLLECTIONS = ['orders', 'products', 'customers'] as const;
export type ListableCollection = (typeof LISTABLE_COLLECTIONS)[number];

/** One object as a search lists it. */
export type EcwidObject = Record<string, unknown>;

/** A listed object reduced to what the poller needs. */
export interface ObjectChange {
  readonly objectId: string;
  readonly updatedAt: number;
  readonly createdAt?: number;
}

interface ObjectRule {
  readonly id: (item: EcwidObject) => unknown;
  readonly created: (item: EcwidObject) => number | undefined;
  readonly updated: (item: EcwidObject) => number | undefined;
}

const OBJECT_RULES: Readonly<Record<ListableCollection, ObjectRule>> = {
  orders: {
    id: (item) => item.id ?? item.orderNumber,
    created: (item) => unixSeconds(item.createTimestamp) ?? ecwidDateSeconds(item.createDate),
    updated: (item) => unixSeconds(item.updateTimestamp) ?? ecwidDateSeconds(item.updateDate),
  },
  products: {
    id: (item) => item.id,
    created: (item) => unixSeconds(item.createTimestamp) ?? ecwidDateSeconds(item.created),
    updated: (item) => unixSeconds(item.updateTimestamp) ?? ecwidDateSeconds(item.updated),
  },
  customers: {
    id: (item) => item.id,
    created: (item) => unixSeconds(item.createTimestamp) ?? ecwidDateSeconds(item.registered),
    updated: (item) => unixSeconds(item.updateTimestamp) ?? ecwidDateSeconds(item.updated),
  },
};

/** The id and times of a listed object, or undefined when it has no usable id or update time. */
export function describeObject(collection: ListableCollection, item: EcwidObject): ObjectChange | undefined {
  const rule = OBJECT_RULES[collection];
  const rawId = rule.id(item);
  const objectId =
    typeof rawId === 'string' && rawId.trim() !== '' ? rawId.trim() : typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : undefined;
  const updatedAt = rule.updated(item);
  if (objectId === undefined || updatedAt === undefined) return undefined;
  const createdAt = rule.created(item);
  return createdAt === undefined ? { objectId, updatedAt } : { objectId, updatedAt, createdAt };
}
