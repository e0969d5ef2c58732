/**
 * Ecwid API budget per access token (Ecwid allows 600 requests a minute per token), in front of
 * the Ecwid API port. Deliver (and the poller) call through it; it spends as few requests as it can
 * and waits rather than fails when Ecwid says "too many":
 *
 * - Reads of the same entity share one request (coalescing), and an entity is reused for
 *   `entityMaxAgeMs` (a brief cache) — but only for an event received BEFORE that request started,
 *   so an event never gets an entity older than itself (10 updates of one order arriving together
 *   cost one or two GETs, and each callback still carries the order as it was after its update).
 * - Requests of one token are paced: at most `ratePerSecond` a second from this environment,
 *   halved on each 429 (down to one a minute) and grown back by 10% a second after successes, so
 *   the hundreds of environments that share a busy store's token back off together towards
 *   Ecwid's limit instead of hammering it. A request that would wait longer than `maxWaitMs` for
 *   its turn fails at once (EcwidBudgetExhaustedError, like a 429 that Ecwid never saw) and is
 *   retried later, so a busy store never holds up the other deliveries of a batch for long.
 * - A 429 is waited out in-process (its Retry-After, at least 1 s) and the request made again;
 *   the wait counts against `maxWaitMs`, after which the 429 reaches the caller (and the delivery
 *   is retried later like any failure). Within that budget a 429 costs the event nothing.
 *
 * Pure: the clock and the wait are injected; the state is per environment.
 */
import { createHash } from 'node:crypto';
import type { EcwidApi, EcwidEntity, EcwidReadOptions, EcwidV3Collection } from '../ports';

export interface EcwidBudgetOptions {
  /** Epoch ms. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** @default 10 (600 a minute) */
  readonly ratePerSecond?: number;
  /** @default 10_000 */
  readonly entityMaxAgeMs?: number;
  /**
   * Reads that verify an unsigned notification (`EcwidReadOptions.unsigned`: ION posts, which
   * anyone can send) get at most this many a second per token, on top of the token's own pace:
   * a flood of forged posts can spend this share of a store's token, never all of it.
   * @default UNSIGNED_RATE_PER_SECOND (1 of the token's 10)
   */
  readonly unsignedRatePerSecond?: number;
  /** Longest a request waits in-process for its turn or a Retry-After. @default 2_000 */
  readonly maxWaitMs?: number;
  /** Entities kept (per environment). @default 5_000 */
  readonly maxEntities?: number;
  /**
   * How a failure says "429, retry after N s": undefined when it is not a 429.
   * @default a `status` of 429 with its `retryAfterSeconds` (1 when absent), as the Ecwid client throws
   */
  readonly retryAfterOf?: (error: unknown) => number | undefined;
}

/** What the budget did, for metrics and benchmarks. */
export interface EcwidBudgetStats {
  requests: number;
  /** Reads answered by a request already in flight or a cached entity. */
  saved: number;
  tooManyRequests: number;
  /** Milliseconds spent waiting for the budget or a Retry-After. */
  waitedMs: number;
}

interface Fetch {
  /** When the request started (epoch ms): it serves events received before this. */
  readonly startedAt: number;
  readonly promise: Promise<EcwidEntity | null>;
  /** Set when it answered: entities expire `entityMaxAgeMs` after. */
  answeredAt?: number;
}

interface TokenPace {
  rate: number;
  /** Smoothed gap between this environment's requests for the token (ms): its actual demand. */
  gapMs: number;
  lastSentAt: number;
  /** The earliest time the next request of this token may start. */
  nextAt: number;
  lastIncreaseAt: number;
}

/** The share of a token's reads a second that unsigned (ION) verifications may use, per environment. */
export const UNSIGNED_RATE_PER_SECOND = 1;

/** Longest a request waits in-process for its turn or a Retry-After, by default. */
export const DEFAULT_ECWID_MAX_WAIT_MS = 2_000;

/** The slowest pace after repeated 429s: one request a minute per environment and token. */
const MIN_RATE_PER_SECOND = 1 / 60;

