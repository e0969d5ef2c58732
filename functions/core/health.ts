/**
 * The health of one receiver (the callback URL of one instance): what deliver may do next, and
 * what each attempt's outcome changes. Pure: every function takes a record and returns the next
 * one (never mutates); the store writes it only if nobody changed it since it was read (`version`),
 * so two deliver workers cannot both take the one probe of an open circuit.
 *
 * States (docs/health.md):
 *   healthy ─(failure)─▶ failing ─(≥ N failures spanning ≥ S seconds, or a 410 Gone)─▶ circuit-open
 *      ▲                   │                                                               │
 *      ╰────(success)──────╯◀────────────(the probe, or any attempt, succeeds)──────────────╯
 *   failing | circuit-open ─(no success for `disableAfterSeconds`)─▶ disabled
 *   any ─(operator pause)─▶ paused ─(operator resume)─▶ healthy;  disabled ─(operator resume)─▶ healthy
 *
 * While the circuit is open, deliver holds the receiver's events (no attempt used: the ledger says
 * why and when to look again) and lets one probe at a time through, every `probeSeconds`; the
 * first success closes the circuit and the held events go out in their order. A short blip never
 * opens it: both the count and the span must be reached.
 *
 * Notices (failing, circuit-open, recovered, disabled) are returned as data; the caller publishes
 * them. `failing` waits for `noticeAfterFailures` failures in a row, and `recovered` follows only a
 * streak that was announced, so one stray 500 does not mail anybody twice.
 */

import { DEFAULTS } from '../contract';

export type HealthState = 'healthy' | 'failing' | 'circuit-open' | 'paused' | 'disabled';

export const HEALTH_STATES: readonly HealthState[] = ['healthy', 'failing', 'circuit-open', 'paused', 'disabled'];

export const isHealthState = (value: unknown): value is HealthState =>
  typeof value === 'string' && (HEALTH_STATES as readonly string[]).includes(value);

/** Attempts of one minute: `[epoch minute, delivered, failed]`. */
export type MinuteBucket = readonly [minute: number, delivered: number, failed: number];

/** The success-rate window: the last hour, one bucket per minute (at most 60 kept). */
export const SUCCESS_WINDOW_MINUTES = 60;

/** One receiver's health, as the store keeps it (one record per instance). No secrets: errors are redacted first. */
export interface ReceiverHealth {
  readonly instanceId: string;
  readonly state: HealthState;
  /** When the record entered its state (ISO 8601). */
  readonly stateAt: string;
  /** Failed attempts since the last success. */
  readonly consecutiveFailures: number;
  /** The first failure of the current streak. */
  readonly firstFailureAt?: string;
  readonly lastSuccessAt?: string;
  readonly lastFailureAt?: string;
  /** The last failure, one line, redacted. */
  readonly lastError?: string;
  readonly lastHttpStatus?: number;
  /** `circuit-open`: when it opened. */
  readonly openedAt?: string;
  /** `circuit-open`: the earliest time of the next probe. */
  readonly nextProbeAt?: string;
  /** `circuit-open`: the probe in flight (its id) and when its lease ends. */
  readonly probeId?: string;
  readonly probeUntil?: string;
  /**
   * `circuit-open`: a held event is due back at the next probe time (the probe's carrier) until
   * then. Exactly one held event carries the probes; the others wait for the recovery's wake-up
   * (or their recheck), so a down receiver costs one ticket per probe interval, not one per event.
   */
  readonly carrierUntil?: string;
  /** `circuit-open`: the event that carries the probes (re-held until the probe time, however often it is asked about). */
  readonly carrierEventId?: string;
  /**
   * The receiver is slow (an attempt took `slowAfterMs` or longer, or is still running after it),
   * since when: it gets at most `slowMaxInFlight` attempts in flight across every deliver worker,
   * its other events are held (`receiver-slow`) until one of those finishes. An attempt answered
   * faster clears it. Applies while healthy or failing (an open circuit holds everything anyway).
   */
  readonly slowSince?: string;
  /** While slow: the attempts in flight (claimed by conditional writes, like the probe) and their leases. */
  readonly slowSlots?: readonly SlowSlot[];
  /** A `failing` (or `circuit-open`) notice went out for the current streak. */
  readonly announced?: boolean;
  /** `paused` / `disabled`: why, for people. */
  readonly reason?: string;
  readonly buckets: readonly MinuteBucket[];
  /** Optimistic-concurrency counter: 0 before the first write, + 1 per write. */
  readonly version: number;
}

