/**
 * Per-instance delivery controls (issue 16), pure:
 * - the event-type filter: which Ecwid event types an instance wants (`order.*` wildcards);
 *   others are recorded as filtered and not delivered;
 * - the per-receiver rate limit (a token bucket) and concurrency cap, with a fair share of the
 *   delivery concurrency so that one slow receiver cannot hold every slot.
 *
 * The keys are read through core/instance.ts (`configOf`); this module parses and checks them.
 */
import { filterTypeOf, KNOWN_ENTITIES, KNOWN_WEBHOOK_EVENT_TYPES } from './ecwid/event-types';
import { CONFIG_KEYS, configOf, type Instance, type InstanceDocument } from './instance';

// ---- the event-type filter ---------------------------------------------------------------------

/** Which event types an instance takes. Absent (no key): all of them. */
export interface EventTypeFilter {
  /** Lower-cased: `order.created`, `order.*`, or `*`. */
  readonly patterns: readonly string[];
}

export interface ControlProblem {
  readonly key: string;
  readonly message: string;
}

/** `entity.action`, `entity.*` or `*`; an ION name (`new_order`) is taken as the type it stands for. */
const PATTERN = /^(\*|[a-z][a-z0-9_]*\.(\*|[a-z][a-z0-9_]*))$/i;

const KNOWN_TYPES_LOWER = new Set(KNOWN_WEBHOOK_EVENT_TYPES.map((type) => type.toLowerCase()));
const KNOWN_ENTITIES_LOWER = new Set([...KNOWN_ENTITIES].map((entity) => entity.toLowerCase()));

/**
 * Parses the filter key's value: types separated by commas or white space. Errors for what can
 * never match an Ecwid type; warnings for types Ecwid does not document (a typo, or a type newer
 * than our list: it is kept and will match if Ecwid sends it).
 */
export function parseEventTypeFilter(text: string): { filter?: EventTypeFilter; errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const tokens = text.split(/[\s,]+/).filter((token) => token !== '');
  if (tokens.length === 0) return { errors: ['lists no event type (leave the key out to deliver every type)'], warnings };
  const patterns: string[] = [];
  for (const token of tokens) {
    const type = filterTypeOf(token).toLowerCase();
    if (!PATTERN.test(type)) {
      errors.push(`"${token.slice(0, 60)}" is not an event type: use entity.action (order.created), entity.* (order.*) or *`);
      continue;
    }
    const entity = type.split('.')[0];
    if (type !== '*' && type.endsWith('.*') && !KNOWN_ENTITIES_LOWER.has(entity)) {
      warnings.push(`"${token}": Ecwid documents no ${entity}.* events (check the spelling)`);
    } else if (type !== '*' && !type.endsWith('.*') && !KNOWN_TYPES_LOWER.has(type)) {
      warnings.push(`"${token}" is not one of Ecwid's documented event types (check the spelling)`);
    }
    if (!patterns.includes(type)) patterns.push(type);
  }
  return errors.length > 0 ? { errors, warnings } : { filter: { patterns }, errors, warnings };
}

/** Whether the instance takes events of this Ecwid type (ION types count as their webhook type). */
export function acceptsEventType(filter: EventTypeFilter | undefined, ecwidEventType: string): boolean {
  if (!filter) return true;
  const type = filterTypeOf(ecwidEventType).toLowerCase();
  const entity = type.slice(0, type.indexOf('.'));
  return filter.patterns.some((pattern) => pattern === '*' || pattern === type || (pattern.endsWith('.*') && pattern === `${entity}.*`));
}

// ---- per-receiver limits -----------------------------------------------------------------------

export interface ReceiverLimits {
  /** Requests per second to the callback (a token bucket refilled at this rate). Absent: no limit. */
  readonly ratePerSecond?: number;
  /** Burst of the bucket. @default max(1, ceil(ratePerSecond)) */
  readonly burst?: number;
  /** Concurrent requests to the callback. Absent: the fair share only. */
  readonly maxConcurrency?: number;
}

/** Everything deliver and ingest need from the control keys of one instance. */
export interface DeliveryControls {
  readonly filter?: EventTypeFilter;
  readonly limits: ReceiverLimits;
  /** Where operational notices are POSTed (signed like deliveries), when set. */
  readonly operationsUrl?: string;
}

/** The largest rate and concurrency an instance may ask for (a typo like 1e9 is an error, not a promise). */
export const MAX_RATE_PER_SECOND = 1000;
export const MAX_CONCURRENCY = 100;

