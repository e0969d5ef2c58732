import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  type GetParametersByPathCommandInput,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { InvalidInstanceDocumentError } from '../../../functions/adapters/instance-document';
import { InvalidInstanceIdError, SsmInstanceRegistry } from '../../../functions/adapters/aws/ssm-instance-registry';
import type { InstanceDocument } from '../../../functions/core/instance';
import { instanceDocument } from '../../../testkit/instances';

const PREFIX = '/ecwid-events-test';
const ssm = mockClient(SSMClient);

interface StoredParameter {
  readonly value: string;
  readonly type: string;
  readonly keyId?: string;
}

/**
 * A small in-memory Parameter Store behind the mock: enough of Get/Put/Delete/GetParametersByPath
 * (with pages of `pageSize`) to check what the registry leaves behind, not just what it sends.
 */
function fakeParameterStore(pageSize = 10): Map<string, StoredParameter> {
  const parameters = new Map<string, StoredParameter>();
  const notFound = (name: string) => new ParameterNotFound({ message: `Parameter ${name} not found.`, $metadata: {} });
  ssm.on(GetParameterCommand).callsFake(async ({ Name }: { Name: string }) => {
    const p = parameters.get(Name);
    if (!p) throw notFound(Name);
    return { Parameter: { Name, Value: p.value, Type: p.type } };
  });
  ssm.on(PutParameterCommand).callsFake(async (input: PutParameterCommandInput) => {
    if (parameters.has(input.Name!) && !input.Overwrite) throw new Error('ParameterAlreadyExists');
    parameters.set(input.Name!, { value: input.Value!, type: input.Type!, ...(input.KeyId ? { keyId: input.KeyId } : {}) });
    return { Version: 1 };
  });
  ssm.on(DeleteParameterCommand).callsFake(async ({ Name }: { Name: string }) => {
    if (!parameters.delete(Name)) throw notFound(Name);
    return {};
  });
  ssm.on(GetParametersByPathCommand).callsFake(async (input: GetParametersByPathCommandInput) => {
    const path = `${input.Path!.replace(/\/$/, '')}/`;
    const names = [...parameters.keys()]
      .filter((n) => n.startsWith(path) && (input.Recursive || !n.slice(path.length).includes('/')))
      .sort();
    const start = Number(input.NextToken ?? 0);
    const page = names.slice(start, start + pageSize);
    return {
      Parameters: page.map((Name) => ({ Name, Value: parameters.get(Name)!.value })),
      ...(start + pageSize < names.length ? { NextToken: String(start + pageSize) } : {}),
    };
  });
  return parameters;
}

const instanceName = (id: string) => `${PREFIX}/instances/${id}`;
const indexName = (storeId: string) => `${PREFIX}/stores/${storeId}`;
const indexOf = (parameters: Map<string, StoredParameter>, storeId: string) => {
  const p = parameters.get(indexName(storeId));
  return p === undefined ? undefined : (JSON.parse(p.value) as string[]);
};
const newRegistry = (kmsKeyId?: string) =>
  new SsmInstanceRegistry({ prefix: PREFIX, client: new SSMClient({ region: 'us-east-1' }), ...(kmsKeyId ? { kmsKeyId } : {}) });

beforeEach(() => {
  ssm.reset();
});

