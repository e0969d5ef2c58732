/**
 * The event ledger's work per event, on the real DynamoDB adapter against the embedded engine
 * (dynalite, in this process): the happy path of events as ingest and deliver write them (admit,
 * then one ticket each: claim, attempt, delivered), counting the DynamoDB calls the adapter makes
 * and the units DynamoDB on demand would bill for them:
 * - writes: each Put writes the item (1 unit per KB) and, for each global secondary index, its
 *   entry: 1 unit when it appears, disappears or its projected attributes change, 2 when its key
 *   changes (a delete and a put), 0 when untouched; computed from the items before and after.
 * - reads: GetItem and BatchGetItem are strongly consistent (1 unit per 4 KB and item), Query on an
 *   index eventually consistent (0.5 unit per 4 KB returned, at least 0.5).
 * Item sizes are the JSON length of the item (close to DynamoDB's attribute name + value bytes; for
 * reads, of the item as DynamoDB returns it, with type tags: a slight overestimate).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable, toItem } from '../functions/adapters/aws/dynamodb-ledger';
import { LEDGER_TABLE, ledgerIndexSummary } from '../functions/contract';
import type { QueuedEvent } from '../functions/core/event';
import type { Ledger, LedgerEntry, RecordResult } from '../functions/core/ledger';
import { admit, firstTicketId, handleTicket, type Ticket } from '../functions/core/ledger-flow';
import { DEFAULT_RETRY_POLICY } from '../functions/core/retry-policy';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import { type Figures, round } from './support';

const EVENTS = 200;

/** DynamoDB on demand, us-east-1 (standard table class). */
export const LEDGER_PRICES = {
  perMillionWriteUnits: 0.625,
  perMillionReadUnits: 0.125,
  /** Storage and point-in-time recovery, per GB-month. */
  storagePerGbMonth: 0.25,
  pitrPerGbMonth: 0.2,
} as const;

type Item = Record<string, unknown>;
const INDEXES = Object.values(LEDGER_TABLE.indexes);

const bytesOf = (item: Item): number => Buffer.byteLength(JSON.stringify(item), 'utf8');

/** Write units of one Put that replaces `before` (absent: a new item) with `after`. */
export function writeUnits(before: Item | undefined, after: Item): number {
  let units = Math.max(1, Math.ceil(bytesOf(after) / 1024));
  for (const index of INDEXES) {
    const projected = [index.partitionKey, index.sortKey, LEDGER_TABLE.partitionKey, LEDGER_TABLE.sortKey, ...ledgerIndexSummary(index)];
    const keyOf = (item: Item | undefined) =>
      item && item[index.partitionKey] !== undefined && item[index.sortKey] !== undefined ? `${item[index.partitionKey]}\u0000${item[index.sortKey]}` : undefined;
    const view = (item: Item) => JSON.stringify(projected.map((name) => item[name]));
    const [was, is] = [keyOf(before), keyOf(after)];
    if (was === undefined && is === undefined) continue;
    if (was === undefined || is === undefined) units += 1;
    else if (was !== is) units += 2;
    else if (view(before!) !== view(after)) units += 1;
  }
  return units;
}

/** A Ledger that counts the units of every successful write (the items it last wrote, per key). */
class MeteredLedger implements Ledger {
  writeUnits = 0;
  writes = 0;
  private readonly last = new Map<string, Item>();
  constructor(private readonly inner: DynamoDbLedger) {}
  private key = (e: Pick<LedgerEntry, 'instanceId' | 'eventId'>) => `${e.instanceId}\u0000${e.eventId}`;
  private wrote(entry: LedgerEntry): void {
    const item = toItem(entry);
    this.writeUnits += writeUnits(this.last.get(this.key(entry)), item);
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
  unfinishedOfObject = (of: Pick<LedgerEntry, 'instanceId' | 'objectType' | 'objectId'>) => this.inner.unfinishedOfObject(of);
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
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String((context as { commandName?: string }).commandName ?? '?').replace(/Command$/, '');
      calls.set(name, (calls.get(name) ?? 0) + 1);
      const result = await next(args);
      const output = (result.output ?? {}) as { Item?: Item; Items?: Item[]; Responses?: Record<string, Item[]> };
      const units = (item: Item, per4k: number) => Math.max(per4k, Math.ceil(bytesOf(item) / 4096) * per4k);
      if (name === 'GetItem' && output.Item) readUnits += units(output.Item, 1);
      if (name === 'BatchGetItem') for (const items of Object.values(output.Responses ?? {})) for (const item of items) readUnits += units(item, 1);
      if (name === 'Query') readUnits += Math.max(0.5, Math.ceil((output.Items ?? []).reduce((sum, item) => sum + bytesOf(item), 0) / 4096) * 0.5);
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
    let itemBytes = 0;
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
        attempt: async () => ({ kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 120, excerpt: '{"received":true}' } }),
        deadLetter: async () => undefined,
      }, { firstTicket: true, receiveCount: 1 });
      if (outcome.kind !== 'delivered') throw new Error(`bench ledger: event ${n} ended ${outcome.kind}`);
      itemBytes += bytesOf(toItem(outcome.entry));
    }
    const per = (value: number) => value / EVENTS;
    const writeUnitsPerEvent = per(ledger.writeUnits);
    const readUnitsPerEvent = per(readUnits);
    const gbMonthsPerMillion = (per(itemBytes) * 1e6) / 1024 ** 3;
    const requestsUsd = writeUnitsPerEvent * LEDGER_PRICES.perMillionWriteUnits + readUnitsPerEvent * LEDGER_PRICES.perMillionReadUnits;
    const storageUsd = gbMonthsPerMillion * (LEDGER_PRICES.storagePerGbMonth + LEDGER_PRICES.pitrPerGbMonth);
    log(`ledger: ${EVENTS} events, calls ${JSON.stringify(Object.fromEntries(calls))}`);
    return {
      ledger_writes_per_event: round(per(ledger.writes), 2),
      ledger_write_units_per_event: round(writeUnitsPerEvent, 2),
      ledger_read_units_per_event: round(readUnitsPerEvent, 2),
      ledger_calls_per_event: round(per([...calls.values()].reduce((a, b) => a + b, 0)), 2),
      ledger_item_bytes: Math.round(per(itemBytes)),
      ledger_requests_usd_per_million: round(requestsUsd, 3),
      ledger_storage_usd_per_million_month: round(storageUsd, 4),
    };
  } finally {
    client.destroy();
    await engine.stop();
  }
}
