import { ReadModelSyncingRepository } from '../../../functions/adapters/aws/read-model-syncing-repository';
import type { ConfigSource, ReadModelEntry, ReadModelWriter } from '../../../functions/core/config-sync';
import type { InstanceDocument } from '../../../functions/core/instance';
import type { InstanceRepository } from '../../../functions/core/ports';
import { instanceDocument } from '../../../testkit/instances';

/** Parameter Store as a map, behind the repository and the sync source alike. */
function setup(options: { failModel?: boolean } = {}) {
  const stored = new Map<string, { document: InstanceDocument; version: number }>();
  const inner: InstanceRepository = {
    location: 'SSM /p/instances/',
    get: async (id) => (stored.has(id) ? { id, document: stored.get(id)!.document } : undefined),
    findByStore: async () => [],
    list: async () => ({ instances: [], problems: [] }),
    create: async (id, document) => void stored.set(id, { document, version: 1 }),
    replace: async (id, document) => void stored.set(id, { document, version: (stored.get(id)?.version ?? 0) + 1 }),
    delete: async (id) => stored.delete(id),
  };
  const source: ConfigSource = {
    stamps: async () => [],
    read: async (ids) =>
      ids.filter((id) => stored.has(id)).map((id) => ({ instanceId: id, version: stored.get(id)!.version, modifiedAt: 1000, document: stored.get(id)!.document })),
  };
  const entries = new Map<string, ReadModelEntry>();
  const model: ReadModelWriter = {
    stamps: async () => [],
    put: async (entry) => {
      if (options.failModel) throw new Error('AccessDeniedException: not allowed');
      entries.set(entry.instanceId, entry);
      return true;
    },
    remove: async (id) => entries.delete(id),
  };
  const warnings: string[] = [];
  const repository = new ReadModelSyncingRepository(inner, { source, model, now: () => 2000 }, (message) => warnings.push(message));
  return { repository, entries, warnings, stored };
}

test('create, replace and delete reach Parameter Store first, then the read model entry of that instance', async () => {
  const { repository, entries } = setup();
  await repository.create('shop-a', instanceDocument({ storeId: '7' }));
  expect(entries.get('shop-a')).toMatchObject({ version: 1, storeId: '7' });
  await repository.replace('shop-a', instanceDocument({ storeId: '8' }));
  expect(entries.get('shop-a')).toMatchObject({ version: 2, storeId: '8' });
  await expect(repository.delete('shop-a')).resolves.toBe(true);
  expect(entries.has('shop-a')).toBe(false);
  expect(repository.location).toBe('SSM /p/instances/ (and its read model)');
});

test('a read model that cannot be written leaves the instance saved and says so (the change event brings it later)', async () => {
  const { repository, warnings, stored } = setup({ failModel: true });
  await expect(repository.create('shop-a', instanceDocument())).resolves.toBeUndefined();
  expect(stored.has('shop-a')).toBe(true);
  expect(warnings).toEqual([
    expect.stringContaining('instance shop-a is saved in Parameter Store, but its read model entry could not be updated now (AccessDeniedException: not allowed)'),
  ]);
});
