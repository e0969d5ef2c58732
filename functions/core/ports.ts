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
