import type { QueuedEvent } from './event';
import type { Instance } from './instance';

/**
 * Read side of the instance configurations (SSM in AWS, a folder of JSON files locally).
 * Implementations cache; `findByStore` must not cost more as the number of instances grows.
 * Both methods throw on a backend failure (the caller answers 503); "not found" is not a failure.
 */
export interface InstanceStore {
  get(instanceId: string): Promise<Instance | undefined>;
  findByStore(storeId: string): Promise<Instance[]>;
}

/** The queue between ingest and deliver. Resolves only when every message was accepted. */
export interface EventQueue {
  enqueue(events: readonly QueuedEvent[]): Promise<void>;
}

/** Time source, injectable so tests are deterministic. */
export type Clock = () => Date;

// ---- telemetry ---------------------------------------------------------------------------------

export type LogLevel = 'info' | 'warn' | 'error';

/** Logging and metrics, as small as the use cases need; the handlers back it with Powertools. */
export interface Telemetry {
  /** `attributes` carry ids, counts and reasons; never a secret. */
  log(level: LogLevel, message: string, attributes?: Readonly<Record<string, unknown>>): void;
  count(metric: string, value?: number): void;
  /** A duration metric (deliver's latency); a sink that keeps no timings may leave it out. */
  milliseconds?(metric: string, value: number): void;
}

export const NO_TELEMETRY: Telemetry = { log: () => undefined, count: () => undefined };

/**
 * An error as logs, outcomes and dead letters show it: `Name: message`, or the message alone for a
 * plain Error. A SyntaxError shows only its name: JSON.parse quotes the text it failed on, which
 * may be an instance configuration full of secrets. Duck-typed rather than `instanceof`: errors
 * may come from another realm (test runners, VM contexts).
 */
export function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') return String(error);
  const { name, message } = error as Error;
  if (name === 'SyntaxError') return name;
  return !name || name === 'Error' ? message : `${name}: ${message}`;
}
