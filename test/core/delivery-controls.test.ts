import { KNOWN_WEBHOOK_EVENT_TYPES } from '../../functions/core/ecwid/event-types';
import {
  acceptsEventType,
  deliveryControlsOf,
  DeliverySlots,
  fairShare,
  parseEventTypeFilter,
  takeToken,
} from '../../functions/core/delivery-controls';
import { CONFIG_KEYS, type InstanceDocument } from '../../functions/core/instance';
import { checkInstanceDocument } from '../../functions/core/instance-validation';

const doc = (extra: Record<string, string | number | boolean>): InstanceDocument => ({
  configuration: { [CONFIG_KEYS.storeId]: '1003', [CONFIG_KEYS.callbackUrl]: 'https://receiver.example.com/hook', ...extra },
});

describe('event-type filter', () => {
  test('Ecwid documents 42 webhook types, each known to the filter', () => {
    expect(KNOWN_WEBHOOK_EVENT_TYPES).toHaveLength(42);
    expect(new Set(KNOWN_WEBHOOK_EVENT_TYPES).size).toBe(42);
    const { filter, warnings } = parseEventTypeFilter(KNOWN_WEBHOOK_EVENT_TYPES.join(','));
    expect(warnings).toEqual([]);
    expect(filter?.patterns).toHaveLength(42);
  });

  test('order.* takes every order event, ION posts included, and nothing else', () => {
    const { filter } = parseEventTypeFilter('order.*');
    for (const type of ['order.created', 'order.updated', 'order.deleted', 'new_order', 'order_status_change']) {
      expect(acceptsEventType(filter, type)).toBe(true);
    }
    for (const type of ['product.updated', 'unfinished_order.created', 'orders.created', 'application.installed']) {
      expect(acceptsEventType(filter, type)).toBe(false);
    }
  });

  test('exact types, commas or spaces, any case; ION names stand for their webhook type', () => {
    const { filter, errors } = parseEventTypeFilter(' Product.Updated,  new_order\tcustomer.created ');
    expect(errors).toEqual([]);
    expect(filter?.patterns).toEqual(['product.updated', 'order.created', 'customer.created']);
    expect(acceptsEventType(filter, 'product.updated')).toBe(true);
    expect(acceptsEventType(filter, 'product.created')).toBe(false);
    expect(acceptsEventType(filter, 'order.created')).toBe(true);
    expect(acceptsEventType(filter, 'new_order')).toBe(true);
    expect(acceptsEventType(filter, 'order_status_change')).toBe(false);
  });

  test('* takes everything, and no filter takes everything', () => {
    expect(acceptsEventType(parseEventTypeFilter('*').filter, 'gift_card.redeemed')).toBe(true);
    expect(acceptsEventType(undefined, 'gift_card.redeemed')).toBe(true);
  });

  test('unknown types are warnings (kept: Ecwid adds types); malformed ones are errors', () => {
    const known = parseEventTypeFilter('ordr.created, order.shipped, gift_card.*');
    expect(known.errors).toEqual([]);
    expect(known.warnings).toEqual([
      `"ordr.created" is not one of Ecwid's documented event types (check the spelling)`,
      `"order.shipped" is not one of Ecwid's documented event types (check the spelling)`,
      '"gift_card.*": Ecwid documents no gift_card.* events (check the spelling)',
    ]);
    expect(acceptsEventType(known.filter, 'gift_card.redeemed')).toBe(true);
    const bad = parseEventTypeFilter('order, *.created, order.*.x');
    expect(bad.filter).toBeUndefined();
    expect(bad.errors).toHaveLength(3);
    expect(bad.errors[0]).toMatch(/^"order" is not an event type: use entity.action/);
    expect(parseEventTypeFilter(' , ').errors).toEqual(['lists no event type (leave the key out to deliver every type)']);
  });
});

