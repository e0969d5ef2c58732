import { EcwidApiClient, EcwidApiError, redactSecretQueryParams } from '../../functions/core/ecwid/api-client';
import { fixtureJson, startServer, type TestServer } from './deliver-support';

const ORDER_KEY = 'ORDERKEY-c0ffee42';
const TOKEN = 'secret_t0k3nABC';

describe('EcwidApiClient (against a local fake Ecwid API)', () => {
  let ecwid: TestServer;
  let client: EcwidApiClient;

  beforeEach(async () => {
    ecwid = await startServer();
    client = new EcwidApiClient({ baseUrl: `${ecwid.origin}/api`, timeoutMs: 1000 });
  });
  afterEach(async () => {
    await ecwid.close();
  });

  /** The error a call rejects with (fails the test when it resolves). */
  async function failure(call: Promise<unknown>): Promise<EcwidApiError> {
    const error = await call.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(EcwidApiError);
    return error as EcwidApiError;
  }

  it('reads a legacy v1 order by number with the Order API key', async () => {
    const response = fixtureJson<{ orders: unknown[] }>('legacy-order-api-v1-orders-response.json');
    ecwid.reply = () => ({ status: 200, body: response });

    expect(await client.getLegacyOrder('12345', ORDER_KEY, '124')).toEqual(response.orders[0]);
    expect(ecwid.requests[0].url).toBe(`/api/v1/12345/orders?secure_auth_key=${ORDER_KEY}&order=124`);
  });

  it('answers null when v1 finds no order, or only another one', async () => {
    ecwid.reply = () => ({ status: 200, body: { count: 0, total: 0, orders: [] } });
    expect(await client.getLegacyOrder('12345', ORDER_KEY, '124')).toBeNull();
    ecwid.reply = () => ({ status: 200, body: { count: 1, total: 1, orders: [{ number: 125 }] } });
    expect(await client.getLegacyOrder('12345', ORDER_KEY, '124')).toBeNull();
  });

  it('reads a v3 entity with the bearer token, and answers null on 404', async () => {
    ecwid.reply = (request) => (request.url.endsWith('/7') ? { status: 200, body: { id: 7 } } : { status: 404 });
    expect(await client.getEntity('1003', TOKEN, 'customers', '7')).toEqual({ id: 7 });
    expect(ecwid.requests[0]).toMatchObject({ url: '/api/v3/1003/customers/7', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await client.getEntity('1003', TOKEN, 'customers', '8')).toBeNull();
  });

  it('reads a legacy v1 product with the Product API key', async () => {
    ecwid.reply = () => ({ status: 200, body: { id: 5 } });
    expect(await client.getLegacyProduct('1003', 'PK', '5')).toEqual({ id: 5 });
    expect(ecwid.requests[0].url).toBe('/api/v1/1003/product?id=5&secure_auth_key=PK');
  });

  it('escapes ids into the path', async () => {
    ecwid.reply = () => ({ status: 404 });
    await client.getEntity('1003', TOKEN, 'orders', '../profile?x=1');
    expect(ecwid.requests[0].url).toBe('/api/v3/1003/orders/..%2Fprofile%3Fx%3D1');
  });

  it('throws a redacted error for a failed v1 call: the key never appears', async () => {
    ecwid.reply = () => ({ status: 500, body: 'boom' });
    const error = await failure(client.getLegacyOrder('12345', ORDER_KEY, '124'));
    expect(error.message).toBe('Ecwid API GET /v1/12345/orders?secure_auth_key=***&order=124 answered HTTP 500');
    expect(error.status).toBe(500);
    expect(JSON.stringify(error) + String(error.stack)).not.toContain(ORDER_KEY);
  });

  it('passes Retry-After of a 429', async () => {
    ecwid.reply = () => ({ status: 429, headers: { 'retry-after': '30' } });
    const error = await failure(client.getEntity('1003', TOKEN, 'products', '1'));
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 30 });
    expect(error.message).not.toContain(TOKEN);
  });

  it('does not follow a redirect', async () => {
    ecwid.reply = () => ({ status: 302, headers: { location: `${ecwid.origin}/elsewhere` } });
    const error = await failure(client.getEntity('1003', TOKEN, 'products', '1'));
    expect(error.status).toBe(302);
    expect(ecwid.requests).toHaveLength(1);
  });

  it('throws on a 200 that is not a JSON object', async () => {
    ecwid.reply = () => ({ status: 200, body: 'not json{' });
    expect((await failure(client.getEntity('1003', TOKEN, 'products', '1'))).message).toContain('not JSON');
    ecwid.reply = () => ({ status: 200, body: [1, 2] });
    expect((await failure(client.getEntity('1003', TOKEN, 'products', '1'))).message).toContain('non-object');
  });

  it('times out, and reports network errors by code, without the key', async () => {
    ecwid.reply = () => ({ status: 200, hang: true });
    const quick = new EcwidApiClient({ baseUrl: `${ecwid.origin}/api`, timeoutMs: 100 });
    expect((await failure(quick.getLegacyOrder('12345', ORDER_KEY, '124'))).message).toBe(
      'Ecwid API GET /v1/12345/orders?secure_auth_key=***&order=124 failed: timed out',
    );

    const closed = await startServer();
    await closed.close();
    const nowhere = new EcwidApiClient({ baseUrl: `${closed.origin}/api` });
    const error = await failure(nowhere.getLegacyOrder('12345', ORDER_KEY, '124'));
    expect(error.message).toBe('Ecwid API GET /v1/12345/orders?secure_auth_key=***&order=124 failed: ECONNREFUSED');
  });
});

describe('redactSecretQueryParams', () => {
  it('masks key and token query values in any text', () => {
    expect(redactSecretQueryParams('GET https://x/api/v1/1/orders?secure_auth_key=abc&order=1 and ?token=secret_x')).toBe(
      'GET https://x/api/v1/1/orders?secure_auth_key=***&order=1 and ?token=***',
    );
  });
});
