/**
 * In-memory stand-ins for the poller's ports: an Ecwid store whose objects change, a queue, a
 * checkpoint store with leases, a clock. Used by the core tests and the fake Ecwid server.
 */
import type { QueuedEvent } from '../../functions/core/event';
import type { Instance } from '../../functions/core/instance';
import {
  type CheckpointStore,
  type EcwidObject,
  type PollListRequest,
  type PollPage,
  type PollSource,
  type PollState,
  type PollTelemetry,
} from '../../functions/core/poll';
import type { PollObjectType } from '../../functions/core/poll-config';
import type { EventQueue } from '../../functions/core/ports';
import { instanceDocument } from '../support/factories';

export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0); // epoch ms
export const secondsOf = (ms: number): number => Math.floor(ms / 1000);

/** A store's objects by type; times in Unix seconds. Lists like Ecwid: newest created first. */
export class FakeEcwidStore {
  readonly objects: Record<PollObjectType, Map<string, EcwidObject>> = {
    orders: new Map(),
    products: new Map(),
    customers: new Map(),
  };
  private nextOrder = 1000;

  /** A new order created (and last updated) at `at`. */
  createOrder(at: number, extra: EcwidObject = {}): string {
    const id = `ORD${++this.nextOrder}`;
    this.objects.orders.set(id, { id, orderNumber: this.nextOrder, createTimestamp: at, updateTimestamp: at, paymentStatus: 'AWAITING_PAYMENT', ...extra });
    return id;
  }

  /** Changes an existing object at `at`. */
  update(type: PollObjectType, id: string, at: number, changes: EcwidObject = {}): void {
    const current = this.objects[type].get(id);
    if (!current) throw new Error(`no ${type} ${id}`);
    const timeFields = type === 'customers' ? { updated: ecwidDate(at) } : { updateTimestamp: at };
    this.objects[type].set(id, { ...current, ...changes, ...timeFields });
  }

  createProduct(id: number, at: number): void {
    this.objects.products.set(String(id), { id, name: `Product ${id}`, createTimestamp: at, updateTimestamp: at });
  }

  createCustomer(id: number, at: number): void {
    this.objects.customers.set(String(id), { id, email: `c${id}@example.com`, registered: ecwidDate(at), updated: ecwidDate(at) });
  }

  delete(type: PollObjectType, id: string): void {
    this.objects[type].delete(id);
  }

  /** What GET /v3/{store}/{type}?updatedFrom&updatedTo&offset&limit answers (bounds inclusive). */
  search(type: PollObjectType, from: number, to: number, offset: number, limit: number): { total: number; items: EcwidObject[] } {
    const matching = [...this.objects[type].values()]
      .filter((item) => {
        const updated = updatedSeconds(type, item);
        return updated >= from && updated <= to;
      })
      .sort((a, b) => createdSeconds(type, b) - createdSeconds(type, a) || String(b.id).localeCompare(String(a.id)));
    return { total: matching.length, items: matching.slice(offset, offset + limit).map((item) => structuredClone(item)) };
  }
}

export function ecwidDate(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ')} +0000`;
}
const fromEcwidDate = (text: unknown): number => Date.parse(String(text).replace(' +0000', 'Z').replace(' ', 'T')) / 1000;
const updatedSeconds = (type: PollObjectType, item: EcwidObject): number =>
  type === 'customers' ? fromEcwidDate(item.updated) : Number(item.updateTimestamp);
const createdSeconds = (type: PollObjectType, item: EcwidObject): number =>
  type === 'customers' ? fromEcwidDate(item.registered) : Number(item.createTimestamp);

/** PollSource over a FakeEcwidStore; `beforeList` runs before each answer (to change the store mid-scan). */
export class FakePollSource implements PollSource {
  readonly requests: PollListRequest[] = [];
  beforeList?: (request: PollListRequest, callNumber: number) => void | Promise<void>;
  failWith?: (request: PollListRequest) => Error | undefined;

  constructor(readonly store: FakeEcwidStore) {}

  async list(request: PollListRequest): Promise<PollPage> {
    this.requests.push(request);
    await this.beforeList?.(request, this.requests.length);
    const error = this.failWith?.(request);
    if (error) throw error;
    return this.store.search(request.objectType, request.updatedFrom, request.updatedTo, request.offset, request.limit);
  }
}

export class MemoryQueue implements EventQueue {
  readonly events: QueuedEvent[] = [];
  failNext = 0;

  async enqueue(events: readonly QueuedEvent[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('SendMessageBatch failed (ServiceUnavailable)');
    }
    this.events.push(...events);
  }

  /** `objectType:objectId@updateSeconds` of every queued event, in order. */
  changes(): string[] {
    return this.events.map((event) => `${event.objectType}:${event.objectId}@${secondsOf(Date.parse(event.occurredAt ?? ''))}`);
  }
}

export class MemoryCheckpoints implements CheckpointStore {
  readonly states = new Map<string, PollState>();
  readonly leases = new Map<string, { owner: string; expiresAt: number }>();
  saves = 0;

  constructor(private readonly clock: () => Date) {}

  async load(instanceId: string): Promise<PollState | undefined> {
    const state = this.states.get(instanceId);
    return state === undefined ? undefined : structuredClone(state);
  }

  async loadAll(): Promise<Map<string, PollState>> {
    return new Map([...this.states].map(([id, state]) => [id, structuredClone(state)]));
  }

  async save(instanceId: string, state: PollState): Promise<void> {
    this.saves += 1;
    // Round-trip through JSON, as every real store does.
    this.states.set(instanceId, JSON.parse(JSON.stringify(state)) as PollState);
  }

  async lock(instanceId: string, owner: string, ttlSeconds: number): Promise<boolean> {
    const current = this.leases.get(instanceId);
    if (current && current.owner !== owner && current.expiresAt > this.clock().getTime()) return false;
    this.leases.set(instanceId, { owner, expiresAt: this.clock().getTime() + ttlSeconds * 1000 });
    return true;
  }

  async unlock(instanceId: string, owner: string): Promise<void> {
    if (this.leases.get(instanceId)?.owner === owner) this.leases.delete(instanceId);
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(private ms: number = T0) {}
  readonly now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  get seconds(): number {
    return secondsOf(this.ms);
  }
}

export class RecordingTelemetry implements PollTelemetry {
  readonly lines: Array<{ level: string; message: string; attributes?: Readonly<Record<string, unknown>> }> = [];
  readonly counts = new Map<string, number>();
  log(level: string, message: string, attributes?: Readonly<Record<string, unknown>>): void {
    this.lines.push({ level, message, attributes });
  }
  count(metric: string, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }
  total(metric: string): number {
    return this.counts.get(metric) ?? 0;
  }
}

export const ACCESS_TOKEN = 'secret_poll_token_do_not_log';

/** An instance polling `configuration` every `interval` minutes. */
export function pollingInstance(
  id = 'shop-a',
  configuration: Record<string, string> = {},
): Instance {
  return {
    id,
    document: instanceDocument({
      storeId: '1003',
      configuration: {
        'ecwid.access.token': ACCESS_TOKEN,
        'event.vendor.type': 'polling',
        ...configuration,
      },
    }),
  };
}
