import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  SSMClient,
  ThrottlingException,
  type GetParametersByPathCommandInput,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { InvalidInstanceDocumentError } from '../../../functions/adapters/instance-document';
import {
  InstanceStoreUnavailableError,
  NOT_FOUND_MAX_AGE_SECONDS,
  SsmInstanceRepository,
} from '../../../functions/adapters/aws/ssm-instance-repository';
import { InstanceExistsError, InvalidInstanceIdError, type InstanceDocument } from '../../../functions/core/instance';
import { instanceDocument } from '../../../testkit/instances';

const PREFIX = '/ecwid-events-test';
const ssm = mockClient(SSMClient);

/** Backs the mock with a map of parameters; anything else is ParameterNotFound. */
function serveParameters(parameters: Record<string, string>): void {
  ssm.on(GetParameterCommand).callsFake(async (input: { Name: string }) => {
    const value = parameters[input.Name];
    if (value === undefined) {
      throw new ParameterNotFound({ message: `Parameter ${input.Name} not found.`, $metadata: {} });
    }
    return { Parameter: { Name: input.Name, Value: value } };
  });
}

const instanceParam = (id: string) => `${PREFIX}/instances/${id}`;
const indexParam = (storeId: string) => `${PREFIX}/stores/${storeId}`;
const json = (doc: InstanceDocument | string[]) => JSON.stringify(doc);
const getParameterNames = () => ssm.commandCalls(GetParameterCommand).map((call) => call.args[0].input.Name);

function newStore(opts: { maxAgeSeconds?: number; notFoundMaxAgeSeconds?: number } = {}): SsmInstanceRepository {
  return new SsmInstanceRepository({ prefix: PREFIX, client: new SSMClient({ region: 'us-east-1' }), ...opts });
}

