import { DescribeParametersCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SsmConfigSource } from '../../../functions/adapters/aws/ssm-config-source';
import { instanceDocument } from '../../../testkit/instances';

const ssm = mockClient(SSMClient);
const PREFIX = '/ecwid-events/test';
const at = (ms: number) => new Date(ms);

beforeEach(() => ssm.reset());

function source(sleep = jest.fn(async () => undefined)) {
  return { sleep, source: new SsmConfigSource({ prefix: PREFIX, client: new SSMClient({ region: 'us-east-1' }), sleep }) };
}

test('stamps(): DescribeParameters one level under instances/, 50 a page, every page, paced; other parameters left out', async () => {
  ssm
    .on(DescribeParametersCommand)
    .resolvesOnce({
      Parameters: [
        { Name: `${PREFIX}/instances/a`, Version: 3, LastModifiedDate: at(1000) },
        { Name: `${PREFIX}/instances/not valid!`, Version: 1, LastModifiedDate: at(1) },
      ],
      NextToken: 't1',
    })
    .resolvesOnce({ Parameters: [{ Name: `${PREFIX}/instances/b`, Version: 1, LastModifiedDate: at(2000) }] });
  const { source: s, sleep } = source();

  await expect(s.stamps()).resolves.toEqual([
    { instanceId: 'a', version: 3, modifiedAt: 1000 },
    { instanceId: 'b', version: 1, modifiedAt: 2000 },
  ]);
  expect(ssm).toHaveReceivedNthCommandWith(1, DescribeParametersCommand, {
    ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: [`${PREFIX}/instances`] }],
    MaxResults: 50,
  });
  expect(ssm).toHaveReceivedNthCommandWith(2, DescribeParametersCommand, { NextToken: 't1' });
  expect(sleep).toHaveBeenCalledTimes(1);
  expect(sleep).toHaveBeenCalledWith(200);
});

test('read(): GetParameters decrypted, 10 names a call; missing names left out; an unusable document reported without its content', async () => {
  ssm.on(GetParametersCommand).callsFake(async (input: { Names: string[] }) => ({
    Parameters: input.Names.filter((name) => !name.endsWith('/missing')).map((name) => ({
      Name: name,
      Version: 2,
      LastModifiedDate: at(5000),
      Value: name.endsWith('/broken') ? '{"token":"secret_abc"' : JSON.stringify(instanceDocument({ storeId: '7' })),
    })),
    InvalidParameters: input.Names.filter((name) => name.endsWith('/missing')),
  }));
  const ids = ['broken', 'missing', ...Array.from({ length: 10 }, (_, i) => `i${i}`)];

  const reads = await source().source.read(ids);

  expect(ssm).toHaveReceivedCommandTimes(GetParametersCommand, 2);
  expect(ssm).toHaveReceivedCommandWith(GetParametersCommand, { WithDecryption: true });
  expect(reads.map((r) => r.instanceId)).toEqual(['broken', ...Array.from({ length: 10 }, (_, i) => `i${i}`)]);
  expect(reads[0]).toEqual({ instanceId: 'broken', version: 2, modifiedAt: 5000, invalid: `SSM parameter ${PREFIX}/instances/broken: is not valid JSON` });
  expect(JSON.stringify(reads)).not.toContain('secret_abc');
  expect(reads[1]).toMatchObject({ instanceId: 'i0', document: { configuration: { 'ecwid.store.id': '7' } } });
});

test('SSM failures name the operation and the AWS error', async () => {
  ssm.on(DescribeParametersCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(source().source.stamps()).rejects.toThrow(
    `SSM DescribeParameters under ${PREFIX}/instances/ failed (ThrottlingException: Rate exceeded)`,
  );
});

test('instanceIdOf(): the id of an instance parameter, nothing for any other name', () => {
  const { source: s } = source();
  expect(s.instanceIdOf(`${PREFIX}/instances/shop-a`)).toBe('shop-a');
  expect(s.instanceIdOf(`${PREFIX}/stores/1003`)).toBeUndefined();
  expect(s.instanceIdOf(`${PREFIX}/instances/a/b`)).toBeUndefined();
  expect(s.instanceIdOf(`/other${PREFIX}/instances/shop-a`)).toBeUndefined();
});
