/**
 * What the poller keeps per instance between polls (CheckpointStore: SSM in AWS, a folder
 * locally): a cursor per object type and the recently queued changes. One small JSON document,
 * no secrets.
 */
import { MAX_STATE_BYTES, OVERLAP_SECONDS } from './constants';
import type { PollObjectType } from './settings';

/** The span of update times of one object type already scanned. */
export interface PollCursor {
  /** Earliest update time covered (Unix seconds). */
  readonly from: number;
  /** Latest update time covered: the next window starts at `to - OVERLAP_SECONDS`. */
  readonly to: number;
  /** A backfill in progress: [backfill, from) is still to be scanned (newest first, lowering `from`). */
  readonly backfill?: number;
}

export type PollStatus = 'ok' | 'partial' | 'auth-failed' | 'rate-limited' | 'unstable' | 'failed';

export interface PollState {
  readonly v: 1;
  readonly cursors: Readonly<Partial<Record<PollObjectType, PollCursor>>>;
  /** `${objectType}:${objectId}` -> update time of the last queued change, within the overlap. */
  readonly sent: Readonly<Record<string, number>>;
  readonly lastAttemptAt?: string;
  readonly lastSuccessAt?: string;
  readonly lastStatus?: PollStatus;
  readonly lastError?: string;
}

export const emptyPollState = (): PollState => ({ v: 1, cursors: {}, sent: {} });

/**
 * The `sent` entries a later scan can still meet: update times inside the live overlap, or
 * inside a backfill still in progress. Entries of types no longer polled are dropped.
 */
export function prunedSent(
  sent: ReadonlyMap<string, number>,
  cursors: Readonly<Partial<Record<PollObjectType, PollCursor>>>,
  objectTypes: readonly PollObjectType[],
): Record<string, number> {
  const kept: Record<string, number> = {};
  for (const [key, updatedAt] of sent) {
    const objectType = objectTypes.find((type) => key.startsWith(`${type}:`));
    const cursor = objectType === undefined ? undefined : cursors[objectType];
    if (!cursor) continue;
    const inOverlap = updatedAt >= cursor.to - OVERLAP_SECONDS;
    // A backfill in progress meets its next window's boundary second again (`from`).
    const inBackfill = cursor.backfill !== undefined && updatedAt >= cursor.backfill && updatedAt <= cursor.from;
    if (inOverlap || inBackfill) kept[key] = updatedAt;
  }
  return kept;
}

/**
 * The state, with the oldest `sent` entries dropped until it fits MAX_STATE_BYTES, and how many
 * were dropped. Dropping one only risks delivering that change once more.
 */
export function compactState(state: PollState): { readonly state: PollState; readonly dropped: number } {
  if (stateBytes(state) <= MAX_STATE_BYTES) return { state, dropped: 0 };
  const newestFirst = Object.entries(state.sent).sort((a, b) => b[1] - a[1]);
  const withNewest = (count: number): PollState => ({ ...state, sent: Object.fromEntries(newestFirst.slice(0, count)) });
  // The largest number of newest entries that fits, by bisection (a few serializations).
  let low = 0;
  let high = newestFirst.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (stateBytes(withNewest(mid)) <= MAX_STATE_BYTES) low = mid;
    else high = mid - 1;
  }
  return { state: withNewest(low), dropped: newestFirst.length - low };
}

export const stateBytes = (state: PollState): number => Buffer.byteLength(JSON.stringify(state), 'utf8');

/** Reads a stored state, throwing a clear error for anything that is not one. */
export function parsePollState(text: string, source: string): PollState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${source} is not valid JSON`);
  }
  const state = parsed as Partial<PollState> | null;
  if (
    typeof state !== 'object' ||
    state === null ||
    state.v !== 1 ||
    typeof state.cursors !== 'object' ||
    state.cursors === null ||
    typeof state.sent !== 'object' ||
    state.sent === null
  ) {
    throw new Error(`${source} is not a poll state (version 1)`);
  }
  for (const [type, cursor] of Object.entries(state.cursors)) {
    const c = cursor as Partial<PollCursor> | undefined;
    if (!c || !Number.isFinite(c.from) || !Number.isFinite(c.to) || (c.backfill !== undefined && !Number.isFinite(c.backfill))) {
      throw new Error(`${source} has a malformed cursor for ${type}`);
    }
  }
  return state as PollState;
}
