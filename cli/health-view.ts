/**
 * How the CLI shows a receiver's health (`instances health`, the HEALTH column of `instances
 * list`): the stored record (functions/core/health.ts) read together with the instance's own
 * switch, since `instances disable` (ingest drops) and an auto-disabled receiver (deliver drops)
 * are both "disabled" to the person reading it.
 */
import { successRate, type HealthState, type ReceiverHealth } from '../functions/core/health';
import { configOf, type Instance } from '../functions/core/instance';

export interface HealthView {
  readonly id: string;
  readonly state: HealthState;
  /** When the receiver entered its state (absent: nothing recorded yet). */
  readonly since?: string;
  /** Why paused or disabled, for people. */
  readonly reason?: string;
  /** False when no attempt and no operator action was ever recorded for it. */
  readonly recorded: boolean;
  readonly lastSuccessAt?: string;
  readonly lastFailureAt?: string;
  readonly lastError?: string;
  readonly lastHttpStatus?: number;
  readonly consecutiveFailures: number;
  readonly firstFailureAt?: string;
  /** The last hour: attempts, how many were delivered, and their share (absent: no attempt). */
  readonly lastHour: { readonly attempts: number; readonly delivered: number; readonly successRate?: number };
  /** Open circuit: when it opened, the next probe, whether one is in flight. */
  readonly circuit?: { readonly openedAt?: string; readonly nextProbeAt?: string; readonly probeInFlight: boolean };
  /** Slow (an attempt took 2 s or more): since when, and its attempts in flight now (capped across workers). */
  readonly slow?: { readonly since: string; readonly inFlight: number };
  /** What happens to this instance's events now, in one line. */
  readonly events: string;
}

/** Switched off by `instances disable`: ingest acknowledges and drops its notifications. */
export const DISABLED_BY_OPERATOR = 'disabled by "instances disable": ingest drops its new events, deliver those already queued';

const EVENTS_BY_STATE: Readonly<Record<HealthState, string>> = {
  healthy: 'delivered',
  failing: 'delivered, with retries',
  'circuit-open': 'held (attempts not used); one probe at a time tests the receiver, the first success resumes delivery in order',
  paused: 'held (not attempted, not dropped) until "instances resume"',
  disabled: 'dropped at delivery and kept in the ledger for "events resend"; "instances resume" enables it again',
};

export function healthView(instance: Instance, health: ReceiverHealth | undefined, now: Date): HealthView {
  const rate = successRate(health ?? { buckets: [] }, now);
  const switchedOff = !configOf(instance).notificationsEnabled;
  const state: HealthState = switchedOff ? 'disabled' : (health?.state ?? 'healthy');
  const open = health?.state === 'circuit-open' && !switchedOff ? health : undefined;
  return withoutUndefined({
    id: instance.id,
    state,
    since: health?.stateAt,
    reason: switchedOff ? DISABLED_BY_OPERATOR : health?.reason,
    recorded: health !== undefined,
    lastSuccessAt: health?.lastSuccessAt,
    lastFailureAt: health?.lastFailureAt,
    lastError: health?.lastError,
    lastHttpStatus: health?.lastHttpStatus,
    consecutiveFailures: health?.consecutiveFailures ?? 0,
    firstFailureAt: health?.firstFailureAt,
    lastHour: withoutUndefined({ attempts: rate.attempts, delivered: rate.delivered, successRate: rate.rate }),
    circuit: open
      ? withoutUndefined({
          openedAt: open.openedAt,
          nextProbeAt: open.nextProbeAt,
          probeInFlight: open.probeUntil !== undefined && open.probeUntil > now.toISOString(),
        })
      : undefined,
    slow:
      health?.slowSince !== undefined && !switchedOff
        ? { since: health.slowSince, inFlight: (health.slowSlots ?? []).filter((slot) => slot.until > now.toISOString()).length }
        : undefined,
    events: switchedOff ? 'dropped ("instances disable"); "instances enable" turns it on again' : EVENTS_BY_STATE[state],
  });
}

/** `98.5% of 200` / `no attempts` for the last hour. */
export function lastHourText(view: Pick<HealthView, 'lastHour'>): string {
  const { attempts, successRate: rate } = view.lastHour;
  if (attempts === 0 || rate === undefined) return 'no attempts';
  const percent = Math.floor(rate * 1000) / 10;
  return `${percent}% of ${attempts}`;
}

/** The HEALTH column: the state, with the failure streak when there is one. */
export function healthCell(view: HealthView): string {
  return view.consecutiveFailures > 0 && (view.state === 'failing' || view.state === 'circuit-open')
    ? `${view.state} (${view.consecutiveFailures} failed)`
    : view.slow
      ? `${view.state} (slow)`
      : view.state;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