beforeEach(() => {
  ssm.reset();
  jest.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('SsmInstanceRepository.get', () => {
  test('reads the decrypted SecureString of the instance', async () => {
    const doc = instanceDocument({ storeId: '1003' });
    serveParameters({ [instanceParam('shop-a')]: json(doc) });

    await expect(newStore().get('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: instanceParam('shop-a'), WithDecryption: true });
  });

  test('answers undefined for an instance that does not exist', async () => {
    serveParameters({});
    await expect(newStore().get('missing')).resolves.toBeUndefined();
  });

  test('never calls SSM for an id that cannot name a parameter', async () => {
    serveParameters({});
    const store = newStore();
    for (const id of ['../stores/1003', 'a/b', '', 'x'.repeat(65), '-leading-dash', 'white space']) {
      await expect(store.get(id)).resolves.toBeUndefined();
    }
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 0);
  });

  test('strips a trailing slash from the prefix', async () => {
    serveParameters({ [instanceParam('shop-a')]: json(instanceDocument()) });
    const store = new SsmInstanceRepository({ prefix: `${PREFIX}/`, client: new SSMClient({ region: 'us-east-1' }) });
    await expect(store.get('shop-a')).resolves.toMatchObject({ id: 'shop-a' });
  });
});

describe('SsmInstanceRepository.findByStore', () => {
  test('reads the store index, then the instances it names', async () => {
    const a = instanceDocument({ storeId: '1003', name: 'a' });
    const b = instanceDocument({ storeId: '1003', name: 'b' });
    serveParameters({
      [indexParam('1003')]: json(['shop-a', 'shop-b']),
      [instanceParam('shop-a')]: json(a),
      [instanceParam('shop-b')]: json(b),
    });

    const found = await newStore().findByStore('1003');

    expect(found).toEqual([
      { id: 'shop-a', document: a },
      { id: 'shop-b', document: b },
    ]);
    expect(getParameterNames().sort()).toEqual([indexParam('1003'), instanceParam('shop-a'), instanceParam('shop-b')].sort());
  });

  test('skips index entries whose instance is gone or now belongs to another store', async () => {
    serveParameters({
      [indexParam('1003')]: json(['shop-a', 'deleted', 'moved', 'shop-a', 'not/valid']),
      [instanceParam('shop-a')]: json(instanceDocument({ storeId: '1003' })),
      [instanceParam('moved')]: json(instanceDocument({ storeId: '2000' })),
    });

    const found = await newStore().findByStore('1003');

    expect(found.map((i) => i.id)).toEqual(['shop-a']);
  });

  test('answers [] for a store without an index', async () => {
    serveParameters({});
    await expect(newStore().findByStore('4242')).resolves.toEqual([]);
  });

  test('never calls SSM for a store id that cannot name a parameter', async () => {
    serveParameters({});
    const store = newStore();
    for (const storeId of ['../instances/shop-a', '1003/x', '', 'a b', 'x'.repeat(129)]) {
      await expect(store.findByStore(storeId)).resolves.toEqual([]);
    }
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 0);
  });
});

describe('SsmInstanceRepository caching', () => {
  /** 10 instances, 2 per store, in 5 stores. */
  function tenInstancesInFiveStores(): string[] {
    const parameters: Record<string, string> = {};
    const storeIds: string[] = [];
    for (let s = 0; s < 5; s++) {
      const storeId = String(1000 + s);
      storeIds.push(storeId);
      parameters[indexParam(storeId)] = json([`shop-${s}-a`, `shop-${s}-b`]);
      for (const suffix of ['a', 'b']) {
        parameters[instanceParam(`shop-${s}-${suffix}`)] = json(instanceDocument({ storeId }));
      }
    }
    serveParameters(parameters);
    return storeIds;
  }

  test('1000 lookups over 10 instances cost one call per parameter, then none', async () => {
    const storeIds = tenInstancesInFiveStores();
    const store = newStore();

    for (let i = 0; i < 1000; i++) {
      const found = await store.findByStore(storeIds[i % storeIds.length]!);
      expect(found).toHaveLength(2);
    }

    // 5 indexes + 10 instances, whatever the number of lookups.
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 15);
    expect(new Set(getParameterNames()).size).toBe(15);
  });

  test('get() of an instance already read by findByStore() costs nothing', async () => {
    const storeIds = tenInstancesInFiveStores();
    const store = newStore();
    await store.findByStore(storeIds[0]!);
    const before = ssm.commandCalls(GetParameterCommand).length;

    await store.get('shop-0-a');

    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, before);
  });

  test('values are read again once maxAgeSeconds have passed', async () => {
    const storeIds = tenInstancesInFiveStores();
    const store = newStore({ maxAgeSeconds: 60 });
    await store.findByStore(storeIds[0]!);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 3);

    jest.advanceTimersByTime(59_000);
    await store.findByStore(storeIds[0]!);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 3);

    jest.advanceTimersByTime(2_000);
    await store.findByStore(storeIds[0]!);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 6);
  });

  test('a changed instance is seen after maxAge (the cache does not pin old values)', async () => {
    const parameters = {
      [indexParam('1003')]: json(['shop-a']),
      [instanceParam('shop-a')]: json(instanceDocument({ storeId: '1003', callbackUrl: 'https://old.example.com/' })),
    };
    serveParameters(parameters);
    const store = newStore({ maxAgeSeconds: 10 });
    await store.get('shop-a');

    parameters[instanceParam('shop-a')] = json(instanceDocument({ storeId: '1003', callbackUrl: 'https://new.example.com/' }));
    expect((await store.get('shop-a'))?.document.configuration['event.notification.callback.url']).toBe('https://old.example.com/');
    jest.advanceTimersByTime(11_000);
    expect((await store.get('shop-a'))?.document.configuration['event.notification.callback.url']).toBe('https://new.example.com/');
  });

  test('a cached instance is parsed once: the same object until its text changes', async () => {
    const parameters = {
      [indexParam('1003')]: json(['shop-a']),
      [instanceParam('shop-a')]: json(instanceDocument({ storeId: '1003', callbackUrl: 'https://old.example.com/' })),
    };
    serveParameters(parameters);
    const store = newStore({ maxAgeSeconds: 10 });
    const first = await store.get('shop-a');
    expect(await store.get('shop-a')).toBe(first);
    expect((await store.findByStore('1003'))[0]).toBe(first);

    // Read again after maxAge: the same text keeps the parsed object, a new text is parsed anew.
    jest.advanceTimersByTime(11_000);
    expect(await store.get('shop-a')).toBe(first);
    parameters[instanceParam('shop-a')] = json(instanceDocument({ storeId: '1003', callbackUrl: 'https://new.example.com/' }));
    jest.advanceTimersByTime(11_000);
    const changed = await store.get('shop-a');
    expect(changed).not.toBe(first);
    expect(changed?.document.configuration['event.notification.callback.url']).toBe('https://new.example.com/');
    expect(first?.document.configuration['event.notification.callback.url']).toBe('https://old.example.com/');
  });

  test('without a cache (maxAgeSeconds 0, the CLI) every read is a new object', async () => {
    serveParameters({ [instanceParam('shop-a')]: json(instanceDocument({ storeId: '1003' })) });
    const store = newStore({ maxAgeSeconds: 0 });
    const first = await store.get('shop-a');
    const second = await store.get('shop-a');
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
  });

  test(`"not found" is cached for ${NOT_FOUND_MAX_AGE_SECONDS} s: hostile traffic for an unknown store costs one call`, async () => {
    serveParameters({});
    const store = newStore({ maxAgeSeconds: 300 });

    for (let i = 0; i < 500; i++) await expect(store.findByStore('666')).resolves.toEqual([]);
    for (let i = 0; i < 500; i++) await expect(store.get('nobody')).resolves.toBeUndefined();
    expect(getParameterNames()).toEqual([indexParam('666'), instanceParam('nobody')]);

    jest.advanceTimersByTime(NOT_FOUND_MAX_AGE_SECONDS * 1000 - 1000);
    await store.findByStore('666');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);

    jest.advanceTimersByTime(2000);
    await store.findByStore('666');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 3);
  });

  test('a store created after a miss is found once the not-found entry expires', async () => {
    const parameters: Record<string, string> = {};
    serveParameters(parameters);
    const store = newStore();
    await expect(store.findByStore('1003')).resolves.toEqual([]);

    parameters[indexParam('1003')] = json(['shop-a']);
    parameters[instanceParam('shop-a')] = json(instanceDocument({ storeId: '1003' }));
    await expect(store.findByStore('1003')).resolves.toEqual([]);

    jest.advanceTimersByTime(NOT_FOUND_MAX_AGE_SECONDS * 1000 + 1);
    await expect(store.findByStore('1003')).resolves.toHaveLength(1);
  });

  test('the not-found TTL never exceeds maxAgeSeconds', async () => {
    serveParameters({});
    const store = newStore({ maxAgeSeconds: 5 });
    await store.get('nobody');
    jest.advanceTimersByTime(4_000);
    await store.get('nobody');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    jest.advanceTimersByTime(2_000);
    await store.get('nobody');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  test('clearCache() forgets found and missing values', async () => {
    serveParameters({ [instanceParam('shop-a')]: json(instanceDocument()) });
    const store = newStore();
    await store.get('shop-a');
    await store.get('nobody');
    store.clearCache();
    await store.get('shop-a');
    await store.get('nobody');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 4);
  });
});

