import { ReadThroughCache, type ReadThroughCacheOptions } from '../../functions/core/read-through-cache';

/** A cache on a hand-moved clock. */
function cacheWith(options: Partial<ReadThroughCacheOptions> = {}) {
  const clock = { now: 1_000_000 };
  const cache = new ReadThroughCache<string>({
    maxAgeMs: 30_000,
    notFoundMaxAgeMs: 10_000,
    staleOnErrorMs: 60_000,
    errorBackoffMs: 5_000,
    maxEntries: 100,
    now: () => clock.now,
    ...options,
  });
  return { cache, clock };
}

/** A lookup whose answers the test settles by hand, counting calls. */
function manualLookup() {
  const pending: Array<{ resolve: (v: string | undefined) => void; reject: (e: Error) => void }> = [];
  const lookup = jest.fn(() => new Promise<string | undefined>((resolve, reject) => pending.push({ resolve, reject })));
  return { lookup, pending };
}

test('a found value is served from the cache until it is maxAgeMs old, then looked up again', async () => {
  const { cache, clock } = cacheWith();
  let calls = 0;
  const lookup = jest.fn(async (): Promise<string> => `v${++calls}`);
  await expect(cache.get('a', lookup)).resolves.toBe('v1');
  clock.now += 29_999;
  await expect(cache.get('a', lookup)).resolves.toBe('v1');
  clock.now += 1;
  await expect(cache.get('a', lookup)).resolves.toBe('v2');
  expect(lookup).toHaveBeenCalledTimes(2);
  expect(cache.stats).toMatchObject({ hits: 1, lookups: 2 });
});

test('callers that arrive while a lookup is in flight share it: one lookup for many callers', async () => {
  const { cache } = cacheWith();
  const { lookup, pending } = manualLookup();
  const answers = Promise.all([cache.get('a', lookup), cache.get('a', lookup), cache.get('a', lookup)]);
  expect(lookup).toHaveBeenCalledTimes(1);
  pending[0].resolve('value');
  await expect(answers).resolves.toEqual(['value', 'value', 'value']);
  expect(cache.stats).toMatchObject({ lookups: 1, shared: 2 });
});

test('a failed shared lookup fails every caller, and the next caller looks up again', async () => {
  const { cache } = cacheWith();
  const { lookup, pending } = manualLookup();
  const first = cache.get('a', lookup);
  const second = cache.get('a', lookup);
  pending[0].reject(new Error('throttled'));
  await expect(first).rejects.toThrow('throttled');
  await expect(second).rejects.toThrow('throttled');
  const third = cache.get('a', lookup);
  expect(lookup).toHaveBeenCalledTimes(2);
  pending[1].resolve('ok');
  await expect(third).resolves.toBe('ok');
  expect(cache.stats.failed).toBe(1);
});

test('"not found" is cached for notFoundMaxAgeMs (negative caching)', async () => {
  const { cache, clock } = cacheWith();
  const lookup = jest.fn(async () => undefined);
  await expect(cache.get('unknown', lookup)).resolves.toBeUndefined();
  clock.now += 9_999;
  await expect(cache.get('unknown', lookup)).resolves.toBeUndefined();
  expect(lookup).toHaveBeenCalledTimes(1);
  clock.now += 1;
  await cache.get('unknown', lookup);
  expect(lookup).toHaveBeenCalledTimes(2);
});

test('when a refresh fails, the stale value is served (for staleOnErrorMs past its age) and the backend is left alone for errorBackoffMs', async () => {
  const { cache, clock } = cacheWith();
  let fail = false;
  const lookup = jest.fn(async () => {
    if (fail) throw new Error('DynamoDB down');
    return 'good';
  });
  await cache.get('a', lookup);
  fail = true;
  clock.now += 30_000;
  await expect(cache.get('a', lookup)).resolves.toBe('good');
  expect(cache.stats.servedStale).toBe(1);
  // Within the backoff: no new lookup.
  clock.now += 4_999;
  await expect(cache.get('a', lookup)).resolves.toBe('good');
  expect(lookup).toHaveBeenCalledTimes(2);
  // After it: tried again, stale again.
  clock.now += 1;
  await expect(cache.get('a', lookup)).resolves.toBe('good');
  expect(lookup).toHaveBeenCalledTimes(3);
  // Past age + staleOnErrorMs: the error reaches the caller.
  clock.now = 1_000_000 + 30_000 + 60_000;
  await expect(cache.get('a', lookup)).rejects.toThrow('DynamoDB down');
});

test('a stale "not found" is served on error too (an unknown store stays unknown, not 503)', async () => {
  const { cache, clock } = cacheWith();
  await cache.get('a', async () => undefined);
  clock.now += 10_000;
  await expect(cache.get('a', async () => Promise.reject(new Error('down')))).resolves.toBeUndefined();
});

test('with staleOnErrorMs 0 an error is never hidden', async () => {
  const { cache, clock } = cacheWith({ staleOnErrorMs: 0 });
  await cache.get('a', async () => 'v');
  clock.now += 30_000;
  await expect(cache.get('a', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
});

test('holds at most maxEntries keys, dropping the least recently used', async () => {
  const { cache } = cacheWith({ maxEntries: 2 });
  const lookup = jest.fn(async () => 'v');
  await cache.get('a', lookup);
  await cache.get('b', lookup);
  await cache.get('a', lookup); // a is now the most recently used
  await cache.get('c', lookup); // drops b
  expect(cache.size).toBe(2);
  await cache.get('a', lookup);
  expect(lookup).toHaveBeenCalledTimes(3);
  await cache.get('b', lookup);
  expect(lookup).toHaveBeenCalledTimes(4);
});

test('prime() stores a value as if looked up; delete() and clear() forget', async () => {
  const { cache } = cacheWith();
  const lookup = jest.fn(async () => 'looked-up');
  cache.prime('a', 'primed');
  await expect(cache.get('a', lookup)).resolves.toBe('primed');
  cache.delete('a');
  await expect(cache.get('a', lookup)).resolves.toBe('looked-up');
  cache.clear();
  expect(cache.size).toBe(0);
});

test('refuses options that make no sense', () => {
  expect(() => cacheWith({ maxAgeMs: -1 })).toThrow('maxAgeMs must be 0 or more');
  expect(() => cacheWith({ maxEntries: 0 })).toThrow('maxEntries must be 1 or more');
});
