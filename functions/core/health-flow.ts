/**
 * The health use cases deliver calls around each attempt, written against the HealthStore port:
 * read, decide (./health.ts), write if nobody changed the record meanwhile, else decide again from
 * a fresh read. That conditional write is what lets exactly one of several deliver workers take
 * the probe of an open circuit.
 */
import {
  admission,
  holdsSlowSlot,
  markSlow,
  newHealth,
  notice,
  pause,
  recordOutcome,
  releaseProbe,
  releaseSlowSlot,
  resume,
  type BreakerSettings,
  type HealthNotice,
  type HealthStore,
  type HoldReason,
  type ReceiverHealth,
  type ReceiverOutcome,
} from './health';

export interface HealthDeps {
  readonly store: HealthStore;
  readonly clock: () => Date;
  readonly settings: BreakerSettings;
}

/** What deliver does with one event of this receiver. Notices are for the caller to publish. */
export type DeliveryClearance =
  /** `slowSlotId`: the receiver is slow and this attempt holds one of its slots (free it when done). */
  | { readonly kind: 'deliver'; readonly probeId?: string; readonly slowSlotId?: string; readonly notices: readonly HealthNotice[] }
  /** `carrier`: this event carries the probes of an open circuit (due back at `until`, not at the recheck). */
  | { readonly kind: 'hold'; readonly reason: HoldReason; readonly until?: string; readonly carrier?: boolean; readonly notices: readonly HealthNotice[] }
  | { readonly kind: 'drop'; readonly reason: string; readonly notices: readonly HealthNotice[] };

/** Lost races (another worker wrote the record between our read and our write) re-decided before giving up. */
const RACE_RETRIES = 5;

/**
 * Before an attempt: may it go? While the circuit is open only the worker whose probe write wins
 * gets `deliver` (with its `probeId`); the others are told to hold.
 */
export async function clearForDelivery(instanceId: string, probeId: string, deps: HealthDeps, eventId?: string): Promise<DeliveryClearance> {
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const now = deps.clock();
    const health = (await deps.store.get(instanceId)) ?? newHealth(instanceId, now);
    const decision = admission(health, now, deps.settings, probeId, eventId);
    switch (decision.kind) {
      case 'deliver':
        return { kind: 'deliver', notices: [] };
      case 'hold':
        return { kind: 'hold', reason: decision.reason, until: decision.until, ...(decision.carrier ? { carrier: true } : {}), notices: [] };
      case 'drop':
        return { kind: 'drop', reason: decision.reason, notices: [] };
      case 'carry':
        if (await deps.store.put(decision.next)) return { kind: 'hold', reason: decision.reason, until: decision.until, carrier: true, notices: [] };
        continue;
      case 'probe':
        if (await deps.store.put(decision.next)) return { kind: 'deliver', probeId, notices: [] };
        continue;
      case 'slow-slot':
        if (await deps.store.put(decision.next)) return { kind: 'deliver', slowSlotId: decision.slotId, notices: [] };
        continue;
      case 'disable':
        if (await deps.store.put(decision.next)) return { kind: 'drop', reason: decision.next.reason ?? 'disabled', notices: decision.notices };
        continue;
    }
  }
  // The record kept changing: someone else is deciding for this receiver right now. Hold briefly.
  return { kind: 'hold', reason: 'probe-in-flight', notices: [] };
}

/**
 * After an attempt: records its outcome (only the callback's: an Ecwid API failure is not the
 * receiver's). Returns the notices of the state change, if any. `recorded: false` when the record
 * kept changing under us: the sample is lost, nothing else (the next outcome counts again).
 */
export async function reportOutcome(
  instanceId: string,
  outcome: ReceiverOutcome,
  deps: HealthDeps,
  attemptId?: string,
): Promise<{ readonly recorded: boolean; readonly health?: ReceiverHealth; readonly notices: readonly HealthNotice[]; readonly slowCleared?: boolean }> {
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const now = deps.clock();
    const health = (await deps.store.get(instanceId)) ?? newHealth(instanceId, now);
    const change = recordOutcome(health, outcome, now, deps.settings, attemptId);
    if (await deps.store.put(change.next)) {
      return { recorded: true, health: change.next, notices: change.notices, ...(change.slowCleared ? { slowCleared: true } : {}) };
    }
  }
  return { recorded: false, notices: [] };
}

/**
 * An attempt still running after `slowAfterMs`: marks its receiver slow (and gives the attempt a
 * slot if one is free). Returns whether the attempt now holds a slot.
 */
export async function slowInFlight(instanceId: string, attemptId: string, deps: HealthDeps): Promise<boolean> {
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const now = deps.clock();
    const health = (await deps.store.get(instanceId)) ?? newHealth(instanceId, now);
    const next = markSlow(health, attemptId, now, deps.settings);
    if (!next) return holdsSlowSlot(health, attemptId);
    if (await deps.store.put(next)) return holdsSlowSlot(next, attemptId);
  }
  return false;
}

/** A slow slot taken but never used: freed now (best effort: else its lease frees it). */
export async function slowSlotNotUsed(instanceId: string, slotId: string, deps: Pick<HealthDeps, 'store'>): Promise<void> {
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const health = await deps.store.get(instanceId);
    const next = health && releaseSlowSlot(health, slotId);
    if (!next || (await deps.store.put(next))) return;
  }
}

/** A probe taken but never made: its slot is freed now (best effort: else its lease frees it). */
export async function probeNotMade(instanceId: string, probeId: string, deps: Pick<HealthDeps, 'store'>): Promise<void> {
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const health = await deps.store.get(instanceId);
    const next = health && releaseProbe(health, probeId);
    if (!next || (await deps.store.put(next))) return;
  }
}

/**
 * `instances pause ID` / `resume ID`, with the operator's notice (`receiver.paused`,
 * `receiver.resumed`) for the caller to send; none when the state did not change (paused twice).
 */
export async function setPaused(
  instanceId: string,
  paused: boolean,
  deps: Omit<HealthDeps, 'settings'>,
): Promise<ReceiverHealth & { readonly notices: readonly HealthNotice[] }> {
  for (let race = 0; race <= RACE_RETRIES; race++) {
    const now = deps.clock();
    const health = (await deps.store.get(instanceId)) ?? newHealth(instanceId, now);
    const next = paused ? pause(health, now) : resume(health, now);
    if (!(await deps.store.put(next))) continue;
    const changed = paused ? health.state !== 'paused' : health.state !== 'healthy' && health.state !== 'failing';
    return { ...next, notices: changed ? [notice(paused ? 'paused' : 'resumed', next, now)] : [] };
  }
  throw new Error(`the health of instance ${instanceId} kept changing; try again`);
}
