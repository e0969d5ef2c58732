import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateTimeToLiveCommand,
  type AttributeValue,
  type CreateTableCommandInput,
  type GlobalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { LEDGER_TABLE, ledgerIndexSummary } from '../../contract';
import { itemAttributeValues } from './dynamodb-attribute-values';
import {
  isFinal,
  isLedgerStatus,
  objectKey,
  orderKey,
  sweepDecision,
  type Ledger,
  type LedgerEntry,
  type LedgerPage,
  type LedgerQuery,
  type LedgerStatus,
  type RecordResult,
} from '../../core/ledger';

/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_MAX_KEYS = 100;
export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 1000;
const UNFINISHED: readonly LedgerStatus[] = ['received', 'queued', 'delivering', 'retrying'];
const RECEIVED_DUE = LEDGER_TABLE.receivedDueAttribute;
/**
 * The scan for overdue `received` entries runs at most once a minute of the sweep's clock (the sweep
 * calls `due` batch after batch in one run) and reads at most this many 1 MB pages, going on from
 * where it stopped the next time: however many events wait for retries (each entry ~200 bytes of
 * the index), one sweep run stays within its time.
 */
const RECEIVED_SCAN_EVERY_MS = 60_000;
const RECEIVED_SCAN_MAX_PAGES = 20;
/** Overdue `received` entries one scan keeps for the calls that follow it. */
const RECEIVED_PENDING_MAX = 10_000;
const { indexes } = LEDGER_TABLE;

/** The attributes that exist only for the indexes (derived from the entry on every write). */
const INDEX_ATTRIBUTES = ['receivedKey', 'objectKey', 'statusTime', 'unfinishedObjectKey', RECEIVED_DUE] as const;

type Item = Record<string, unknown>;
type Key = { instanceId: string; eventId: string };

export interface DynamoDbLedgerOptions {
  readonly tableName: string;
  /** @default a new DynamoDBClient (region and endpoint from the environment) */
  readonly client?: DynamoDBClient;
  /** @default () => new Date() (only for "expired" in the dedupe condition) */
  readonly clock?: () => Date;
}

/** A bad `events list` query (the CLI turns it into a usage error). */
export class LedgerQueryError extends Error {
  override readonly name = 'LedgerQueryError';
}

/**
 * The ledger on DynamoDB (LEDGER_TABLE in contract.ts). One item per event of an instance; every
 * write is a whole-item Put with a condition: `attribute_not_exists` (or expired) to record, the
 * version read to update. No transactions; a refused record asks for the entry with the refusal
 * (ReturnValuesOnConditionCheckFailure) and reads it when the engine does not send it (dynalite),
 * so the same code runs on DynamoDB, moto and the local runner's embedded engine.
 */
export class DynamoDbLedger implements Ledger {
  private readonly tableName: string;
  /** The writes (one per event in ingest) go through the client itself, their items marshalled here. */
  private readonly client: DynamoDBClient;
  private readonly doc: DynamoDBDocumentClient;
  private readonly clock: () => Date;
  /** When `due` last scanned for overdue `received` entries (its `now`), and where the scan stopped. */
  private receivedScan: { at?: number; cursor?: Item; pending: { key: Key; statusTime: string }[] } = { pending: [] };

  constructor(options: DynamoDbLedgerOptions) {
    this.tableName = options.tableName;
    this.client = options.client ?? new DynamoDBClient({});
    this.doc = DynamoDBDocumentClient.from(this.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.clock = options.clock ?? (() => new Date());
  }

  async record(entries: readonly LedgerEntry[]): Promise<RecordResult[]> {
    return Promise.all(entries.map((entry) => this.recordOne(entry)));
  }

  private async recordOne(entry: LedgerEntry, retried = false): Promise<RecordResult> {
    const now = Math.floor(this.clock().getTime() / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: itemAttributeValues(toItem(entry)),
          // TTL deletes lazily (days later): an expired entry counts as gone.
          ConditionExpression: 'attribute_not_exists(#pk) OR #expires <= :now',
          ExpressionAttributeNames: { '#pk': LEDGER_TABLE.partitionKey, '#expires': LEDGER_TABLE.timeToLiveAttribute },
          ExpressionAttributeValues: { ':now': { N: String(now) } },
          // A repeat gets the entry with the refusal (DynamoDB, moto): no second call to read it.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { created: true, entry };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const refusedBy = itemOfRefusal(error);
      if (refusedBy) return { created: false, existing: refusedBy };
    }
    // An engine that does not return the item with the refusal (dynalite): read it.
    const existing = await this.get(entry.instanceId, entry.eventId);
    if (existing) return { created: false, existing };
    // Deleted between our write and our read (TTL): try once more.
    if (!retried) return this.recordOne(entry, true);
    throw new Error(`event ${entry.eventId} of instance ${entry.instanceId} changed during recording; try again`);
  }

  async get(instanceId: string, eventId: string): Promise<LedgerEntry | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { instanceId, eventId }, ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : undefined;
  }

