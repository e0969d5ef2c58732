/**
 * In-memory stand-ins for the ledger's ports, for tests and benches that call deliver directly:
 * a Ledger with the same rules as the DynamoDB adapter (conditional record, versioned update,
 * expired counts as absent, the object's unfinished events in order, due entries oldest first),
 * a ticket queue and a dead-letter queue that record what they were given. Semantics that depend
 * on DynamoDB itself (indexes, paging) are tested on the real adapter (test/support/ledger-contract.ts).
 */
import {
  isExpired,
  isFinal,
  orderKey,
  type Ledger,
  type LedgerEntry,
  type LedgerPage,
  type LedgerQuery,
  type RecordResult,
} from '../functions/core/ledger';
import type { Ticket, TicketQueue } from '../functions/core/ledger-flow';
import type { DeadLetterDetails, DeadLetterQueue, QueueMessage } from '../functions/core/ports';

const keyOf = (instanceId: string, eventId: string): string => `${instanceId}\u0000${eventId}`;
const objectKeyOf = (e: Pick<LedgerEntry, 'instanceId' | 'objectType' | 'objectId'>): string =>
  `${e.instanceId}\u0000${e.objectType}\u0000${e.objectId}`;

export class MemoryLedger implements Ledger {
  /** Every entry by instance and event id. Write through `record`/`update`: they keep the object index. */
  readonly entries = new Map<string, LedgerEntry>();
  /**
   * Unfinished entries' keys by object, the stand-in for the table's object index: without it each
   * delivery scanned every entry, and the 10k scale simulation (240,000 events) went quadratic.
   */
  private readonly unfinishedByObject = new Map<string, Set<string>>();
  /** Conditional writes that succeeded (record + update), the figure DynamoDB bills. */
  writes = 0;
  /** Makes every call throw (a table that is down). */
  failure?: Error;

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async record(entries: readonly LedgerEntry[]): Promise<RecordResult[]> {
    this.check();
    return entries.map((entry) => {
      const key = keyOf(entry.instanceId, entry.eventId);
      const existing = this.entries.get(key);
      if (existing && !isExpired(existing, this.clock())) return { created: false, existing };
      if (existing) this.unindex(existing, key);
      this.entries.set(key, entry);
      this.index(entry, key);
      this.writes++;
      return { created: true, entry };
    });
  }

  async get(instanceId: string, eventId: string): Promise<LedgerEntry | undefined> {
    this.check();
    return this.entries.get(keyOf(instanceId, eventId));
  }

  async update(next: LedgerEntry): Promise<boolean> {
    this.check();
    const key = keyOf(next.instanceId, next.eventId);
    const current = this.entries.get(key);
    if (current?.version !== next.version - 1) return false;
    this.unindex(current, key);
    this.entries.set(key, next);
    this.index(next, key);
    this.writes++;
    return true;
  }

  async unfinishedOfObject(of: Pick<LedgerEntry, 'instanceId' | 'objectType' | 'objectId'> & { readonly eventId?: string }): Promise<LedgerEntry[]> {
    this.check();
    const keys = this.unfinishedByObject.get(objectKeyOf(of)) ?? [];
    return [...keys]
      .map((key) => this.entries.get(key))
      .filter((e): e is LedgerEntry => e !== undefined && !isFinal(e.status) && e.eventId !== of.eventId)
      .sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : 1));
  }

  async due(now: Date, limit: number): Promise<LedgerEntry[]> {
    this.check();
    const at = now.toISOString();
    return [...this.entries.values()]
      .filter((e) => !isFinal(e.status) && e.dueAt !== undefined && e.dueAt <= at)
      .sort((a, b) => ((a.dueAt ?? '') < (b.dueAt ?? '') ? -1 : 1))
      .slice(0, limit);
  }

  /** Instance, status and time filters only, one page. */
  async list(query: LedgerQuery): Promise<LedgerPage> {
    this.check();
    const entries = [...this.entries.values()]
      .filter((e) => (query.instanceId === undefined || e.instanceId === query.instanceId) && (query.status === undefined || e.status === query.status))
      .filter((e) => (query.since === undefined || e.receivedAt >= query.since) && (query.until === undefined || e.receivedAt < query.until))
      .sort((a, b) => (orderKey(a) < orderKey(b) ? 1 : -1));
    return { entries: entries.slice(0, query.limit ?? 50) };
  }

  private index(entry: LedgerEntry, key: string): void {
    if (isFinal(entry.status)) return;
    const objectKey = objectKeyOf(entry);
    const keys = this.unfinishedByObject.get(objectKey) ?? new Set<string>();
    keys.add(key);
    this.unfinishedByObject.set(objectKey, keys);
  }

  private unindex(entry: LedgerEntry, key: string): void {
    const objectKey = objectKeyOf(entry);
    const keys = this.unfinishedByObject.get(objectKey);
    if (!keys) return;
    keys.delete(key);
    if (keys.size === 0) this.unfinishedByObject.delete(objectKey);
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}

/** Records the tickets it accepted; `failure` makes every send throw. */
export class MemoryTicketQueue implements TicketQueue {
  readonly sent: Ticket[] = [];
  failure?: Error;

  async send(tickets: readonly Ticket[]): Promise<void> {
    if (this.failure) throw this.failure;
    this.sent.push(...tickets);
  }
}

/** Records what was dead-lettered; `failure` makes every call throw (a DLQ that is down). */
export class MemoryDeadLetterQueue implements DeadLetterQueue {
  readonly entries: LedgerEntry[] = [];
  readonly messages: { message: QueueMessage; details: DeadLetterDetails }[] = [];
  failure?: Error;

  async deadLetter(entry: LedgerEntry): Promise<void> {
    if (this.failure) throw this.failure;
    this.entries.push(entry);
  }

  async deadLetterMessage(message: QueueMessage, details: DeadLetterDetails): Promise<void> {
    if (this.failure) throw this.failure;
    this.messages.push({ message, details });
  }
}
