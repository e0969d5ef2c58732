/**
 * The event ledger's work per event, on the real DynamoDB adapter against the embedded engine
 * (dynalite, in this process): the happy path of events as ingest and deliver write them (admit,
 * then the first ticket as deliver's handler hands it over: attempt, outcome), counting the
 * DynamoDB calls the adapter makes and the units DynamoDB on demand would bill for them, by the
 * AWS rules, from the items the adapter really writes (`toItem`) and the answers it really gets:
 * - item size: attribute name bytes + value bytes (strings UTF-8, numbers 1 byte per 2 significant
 *   digits + 1, lists and maps 3 bytes + 1 per element, booleans and nulls 1);
 * - a Put bills ceil(max(size before, size after) / 1 KB) write units;
 * - each global secondary index: an entry that appears is a put, one that disappears a delete, one
 *   whose key changes a delete and a put, one whose projected attributes change an update, an
 *   untouched one nothing; each costs ceil(entry size / 1 KB), the entry being the index keys, the
 *   table keys and the projected attributes + 100 bytes;
 * - reads: GetItem and BatchGetItem are strongly consistent (1 unit per 4 KB per item); a Query on
 *   an index is eventually consistent (0.5 unit per 4 KB of everything it returned, at least 0.5).
 * Storage: the delivered item + 100 bytes, and its remaining index entries.
 */
import { DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable, toItem } from '../functions/adapters/aws/dynamodb-ledger';
import { LEDGER_TABLE, ledgerIndexSummary } from '../functions/contract';
import type { QueuedEvent } from '../functions/core/event';
import type { Ledger, LedgerEntry, RecordResult } from '../functions/core/ledger';
import { admit, firstTicketId, handleTicket, type Ticket } from '../functions/core/ledger-flow';
import { DEFAULT_RETRY_POLICY } from '../functions/core/retry-policy';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { type Figures, round } from './support';

const EVENTS = 200;
/** What a receiver answers (a 400-byte JSON body). */
const RECEIVER_ANSWER = JSON.stringify({ received: true, id: 'evt_0123456789abcdef', note: 'x'.repeat(340) });

/** DynamoDB, us-east-1, standard table class. */
export const LEDGER_PRICES = {
  /** On demand. */
  perMillionWriteUnits: 0.625,
  perMillionReadUnits: 0.125,
  /** Provisioned capacity, per unit-hour (a documented comparison; the stack is on demand). */
  provisionedWcuHour: 0.00065,
  provisionedRcuHour: 0.00013,
  /** Storage and point-in-time recovery, per GB-month. */
  storagePerGbMonth: 0.25,
  pitrPerGbMonth: 0.2,
} as const;

/** The figure of one part's measured units per event: `ledger_table_write_units_per_event`, `ledger_byStatus_read_units_per_event`. */
export const ledgerPartFigure = (part: string, kind: 'read' | 'write'): string => `ledger_${part}_${kind}_units_per_event`;

/** Provisioned capacity runs below what it buys: auto scaling's usual target utilization. */
export const PROVISIONED_UTILIZATION = 0.7;

type Item = Record<string, unknown>;
const INDEXES = Object.values(LEDGER_TABLE.indexes);
const INDEX_ENTRY_OVERHEAD_BYTES = 100;
const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A number's size by DynamoDB's rule: 1 byte per two significant digits, plus 1. */
function numberBytes(value: number | string): number {
  const digits = String(value).replace(/^-/, '').replace('.', '').replace(/e.*$/i, '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** The size of a plain value (as the adapter writes it). */
export function valueBytes(value: unknown): number {
  if (typeof value === 'string') return utf8(value);
  if (typeof value === 'number') return numberBytes(value);
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === 'object') return 3 + Object.entries(value as Item).reduce((sum, [k, v]) => sum + 1 + utf8(k) + valueBytes(v), 0);
  return 0;
}

/** The size of an item: each attribute's name and value. */
export const itemBytes = (item: Item): number =>
  Object.entries(item).reduce((sum, [name, value]) => (value === undefined ? sum : sum + utf8(name) + valueBytes(value)), 0);

/** The size of an item as DynamoDB returns it (typed attribute values). */
function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.B !== undefined) return value.B.length;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, v) => sum + 1 + attributeValueBytes(v), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + utf8(k) + attributeValueBytes(v), 0);
  if (value.SS !== undefined) return value.SS.reduce((sum, v) => sum + utf8(v), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, v) => sum + numberBytes(v), 0);
  return 0;
}
const storedItemBytes = (item: Record<string, AttributeValue>): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + attributeValueBytes(value), 0);

const kb = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));