  async update(next: LedgerEntry): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: itemAttributeValues(toItem(next)),
          ConditionExpression: '#version = :previous',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':previous': { N: String(next.version - 1) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async unfinishedOfObject(entry: Pick<LedgerEntry, 'instanceId' | 'objectType' | 'objectId'> & { readonly eventId?: string }): Promise<LedgerEntry[]> {
    const keys: Key[] = [];
    let cursor: Item | undefined;
    do {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexes.unfinishedByObject.indexName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': indexes.unfinishedByObject.partitionKey },
          ExpressionAttributeValues: { ':pk': objectKey(entry) },
          ExclusiveStartKey: cursor,
        }),
      );
      keys.push(...(page.Items ?? []).map(keyOf).filter((key) => key.eventId !== entry.eventId));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    // The index is eventually consistent: confirm each with a consistent read.
    const entries = await this.batchGet(keys);
    return entries.filter((e) => !isFinal(e.status)).sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));
  }

  async due(now: Date, limit: number): Promise<LedgerEntry[]> {
    const candidates: { key: Key; statusTime: string }[] = [];
    for (const status of UNFINISHED.filter(statusIsIndexed)) {
      const page = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: indexes.byStatus.indexName,
          KeyConditionExpression: '#pk = :status AND #sk <= :now',
          ExpressionAttributeNames: { '#pk': indexes.byStatus.partitionKey, '#sk': indexes.byStatus.sortKey },
          ExpressionAttributeValues: { ':status': status, ':now': now.toISOString() },
          ScanIndexForward: true,
          Limit: limit,
        }),
      );
      for (const item of page.Items ?? []) candidates.push({ key: keyOf(item), statusTime: String(item.statusTime) });
    }
    candidates.push(...(await this.dueReceived(now)));
    candidates.sort((a, b) => (a.statusTime < b.statusTime ? -1 : 1));
    const chosen = candidates.slice(0, limit);
    // Overdue received entries found by a scan wait here until a call takes them.
    const taken = new Set(chosen.map((c) => `${c.key.instanceId}\u0000${c.key.eventId}`));
    this.receivedScan.pending = this.receivedScan.pending.filter((c) => !taken.has(`${c.key.instanceId}\u0000${c.key.eventId}`));
    const entries = await this.batchGet(chosen.map((c) => c.key));
    return entries
      .filter((e) => sweepDecision(e, now).kind === 'enqueue')
      .sort((a, b) => ((a.dueAt ?? '') < (b.dueAt ?? '') ? -1 : 1));
  }

  /**
   * `received` entries past their due time (`receivedDueAt`: the first ticket never came): a scan of
   * the unfinished-by-object index, which holds only unfinished events (those in flight for a
   * second or so, and those waiting for a retry). Bounded (RECEIVED_SCAN_EVERY_MS,
   * RECEIVED_SCAN_MAX_PAGES, RECEIVED_PENDING_MAX): what one scan finds is handed out over the calls
   * that follow (the sweep's batches), and one not reached waits a minute more.
   */
  private async dueReceived(now: Date): Promise<{ key: Key; statusTime: string }[]> {
    const last = this.receivedScan.at;
    if (last === undefined || Math.abs(now.getTime() - last) >= RECEIVED_SCAN_EVERY_MS) {
      const found: { key: Key; statusTime: string }[] = [];
      let cursor = this.receivedScan.cursor;
      let pages = 0;
      do {
        const page = await this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            IndexName: indexes.unfinishedByObject.indexName,
            FilterExpression: '#due <= :now',
            ExpressionAttributeNames: { '#due': RECEIVED_DUE },
            ExpressionAttributeValues: { ':now': now.toISOString() },
            ExclusiveStartKey: cursor,
          }),
        );
        for (const item of page.Items ?? []) found.push({ key: keyOf(item), statusTime: String(item[RECEIVED_DUE]) });
        cursor = page.LastEvaluatedKey;
        pages += 1;
      } while (cursor && found.length < RECEIVED_PENDING_MAX && pages < RECEIVED_SCAN_MAX_PAGES);
      this.receivedScan = { at: now.getTime(), cursor, pending: found.slice(0, RECEIVED_PENDING_MAX) };
    }
    return this.receivedScan.pending;
  }

  async list(query: LedgerQuery): Promise<LedgerPage> {
    const limit = Math.min(Math.max(1, query.limit ?? LIST_DEFAULT_LIMIT), LIST_MAX_LIMIT);
    const { input, keep } = listQuery(this.tableName, query);
    const entries: LedgerEntry[] = [];
    let cursor = decodeCursor(query.cursor);
    do {
      // Never more keys than the page still needs, so the cursor never skips one.
      const page = await this.doc.send(new QueryCommand({ ...input, Limit: limit - entries.length, ExclusiveStartKey: cursor }));
      const keys = (page.Items ?? []).map(keyOf);
      const read = await this.batchGet(keys);
      const byKey = new Map(read.map((e) => [`${e.instanceId}\u0000${e.eventId}`, e]));
      // In the index's order; an entry deleted since the query (TTL) is left out; filters the index cannot apply run here.
      for (const key of keys) {
        const entry = byKey.get(`${key.instanceId}\u0000${key.eventId}`);
        if (entry && keep(entry)) entries.push(entry);
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor && entries.length < limit);
    return { entries, cursor: cursor ? encodeCursor(cursor) : undefined };
  }

  /** Consistent reads of many keys, in any order (missing ones are left out). */
  private async batchGet(keys: readonly Key[]): Promise<LedgerEntry[]> {
    const unique = [...new Map(keys.map((k) => [`${k.instanceId}\u0000${k.eventId}`, k])).values()];
    const entries: LedgerEntry[] = [];
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX_KEYS) {
      let pending: Key[] = unique.slice(start, start + BATCH_GET_MAX_KEYS);
      for (let round = 0; pending.length > 0; round++) {
        if (round > 0) await sleep(Math.min(1000, 25 * 2 ** round));
        if (round > 8) throw new Error(`DynamoDB left ${pending.length} keys unprocessed after ${round} tries`);
        const result = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
        );
        entries.push(...(result.Responses?.[this.tableName] ?? []).map(fromItem));
        pending = (result.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Key[];
      }
    }
    return entries;
  }
}

