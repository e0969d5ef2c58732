import { GetParameterCommand, ParameterNotFound, SSMClient, ThrottlingException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { InvalidInstanceDocumentError } from '../../../functions/adapters/instance-document';
import {
  InstanceStoreUnavailableError,
  NOT_FOUND_MAX_AGE_SECONDS,
  SsmInstanceStore,
} from '../../../functions/adapters/aws/ssm-instance-store';
import type { InstanceDocument } from '../../../functions/core/instance';
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

function newStore(opts: { maxAgeSeconds?: number; notFoundMaxAgeSeconds?: number } = {}): SsmInstanceStore {
  return new SsmInstanceStore({ prefix: PREFIX, client: new SSMClient({ region: 'us-east-1' }), ...opts });
}

beforeEach(() => {
  ssm.reset();
  jest.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('SsmInstanceStore.get', () => {
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
    const store = new SsmInstanceStore({ prefix: `${PREFIX}/`, client: new SSMClient({ region: 'us-east-1' }) });
    await expect(store.get('shop-a')).resolves.toMatchObject({ id: 'shop-a' });
  });
});

describe('SsmInstanceStore.findByStore', () => {
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

describe('SsmInstanceStore caching', () => {
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

describe('SsmInstanceStore errors', () => {
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
