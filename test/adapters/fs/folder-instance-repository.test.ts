import { mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderInstanceRepository } from '../../../functions/adapters/fs/folder-instance-repository';
import { InstanceExistsError, InvalidInstanceIdError, type InstanceDocument } from '../../../functions/core/instance';
import { instanceDocument } from '../../../testkit/instances';

const SECRET = 'secret_DO_NOT_PRINT_ME';
let dir: string;
let warnings: string[];

const newStore = (folder = dir) => new FolderInstanceRepository({ dir: folder, warn: (message) => warnings.push(message) });
const writeInstance = (id: string, doc: InstanceDocument) => writeFile(join(dir, `${id}.json`), JSON.stringify(doc, null, 2));

/** Rewrites a file and moves its mtime forward, so the change is visible even within one clock tick. */
async function rewrite(id: string, content: string, secondsLater: number): Promise<void> {
  const file = join(dir, `${id}.json`);
  await writeFile(file, content);
  const when = new Date(Date.now() + secondsLater * 1000);
  await utimes(file, when, when);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'folder-instance-repository-'));
  warnings = [];
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FolderInstanceRepository reads', () => {
  test('get() reads <id>.json', async () => {
    const doc = instanceDocument({ storeId: '1003' });
    await writeInstance('shop-a', doc);

    await expect(newStore().get('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
    await expect(newStore().get('shop-b')).resolves.toBeUndefined();
  });

  test('findByStore() returns every instance of the store, sorted by id', async () => {
    await writeInstance('shop-b', instanceDocument({ storeId: '1003' }));
    await writeInstance('shop-a', instanceDocument({ storeId: '1003' }));
    await writeInstance('other', instanceDocument({ storeId: '2000' }));
    await writeFile(join(dir, 'README.txt'), 'not an instance');

    const found = await newStore().findByStore('1003');

    expect(found.map((i) => i.id)).toEqual(['shop-a', 'shop-b']);
    await expect(newStore().findByStore('9999')).resolves.toEqual([]);
  });

  test('sees a changed, an added and a deleted file without a restart', async () => {
    await writeInstance('shop-a', instanceDocument({ storeId: '1003' }));
    const store = newStore();
    expect(await store.findByStore('1003')).toHaveLength(1);

    await rewrite('shop-a', JSON.stringify(instanceDocument({ storeId: '2000' })), 5);
    await writeInstance('shop-b', instanceDocument({ storeId: '1003' }));
    expect((await store.findByStore('1003')).map((i) => i.id)).toEqual(['shop-b']);
    expect((await store.findByStore('2000')).map((i) => i.id)).toEqual(['shop-a']);

    await unlink(join(dir, 'shop-b.json'));
    await expect(store.get('shop-b')).resolves.toBeUndefined();
  });

  test('get() of an instance already read sees its file changed, broken and deleted', async () => {
    await writeInstance('shop-a', instanceDocument({ storeId: '1003' }));
    const store = newStore();
    await expect(store.get('shop-a')).resolves.toMatchObject({ document: { configuration: { 'ecwid.store.id': '1003' } } });

    await rewrite('shop-a', JSON.stringify(instanceDocument({ storeId: '2000' })), 5);
    await expect(store.get('shop-a')).resolves.toMatchObject({ document: { configuration: { 'ecwid.store.id': '2000' } } });

    await rewrite('shop-a', '{ not json', 10);
    await expect(store.get('shop-a')).resolves.toBeUndefined();
    expect(warnings).toHaveLength(1);

    await rewrite('shop-a', JSON.stringify(instanceDocument({ storeId: '3000' })), 15);
    await expect(store.get('shop-a')).resolves.toMatchObject({ document: { configuration: { 'ecwid.store.id': '3000' } } });
    await unlink(join(dir, 'shop-a.json'));
    await expect(store.get('shop-a')).resolves.toBeUndefined();
  });

  test('a malformed file is skipped with a warning naming it (not its content); others keep working', async () => {
    await writeInstance('good', instanceDocument({ storeId: '1003' }));
    await writeFile(join(dir, 'broken.json'), `{"configuration": {"ecwid.order.key": "${SECRET}"`);
    await writeFile(join(dir, 'no-config.json'), JSON.stringify({ name: SECRET, configuration: [] }));
    const store = newStore();

    expect((await store.findByStore('1003')).map((i) => i.id)).toEqual(['good']);
    await expect(store.get('broken')).resolves.toBeUndefined();

    expect(warnings.sort()).toEqual([
      `Skipping instance broken: ${join(dir, 'broken.json')}: is not valid JSON`,
      `Skipping instance no-config: ${join(dir, 'no-config.json')}: has no "configuration" object`,
    ]);
    expect(warnings.join('\n')).not.toContain(SECRET);
  });

  test('warns once per version of a broken file, and picks up the fix', async () => {
    await writeFile(join(dir, 'shop-a.json'), '{ not json');
    const store = newStore();
    for (let i = 0; i < 5; i++) await store.findByStore('1003');
    expect(warnings).toHaveLength(1);

    await rewrite('shop-a', JSON.stringify(instanceDocument({ storeId: '1003' })), 5);
    expect((await store.findByStore('1003')).map((i) => i.id)).toEqual(['shop-a']);
    expect(warnings).toHaveLength(1);
  });

  test('a file whose name is not a valid instance id is skipped with a warning', async () => {
    await writeFile(join(dir, 'bad name!.json'), JSON.stringify(instanceDocument({ storeId: '1003' })));
    await expect(newStore().findByStore('1003')).resolves.toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('"bad name!" is not a valid instance id');
  });

  test('a missing folder means no instances (with one warning), and is picked up once created', async () => {
    const missing = join(dir, 'later');
    const store = newStore(missing);
    await expect(store.findByStore('1003')).resolves.toEqual([]);
    await expect(store.get('shop-a')).resolves.toBeUndefined();
    expect(warnings).toEqual([`Instances folder ${missing} does not exist yet: no instances`]);

    await mkdir(missing);
    await writeFile(join(missing, 'shop-a.json'), JSON.stringify(instanceDocument({ storeId: '1003' })));
    await expect(store.findByStore('1003')).resolves.toHaveLength(1);
  });

  test('concurrent lookups share one scan and all see the instance', async () => {
    await writeInstance('shop-a', instanceDocument({ storeId: '1003' }));
    const store = newStore();
    const results = await Promise.all(Array.from({ length: 20 }, () => store.findByStore('1003')));
    expect(results.every((r) => r.length === 1 && r[0]!.id === 'shop-a')).toBe(true);
  });

  test('never reads a path outside the folder for a hostile id', async () => {
    const folder = join(dir, 'instances');
    await mkdir(folder);
    await writeFile(join(dir, 'outside.json'), JSON.stringify(instanceDocument({ storeId: '1003' })));
    await expect(newStore(folder).get('../outside')).resolves.toBeUndefined();
  });
});