/** One attempt of a slow receiver in flight: its id, and when its lease ends (a worker that died frees it then). */
export interface SlowSlot {
  readonly id: string;
  readonly until: string;
}

/** The breaker's thresholds (stack properties; the local runner's `--breaker-*` options). */
export interface BreakerSettings {
  /** Consecutive failures that may open the circuit. */
  readonly failures: number;
  /** ...if they span at least this long (first to last failure), so a short blip never opens it. */
  readonly spanSeconds: number;
  /** While open: seconds between probes. */
  readonly probeSeconds: number;
  /** No success for this long since the streak began: the receiver is disabled. */
  readonly disableAfterSeconds: number;
  /** A probe not reported after this long is presumed lost (longer than deliver may run). */
  readonly probeLeaseSeconds: number;
  /** Failures in a row before the `failing` notice. */
  readonly noticeAfterFailures: number;
  /** An attempt that takes this long (answered or still running) marks its receiver slow. */
  readonly slowAfterMs: number;
  /** While slow: its attempts in flight at once, across every deliver worker. */
  readonly slowMaxInFlight: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  // The stack's defaults (its properties breakerFailures, breakerMinSpan, ...).
  failures: DEFAULTS.breakerFailures,
  spanSeconds: DEFAULTS.breakerSpanSeconds,
  probeSeconds: DEFAULTS.breakerProbeSeconds,
  disableAfterSeconds: DEFAULTS.receiverDisableAfterSeconds,
  // Twice the deliver function's 120 s timeout, like the ledger's claim lease.
  probeLeaseSeconds: 240,
  noticeAfterFailures: 3,
  slowAfterMs: DEFAULTS.slowReceiverAfterMs,
  slowMaxInFlight: DEFAULTS.slowReceiverMaxInFlight,
};

/** Checks settings from options or the environment; throws naming the bad one. */
export function breakerSettings(values: Partial<BreakerSettings> = {}): BreakerSettings {
  const settings = { ...DEFAULT_BREAKER_SETTINGS, ...withoutUndefined(values) };
  const whole = (name: keyof BreakerSettings, min: number) => {
    const value = settings[name];
    if (!Number.isInteger(value) || value < min) throw new Error(`breaker ${name} must be a whole number of at least ${min}, got ${value}`);
  };
  whole('failures', 1);
  whole('spanSeconds', 0);
  whole('probeSeconds', 1);
  whole('disableAfterSeconds', 1);
  whole('probeLeaseSeconds', 1);
  whole('noticeAfterFailures', 1);
  whole('slowAfterMs', 1);
  whole('slowMaxInFlight', 1);
  return settings;
}

/** `paused` and `resumed` are an operator's (`instances pause|resume`); the others deliver's. */
export type NoticeKind = 'failing' | 'circuit-open' | 'recovered' | 'disabled' | 'paused' | 'resumed';

/** An operational notice: published to the SNS topic and POSTed to the instance's operational webhook. */
export interface HealthNotice {
  /** `receiver.failing`, `receiver.circuit-open`, `receiver.recovered`, `receiver.disabled`. */
  readonly type: `receiver.${NoticeKind}`;
  readonly kind: NoticeKind;
  readonly instanceId: string;
  readonly at: string;
  readonly state: HealthState;
  readonly consecutiveFailures: number;
  readonly firstFailureAt?: string;
  readonly lastSuccessAt?: string;
  readonly lastError?: string;
  readonly lastHttpStatus?: number;
}

/** What one attempt to the receiver did. Only callback outcomes count: an Ecwid API failure is not the receiver's. */
export type ReceiverOutcome =
  | { readonly ok: true; readonly durationMs?: number }
  | { readonly ok: false; readonly httpStatus?: number; readonly error: string; readonly durationMs?: number };

export interface HealthChange {
  readonly next: ReceiverHealth;
  readonly notices: readonly HealthNotice[];
  /** The receiver was slow and this outcome ended it: its held events may all go now. */
  readonly slowCleared?: boolean;
}

