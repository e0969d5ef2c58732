/**
 * The poll use case: catch up with what webhooks missed by listing the objects Ecwid changed
 * since a checkpoint, and queueing one normalized event per change. Pure apart from the ports.
 *
 * ## Windows
 * Each object type (orders, products, customers) has a cursor: the span of update times
 * [from, to] already scanned. A poll scans the closed window [to - OVERLAP_SECONDS, edge], where
 * `edge` is a little in the past (SETTLE_SECONDS, or RECONCILE_LAG_SECONDS in reconciliation mode
 * so that webhooks get there first). Because the window is closed and in the past, the set of
 * objects in it can only shrink while we page through it (an object updated again gets a newer
 * update time and leaves the window; a deleted one leaves it too): offset paging then skips an
 * object only when the set changed, and a changed set shows in the `total` of the next page. The
 * window is then scanned again (at most MAX_SCAN_PASSES times); already queued changes are not
 * queued twice. A window holding more than MAX_WINDOW_ITEMS changes is halved until it does not,
 * so a long backfill advances in bounded steps, each saved as it completes.
 *
 * ## Events
 * One event per (object, update time): eventId `poll:{objectType}:{objectId}:{updateSeconds}`.
 * CREATED when created and updated times are within CREATED_TOLERANCE_SECONDS, else UPDATED.
 * `raw` is the object as listed (deliver sends it as the callback's `raw.entity`).
 *
 * ## Not twice
 * - By the poller: `sent` in the state remembers the changes queued with an update time inside
 *   the overlap (the only part a later window scans again).
 * - By a webhook: the caller passes the instance's webhook sightings (sightings.ts); a change
 *   whose object had a webhook created at or after its update time (minus a tolerance) is skipped.
 *
 * ## Checkpoints
 * A cursor moves only past a window whose every page was scanned and whose every event the queue
 * accepted. Auth failures (401/403), rate limiting Ecwid did not lift, a failed enqueue, an
 * unstable window or the deadline stop the poll; the cursor stays and the next poll scans again.
 */
import { POLL_METRICS } from '../contract';
import { canonicalStoreId } from './ecwid/notification';
import type { NormalizedEventType, QueuedEvent } from './event';
import { CONFIG_KEYS, configOf, type Instance } from './instance';
import type { PollObjectType, PollSettings } from './poll-config';
import { type Clock, errorText, type EventQueue, NO_TELEMETRY, type Telemetry } from './ports';
import { changeKey, sightingIndex, type WebhookSighting } from './sightings';

// ---- tuning (seconds unless named otherwise) --------------------------------------------------

/** Ecwid's maximum page size. */
export const POLL_PAGE_LIMIT = 100;
/** Each window starts this far before the previous one ended: clock skew and search-index lag. */
export const OVERLAP_SECONDS = 120;
/** The live edge trails real time by this much in polling mode (index lag, clock skew). */
export const SETTLE_SECONDS = 60;
/**
 * In reconciliation mode the poll trails real time by this much, so that the webhook for a change
 * (normally there within seconds; Ecwid's first retry is 15 minutes later) is seen first.
 */
export const RECONCILE_LAG_SECONDS = 30 * 60;
/** Created and updated this close together: the object is new (CREATED). */
export const CREATED_TOLERANCE_SECONDS = 10;
/** A webhook created this long before a polled update time still counts as reporting it. */
export const SIGHTING_TOLERANCE_SECONDS = 5;
/** A window with more changes than this is split (bounded work per checkpoint). */
export const MAX_WINDOW_ITEMS = 1000;
/** Scans of one window whose contents keep changing before the poll gives up (until next time). */
export const MAX_SCAN_PASSES = 3;
/** The serialized state stays below this (SSM parameters hold at most 8 KB). */
export const MAX_STATE_BYTES = 8000;
/** A listed object larger than this is queued as a stub (an SQS message holds at most 256 KiB). */
export const MAX_RAW_BYTES = 200 * 1024;
/** During a long poll, progress is saved at most this often (each save is an SSM write). */
export const PROGRESS_SAVE_INTERVAL_MS = 30_000;

