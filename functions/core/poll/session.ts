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
 * - By a webhook: the caller passes the instance's webhook sightings (../sightings.ts); a change
 *   whose object had a webhook created at or after its update time (minus a tolerance) is skipped.
 *
 * ## Checkpoints
 * A cursor moves only past a window whose every page was scanned and whose every event the queue
 * accepted. Auth failures (401/403), rate limiting Ecwid did not lift, a failed enqueue, an
 * unstable window or the deadline stop the poll; the cursor stays and the next poll scans again.
 */
import { POLL_METRICS } from '../../contract';
import { canonicalStoreId } from '../ecwid/notification';
import { describeObject, type EcwidObject } from '../ecwid/objects';
import type { QueuedEvent } from '../event';
import { CONFIG_KEYS, configOf, type Instance } from '../instance';
import {
  type CheckpointStore,
  type Clock,
  errorText,
  type EventQueue,
  NO_TELEMETRY,
  type PollPage,
  type PollSource,
  type Telemetry,
} from '../ports';
import { changeKey, sightingIndex, type WebhookSighting } from '../sightings';
import {
  MAX_SCAN_PASSES,
  MAX_WINDOW_ITEMS,
  OVERLAP_SECONDS,
  POLL_PAGE_LIMIT,
  PROGRESS_SAVE_INTERVAL_MS,
  RECONCILE_LAG_SECONDS,
  SETTLE_SECONDS,
  SIGHTING_TOLERANCE_SECONDS,
} from './constants';
import { DeadlineReached, PollAuthError, QueueFailedError, stopReason, UnstableWindowError } from './errors';
import { pollEvent } from './events';
import type { PollObjectType, PollSettings } from './settings';
import { compactState, emptyPollState, prunedSent, type PollCursor, type PollState, type PollStatus } from './state';

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

/**
 * Polls one instance once: backfill (if asked), then the live window, for each object type.
 * The caller holds the instance's lease. Never throws for Ecwid or queue problems (they are the
 * outcome); throws only when the state cannot be loaded or the final state cannot be saved.
 */
export async function pollInstance(request: PollRequest, deps: PollDeps): Promise<PollOutcome> {
  return (await PollSession.open(request, deps)).run();
}

type Phase = PollProgress['phase'];

/** A closed window of update times; a backfill's also skips changes at or after `below`. */
interface PollWindow {
  readonly from: number;
  readonly to: number;
  readonly below: number | undefined;
}

/** Called after each completed window of a range, with the window's bounds. */
type WindowDone = (from: number, to: number) => Promise<void>;

/** What a session starts from: the instance's store and token, the time, the stored state. */
interface SessionStart {
  readonly storeId: string;
  readonly token: string;
  readonly started: Date;
  readonly previous: PollState;
}

/** One poll of one instance: the cursors and remembered changes it moves, and its counts. */
export class PollSession {
  private readonly telemetry: Telemetry;
  /** Attributes of every log line: which instance, which store, which mode. */
  private readonly base: Readonly<Record<string, unknown>>;
  /** The newest update time this poll reaches: a little in the past. */
  private readonly edge: number;
  private readonly cursors: Partial<Record<PollObjectType, PollCursor>>;
  /** `${objectType}:${objectId}` -> update time of the last queued change. */
  private readonly sent: Map<string, number>;
  /** `${objectType}:${objectId}` -> the latest webhook sighting of the object. */
  private readonly sighted: ReadonlyMap<string, number>;
  private readonly counts = { queued: 0, duplicates: 0, reportedByWebhook: 0, scanned: 0, unusable: 0 };
  private lastSavedAt: number;

  /** Reads the instance's store and token, and its stored state. */
  static async open(request: PollRequest, deps: PollDeps): Promise<PollSession> {
    const config = configOf(request.instance);
    const storeId = canonicalStoreId(config.storeId ?? '', CONFIG_KEYS.storeId);
    const started = deps.clock();
    const previous = (await deps.checkpoints.load(request.instance.id)) ?? emptyPollState();
    return new PollSession(request, deps, { storeId, token: config.accessToken ?? '', started, previous });
  }

