/**
 * How ingest and deliver read instance configs in AWS, decided by the config: from the instance
 * read model when its table is set (the stack sets it: DynamoDB behind a per-environment cache,
 * documents sealed with KMS-wrapped data keys), else from Parameter Store directly.
 *
 * The path not taken is never loaded, neither its SDK clients nor the adapters that import them
 * (only types are imported above): an SDK client costs tens of milliseconds of every cold start
 * (bench/bundles.ts). A static import of the Parameter Store repository used to load
 * @aws-sdk/client-ssm and Powertools Parameters into every read-model cold start.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { InstanceStoreConfig } from '../../config';
import { CachedInstanceStore } from '../../core/cached-instance-store';
import type { InstanceLookup } from '../../core/ports';
import type { DynamoDbInstanceDirectory } from './dynamodb-instance-directory';
import type { KmsDataKeys } from './kms-data-keys';
import type { SsmInstanceRepository } from './ssm-instance-repository';

/** Wraps a client for tracing (the Tracer's captureAWSv3Client), or leaves it as it is. */
export type ClientWrapper = <T>(client: T) => T;

/**
 * `dynamodb`: the function's own DynamoDB client (already wrapped), when it has one for the ledger:
 * the read model then reads through it rather than a second client, whose first request would
 * repeat the first one's setup (credentials, endpoint, a new connection) on every cold start.
 */
export function awsInstanceLookup(config: InstanceStoreConfig, wrap: ClientWrapper = (client) => client, dynamodb?: DynamoDBClient): InstanceLookup {
  if (config.readModelTableName) {
    // Loaded here, not at the top: the other path's clients stay out of the cold start.
    const readModelClient = dynamodb ?? wrap(new (require('@aws-sdk/client-dynamodb') as { DynamoDBClient: new (c: object) => DynamoDBClient }).DynamoDBClient({}));
    const { KMSClient: Kms } = require('@aws-sdk/client-kms') as { KMSClient: new (c: object) => KMSClient };
    const { DynamoDbInstanceDirectory: Directory } = require('./dynamodb-instance-directory') as { DynamoDbInstanceDirectory: typeof DynamoDbInstanceDirectory };
    const { KmsDataKeys: DataKeys } = require('./kms-data-keys') as { KmsDataKeys: typeof KmsDataKeys };
    return new CachedInstanceStore(
      new Directory({
        tableName: config.readModelTableName,
        client: readModelClient,
        dataKeys: new DataKeys({ client: wrap(new Kms({})) }),
      }),
      { maxAgeMs: config.cacheSeconds * 1000, notFoundMaxAgeMs: Math.min(config.cacheSeconds, 30) * 1000 },
    );
  }
  const { SSMClient: Ssm } = require('@aws-sdk/client-ssm') as { SSMClient: new (c: object) => SSMClient };
  const { SsmInstanceRepository: Repository } = require('./ssm-instance-repository') as { SsmInstanceRepository: typeof SsmInstanceRepository };
  return new Repository({ prefix: config.ssmPrefix, maxAgeSeconds: config.cacheSeconds, client: wrap(new Ssm({})) });
}