describe('SsmInstanceRepository errors', () => {
  const SECRET = 'sk_live_VERY_SECRET_VALUE';

  /** Everything an error could leak through: message, stack, cause chain and own properties. */
  function everythingAbout(error: unknown): string {
    const parts: string[] = [];
    for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
      parts.push(String(e), (e as Error).stack ?? '', JSON.stringify(e, Object.getOwnPropertyNames(e)));
    }
    return parts.join('\n');
  }

  test('an SSM failure other than not-found throws, naming the parameter, and is not cached', async () => {
    ssm.on(GetParameterCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', Message: 'Rate exceeded', $metadata: {} }));
    const store = newStore();

    const error = await store.findByStore('1003').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InstanceStoreUnavailableError);
    expect((error as Error).message).toContain(indexParam('1003'));
    expect((error as Error).message).toContain('ThrottlingException');
    await expect(store.findByStore('1003')).rejects.toThrow(InstanceStoreUnavailableError);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  test('a failing instance read fails the whole findByStore (so ingest answers 503, not a partial fan-out)', async () => {
    ssm.on(GetParameterCommand, { Name: indexParam('1003') }).resolves({ Parameter: { Value: json(['shop-a', 'shop-b']) } });
    ssm.on(GetParameterCommand, { Name: instanceParam('shop-a') }).resolves({ Parameter: { Value: json(instanceDocument()) } });
    ssm.on(GetParameterCommand, { Name: instanceParam('shop-b') }).rejects(new Error('socket hang up'));

    await expect(newStore().findByStore('1003')).rejects.toThrow(InstanceStoreUnavailableError);
  });

  test('invalid JSON in an instance throws an error naming the parameter, never the value', async () => {
    const broken = `{"configuration": {"ecwid.order.key": "${SECRET}"`; // truncated JSON
    serveParameters({ [instanceParam('shop-a')]: broken });

    const error = await newStore().get('shop-a').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidInstanceDocumentError);
    expect((error as Error).message).toBe(`SSM parameter ${instanceParam('shop-a')}: is not valid JSON`);
    expect(everythingAbout(error)).not.toContain(SECRET);
    expect(everythingAbout(error)).not.toContain('VERY_SECRET');
  });

  test('a document without a configuration object is rejected clearly', async () => {
    serveParameters({ [instanceParam('shop-a')]: JSON.stringify({ name: SECRET }) });
    const error = await newStore().get('shop-a').catch((e: unknown) => e);
    expect((error as Error).message).toBe(`SSM parameter ${instanceParam('shop-a')}: has no "configuration" object`);
    expect(everythingAbout(error)).not.toContain(SECRET);
  });

  test('a store index that is not an array of ids is rejected clearly', async () => {
    serveParameters({ [indexParam('1003')]: JSON.stringify({ ids: ['shop-a'] }) });
    await expect(newStore().findByStore('1003')).rejects.toThrow(
      `SSM parameter ${indexParam('1003')}: is not a JSON array of instance ids`,
    );
  });

  test('an SSM error message is passed on without any parameter value', async () => {
    serveParameters({ [indexParam('1003')]: json(['shop-a']) });
    ssm.on(GetParameterCommand, { Name: instanceParam('shop-a') }).rejects(
      Object.assign(new Error('User is not authorized to perform: kms:Decrypt'), { name: 'AccessDeniedException' }),
    );
    const error = await newStore().findByStore('1003').catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `SSM GetParameter ${instanceParam('shop-a')} failed (AccessDeniedException: User is not authorized to perform: kms:Decrypt)`,
    );
  });
});