/** A receiver nobody has written about yet. */
export function newHealth(instanceId: string, now: Date): ReceiverHealth {
  return { instanceId, state: 'healthy', stateAt: now.toISOString(), consecutiveFailures: 0, buckets: [], version: 0 };
}

// ---- before an attempt -------------------------------------------------------------------------

export type HoldReason = 'paused' | 'circuit-open' | 'probe-in-flight' | 'receiver-slow';

/** What deliver may do with an event of this receiver now. */
export type Admission =
  /** Deliver as usual. */
  | { readonly kind: 'deliver' }
  /** The receiver is slow and this attempt takes one of its slots: write `next` first (a lost write decides again). */
  | { readonly kind: 'slow-slot'; readonly next: ReceiverHealth; readonly slotId: string }
  /** The circuit is open and this attempt is the probe: write `next` first (only one writer wins). */
  | { readonly kind: 'probe'; readonly next: ReceiverHealth; readonly probeId: string }
  /** Hold the event, attempt unused, until `until` (then look again). */
  | { readonly kind: 'hold'; readonly reason: HoldReason; readonly until?: string; readonly carrier?: boolean }
  /**
   * Hold it until `until` (the next probe time) as the probes' carrier: nobody carries them
   * (every held event would otherwise wait for its recheck, and no probe would come). Write `next` first.
   */
  | { readonly kind: 'carry'; readonly reason: HoldReason; readonly until: string; readonly next: ReceiverHealth }
  /** The receiver is disabled: the event is dropped (kept in the ledger for `events resend`). */
  | { readonly kind: 'drop'; readonly reason: string }
  /** The receiver failed for too long: write `next` (disabled), publish, then drop. */
  | { readonly kind: 'disable'; readonly next: ReceiverHealth; readonly notices: readonly HealthNotice[] };

/** `eventId`: the event asked about (it may become, or be, the probes' carrier). */
export function admission(health: ReceiverHealth, now: Date, settings: BreakerSettings, probeId: string, eventId?: string): Admission {
  switch (health.state) {
    case 'healthy':
    case 'failing': {
      if (health.slowSince === undefined) return { kind: 'deliver' };
      const slots = liveSlots(health, now);
      // Held until an attempt in flight finishes and wakes it (or its recheck, if that wake-up is lost).
      if (slots.length >= settings.slowMaxInFlight) return { kind: 'hold', reason: 'receiver-slow' };
      const next = written(health, { slowSlots: [...slots, { id: probeId, until: plusSeconds(now, settings.probeLeaseSeconds) }] });
      return { kind: 'slow-slot', next, slotId: probeId };
    }
    case 'paused':
      return { kind: 'hold', reason: 'paused' };
    case 'disabled':
      return { kind: 'drop', reason: health.reason ?? 'the receiver is disabled' };
    case 'circuit-open': {
      if (overdue(health, now, settings)) {
        const next = disabled(health, now, settings);
        return { kind: 'disable', next, notices: [notice('disabled', next, now)] };
      }
      const iso = now.toISOString();
      const hold = (reason: HoldReason, until: string): Admission => {
        if (eventId !== undefined && health.carrierEventId === eventId) return { kind: 'hold', reason, until, carrier: true };
        if (health.carrierUntil !== undefined && health.carrierUntil > iso) return { kind: 'hold', reason, until };
        return { kind: 'carry', reason, until, next: written(health, { carrierUntil: carrierUntil(until, settings), carrierEventId: eventId }) };
      };
      if (health.probeUntil !== undefined && health.probeUntil > iso) {
        return hold('probe-in-flight', later(health.probeUntil, health.nextProbeAt));
      }
      if (health.nextProbeAt !== undefined && health.nextProbeAt > iso) return hold('circuit-open', health.nextProbeAt);
      const nextProbeAt = plusSeconds(now, settings.probeSeconds);
      const next = written(health, {
        probeId,
        probeUntil: plusSeconds(now, settings.probeLeaseSeconds),
        nextProbeAt,
        // The probe's event carries the next one if it fails (it is held until then).
        carrierUntil: carrierUntil(nextProbeAt, settings),
        carrierEventId: eventId,
      });
      return { kind: 'probe', next, probeId };
    }
  }
}

/** The slow slots whose lease has not ended. */
const liveSlots = (health: ReceiverHealth, now: Date): readonly SlowSlot[] => {
  const iso = now.toISOString();
  return (health.slowSlots ?? []).filter((slot) => slot.until > iso);
};