describe('SsmInstanceRegistry.put', () => {
  test('writes the document as a SecureString (overwrite) and adds the id to the store index', async () => {
    const parameters = fakeParameterStore();
    const doc = instanceDocument({ storeId: '1003' });

    await newRegistry().put('shop-a', doc);

    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, {
      Name: instanceName('shop-a'),
      Type: 'SecureString',
      Overwrite: true,
      Value: JSON.stringify(doc),
    });
    expect(parameters.get(indexName('1003'))?.type).toBe('String');
    expect(indexOf(parameters, '1003')).toEqual(['shop-a']);
  });

  test('uses the configured KMS key', async () => {
    const parameters = fakeParameterStore();
    await newRegistry('alias/ecwid-events').put('shop-a', instanceDocument());
    expect(parameters.get(instanceName('shop-a'))?.keyId).toBe('alias/ecwid-events');
  });

  test('keeps one sorted entry per instance in a shared store index', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.put('shop-b', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-a', instanceDocument({ storeId: '1003', name: 'renamed' }));

    expect(indexOf(parameters, '1003')).toEqual(['shop-a', 'shop-b']);
  });

  test('moves the id between indexes when the store id changes, deleting an index that becomes empty', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.put('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-b', instanceDocument({ storeId: '1003' }));

    await registry.put('shop-a', instanceDocument({ storeId: '2000' }));
    expect(indexOf(parameters, '1003')).toEqual(['shop-b']);
    expect(indexOf(parameters, '2000')).toEqual(['shop-a']);

    await registry.put('shop-b', instanceDocument({ storeId: '2000' }));
    expect(parameters.has(indexName('1003'))).toBe(false);
    expect(indexOf(parameters, '2000')).toEqual(['shop-a', 'shop-b']);
  });

  test('an instance without a store id is in no index', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.put('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-a', instanceDocument({ storeId: '' }));
    expect([...parameters.keys()]).toEqual([instanceName('shop-a')]);
  });

  test('rejects an invalid id before any call', async () => {
    fakeParameterStore();
    for (const id of ['../stores/1003', 'a/b', '', '-x', 'x'.repeat(65)]) {
      await expect(newRegistry().put(id, instanceDocument())).rejects.toThrow(InvalidInstanceIdError);
    }
    expect(ssm.calls()).toHaveLength(0);
  });

  test('rejects a document without configuration, or with a store id that cannot name a parameter', async () => {
    fakeParameterStore();
    await expect(newRegistry().put('shop-a', { name: 'x' } as unknown as InstanceDocument)).rejects.toThrow(
      'Instance shop-a: has no "configuration" object',
    );
    await expect(newRegistry().put('shop-a', instanceDocument({ storeId: '10/03' }))).rejects.toThrow(InvalidInstanceDocumentError);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('replaces a stored document that is not valid JSON', async () => {
    const parameters = fakeParameterStore();
    parameters.set(instanceName('shop-a'), { value: '{broken', type: 'SecureString' });
    await newRegistry().put('shop-a', instanceDocument({ storeId: '1003' }));
    expect(JSON.parse(parameters.get(instanceName('shop-a'))!.value).configuration['ecwid.store.id']).toBe('1003');
  });
});

describe('SsmInstanceRegistry.get / list / delete', () => {
  test('get() returns the instance or undefined', async () => {
    fakeParameterStore();
    const registry = newRegistry();
    const doc = instanceDocument({ storeId: '1003' });
    await registry.put('shop-a', doc);

    await expect(registry.get('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
    await expect(registry.get('shop-b')).resolves.toBeUndefined();
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: instanceName('shop-a'), WithDecryption: true });
  });

  test('list() follows every page, decrypts, and ignores foreign parameters under the path', async () => {
    const parameters = fakeParameterStore(3);
    const registry = newRegistry();
    for (let i = 0; i < 8; i++) await registry.put(`shop-${i}`, instanceDocument({ storeId: String(1000 + (i % 2)) }));
    parameters.set(`${instanceName('nested')}/deeper`, { value: '{}', type: 'String' });

    const listed = await registry.list();

    expect(listed.map((i) => i.id)).toEqual(Array.from({ length: 8 }, (_, i) => `shop-${i}`));
    expect(ssm).toHaveReceivedCommandWith(GetParametersByPathCommand, {
      Path: `${PREFIX}/instances`,
      Recursive: true,
      WithDecryption: true,
    });
    expect(ssm.commandCalls(GetParametersByPathCommand).length).toBeGreaterThan(2);
  });

  test('delete() removes the instance and its index entry; false when there was none', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.put('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-b', instanceDocument({ storeId: '1003' }));

    await expect(registry.delete('shop-a')).resolves.toBe(true);
    expect(parameters.has(instanceName('shop-a'))).toBe(false);
    expect(indexOf(parameters, '1003')).toEqual(['shop-b']);

    await expect(registry.delete('shop-b')).resolves.toBe(true);
    expect(parameters.size).toBe(0);

    await expect(registry.delete('shop-b')).resolves.toBe(false);
  });

  test('an SSM failure other than not-found propagates', async () => {
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(newRegistry().get('shop-a')).rejects.toThrow('Rate exceeded');
  });
});

describe('SsmInstanceRegistry.rebuildIndexes', () => {
  test('rewrites wrong indexes from the instances and deletes indexes of stores without instances', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.put('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-b', instanceDocument({ storeId: '1003' }));
    await registry.put('shop-c', instanceDocument({ storeId: '2000' }));
    // Drift, as a lost concurrent update or a hand edit would leave it.
    parameters.set(indexName('1003'), { value: '["shop-a"]', type: 'String' });
    parameters.set(indexName('3000'), { value: '["shop-c"]', type: 'String' });

    await expect(registry.rebuildIndexes()).resolves.toEqual({ written: ['1003'], deleted: ['3000'] });

    expect(indexOf(parameters, '1003')).toEqual(['shop-a', 'shop-b']);
    expect(indexOf(parameters, '2000')).toEqual(['shop-c']);
    expect(parameters.has(indexName('3000'))).toBe(false);
    await expect(registry.rebuildIndexes()).resolves.toEqual({ written: [], deleted: [] });
  });
});