// ---- write side (the CLI) ----------------------------------------------------------------------

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
    if (parameters.has(input.Name!) && !input.Overwrite) {
      throw new ParameterAlreadyExists({ message: 'The parameter already exists.', $metadata: {} });
    }
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

const instanceName = instanceParam;
const indexName = indexParam;
const indexOf = (parameters: Map<string, StoredParameter>, storeId: string) => {
  const p = parameters.get(indexName(storeId));
  return p === undefined ? undefined : (JSON.parse(p.value) as string[]);
};
/** As the CLI builds it: no cache, so it sees its own writes. */
const newRegistry = (kmsKeyId?: string) =>
  new SsmInstanceRepository({ prefix: PREFIX, client: new SSMClient({ region: 'us-east-1' }), maxAgeSeconds: 0, ...(kmsKeyId ? { kmsKeyId } : {}) });

describe('SsmInstanceRepository writes: replace', () => {
  test('writes the document as a SecureString (overwrite) and adds the id to the store index', async () => {
    const parameters = fakeParameterStore();
    const doc = instanceDocument({ storeId: '1003' });

    await newRegistry().replace('shop-a', doc);

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
    await newRegistry('alias/ecwid-events').replace('shop-a', instanceDocument());
    expect(parameters.get(instanceName('shop-a'))?.keyId).toBe('alias/ecwid-events');
  });

  test('keeps one sorted entry per instance in a shared store index', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.replace('shop-b', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-a', instanceDocument({ storeId: '1003', name: 'renamed' }));

    expect(indexOf(parameters, '1003')).toEqual(['shop-a', 'shop-b']);
  });

  test('moves the id between indexes when the store id changes, deleting an index that becomes empty', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-b', instanceDocument({ storeId: '1003' }));

    await registry.replace('shop-a', instanceDocument({ storeId: '2000' }));
    expect(indexOf(parameters, '1003')).toEqual(['shop-b']);
    expect(indexOf(parameters, '2000')).toEqual(['shop-a']);

    await registry.replace('shop-b', instanceDocument({ storeId: '2000' }));
    expect(parameters.has(indexName('1003'))).toBe(false);
    expect(indexOf(parameters, '2000')).toEqual(['shop-a', 'shop-b']);
  });

  test('an instance without a store id is in no index', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-a', instanceDocument({ storeId: '' }));
    expect([...parameters.keys()]).toEqual([instanceName('shop-a')]);
  });

  test('rejects an invalid id before any call', async () => {
    fakeParameterStore();
    for (const id of ['../stores/1003', 'a/b', '', '-x', 'x'.repeat(65)]) {
      await expect(newRegistry().replace(id, instanceDocument())).rejects.toThrow(InvalidInstanceIdError);
    }
    expect(ssm.calls()).toHaveLength(0);
  });

  test('rejects a document without configuration, or with a store id that cannot name a parameter', async () => {
    fakeParameterStore();
    await expect(newRegistry().replace('shop-a', { name: 'x' } as unknown as InstanceDocument)).rejects.toThrow(
      'Instance shop-a: has no "configuration" object',
    );
    await expect(newRegistry().replace('shop-a', instanceDocument({ storeId: '10/03' }))).rejects.toThrow(InvalidInstanceDocumentError);
    expect(ssm.calls()).toHaveLength(0);
  });

  test('replaces a stored document that is not valid JSON', async () => {
    const parameters = fakeParameterStore();
    parameters.set(instanceName('shop-a'), { value: '{broken', type: 'SecureString' });
    await newRegistry().replace('shop-a', instanceDocument({ storeId: '1003' }));
    expect(JSON.parse(parameters.get(instanceName('shop-a'))!.value).configuration['ecwid.store.id']).toBe('1003');
  });
});

