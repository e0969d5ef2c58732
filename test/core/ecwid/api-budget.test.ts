import { EcwidApiBudget, EcwidBudgetExhaustedError, tooManyRequestsRetryAfter } from '../../../functions/core/ecwid/api-budget';
import type { EcwidApi } from '../../../functions/core/ports';
import { verifyIonEvent } from '../../../functions/core/ecwid/verify';
import { CONFIG_KEYS } from '../../../functions/core/instance';
import { instance, ionEvent } from '../deliver-support';

/** A hand-driven clock whose sleeps advance it. */
function clock() {
  const state = { now: 1_000_000 };
  return { state, now: () => state.now, sleep: async (ms: number) => void (state.now += ms) };
}

class TooManyRequests extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super('429');
  }
}
const retryAfterOf = (error: unknown) => (error instanceof TooManyRequests ? error.retryAfterSeconds : undefined);
/** The read options of an event received at epoch ms `ms`. */
const at = (ms: number) => ({ receivedAt: new Date(ms).toISOString() });

function api(answer: (id: string) => Promise<Record<string, unknown> | null> = async (id) => ({ id })) {
  const calls: string[] = [];
  const reads: EcwidApi = {
    getEntity: async (_store, _token, _collection, id) => {
      calls.push(id);
      return answer(id);
    },
    getLegacyOrder: async (_store, _key, number) => {
      calls.push(`legacy:${number}`);
      return answer(number);
    },
    getLegacyProduct: async () => null,
  };
  return { reads, calls };
}

test('reads of one entity in flight together share one request', async () => {
  const c = clock();
  let release!: () => void;
  const { reads, calls } = api(() => new Promise((resolve) => (release = () => resolve({ id: 'o1', v: 1 }))));
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf });
  const receivedAt = c.state.now - 10;
  const all = Promise.all([1, 2, 3].map(() => budget.getEntity('7', 'tok', 'orders', 'o1', at(receivedAt))));
  await Promise.resolve();
  release();
  await expect(all).resolves.toEqual([{ id: 'o1', v: 1 }, { id: 'o1', v: 1 }, { id: 'o1', v: 1 }]);
  expect(calls).toEqual(['o1']);
  expect(budget.stats).toMatchObject({ requests: 1, saved: 2 });
});

test('an entity is reused only for events received before its request started, and only for entityMaxAgeMs', async () => {
  const c = clock();
  const { reads, calls } = api();
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, entityMaxAgeMs: 10_000 });
  await budget.getEntity('7', 'tok', 'orders', 'o1', at(c.state.now - 500));
  // An update received before that fetch: served from it.
  await budget.getEntity('7', 'tok', 'orders', 'o1', at(c.state.now - 100));
  expect(calls).toHaveLength(1);
  // An update received after it: fetched again (the cached order may predate the update).
  c.state.now += 50;
  await budget.getEntity('7', 'tok', 'orders', 'o1', at(c.state.now - 1));
  expect(calls).toHaveLength(2);
  // Too old: fetched again even for an older event.
  c.state.now += 10_001;
  await budget.getEntity('7', 'tok', 'orders', 'o1', at(0));
  expect(calls).toHaveLength(3);
});

test('different stores, objects or tokens never share an answer', async () => {
  const c = clock();
  const { reads, calls } = api();
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf });
  await budget.getEntity('7', 'tok', 'orders', 'o1', at(0));
  await budget.getEntity('8', 'tok', 'orders', 'o1', at(0));
  await budget.getEntity('7', 'tok', 'products', 'o1', at(0));
  await budget.getEntity('7', 'other', 'orders', 'o1', at(0));
  expect(calls).toHaveLength(4);
});

test('requests of one token are paced at ratePerSecond', async () => {
  const c = clock();
  const starts: number[] = [];
  const { reads } = api(async (id) => {
    starts.push(c.state.now);
    return { id };
  });
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, ratePerSecond: 10 });
  const t0 = c.state.now;
  for (let i = 0; i < 5; i++) await budget.getEntity('7', 'tok', 'orders', `o${i}`, at(0));
  expect(starts.map((t) => t - t0)).toEqual([0, 100, 200, 300, 400]);
});

test('a 429 is waited out (Retry-After) and the request made again; the rate is halved', async () => {
  const c = clock();
  let first = true;
  const starts: number[] = [];
  const { reads } = api(async (id) => {
    starts.push(c.state.now);
    if (first) {
      first = false;
      throw new TooManyRequests(2);
    }
    return { id };
  });
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, maxWaitMs: 5_000 });
  const t0 = c.state.now;
  await expect(budget.getEntity('7', 'tok', 'orders', 'o1', at(0))).resolves.toEqual({ id: 'o1' });
  expect(starts.map((t) => t - t0)).toEqual([0, 2000]);
  expect(budget.stats).toMatchObject({ requests: 2, tooManyRequests: 1 });
  // Halved: two requests now start 200 ms apart.
  const before = starts.length;
  await budget.getEntity('7', 'tok', 'orders', 'o2', at(0));
  await budget.getEntity('7', 'tok', 'orders', 'o3', at(0));
  expect(starts[before + 1] - starts[before]).toBe(200);
});