export class EcwidApiBudget implements EcwidApi {
  private readonly fetches = new Map<string, Fetch>();
  private readonly paces = new Map<string, TokenPace>();
  private readonly ratePerSecond: number;
  private readonly entityMaxAgeMs: number;
  private readonly maxWaitMs: number;
  private readonly maxEntities: number;
  private readonly unsignedRatePerSecond: number;
  /** The unsigned share's own pace per token (its rate never grows past the share). */
  private readonly unsignedPaces = new Map<string, TokenPace>();
  readonly stats: EcwidBudgetStats = { requests: 0, saved: 0, tooManyRequests: 0, waitedMs: 0 };

  constructor(
    private readonly api: EcwidApi,
    private readonly options: EcwidBudgetOptions,
  ) {
    this.ratePerSecond = options.ratePerSecond ?? 10;
    this.entityMaxAgeMs = options.entityMaxAgeMs ?? 10_000;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_ECWID_MAX_WAIT_MS;
    this.maxEntities = options.maxEntities ?? 5_000;
    this.unsignedRatePerSecond = options.unsignedRatePerSecond ?? UNSIGNED_RATE_PER_SECOND;
  }

  /**
   * The entity as it is at least as late as `options.receivedAt` (the event that needs it): a
   * request in flight or a cached answer serves only if its request started at or after that.
   * Without `receivedAt`, only a request started from now on serves (no reuse).
   */
  getEntity(storeId: string, accessToken: string, collection: EcwidV3Collection, id: string, options: EcwidReadOptions = {}): Promise<EcwidEntity | null> {
    const key = `${storeId}\u0000${collection}\u0000${id}\u0000${tokenTag(accessToken)}`;
    const now = this.options.now();
    const receivedAt = options.receivedAt === undefined ? now + 1 : Date.parse(options.receivedAt);
    const known = this.fetches.get(key);
    if (
      known &&
      known.startedAt >= receivedAt &&
      (known.answeredAt === undefined || now - known.answeredAt <= this.entityMaxAgeMs)
    ) {
      this.stats.saved++;
      return known.promise;
    }
    const fetch: Fetch = { startedAt: now, promise: Promise.resolve(null) };
    const promise = this.request(accessToken, () => this.api.getEntity(storeId, accessToken, collection, id), options).then(
      (entity) => {
        fetch.answeredAt = this.options.now();
        return entity;
      },
      (error: unknown) => {
        // A failure is not kept: the next read asks again.
        if (this.fetches.get(key) === fetch) this.fetches.delete(key);
        throw error;
      },
    );
    (fetch as { promise: Promise<EcwidEntity | null> }).promise = promise;
    this.remember(key, fetch);
    return promise;
  }

  /** Legacy v1 reads are paced by their key like a token (never cached: ION verification must be fresh). */
  getLegacyOrder(storeId: string, orderKey: string, orderNumber: string, options: EcwidReadOptions = {}): Promise<EcwidEntity | null> {
    return this.request(orderKey, () => this.api.getLegacyOrder(storeId, orderKey, orderNumber), options);
  }

  getLegacyProduct(storeId: string, productKey: string, productId: string): Promise<EcwidEntity | null> {
    return this.request(productKey, () => this.api.getLegacyProduct(storeId, productKey, productId));
  }

