import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { envNumber, ssmInstanceStoreFromEnv, unconfiguredQueue } from '../../functions/adapters/environment';
import { ENV } from '../../functions/contract';
import { instanceDocument } from '../../testkit/instances';

const ssm = mockClient(SSMClient);

beforeEach(() => {
  ssm.reset();
  jest.useFakeTimers({ now: new Date('2024-01-01T00:00:00Z') });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('envNumber', () => {
  test.each([
    ['60', { min: 0 }, 60],
    [' 2.5 ', { min: 0 }, 2.5],
    ['0', { min: 0 }, 0],
    ['4', { min: 1, integer: true }, 4],
  ])('reads %j with %j as %j', (text, rule, expected) => {
    expect(envNumber(text, rule)).toBe(expected);
  });

  test.each([
    [undefined, { min: 0 }],
    ['', { min: 0 }],
    ['   ', { min: 0 }],
    ['ten', { min: 0 }],
    ['Infinity', { min: 0 }],
    ['-1', { min: 0 }],
    ['0', { min: 1 }],
    ['2.5', { min: 1, integer: true }],
  ])('treats %j with %j as unset', (text, rule) => {
    expect(envNumber(text, rule)).toBeUndefined();
  });
});

describe('ssmInstanceStoreFromEnv', () => {
  const readTwice = async (env: NodeJS.ProcessEnv): Promise<string[]> => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(instanceDocument()) } });
    const store = ssmInstanceStoreFromEnv(env, new SSMClient({ region: 'us-east-1' }));
    await store.get('shop-a');
    await store.get('shop-a');
    return ssm.commandCalls(GetParameterCommand).map((call) => call.args[0].input.Name ?? '');
  };

  test('reads under SSM_PREFIX and keeps a config for CONFIG_CACHE_SECONDS', async () => {
    const names = await readTwice({ [ENV.ssmPrefix]: '/relay/test', [ENV.configCacheSeconds]: '60' });
    expect(names).toEqual(['/relay/test/instances/shop-a']);
  });

  test('CONFIG_CACHE_SECONDS=0 reads every time (no cache)', async () => {
    const names = await readTwice({ [ENV.configCacheSeconds]: '0' });
    expect(names).toEqual(['/ecwid-events/instances/shop-a', '/ecwid-events/instances/shop-a']);
  });

  test('a malformed CONFIG_CACHE_SECONDS falls back to the default cache', async () => {
    const names = await readTwice({ [ENV.configCacheSeconds]: 'soon' });
    expect(names).toHaveLength(1);
  });
});

test('unconfiguredQueue refuses every enqueue, naming the variable', async () => {
  await expect(unconfiguredQueue(ENV.queueUrl).enqueue([])).rejects.toThrow('environment variable QUEUE_URL is not set');
});
