/**
 * The instance read model on DynamoDB, write side (the config-sync function, and the CLI after it
 * writes Parameter Store). Every write is conditional on the source's version stamp
 * (core/config-sync.ts), so writers racing each other converge on the newest version.
 *
 * Data keys: one current data key for the whole table, in its own item (READ_MODEL.dataKeyItemId).
 * The first writer creates it (a conditional put: racing writers end up with the same key), and
 * every item carries the wrapped key that sealed it, so readers never read the key item and unwrap
 * each distinct key once per environment.
 */
import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { READ_MODEL } from '../../contract';
import type { ReadModelEntry, ReadModelWriter, VersionStamp } from '../../core/config-sync';
import { INSTANCE_ID_PATTERN } from '../../core/instance';
import { ITEM_ATTRIBUTES, sealContext, type Item } from './dynamodb-instance-directory';
import { seal, type DataKey, type KmsDataKeys } from './kms-data-keys';
import { errorText } from '../../core/ports';

export interface DynamoDbReadModelWriterOptions {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  /** Must be able to generate (a `keyId` is set). */
  readonly dataKeys: KmsDataKeys;
  /** @default Date.now */
  readonly now?: () => number;
}

export class ReadModelWriteError extends Error {
  override readonly name = 'ReadModelWriteError';
  constructor(what: string, cause: unknown) {
    super(`instance read model: ${what} failed (${errorText(cause)})`, { cause });
  }
}

/** How long a writer keeps the current data key before looking at the key item again. */
const DATA_KEY_REUSE_MS = 300_000;

// By name: robust to several copies of the SDK in node_modules.
const isConditionFailed = (error: unknown): boolean => error instanceof Error && error.name === 'ConditionalCheckFailedException';

const { instanceId: ID, version: VERSION, modifiedAt: MODIFIED } = ITEM_ATTRIBUTES;
const STAMP_NAMES = { '#id': ID, '#version': VERSION, '#modified': MODIFIED } as const;

export class DynamoDbReadModelWriter implements ReadModelWriter {
  private readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly dataKeys: KmsDataKeys;
  private readonly now: () => number;
  private current: { key: Promise<DataKey>; until: number } | undefined;

  constructor(options: DynamoDbReadModelWriterOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
    this.dataKeys = options.dataKeys;
    this.now = options.now ?? (() => Date.now());
  }

  async stamps(): Promise<VersionStamp[]> {
    const stamps: VersionStamp[] = [];
    let startKey: Item | undefined;
    try {
      do {
        const page = await this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            ProjectionExpression: '#id, #version, #modified',
            ExpressionAttributeNames: STAMP_NAMES,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          const instanceId = item[ID]?.S;
          // The data key item (and anything else that is not an instance) is not part of the model.
          if (!instanceId || !INSTANCE_ID_PATTERN.test(instanceId)) continue;
          stamps.push({ instanceId, version: Number(item[VERSION]?.N ?? 0), modifiedAt: Number(item[MODIFIED]?.N ?? 0) });
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    } catch (error) {
      throw new ReadModelWriteError('Scan of the version stamps', error);
    }
    return stamps;
  }

  async put(entry: ReadModelEntry): Promise<boolean> {
    const key = await this.dataKey();
    const item: Item = {
      [ID]: { S: entry.instanceId },
      [VERSION]: { N: String(entry.version) },
      [MODIFIED]: { N: String(entry.modifiedAt) },
      [ITEM_ATTRIBUTES.document]: {
        B: seal(key.plaintext, Buffer.from(JSON.stringify(entry.instance.document), 'utf8'), sealContext(entry.instanceId)),
      },
      [ITEM_ATTRIBUTES.dataKey]: { B: key.wrapped },
      [ITEM_ATTRIBUTES.syncedAt]: { N: String(this.now()) },
      ...(entry.storeId ? { [ITEM_ATTRIBUTES.storeId]: { S: entry.storeId } } : {}),
    };
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          // Equal stamps write too: the same version re-sealed (e.g. under a new data key) is harmless.
          ConditionExpression: 'attribute_not_exists(#id) OR #modified < :modified OR (#modified = :modified AND #version <= :version)',
          ExpressionAttributeNames: STAMP_NAMES,
          ExpressionAttributeValues: { ':modified': { N: String(entry.modifiedAt) }, ':version': { N: String(entry.version) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw new ReadModelWriteError(`PutItem of instance ${entry.instanceId}`, error);
    }
  }

  async remove(instanceId: string, missingSince: number): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { [ID]: { S: instanceId } },
          ConditionExpression: 'attribute_exists(#id) AND #modified < :missingSince',
          ExpressionAttributeNames: { '#id': ID, '#modified': MODIFIED },
          ExpressionAttributeValues: { ':missingSince': { N: String(missingSince) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw new ReadModelWriteError(`DeleteItem of instance ${instanceId}`, error);
    }
  }

  /** The table's current data key, created on first use. */
  private dataKey(): Promise<DataKey> {
    const now = this.now();
    if (this.current && this.current.until > now) return this.current.key;
    const key = this.loadOrCreateDataKey();
    this.current = { key, until: now + DATA_KEY_REUSE_MS };
    // A failure is not kept: the next write tries again.
    key.catch(() => {
      if (this.current?.key === key) this.current = undefined;
    });
    return key;
  }

  private async loadOrCreateDataKey(): Promise<DataKey> {
    const existing = await this.readDataKeyItem();
    if (existing) return existing;
    const created = await this.dataKeys.generate();
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            [ID]: { S: READ_MODEL.dataKeyItemId },
            [ITEM_ATTRIBUTES.dataKey]: { B: created.wrapped },
            [ITEM_ATTRIBUTES.syncedAt]: { N: String(this.now()) },
          },
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': ID },
        }),
      );
      return created;
    } catch (error) {
      if (!isConditionFailed(error)) throw new ReadModelWriteError('PutItem of the data key', error);
    }
    // Another writer created it first: use theirs, so the table keeps one current key.
    const winner = await this.readDataKeyItem();
    if (!winner) throw new ReadModelWriteError('reading the data key', new Error('the data key item vanished'));
    return winner;
  }

  private async readDataKeyItem(): Promise<DataKey | undefined> {
    let item: Item | undefined;
    try {
      ({ Item: item } = await this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: { [ID]: { S: READ_MODEL.dataKeyItemId } }, ConsistentRead: true }),
      ));
    } catch (error) {
      throw new ReadModelWriteError('GetItem of the data key', error);
    }
    const wrapped = item?.[ITEM_ATTRIBUTES.dataKey]?.B;
    if (!wrapped) return undefined;
    return { plaintext: await this.dataKeys.unwrap(wrapped), wrapped };
  }
}
