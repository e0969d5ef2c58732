/**
 * One run of the poller over every instance (the scheduled Lambda, the local runner's loop) and
 * one poll of one instance (the CLI): who is due, the per-instance lease, the webhook sightings,
 * bounded concurrency. The poll itself is session.ts.
 */
import { POLL_METRICS } from '../../contract';
import { CONFIG_KEYS, configOf, withConfig, type Instance } from '../instance';
import { errorText, type InstanceListing, NO_TELEMETRY, type Telemetry } from '../ports';
import type { ReceivedSighting, SightingInbox } from '../sightings';
import { DUE_SLACK_SECONDS, OVERLAP_SECONDS, SIGHTING_TOLERANCE_SECONDS } from './constants';
import { PollLeasedError, PollNotConfiguredError } from './errors';
import { pollInstance, type PollDeps, type PollOutcome, type PollProgress } from './session';
import { pollSettingsOf, type PollObjectType, type PollSettings } from './settings';
import type { PollState } from './state';

export interface PollRunDeps extends PollDeps {
  readonly listInstances: () => Promise<InstanceListing>;
  /** Every stored state at once (one call), to find who is due; else each is loaded. */
  readonly loadAllStates?: () => Promise<ReadonlyMap<string, PollState>>;
  readonly sightings?: SightingInbox;
  /** Lease owner: unique per run (a Lambda request id, a process). */
  readonly owner: string;
  /** How long a lease lasts: longer than any poll of one instance can take. */
  readonly leaseSeconds: number;
  /** Instances polled at the same time. @default 4 */
  readonly concurrency?: number;
  /** Epoch ms: no instance is started after it, and running polls stop fetching at it. */
  readonly deadline?: number;
}

export interface InstancePollSummary {
  readonly instanceId: string;
  readonly status: PollOutcome['status'] | 'leased' | 'error';
  readonly queued: number;
  readonly error?: string;
}

export interface PollRunSummary {
  /** Instances with polling on. */
  readonly polled: number;
  readonly due: number;
  readonly results: readonly InstancePollSummary[];
  /** Due instances left for the next run because the deadline came first. */
  readonly deferred: number;
  readonly misconfigured: number;
}

interface Candidate {
  readonly instance: Instance;
  readonly settings: PollSettings;
}

/** True when the instance's interval has passed since its last attempt (or it never ran). */
export function isDue(state: PollState | undefined, settings: PollSettings, now: Date): boolean {
  const last = state?.lastAttemptAt === undefined ? Number.NaN : Date.parse(state.lastAttemptAt);
  if (!Number.isFinite(last)) return true;
  return now.getTime() - last >= (settings.intervalMinutes * 60 - DUE_SLACK_SECONDS) * 1000;
}

/**
 * A sighting is still needed while a later live window can reach the change it reports: until
 * the cursor of its type has passed it by the overlap and the tolerance.
 */
export function sightingStillNeeded(sighting: ReceivedSighting, state: PollState): boolean {
  const cursor = state.cursors[sighting.objectType as PollObjectType];
  if (!cursor) return false;
  return sighting.at + SIGHTING_TOLERANCE_SECONDS >= cursor.to - OVERLAP_SECONDS;
}

/** Polls every due instance once. Never throws for one instance's problem. */
export async function pollDueInstances(deps: PollRunDeps): Promise<PollRunSummary> {
  const telemetry = deps.telemetry ?? NO_TELEMETRY;
  const now = deps.clock();

  const listing = await deps.listInstances();
  for (const problem of listing.problems ?? []) {
    telemetry.count(POLL_METRICS.misconfigured);
    telemetry.log('warn', 'stored instance not readable; not polled', { instanceId: problem.id, problem: problem.message });
  }
  const candidates: Candidate[] = [];
  let misconfigured = listing.problems?.length ?? 0;
  for (const instance of listing.instances) {
    if (!configOf(instance).notificationsEnabled) continue;
    const result = pollSettingsOf(instance.document);
    if (result.kind === 'off') continue;
    if (result.kind === 'invalid') {
      misconfigured += 1;
      telemetry.count(POLL_METRICS.misconfigured);
      telemetry.log('warn', 'polling is configured but cannot run', { instanceId: instance.id, problems: result.problems });
      continue;
    }
    candidates.push({ instance, settings: result.settings });
  }

  // Sightings: grouped per polled instance; those of instances not polled are of no use.
  const received = deps.sightings ? await deps.sightings.receive() : [];
  const byInstance = new Map<string, ReceivedSighting[]>();
  const useless: string[] = [];
  const polledIds = new Set(candidates.map((c) => c.instance.id));
  for (const sighting of received) {
    if (!polledIds.has(sighting.instanceId)) useless.push(sighting.handle);
    else byInstance.set(sighting.instanceId, [...(byInstance.get(sighting.instanceId) ?? []), sighting]);
  }
  if (useless.length > 0) await acknowledge(deps, useless, telemetry);

  const states = deps.loadAllStates ? await deps.loadAllStates() : undefined;
  const due: Array<Candidate & { lastAttempt: number }> = [];
  for (const candidate of candidates) {
    const state = states ? states.get(candidate.instance.id) : await deps.checkpoints.load(candidate.instance.id);
    if (!isDue(state, candidate.settings, now)) continue;
    const last = state?.lastAttemptAt ? Date.parse(state.lastAttemptAt) : 0;
    due.push({ ...candidate, lastAttempt: Number.isFinite(last) ? last : 0 });
  }
  // Longest-waiting first, so that a deadline never starves the same instances.
  due.sort((a, b) => a.lastAttempt - b.lastAttempt);

  const results: InstancePollSummary[] = [];
  let deferred = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < due.length) {
      const candidate = due[next++];
      if (deps.deadline !== undefined && deps.clock().getTime() >= deps.deadline) {
        deferred += 1;
        continue;
      }
      results.push(await pollLeased(candidate, byInstance.get(candidate.instance.id) ?? [], deps, telemetry));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(deps.concurrency ?? 4, due.length)) }, worker));

  return { polled: candidates.length, due: due.length, results, deferred, misconfigured };
}

