import { readdirSync } from 'node:fs';
import { parseIonForm } from '../../../functions/core/ecwid/ion';
import { parseWebhookJson } from '../../../functions/core/ecwid/webhook';
import type { NormalizedEvent } from '../../../functions/core/event';
import { normalizeEcwidEvent, pluralCamelCase, WEBHOOK_ENTITY_TABLE } from '../../../functions/core/ecwid/normalize';
import { FIXTURES_DIR, fixtureText } from '../../../testkit/fixtures';
import { webhookBody } from '../../../testkit/events';

const normalizeWebhook = (body: Record<string, unknown>): NormalizedEvent =>
  normalizeEcwidEvent(parseWebhookJson(JSON.stringify(body)));

/** docs/protocol.md, "Normalization", written out per fixture. */
const FIXTURE_EXPECTATIONS: Record<string, NormalizedEvent & { storeId: string; ecwidEventType: string }> = {
  'modern-application-installed.json': { objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN', storeId: '1003', ecwidEventType: 'application.installed' },
  'modern-application-subscription-status-changed.json': { objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN', storeId: '1003', ecwidEventType: 'application.subscriptionStatusChanged' },
  'modern-application-uninstalled.json': { objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN', storeId: '1003', ecwidEventType: 'application.uninstalled' },
  'modern-category-created.json': { objectType: 'categories', objectId: '66722483', eventType: 'CREATED', storeId: '1003', ecwidEventType: 'category.created' },
  'modern-category-deleted.json': { objectType: 'categories', objectId: '66722483', eventType: 'DELETED', storeId: '1003', ecwidEventType: 'category.deleted' },
  'modern-customer-created.json': { objectType: 'customers', objectId: '1663830', eventType: 'CREATED', storeId: '1003', ecwidEventType: 'customer.created' },
  // Orders: data.orderId wins over entityId.
  'modern-order-created.json': { objectType: 'orders', objectId: 'XJ12H', eventType: 'CREATED', storeId: '1003', ecwidEventType: 'order.created' },
  'modern-order-deleted.json': { objectType: 'orders', objectId: 'XJ12H', eventType: 'DELETED', storeId: '1003', ecwidEventType: 'order.deleted' },
  'modern-order-updated.json': { objectType: 'orders', objectId: 'B8HGD', eventType: 'UPDATED', storeId: '1003', ecwidEventType: 'order.updated' },
  'modern-product-created.json': { objectType: 'products', objectId: '667251253', eventType: 'CREATED', storeId: '1003', ecwidEventType: 'product.created' },
  'modern-product-deleted.json': { objectType: 'products', objectId: '667251253', eventType: 'DELETED', storeId: '1003', ecwidEventType: 'product.deleted' },
  'modern-product-updated.json': { objectType: 'products', objectId: '66722483', eventType: 'UPDATED', storeId: '1003', ecwidEventType: 'product.updated' },
  'modern-profile-subscription-status-changed.json': { objectType: 'profiles', objectId: '1421002', eventType: 'UNKNOWN', storeId: '1421002', ecwidEventType: 'profile.subscriptionStatusChanged' },
  'modern-profile-updated.json': { objectType: 'profiles', objectId: '1003', eventType: 'UPDATED', storeId: '1003', ecwidEventType: 'profile.updated' },
  'modern-unfinished-order-created.json': { objectType: 'unfinishedOrders', objectId: 'RA1SD', eventType: 'CREATED', storeId: '1003', ecwidEventType: 'unfinished_order.created' },
  'legacy-ion-cannon-new-order.CONSTRUCTED.txt': { objectType: 'orders', objectId: '124', eventType: 'CREATED', storeId: '12345', ecwidEventType: 'new_order' },
  'legacy-ion-cannon-order-status-change.CONSTRUCTED.txt': { objectType: 'orders', objectId: '124', eventType: 'UPDATED', storeId: '12345', ecwidEventType: 'order_status_change' },
};

/** Fixtures that are not Ecwid posts. */
const NOT_POSTS = new Set(['modern-signature-test-vector.json', 'modern-webhook-request-headers.http']);

describe('normalizeEcwidEvent on every Ecwid post fixture', () => {
  it('has an expectation for every modern-* and legacy-ion-cannon-* fixture', () => {
    const posts = readdirSync(FIXTURES_DIR)
      .filter((name) => name.startsWith('modern-') || name.startsWith('legacy-ion-cannon-'))
      .filter((name) => !NOT_POSTS.has(name))
      .sort();
    expect(posts).toEqual(Object.keys(FIXTURE_EXPECTATIONS).sort());
  });

  it.each(Object.entries(FIXTURE_EXPECTATIONS))('%s', (name, expected) => {
    const text = fixtureText(name);
    const notification = name.endsWith('.txt') ? parseIonForm(text.trim()) : parseWebhookJson(text);
    const { storeId, ecwidEventType, ...normalized } = expected;
    expect(normalizeEcwidEvent(notification)).toEqual(normalized);
    expect(notification.storeId).toBe(storeId);
    expect(notification.eventType).toBe(ecwidEventType);
  });
});

/** docs/protocol.md, "Inbound B: signed JSON webhooks": the 42 documented webhook types, with their normalized type and event. */
const DOCUMENTED_TYPES: ReadonlyArray<[string, string, NormalizedEvent['eventType']]> = [
  ['profile.updated', 'profiles', 'UPDATED'],
  ['profile.subscriptionStatusChanged', 'profiles', 'UNKNOWN'],
  ...crud('order', 'orders'),
  ...crud('unfinished_order', 'unfinishedOrders'),
  ...crud('product', 'products'),
  ...crud('category', 'categories'),
  ...crud('customer', 'customers'),
  ...crud('customer_group', 'customerGroups'),
  ...crud('discount_coupon', 'discountCoupons'),
  ...crud('promotion', 'promotions'),
  ...crud('product_class', 'productClasses'),
  ...crud('review', 'reviews'),
  ['invoice.created', 'invoices', 'CREATED'],
  ['invoice.deleted', 'invoices', 'DELETED'],
  ['application.installed', 'applications', 'UNKNOWN'],
  ['application.uninstalled', 'applications', 'UNKNOWN'],
  ['application.subscriptionStatusChanged', 'applications', 'UNKNOWN'],
  ['application.storageChanged', 'applications', 'UNKNOWN'],
  ['customer.personalDataRemovalRequest', 'customers', 'UNKNOWN'],
  ['customer.personalDataExportRequest', 'customers', 'UNKNOWN'],
  ['profile.personalDataRemovalRequest', 'profiles', 'UNKNOWN'],
  ['profile.personalDataExportRequest', 'profiles', 'UNKNOWN'],
];

function crud(entity: string, objectType: string): Array<[string, string, NormalizedEvent['eventType']]> {
  return [
    [`${entity}.created`, objectType, 'CREATED'],
    [`${entity}.updated`, objectType, 'UPDATED'],
    [`${entity}.deleted`, objectType, 'DELETED'],
  ];
}

describe('normalizeEcwidEvent on every documented webhook type', () => {
  it('covers the 42 types of docs/protocol.md, each once', () => {
    expect(DOCUMENTED_TYPES).toHaveLength(42);
    expect(new Set(DOCUMENTED_TYPES.map(([type]) => type)).size).toBe(42);
  });

  it.each(DOCUMENTED_TYPES)('%s -> %s / %s', (eventType, objectType, normalizedType) => {
    // No data: every type falls back to entityId, as a string.
    expect(normalizeWebhook(webhookBody({ eventType, entityId: 98765, data: undefined }))).toEqual({
      objectType,
      objectId: '98765',
      eventType: normalizedType,
    });
  });

  it('normalizes an unknown future type generically', () => {
    expect(normalizeWebhook(webhookBody({ eventType: 'gift_card.redeemed', entityId: 77, data: undefined }))).toEqual({
      objectType: 'giftCards',
      objectId: '77',
      eventType: 'UNKNOWN',
    });
    expect(normalizeWebhook(webhookBody({ eventType: 'gift_card.created', entityId: 'gc-1' }))).toEqual({
      objectType: 'giftCards',
      objectId: 'gc-1',
      eventType: 'CREATED',
    });
  });

  it('never takes a rule from Object.prototype (`constructor`, `toString`)', () => {
    expect(normalizeWebhook(webhookBody({ eventType: 'constructor.created', entityId: 5 }))).toEqual({
      objectType: 'constructors',
      objectId: '5',
      eventType: 'CREATED',
    });
    expect(normalizeWebhook(webhookBody({ eventType: 'order.toString' })).eventType).toBe('UNKNOWN');
  });
});

describe('objectId rules', () => {
  it('orders: data.orderId, else entityId', () => {
    expect(normalizeWebhook(webhookBody({ eventType: 'order.updated', entityId: 5, data: { orderId: 'AB1' } })).objectId).toBe('AB1');
    expect(normalizeWebhook(webhookBody({ eventType: 'order.updated', entityId: 5, data: { orderId: 123 } })).objectId).toBe('123');
    expect(normalizeWebhook(webhookBody({ eventType: 'order.updated', entityId: 5, data: { orderId: '' } })).objectId).toBe('5');
    expect(normalizeWebhook(webhookBody({ eventType: 'order.updated', entityId: 5, data: null })).objectId).toBe('5');
  });

  it('unfinished orders: data.orderId, else data.cartId, else entityId (-1 on some stores)', () => {
    const type = 'unfinished_order.updated';
    expect(normalizeWebhook(webhookBody({ eventType: type, entityId: -1, data: { orderId: 'RA1SD', cartId: 'C-1' } })).objectId).toBe('RA1SD');
    expect(normalizeWebhook(webhookBody({ eventType: type, entityId: -1, data: { cartId: 'C-1' } })).objectId).toBe('C-1');
    expect(normalizeWebhook(webhookBody({ eventType: type, entityId: -1, data: {} })).objectId).toBe('-1');
  });

  it('invoices: entityId, not the order in data', () => {
    expect(normalizeWebhook(webhookBody({ eventType: 'invoice.created', entityId: 31, data: { orderId: 'XJ12H' } })).objectId).toBe('31');
  });

  it('other entities ignore data.orderId', () => {
    expect(normalizeWebhook(webhookBody({ eventType: 'product.updated', entityId: 9, data: { orderId: 'XJ12H' } })).objectId).toBe('9');
  });

  it('application and profile: entityId, else storeId', () => {
    expect(normalizeWebhook(webhookBody({ eventType: 'application.installed', entityId: undefined, storeId: 1003 }))).toEqual({
      objectType: 'applications',
      objectId: '1003',
      eventType: 'UNKNOWN',
    });
    expect(normalizeWebhook(webhookBody({ eventType: 'profile.updated', entityId: null, storeId: '42' })).objectId).toBe('42');
    expect(normalizeWebhook(webhookBody({ eventType: 'profile.updated', entityId: 7, storeId: 42 })).objectId).toBe('7');
  });

  it('objectId is always a string', () => {
    for (const [eventType] of DOCUMENTED_TYPES) {
      expect(typeof normalizeWebhook(webhookBody({ eventType, entityId: 1, data: { orderId: 2 } })).objectId).toBe('string');
    }
  });
});

describe('ION event types', () => {
  it('maps an undocumented ION event_type to orders / UNKNOWN', () => {
    const rest = 'order_id=9&date=2024-03-01+12%3A00%3A00&payment_status=PAID&fulfillment_status=NEW';
    const ion = parseIonForm(`owner_id=1&event_type=order_deleted&${rest}`);
    expect(normalizeEcwidEvent(ion)).toEqual({ objectType: 'orders', objectId: '9', eventType: 'UNKNOWN' });
    expect(normalizeEcwidEvent(parseIonForm(`owner_id=1&event_type=constructor&${rest}`)).eventType).toBe('UNKNOWN');
  });
});

describe('pluralCamelCase', () => {
  it.each([
    ['gift_card', 'giftCards'],
    ['category', 'categories'],
    ['product_class', 'productClasses'],
    ['box', 'boxes'],
    ['survey', 'surveys'],
    ['order', 'orders'],
  ])('%s -> %s', (entity, plural) => {
    expect(pluralCamelCase(entity)).toBe(plural);
  });

  it('agrees with every row of the table (the table only adds objectId rules)', () => {
    for (const [entity, rule] of Object.entries(WEBHOOK_ENTITY_TABLE)) {
      expect(pluralCamelCase(entity)).toBe(rule.objectType);
    }
  });
});
