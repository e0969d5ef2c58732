import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { InstanceStoreUnavailableError, SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import { InstanceExistsError } from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';
import {
  closedPort,
  deleteParametersByPath,
  describeWithMoto,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoSsmClient,
  uniqueSsmPrefix,
} from '../support/moto';

describeWithMoto('SSM instance repository against moto', () => {
  let ssm: SSMClient;
  let prefix: string;

  beforeAll(() => {
    ssm = motoSsmClient();
  });

  beforeEach(() => {
    prefix = uniqueSsmPrefix('ssm');
  });

  afterEach(async () => {
    await deleteParametersByPath(ssm, prefix);
  });

  afterAll(() => {
    ssm.destroy();
  });

  test('put() stores a real SecureString that the store reads back decrypted', async () => {
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    const doc = instanceDocument({ storeId: '1003', clientSecret: 'client-secret-1' });

    await registry.replace('shop-a', doc);

    const raw = await ssm.send(new GetParameterCommand({ Name: `${prefix}/instances/shop-a`, WithDecryption: false }));
    expect(raw.Parameter?.Type).toBe('SecureString');
    // Read without decryption, a SecureString is not the plain document (moto: "kms:<key>:..." wrapping).
    expect(raw.Parameter?.Value).not.toBe(JSON.stringify(doc));
    const index = await ssm.send(new GetParameterCommand({ Name: `${prefix}/stores/1003` }));
    expect(index.Parameter?.Type).toBe('String');
    expect(JSON.parse(index.Parameter!.Value!)).toEqual(['shop-a']);

    const store = new SsmInstanceRepository({ prefix, client: ssm });
    await expect(store.get('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
    await expect(store.findByStore('1003')).resolves.toEqual([{ id: 'shop-a', document: doc }]);
    await expect(registry.get('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
  });

  test('indexes follow puts, store changes and deletes; list() sees every instance', async () => {
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    for (let i = 0; i < 12; i++) await registry.replace(`shop-${String(i).padStart(2, '0')}`, instanceDocument({ storeId: '1003' }));
    await registry.replace('other', instanceDocument({ storeId: '2000' }));

    // More than one page of GetParametersByPath (moto pages by 10 like SSM).
    expect((await registry.list()).instances.map((i) => i.id)).toHaveLength(13);
    expect(await registry.readIndex('1003')).toHaveLength(12);

    await registry.replace('other', instanceDocument({ storeId: '1003' }));
    expect(await registry.readIndex('1003')).toContain('other');
    expect(await registry.readIndex('2000')).toEqual([]);
    await expect(ssm.send(new GetParameterCommand({ Name: `${prefix}/stores/2000` }))).rejects.toMatchObject({
      name: 'ParameterNotFound',
    });

    await expect(registry.delete('shop-00')).resolves.toBe(true);
    await expect(registry.delete('shop-00')).resolves.toBe(false);
    expect(await registry.readIndex('1003')).not.toContain('shop-00');

    const found = await new SsmInstanceRepository({ prefix, client: ssm }).findByStore('1003');
    expect(found.map((i) => i.id).sort()).toEqual(
      ['other', ...Array.from({ length: 11 }, (_, i) => `shop-${String(i + 1).padStart(2, '0')}`)].sort(),
    );
  });

  test('create() is atomic in SSM: a taken id is refused and the stored instance is unchanged', async () => {
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    const first = instanceDocument({ storeId: '1003', name: 'first' });
    await registry.create('shop-a', first);
    await expect(registry.create('shop-a', instanceDocument({ storeId: '2000', name: 'second' }))).rejects.toThrow(InstanceExistsError);
    await expect(registry.get('shop-a')).resolves.toEqual({ id: 'shop-a', document: first });
    expect(await registry.readIndex('2000')).toEqual([]);
  });

  test('list() skips a parameter that is not a document, reporting it by name', async () => {
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await ssm.send(new PutParameterCommand({ Name: `${prefix}/instances/garbled`, Value: 'not json', Type: 'SecureString' }));
    const listing = await registry.list();
    expect(listing.instances.map((i) => i.id)).toEqual(['shop-a']);
    expect(listing.problems).toEqual([{ id: 'garbled', message: `SSM parameter ${prefix}/instances/garbled: is not valid JSON` }]);
  });

  test('rebuildIndexes() repairs an index edited by hand', async () => {
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-b', instanceDocument({ storeId: '1003' }));
    await ssm.send(new PutParameterCommand({ Name: `${prefix}/stores/1003`, Value: '["shop-a"]', Type: 'String', Overwrite: true }));
    await ssm.send(new PutParameterCommand({ Name: `${prefix}/stores/5000`, Value: '["ghost"]', Type: 'String' }));

    await expect(registry.rebuildIndexes()).resolves.toEqual({ written: ['1003'], deleted: ['5000'] });
    expect(await registry.readIndex('1003')).toEqual(['shop-a', 'shop-b']);
    expect(await registry.readIndex('5000')).toEqual([]);
  });

  test('the store answers from its cache once warm, and [] for unknown stores', async () => {
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    const store = new SsmInstanceRepository({ prefix, client: ssm });
    await expect(store.findByStore('1003')).resolves.toHaveLength(1);
    await expect(store.findByStore('9999')).resolves.toEqual([]);

    // Deleted behind its back: the cached answer stands until maxAge (60 s) passes.
    await registry.delete('shop-a');
    await expect(store.findByStore('1003')).resolves.toHaveLength(1);
    await expect(new SsmInstanceRepository({ prefix, client: ssm }).findByStore('1003')).resolves.toEqual([]);
  });

  test('an unreachable SSM endpoint makes the store throw (ingest answers 503)', async () => {
    const unreachable = new SSMClient({
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
      maxAttempts: 1,
    });
    const store = new SsmInstanceRepository({ prefix, client: unreachable });
    await expect(store.findByStore('1003')).rejects.toThrow(InstanceStoreUnavailableError);
    unreachable.destroy();
  });
});