/**
 * An attempt is still running after `slowAfterMs`: the receiver is slow from now on (if it was
 * not), and the attempt takes a slot if one is free, so the cap counts it. Undefined when nothing
 * changes (already slow, and the attempt holds a slot or none is free).
 */
export function markSlow(health: ReceiverHealth, attemptId: string, now: Date, settings: BreakerSettings): ReceiverHealth | undefined {
  if (health.state !== 'healthy' && health.state !== 'failing') return undefined;
  const slots = liveSlots(health, now);
  const holds = slots.some((slot) => slot.id === attemptId);
  const room = !holds && slots.length < settings.slowMaxInFlight;
  if (health.slowSince !== undefined && !room) return undefined;
  return written(health, {
    slowSince: health.slowSince ?? now.toISOString(),
    slowSlots: room ? [...slots, { id: attemptId, until: plusSeconds(now, settings.probeLeaseSeconds) }] : slots,
  });
}

/** A slow slot taken but never used (the attempt was not made): freed at once. Undefined when it holds none. */
export function releaseSlowSlot(health: ReceiverHealth, slotId: string): ReceiverHealth | undefined {
  if (!(health.slowSlots ?? []).some((slot) => slot.id === slotId)) return undefined;
  return written(health, { slowSlots: (health.slowSlots ?? []).filter((slot) => slot.id !== slotId) });
}

/** Whether the attempt of `slotId` holds one of the receiver's slow slots. */
export const holdsSlowSlot = (health: ReceiverHealth | undefined, slotId: string): boolean =>
  (health?.slowSlots ?? []).some((slot) => slot.id === slotId);

/** A carrier due back at `until` that has not come by this time is presumed lost (another held event takes over). */
const carrierUntil = (until: string, settings: BreakerSettings): string => plusSeconds(new Date(until), settings.probeLeaseSeconds);

/**
 * The probe was taken but never made (its event moved under deliver, the claim was lost): frees
 * the probe slot at once instead of after its lease; the next probe keeps its time.
 */
export function releaseProbe(health: ReceiverHealth, probeId: string): ReceiverHealth | undefined {
  if (health.probeId !== probeId) return undefined;
  return written(health, { probeId: undefined, probeUntil: undefined });
}

// ---- after an attempt --------------------------------------------------------------------------

/**
 * Records one attempt's outcome. Any success closes an open circuit (the receiver is up, whether
 * the probe or a late attempt showed it); a failure counts toward the breaker and the disable
 * period. `probeId` names the probe this outcome belongs to, if it was one.
 */
export function recordOutcome(
  health: ReceiverHealth,
  outcome: ReceiverOutcome,
  now: Date,
  settings: BreakerSettings,
  probeId?: string,
): HealthChange {
  const change = outcomeChange(health, outcome, now, settings, probeId);
  const next = withoutUndefined({ ...change.next, ...slowness(health, change.next, outcome, now, settings, probeId), version: health.version + 1 });
  // One write, one version, however many steps the record went through.
  return { next, notices: change.notices, ...(health.slowSince !== undefined && next.slowSince === undefined ? { slowCleared: true } : {}) };
}

/**
 * The slow state after an attempt (`attemptId`: its slot, if it held one, is freed): an attempt
 * that took `slowAfterMs` or longer marks the receiver slow, a faster answer clears it. Only
 * healthy and failing receivers are slow; an open circuit (or a pause) holds every event anyway.
 */
function slowness(
  before: ReceiverHealth,
  after: ReceiverHealth,
  outcome: ReceiverOutcome,
  now: Date,
  settings: BreakerSettings,
  attemptId: string | undefined,
): Pick<ReceiverHealth, 'slowSince' | 'slowSlots'> {
  const cleared = { slowSince: undefined, slowSlots: undefined };
  if (after.state !== 'healthy' && after.state !== 'failing') return cleared;
  const slow = outcome.durationMs === undefined ? before.slowSince !== undefined : outcome.durationMs >= settings.slowAfterMs;
  if (!slow) return cleared;
  const slots = liveSlots(before, now).filter((slot) => slot.id !== attemptId);
  return { slowSince: before.slowSince ?? now.toISOString(), slowSlots: slots.length > 0 ? slots : undefined };
}

