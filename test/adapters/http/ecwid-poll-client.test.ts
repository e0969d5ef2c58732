import { EcwidApiError } from '../../../functions/adapters/http/ecwid-api-client';
import { EcwidPollClient } from '../../../functions/adapters/http/ecwid-poll-client';
import { PollAuthError, PollRateLimitedError } from '../../../functions/core/poll/errors';
import { type PollListRequest } from '../../../functions/core/ports';
import { closedPort } from '../../support/moto';
import { startEcwidSearchApi, type EcwidSearchApi } from '../../../testkit/ecwid-api';

const TOKEN = 'secret_fake_token';
let server: EcwidSearchApi;
let waits: number[];

const request = (overrides: Partial<PollListRequest> = {}): PollListRequest => ({
  storeId: '1003',
  accessToken: TOKEN,
  objectType: 'orders',
  updatedFrom: 1_714_540_000,
  updatedTo: 1_714_550_000,
  offset: 0,
  limit: 100,
  ...overrides,
});

const client = (options: Partial<ConstructorParameters<typeof EcwidPollClient>[0]> = {}) =>
  new EcwidPollClient({ baseUrl: server.baseUrl, sleep: async (ms) => void waits.push(ms), ...options });

beforeEach(async () => {
  waits = [];
  server = await startEcwidSearchApi('1003', TOKEN);
});
afterEach(() => server.close());

test('GET /v3/{storeId}/{type} with the window, the page and the bearer token; answers { total, items }', async () => {
  for (let i = 0; i < 3; i++) server.store.createOrder(1_714_541_000 + i);
  server.store.createOrder(1_714_560_000); // after updatedTo

  const page = await client().list(request({ limit: 2, offset: 1 }));

  expect(page.total).toBe(3);
  expect(page.items.map((item) => item.updateTimestamp)).toEqual([1_714_541_001, 1_714_541_000]);
  expect(server.requests.map(({ path, query, authorization, status }) => ({ path, query, authorization, status }))).toEqual([
    {
      path: '/api/v3/1003/orders',
      query: { updatedFrom: '1714540000', updatedTo: '1714550000', offset: '1', limit: '2' },
      authorization: `Bearer ${TOKEN}`,
      status: 200,
    },
  ]);
});

test('429 with Retry-After: waits as told, then succeeds', async () => {
  server.rateLimitNext(2, 3);
  const retries: unknown[] = [];
  const page = await client({ onRetry: (info) => retries.push(info) }).list(request());
  expect(page.total).toBe(0);
  expect(waits).toEqual([3000, 3000]);
  expect(retries).toEqual([
    { status: 429, waitSeconds: 3, attempt: 1 },
    { status: 429, waitSeconds: 3, attempt: 2 },
  ]);
});

test('still 429 after the retries: PollRateLimitedError; a Retry-After beyond the longest wait gives up at once', async () => {
  server.rateLimitNext(10, 1);
  await expect(client({ maxRetries: 2 }).list(request())).rejects.toThrow(PollRateLimitedError);
  expect(waits).toEqual([1000, 1000]);

  waits = [];
  server.rateLimitNext(1, 3600);
  const error = await client().list(request()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PollRateLimitedError);
  expect((error as PollRateLimitedError).retryAfterSeconds).toBe(3600);
  expect(waits).toEqual([]);
});

test.each([
  ['a wrong token', 'secret_wrong', 403],
  ['an expired token', 'secret_expired', 401],
])('%s: PollAuthError at once (no retry), and the token is in no message', async (_label, token, status) => {
  server.expiredTokens.add('secret_expired');
  const error = await client().list(request({ accessToken: token })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PollAuthError);
  expect((error as PollAuthError).status).toBe(status);
  expect((error as Error).message).toBe(
    `Ecwid API GET /v3/1003/orders?updatedFrom=1714540000&updatedTo=1714550000&offset=0&limit=100 answered HTTP ${status}: the access token is not accepted`,
  );
  expect((error as Error).message).not.toContain(token);
  expect(server.requests).toHaveLength(1);
  expect(waits).toEqual([]);
});

