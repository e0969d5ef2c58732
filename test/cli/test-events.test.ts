import { parseIonForm } from '../../functions/core/ecwid/ion';
import { verifyEcwidWebhookSignature } from '../../functions/core/ecwid/signature';
import { parseWebhookJson } from '../../functions/core/ecwid/webhook';
import { normalizeEcwidEvent } from '../../functions/core/ecwid/normalize';
import { assertTestEventType, buildTestRequest, ionDate } from '../../cli/test-events';

const NOW = new Date('2024-05-06T16:28:06.500Z');
const base = { storeId: '1003', now: NOW, nonce: '0a1b2c3d4e5f6071', clientSecret: 'test_client_secret' };

describe('test events are what ingest accepts', () => {
  test.each(['order.created', 'order.updated', 'product.updated', 'customer.created', 'unfinished_order.created', 'application.installed', 'profile.updated'])(
    '%s: a signed JSON webhook the real parser and signature check accept',
    (type) => {
      const request = buildTestRequest({ ...base, type });
      expect(request.kind).toBe('webhook');
      expect(request.query).toBe(`?eventtype=${type}`);
      expect(request.headers['content-type']).toBe('application/json; charset=UTF-8');
      const parsed = parseWebhookJson(request.body);
      expect(parsed).toMatchObject({ eventId: 'test-0a1b2c3d4e5f6071', storeId: '1003', eventType: type, eventCreated: 1715012886 });
      expect(request.eventId).toBe(parsed.eventId);
      expect(verifyEcwidWebhookSignature(request.headers['x-ecwid-webhook-signature'], 'test_client_secret', parsed.eventCreated, parsed.eventId)).toBe(true);
      expect(verifyEcwidWebhookSignature(request.headers['x-ecwid-webhook-signature'], 'other_secret', parsed.eventCreated, parsed.eventId)).toBe(false);
    },
  );

  test('order events carry data.orderId like Ecwid, and normalize to the order', () => {
    const request = buildTestRequest({ ...base, type: 'order.updated', orderId: 'XJ12H' });
    const parsed = parseWebhookJson(request.body);
    expect(parsed.data).toMatchObject({ orderId: 'XJ12H', newPaymentStatus: 'PAID', oldPaymentStatus: 'AWAITING_PAYMENT' });
    expect(normalizeEcwidEvent(parsed)).toEqual({ objectType: 'orders', objectId: 'XJ12H', eventType: 'UPDATED' });
  });

  test.each([
    ['new_order', 'NEW', undefined],
    ['order_status_change', 'SHIPPED', 'NEW'],
  ])('%s: an unsigned ION form post the real parser accepts', (type, fulfillment, oldFulfillment) => {
    const request = buildTestRequest({ ...base, type, orderId: '124', clientSecret: undefined });
    expect(request).toMatchObject({ kind: 'ion', query: '', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(request.headers).not.toHaveProperty('x-ecwid-webhook-signature');
    const parsed = parseIonForm(request.body);
    expect(parsed).toMatchObject({ storeId: '1003', eventType: type, orderId: '124', date: '2024-05-06 16:28:06', fulfillmentStatus: fulfillment });
    expect(parsed.oldFulfillmentStatus).toBe(oldFulfillment);
  });

  test('two test events get different ids', () => {
    const a = buildTestRequest({ ...base, type: 'order.created' });
    const b = buildTestRequest({ ...base, nonce: 'ffffffffffffffff', type: 'order.created' });
    expect(a.eventId).not.toBe(b.eventId);
  });

  test('a webhook needs the client secret', () => {
    expect(() => buildTestRequest({ ...base, clientSecret: undefined, type: 'order.created' })).toThrow(/ecwid.client.secret/);
  });

  test.each(['order', 'Order Created', 'x', '../etc'])('"%s" is not an event type', (type) => {
    expect(() => assertTestEventType(type)).toThrow(/unknown event type/);
  });

  test('ionDate is YYYY-MM-DD hh:mm:ss', () => {
    expect(ionDate(NOW)).toBe('2024-05-06 16:28:06');
  });
});
