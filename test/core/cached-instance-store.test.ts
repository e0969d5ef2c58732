import { CachedInstanceStore, type InstanceDirectory } from '../../functions/core/cached-instance-store';
import type { Instance } from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';

const instance = (id: string, storeId: string): Instance => ({ id, document: instanceDocument({ storeId }) });

function directoryOf(instances: Instance[]) {
  const calls = { instance: 0, store: 0 };
  let failing = false;
  const directory: InstanceDirectory = {
    async instance(id) {
      calls.instance++;
      if (failing) throw new Error('read model unavailable');
      return instances.find((i) => i.id === id);
    },
    async instancesOfStore(storeId) {
      calls.store++;
      if (failing) throw new Error('read model unavailable');
      return instances.filter((i) => i.document.configuration['ecwid.store.id'] === storeId);
    },
  };
  return { directory, calls, fail: (value: boolean) => (failing = value) };
}

test('one lookup per instance and per store within the cache age, however many events ask', async () => {
  const clock = { now: 0 };
  const { directory, calls } = directoryOf([instance('a', '1'), instance('b', '1')]);
  const store = new CachedInstanceStore(directory, { now: () => clock.now });
  const answers = await Promise.all(Array.from({ length: 50 }, () => store.findByStore('1')));
  expect(answers.every((list) => list.map((i) => i.id).join() === 'a,b')).toBe(true);
  await Promise.all(Array.from({ length: 50 }, () => store.get('a')));
  expect(calls).toEqual({ instance: 1, store: 1 });
  clock.now += 30_000;
  await store.findByStore('1');
  expect(calls.store).toBe(2);
});

test('an unknown store is remembered as unknown (no lookup per hostile request)', async () => {
  const { directory, calls } = directoryOf([]);
  const store = new CachedInstanceStore(directory, { now: () => 0 });
  for (let i = 0; i < 20; i++) await expect(store.findByStore('999')).resolves.toEqual([]);
  expect(calls.store).toBe(1);
});

test('when the read model fails, the last answer is served; with none, the error reaches ingest (503)', async () => {
  const clock = { now: 0 };
  const { directory, fail } = directoryOf([instance('a', '1')]);
  const store = new CachedInstanceStore(directory, { now: () => clock.now });
  await store.get('a');
  fail(true);
  clock.now += 60_000;
  await expect(store.get('a')).resolves.toMatchObject({ id: 'a' });
  await expect(store.findByStore('1')).rejects.toThrow('read model unavailable');
  expect(store.stats()).toMatchObject({ servedStale: 1, failed: 1 });
});

test('callers get their own array (a caller that changes it does not change the cache)', async () => {
  const { directory } = directoryOf([instance('a', '1')]);
  const store = new CachedInstanceStore(directory, { now: () => 0 });
  (await store.findByStore('1')).pop();
  await expect(store.findByStore('1')).resolves.toHaveLength(1);
});

test('readAhead starts the read at once; the get that follows joins it (one lookup)', async () => {
  const { directory, calls } = directoryOf([instance('a', '1')]);
  const store = new CachedInstanceStore(directory, { now: () => 0 });
  store.readAhead('a');
  expect(calls.instance).toBe(1);
  expect((await store.get('a'))?.id).toBe('a');
  expect(calls.instance).toBe(1);
});

test('a failed readAhead is not thrown at the caller; the get that follows reports its own failure', async () => {
  const { directory, fail } = directoryOf([instance('a', '1')]);
  const store = new CachedInstanceStore(directory, { now: () => 0 });
  fail(true);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    store.readAhead('a');
    await expect(store.get('a')).rejects.toThrow('read model unavailable');
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