describe('FolderInstanceRepository listing', () => {
  test('list() returns every instance sorted by id and reports broken files without quoting them, and without warning', async () => {
    await writeInstance('shop-b', instanceDocument({ storeId: '1003' }));
    await writeInstance('shop-a', instanceDocument({ storeId: '2000' }));
    await writeFile(join(dir, 'broken.json'), `{"configuration": {"ecwid.order.key": "${SECRET}"`);
    await writeFile(join(dir, 'bad name!.json'), JSON.stringify(instanceDocument()));

    const listing = await newStore().list();

    expect(listing.instances.map((i) => i.id)).toEqual(['shop-a', 'shop-b']);
    expect(listing.problems).toEqual([{ id: 'broken', message: `${join(dir, 'broken.json')}: is not valid JSON` }]);
    expect(JSON.stringify(listing)).not.toContain(SECRET);
    // The caller reports the problems (the poller logs them, the CLI prints them).
    expect(warnings).toEqual([]);
  });

  test('list() of a folder that does not exist yet is empty', async () => {
    await expect(newStore(join(dir, 'later')).list()).resolves.toEqual({ instances: [], problems: [] });
  });

  test('get() warns only about the file it was asked for', async () => {
    await writeFile(join(dir, 'broken.json'), '{ not json');
    await writeInstance('shop-a', instanceDocument());
    await expect(newStore().get('shop-a')).resolves.toMatchObject({ id: 'shop-a' });
    expect(warnings).toEqual([]);
  });
});

describe('FolderInstanceRepository writes', () => {
  test('create() writes <id>.json readable by the owner only, leaving no temporary file', async () => {
    const doc = instanceDocument({ storeId: '1003' });
    await newStore().create('shop-a', doc);

    expect(JSON.parse(await readFile(join(dir, 'shop-a.json'), 'utf8'))).toEqual(doc);
    expect((await stat(join(dir, 'shop-a.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
  });

  test('create() never overwrites: an existing id is InstanceExistsError and the file stays', async () => {
    const first = instanceDocument({ name: 'first' });
    await writeInstance('shop-a', first);
    await expect(newStore().create('shop-a', instanceDocument({ name: 'second' }))).rejects.toThrow(InstanceExistsError);
    expect(JSON.parse(await readFile(join(dir, 'shop-a.json'), 'utf8'))).toEqual(first);
    expect(await readdir(dir)).toEqual(['shop-a.json']);
  });

  test('replace() and delete() are seen by the next read of the same repository at once', async () => {
    const repository = newStore();
    await repository.create('shop-a', instanceDocument({ storeId: '1003' }));
    expect(await repository.findByStore('1003')).toHaveLength(1);

    // Same size: on a coarse mtime clock only the repository's own bookkeeping would tell.
    await repository.replace('shop-a', instanceDocument({ storeId: '1004' }));
    expect(await repository.findByStore('1003')).toEqual([]);
    expect(await repository.findByStore('1004')).toHaveLength(1);

    await expect(repository.delete('shop-a')).resolves.toBe(true);
    await expect(repository.get('shop-a')).resolves.toBeUndefined();
    await expect(repository.delete('shop-a')).resolves.toBe(false);
  });

  test('writes refuse an id that cannot be a file name', async () => {
    for (const id of ['../outside', 'a/b', '']) {
      await expect(newStore().replace(id, instanceDocument())).rejects.toThrow(InvalidInstanceIdError);
    }
    await expect(newStore().delete('../outside')).rejects.toThrow(InvalidInstanceIdError);
  });
});
