import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { healthStoreContract } from '../support/health-contract';

describe('receiver health on the embedded engine (dynalite)', () => {
  let server: DynamoDbEndpoint;
  let client: DynamoDBClient;
  beforeAll(async () => {
    server = await startEmbeddedDynamoDb();
    client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    client.destroy();
    await server.stop();
  });

  healthStoreContract({ atomicConditionalWrites: true, client: () => client, tableName: (label) => `${label}-table` });
});
