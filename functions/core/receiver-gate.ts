/**
 * What deliver asks before it claims an attempt for an event, and tells after it: the receiver's
 * side of delivery (docs/health.md). Before: the instance's event-type filter, the receiver's
 * health (paused, circuit open: hold, attempts unused; disabled: drop), and a delivery slot (the
 * fair share of this worker's concurrency, the receiver's own rate and concurrency caps). After:
 * the attempt's outcome moves the receiver's health, and any state change goes out as a notice.
 *
 * Only the callback's own outcome counts against the receiver: an Ecwid API failure while
 * verifying or enriching the event, or a configuration problem, is not its fault.
 */
import { acceptsEventType, deliveryControlsOf, type DeliverySlots, type ReceiverLimits } from './delivery-controls';
import type { QueuedEvent } from './event';
import type { HealthNotice, ReceiverOutcome } from './health';
import { clearForDelivery, probeNotMade, reportOutcome, slowInFlight, slowSlotNotUsed, type HealthDeps } from './health-flow';
import { sendNotices, type NoticeDeps } from './health-notices';
import { CONFIG_KEYS, configOf, type Instance } from './instance';
import type { AttemptResult } from './ledger';
import { errorText, type Telemetry } from './ports';

/** What the ledger does with the event now. */
export type ReceiverGate =
  /** Claim and attempt; call `done` once the attempt is over, whatever happened (it frees the slot). */
  | {
      readonly kind: 'go';
      /** The receiver's probe (an open circuit): if it fails, the event is held again until `until`, its round untouched. */
      readonly probe?: { readonly heldBy: string; readonly until: string };
      done(result: AttemptResult | undefined): Promise<void>;
    }
  /** Hold it, attempts unused, until `until` (the ledger says `heldBy`). */
  | { readonly kind: 'hold'; readonly heldBy: string; readonly until: string }
  /** Not a type the instance takes: recorded as filtered. */
  | { readonly kind: 'filter'; readonly detail: string }
  /** The receiver is disabled: recorded as dropped, kept for `events resend`. */
  | { readonly kind: 'drop'; readonly detail: string };

export interface ReceiverGateDeps {
  /** Receiver health; absent (no ledger table): no breaker, no pause, only the filter and the slots. */
  readonly health?: HealthDeps;
  readonly notices: NoticeDeps;
  /** This worker's delivery slots; absent: no per-receiver limit in this worker. */
  readonly slots?: DeliverySlots;
  readonly newProbeId: () => string;
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly telemetry: Telemetry;
  /**
   * Held events (paused, circuit open) are looked at again after this long, in case their wake-up
   * is missed: the receiver's recovery (or `instances resume`) wakes them all at once, and while
   * the circuit is open only the last probe's event comes back at the next probe time, so a down
   * receiver costs one event per probe interval, not every held one. @default 900
   */
  readonly heldRecheckSeconds?: number;
  /**
   * Sends the held events of a receiver that is back their tickets (ledger-flow's wakeHeld), the
   * oldest `limit` of them (all when absent): a slow receiver's finished attempt wakes one.
   */
  readonly wakeHeld?: (instanceId: string, limit?: number) => Promise<unknown>;
  /**
   * Runs `fn` after `ms` unless cancelled (a timer): an attempt still running after the breaker's
   * `slowAfterMs` marks its receiver slow while it runs, not only once it ends 10 s later.
   * Absent: slowness is seen when an attempt ends.
   */
  readonly after?: (ms: number, fn: () => void) => () => void;
  /** How long to wait here for a slot before holding the event instead. @default 2000 */
  readonly maxSlotWaitMs?: number;
}

/** How long deliver waits for a delivery slot before holding the event instead, by default. */
export const DEFAULT_SLOT_WAIT_MS = 2_000;

/** Failures that are the receiver's: it answered badly, or could not be reached. */
const RECEIVER_ERROR_CLASSES: ReadonlySet<string> = new Set(['http', 'connection', 'timeout', 'dns', 'url-refused']);

