import {
  compareStamps,
  readModelStoreId,
  reconcile,
  reconcilePlan,
  syncInstances,
  type ConfigSource,
  type ReadModelEntry,
  type ReadModelWriter,
  type SourceRead,
  type VersionStamp,
} from '../../functions/core/config-sync';
import type { InstanceDocument } from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';

/** Parameter Store in memory: documents with a version and a modification time. */
class FakeSource implements ConfigSource {
  readonly docs = new Map<string, { version: number; modifiedAt: number; document?: InstanceDocument; invalid?: string }>();
  readonly readCalls: string[][] = [];
  put(instanceId: string, modifiedAt: number, document: InstanceDocument): void {
    const version = (this.docs.get(instanceId)?.version ?? 0) + 1;
    this.docs.set(instanceId, { version, modifiedAt, document });
  }
  async stamps(): Promise<VersionStamp[]> {
    return [...this.docs].map(([instanceId, { version, modifiedAt }]) => ({ instanceId, version, modifiedAt }));
  }
  async read(ids: readonly string[]): Promise<SourceRead[]> {
    this.readCalls.push([...ids]);
    return ids.flatMap((instanceId) => {
      const doc = this.docs.get(instanceId);
      if (!doc) return [];
      const stamp = { instanceId, version: doc.version, modifiedAt: doc.modifiedAt };
      return [doc.invalid ? { ...stamp, invalid: doc.invalid } : { ...stamp, document: doc.document! }];
    });
  }
}

/** The read model in memory, with the adapter's conditional semantics. */
class FakeModel implements ReadModelWriter {
  readonly entries = new Map<string, ReadModelEntry>();
  async stamps(): Promise<VersionStamp[]> {
    return [...this.entries.values()].map(({ instanceId, version, modifiedAt }) => ({ instanceId, version, modifiedAt }));
  }
  async put(entry: ReadModelEntry): Promise<boolean> {
    const held = this.entries.get(entry.instanceId);
    if (held && compareStamps(held, entry) > 0) return false;
    this.entries.set(entry.instanceId, entry);
    return true;
  }
  async remove(instanceId: string, missingSince: number): Promise<boolean> {
    const held = this.entries.get(instanceId);
    if (!held || held.modifiedAt >= missingSince) return false;
    this.entries.delete(instanceId);
    return true;
  }
}

function setup() {
  const source = new FakeSource();
  const model = new FakeModel();
  const clock = { now: 10_000 };
  return { source, model, clock, deps: { source, model, now: () => clock.now } };
}

test('syncInstances writes what exists, removes what does not, with the store id ingest looks up', async () => {
  const { source, model, deps } = setup();
  source.put('shop-a', 1_000, instanceDocument({ storeId: '01003' }));
  model.entries.set('gone', { instanceId: 'gone', version: 1, modifiedAt: 500, instance: { id: 'gone', document: instanceDocument() } });

  const result = await syncInstances(['shop-a', 'gone', 'never-existed'], deps);

  expect(result).toEqual({ written: ['shop-a'], removed: ['gone'], unchanged: ['never-existed'], invalid: [] });
  expect(model.entries.get('shop-a')).toMatchObject({ version: 1, modifiedAt: 1_000, storeId: '1003', instance: { id: 'shop-a' } });
  expect(model.entries.has('gone')).toBe(false);
});

test('an older read never overwrites a newer entry (events handled out of order)', async () => {
  const { source, model, deps } = setup();
  source.put('shop-a', 1_000, instanceDocument({ callbackUrl: 'https://old.example/' }));
  const oldRead = (await source.read(['shop-a']))[0];
  source.put('shop-a', 2_000, instanceDocument({ callbackUrl: 'https://new.example/' }));
  await syncInstances(['shop-a'], deps);
  // The slow sync that read version 1 writes last: refused.
  await expect(model.put({ ...oldRead, instance: { id: 'shop-a', document: (oldRead as { document: InstanceDocument }).document } })).resolves.toBe(false);
  expect(model.entries.get('shop-a')?.version).toBe(2);
});

test('an instance recreated after it was seen missing is not removed by the late removal', async () => {
  const { source, model, clock, deps } = setup();
  clock.now = 5_000; // the sync saw it missing at 5 000 ...
  source.put('shop-a', 6_000, instanceDocument()); // ... it was recreated at 6 000 and synced
  await syncInstances(['shop-a'], deps);
  await expect(model.remove('shop-a', 5_000)).resolves.toBe(false);
  expect(model.entries.has('shop-a')).toBe(true);
});

test('an invalid document in the source is reported and the last good version is kept', async () => {
  const { source, model, deps } = setup();
  source.put('shop-a', 1_000, instanceDocument({ callbackUrl: 'https://good.example/' }));
  await syncInstances(['shop-a'], deps);
  source.docs.set('shop-a', { version: 2, modifiedAt: 2_000, invalid: 'SSM parameter /p/instances/shop-a: is not valid JSON' });

  const result = await syncInstances(['shop-a'], deps);

  expect(result.invalid).toEqual([{ instanceId: 'shop-a', reason: 'SSM parameter /p/instances/shop-a: is not valid JSON' }]);
  expect(model.entries.get('shop-a')?.version).toBe(1);
});

test('reads go to the source 10 at a time, each id once', async () => {
  const { source, deps } = setup();
  const ids = Array.from({ length: 23 }, (_, i) => `i${i}`);
  for (const id of ids) source.put(id, 1, instanceDocument());
  await syncInstances([...ids, 'i0', 'i1'], deps);
  expect(source.readCalls.map((call) => call.length)).toEqual([10, 10, 3]);
});

test('reconcilePlan: missing on either side or a different stamp', () => {
  const s = (instanceId: string, version: number, modifiedAt: number): VersionStamp => ({ instanceId, version, modifiedAt });
  expect(
    reconcilePlan(
      [s('same', 1, 10), s('newer', 2, 20), s('only-source', 1, 10), s('re-created', 1, 30)],
      [s('same', 1, 10), s('newer', 1, 10), s('only-model', 3, 10), s('re-created', 4, 10)],
    ),
  ).toEqual(['newer', 'only-model', 'only-source', 're-created']);
  expect(reconcilePlan([], [])).toEqual([]);
});

test('reconcile repairs a model that missed changes (a console edit with no event), and then finds nothing to do', async () => {
  const { source, model, deps } = setup();
  source.put('a', 1_000, instanceDocument({ storeId: '1' }));
  source.put('b', 1_000, instanceDocument({ storeId: '2' }));
  await syncInstances(['a', 'b'], deps);
  // Changes nobody told the model about:
  source.put('a', 2_000, instanceDocument({ storeId: '1', callbackUrl: 'https://edited.example/' }));
  source.docs.delete('b');
  source.put('c', 2_000, instanceDocument({ storeId: '3' }));

  const first = await reconcile(deps);
  expect(first).toMatchObject({ written: ['a', 'c'], removed: ['b'], sourceCount: 2, modelCount: 2 });
  expect(model.entries.get('a')?.instance.document.configuration['event.notification.callback.url']).toBe('https://edited.example/');

  const second = await reconcile(deps);
  expect(second).toMatchObject({ written: [], removed: [], unchanged: [], sourceCount: 2, modelCount: 2 });
});

test('readModelStoreId: the canonical store id, or none', () => {
  expect(readModelStoreId(instanceDocument({ storeId: ' 0042 ' }))).toBe('42');
  expect(readModelStoreId(instanceDocument({ storeId: 'not-a-store' }))).toBeUndefined();
  expect(readModelStoreId({ configuration: {} })).toBeUndefined();
});
