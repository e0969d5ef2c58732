import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { entryAt, ledgerAdapterContract } from '../support/ledger-contract';

const clientFor = (endpoint: string) =>
  new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });

describe('DynamoDB ledger adapter on the embedded engine (dynalite)', () => {
  let server: DynamoDbEndpoint;
  let client: DynamoDBClient;
  beforeAll(async () => {
    server = await startEmbeddedDynamoDb();
    client = clientFor(server.endpoint);
  });
  afterAll(async () => {
    client.destroy();
    await server.stop();
  });

  ledgerAdapterContract({ client: () => client, tableName: (label) => `${label}-table`, returnsItemOnConditionFailure: false });
});

describe('the embedded engine in a folder', () => {
  let folder: string;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'ledger-'));
  });
  afterEach(() => rmSync(folder, { recursive: true, force: true }));

  // The runner runs it on its own thread (worker_threads): stop closes LevelDB there too.
  test.each([
    ['in this thread', false],
    ['on its own thread', true],
  ])('remembers entries across a restart (%s)', async (_where, thread) => {
    const entry = entryAt(0, { instanceId: 'shop-a', eventId: 'kept' });
    let server = await startEmbeddedDynamoDb({ folder, thread });
    let client = clientFor(server.endpoint);
    await ensureLedgerTable(client, 'ledger');
    expect(await new DynamoDbLedger({ tableName: 'ledger', client }).record([entry])).toEqual([{ created: true, entry }]);
    client.destroy();
    await server.stop();

    server = await startEmbeddedDynamoDb({ folder, thread });
    client = clientFor(server.endpoint);
    try {
      await ensureLedgerTable(client, 'ledger');
      const ledger = new DynamoDbLedger({ tableName: 'ledger', client });
      expect(await ledger.get('shop-a', 'kept')).toEqual(entry);
      expect(await ledger.record([entry])).toEqual([{ created: false, existing: entry }]);
    } finally {
      client.destroy();
      await server.stop();
    }
  });
});

describe('the embedded engine on its own thread', () => {
  test('serves the ledger adapter, and stops once (a second stop resolves at once)', async () => {
    const server = await startEmbeddedDynamoDb({ thread: true });
    const client = clientFor(server.endpoint);
    try {
      await ensureLedgerTable(client, 'threaded');
      const entry = entryAt(0, { instanceId: 'shop-b', eventId: 'one' });
      const ledger = new DynamoDbLedger({ tableName: 'threaded', client });
      expect(await ledger.record([entry])).toEqual([{ created: true, entry }]);
      expect(await ledger.get('shop-b', 'one')).toEqual(entry);
    } finally {
      client.destroy();
      await server.stop();
    }
    await expect(server.stop()).resolves.toBeUndefined();
    await expect(fetch(server.endpoint, { method: 'POST' })).rejects.toThrow();
  });
});