  private constructor(
    private readonly request: PollRequest,
    private readonly deps: PollDeps,
    private readonly start: SessionStart,
  ) {
    const { settings, instance } = request;
    this.telemetry = deps.telemetry ?? NO_TELEMETRY;
    this.base = { instanceId: instance.id, storeId: start.storeId, mode: settings.mode };
    const nowSeconds = Math.floor(start.started.getTime() / 1000);
    this.edge = nowSeconds - (settings.mode === 'reconcile' ? RECONCILE_LAG_SECONDS : SETTLE_SECONDS);
    this.cursors = { ...start.previous.cursors };
    this.sent = new Map(Object.entries(start.previous.sent));
    this.sighted = sightingIndex(request.sightings ?? []);
    this.lastSavedAt = start.started.getTime();
  }

  /** Every object type in turn; a stop (auth, rate limit, deadline, ...) ends the poll, saved. */
  async run(): Promise<PollOutcome> {
    let status: PollStatus = 'ok';
    let error: string | undefined;
    try {
      for (const objectType of this.request.settings.objectTypes) await this.pollType(objectType);
    } catch (caught) {
      ({ status, error } = stopReason(caught));
      this.reportStop(status, error, caught);
    }
    return this.finish(status, error);
  }

  private async pollType(objectType: PollObjectType): Promise<void> {
    const cursor = this.startingCursor(objectType);
    this.cursors[objectType] = cursor;
    if (cursor.backfill !== undefined) await this.backfill(objectType, cursor.backfill, cursor.from);
    const live = this.cursorOf(objectType);
    if (this.request.liveEdge !== false && this.edge > live.to) await this.followLiveEdge(objectType, live);
  }

  /**
   * The stored cursor, with the backfill asked for. A new type starts one interval back from the
   * edge (its first window reaches OVERLAP_SECONDS further back); older changes only by backfill.
   */
  private startingCursor(objectType: PollObjectType): PollCursor {
    const { settings, sinceSeconds } = this.request;
    const initial = this.edge - settings.intervalMinutes * 60;
    const cursor = this.cursors[objectType] ?? { from: initial - OVERLAP_SECONDS, to: initial };
    if (sinceSeconds === undefined || sinceSeconds >= cursor.from) return cursor;
    return { ...cursor, backfill: Math.min(cursor.backfill ?? cursor.from, sinceSeconds) };
  }

  /** Scans [backfill, coveredFrom) newest first, lowering the cursor's `from` window by window. */
  private async backfill(objectType: PollObjectType, backfill: number, coveredFrom: number): Promise<void> {
    // Changes at or after `coveredFrom` were scanned by live windows: the backfill skips them.
    await this.scanRange(objectType, 'backfill', backfill, coveredFrom, coveredFrom, async (from) => {
      const current = this.cursorOf(objectType);
      const reached = current.backfill !== undefined && from <= current.backfill;
      this.cursors[objectType] = reached ? { from, to: current.to } : { ...current, from };
      await this.saveProgress();
    });
    const current = this.cursorOf(objectType);
    this.cursors[objectType] = { from: Math.min(current.from, current.backfill ?? current.from), to: current.to };
  }

  /** Scans from the cursor's end (less the overlap) to the edge, raising the cursor's `to`. */
  private async followLiveEdge(objectType: PollObjectType, live: PollCursor): Promise<void> {
    await this.scanRange(objectType, 'live', live.to - OVERLAP_SECONDS, this.edge, undefined, async (_from, to) => {
      const current = this.cursorOf(objectType);
      this.cursors[objectType] = { ...current, to: Math.max(current.to, to) };
      await this.saveProgress();
    });
  }

