/**
 * Ecwid's event types, as documented (docs/protocol.md, "Inbound B": 42 webhook types) plus the two
 * legacy ION types. New types appear over time: ingest accepts any `entity.action`; this list only
 * lets the CLI warn about a probable typo in an instance's event-type filter.
 */
import { ION_EVENT_TYPES } from './ion';

const CRUD = ['created', 'updated', 'deleted'] as const;
const crud = (entity: string): string[] => CRUD.map((action) => `${entity}.${action}`);

export const KNOWN_WEBHOOK_EVENT_TYPES: readonly string[] = [
  'profile.updated',
  'profile.subscriptionStatusChanged',
  ...crud('order'),
  ...crud('unfinished_order'),
  ...crud('product'),
  ...crud('category'),
  ...crud('customer'),
  ...crud('customer_group'),
  ...crud('discount_coupon'),
  ...crud('promotion'),
  ...crud('product_class'),
  ...crud('review'),
  'invoice.created',
  'invoice.deleted',
  'application.installed',
  'application.uninstalled',
  'application.subscriptionStatusChanged',
  'application.storageChanged',
  'customer.personalDataRemovalRequest',
  'customer.personalDataExportRequest',
  'profile.personalDataRemovalRequest',
  'profile.personalDataExportRequest',
];

/**
 * The legacy ION types, and the webhook type each stands for: a filter written in webhook terms
 * (`order.*`, `order.created`) selects the ION posts about orders too.
 */
export const ION_EVENT_TYPE_ALIASES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ION_EVENT_TYPES).map(([ion, normalized]) => [ion, `order.${normalized.toLowerCase()}`]),
);

/** The webhook type an event counts as for filtering (ION types by their alias). */
export const filterTypeOf = (ecwidEventType: string): string =>
  Object.hasOwn(ION_EVENT_TYPE_ALIASES, ecwidEventType) ? ION_EVENT_TYPE_ALIASES[ecwidEventType] : ecwidEventType;

/** The entities (`order`, `unfinished_order`, ...) of the known types. */
export const KNOWN_ENTITIES: ReadonlySet<string> = new Set(KNOWN_WEBHOOK_EVENT_TYPES.map((type) => type.slice(0, type.indexOf('.'))));