test('a 404 (unknown store) is not retried', async () => {
  const error = await client().list(request({ storeId: '999' })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(EcwidApiError);
  expect((error as EcwidApiError).status).toBe(404);
  expect(server.requests).toHaveLength(1);
});

test('5xx, timeouts and network errors are retried with backoff, then reported without the token', async () => {
  server.answerNext({ status: 503, body: '{}' }, { status: 502, body: 'Bad Gateway' });
  await expect(client().list(request())).resolves.toEqual({ total: 0, items: [] });
  expect(server.requests.map((r) => r.status)).toEqual([503, 502, 200]);
  expect(waits).toEqual([2000, 4000]);

  waits = [];
  server.answerNext({ hang: true });
  await expect(client({ timeoutMs: 100 }).list(request())).resolves.toEqual({ total: 0, items: [] });
  expect(waits).toEqual([2000]);

  waits = [];
  server.answerNext({ hang: true }, { hang: true });
  const timedOut = await client({ timeoutMs: 100, maxRetries: 1 }).list(request()).catch((e: unknown) => e);
  expect(timedOut).toBeInstanceOf(EcwidApiError);
  expect((timedOut as Error).message).toBe(
    'Ecwid API GET /v3/1003/orders?updatedFrom=1714540000&updatedTo=1714550000&offset=0&limit=100 failed: timed out (gave up after 2 attempts)',
  );

  waits = [];
  const port = await closedPort();
  const error = await new EcwidPollClient({ baseUrl: `http://127.0.0.1:${port}/api`, maxRetries: 1, sleep: async (ms) => void waits.push(ms) })
    .list(request())
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(EcwidApiError);
  expect((error as Error).message).toMatch(/failed: ECONNREFUSED \(gave up after 2 attempts\)$/);
  expect((error as Error).message).not.toContain(TOKEN);
  expect(waits).toEqual([2000]);
});

test('a 5xx with Retry-After waits as told; a 3xx is an answer, not followed', async () => {
  server.answerNext({ status: 503, body: '{}', headers: { 'retry-after': '7' } });
  await client().list(request());
  expect(waits).toEqual([7000]);

  server.answerNext({ status: 302, body: '', headers: { location: `${server.baseUrl}/v3/1003/orders` } });
  const error = await client().list(request()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(EcwidApiError);
  expect((error as EcwidApiError).status).toBe(302);
  expect(server.requests.map((r) => r.status)).toEqual([503, 200, 302]);
});

test('a 200 that is not a search result, or not JSON, is an error', async () => {
  server.answerNext({ status: 200, body: JSON.stringify({ items: 'nope' }) });
  await expect(client().list(request())).rejects.toThrow('answered 200 without { total, items }');
  server.answerNext({ status: 200, body: '{"total": 1, "items": [' });
  await expect(client().list(request())).rejects.toThrow('answered 200 with a body that is not JSON');
  expect(waits).toEqual([]);
});

test('pages go over one kept-alive connection through node:http, not fetch', async () => {
  const fetchSpy = jest.spyOn(globalThis, 'fetch');
  try {
    for (let i = 0; i < 5; i++) server.store.createOrder(1_714_541_000 + i);
    const poller = client();
    const first = await poller.list(request({ limit: 2 }));
    const second = await poller.list(request({ limit: 2, offset: 2 }));
    await client().list(request({ limit: 2, offset: 4 }));

    expect([first.total, first.items.length, second.items.length]).toEqual([5, 2, 2]);
    expect(server.requests).toHaveLength(3);
    expect(server.connections()).toBe(1);
    expect(fetchSpy).not.toHaveBeenCalled();
  } finally {
    fetchSpy.mockRestore();
  }
});