/** The receiver's part of an attempt's result; undefined when the attempt failed before reaching it. */
export function receiverOutcomeOf(result: AttemptResult): ReceiverOutcome | undefined {
  // How long the receiver took (not the Ecwid API before it), when known: what marks it slow or fast.
  const took = result.receiverMs === undefined ? {} : { durationMs: result.receiverMs };
  if (result.ok) return { ok: true, ...took };
  if (!RECEIVER_ERROR_CLASSES.has(result.errorClass)) return undefined;
  return { ok: false, error: result.error, ...took, ...(result.httpStatus === undefined ? {} : { httpStatus: result.httpStatus }) };
}

/**
 * Decides for one event of `instance` (as deliver read it; undefined when it is gone, which
 * deliver's attempt handles). A switched-off instance goes through: deliver drops it as today.
 */
export async function openReceiverGate(event: QueuedEvent, instance: Instance | undefined, deps: ReceiverGateDeps): Promise<ReceiverGate> {
  if (!instance || !configOf(instance).notificationsEnabled) return { kind: 'go', done: async () => undefined };
  const { controls } = deliveryControlsOf(instance);
  if (!acceptsEventType(controls.filter, event.ecwidEventType)) {
    return { kind: 'filter', detail: `${event.ecwidEventType} is not in ${CONFIG_KEYS.eventTypes} (${controls.filter?.patterns.join(', ')})` };
  }

  const now = deps.clock;
  if (deps.health) {
    const clearance = await clearForDelivery(instance.id, deps.newProbeId(), deps.health, event.eventId);
    await announce(clearance.notices, instance, deps);
    switch (clearance.kind) {
      case 'drop':
        return { kind: 'drop', detail: clearance.reason };
      case 'hold': {
        // The probes' carrier comes back at the probe time; every other held event at its recheck.
        if (clearance.carrier && clearance.until !== undefined) return { kind: 'hold', heldBy: clearance.reason, until: clearance.until };
        const recheck = new Date(now().getTime() + (deps.heldRecheckSeconds ?? 900) * 1000).toISOString();
        return { kind: 'hold', heldBy: clearance.reason, until: clearance.until !== undefined && clearance.until > recheck ? clearance.until : recheck };
      }
      case 'deliver':
        // A probe is one request per interval: it never waits for a slot (that would hold its lease).
        if (clearance.probeId !== undefined) {
          const until = new Date(now().getTime() + deps.health.settings.probeSeconds * 1000).toISOString();
          return go(instance, deps, { probe: { id: clearance.probeId, until } }, undefined);
        }
        // Nor does one of a slow receiver's few attempts (its slot is held across workers meanwhile).
        if (clearance.slowSlotId !== undefined) return go(instance, deps, { slowSlotId: clearance.slowSlotId }, undefined);
    }
  }

  const slot = deps.slots ? await takeSlot(deps.slots, instance.id, controls.limits, deps) : { ok: true as const };
  if (!slot.ok) {
    deps.telemetry.log('debug', 'held: no delivery slot for the receiver', { instanceId: instance.id, reason: slot.reason });
    return { kind: 'hold', heldBy: 'rate-limited', until: new Date(now().getTime() + Math.max(1000, slot.retryInMs)).toISOString() };
  }
  return go(instance, deps, {}, deps.slots);
}