async function pollLeased(
  candidate: Candidate,
  sightings: readonly ReceivedSighting[],
  deps: PollRunDeps,
  telemetry: Telemetry,
): Promise<InstancePollSummary> {
  const instanceId = candidate.instance.id;
  try {
    if (!(await deps.checkpoints.lock(instanceId, deps.owner, deps.leaseSeconds))) {
      telemetry.count(POLL_METRICS.skippedLeased);
      telemetry.log('info', 'another poll of this instance is running; skipped', { instanceId });
      return { instanceId, status: 'leased', queued: 0 };
    }
  } catch (error) {
    return failed(instanceId, error, telemetry);
  }
  try {
    const outcome = await pollInstance(
      { instance: candidate.instance, settings: candidate.settings, sightings, deadline: deps.deadline },
      deps,
    );
    telemetry.count(POLL_METRICS.instancesPolled);
    const done = sightings.filter((s) => !sightingStillNeeded(s, outcome.state)).map((s) => s.handle);
    if (done.length > 0) await acknowledge(deps, done, telemetry);
    return { instanceId, status: outcome.status, queued: outcome.queued, ...(outcome.error ? { error: outcome.error } : {}) };
  } catch (error) {
    return failed(instanceId, error, telemetry);
  } finally {
    await deps.checkpoints.unlock(instanceId, deps.owner).catch((error: unknown) =>
      telemetry.log('warn', 'could not release the poll lease (it expires by itself)', { instanceId, error: errorText(error) }),
    );
  }
}

function failed(instanceId: string, error: unknown, telemetry: Telemetry): InstancePollSummary {
  telemetry.count(POLL_METRICS.failed);
  telemetry.log('error', 'poll of this instance failed', { instanceId, error: errorText(error) });
  return { instanceId, status: 'error', queued: 0, error: errorText(error) };
}

async function acknowledge(deps: PollRunDeps, handles: readonly string[], telemetry: Telemetry): Promise<void> {
  try {
    await deps.sightings?.acknowledge(handles);
  } catch (error) {
    // They come back on a later receive: harmless.
    telemetry.log('warn', 'could not acknowledge webhook sightings', { count: handles.length, error: errorText(error) });
  }
}

export interface PollOnceOptions {
  readonly sinceSeconds?: number;
  /**
   * Poll even when the instance is in webhook mode (no reconcile): a one-off catch-up.
   * @default true
   */
  readonly evenIfOff?: boolean;
  readonly onProgress?: (progress: PollProgress) => void;
  readonly sightings?: SightingInbox;
}

/**
 * One poll of one instance now (the CLI's `instances poll`), under the same lease as the
 * schedule. Without sightings, a reconciliation-mode instance is only backfilled: its live edge
 * is left to the scheduled poller, which knows what webhooks reported.
 */
export async function pollOnce(
  instance: Instance,
  options: PollOnceOptions,
  deps: PollDeps & { readonly owner: string; readonly leaseSeconds: number },
): Promise<PollOutcome> {
  const result = pollSettingsOf(instance.document);
  let settings: PollSettings;
  if (result.kind === 'on') settings = result.settings;
  else if (result.kind === 'invalid') throw new PollNotConfiguredError(`instance ${instance.id} cannot be polled: ${result.problems.join('; ')}`);
  else {
    // Webhook mode: a manual catch-up polls like reconciliation mode, which needs the same keys.
    const forced = pollSettingsOf(withConfig(instance.document, { [CONFIG_KEYS.pollerReconcile]: 'true' }));
    if (options.evenIfOff === false || forced.kind !== 'on') {
      throw new PollNotConfiguredError(
        forced.kind === 'invalid' ? `instance ${instance.id} cannot be polled: ${forced.problems.join('; ')}` : `instance ${instance.id} is not set up for polling`,
      );
    }
    settings = forced.settings;
  }
  if (!(await deps.checkpoints.lock(instance.id, deps.owner, deps.leaseSeconds))) {
    throw new PollLeasedError(`another poll of instance ${instance.id} is running; try again when it is done`);
  }
  try {
    let sightings: ReceivedSighting[] = [];
    if (options.sightings) sightings = (await options.sightings.receive()).filter((s) => s.instanceId === instance.id);
    const liveEdge = settings.mode === 'polling' || options.sightings !== undefined;
    return await pollInstance(
      { instance, settings, sightings, sinceSeconds: options.sinceSeconds, liveEdge, onProgress: options.onProgress },
      deps,
    );
  } finally {
    await deps.checkpoints.unlock(instance.id, deps.owner).catch(() => undefined);
  }
}