  /**
   * Runs `call` within the token's budget, waiting out 429s for up to `maxWaitMs`. An `unsigned`
   * read first takes its turn in the token's unsigned share (UNSIGNED_RATE_PER_SECOND).
   */
  async request<T>(accessToken: string, call: () => Promise<T>, options: Pick<EcwidReadOptions, 'unsigned'> = {}): Promise<T> {
    const pace = this.paceOf(accessToken);
    const deadline = this.options.now() + this.maxWaitMs;
    if (options.unsigned) await this.waitForTurn(this.unsignedPaceOf(accessToken), deadline);
    for (;;) {
      await this.waitForTurn(pace, deadline);
      this.stats.requests++;
      try {
        const result = await call();
        this.succeeded(pace);
        return result;
      } catch (error) {
        const retryAfter = (this.options.retryAfterOf ?? tooManyRequestsRetryAfter)(error);
        if (retryAfter === undefined) throw error;
        this.stats.tooManyRequests++;
        // Multiplicative decrease, and nobody in this environment sends for this token before Retry-After.
        // Half of what this environment actually sent (its demand may be far below the ceiling).
        pace.rate = Math.max(MIN_RATE_PER_SECOND, Math.min(pace.rate, 1000 / pace.gapMs) / 2);
        const resumeAt = this.options.now() + Math.max(1, retryAfter) * 1000;
        pace.nextAt = Math.max(pace.nextAt, resumeAt);
        // Grow back only a second after sending resumes.
        pace.lastIncreaseAt = resumeAt;
        if (resumeAt > deadline) throw error;
      }
    }
  }

  private async waitForTurn(pace: TokenPace, deadline: number): Promise<void> {
    const now = this.options.now();
    const start = Math.max(now, pace.nextAt);
    if (start > deadline) {
      // Waiting would take longer than allowed: fail now, as a 429 would (the caller retries later).
      throw new EcwidBudgetExhaustedError(Math.ceil((start - now) / 1000));
    }
    // Reserve the slot before waiting, so concurrent callers queue behind each other.
    pace.nextAt = start + 1000 / pace.rate;
    if (pace.lastSentAt > 0) pace.gapMs = 0.8 * pace.gapMs + 0.2 * Math.max(1, start - pace.lastSentAt);
    pace.lastSentAt = start;
    if (start > now) {
      this.stats.waitedMs += start - now;
      await this.options.sleep(start - now);
    }
  }

  private succeeded(pace: TokenPace): void {
    const now = this.options.now();
    // Grow back by 10% a second of successes, up to the limit: many environments sharing a busy
    // token then grow slowly together (few 429s), one alone regains the full rate in seconds.
    if (pace.rate < this.ratePerSecond && now - pace.lastIncreaseAt >= 1000) {
      pace.rate = Math.min(this.ratePerSecond, pace.rate * 1.1);
      pace.lastIncreaseAt = now;
    }
  }

  private paceOf(accessToken: string): TokenPace {
    const tag = tokenTag(accessToken);
    let pace = this.paces.get(tag);
    if (!pace) this.paces.set(tag, (pace = { rate: this.ratePerSecond, gapMs: 1000 / this.ratePerSecond, lastSentAt: 0, nextAt: 0, lastIncreaseAt: 0 }));
    return pace;
  }

  private unsignedPaceOf(accessToken: string): TokenPace {
    const tag = tokenTag(accessToken);
    let pace = this.unsignedPaces.get(tag);
    const rate = this.unsignedRatePerSecond;
    if (!pace) this.unsignedPaces.set(tag, (pace = { rate, gapMs: 1000 / rate, lastSentAt: 0, nextAt: 0, lastIncreaseAt: 0 }));
    return pace;
  }

  private remember(key: string, fetch: Fetch): void {
    this.fetches.delete(key);
    this.fetches.set(key, fetch);
    while (this.fetches.size > this.maxEntities) this.fetches.delete(this.fetches.keys().next().value as string);
  }
}

/** The budget of a token is used up for longer than a request may wait (behaves like a 429). */
export class EcwidBudgetExhaustedError extends Error {
  override readonly name = 'EcwidBudgetExhaustedError';
  constructor(readonly retryAfterSeconds: number) {
    super(`the Ecwid API budget of this store's token is used up for the next ${retryAfterSeconds} s (600 requests a minute per token)`);
  }
}

/** A 429 as the Ecwid API client reports it: `status` 429, `retryAfterSeconds` when Ecwid sent one. */
export function tooManyRequestsRetryAfter(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || (error as { status?: unknown }).status !== 429) return undefined;
  const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' && seconds >= 0 ? seconds : 1;
}

/** A non-reversible tag of a token for map keys: a secret never becomes a key as such. */
const tokenTag = (token: string): string => createHash('sha256').update(token).digest('base64url').slice(0, 22);
