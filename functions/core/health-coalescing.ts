import { SUCCESS_WINDOW_MINUTES, type HealthStore, type MinuteBucket, type ReceiverHealth } from './health';

/**
 * One deliver container's view of the receivers' health records, so that a healthy receiver's
 * traffic costs the shared record almost nothing.
 *
 * Without it every delivered event reads the record twice and writes it once (clear, then report).
 * A busy store's record is one DynamoDB item: at a sale's few hundred events a second that item
 * alone would pass DynamoDB's 1,000 writes a second per item, every write would race the other
 * containers' (conditional on the version), and each would add a write unit to the event's cost.
 *
 * Rules (everything else passes straight through):
 * - **Reads of a healthy record** are served from this container's copy for `readCacheMs`
 *   (default 1 s). A circuit opened by another container is seen at most that late: a few more
 *   attempts reach a failing receiver, which the breaker counts anyway.
 * - **A routine success** (healthy before and after, no failure streak, no probe, nothing but
 *   `lastSuccessAt` and the success counts changed) is written at most once per `successWriteMs`
 *   (default 10 s) per receiver by this container. Successes not written are kept here and added
 *   to the next write this container makes for that receiver, so the hour's success rate stays
 *   whole (a container that stops loses at most that many seconds of counts).
 * - **Every failure, state change, probe, pause or resume** is written at once, as before: the
 *   breaker's decisions never wait for this cache.
 */
export interface HealthCoalescingOptions {
  readonly now: () => number;
  /** @default 1000 */
  readonly readCacheMs?: number;
  /** @default 10_000 */
  readonly successWriteMs?: number;
}

interface ReceiverView {
  /** The record as last read or written by this container (its version is the stored one). */
  stored?: ReceiverHealth;
  readAt: number;
  /** When this container last wrote this receiver's record (0: never). */
  writtenAt: number;
  /** Successes reported here and not yet written: minute -> count. */
  pending: Map<number, number>;
  pendingLastSuccessAt?: string;
}

/** Record fields a routine success may change. */
const ROUTINE_FIELDS: ReadonlySet<string> = new Set(['lastSuccessAt', 'buckets', 'version']);

export function coalescingHealthStore(inner: HealthStore, options: HealthCoalescingOptions): HealthStore {
  const readCacheMs = options.readCacheMs ?? 1000;
  const successWriteMs = options.successWriteMs ?? 10_000;
  const views = new Map<string, ReceiverView>();
  const viewOf = (instanceId: string): ReceiverView => {
    let view = views.get(instanceId);
    if (!view) views.set(instanceId, (view = { readAt: 0, writtenAt: 0, pending: new Map() }));
    return view;
  };

  return {
    async get(instanceId) {
      const view = viewOf(instanceId);
      const now = options.now();
      if (view.stored && isCacheable(view.stored) && now - view.readAt < readCacheMs) return view.stored;
      const stored = await inner.get(instanceId);
      view.stored = stored;
      view.readAt = options.now();
      return stored;
    },

    getMany: (instanceIds) => inner.getMany(instanceIds),

    async put(next) {
      const view = viewOf(next.instanceId);
      const now = options.now();
      const previous = view.stored;
      if (previous && previous.version === next.version - 1 && isRoutineSuccess(previous, next) && now - view.writtenAt < successWriteMs) {
        // Counted here, written with this container's next write for the receiver.
        const delta = countDelta(previous.buckets, next.buckets);
        for (const [minute, delivered] of delta) view.pending.set(minute, (view.pending.get(minute) ?? 0) + delivered);
        view.pendingLastSuccessAt = later(view.pendingLastSuccessAt, next.lastSuccessAt);
        return true;
      }
      const merged = withPending(next, view, now);
      const written = await inner.put(merged);
      if (written) {
        view.stored = merged;
        view.readAt = options.now();
        view.writtenAt = view.readAt;
        view.pending.clear();
        view.pendingLastSuccessAt = undefined;
      } else {
        // Someone else wrote it: the caller re-reads, and that read must reach the store.
        view.stored = undefined;
        view.readAt = 0;
      }
      return written;
    },
  };
}

/**
 * Only a healthy record with no probe and not slow is served from the copy: every other state
 * decides on a fresh read (a slow receiver's few slots are counted across containers).
 */
function isCacheable(health: ReceiverHealth): boolean {
  return health.state === 'healthy' && health.consecutiveFailures === 0 && health.probeId === undefined && health.slowSince === undefined;
}

function isRoutineSuccess(previous: ReceiverHealth, next: ReceiverHealth): boolean {
  if (!isCacheable(previous) || !isCacheable(next)) return false;
  const keys = new Set([...Object.keys(previous), ...Object.keys(next)]);
  for (const key of keys) {
    if (ROUTINE_FIELDS.has(key)) continue;
    if (JSON.stringify((previous as unknown as Record<string, unknown>)[key]) !== JSON.stringify((next as unknown as Record<string, unknown>)[key])) return false;
  }
  const delta = countDelta(previous.buckets, next.buckets);
  // Only successes were added (a failure is never routine).
  return [...delta.values()].every((delivered) => delivered >= 0) && failedTotal(previous.buckets, next.buckets) === 0;
}

/** Per minute: delivered in `next` minus delivered in `previous`. */
function countDelta(previous: readonly MinuteBucket[], next: readonly MinuteBucket[]): Map<number, number> {
  const before = new Map(previous.map(([minute, delivered]) => [minute, delivered]));
  const delta = new Map<number, number>();
  for (const [minute, delivered] of next) {
    const added = delivered - (before.get(minute) ?? 0);
    if (added !== 0) delta.set(minute, added);
  }
  return delta;
}

function failedTotal(previous: readonly MinuteBucket[], next: readonly MinuteBucket[]): number {
  const before = new Map(previous.map(([minute, , failed]) => [minute, failed]));
  let added = 0;
  for (const [minute, , failed] of next) added += failed - (before.get(minute) ?? 0);
  return added;
}

/** `next` with the successes this container has not written yet (those still inside the hour). */
function withPending(next: ReceiverHealth, view: ReceiverView, now: number): ReceiverHealth {
  if (view.pending.size === 0) return next;
  const from = Math.floor(now / 60_000) - SUCCESS_WINDOW_MINUTES + 1;
  const buckets = new Map<number, [number, number]>(next.buckets.map(([minute, delivered, failed]) => [minute, [delivered, failed]]));
  for (const [minute, delivered] of view.pending) {
    if (minute < from) continue;
    const bucket = buckets.get(minute) ?? [0, 0];
    buckets.set(minute, [bucket[0] + delivered, bucket[1]]);
  }
  const merged: MinuteBucket[] = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([minute, [delivered, failed]]) => [minute, delivered, failed]);
  const lastSuccessAt = later(next.lastSuccessAt, view.pendingLastSuccessAt);
  return { ...next, buckets: merged, ...(lastSuccessAt ? { lastSuccessAt } : {}) };
}

function later(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a >= b ? a : b;
}