function outcomeChange(
  health: ReceiverHealth,
  outcome: ReceiverOutcome,
  now: Date,
  settings: BreakerSettings,
  probeId: string | undefined,
): HealthChange {
  const buckets = counted(health.buckets, now, outcome.ok);
  const iso = now.toISOString();
  // The probe's answer frees the probe slot; the next probe is a full interval after it.
  const probeDone =
    probeId !== undefined && probeId === health.probeId
      ? { probeId: undefined, probeUntil: undefined, nextProbeAt: plusSeconds(now, settings.probeSeconds) }
      : {};
  if (outcome.ok) {
    const base = { buckets, lastSuccessAt: iso, consecutiveFailures: 0, firstFailureAt: undefined, ...probeDone };
    if (health.state === 'paused' || health.state === 'disabled') return { next: written(health, base), notices: [] };
    if (health.state === 'healthy') return { next: written(health, base), notices: [] };
    const next = moved(health, 'healthy', now, {
      ...base,
      openedAt: undefined,
      nextProbeAt: undefined,
      probeId: undefined,
      probeUntil: undefined,
      carrierUntil: undefined,
      carrierEventId: undefined,
      announced: undefined,
    });
    return { next, notices: health.announced ? [notice('recovered', next, now)] : [] };
  }

  const failed = {
    buckets,
    consecutiveFailures: health.consecutiveFailures + 1,
    firstFailureAt: health.firstFailureAt ?? iso,
    lastFailureAt: iso,
    lastError: oneLine(outcome.error),
    lastHttpStatus: outcome.httpStatus,
    ...probeDone,
  };
  if (health.state === 'paused' || health.state === 'disabled') return { next: written(health, failed), notices: [] };
  const counted_ = written(health, failed);
  if (overdue(counted_, now, settings)) {
    const next = disabled(counted_, now, settings);
    return { next, notices: [notice('disabled', next, now)] };
  }
  if (health.state === 'circuit-open') return { next: counted_, notices: [] };

  const gone = outcome.httpStatus === 410;
  const span = (now.getTime() - Date.parse(failed.firstFailureAt)) / 1000;
  if (gone || (failed.consecutiveFailures >= settings.failures && span >= settings.spanSeconds)) {
    const next = moved(counted_, 'circuit-open', now, {
      openedAt: iso,
      nextProbeAt: plusSeconds(now, settings.probeSeconds),
      probeId: undefined,
      probeUntil: undefined,
      announced: true,
    });
    return { next, notices: [notice('circuit-open', next, now)] };
  }
  const failing = health.state === 'healthy' ? moved(counted_, 'failing', now, {}) : counted_;
  if (!failing.announced && failing.consecutiveFailures >= settings.noticeAfterFailures) {
    const next = { ...failing, announced: true };
    return { next, notices: [notice('failing', next, now)] };
  }
  return { next: failing, notices: [] };
}

/** No success since the streak began, for the disable period. */
function overdue(health: ReceiverHealth, now: Date, settings: BreakerSettings): boolean {
  return (
    health.firstFailureAt !== undefined &&
    health.consecutiveFailures > 0 &&
    now.getTime() - Date.parse(health.firstFailureAt) >= settings.disableAfterSeconds * 1000
  );
}

function disabled(health: ReceiverHealth, now: Date, settings: BreakerSettings): ReceiverHealth {
  const days = Math.round((settings.disableAfterSeconds / 86_400) * 10) / 10;
  const span = settings.disableAfterSeconds >= 86_400 ? `${days} days` : `${settings.disableAfterSeconds} s`;
  return moved(health, 'disabled', now, {
    reason: `no successful delivery for ${span} (since ${health.firstFailureAt})`,
    openedAt: undefined,
    nextProbeAt: undefined,
    probeId: undefined,
    probeUntil: undefined,
  });
}

// ---- operators ---------------------------------------------------------------------------------

/** `instances pause ID`: events are held (not attempted, not dropped) until resumed. */
export function pause(health: ReceiverHealth, now: Date, reason = 'paused by an operator'): ReceiverHealth {
  return moved(health, 'paused', now, { reason, probeId: undefined, probeUntil: undefined, nextProbeAt: undefined, openedAt: undefined, slowSince: undefined, slowSlots: undefined });
}

