import { EcwidApiClient, EcwidApiError } from '../../functions/adapters/http/ecwid-api-client';
import { redactSecretQueryParams } from '../../functions/core/ecwid/secrets';
import { USER_AGENT } from '../../functions/adapters/http/request';
import { fixtureJson } from '../../testkit/fixtures';
import { rawServer, startServer, type TestServer } from '../../testkit/servers';

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

  it('times out when the answer starts but the body never ends', async () => {
    const stalling = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"orders":[');
    });
    try {
      const quick = new EcwidApiClient({ baseUrl: `${stalling.origin}/api`, timeoutMs: 100 });
      expect((await failure(quick.getEntity('1003', TOKEN, 'orders', '1'))).message).toBe('Ecwid API GET /v3/1003/orders/1 failed: timed out');
    } finally {
      await stalling.close();
    }
  });

  it('sends our User-Agent and keeps one connection alive across calls, clients and outcomes (no fetch)', async () => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch');
    try {
      ecwid.reply = (request) => (request.url.endsWith('/404') ? { status: 404, body: { errorMessage: 'gone' } } : { status: 200, body: { id: 1 } });
      await client.getEntity('1003', TOKEN, 'products', '1');
      await client.getEntity('1003', TOKEN, 'products', '404');
      await new EcwidApiClient({ baseUrl: `${ecwid.origin}/api` }).getLegacyProduct('1003', 'PK', '1');

      expect(ecwid.requests).toHaveLength(3);
      expect(ecwid.requests[0].headers).toMatchObject({ accept: 'application/json', 'user-agent': USER_AGENT });
      expect(ecwid.connections()).toBe(1);
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('retries once on a fresh connection when the kept-alive one was closed by Ecwid', async () => {
    // Every connection is reset on its second request, as when the server dropped an idle one.
    const perSocket = new WeakMap<object, number>();
    const resetting = await rawServer((req, res) => {
      const seen = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, seen);
      if (seen > 1) req.socket.destroy();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":7}');
    });
    try {
      const api = new EcwidApiClient({ baseUrl: `${resetting.origin}/api`, timeoutMs: 1000 });
      expect(await api.getEntity('1003', TOKEN, 'customers', '7')).toEqual({ id: 7 });
      expect(await api.getEntity('1003', TOKEN, 'customers', '7')).toEqual({ id: 7 });
      expect(resetting.connections()).toBe(2);
    } finally {
      await resetting.close();
    }
  });

  it('reports a body cut short, and a base URL that is not http(s), without the key', async () => {
    const cutting = await rawServer((req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('{"orders":[', () => req.socket.destroy());
    });
    try {
      const api = new EcwidApiClient({ baseUrl: `${cutting.origin}/api`, timeoutMs: 1000 });
      expect((await failure(api.getLegacyOrder('12345', ORDER_KEY, '124'))).message).toBe(
        'Ecwid API GET /v1/12345/orders?secure_auth_key=***&order=124 failed: ECONNRESET',
      );
    } finally {
      await cutting.close();
    }
    const ftp = new EcwidApiClient({ baseUrl: 'ftp://127.0.0.1/api' });
    const error = await failure(ftp.getLegacyOrder('12345', ORDER_KEY, '124'));
    expect(error.message).toBe('Ecwid API GET /v1/12345/orders?secure_auth_key=***&order=124 failed: ERR_INVALID_PROTOCOL');
    expect(JSON.stringify(error) + String(error.stack)).not.toContain(ORDER_KEY);
  });
});

/** A bare local server for answers the shared test server cannot give (partial bodies, resets). */

describe('redactSecretQueryParams', () => {
  it('masks key and token query values in any text', () => {
    expect(redactSecretQueryParams('GET https://x/api/v1/1/orders?secure_auth_key=abc&order=1 and ?token=secret_x')).toBe(
      'GET https://x/api/v1/1/orders?secure_auth_key=***&order=1 and ?token=***',
    );
  });
});
