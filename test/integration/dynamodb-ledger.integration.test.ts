import { DeleteTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ledgerTableDefinition } from '../../functions/adapters/aws/dynamodb-ledger';
import { LEDGER_TABLE } from '../../functions/contract';
import { ledgerAdapterContract } from '../support/ledger-contract';
import { describeWithMoto, motoDynamoDbClient, uniqueName } from '../support/moto';

describeWithMoto('DynamoDB ledger adapter on moto', () => {
  let client: DynamoDBClient;
  const tables: string[] = [];
  beforeAll(() => {
    client = motoDynamoDbClient();
  });
  afterAll(async () => {
    await Promise.all(tables.map((TableName) => client.send(new DeleteTableCommand({ TableName })).catch(() => undefined)));
    client.destroy();
  });

  ledgerAdapterContract({
    returnsItemOnConditionFailure: true,
    client: () => client,
    tableName: (label) => {
      const name = uniqueName(label);
      tables.push(name);
      return name;
    },
  });

  test('the table is what the definition says, with TTL on expiresAt', async () => {
    const name = tables[0];
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const expected = ledgerTableDefinition(name);
    expect(Table?.KeySchema).toEqual(expected.KeySchema);
    expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection])).toEqual(
      expected.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection]),
    );
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    expect(ttl.TimeToLiveDescription).toMatchObject({ TimeToLiveStatus: 'ENABLED', AttributeName: LEDGER_TABLE.timeToLiveAttribute });
  });
});
