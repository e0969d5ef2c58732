/**
 * A per-process read-through cache for values that many concurrent requests ask for at once
 * (instance configs in a warm Lambda environment). What it guarantees, per key:
 * - one lookup at a time: callers that arrive while a lookup is in flight share its promise;
 * - a found value is served for `maxAgeMs`, "not found" for `notFoundMaxAgeMs` (negative caching:
 *   traffic for unknown stores costs one lookup per window, not one per request);
 * - when a refresh fails, the last value (found or not found) is served for up to `staleOnErrorMs`
 *   past its age, and the failure is remembered for `errorBackoffMs` so that a failing backend is
 *   not asked again by every request; with nothing to fall back on, the error reaches the caller;
 * - at most `maxEntries` keys, the least recently used dropped first.
 * Pure: the clock is injected, there are no timers.
 */

export interface ReadThroughCacheOptions {
  /** How long a found value is served without a lookup. */
  readonly maxAgeMs: number;
  /** How long "not found" (undefined) is served without a lookup. */
  readonly notFoundMaxAgeMs: number;
  /** How long past its age a value is still served while lookups fail. 0 = never serve stale. */
  readonly staleOnErrorMs: number;
  /** After a failed lookup that was answered from stale, no new lookup for this long. */
  readonly errorBackoffMs: number;
  readonly maxEntries: number;
  /** Epoch milliseconds. */
  readonly now: () => number;
}

/** Counts for benchmarks and metrics. */
export interface ReadThroughCacheStats {
  hits: number;
  /** Callers that joined a lookup already in flight. */
  shared: number;
  lookups: number;
  /** Failed lookups answered with a stale value. */
  servedStale: number;
  /** Failed lookups with nothing to fall back on (the caller got the error). */
  failed: number;
}

interface Entry<V> {
  value: V | undefined;
  /** Served without a lookup until then. */
  freshUntil: number;
  /** Served as a fallback after a failed lookup until then. */
  staleUntil: number;
}

export class ReadThroughCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly inFlight = new Map<string, Promise<V | undefined>>();
  readonly stats: ReadThroughCacheStats = { hits: 0, shared: 0, lookups: 0, servedStale: 0, failed: 0 };

  constructor(private readonly options: ReadThroughCacheOptions) {
    for (const name of ['maxAgeMs', 'notFoundMaxAgeMs', 'staleOnErrorMs', 'errorBackoffMs'] as const) {
      if (!(options[name] >= 0)) throw new RangeError(`${name} must be 0 or more`);
    }
    if (!(options.maxEntries >= 1)) throw new RangeError('maxEntries must be 1 or more');
  }

  /** The value for `key`, from the cache or from `lookup` (undefined = not found). */
  get(key: string, lookup: () => Promise<V | undefined>): Promise<V | undefined> {
    const now = this.options.now();
    const entry = this.entries.get(key);
    if (entry && entry.freshUntil > now) {
      this.stats.hits++;
      this.touch(key, entry);
      return Promise.resolve(entry.value);
    }
    const pending = this.inFlight.get(key);
    if (pending) {
      this.stats.shared++;
      return pending;
    }
    const started = this.refresh(key, lookup);
    this.inFlight.set(key, started);
    return started;
  }

  /** Sets a value as if a lookup had just returned it (e.g. the instances found through a store). */
  prime(key: string, value: V | undefined): void {
    this.store(key, value, this.options.now());
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private async refresh(key: string, lookup: () => Promise<V | undefined>): Promise<V | undefined> {
    this.stats.lookups++;
    try {
      const value = await lookup();
      this.store(key, value, this.options.now());
      return value;
    } catch (error) {
      const now = this.options.now();
      const entry = this.entries.get(key);
      if (entry && entry.staleUntil > now) {
        this.stats.servedStale++;
        // Serve the stale value to everyone for a short while instead of failing lookups in a row.
        entry.freshUntil = Math.min(entry.staleUntil, now + this.options.errorBackoffMs);
        return entry.value;
      }
      this.stats.failed++;
      throw error;
    } finally {
      this.inFlight.delete(key);
    }
  }

  private store(key: string, value: V | undefined, now: number): void {
    const maxAge = value === undefined ? this.options.notFoundMaxAgeMs : this.options.maxAgeMs;
    const entry: Entry<V> = { value, freshUntil: now + maxAge, staleUntil: now + maxAge + this.options.staleOnErrorMs };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxEntries) {
      // Maps iterate in insertion order, and touch() re-inserts: the first key is the least recently used.
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  private touch(key: string, entry: Entry<V>): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
  }
}