describe('the control keys of an instance', () => {
  test('read through configOf, numbers checked', () => {
    const { controls, errors } = deliveryControlsOf(
      doc({
        [CONFIG_KEYS.eventTypes]: 'order.*',
        [CONFIG_KEYS.rateLimit]: '2.5',
        [CONFIG_KEYS.maxConcurrency]: 3,
        [CONFIG_KEYS.operationsUrl]: 'https://ops.example.com/notices',
      }),
    );
    expect(errors).toEqual([]);
    expect(controls).toEqual({
      filter: { patterns: ['order.*'] },
      limits: { ratePerSecond: 2.5, maxConcurrency: 3 },
      operationsUrl: 'https://ops.example.com/notices',
    });
    expect(deliveryControlsOf(doc({})).controls).toEqual({ limits: {} });
  });

  test('the CLI validation reports bad keys as errors and unknown types as warnings, naming the key', () => {
    const result = checkInstanceDocument(
      doc({
        [CONFIG_KEYS.eventTypes]: 'order.*, ordr.updated',
        [CONFIG_KEYS.rateLimit]: 'fast',
        [CONFIG_KEYS.maxConcurrency]: '2.5',
        [CONFIG_KEYS.operationsUrl]: 'ftp://ops.example.com',
      }),
    );
    expect(result.errors).toEqual([
      { path: CONFIG_KEYS.rateLimit, message: 'must be a number above 0 and at most 1000' },
      { path: CONFIG_KEYS.maxConcurrency, message: 'must be a whole number above 0 and at most 100' },
      { path: CONFIG_KEYS.operationsUrl, message: 'must be an https:// URL' },
    ]);
    expect(result.warnings).toContainEqual({
      path: CONFIG_KEYS.eventTypes,
      message: `"ordr.updated" is not one of Ecwid's documented event types (check the spelling)`,
    });
    expect(result.warnings.map((w) => w.message)).not.toContain('unknown configuration key, ignored');
  });
});

describe('rate limit: a token bucket', () => {
  test('starts full (burst), then one token per 1/rate seconds', () => {
    let take = takeToken(undefined, 0, 2);
    expect(take.granted).toBe(true);
    take = takeToken(take.bucket, 0, 2);
    expect(take.granted).toBe(true);
    take = takeToken(take.bucket, 0, 2);
    expect(take).toMatchObject({ granted: false, waitMs: 500 });
    take = takeToken(take.bucket, 499, 2);
    expect(take.granted).toBe(false);
    take = takeToken(take.bucket, 500, 2);
    expect(take.granted).toBe(true);
  });

  test('a rate below one per second waits whole intervals and never saves more than the burst', () => {
    let take = takeToken(undefined, 0, 0.2);
    expect(take.granted).toBe(true);
    take = takeToken(take.bucket, 1000, 0.2);
    expect(take).toMatchObject({ granted: false, waitMs: 4000 });
    // An hour idle fills the bucket to its burst (1), not to 720.
    take = takeToken(take.bucket, 3_600_000, 0.2);
    expect(take.granted).toBe(true);
    expect(takeToken(take.bucket, 3_600_000, 0.2).granted).toBe(false);
  });
});

describe('concurrency: fair share', () => {
  test('one receiver alone gets half the slots; k busy receivers get an equal share; always at least one', () => {
    expect(fairShare(10, 1)).toBe(5);
    expect(fairShare(10, 2)).toBe(5);
    expect(fairShare(10, 3)).toBe(3);
    expect(fairShare(10, 40)).toBe(1);
    expect(fairShare(10, 1, 2)).toBe(2);
  });

  test('a slow receiver holding its share leaves slots for the healthy ones', () => {
    const slots = new DeliverySlots(10);
    let slow = 0;
    while (slots.tryStart('slow', {}, 0).ok) slow++;
    expect(slow).toBe(5);
    expect(slots.tryStart('slow', {}, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
    // Healthy receivers still start requests.
    for (const receiver of ['a', 'b', 'c']) expect(slots.tryStart(receiver, {}, 0)).toEqual({ ok: true });
    expect(slots.inFlight()).toBe(8);
    // Now 4 are busy: the share is 2 each; 'a' may have one more, 'slow' none.
    expect(slots.tryStart('a', {}, 0)).toEqual({ ok: true });
    expect(slots.tryStart('a', {}, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
    expect(slots.tryStart('d', {}, 0)).toEqual({ ok: true });
    expect(slots.tryStart('e', {}, 0)).toMatchObject({ ok: false, reason: 'capacity' });
    slots.finish('slow');
    expect(slots.inFlight('slow')).toBe(4);
    expect(() => new DeliverySlots(0)).toThrow(/at least 1/);
  });

  test('an instance cap and a rate limit apply per receiver', () => {
    const slots = new DeliverySlots(10);
    expect(slots.tryStart('capped', { maxConcurrency: 1 }, 0)).toEqual({ ok: true });
    expect(slots.tryStart('capped', { maxConcurrency: 1 }, 0)).toMatchObject({ ok: false, reason: 'concurrency' });
    expect(slots.tryStart('limited', { ratePerSecond: 1 }, 0)).toEqual({ ok: true });
    expect(slots.tryStart('limited', { ratePerSecond: 1 }, 10)).toMatchObject({ ok: false, reason: 'rate', retryInMs: 990 });
    expect(slots.inFlight('limited')).toBe(1);
    expect(() => slots.finish('nobody')).toThrow(/no request of nobody/);
  });
});
