import { randomBytes } from 'node:crypto';
import { FileCheckpointStore } from '../functions/adapters/fs/file-checkpoint-store';
import { EcwidPollClient } from '../functions/adapters/http/ecwid-poll-client';
import type { Telemetry } from '../functions/core/ports';
import { pollDueInstances, type PollRunSummary } from '../functions/core/poll/run';
import type { Clock, EventQueue, InstanceRepository } from '../functions/core/ports';
import type { SightingInbox } from '../functions/core/sightings';
import { startPeriodicRun } from './periodic-run';

/**
 * The local runner's stand-in for the scheduled poll Lambda: every `intervalSeconds` it runs the
 * same fleet poll (core/poll/run.ts) over the runner's folder of instances, against the runner's
 * Ecwid API (`--ecwid-api`), into the runner's queue. States and leases are files in `stateDir`,
 * so `ecwid-events instances poll ID --local` shares them (and never polls an instance at the same
 * time as the loop).
 */
export interface PollLoopOptions {
  readonly intervalSeconds: number;
  /** The runner's instances (the folder repository ingest and deliver read too). */
  readonly instances: Pick<InstanceRepository, 'list'>;
  readonly stateDir: string;
  readonly ecwidApiBaseUrl: string;
  readonly queue: EventQueue;
  readonly sightings?: SightingInbox;
  readonly telemetry: Telemetry;
  readonly clock?: Clock;
  /** Called with each run's summary (the runner prints one line when something happened). */
  readonly onRun?: (summary: PollRunSummary) => void;
  /** A run that throws (the folder unreadable): reported, the loop goes on. */
  readonly onError?: (error: unknown) => void;
}

export interface PollLoop {
  readonly stateDir: string;
  /** One run now (waits for a run in progress first). */
  runNow(): Promise<PollRunSummary | undefined>;
  /** No new run; resolves when the one in progress (if any) has finished. */
  stop(): Promise<void>;
}

/** Leases outlive a local run generously: a stuck run would otherwise block the CLI for long. */
const LOCAL_LEASE_SECONDS = 300;

export function startPollLoop(options: PollLoopOptions): PollLoop {
  const clock = options.clock ?? (() => new Date());
  const checkpoints = new FileCheckpointStore({ dir: options.stateDir, clock });
  const source = new EcwidPollClient({ baseUrl: options.ecwidApiBaseUrl, clock });
  const owner = `local-runner-${process.pid}-${randomBytes(3).toString('hex')}`;
  const loop = startPeriodicRun({
    job: () =>
      pollDueInstances({
        listInstances: () => options.instances.list(),
        loadAllStates: () => checkpoints.loadAll(),
        checkpoints,
        source,
        queue: options.queue,
        sightings: options.sightings,
        clock,
        telemetry: options.telemetry,
        owner,
        leaseSeconds: LOCAL_LEASE_SECONDS,
      }),
    intervalMs: Math.max(1, options.intervalSeconds) * 1000,
    runAtStart: true,
    onRun: options.onRun,
    onError: options.onError,
  });

  return {
    stateDir: options.stateDir,
    runNow: () => loop.runNow(),
    stop: () => loop.stop(),
  };
}