  /**
   * Scans [start, end] in windows of at most MAX_WINDOW_ITEMS changes, calling `done(window)`
   * after each completed one. The live edge goes oldest first; a backfill goes newest first, so
   * that what it covered always joins the cursor's span.
   */
  private async scanRange(
    objectType: PollObjectType,
    phase: Phase,
    start: number,
    end: number,
    below: number | undefined,
    done: WindowDone,
  ): Promise<void> {
    const forward = phase === 'live';
    let low = start;
    let high = end;
    while (low < high) {
      let from = low;
      let to = high;
      this.checkDeadline();
      let first = await this.list(objectType, from, to, 0);
      while (first.total > MAX_WINDOW_ITEMS && to - from > 1) {
        const half = Math.floor((to - from) / 2);
        if (forward) to = from + half;
        else from = to - half;
        this.checkDeadline();
        first = await this.list(objectType, from, to, 0);
      }
      await this.scanWindow(objectType, phase, { from, to, below }, first);
      await done(from, to);
      if (forward) low = to;
      else high = from;
    }
  }

  /** Scans the closed window completely, or throws. `first` is its first page. */
  private async scanWindow(objectType: PollObjectType, phase: Phase, window: PollWindow, first: PollPage): Promise<void> {
    const { from, to } = window;
    for (let pass = 1; pass <= MAX_SCAN_PASSES; pass++) {
      const page = pass === 1 ? first : await this.list(objectType, from, to, 0);
      if (await this.pageThrough(objectType, phase, window, page)) return;
      this.telemetry.count(POLL_METRICS.rescans);
      this.telemetry.log('info', 'the window changed while it was paged through; scanning it again', {
        ...this.base,
        objectType,
        from,
        to,
        pass,
      });
    }
    throw new UnstableWindowError(`the ${objectType} updated between ${from} and ${to} kept changing during ${MAX_SCAN_PASSES} scans`);
  }

  /**
   * Pages through a window from its first page, queueing as it goes. False when the window
   * changed meanwhile (its total moved, or a page came back empty before the end).
   */
  private async pageThrough(objectType: PollObjectType, phase: Phase, window: PollWindow, first: PollPage): Promise<boolean> {
    const total = first.total;
    let page = first;
    let offset = 0;
    for (;;) {
      await this.emit(objectType, page.items, window.below);
      offset += page.items.length;
      this.request.onProgress?.({ objectType, phase, scanned: offset, total, queued: this.counts.queued });
      if (offset >= total) return true;
      if (page.items.length === 0) return false;
      this.checkDeadline();
      page = await this.list(objectType, window.from, window.to, offset);
      if (page.total !== total) return false;
    }
  }

  /** Queues the changes of one page that are new; returns after the queue accepted them. */
  private async emit(objectType: PollObjectType, items: readonly EcwidObject[], below: number | undefined): Promise<void> {
    const events: QueuedEvent[] = [];
    const pending = new Map<string, number>();
    const receivedAt = this.deps.clock().toISOString();
    for (const item of items) {
      this.counts.scanned += 1;
      const change = describeObject(objectType, item);
      if (!change) {
        this.counts.unusable += 1;
        continue;
      }
      // A backfill covers only what the cursor does not: newer changes were scanned before.
      if (below !== undefined && change.updatedAt >= below) continue;
      const key = changeKey(objectType, change.objectId);
      if (Math.max(this.sent.get(key) ?? -1, pending.get(key) ?? -1) >= change.updatedAt) {
        this.counts.duplicates += 1;
        continue;
      }
      if ((this.sighted.get(key) ?? Number.NEGATIVE_INFINITY) >= change.updatedAt - SIGHTING_TOLERANCE_SECONDS) {
        this.counts.reportedByWebhook += 1;
        continue;
      }
      pending.set(key, change.updatedAt);
      events.push(pollEvent({ instanceId: this.request.instance.id, storeId: this.start.storeId, objectType, change, item, receivedAt }));
    }
    await this.enqueue(events, pending);
  }

