import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { healthStoreContract } from '../support/health-contract';
import { describeWithMoto, motoDynamoDbClient, uniqueName } from '../support/moto';

describeWithMoto('receiver health on DynamoDB (moto): conditional writes, one probe at a time', () => {
  let client: DynamoDBClient;
  const tables: string[] = [];
  beforeAll(() => {
    client = motoDynamoDbClient();
  });
  afterAll(async () => {
    await Promise.all(tables.map((TableName) => client.send(new DeleteTableCommand({ TableName })).catch(() => undefined)));
    client.destroy();
  });

  healthStoreContract({
    atomicConditionalWrites: false,
    client: () => client,
    tableName: (label) => {
      const name = uniqueName(label);
      tables.push(name);
      return name;
    },
  });
});
