import { normalizeEcwidEvent } from '../../../functions/core/ecwid/normalize';
import { describeObject } from '../../../functions/core/ecwid/objects';
import { parseWebhookJson } from '../../../functions/core/ecwid/webhook';
import { pollEvent } from '../../../functions/core/poll/events';
import { POLL_OBJECT_TYPES } from '../../../functions/core/poll/settings';

const UPDATED_AT = 1_714_564_800;
const receivedAt = '2024-05-01T12:00:00.000Z';

/** A listed object of each type, created long before its update or just before it. */
const listed = (id: number, createdAt: number) => ({ id, createTimestamp: createdAt, updateTimestamp: UPDATED_AT });

describe('pollEvent: a polled change normalizes like the webhook Ecwid would have sent', () => {
  const cases = POLL_OBJECT_TYPES.flatMap((objectType) => [
    { objectType, createdAt: UPDATED_AT - 3, action: 'created' },
    { objectType, createdAt: UPDATED_AT - 86_400, action: 'updated' },
  ]);

  it.each(cases)('$objectType, $action', ({ objectType, createdAt, action }) => {
    const item = listed(4242, createdAt);
    const change = describeObject(objectType, item)!;
    const event = pollEvent({ instanceId: 'shop-a', storeId: '1003', objectType, change, item, receivedAt });

    const webhook = parseWebhookJson(
      JSON.stringify({ eventId: 'e-1', eventCreated: UPDATED_AT, storeId: 1003, entityId: 4242, eventType: event.ecwidEventType }),
    );
    expect({ objectType: event.objectType, objectId: event.objectId, eventType: event.eventType }).toEqual(normalizeEcwidEvent(webhook));
    expect(event.objectType).toBe(objectType);
    expect(event.ecwidEventType).toMatch(new RegExp(`\\.${action}$`));
    expect(event.eventId).toBe(`poll:${objectType}:4242:${UPDATED_AT}`);
  });

  it('keeps the Ecwid types the poller has always sent', () => {
    const types = POLL_OBJECT_TYPES.map((objectType) => {
      const item = listed(1, UPDATED_AT);
      return pollEvent({ instanceId: 'shop-a', storeId: '1003', objectType, change: describeObject(objectType, item)!, item, receivedAt }).ecwidEventType;
    });
    expect(types).toEqual(['order.created', 'product.created', 'customer.created']);
  });
});
