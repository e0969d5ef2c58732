import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { HEALTH_ITEM_SORT_KEY, LEDGER_TABLE } from '../../contract';
import { isHealthState, type HealthStore, type ReceiverHealth } from '../../core/health';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_MAX_KEYS = 100;

type Item = Record<string, unknown>;

export interface DynamoDbHealthStoreOptions {
  /** The ledger table (health records are items of it: HEALTH_ITEM_SORT_KEY in contract.ts). */
  readonly tableName: string;
  /** @default a new DynamoDBClient (region and endpoint from the environment) */
  readonly client?: DynamoDBClient;
}

/**
 * Receiver health on DynamoDB: one item per instance in the ledger table, written whole with a
 * condition on the version read (version 1: on there being none), so of two deliver workers that
 * read the same open circuit only one can write the probe claim. Same rules as the ledger adapter:
 * no transactions, no UpdateItem, so it runs on DynamoDB, moto and dynalite alike.
 */
export class DynamoDbHealthStore implements HealthStore {
  private readonly tableName: string;
  private readonly doc: DynamoDBDocumentClient;

  constructor(options: DynamoDbHealthStoreOptions) {
    this.tableName = options.tableName;
    this.doc = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async get(instanceId: string): Promise<ReceiverHealth | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: keyOf(instanceId), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async getMany(instanceIds: readonly string[]): Promise<Map<string, ReceiverHealth>> {
    const unique = [...new Set(instanceIds)];
    const found = new Map<string, ReceiverHealth>();
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
      let pending: Item[] = unique.slice(start, start + BATCH_GET_MAX_KEYS).map(keyOf);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 8) throw new Error(`DynamoDB left ${pending.length} health records unread after ${round} tries`);
        if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round));
        const result = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        for (const item of result.Responses?.[this.tableName] ?? []) {
          const health = fromItem(item);
          found.set(health.instanceId, health);
        }
        pending = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Item[];
      }
    }
    return found;
  }

  async put(next: ReceiverHealth): Promise<boolean> {
    const first = next.version <= 1;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...next, [LEDGER_TABLE.sortKey]: HEALTH_ITEM_SORT_KEY, version: next.version },
          ConditionExpression: first ? 'attribute_not_exists(#pk)' : '#version = :previous',
          ExpressionAttributeNames: first ? { '#pk': LEDGER_TABLE.partitionKey } : { '#version': 'version' },
          ExpressionAttributeValues: first ? undefined : { ':previous': next.version - 1 },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}

const keyOf = (instanceId: string): Item => ({ [LEDGER_TABLE.partitionKey]: instanceId, [LEDGER_TABLE.sortKey]: HEALTH_ITEM_SORT_KEY });

function fromItem(item: Item): ReceiverHealth {
  const fields: Item = { ...item };
  delete fields[LEDGER_TABLE.sortKey];
  if (typeof fields.instanceId !== 'string' || !isHealthState(fields.state) || typeof fields.version !== 'number') {
    throw new Error(`health record of ${String(item.instanceId)} is not a health record`);
  }
  const buckets = Array.isArray(fields.buckets) ? fields.buckets.map((b) => (Array.isArray(b) ? b.map(Number) : [])) : [];
  return { ...fields, buckets } as unknown as ReceiverHealth;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
