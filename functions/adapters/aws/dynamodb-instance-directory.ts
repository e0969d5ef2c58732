/**
 * The instance read model on DynamoDB (READ_MODEL in contract.ts), read side: what ingest and
 * deliver use instead of Parameter Store. One item per instance, keyed by its id, with the store id
 * in a sparse index; the document is sealed with a data key (kms-data-keys.ts), so the table,
 * its backups and exports never hold a secret in the clear.
 *
 * One GetItem per instance lookup and one Query per store lookup (eventually consistent reads:
 * half a read unit for a document under 4 KB); the cache in front of it
 * (core/cached-instance-store.ts) decides how often that happens.
 */
import { GetItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { READ_MODEL } from '../../contract';
import type { InstanceDirectory } from '../../core/cached-instance-store';
import { INSTANCE_ID_PATTERN, type Instance } from '../../core/instance';
import { parseInstanceDocument, STORE_ID_PATTERN } from '../instance-document';
import { open, type KmsDataKeys } from './kms-data-keys';
import { errorText } from '../../core/ports';

/** Item attribute names (the keys are READ_MODEL's). */
export const ITEM_ATTRIBUTES = {
  instanceId: READ_MODEL.partitionKey,
  storeId: READ_MODEL.byStoreIndex.partitionKey,
  version: 'version',
  modifiedAt: 'modifiedAt',
  /** The sealed document (binary: iv | tag | ciphertext). */
  document: 'document',
  /** The KMS-wrapped data key that sealed it. */
  dataKey: 'dataKey',
  /** When the sync wrote the item, epoch ms (for operators). */
  syncedAt: 'syncedAt',
} as const;

export type Item = Record<string, AttributeValue>;

/** What a sealed document is bound to: it opens only in the item of this instance. */
export const sealContext = (instanceId: string): string => `ecwid-events/instance-read-model/v1/${instanceId}`;

/** The read model could not be read (throttled, denied, unreachable, or KMS failed): ingest answers 503. */
export class InstanceReadModelUnavailableError extends Error {
  override readonly name = 'InstanceReadModelUnavailableError';
  constructor(what: string, cause: unknown) {
    super(`instance read model: ${what} failed (${errorText(cause)})`, { cause });
  }
}

export interface DynamoDbInstanceDirectoryOptions {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  readonly dataKeys: KmsDataKeys;
}

export class DynamoDbInstanceDirectory implements InstanceDirectory {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly dataKeys: KmsDataKeys;

  constructor(options: DynamoDbInstanceDirectoryOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
    this.dataKeys = options.dataKeys;
  }

  async instance(instanceId: string): Promise<Instance | undefined> {
    // An id that cannot exist costs no call.
    if (!INSTANCE_ID_PATTERN.test(instanceId)) return undefined;
    let item: Item | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [ITEM_ATTRIBUTES.instanceId]: { S: instanceId } } }),
      ));
    } catch (error) {
      throw new InstanceReadModelUnavailableError(`GetItem of instance ${instanceId}`, error);
    }
    return item ? this.decode(item) : undefined;
  }

  async instancesOfStore(storeId: string): Promise<Instance[]> {
    if (!STORE_ID_PATTERN.test(storeId)) return [];
    const items: Item[] = [];
    let startKey: Item | undefined;
    try {
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: READ_MODEL.byStoreIndex.indexName,
            KeyConditionExpression: '#store = :store',
            ExpressionAttributeNames: { '#store': ITEM_ATTRIBUTES.storeId },
            ExpressionAttributeValues: { ':store': { S: storeId } },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new InstanceReadModelUnavailableError(`Query of store ${storeId}`, error);
    }
    const instances = await Promise.all(items.map((item) => this.decode(item)));
    return instances.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Item -> Instance: unwrap the data key (cached), open the document, check its shape. */
  private async decode(item: Item): Promise<Instance> {
    const instanceId = item[ITEM_ATTRIBUTES.instanceId]?.S ?? '';
    const sealed = item[ITEM_ATTRIBUTES.document]?.B;
    const wrappedKey = item[ITEM_ATTRIBUTES.dataKey]?.B;
    if (!sealed || !wrappedKey) throw new InstanceReadModelUnavailableError(`item of instance ${instanceId}`, new Error('item has no sealed document'));
    let text: string;
    try {
      const key = await this.dataKeys.unwrap(wrappedKey);
      text = open(key, sealed, sealContext(instanceId)).toString('utf8');
    } catch (error) {
      // The cause names the failing step (KMS, or authentication of the sealed bytes), never their content.
      throw new InstanceReadModelUnavailableError(`opening the document of instance ${instanceId}`, error);
    }
    return { id: instanceId, document: parseInstanceDocument(text, `read model item ${instanceId}`) };
  }
}
