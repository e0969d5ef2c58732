/**
 * The poller's Ecwid searches through the per-token budget (core/poll/budgeted-source.ts), against
 * the test kit's search stand-in over HTTP, with a fake clock: 429s are waited out by the budget,
 * slow the token down, and end as PollRateLimitedError when they outlast its wait.
 */
import { EcwidPollClient } from '../../functions/adapters/http/ecwid-poll-client';
import { EcwidApiBudget } from '../../functions/core/ecwid/api-budget';
import { BudgetedPollSource, POLL_ECWID_RATE_PER_SECOND } from '../../functions/core/poll/budgeted-source';
import { PollRateLimitedError } from '../../functions/core/poll/errors';
import type { EcwidApi, PollListRequest } from '../../functions/core/ports';
import { startEcwidSearchApi, type EcwidSearchApi } from '../../testkit/ecwid-api';

const TOKEN = 'secret_poll_token';
const unused = (): never => {
  throw new Error('not used by the poller');
};
const NO_ENTITIES: EcwidApi = { getEntity: unused, getLegacyOrder: unused, getLegacyProduct: unused };

let server: EcwidSearchApi;
let now: number;
let slept: number[];

const request = (offset = 0): PollListRequest => ({
  storeId: '1003',
  accessToken: TOKEN,
  objectType: 'orders',
  updatedFrom: 1_714_540_000,
  updatedTo: 1_714_550_000,
  offset,
  limit: 100,
});

function budgeted(maxWaitMs = 30_000) {
  const budget = new EcwidApiBudget(NO_ENTITIES, {
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    ratePerSecond: POLL_ECWID_RATE_PER_SECOND,
    maxWaitMs,
  });
  const client = new EcwidPollClient({ baseUrl: server.baseUrl, onTooManyRequests: 'throw', sleep: async () => unused() });
  return { budget, source: new BudgetedPollSource(client, budget) };
}

beforeEach(async () => {
  now = 1_000_000;
  slept = [];
  server = await startEcwidSearchApi('1003', TOKEN);
});
afterEach(() => server.close());

test('searches of one token are paced at the poller’s share (2 a second), not the client’s own retries', async () => {
  server.store.createOrder(1_714_541_000);
  const { source, budget } = budgeted();
  for (let page = 0; page < 5; page++) expect((await source.list(request(page))).total).toBe(1);
  expect(server.requests).toHaveLength(5);
  // 5 requests at 2 a second: 4 waits of 500 ms.
  expect(slept).toEqual([500, 500, 500, 500]);
  expect(budget.stats).toMatchObject({ requests: 5, tooManyRequests: 0 });
});

test('a 429 is waited out by the budget (Retry-After) and slows the token down; the search then succeeds', async () => {
  server.rateLimitNext(1, 3);
  const { source, budget } = budgeted();
  expect((await source.list(request())).total).toBe(0);
  expect(server.requests.map((r) => r.status)).toEqual([429, 200]);
  expect(slept).toEqual([3000]);
  expect(budget.stats.tooManyRequests).toBe(1);
  // Halved pace: the next request of this token waits 1 s instead of 500 ms.
  await source.list(request(1));
  expect(slept.at(-1)).toBe(1000);
});

test('429s beyond the wait end the poll as rate-limited (progress kept), never as a failure', async () => {
  server.rateLimitNext(10, 20);
  const { source } = budgeted(30_000);
  const error = await source.list(request()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PollRateLimitedError);
  expect((error as Error).message).not.toContain(TOKEN);
  // Retry-After 20 s was waited once; the second one would pass the 30 s the poller may wait.
  expect(slept).toEqual([20_000]);
  expect(server.requests).toHaveLength(2);
});
