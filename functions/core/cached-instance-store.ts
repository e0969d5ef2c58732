/**
 * The instance configs as ingest and deliver read them at scale: a per-environment cache
 * (core/read-through-cache.ts) in front of the instance read model (a DynamoDB table in AWS,
 * kept in step with Parameter Store by the config-sync function).
 *
 * Why the numbers below: a change reaches the read model within seconds (the sync function runs on
 * Parameter Store's change event), so it is visible to every environment within
 * `maxAgeMs` + a few seconds. The default of 30 s keeps that under the 60 s promise with room for
 * a slow event; a stale value is served for at most 5 minutes past that while the read model
 * cannot be read, so a short DynamoDB or KMS outage does not turn into 503s (and Ecwid retries).
 */
import type { Instance } from './instance';
import type { InstanceLookup } from './ports';
import { ReadThroughCache, type ReadThroughCacheOptions, type ReadThroughCacheStats } from './read-through-cache';

/**
 * Port: the read model of the instance configs. Both methods throw when the backend cannot answer;
 * "not found" is undefined / []. `instancesOfStore` costs one lookup however many stores exist.
 */
export interface InstanceDirectory {
  instance(instanceId: string): Promise<Instance | undefined>;
  instancesOfStore(storeId: string): Promise<Instance[]>;
}

export const INSTANCE_CACHE_DEFAULTS = {
  maxAgeMs: 30_000,
  notFoundMaxAgeMs: 30_000,
  staleOnErrorMs: 300_000,
  errorBackoffMs: 5_000,
  /** Instances (and as many stores): a few MB at most, however many stores send traffic. */
  maxEntries: 20_000,
} as const;

export type InstanceCacheOptions = Partial<Omit<ReadThroughCacheOptions, 'now'>> & {
  /** Epoch ms. @default Date.now */
  readonly now?: () => number;
};

export class CachedInstanceStore implements InstanceLookup {
  private readonly byId: ReadThroughCache<Instance>;
  private readonly byStore: ReadThroughCache<readonly Instance[]>;

  constructor(
    private readonly directory: InstanceDirectory,
    options: InstanceCacheOptions = {},
  ) {
    const resolved: ReadThroughCacheOptions = { ...INSTANCE_CACHE_DEFAULTS, now: () => Date.now(), ...stripUndefined(options) };
    this.byId = new ReadThroughCache<Instance>(resolved);
    this.byStore = new ReadThroughCache<readonly Instance[]>(resolved);
  }

  get(instanceId: string): Promise<Instance | undefined> {
    return this.byId.get(instanceId, () => this.directory.instance(instanceId));
  }

  readAhead(instanceId: string): void {
    // The read's outcome (a failure included) is what the following get() shares or finds cached.
    this.get(instanceId).catch(() => undefined);
  }

  async findByStore(storeId: string): Promise<Instance[]> {
    const instances = await this.byStore.get(storeId, async () => {
      const found = await this.directory.instancesOfStore(storeId);
      // An empty list is "not found": cached for the not-found age. (Ingest checks each
      // instance's own store id; the index may lag behind a document.)
      return found.length > 0 ? found : undefined;
    });
    return instances ? [...instances] : [];
  }

  /** Lookups, hits, shared lookups and stale answers of both caches, summed. */
  stats(): ReadThroughCacheStats {
    const a = this.byId.stats;
    const b = this.byStore.stats;
    return {
      hits: a.hits + b.hits,
      shared: a.shared + b.shared,
      lookups: a.lookups + b.lookups,
      servedStale: a.servedStale + b.servedStale,
      failed: a.failed + b.failed,
    };
  }

  clearCache(): void {
    this.byId.clear();
    this.byStore.clear();
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