describe('SsmInstanceRepository writes: get / list / delete', () => {
  test('get() returns the instance or undefined', async () => {
    fakeParameterStore();
    const registry = newRegistry();
    const doc = instanceDocument({ storeId: '1003' });
    await registry.replace('shop-a', doc);

    await expect(registry.get('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
    await expect(registry.get('shop-b')).resolves.toBeUndefined();
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: instanceName('shop-a'), WithDecryption: true });
  });

  test('list() follows every page, decrypts, and ignores foreign parameters under the path', async () => {
    const parameters = fakeParameterStore(3);
    const registry = newRegistry();
    for (let i = 0; i < 8; i++) await registry.replace(`shop-${i}`, instanceDocument({ storeId: String(1000 + (i % 2)) }));
    parameters.set(`${instanceName('nested')}/deeper`, { value: '{}', type: 'String' });

    const { instances: listed } = await registry.list();

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
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-b', instanceDocument({ storeId: '1003' }));

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

describe('SsmInstanceRepository writes: create, and the listing', () => {
  test('create() never overwrites: an existing id is InstanceExistsError and the stored document stays', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    const first = instanceDocument({ storeId: '1003', name: 'first' });
    await registry.create('shop-a', first);
    expect(ssm).toHaveReceivedCommandWith(PutParameterCommand, { Name: instanceName('shop-a'), Overwrite: false, Type: 'SecureString' });

    await expect(registry.create('shop-a', instanceDocument({ storeId: '2000', name: 'second' }))).rejects.toThrow(InstanceExistsError);

    expect(JSON.parse(parameters.get(instanceName('shop-a'))!.value)).toEqual(first);
    expect(indexOf(parameters, '1003')).toEqual(['shop-a']);
    expect(parameters.has(indexName('2000'))).toBe(false);
  });

  test('list() skips a parameter that is not a valid document and reports it by name, never by content', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-c', instanceDocument({ storeId: '1003' }));
    parameters.set(instanceName('shop-b'), { value: '{"configuration": {"ecwid.order.key": "Sup3rSecretKey"', type: 'SecureString' });

    const listing = await registry.list();

    expect(listing.instances.map((i) => i.id)).toEqual(['shop-a', 'shop-c']);
    expect(listing.problems).toEqual([{ id: 'shop-b', message: `SSM parameter ${instanceName('shop-b')}: is not valid JSON` }]);
    expect(JSON.stringify(listing.problems)).not.toContain('Sup3rSecretKey');
  });

  test('a repository that caches still sees its own writes', async () => {
    fakeParameterStore();
    const repository = new SsmInstanceRepository({ prefix: PREFIX, client: new SSMClient({ region: 'us-east-1' }), maxAgeSeconds: 300 });
    await expect(repository.findByStore('1003')).resolves.toEqual([]);
    await repository.create('shop-a', instanceDocument({ storeId: '1003' }));
    await expect(repository.findByStore('1003')).resolves.toHaveLength(1);
    await repository.replace('shop-a', instanceDocument({ storeId: '2000' }));
    await expect(repository.findByStore('1003')).resolves.toEqual([]);
    await repository.delete('shop-a');
    await expect(repository.get('shop-a')).resolves.toBeUndefined();
  });
});

describe('SsmInstanceRepository.rebuildIndexes', () => {
  test('refuses while an instance is unreadable (its store is unknown), changing nothing', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    parameters.set(instanceName('shop-b'), { value: '{broken', type: 'SecureString' });
    parameters.set(indexName('1003'), { value: '["shop-a","shop-b"]', type: 'String' });

    await expect(registry.rebuildIndexes()).rejects.toThrow(`SSM parameter ${instanceName('shop-b')}: is not valid JSON`);
    expect(indexOf(parameters, '1003')).toEqual(['shop-a', 'shop-b']);
  });

  test('rewrites wrong indexes from the instances and deletes indexes of stores without instances', async () => {
    const parameters = fakeParameterStore();
    const registry = newRegistry();
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-b', instanceDocument({ storeId: '1003' }));
    await registry.replace('shop-c', instanceDocument({ storeId: '2000' }));
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
