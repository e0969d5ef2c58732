/**
 * An Ecwid store whose objects change over time, as the search endpoints see it: what the poller
 * pages through (testkit/ecwid-api.ts EcwidSearchRoute serves it over HTTP; test fakes of the
 * poll source read it directly). Times are Unix seconds.
 */
import type { EcwidObject } from '../functions/core/ecwid/objects';
import type { PollObjectType } from '../functions/core/poll/settings';

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