// ---- ports ------------------------------------------------------------------------------------

export type EcwidObject = Record<string, unknown>;

export interface PollListRequest {
  readonly storeId: string;
  /** REST v3 access token. Never logged. */
  readonly accessToken: string;
  readonly objectType: PollObjectType;
  /** Inclusive bounds, Unix seconds. */
  readonly updatedFrom: number;
  readonly updatedTo: number;
  readonly offset: number;
  readonly limit: number;
}

/** One page of a v3 search: `{ total, count, offset, limit, items }`. */
export interface PollPage {
  readonly total: number;
  readonly items: readonly EcwidObject[];
}

/** Ecwid's list endpoints (adapters/http/ecwid-poll-client.ts); throws PollAuthError / PollRateLimitedError / other errors. */
export interface PollSource {
  list(request: PollListRequest): Promise<PollPage>;
}

/** Ecwid refused the token (401/403): the token is wrong, expired or lacks a scope. */
export class PollAuthError extends Error {
  override readonly name = 'PollAuthError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Ecwid kept answering 429 after the client's own retries. */
export class PollRateLimitedError extends Error {
  override readonly name = 'PollRateLimitedError';
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

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

/** What the poller keeps per instance (one small JSON document). No secrets. */
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

/**
 * Where poll states live (SSM in AWS, a folder locally), plus the per-instance lease that keeps
 * two polls of one instance (the schedule and a CLI backfill) from running at the same time.
 */
export interface CheckpointStore {
  load(instanceId: string): Promise<PollState | undefined>;
  save(instanceId: string, state: PollState): Promise<void>;
  /** Takes the lease for `ttlSeconds`; false when another owner holds an unexpired one. */
  lock(instanceId: string, owner: string, ttlSeconds: number): Promise<boolean>;
  /** Gives the lease back if `owner` still holds it. */
  unlock(instanceId: string, owner: string): Promise<void>;
}


export interface PollDeps {
  readonly source: PollSource;
  readonly queue: EventQueue;
  readonly checkpoints: CheckpointStore;
  readonly clock: Clock;
  readonly telemetry?: Telemetry;
}

export interface PollProgress {
  readonly objectType: PollObjectType;
  readonly phase: 'backfill' | 'live';
  /** Objects read in the current window scan, and how many Ecwid says it holds. */
  readonly scanned: number;
  readonly total: number;
  /** Events queued by this poll so far (all types). */
  readonly queued: number;
}

export interface PollRequest {
  readonly instance: Instance;
  readonly settings: PollSettings;
  /** This instance's webhook sightings; changes they report are skipped. */
  readonly sightings?: readonly WebhookSighting[];
  /** Backfill: also cover changes since this time (Unix seconds), older ones than the cursor included. */
  readonly sinceSeconds?: number;
  /**
   * false: only backfill, leave the live edge to the scheduled poller (which has the sightings).
   * @default true
   */
  readonly liveEdge?: boolean;
  /** Epoch ms after which no new page is fetched; what completed is saved. */
  readonly deadline?: number;
  readonly onProgress?: (progress: PollProgress) => void;
}

export interface PollOutcome {
  readonly status: PollStatus;
  readonly queued: number;
  readonly duplicates: number;
  readonly reportedByWebhook: number;
  readonly scanned: number;
  /** Why it stopped, when it did not finish (no token in it). */
  readonly error?: string;
  readonly state: PollState;
}

export const emptyPollState = (): PollState => ({ v: 1, cursors: {}, sent: {} });

// ---- the objects ------------------------------------------------------------------------------

/** A listed object reduced to what the poller needs. */
export interface ObjectChange {
  readonly objectId: string;
  readonly updatedAt: number;
  readonly createdAt?: number;
}

interface ObjectRule {
  /** Ecwid's entity name, for `ecwidEventType` (`order.updated`). */
  readonly entity: string;
  readonly id: (item: EcwidObject) => unknown;
  readonly created: (item: EcwidObject) => number | undefined;
  readonly updated: (item: EcwidObject) => number | undefined;
}

/**
 * Field names per REST v3 collection. Orders: `id` is the order id webhooks report as
 * `data.orderId` (older stores: the number). Customers have only date strings.
 */
const OBJECT_RULES: Readonly<Record<PollObjectType, ObjectRule>> = {
  orders: {
    entity: 'order',
    id: (item) => item.id ?? item.orderNumber,
    created: (item) => seconds(item.createTimestamp) ?? ecwidDateSeconds(item.createDate),
    updated: (item) => seconds(item.updateTimestamp) ?? ecwidDateSeconds(item.updateDate),
  },
  products: {
    entity: 'product',
    id: (item) => item.id,
    created: (item) => seconds(item.createTimestamp) ?? ecwidDateSeconds(item.created),
    updated: (item) => seconds(item.updateTimestamp) ?? ecwidDateSeconds(item.updated),
  },
  customers: {
    entity: 'customer',
    id: (item) => item.id,
    created: (item) => seconds(item.createTimestamp) ?? ecwidDateSeconds(item.registered),
    updated: (item) => seconds(item.updateTimestamp) ?? ecwidDateSeconds(item.updated),
  },
};

/** The id and times of a listed object, or undefined when it has no usable id or update time. */
export function describeObject(objectType: PollObjectType, item: EcwidObject): ObjectChange | undefined {
  const rule = OBJECT_RULES[objectType];
  const rawId = rule.id(item);
  const objectId =
    typeof rawId === 'string' && rawId.trim() !== '' ? rawId.trim() : typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : undefined;
  const updatedAt = rule.updated(item);
  if (objectId === undefined || updatedAt === undefined) return undefined;
  const createdAt = rule.created(item);
  return createdAt === undefined ? { objectId, updatedAt } : { objectId, updatedAt, createdAt };
}

/** The event id of a polled change: stable for the same object and update time. */
export const pollEventId = (objectType: string, objectId: string, updatedAt: number): string =>
  `poll:${objectType}:${objectId}:${updatedAt}`;

export function pollEventType(change: ObjectChange): NormalizedEventType {
  return change.createdAt !== undefined && Math.abs(change.updatedAt - change.createdAt) <= CREATED_TOLERANCE_SECONDS
    ? 'CREATED'
    : 'UPDATED';
}

/** The queued event for one polled change. */
export function pollEvent(args: {
  readonly instanceId: string;
  readonly storeId: string;
  readonly objectType: PollObjectType;
  readonly change: ObjectChange;
  readonly item: EcwidObject;
  readonly receivedAt: string;
}): QueuedEvent {
  const { change, objectType } = args;
  const eventType = pollEventType(change);
  return {
    v: 1,
    objectType,
    objectId: change.objectId,
    eventType,
    eventId: pollEventId(objectType, change.objectId, change.updatedAt),
    instanceId: args.instanceId,
    storeId: args.storeId,
    source: 'poll',
    ecwidEventType: `${OBJECT_RULES[objectType].entity}.${eventType === 'CREATED' ? 'created' : 'updated'}`,
    occurredAt: new Date(change.updatedAt * 1000).toISOString(),
    receivedAt: args.receivedAt,
    verified: true,
    raw: boundedRaw(args.item, change),
  };
}

/** The object, or a stub naming it when it would not fit in a queue message. */
function boundedRaw(item: EcwidObject, change: ObjectChange): EcwidObject {
  if (Buffer.byteLength(JSON.stringify(item), 'utf8') <= MAX_RAW_BYTES) return item;
  return {
    id: item.id ?? change.objectId,
    updateTimestamp: change.updatedAt,
    _truncated: `the object is larger than ${MAX_RAW_BYTES} bytes; fetch it from the Ecwid API`,
  };
}

// ---- the use case -----------------------------------------------------------------------------

class DeadlineReached extends Error {}
class UnstableWindowError extends Error {}
class QueueFailedError extends Error {}

/**
 * Polls one instance once: backfill (if asked), then the live window, for each object type.
 * The caller holds the instance's lease. Never throws for Ecwid or queue problems (they are the
 * outcome); throws only when the final state cannot be saved.
 */
export async function pollInstance(request: PollRequest, deps: PollDeps): Promise<PollOutcome> {
  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  const { instance, settings } = request;
  const instanceId = instance.id;
  const config = configOf(instance);
  const token = config.accessToken ?? '';
  const storeId = canonicalStoreId(config.storeId ?? '', CONFIG_KEYS.storeId);
  const started = deps.clock();
  const nowSeconds = Math.floor(started.getTime() / 1000);
  const edge = nowSeconds - (settings.mode === 'reconcile' ? RECONCILE_LAG_SECONDS : SETTLE_SECONDS);
  const base = { instanceId, storeId, mode: settings.mode };

  const previous = (await deps.checkpoints.load(instanceId)) ?? emptyPollState();
  const cursors: Partial<Record<PollObjectType, PollCursor>> = { ...previous.cursors };
  const sent = new Map<string, number>(Object.entries(previous.sent));
  const sighted = sightingIndex(request.sightings ?? []);
  const counts = { queued: 0, duplicates: 0, reportedByWebhook: 0, scanned: 0, unusable: 0 };
  let lastSavedAt = started.getTime();

  const currentState = (extra: Partial<PollState> = {}): PollState => ({
    ...previous,
    v: 1,
    cursors: { ...cursors },
    sent: prunedSent(sent, cursors, settings.objectTypes),
    ...extra,
  });
  const saveProgress = async (): Promise<void> => {
    if (deps.clock().getTime() - lastSavedAt < PROGRESS_SAVE_INTERVAL_MS) return;
    await deps.checkpoints.save(instanceId, compactState(currentState(), telemetry));
    lastSavedAt = deps.clock().getTime();
  };
  const checkDeadline = () => {
    if (request.deadline !== undefined && deps.clock().getTime() >= request.deadline) throw new DeadlineReached('the time budget of this run is used up');
  };

  /** Queues the changes of one page that are new; returns after the queue accepted them. */
  const emit = async (objectType: PollObjectType, items: readonly EcwidObject[], below: number | undefined): Promise<void> => {
    const events: QueuedEvent[] = [];
    const pending = new Map<string, number>();
    const receivedAt = deps.clock().toISOString();
    for (const item of items) {
      counts.scanned += 1;
      const change = describeObject(objectType, item);
      if (!change) {
        counts.unusable += 1;
        continue;
      }
      // A backfill covers only what the cursor does not: newer changes were scanned before.
      if (below !== undefined && change.updatedAt >= below) continue;
      const key = changeKey(objectType, change.objectId);
      if (Math.max(sent.get(key) ?? -1, pending.get(key) ?? -1) >= change.updatedAt) {
        counts.duplicates += 1;
        continue;
      }
      if ((sighted.get(key) ?? Number.NEGATIVE_INFINITY) >= change.updatedAt - SIGHTING_TOLERANCE_SECONDS) {
        counts.reportedByWebhook += 1;
        continue;
      }
      pending.set(key, change.updatedAt);
      events.push(pollEvent({ instanceId, storeId, objectType, change, item, receivedAt }));
    }
    if (events.length === 0) return;
    try {
      await deps.queue.enqueue(events);
    } catch (error) {
      throw new QueueFailedError(`the queue did not accept ${events.length} events: ${errorText(error)}`);
    }
    for (const [key, updatedAt] of pending) sent.set(key, Math.max(sent.get(key) ?? -1, updatedAt));
    counts.queued += events.length;
  };

  /** Scans the closed window [from, to] completely, or throws. `first` is its first page. */
  const scanWindow = async (
    objectType: PollObjectType,
    phase: PollProgress['phase'],
    from: number,
    to: number,
    first: PollPage,
    below: number | undefined,
  ): Promise<void> => {
    for (let pass = 1; pass <= MAX_SCAN_PASSES; pass++) {
      let page = pass === 1 ? first : await list(objectType, from, to, 0);
      const total = page.total;
      let offset = 0;
      let stable = true;
      for (;;) {
        await emit(objectType, page.items, below);
        offset += page.items.length;
        request.onProgress?.({ objectType, phase, scanned: offset, total, queued: counts.queued });
        if (offset >= total) break;
        if (page.items.length === 0) {
          stable = false;
          break;
        }
        checkDeadline();
        page = await list(objectType, from, to, offset);
        if (page.total !== total) {
          stable = false;
          break;
        }
      }
      if (stable) return;
      telemetry.count(POLL_METRICS.rescans);
      telemetry.log('info', 'the window changed while it was paged through; scanning it again', {
        ...base,
        objectType,
        from,
        to,
        pass,
      });
    }
    throw new UnstableWindowError(`the ${objectType} updated between ${from} and ${to} kept changing during ${MAX_SCAN_PASSES} scans`);
  };

  const list = (objectType: PollObjectType, from: number, to: number, offset: number): Promise<PollPage> =>
    deps.source.list({ storeId, accessToken: token, objectType, updatedFrom: from, updatedTo: to, offset, limit: POLL_PAGE_LIMIT });

  /**
   * Scans [start, end] in windows of at most MAX_WINDOW_ITEMS changes, calling `done(window)`
   * after each completed one. `forward` (the live edge) goes oldest first; a backfill goes newest
   * first, so that what it covered always joins the cursor's span.
   */
  const scanRange = async (
    objectType: PollObjectType,
    phase: PollProgress['phase'],
    start: number,
    end: number,
    below: number | undefined,
    done: (from: number, to: number) => Promise<void>,
  ): Promise<void> => {
    const forward = phase === 'live';
    let low = start;
    let high = end;
    while (low < high) {
      let from = low;
      let to = high;
      checkDeadline();
      let first = await list(objectType, from, to, 0);
      while (first.total > MAX_WINDOW_ITEMS && to - from > 1) {
        const half = Math.floor((to - from) / 2);
        if (forward) to = from + half;
        else from = to - half;
        checkDeadline();
        first = await list(objectType, from, to, 0);
      }
      await scanWindow(objectType, phase, from, to, first, below);
      await done(from, to);
      if (forward) low = to;
      else high = from;
    }
  };

  let status: PollStatus = 'ok';
  let error: string | undefined;
  try {
    for (const objectType of settings.objectTypes) {
      // A new type starts one interval back from the edge (its first window reaches OVERLAP_SECONDS
      // further back); older changes only by backfill.
      const initial = edge - settings.intervalMinutes * 60;
      let cursor: PollCursor = cursors[objectType] ?? { from: initial - OVERLAP_SECONDS, to: initial };
      if (request.sinceSeconds !== undefined && request.sinceSeconds < cursor.from) {
        cursor = { ...cursor, backfill: Math.min(cursor.backfill ?? cursor.from, request.sinceSeconds) };
      }
      cursors[objectType] = cursor;

      if (cursor.backfill !== undefined) {
        // Changes at or after `from` were scanned by live windows: the backfill skips them.
        const coveredFrom = cursor.from;
        await scanRange(objectType, 'backfill', cursor.backfill, coveredFrom, coveredFrom, async (from) => {
          const current = cursors[objectType] as PollCursor;
          const reached = current.backfill !== undefined && from <= current.backfill;
          cursors[objectType] = reached ? { from, to: current.to } : { ...current, from };
          await saveProgress();
        });
        const current = cursors[objectType] as PollCursor;
        cursors[objectType] = { from: Math.min(current.from, current.backfill ?? current.from), to: current.to };
      }

      const live = cursors[objectType] as PollCursor;
      if (request.liveEdge !== false && edge > live.to) {
        await scanRange(objectType, 'live', live.to - OVERLAP_SECONDS, edge, undefined, async (_from, to) => {
          const current = cursors[objectType] as PollCursor;
          cursors[objectType] = { ...current, to: Math.max(current.to, to) };
          await saveProgress();
        });
      }
    }
  } catch (caught) {
    ({ status, error } = classify(caught));
    const attributes = { ...base, status, error };
    switch (status) {
      case 'auth-failed':
        telemetry.count(POLL_METRICS.authFailed);
        telemetry.log('error', 'Ecwid refused the access token; the checkpoint stays until it is fixed', {
          ...attributes,
          httpStatus: (caught as PollAuthError).status,
        });
        break;
      case 'rate-limited':
        telemetry.count(POLL_METRICS.rateLimited);
        telemetry.log('warn', 'Ecwid rate limit: the poll continues next time', attributes);
        break;
      case 'partial':
        telemetry.log('info', 'time budget used up: progress saved, the poll continues next time', attributes);
        break;
      case 'unstable':
        telemetry.count(POLL_METRICS.unstable);
        telemetry.log('warn', 'a window kept changing while it was paged through: scanned again next time', attributes);
        break;
      default:
        telemetry.count(POLL_METRICS.failed);
        telemetry.log('error', 'poll failed; the checkpoint stays and the next poll tries again', attributes);
    }
  }

  if (counts.unusable > 0) {
    telemetry.count(POLL_METRICS.unusableObjects, counts.unusable);
    telemetry.log('warn', 'listed objects without a usable id or update time were skipped', { ...base, count: counts.unusable });
  }
  telemetry.count(POLL_METRICS.queued, counts.queued);
  telemetry.count(POLL_METRICS.duplicates, counts.duplicates);
  telemetry.count(POLL_METRICS.reportedByWebhook, counts.reportedByWebhook);

  const attemptAt = started.toISOString();
  const state = compactState(
    currentState({
      lastAttemptAt: attemptAt,
      lastStatus: status,
      ...(status === 'ok' ? { lastSuccessAt: attemptAt } : {}),
      ...(error === undefined ? { lastError: undefined } : { lastError: error.slice(0, 300) }),
    }),
    telemetry,
  );
  await deps.checkpoints.save(instanceId, state);
  telemetry.log(status === 'ok' || status === 'partial' ? 'info' : 'warn', 'poll finished', {
    ...base,
    status,
    queued: counts.queued,
    duplicates: counts.duplicates,
    reportedByWebhook: counts.reportedByWebhook,
    scanned: counts.scanned,
  });
  return {
    status,
    queued: counts.queued,
    duplicates: counts.duplicates,
    reportedByWebhook: counts.reportedByWebhook,
    scanned: counts.scanned,
    ...(error === undefined ? {} : { error }),
    state,
  };
}

function classify(error: unknown): { status: PollStatus; error: string } {
  const message = errorText(error);
  if (error instanceof PollAuthError) return { status: 'auth-failed', error: message };
  if (error instanceof PollRateLimitedError) return { status: 'rate-limited', error: message };
  if (error instanceof DeadlineReached) return { status: 'partial', error: message };
  if (error instanceof UnstableWindowError) return { status: 'unstable', error: message };
  return { status: 'failed', error: message };
}

/**
 * The `sent` entries a later scan can still meet: update times inside the live overlap, or
 * inside a backfill still in progress. Entries of types no longer polled are dropped.
 */
function prunedSent(
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
 * The state, with the oldest `sent` entries dropped until it fits MAX_STATE_BYTES. Dropping one
 * only risks delivering that change once more.
 */
export function compactState(state: PollState, telemetry: Telemetry = NO_TELEMETRY): PollState {
  if (stateBytes(state) <= MAX_STATE_BYTES) return state;
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
  telemetry.count(POLL_METRICS.stateTruncated);
  telemetry.log('warn', 'poll state too large: the oldest remembered changes were dropped (they may be delivered again)', {
    dropped: newestFirst.length - low,
  });
  return withNewest(low);
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

// ---- small helpers ----------------------------------------------------------------------------

function seconds(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return Math.floor(value);
  if (typeof value === 'string' && /^[0-9]{1,12}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

const ECWID_DATE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?: ([+-])(\d{2}):?(\d{2}))?$/;

/** Ecwid's `2024-06-04 21:15:10 +0000` (zone optional, then UTC) as Unix seconds. */
export function ecwidDateSeconds(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = ECWID_DATE.exec(value.trim());
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, sign, zh, zm] = match;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000;
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(zh) * 3600 + Number(zm) * 60);
  const result = utc - offset;
  return Number.isFinite(result) ? result : undefined;
}
