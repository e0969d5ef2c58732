/**
 * The instance read model's sync against moto (SSM + DynamoDB + KMS): a change made through the
 * CLI's instance repository and announced by Parameter Store's change event, and a console-style edit that
 * only the scheduled reconcile sees, both reach what ingest and deliver read.
 */
import { CreateTableCommand, DeleteTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DeleteParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDbInstanceDirectory } from '../../functions/adapters/aws/dynamodb-instance-directory';
import { DynamoDbReadModelWriter } from '../../functions/adapters/aws/dynamodb-read-model-writer';
import { KmsDataKeys } from '../../functions/adapters/aws/kms-data-keys';
import { SsmConfigSource } from '../../functions/adapters/aws/ssm-config-source';
import { SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import { createConfigSyncHandler, type ConfigSyncHandler } from '../../functions/config-sync/handler';
import { READ_MODEL } from '../../functions/contract';
import { CachedInstanceStore } from '../../functions/core/cached-instance-store';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';
import {
  deleteParametersByPath,
  describeWithMoto,
  MOTO_CREDENTIALS,
  MOTO_REGION,
  motoEndpoint,
  motoSsmClient,
  uniqueName,
  uniqueSsmPrefix,
} from '../support/moto';

/** Parameter Store's change event for one parameter, as EventBridge delivers it. */
const parameterChange = (name: string, operation: 'Create' | 'Update' | 'Delete') => ({
  version: '0',
  id: 'e1',
  'detail-type': 'Parameter Store Change',
  source: 'aws.ssm',
  account: '123456789012',
  time: new Date().toISOString(),
  region: MOTO_REGION,
  resources: [`arn:aws:ssm:${MOTO_REGION}:123456789012:parameter${name}`],
  detail: { name, type: 'SecureString', operation },
});
const scheduledEvent = { version: '0', id: 's1', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

const quietLogger = { info: () => undefined, warn: () => undefined, error: jest.fn() };
const noMetrics = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

describeWithMoto('instance read model sync against moto', () => {
  const config = { endpoint: '', region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
  let ssm: SSMClient;
  let ddb: DynamoDBClient;
  let kms: KMSClient;
  let prefix: string;
  let tableName: string;
  let keyId: string;
  let sync: ConfigSyncHandler;
  let registry: SsmInstanceRepository;
  let clock: { now: number };
  let readers: CachedInstanceStore;

  beforeAll(async () => {
    config.endpoint = motoEndpoint();
    ssm = motoSsmClient();
    ddb = new DynamoDBClient(config);
    kms = new KMSClient(config);
    keyId = (await kms.send(new CreateKeyCommand({ Description: 'read model test' }))).KeyMetadata!.KeyId!;
  });

  beforeEach(async () => {
    prefix = uniqueSsmPrefix('readmodel');
    tableName = uniqueName('instances');
    await ddb.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: READ_MODEL.partitionKey, KeyType: 'HASH' }],
        AttributeDefinitions: [
          { AttributeName: READ_MODEL.partitionKey, AttributeType: 'S' },
          { AttributeName: READ_MODEL.byStoreIndex.partitionKey, AttributeType: 'S' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: READ_MODEL.byStoreIndex.indexName,
            KeySchema: [{ AttributeName: READ_MODEL.byStoreIndex.partitionKey, KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    const source = new SsmConfigSource({ prefix, client: ssm, pageIntervalMs: 0 });
    sync = createConfigSyncHandler({
      source,
      model: new DynamoDbReadModelWriter({ tableName, client: ddb, dataKeys: new KmsDataKeys({ client: kms, keyId }) }),
      now: () => Date.now(),
      instanceIdOf: (name) => source.instanceIdOf(name),
      logger: quietLogger,
      metrics: noMetrics,
    });
    registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    // What ingest and deliver read: their own KMS client (no generate), a cache on a test clock.
    clock = { now: Date.now() };
    readers = new CachedInstanceStore(
      new DynamoDbInstanceDirectory({ tableName, client: ddb, dataKeys: new KmsDataKeys({ client: kms }) }),
      { now: () => clock.now },
    );
  });

  afterEach(async () => {
    await deleteParametersByPath(ssm, prefix);
    await ddb.send(new DeleteTableCommand({ TableName: tableName }));
  });

  afterAll(() => {
    ssm.destroy();
    ddb.destroy();
    kms.destroy();
  });

  const instanceParameter = (id: string) => `${prefix}/instances/${id}`;
  const callbackOf = async (id: string) => (await readers.get(id))?.document.configuration[CONFIG_KEYS.callbackUrl];

  test('a CLI write and its change event: the instance is readable by id and by store, and an update is visible once the cache age passed (< 60 s)', async () => {
    await registry.replace('shop-a', instanceDocument({ storeId: '1003', callbackUrl: 'https://one.example/hook' }));
    await expect(sync(parameterChange(instanceParameter('shop-a'), 'Create'))).resolves.toMatchObject({ kind: 'sync', written: ['shop-a'] });

    await expect(callbackOf('shop-a')).resolves.toBe('https://one.example/hook');
    await expect(readers.findByStore('1003')).resolves.toEqual([expect.objectContaining({ id: 'shop-a' })]);

    await registry.replace('shop-a', instanceDocument({ storeId: '1003', callbackUrl: 'https://two.example/hook' }));
    await sync(parameterChange(instanceParameter('shop-a'), 'Update'));
    // Within the cache age a warm reader may still answer the old value ...
    await expect(callbackOf('shop-a')).resolves.toBe('https://one.example/hook');
    // ... and 30 s later (the default age; the event itself takes seconds) it reads the new one.
    clock.now += 30_000;
    await expect(callbackOf('shop-a')).resolves.toBe('https://two.example/hook');

    // A deletion and its event: gone for ingest and deliver alike.
    await registry.delete('shop-a');
    await expect(sync(parameterChange(instanceParameter('shop-a'), 'Delete'))).resolves.toMatchObject({ removed: ['shop-a'] });
    clock.now += 30_000;
    await expect(readers.get('shop-a')).resolves.toBeUndefined();
    await expect(readers.findByStore('1003')).resolves.toEqual([]);
  });

  test('a console-style edit (no event reaches the sync) is picked up by the scheduled reconcile; a second reconcile finds nothing', async () => {
    await registry.replace('shop-a', instanceDocument({ storeId: '1003', callbackUrl: 'https://one.example/hook' }));
    await registry.replace('shop-b', instanceDocument({ storeId: '2002' }));
    await expect(sync(scheduledEvent)).resolves.toMatchObject({ kind: 'reconcile', written: ['shop-a', 'shop-b'], removed: [] });

    // The console writes the parameter directly: a new value, another instance deleted, one created.
    await ssm.send(
      new PutParameterCommand({
        Name: instanceParameter('shop-a'),
        Value: JSON.stringify(instanceDocument({ storeId: '1003', callbackUrl: 'https://edited.example/hook' })),
        Type: 'SecureString',
        Overwrite: true,
      }),
    );
    await ssm.send(new DeleteParameterCommand({ Name: instanceParameter('shop-b') }));
    await ssm.send(
      new PutParameterCommand({ Name: instanceParameter('shop-c'), Value: JSON.stringify(instanceDocument({ storeId: '3003' })), Type: 'SecureString' }),
    );

    await expect(sync(scheduledEvent)).resolves.toMatchObject({
      kind: 'reconcile',
      written: ['shop-a', 'shop-c'],
      removed: ['shop-b'],
      sourceCount: 2,
      modelCount: 2,
    });
    await expect(callbackOf('shop-a')).resolves.toBe('https://edited.example/hook');
    await expect(readers.get('shop-b')).resolves.toBeUndefined();
    await expect(readers.findByStore('3003')).resolves.toEqual([expect.objectContaining({ id: 'shop-c' })]);

    await expect(sync(scheduledEvent)).resolves.toMatchObject({ written: [], removed: [], unchanged: [] });
  });

  test('the poller\'s listing: every synced instance from the table (the data key item left out), deletions gone after the reconcile', async () => {
    await registry.replace('shop-b', instanceDocument({ storeId: '2002' }));
    await registry.replace('shop-a', instanceDocument({ storeId: '1003' }));
    await sync(scheduledEvent);
    const directory = new DynamoDbInstanceDirectory({ tableName, client: ddb, dataKeys: new KmsDataKeys({ client: kms }) });
    await expect(directory.list()).resolves.toEqual({
      instances: [expect.objectContaining({ id: 'shop-a' }), expect.objectContaining({ id: 'shop-b' })],
      problems: [],
    });
    await ssm.send(new DeleteParameterCommand({ Name: instanceParameter('shop-b') }));
    await sync(scheduledEvent);
    expect((await directory.list()).instances.map((instance) => instance.id)).toEqual(['shop-a']);
  });

  test('a console edit that breaks the JSON is reported and the last good version keeps serving', async () => {
    await registry.replace('shop-a', instanceDocument({ storeId: '1003', callbackUrl: 'https://good.example/hook' }));
    await sync(scheduledEvent);
    await ssm.send(new PutParameterCommand({ Name: instanceParameter('shop-a'), Value: '{"configuration": {', Type: 'SecureString', Overwrite: true }));

    const outcome = await sync(parameterChange(instanceParameter('shop-a'), 'Update'));

    expect(outcome).toMatchObject({ invalid: [{ instanceId: 'shop-a', reason: `SSM parameter ${instanceParameter('shop-a')}: is not valid JSON` }] });
    expect(quietLogger.error).toHaveBeenCalledWith(expect.stringContaining('keeps the last good version'), expect.objectContaining({ instanceId: 'shop-a' }));
    await expect(callbackOf('shop-a')).resolves.toBe('https://good.example/hook');
  });

  test('secrets stay encrypted at rest: no secret appears in any item of the table', async () => {
    const secrets = { clientSecret: 'client-secret-XYZ', token: 'secret_token_ABC', whsec: 'whsec_c2VjcmV0LXNpZ25pbmcta2V5' };
    await registry.replace(
      'shop-a',
      instanceDocument({
        storeId: '1003',
        clientSecret: secrets.clientSecret,
        configuration: { [CONFIG_KEYS.accessToken]: secrets.token, [CONFIG_KEYS.webhookSecret]: secrets.whsec },
      }),
    );
    await sync(parameterChange(instanceParameter('shop-a'), 'Create'));

    const { Items } = await ddb.send(new ScanCommand({ TableName: tableName }));
    const raw = JSON.stringify(Items, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('latin1') : value));
    for (const secret of Object.values(secrets)) expect(raw).not.toContain(secret);
    // One data key item, and the instance item carrying that same wrapped key.
    expect(Items?.map((item) => item.instanceId.S).sort()).toEqual(['#data-key', 'shop-a']);
    // And the reader opens it.
    await expect(readers.get('shop-a')).resolves.toMatchObject({ document: { configuration: { [CONFIG_KEYS.accessToken]: secrets.token } } });
  });

  test('an event for a parameter that is not an instance config is ignored', async () => {
    await expect(sync(parameterChange(`${prefix}/stores/1003`, 'Update'))).resolves.toMatchObject({ kind: 'ignored' });
  });
});
