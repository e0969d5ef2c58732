import { randomBytes } from 'node:crypto';
import { DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DynamoDbReadModelWriter } from '../../../functions/adapters/aws/dynamodb-read-model-writer';
import { KmsDataKeys } from '../../../functions/adapters/aws/kms-data-keys';
import type { ReadModelEntry } from '../../../functions/core/config-sync';
import { instanceDocument } from '../../../testkit/instances';

const ddb = mockClient(DynamoDBClient);
const kms = mockClient(KMSClient);
const conditionFailed = () => Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
const OURS = { plaintext: randomBytes(32), wrapped: Uint8Array.from([1]) };
const THEIRS = { plaintext: randomBytes(32), wrapped: Uint8Array.from([2]) };

const entry = (over: Partial<ReadModelEntry> = {}): ReadModelEntry => ({
  instanceId: 'shop-a',
  version: 2,
  modifiedAt: 5000,
  storeId: '1003',
  instance: { id: 'shop-a', document: instanceDocument() },
  ...over,
});

function writer() {
  return new DynamoDbReadModelWriter({
    tableName: 'instances',
    client: new DynamoDBClient({ region: 'us-east-1' }),
    dataKeys: new KmsDataKeys({ client: new KMSClient({ region: 'us-east-1' }), keyId: 'key' }),
    now: () => 7000,
  });
}

beforeEach(() => {
  ddb.reset();
  kms.reset();
  kms.on(GenerateDataKeyCommand).resolves({ Plaintext: OURS.plaintext, CiphertextBlob: OURS.wrapped });
  kms.on(DecryptCommand).resolves({ Plaintext: THEIRS.plaintext });
});

const puts = () => ddb.commandCalls(PutItemCommand).map((call) => call.args[0].input);

test('the first write creates the data key item (conditionally), then writes the item under the stamp condition', async () => {
  ddb.on(GetItemCommand).resolves({});
  ddb.on(PutItemCommand).resolves({});

  await expect(writer().put(entry())).resolves.toBe(true);

  const [keyPut, itemPut] = puts();
  expect(keyPut).toMatchObject({ Item: { instanceId: { S: '#data-key' }, dataKey: { B: OURS.wrapped } }, ConditionExpression: 'attribute_not_exists(#id)' });
  expect(itemPut).toMatchObject({
    Item: { instanceId: { S: 'shop-a' }, storeId: { S: '1003' }, version: { N: '2' }, modifiedAt: { N: '5000' }, dataKey: { B: OURS.wrapped }, syncedAt: { N: '7000' } },
    ConditionExpression: 'attribute_not_exists(#id) OR #modified < :modified OR (#modified = :modified AND #version <= :version)',
    ExpressionAttributeValues: { ':modified': { N: '5000' }, ':version': { N: '2' } },
  });
  // The document is sealed, never stored as JSON.
  expect(Buffer.from(itemPut.Item!.document.B!).toString('latin1')).not.toContain('callback');
});

test('a writer that loses the race for the data key uses the winner\'s', async () => {
  ddb.on(GetItemCommand).resolvesOnce({}).resolves({ Item: { instanceId: { S: '#data-key' }, dataKey: { B: THEIRS.wrapped } } });
  ddb.on(PutItemCommand).rejectsOnce(conditionFailed()).resolves({});

  await writer().put(entry());

  expect(puts()[1].Item?.dataKey).toEqual({ B: THEIRS.wrapped });
  expect(kms).toHaveReceivedCommandWith(DecryptCommand, { CiphertextBlob: THEIRS.wrapped });
});

test('put() answers false when the model holds a newer version; the data key is read once for many writes', async () => {
  ddb.on(GetItemCommand).resolves({ Item: { instanceId: { S: '#data-key' }, dataKey: { B: THEIRS.wrapped } } });
  ddb.on(PutItemCommand).rejects(conditionFailed());
  const w = writer();
  await expect(w.put(entry())).resolves.toBe(false);
  await expect(w.put(entry({ instanceId: 'shop-b' }))).resolves.toBe(false);
  expect(ddb).toHaveReceivedCommandTimes(GetItemCommand, 1);
});

test('remove() deletes only an entry older than the moment the instance was seen missing', async () => {
  ddb.on(DeleteItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
  await expect(writer().remove('shop-a', 9000)).resolves.toBe(true);
  await expect(writer().remove('shop-a', 9000)).resolves.toBe(false);
  expect(ddb).toHaveReceivedCommandWith(DeleteItemCommand, {
    Key: { instanceId: { S: 'shop-a' } },
    ConditionExpression: 'attribute_exists(#id) AND #modified < :missingSince',
    ExpressionAttributeValues: { ':missingSince': { N: '9000' } },
  });
});

test('other DynamoDB failures name the operation and the AWS error', async () => {
  ddb.on(GetItemCommand).resolves({ Item: { instanceId: { S: '#data-key' }, dataKey: { B: THEIRS.wrapped } } });
  ddb.on(PutItemCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(writer().put(entry())).rejects.toThrow('instance read model: PutItem of instance shop-a failed (ThrottlingException: Rate exceeded)');
});