function go(
  instance: Instance,
  deps: ReceiverGateDeps,
  attempt: { readonly probe?: { id: string; until: string }; readonly slowSlotId?: string },
  slots: DeliverySlots | undefined,
): ReceiverGate {
  let finished = false;
  const { probe } = attempt;
  const probeId = probe?.id;
  const health = deps.health;
  // This attempt's id in the health record: its probe, its slow slot, or one it may take if it turns out slow.
  const attemptId = probeId ?? attempt.slowSlotId ?? deps.newProbeId();
  let holdsSlowSlot = attempt.slowSlotId !== undefined;
  let markingSlow: Promise<void> | undefined;
  const cancelTimer =
    health && deps.after && probeId === undefined && !holdsSlowSlot
      ? deps.after(health.settings.slowAfterMs, () => {
          if (finished) return;
          markingSlow = slowInFlight(instance.id, attemptId, health).then(
            (holds) => {
              holdsSlowSlot = holds;
              deps.telemetry.log('warn', 'receiver slow: its attempts are capped while it is', { instanceId: instance.id, slowAfterMs: health.settings.slowAfterMs });
            },
            (error: unknown) => deps.telemetry.log('warn', 'could not mark the receiver slow', { instanceId: instance.id, error: errorText(error) }),
          );
        })
      : undefined;
  return {
    kind: 'go',
    ...(probe ? { probe: { heldBy: 'circuit-open', until: probe.until } } : {}),
    async done(result) {
      if (finished) return;
      finished = true;
      cancelTimer?.();
      await markingSlow;
      slots?.finish(instance.id);
      const outcome = result ? receiverOutcomeOf(result) : undefined;
      if (health && probeId !== undefined && !outcome) {
        // The probe never reached the receiver (the claim was lost, Ecwid's API failed): free its slot now, not after its lease.
        await probeNotMade(instance.id, probeId, health).catch((error: unknown) =>
          deps.telemetry.log('warn', 'could not free an unmade probe; its lease frees it', { instanceId: instance.id, error: errorText(error) }),
        );
        return;
      }
      if (health && holdsSlowSlot && !outcome) {
        await slowSlotNotUsed(instance.id, attemptId, health).catch((error: unknown) =>
          deps.telemetry.log('warn', 'could not free an unused slow slot; its lease frees it', { instanceId: instance.id, error: errorText(error) }),
        );
        // Its turn passes to the next held event.
        await wake(instance.id, deps, 1);
        return;
      }
      if (!health || !outcome) return;
      try {
        const reported = await reportOutcome(instance.id, outcome, health, attemptId);
        await announce(reported.notices, instance, deps);
        // A slow receiver answered fast: all its held events go; still slow: this slot's turn passes to the next one.
        if (reported.slowCleared) await wake(instance.id, deps);
        else if (holdsSlowSlot && reported.health?.slowSince !== undefined) await wake(instance.id, deps, 1);
      } catch (error) {
        // The attempt is recorded in the ledger already; a lost health sample is only a sample.
        deps.telemetry.log('error', 'could not record the receiver outcome', { instanceId: instance.id, error: errorText(error) });
      }
    },
  };
}

/**
 * Sends the notices of a state change; a receiver that recovered, or was disabled, has its held
 * events woken at once (delivered, or dropped as disabled, now rather than at their recheck).
 */
async function announce(notices: readonly HealthNotice[], instance: Instance, deps: ReceiverGateDeps): Promise<void> {
  if (notices.length === 0) return;
  await sendNotices(notices, instance, deps.notices);
  if (notices.some((notice) => notice.kind === 'recovered' || notice.kind === 'disabled')) await deps.wakeHeld?.(instance.id);
}

/** Wakes held events of the receiver (best effort: a missed wake-up leaves them to their recheck). */
async function wake(instanceId: string, deps: ReceiverGateDeps, limit?: number): Promise<void> {
  await deps.wakeHeld?.(instanceId, limit)?.catch((error: unknown) =>
    deps.telemetry.log('warn', 'could not wake held events; their recheck brings them back', { instanceId, error: errorText(error) }),
  );
}

/** A slot now, or after waiting up to `maxSlotWaitMs`; else why not and when to look again. */
async function takeSlot(
  slots: DeliverySlots,
  receiver: string,
  limits: ReceiverLimits,
  deps: Pick<ReceiverGateDeps, 'sleep' | 'maxSlotWaitMs' | 'clock'>,
): Promise<{ ok: true } | { ok: false; reason: string; retryInMs: number }> {
  let waited = 0;
  const budget = deps.maxSlotWaitMs ?? DEFAULT_SLOT_WAIT_MS;
  for (;;) {
    const decision = slots.tryStart(receiver, limits, deps.clock().getTime());
    if (decision.ok) return { ok: true };
    if (waited + decision.retryInMs > budget) return { ok: false, reason: decision.reason, retryInMs: decision.retryInMs };
    await deps.sleep(decision.retryInMs);
    waited += decision.retryInMs;
  }
}
