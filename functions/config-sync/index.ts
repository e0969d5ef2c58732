/**
 * Composition root of the config-sync Lambda: environment -> clients -> handler.
 * The stack sets SSM_PREFIX, INSTANCE_TABLE_NAME and INSTANCE_TABLE_KMS_KEY_ID
 * (lib/constructs/instance-read-model.ts).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createPowertools } from '../adapters/aws/powertools';
import { DynamoDbReadModelWriter } from '../adapters/aws/dynamodb-read-model-writer';
import { KmsDataKeys } from '../adapters/aws/kms-data-keys';
import { SsmConfigSource } from '../adapters/aws/ssm-config-source';
import { configSyncConfigFrom } from '../config';
import { createConfigSyncHandler } from './handler';

const config = configSyncConfigFrom(process.env);
const { logger, metrics } = createPowertools(config.powertools);
// Adaptive retries: a reconcile after a bulk change may meet Parameter Store's throttling; it slows down instead of failing.
const source = new SsmConfigSource({
  prefix: config.ssmPrefix,
  client: new SSMClient({ retryMode: 'adaptive', maxAttempts: 8 }),
});
const dataKeys = new KmsDataKeys({ client: new KMSClient({}), keyId: config.readModelKmsKeyId });

export const handler = createConfigSyncHandler({
  source,
  model: new DynamoDbReadModelWriter({ tableName: config.readModelTableName, client: new DynamoDBClient({}), dataKeys }),
  now: () => Date.now(),
  instanceIdOf: (name) => source.instanceIdOf(name),
  logger,
  metrics,
});