/** Statuses the byStatus index holds (sparse: not `received`, not `delivered`). */
const statusIsIndexed = (status: LedgerStatus): boolean => !(LEDGER_TABLE.statusesNotIndexed as readonly string[]).includes(status);

/**
 * The Query behind `list`: which index, which key range, which filters in the query (on keys and
 * projected attributes), and `keep`, the filters on the full entries read from the table.
 */
function listQuery(tableName: string, query: LedgerQuery): { input: QueryCommandInput; keep: (entry: LedgerEntry) => boolean } {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  let index: { indexName: string; partitionKey: string; sortKey: string };
  let partition: string;
  let timeIsSortKey = true;
  let statusInQuery = false;
  if (query.object) {
    if (!query.instanceId) throw new LedgerQueryError('searching by object needs an instance');
    index = indexes.byObject;
    partition = objectKey({ instanceId: query.instanceId, ...query.object });
  } else if (query.status && statusIsIndexed(query.status)) {
    index = indexes.byStatus;
    partition = query.status;
    timeIsSortKey = false;
    statusInQuery = true;
    if (query.instanceId) {
      names['#instance'] = LEDGER_TABLE.partitionKey;
      values[':instance'] = query.instanceId;
      filters.push('#instance = :instance');
    }
  } else if (query.instanceId) {
    index = indexes.byInstance;
    partition = query.instanceId;
  } else if (query.status) {
    throw new LedgerQueryError(`${query.status} events are listed per instance (nearly every event passes through ${query.status}): name an instance`);
  } else {
    throw new LedgerQueryError('name an instance or a status to search the ledger');
  }
  names['#pk'] = index.partitionKey;
  values[':pk'] = partition;
  let keyCondition = '#pk = :pk';
  if (query.since || query.until) {
    // receivedKey is `receivedAt#eventId`: `T#...` sorts after `T`, so BETWEEN since AND until is [since, until).
    names['#received'] = 'receivedKey';
    values[':since'] = query.since ?? '';
    values[':until'] = query.until ?? '\uffff';
    if (timeIsSortKey) keyCondition += ' AND #received BETWEEN :since AND :until';
    else filters.push('#received BETWEEN :since AND :until');
  }
  if (query.eventType) {
    names['#ecwidType'] = 'ecwidEventType';
    names['#type'] = 'eventType';
    values[':type'] = query.eventType;
    filters.push('(#ecwidType = :type OR #type = :type)');
  }
  const status = statusInQuery ? undefined : query.status;
  return {
    input: {
      TableName: tableName,
      IndexName: index.indexName,
      KeyConditionExpression: keyCondition,
      FilterExpression: filters.length > 0 ? filters.join(' AND ') : undefined,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
    },
    keep: (entry) => status === undefined || entry.status === status,
  };
}

/**
 * Fields the item leaves out when the stored event (`payload`) has the same value: restored from it
 * on read. They are never queried; dropping them keeps a delivered item under 1 KB (one write unit).
 */
const FIELDS_FROM_PAYLOAD = ['storeId', 'source', 'objectType', 'objectId', 'occurredAt', 'receivedAt'] as const;
const FROM_PAYLOAD: ReadonlySet<string> = new Set(FIELDS_FROM_PAYLOAD);

