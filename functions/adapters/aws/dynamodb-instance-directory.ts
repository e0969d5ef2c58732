/**
 * The instance read model on DynamoDB (READ_MODEL in contract.ts), read side: what ingest and
 * deliver use instead of Parameter Store. One item per instance, keyed by its id, with the store id
 * in a sparse index; the document is sealed with a data key (kms-data-keys.ts), so the table,
 * its backups and exports never hold a secret in the clear.
 *
 * One GetItem per instance lookup and one Query per store lookup (eventually consistent reads:
 * half a read unit for a document under 4 KB); the cache in front of it
 * (core/cached-instance-store.ts) decides how often that happens. The poller lists every instance
 * with a paged Scan (1 MB a page: a few pages at 10,000 instances, one KMS call per data key,
 * not per instance), instead of Parameter Store's 10 decrypted parameters a call.
 */
import { GetItemCommand, QueryCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { READ_MODEL } from '../../contract';
import type { InstanceDirectory } from '../../core/cached-instance-store';
import { INSTANCE_ID_PATTERN, type Instance } from '../../core/instance';
import { parseInstanceDocument, STORE_ID_PATTERN } from '../instance-document';
import { open, type KmsDataKeys } from './kms-data-keys';
import { errorText, type InstanceListing, type UnreadableInstance } from '../../core/ports';

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

  /**
   * Every instance, sorted by id; one that does not open or parse is reported in `problems` (the
   * others are still polled). A failed Scan throws: the poll run fails and is retried next time.
   */
  async list(): Promise<InstanceListing> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    try {
      do {
        const page = await this.client.send(new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey }));
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new InstanceReadModelUnavailableError('Scan of the instances', error);
    }
    const instances: Instance[] = [];
    const problems: UnreadableInstance[] = [];
    for (const item of items) {
      const id = item[ITEM_ATTRIBUTES.instanceId]?.S ?? '';
      // The data key's own item (and anything else that is not an instance) is not listed.
      if (!INSTANCE_ID_PATTERN.test(id)) continue;
      try {
        instances.push(await this.decode(item));
      } catch (error) {
        problems.push({ id, message: errorText(error) });
      }
    }
    instances.sort((a, b) => a.id.localeCompare(b.id));
    return { instances, problems };
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