/**
 * `instances resume ID`: from paused or disabled (or an open circuit an operator knows is fixed),
 * back to healthy with a fresh streak; the breaker opens again if the receiver is still down.
 */
export function resume(health: ReceiverHealth, now: Date): ReceiverHealth {
  return moved(health, 'healthy', now, {
    reason: undefined,
    consecutiveFailures: 0,
    firstFailureAt: undefined,
    openedAt: undefined,
    nextProbeAt: undefined,
    probeId: undefined,
    probeUntil: undefined,
    announced: undefined,
    slowSince: undefined,
    slowSlots: undefined,
  });
}

// ---- reading -----------------------------------------------------------------------------------

/** Attempts in the last hour and the share that succeeded (undefined when there were none). */
export function successRate(health: Pick<ReceiverHealth, 'buckets'>, now: Date): { attempts: number; delivered: number; rate?: number } {
  const from = epochMinute(now) - SUCCESS_WINDOW_MINUTES + 1;
  let delivered = 0;
  let failed = 0;
  for (const [minute, ok, bad] of health.buckets) {
    if (minute < from) continue;
    delivered += ok;
    failed += bad;
  }
  const attempts = delivered + failed;
  return { attempts, delivered, rate: attempts === 0 ? undefined : delivered / attempts };
}

/** The operational notice of a state change, as data. */
export function notice(kind: NoticeKind, health: ReceiverHealth, now: Date): HealthNotice {
  return withoutUndefined({
    type: `receiver.${kind}` as const,
    kind,
    instanceId: health.instanceId,
    at: now.toISOString(),
    state: health.state,
    consecutiveFailures: health.consecutiveFailures,
    firstFailureAt: health.firstFailureAt,
    lastSuccessAt: health.lastSuccessAt,
    lastError: health.lastError,
    lastHttpStatus: health.lastHttpStatus,
  });
}

// ---- helpers -----------------------------------------------------------------------------------

const epochMinute = (now: Date): number => Math.floor(now.getTime() / 60_000);

/** Adds one attempt to its minute, keeping only the window's minutes (bounded: at most 60 buckets). */
function counted(buckets: readonly MinuteBucket[], now: Date, ok: boolean): MinuteBucket[] {
  const minute = epochMinute(now);
  const from = minute - SUCCESS_WINDOW_MINUTES + 1;
  const kept = buckets.filter(([m]) => m >= from && m !== minute);
  const current = buckets.find(([m]) => m === minute) ?? [minute, 0, 0];
  const next: MinuteBucket = [minute, current[1] + (ok ? 1 : 0), current[2] + (ok ? 0 : 1)];
  return [...kept, next].sort((a, b) => a[0] - b[0]);
}

/** Same state, some fields changed, one version on. */
function written(health: ReceiverHealth, changes: Partial<ReceiverHealth>): ReceiverHealth {
  return withoutUndefined({ ...health, ...changes, version: health.version + 1 } as ReceiverHealth);
}

/** A new state, entered now. */
function moved(health: ReceiverHealth, state: HealthState, now: Date, changes: Partial<ReceiverHealth>): ReceiverHealth {
  const reasonKept = state === 'paused' || state === 'disabled' ? {} : { reason: undefined };
  return withoutUndefined({
    ...health,
    ...reasonKept,
    ...changes,
    state,
    stateAt: now.toISOString(),
    version: health.version + 1,
  } as ReceiverHealth);
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

const plusSeconds = (now: Date, seconds: number): string => new Date(now.getTime() + seconds * 1000).toISOString();

const later = (a: string, b: string | undefined): string => (b !== undefined && b > a ? b : a);

/** One line of at most 300 characters: errors kept here are shown in lists and notices. */
function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

// ---- the port ----------------------------------------------------------------------------------

/**
 * Where health records live (items of the ledger table in AWS and locally). Reads are strongly
 * consistent; `put` writes `next` only if the stored record still has `next.version - 1` (version
 * 1: only if there is none), else resolves `false`. Backend failures throw.
 */
export interface HealthStore {
  get(instanceId: string): Promise<ReceiverHealth | undefined>;
  /** The records of these instances (missing ones are left out). */
  getMany(instanceIds: readonly string[]): Promise<Map<string, ReceiverHealth>>;
  put(next: ReceiverHealth): Promise<boolean>;
}