/** The item for an entry: its fields (less those the payload repeats) plus the index attributes derived from them. */
export function toItem(entry: LedgerEntry): Item {
  const unfinished = !isFinal(entry.status);
  const event = payloadFields(entry.payload);
  const fields = entry as unknown as Item;
  // One pass in the entry's own order (a copy then `delete` would turn the item into a slow dictionary object).
  const item: Item = {};
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (event && value !== undefined && FROM_PAYLOAD.has(name) && event[name] === value) continue;
    item[name] = value;
  }
  item.receivedKey = orderKey(entry);
  item.objectKey = objectKey(entry);
  // While unfinished, the status index sorts by due time (the sweep's query); after, by when.
  // Delivered entries are left out of it (sparse): no index write when an event is delivered but the delete.
  if (statusIsIndexed(entry.status)) item.statusTime = unfinished ? (entry.dueAt ?? entry.statusAt) : entry.statusAt;
  if (unfinished) item.unfinishedObjectKey = objectKey(entry);
  // `received` is not in the status index (every event passes through it): the sweep finds an
  // overdue one by this, in the unfinished-by-object index. Gone at the first transition.
  if (entry.status === 'received') item[RECEIVED_DUE] = entry.dueAt ?? entry.statusAt;
  return item;
}

export function fromItem(item: Item): LedgerEntry {
  const fields: Item = { ...item };
  for (const name of INDEX_ATTRIBUTES) delete fields[name];
  if (!isLedgerStatus(fields.status) || typeof fields.instanceId !== 'string' || typeof fields.eventId !== 'string') {
    throw new Error(`ledger item ${String(item.instanceId)}/${String(item.eventId)} is not an event entry`);
  }
  const missing = FIELDS_FROM_PAYLOAD.filter((name) => fields[name] === undefined);
  const event = missing.length > 0 && typeof fields.payload === 'string' ? payloadFields(fields.payload) : undefined;
  for (const name of missing) if (event?.[name] !== undefined) fields[name] = event[name];
  return { ...fields, attempts: Array.isArray(fields.attempts) ? fields.attempts : [] } as unknown as LedgerEntry;
}

function payloadFields(payload: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(payload);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const keyOf = (item: Item): Key => ({ instanceId: String(item.instanceId), eventId: String(item.eventId) });

function encodeCursor(key: Item): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): Item | undefined {
  if (!cursor) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Item;
  } catch {
    // reported below
  }
  throw new LedgerQueryError('the cursor is not one this command printed');
}

/** The entry a refused conditional write returned (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), when the engine returned it. */
function itemOfRefusal(error: unknown): LedgerEntry | undefined {
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  if (!item || Object.keys(item).length === 0) return undefined;
  return fromItem(unmarshall(item));
}

function isConditionalCheckFailed(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- the table -----------------------------------------------------------------------------------

/**
 * CreateTable input for the ledger: what the stack creates (lib/constructs/event-ledger.ts, checked
 * against this by a test) and what the local runner and the tests create in their engines.
 */
export function ledgerTableDefinition(tableName: string): CreateTableCommandInput {
  const keyAttributes = new Set<string>([LEDGER_TABLE.partitionKey, LEDGER_TABLE.sortKey]);
  for (const index of Object.values(indexes)) keyAttributes.add(index.partitionKey).add(index.sortKey);
  const gsi = (index: { indexName: string; partitionKey: string; sortKey: string; projected: readonly string[] }): GlobalSecondaryIndex => ({
    IndexName: index.indexName,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection:
      index.projected.length > 0
        ? { ProjectionType: 'INCLUDE', NonKeyAttributes: ledgerIndexSummary(index) }
        : { ProjectionType: 'KEYS_ONLY' },
  });
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...keyAttributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: LEDGER_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: LEDGER_TABLE.sortKey, KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [gsi(indexes.byInstance), gsi(indexes.byObject), gsi(indexes.byStatus), gsi(indexes.unfinishedByObject)],
  };
}

/**
 * Creates the ledger table when it is missing (local runner, tests) and turns TTL on. An engine
 * without TTL (dynalite) keeps expired entries, which the ledger already treats as gone.
 */
export async function ensureLedgerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }
  for (let waited = 0; ; waited += 100) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (waited > 30_000) throw new Error(`table ${tableName} is not active after 30 s (${Table?.TableStatus ?? 'unknown'})`);
    await sleep(100);
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { Enabled: true, AttributeName: LEDGER_TABLE.timeToLiveAttribute },
      }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    // Already on (DynamoDB refuses to set it twice), or an engine without TTL.
    if (name !== 'ValidationException' && name !== 'UnknownOperationException') throw error;
  }
}