/** An index's entry for an item (its keys, the table's keys, what it projects), or undefined when the item is not in it. */
function indexEntry(index: (typeof INDEXES)[number], item: Item | undefined): { key: string; view: string; bytes: number } | undefined {
  if (!item || item[index.partitionKey] === undefined || item[index.sortKey] === undefined) return undefined;
  const names = [...new Set([index.partitionKey, index.sortKey, LEDGER_TABLE.partitionKey, LEDGER_TABLE.sortKey, ...ledgerIndexSummary(index)])];
  const entry: Item = Object.fromEntries(names.filter((name) => item[name] !== undefined).map((name) => [name, item[name]]));
  return {
    key: `${String(item[index.partitionKey])}\u0000${String(item[index.sortKey])}`,
    view: JSON.stringify(names.map((name) => item[name])),
    bytes: itemBytes(entry) + INDEX_ENTRY_OVERHEAD_BYTES,
  };
}

/** Write units of one Put that replaces `before` (absent: a new item) with `after`: the item and each index (`byIndex`). */
export function writeUnits(before: Item | undefined, after: Item): { item: number; indexes: number; byIndex: Record<string, number> } {
  const item = kb(Math.max(before ? itemBytes(before) : 0, itemBytes(after)));
  const byIndex: Record<string, number> = {};
  for (const index of INDEXES) {
    const [was, is] = [indexEntry(index, before), indexEntry(index, after)];
    let units = 0;
    if (!was && !is) units = 0;
    else if (!was) units = kb(is!.bytes);
    else if (!is) units = kb(was.bytes);
    else if (was.key !== is.key) units = kb(was.bytes) + kb(is.bytes);
    else if (was.view !== is.view) units = kb(is.bytes);
    byIndex[index.indexName] = units;
  }
  return { item, indexes: Object.values(byIndex).reduce((a, b) => a + b, 0), byIndex };
}

/** Index entries an item keeps in storage. */
const indexStorageBytes = (item: Item): number => INDEXES.reduce((sum, index) => sum + (indexEntry(index, item)?.bytes ?? 0), 0);

/** A Ledger that counts the units of every successful write (the items it last wrote, per key). */
class MeteredLedger implements Ledger {
  itemWriteUnits = 0;
  indexWriteUnits = 0;
  readonly writeUnitsByIndex: Record<string, number> = Object.fromEntries(INDEXES.map((index) => [index.indexName, 0]));
  writes = 0;
  private readonly last = new Map<string, Item>();
  constructor(private readonly inner: DynamoDbLedger) {}
  private key = (e: Pick<LedgerEntry, 'instanceId' | 'eventId'>) => `${e.instanceId}\u0000${e.eventId}`;
  private wrote(entry: LedgerEntry): void {
    const item = toItem(entry);
    const units = writeUnits(this.last.get(this.key(entry)), item);
    this.itemWriteUnits += units.item;
    this.indexWriteUnits += units.indexes;
    for (const [name, value] of Object.entries(units.byIndex)) this.writeUnitsByIndex[name] += value;
    this.writes += 1;
    this.last.set(this.key(entry), item);
  }
  async record(entries: readonly LedgerEntry[]): Promise<RecordResult[]> {
    const results = await this.inner.record(entries);
    for (const result of results) if (result.created) this.wrote(result.entry);
    return results;
  }
  async update(next: LedgerEntry): Promise<boolean> {
    const ok = await this.inner.update(next);
    if (ok) this.wrote(next);
    return ok;
  }
  get = (instanceId: string, eventId: string) => this.inner.get(instanceId, eventId);
  unfinishedOfObject = (of: Parameters<Ledger['unfinishedOfObject']>[0]) => this.inner.unfinishedOfObject(of);
  due = (now: Date, limit: number) => this.inner.due(now, limit);
  list = (query: Parameters<Ledger['list']>[0]) => this.inner.list(query);
}

function benchEvent(n: number): QueuedEvent {
  const eventId = `bench-ledger-${n}`;
  return {
    v: 1,
    eventId,
    instanceId: 'shop-bench',
    storeId: '1003',
    source: 'webhook',
    ecwidEventType: 'order.created',
    objectType: 'orders',
    objectId: `ORDER${n}`,
    eventType: 'CREATED',
    occurredAt: new Date(1700000000000 + n * 1000).toISOString(),
    receivedAt: new Date(1700000000000 + n * 1000 + 500).toISOString(),
    verified: true,
    raw: { eventId, eventCreated: 1700000000 + n, storeId: 1003, entityId: 100000 + n, eventType: 'order.created', data: { orderId: `ORDER${n}`, orderNumber: 100000 + n } },
  };
}