  /** Hands a page's new events to the queue; only then are they remembered as sent. */
  private async enqueue(events: readonly QueuedEvent[], pending: ReadonlyMap<string, number>): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.deps.queue.enqueue(events);
    } catch (error) {
      throw new QueueFailedError(`the queue did not accept ${events.length} events: ${errorText(error)}`);
    }
    for (const [key, updatedAt] of pending) this.sent.set(key, Math.max(this.sent.get(key) ?? -1, updatedAt));
    this.counts.queued += events.length;
  }

  private list(objectType: PollObjectType, from: number, to: number, offset: number): Promise<PollPage> {
    const { storeId, token } = this.start;
    return this.deps.source.list({ storeId, accessToken: token, objectType, updatedFrom: from, updatedTo: to, offset, limit: POLL_PAGE_LIMIT });
  }

  private checkDeadline(): void {
    const { deadline } = this.request;
    if (deadline !== undefined && this.deps.clock().getTime() >= deadline) throw new DeadlineReached('the time budget of this run is used up');
  }

  private cursorOf(objectType: PollObjectType): PollCursor {
    return this.cursors[objectType] as PollCursor;
  }

  private state(extra: Partial<PollState> = {}): PollState {
    return {
      ...this.start.previous,
      v: 1,
      cursors: { ...this.cursors },
      sent: prunedSent(this.sent, this.cursors, this.request.settings.objectTypes),
      ...extra,
    };
  }

  /** The state as it is saved: within MAX_STATE_BYTES, saying so when that cost remembered changes. */
  private compacted(full: PollState): PollState {
    const { state, dropped } = compactState(full);
    if (dropped > 0) {
      this.telemetry.count(POLL_METRICS.stateTruncated);
      this.telemetry.log('warn', 'poll state too large: the oldest remembered changes were dropped (they may be delivered again)', { dropped });
    }
    return state;
  }

  /** Saves what completed so far, at most every PROGRESS_SAVE_INTERVAL_MS. */
  private async saveProgress(): Promise<void> {
    if (this.deps.clock().getTime() - this.lastSavedAt < PROGRESS_SAVE_INTERVAL_MS) return;
    await this.deps.checkpoints.save(this.request.instance.id, this.compacted(this.state()));
    this.lastSavedAt = this.deps.clock().getTime();
  }

  private reportStop(status: PollStatus, error: string, caught: unknown): void {
    const { telemetry } = this;
    const attributes = { ...this.base, status, error };
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

  /** Counts, saves the final state and says how it went. */
  private async finish(status: PollStatus, error: string | undefined): Promise<PollOutcome> {
    const { telemetry, counts } = this;
    if (counts.unusable > 0) {
      telemetry.count(POLL_METRICS.unusableObjects, counts.unusable);
      telemetry.log('warn', 'listed objects without a usable id or update time were skipped', { ...this.base, count: counts.unusable });
    }
    telemetry.count(POLL_METRICS.queued, counts.queued);
    telemetry.count(POLL_METRICS.duplicates, counts.duplicates);
    telemetry.count(POLL_METRICS.reportedByWebhook, counts.reportedByWebhook);

    const attemptAt = this.start.started.toISOString();
    const state = this.compacted(
      this.state({
        lastAttemptAt: attemptAt,
        lastStatus: status,
        ...(status === 'ok' ? { lastSuccessAt: attemptAt } : {}),
        ...(error === undefined ? { lastError: undefined } : { lastError: error.slice(0, 300) }),
      }),
    );
    await this.deps.checkpoints.save(this.request.instance.id, state);
    const { queued, duplicates, reportedByWebhook, scanned } = counts;
    telemetry.log(status === 'ok' || status === 'partial' ? 'info' : 'warn', 'poll finished', {
      ...this.base,
      status,
      queued,
      duplicates,
      reportedByWebhook,
      scanned,
    });
    return { status, queued, duplicates, reportedByWebhook, scanned, ...(error === undefined ? {} : { error }), state };
  }
}
