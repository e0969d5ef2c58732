import { randomBytes } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbInstanceDirectory, sealContext } from '../../../functions/adapters/aws/dynamodb-instance-directory';
import { KmsDataKeys, seal } from '../../../functions/adapters/aws/kms-data-keys';
import type { InstanceDocument } from '../../../functions/core/instance';
import { instanceDocument } from '../../../testkit/instances';

const ddb = mockClient(DynamoDBClient);
const kms = mockClient(KMSClient);
const KEY = randomBytes(32);
const WRAPPED = Uint8Array.from([9, 9, 9]);

function item(instanceId: string, document: InstanceDocument | string, storeId?: string) {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  return {
    instanceId: { S: instanceId },
    ...(storeId ? { storeId: { S: storeId } } : {}),
    version: { N: '3' },
    modifiedAt: { N: '1000' },
    document: { B: seal(KEY, Buffer.from(text), sealContext(instanceId)) },
    dataKey: { B: WRAPPED },
  };
}

function directory() {
  return new DynamoDbInstanceDirectory({
    tableName: 'instances',
    client: new DynamoDBClient({ region: 'us-east-1' }),
    dataKeys: new KmsDataKeys({ client: new KMSClient({ region: 'us-east-1' }) }),
  });
}

beforeEach(() => {
  ddb.reset();
  kms.reset();
  kms.on(DecryptCommand).resolves({ Plaintext: KEY });
});

test('instance(): one GetItem by id, the document opened with the unwrapped data key', async () => {
  const doc = instanceDocument({ storeId: '1003' });
  ddb.on(GetItemCommand).resolves({ Item: item('shop-a', doc, '1003') });
  await expect(directory().instance('shop-a')).resolves.toEqual({ id: 'shop-a', document: doc });
  expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { TableName: 'instances', Key: { instanceId: { S: 'shop-a' } } });
});

test('instance(): undefined when there is no item, and no call for an id that cannot exist', async () => {
  ddb.on(GetItemCommand).resolves({});
  await expect(directory().instance('missing')).resolves.toBeUndefined();
  await expect(directory().instance('../etc')).resolves.toBeUndefined();
  expect(ddb).toHaveReceivedCommandTimes(GetItemCommand, 1);
});

test('instancesOfStore(): a Query of the store index, every page, sorted by id; no call for a bad store id', async () => {
  ddb
    .on(QueryCommand)
    .resolvesOnce({ Items: [item('b', instanceDocument({ storeId: '7' }), '7')], LastEvaluatedKey: { instanceId: { S: 'b' } } })
    .resolvesOnce({ Items: [item('a', instanceDocument({ storeId: '7' }), '7')] });
  const found = await directory().instancesOfStore('7');
  expect(found.map((i) => i.id)).toEqual(['a', 'b']);
  expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
    TableName: 'instances',
    IndexName: 'byStore',
    KeyConditionExpression: '#store = :store',
    ExpressionAttributeValues: { ':store': { S: '7' } },
  });
  expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  await expect(directory().instancesOfStore('a b')).resolves.toEqual([]);
  expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
});

test('list(): every Scan page, sorted by id, the data key item skipped, one unreadable instance reported not thrown', async () => {
  const secret = 'sk-not-for-logs';
  const broken = { ...item('shop-c', instanceDocument({ storeId: '9' }), '9'), instanceId: { S: 'shop-z' } };
  ddb
    .on(ScanCommand)
    .resolvesOnce({
      Items: [item('shop-b', instanceDocument({ storeId: '7' }), '7'), { instanceId: { S: '#data-key' }, dataKey: { B: WRAPPED } }],
      LastEvaluatedKey: { instanceId: { S: 'shop-b' } },
    })
    .resolvesOnce({ Items: [item('shop-a', instanceDocument({ storeId: '8', configuration: { 'ecwid.client.secret': secret } }), '8'), broken] });
  const listing = await directory().list();
  expect(listing.instances.map((i) => i.id)).toEqual(['shop-a', 'shop-b']);
  expect(listing.problems).toEqual([{ id: 'shop-z', message: expect.stringMatching(/opening the document of instance shop-z/) }]);
  expect(JSON.stringify(listing.problems)).not.toContain(secret);
  expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 2);
  expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: 'instances', ExclusiveStartKey: { instanceId: { S: 'shop-b' } } });
  // One data key for all: unwrapped once, not once per instance.
  expect(kms).toHaveReceivedCommandTimes(DecryptCommand, 1);
});

test('list(): a failed Scan throws InstanceReadModelUnavailableError', async () => {
  ddb.on(ScanCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));
  await expect(directory().list()).rejects.toThrow(/instance read model: Scan of the instances failed/);
});

test('a document moved to another item does not open (sealed for its own instance)', async () => {
  const moved = { ...item('shop-a', instanceDocument()), instanceId: { S: 'shop-b' } };
  ddb.on(GetItemCommand).resolves({ Item: moved });
  await expect(directory().instance('shop-b')).rejects.toThrow(/instance read model: opening the document of instance shop-b failed/);
});

test('DynamoDB failures become InstanceReadModelUnavailableError naming the AWS error, never a value', async () => {
  ddb.on(GetItemCommand).rejects(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' }));
  await expect(directory().instance('shop-a')).rejects.toThrow(
    'instance read model: GetItem of instance shop-a failed (ThrottlingException: Throughput exceeds the current capacity)',
  );
});

test('an opened document that is not an instance document is refused without quoting it', async () => {
  ddb.on(GetItemCommand).resolves({ Item: item('shop-a', '{"secret":"s3cr3t"}') });
  const error = await directory().instance('shop-a').catch((e: Error) => e);
  expect(String(error)).toContain('read model item shop-a: has no "configuration" object');
  expect(String(error)).not.toContain('s3cr3t');
});