/** The controls of an instance, and every problem of its control keys. Bad keys fall back to no limit. */
export function deliveryControlsOf(source: Instance | InstanceDocument): { controls: DeliveryControls; errors: ControlProblem[]; warnings: ControlProblem[] } {
  const config = configOf(source);
  const errors: ControlProblem[] = [];
  const warnings: ControlProblem[] = [];
  let filter: EventTypeFilter | undefined;
  if (config.eventTypes !== undefined) {
    const parsed = parseEventTypeFilter(config.eventTypes);
    filter = parsed.filter;
    errors.push(...parsed.errors.map((message) => ({ key: CONFIG_KEYS.eventTypes, message })));
    warnings.push(...parsed.warnings.map((message) => ({ key: CONFIG_KEYS.eventTypes, message })));
  }
  const number = (key: string, text: string | undefined, max: number, integer: boolean): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || value > max || (integer && !Number.isInteger(value))) {
      errors.push({ key, message: `must be ${integer ? 'a whole number' : 'a number'} above 0 and at most ${max}` });
      return undefined;
    }
    return value;
  };
  const ratePerSecond = number(CONFIG_KEYS.rateLimit, config.rateLimit, MAX_RATE_PER_SECOND, false);
  const maxConcurrency = number(CONFIG_KEYS.maxConcurrency, config.maxConcurrency, MAX_CONCURRENCY, true);
  return {
    controls: { filter, limits: { ratePerSecond, maxConcurrency }, operationsUrl: config.operationsUrl },
    errors,
    warnings,
  };
}

/** A token bucket's state: tokens left at `atMs`. */
export interface TokenBucket {
  readonly tokens: number;
  readonly atMs: number;
}

export type TokenTake =
  | { readonly granted: true; readonly bucket: TokenBucket }
  | { readonly granted: false; readonly bucket: TokenBucket; readonly waitMs: number };

/** Takes one token at `nowMs`, refilling at `ratePerSecond` up to `burst`. A new bucket starts full. */
export function takeToken(bucket: TokenBucket | undefined, nowMs: number, ratePerSecond: number, burst = Math.max(1, Math.ceil(ratePerSecond))): TokenTake {
  const elapsed = bucket ? Math.max(0, nowMs - bucket.atMs) : 0;
  const tokens = bucket ? Math.min(burst, bucket.tokens + (elapsed / 1000) * ratePerSecond) : burst;
  if (tokens >= 1) return { granted: true, bucket: { tokens: tokens - 1, atMs: nowMs } };
  return { granted: false, bucket: { tokens, atMs: nowMs }, waitMs: Math.ceil(((1 - tokens) / ratePerSecond) * 1000) };
}

/**
 * The most requests one receiver may have in flight out of `totalSlots`: an equal share among the
 * receivers that are busy (counting this one), and never more than half of the slots while others
 * may come, so a receiver answering in 10 s cannot take them all; at least one, so every receiver
 * moves. Its own `maxConcurrency` caps it further.
 */
export function fairShare(totalSlots: number, busyReceivers: number, maxConcurrency?: number): number {
  const share = Math.max(1, Math.floor(totalSlots / Math.max(2, busyReceivers)));
  return maxConcurrency === undefined ? share : Math.max(1, Math.min(share, maxConcurrency));
}

export type SlotDecision =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'rate' | 'concurrency' | 'capacity'; readonly retryInMs: number };

/**
 * Delivery slots of one deliver worker (an invocation, or the local runner): total concurrency,
 * each receiver's fair share and caps, and rate buckets. No I/O; the caller starts a request only
 * after `tryStart` said yes, and calls `finish` when it ends (whatever the outcome).
 */
export class DeliverySlots {
  private readonly inflight = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();
  private total = 0;

  constructor(private readonly totalSlots: number) {
    if (!Number.isInteger(totalSlots) || totalSlots < 1) throw new Error(`delivery slots must be a whole number of at least 1, got ${totalSlots}`);
  }

  tryStart(receiver: string, limits: ReceiverLimits, nowMs: number): SlotDecision {
    if (this.total >= this.totalSlots) return { ok: false, reason: 'capacity', retryInMs: 50 };
    const mine = this.inflight.get(receiver) ?? 0;
    const busy = this.inflight.size + (mine === 0 ? 1 : 0);
    if (mine >= fairShare(this.totalSlots, busy, limits.maxConcurrency)) return { ok: false, reason: 'concurrency', retryInMs: 50 };
    if (limits.ratePerSecond !== undefined) {
      const take = takeToken(this.buckets.get(receiver), nowMs, limits.ratePerSecond, limits.burst);
      this.buckets.set(receiver, take.bucket);
      if (!take.granted) return { ok: false, reason: 'rate', retryInMs: take.waitMs };
    }
    this.inflight.set(receiver, mine + 1);
    this.total++;
    return { ok: true };
  }

  finish(receiver: string): void {
    const mine = this.inflight.get(receiver) ?? 0;
    if (mine <= 0) throw new Error(`no request of ${receiver} is in flight`);
    if (mine === 1) this.inflight.delete(receiver);
    else this.inflight.set(receiver, mine - 1);
    this.total--;
  }

  inFlight(receiver?: string): number {
    return receiver === undefined ? this.total : (this.inflight.get(receiver) ?? 0);
  }
}
