import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { EcwidApiClient } from '../../functions/adapters/http/ecwid-api-client';
import { DEMO_LABEL, maskSecrets, ordersIn, startDemoEcwidApi, type DemoEcwidApi } from '../../local/fake-ecwid-api';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', name), 'utf8');

const postOf = (contentType: string, body: string, base64: boolean): APIGatewayProxyEventV2 =>
  ({
    headers: { 'content-type': contentType },
    body: base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: base64,
  }) as unknown as APIGatewayProxyEventV2;

describe('ordersIn', () => {
  test('an ION post (base64 form, as API Gateway delivers it) names the order and its statuses', () => {
    const event = postOf('application/x-www-form-urlencoded', fixture('legacy-ion-cannon-order-status-change.CONSTRUCTED.txt'), true);
    expect(ordersIn(event)).toEqual({
      key: '12345/124',
      order: { orderId: '124', date: '2014-05-06 20:28:51', paymentStatus: 'ACCEPTED', fulfillmentStatus: 'SHIPPED' },
    });
  });

  test('an order webhook names data.orderId and the new statuses', () => {
    const event = postOf('application/json', fixture('modern-order-created.json'), false);
    expect(ordersIn(event)).toEqual({
      key: '1003/XJ12H',
      order: { orderId: 'XJ12H', paymentStatus: 'PAID', fulfillmentStatus: 'SHIPPED' },
    });
  });

  test.each([
    ['a product webhook', postOf('application/json', fixture('modern-product-created.json'), false)],
    ['bad JSON', postOf('application/json', '{', false)],
    ['a form without an order', postOf('application/x-www-form-urlencoded', 'owner_id=1', true)],
  ])('%s names no order', (_name, event) => {
    expect(ordersIn(event)).toBeUndefined();
  });
});

describe('the demo Ecwid API, read through the real API client', () => {
  let api: DemoEcwidApi;
  const lines: string[] = [];

  beforeAll(async () => {
    api = await startDemoEcwidApi((line) => lines.push(line));
  });
  afterAll(() => api.close());

  test('v1 answers an order with the statuses of the last notification seen, clearly labelled', async () => {
    const client = new EcwidApiClient({ baseUrl: api.baseUrl });
    expect(await client.getLegacyOrder('12345', 'order-key', '124')).toBeNull();

    api.observe(postOf('application/x-www-form-urlencoded', fixture('legacy-ion-cannon-new-order.CONSTRUCTED.txt'), true));
    expect(await client.getLegacyOrder('12345', 'order-key', '124')).toMatchObject({
      number: 124,
      paymentStatus: 'ACCEPTED',
      fulfillmentStatus: 'NEW',
      _localDemo: DEMO_LABEL,
    });
    api.observe(postOf('application/x-www-form-urlencoded', fixture('legacy-ion-cannon-order-status-change.CONSTRUCTED.txt'), true));
    expect(await client.getLegacyOrder('12345', 'order-key', '124')).toMatchObject({ fulfillmentStatus: 'SHIPPED' });
    // The key never reaches the log.
    expect(lines.join('\n')).not.toContain('order-key');
    expect(lines).toContain('demo Ecwid API: GET /api/v1/12345/orders?secure_auth_key=***&order=124');
  });

  test('v3 answers entities (orders with seen statuses) and needs a bearer token', async () => {
    const client = new EcwidApiClient({ baseUrl: api.baseUrl });
    api.observe(postOf('application/json', fixture('modern-order-updated.json'), false));
    expect(await client.getEntity('1003', 'secret_x', 'orders', 'B8HGD')).toEqual({
      id: 'B8HGD',
      paymentStatus: 'PAID',
      fulfillmentStatus: 'SHIPPED',
      _localDemo: DEMO_LABEL,
    });
    expect(await client.getEntity('1003', 'secret_x', 'products', '667251253')).toEqual({ id: 667251253, _localDemo: DEMO_LABEL });
    const noToken = await fetch(`${api.baseUrl}/v3/1003/orders/1`);
    expect(noToken.status).toBe(403);
    expect(api.requestCount).toBeGreaterThanOrEqual(3);
  });
});

test('maskSecrets hides keys and tokens in the query string', () => {
  expect(maskSecrets(new URL('http://x/api/v1/1/product?id=5&secure_auth_key=abc&token=t'))).toBe(
    '/api/v1/1/product?id=5&secure_auth_key=***&token=***',
  );
});