test('a 429 whose wait would exceed maxWaitMs reaches the caller; a failure is not cached', async () => {
  const c = clock();
  const { reads, calls } = api(async () => Promise.reject(new TooManyRequests(30)));
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, maxWaitMs: 5_000 });
  await expect(budget.getEntity('7', 'tok', 'orders', 'o1', at(0))).rejects.toBeInstanceOf(TooManyRequests);
  // The token is cooling down for 30 s: the next read fails at once, without a request.
  await expect(budget.getEntity('7', 'tok', 'orders', 'o1', at(0))).rejects.toBeInstanceOf(EcwidBudgetExhaustedError);
  expect(calls).toHaveLength(1);
});

test('other failures pass through untouched', async () => {
  const c = clock();
  const { reads } = api(async () => Promise.reject(new Error('socket hang up')));
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf });
  await expect(budget.getEntity('7', 'tok', 'orders', 'o1', at(0))).rejects.toThrow('socket hang up');
});

test('legacy reads are paced by their key and never reused', async () => {
  const c = clock();
  const { reads, calls } = api();
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, ratePerSecond: 2 });
  const t0 = c.state.now;
  await budget.getLegacyOrder('7', 'order-key', '12');
  await budget.getLegacyOrder('7', 'order-key', '12');
  expect(calls).toEqual(['legacy:12', 'legacy:12']);
  expect(c.state.now - t0).toBe(500);
});

test('without receivedAt (the poller) nothing earlier is reused', async () => {
  const c = clock();
  const { reads, calls } = api();
  const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf });
  await budget.getEntity('7', 'tok', 'orders', 'o1');
  await budget.getEntity('7', 'tok', 'orders', 'o1');
  expect(calls).toHaveLength(2);
});

test('tooManyRequestsRetryAfter reads the Ecwid client\'s 429', () => {
  expect(tooManyRequestsRetryAfter({ status: 429, retryAfterSeconds: 3 })).toBe(3);
  expect(tooManyRequestsRetryAfter({ status: 429 })).toBe(1);
  expect(tooManyRequestsRetryAfter({ status: 503, retryAfterSeconds: 3 })).toBeUndefined();
  expect(tooManyRequestsRetryAfter(new Error('x'))).toBeUndefined();
});

describe('unsigned (ION) verifications use only a share of the token', () => {
  it('a flood of forged posts gets one read a second per token; signed reads of the same token keep their pace', async () => {
    const c = clock();
    const { reads, calls } = api();
    const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, maxWaitMs: 60_000 });
    const start = c.state.now;
    // Ten forged posts, ten different order numbers (no reuse possible): 9 s of waiting for the share.
    for (let n = 1; n <= 10; n++) await budget.getEntity('7', 'tok', 'orders', String(n), { ...at(c.state.now), unsigned: true });
    expect(calls).toHaveLength(10);
    expect(c.state.now - start).toBeGreaterThanOrEqual(9_000);

    // Signed reads are paced by the token's own 10 a second, not by the share.
    const signedStart = c.state.now;
    for (let n = 1; n <= 5; n++) await budget.getEntity('7', 'tok', 'products', `p${n}`, at(c.state.now));
    expect(c.state.now - signedStart).toBeLessThan(1_000);
  });

  it('beyond the wait a read may make, the unsigned read fails like a 429 (retried later), without calling Ecwid', async () => {
    // Five posts arriving at the same instant (a clock that stands still while they wait).
    const now = 1_000_000;
    const { reads, calls } = api();
    const budget = new EcwidApiBudget(reads, { now: () => now, sleep: async () => {}, retryAfterOf, maxWaitMs: 2_000 });
    const forged = (n: number) => budget.getLegacyOrder('7', 'order-key', String(n), { unsigned: true });
    // Five arriving together: turns at 0, 1 and 2 s fit in the 2 s wait; the others fail at once.
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(forged));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(EcwidBudgetExhaustedError);
    expect(calls).toEqual(['legacy:1', 'legacy:2', 'legacy:3']);
  });

  it('the share is per token: another store is not slowed', async () => {
    const c = clock();
    const { reads } = api();
    const budget = new EcwidApiBudget(reads, { ...c, retryAfterOf, maxWaitMs: 0 });
    await budget.getEntity('7', 'tok-a', 'orders', '1', { ...at(c.state.now), unsigned: true });
    await expect(budget.getEntity('7', 'tok-a', 'orders', '2', { ...at(c.state.now), unsigned: true })).rejects.toBeInstanceOf(EcwidBudgetExhaustedError);
    await expect(budget.getEntity('8', 'tok-b', 'orders', '1', { ...at(c.state.now), unsigned: true })).resolves.toEqual({ id: '1' });
  });
});

test('ION verification reads are marked unsigned (v3 and v1), so they take the share', async () => {
  const seen: unknown[] = [];
  const reads: EcwidApi = {
    getEntity: async (_s, _t, _c, _id, options) => {
      seen.push(options);
      return null;
    },
    getLegacyOrder: async (_s, _k, _n, options) => {
      seen.push(options);
      return null;
    },
    getLegacyProduct: async () => null,
  };
  await verifyIonEvent(ionEvent(), instance({ [CONFIG_KEYS.accessToken]: 'secret_t' }), reads);
  await verifyIonEvent(ionEvent(), instance({ [CONFIG_KEYS.orderKey]: 'order-key' }), reads);
  expect(seen).toEqual([expect.objectContaining({ unsigned: true }), expect.objectContaining({ unsigned: true })]);
});