export async function benchLedger(log: (line: string) => void): Promise<Figures> {
  const engine = await startEmbeddedDynamoDb();
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const calls = new Map<string, number>();
  let readUnits = 0;
  /** Read units by where they were read: the table (GetItem, BatchGetItem) or an index (Query). */
  const readUnitsByPart: Record<string, number> = { table: 0, ...Object.fromEntries(INDEXES.map((index) => [index.indexName, 0])) };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String((context as { commandName?: string }).commandName ?? '?').replace(/Command$/, '');
      calls.set(name, (calls.get(name) ?? 0) + 1);
      const result = await next(args);
      type Stored = Record<string, AttributeValue>;
      const output = (result.output ?? {}) as { Item?: Stored; Items?: Stored[]; Responses?: Record<string, Stored[]> };
      const consistent = (item: Stored) => Math.max(1, Math.ceil(storedItemBytes(item) / 4096));
      const read = (part: string, units: number) => {
        readUnits += units;
        readUnitsByPart[part] = (readUnitsByPart[part] ?? 0) + units;
      };
      if (name === 'GetItem' && output.Item) read('table', consistent(output.Item));
      if (name === 'BatchGetItem') for (const items of Object.values(output.Responses ?? {})) for (const item of items) read('table', consistent(item));
      if (name === 'Query') {
        const index = (args.input as { IndexName?: string }).IndexName ?? 'table';
        read(index, Math.max(0.5, Math.ceil((output.Items ?? []).reduce((sum, item) => sum + storedItemBytes(item), 0) / 4096) * 0.5));
      }
      return result;
    },
    { step: 'initialize', name: 'benchLedgerMeter' },
  );
  try {
    const tableName = 'bench-ledger';
    await ensureLedgerTable(client, tableName);
    calls.clear();
    const ledger = new MeteredLedger(new DynamoDbLedger({ tableName, client }));
    const queued: Ticket[] = [];
    const tickets = { send: async (sent: readonly Ticket[]) => void queued.push(...sent) };
    let deliveredBytes = 0;
    let storageBytes = 0;
    for (let n = 0; n < EVENTS; n++) {
      const event = benchEvent(n);
      await admit([event], { ledger, tickets, clock: () => new Date() });
      const ticket = queued.shift();
      if (ticket?.ticketId !== firstTicketId(event)) throw new Error(`bench ledger: event ${n} was not queued with its first ticket`);
      // As deliver's handler hands it over: the first ticket, on its first receive.
      const outcome = await handleTicket(ticket.event, {
        ledger,
        tickets,
        clock: () => new Date(),
        retryPolicy: DEFAULT_RETRY_POLICY,
        // A receiver that answers with a body (kept to its first 128 bytes in the ledger).
        attempt: async () => ({ kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 120, excerpt: RECEIVER_ANSWER } }),
        deadLetter: async () => undefined,
      }, { firstTicket: true, receiveCount: 1 });
      if (outcome.kind !== 'delivered') throw new Error(`bench ledger: event ${n} ended ${outcome.kind}`);
      const item = toItem(outcome.entry);
      deliveredBytes += itemBytes(item);
      storageBytes += itemBytes(item) + INDEX_ENTRY_OVERHEAD_BYTES + indexStorageBytes(item);
    }
    const per = (value: number) => value / EVENTS;
    const writeUnitsPerEvent = per(ledger.itemWriteUnits + ledger.indexWriteUnits);
    const readUnitsPerEvent = per(readUnits);
    const gbMonthsPerMillion = (per(storageBytes) * 1e6) / 1024 ** 3;
    const requestsUsd = writeUnitsPerEvent * LEDGER_PRICES.perMillionWriteUnits + readUnitsPerEvent * LEDGER_PRICES.perMillionReadUnits;
    // Provisioned: a unit-hour serves 3,600 units a second's worth; at the target utilization.
    const provisionedUsd =
      ((writeUnitsPerEvent * LEDGER_PRICES.provisionedWcuHour + readUnitsPerEvent * LEDGER_PRICES.provisionedRcuHour) * 1e6) / 3600 / PROVISIONED_UTILIZATION;
    const storageUsd = gbMonthsPerMillion * (LEDGER_PRICES.storagePerGbMonth + LEDGER_PRICES.pitrPerGbMonth);
    log(`ledger: ${EVENTS} events, calls ${JSON.stringify(Object.fromEntries(calls))}, write units per event: items ${per(ledger.itemWriteUnits)}, indexes ${per(ledger.indexWriteUnits)}`);
    return {
      ledger_writes_per_event: round(per(ledger.writes), 2),
      ledger_write_units_per_event: round(writeUnitsPerEvent, 2),
      ledger_index_write_units_per_event: round(per(ledger.indexWriteUnits), 2),
      ledger_read_units_per_event: round(readUnitsPerEvent, 2),
      ledger_calls_per_event: round(per([...calls.values()].reduce((a, b) => a + b, 0)), 2),
      ledger_item_bytes: Math.round(per(deliveredBytes)),
      ledger_requests_usd_per_million: round(requestsUsd, 3),
      ledger_requests_usd_per_million_provisioned: round(provisionedUsd, 3),
      ledger_storage_usd_per_million_month: round(storageUsd, 4),
      // Where the units go (the provisioned cost model sizes the table and each index by them).
      [ledgerPartFigure('table', 'write')]: round(per(ledger.itemWriteUnits), 2),
      [ledgerPartFigure('table', 'read')]: round(per(readUnitsByPart.table), 2),
      ...Object.fromEntries(
        INDEXES.flatMap((index) => [
          [ledgerPartFigure(index.indexName, 'write'), round(per(ledger.writeUnitsByIndex[index.indexName]), 2)],
          [ledgerPartFigure(index.indexName, 'read'), round(per(readUnitsByPart[index.indexName] ?? 0), 2)],
        ]),
      ),
    };
  } finally {
    client.destroy();
    await engine.stop();
  }
}
