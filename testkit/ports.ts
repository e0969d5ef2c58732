/**
 * In-memory implementations of the core's ports for tests that call the use cases and handlers
 * directly: an instance store over a list, an event queue that records what it accepted (both can
 * be made to fail, as a backend that is down) and telemetry that records every line and metric.
 */
import type { QueuedEvent } from '../functions/core/event';
import type { HealthStore, ReceiverHealth } from '../functions/core/health';
import { configOf, type Instance } from '../functions/core/instance';
import type { EventQueue, InstanceLookup, LogLevel, Telemetry } from '../functions/core/ports';

/**
 * InstanceLookup over a list (the caller's array: what it adds later is seen); `failure` makes every
 * call throw; `calls` records `get:id` / `findByStore:id`.
 */
export class MemoryInstanceStore implements InstanceLookup {
  failure?: Error;
  readonly calls: string[] = [];

  constructor(readonly instances: Instance[] = []) {}

  async get(instanceId: string): Promise<Instance | undefined> {
    this.calls.push(`get:${instanceId}`);
    if (this.failure) throw this.failure;
    return this.instances.find((instance) => instance.id === instanceId);
  }

  async findByStore(storeId: string): Promise<Instance[]> {
    this.calls.push(`findByStore:${storeId}`);
    if (this.failure) throw this.failure;
    return this.instances.filter((instance) => configOf(instance).storeId === storeId);
  }
}

/**
 * EventQueue that records what it accepted, batch by batch. `failure` makes every enqueue reject;
 * `failNext` rejects that many enqueues, then accepts again.
 */
export class MemoryEventQueue implements EventQueue {
  failure?: Error;
  failNext = 0;
  readonly batches: QueuedEvent[][] = [];

  get events(): QueuedEvent[] {
    return this.batches.flat();
  }

  async enqueue(events: readonly QueuedEvent[]): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.failNext > 0) {
      this.failNext -= 1;
      throw new Error('SendMessageBatch failed (ServiceUnavailable)');
    }
    this.batches.push([...events]);
  }

  /** `objectType:objectId@occurredSeconds` of every queued event, in order. */
  changes(): string[] {
    return this.events.map((event) => `${event.objectType}:${event.objectId}@${Math.floor(Date.parse(event.occurredAt ?? '') / 1000)}`);
  }
}

export interface LogLine {
  readonly level: LogLevel;
  readonly message: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** Telemetry that keeps every log line and metric (counts and durations) for assertions. */
export class RecordingTelemetry implements Required<Telemetry> {
  readonly lines: LogLine[] = [];
  readonly metrics: Array<{ readonly name: string; readonly value: number }> = [];

  log(level: LogLevel, message: string, attributes: Readonly<Record<string, unknown>> = {}): void {
    this.lines.push({ level, message, attributes });
  }

  count(metric: string, value = 1): void {
    this.metrics.push({ name: metric, value });
  }

  milliseconds(metric: string, value: number): void {
    this.metrics.push({ name: metric, value });
  }

  /** The sum of a metric's values. */
  countOf(metric: string): number {
    return this.metrics.filter((entry) => entry.name === metric).reduce((sum, entry) => sum + entry.value, 0);
  }
}

/** Health records with the DynamoDB adapter's rule (a write succeeds only over the version it read), each call counted. */
export class MemoryHealthStore implements HealthStore {
  readonly records = new Map<string, ReceiverHealth>();
  readonly calls = { get: 0, getMany: 0, put: 0, refused: 0 };
  async get(instanceId: string): Promise<ReceiverHealth | undefined> {
    this.calls.get += 1;
    return this.records.get(instanceId);
  }
  async getMany(instanceIds: readonly string[]): Promise<Map<string, ReceiverHealth>> {
    this.calls.getMany += 1;
    return new Map(instanceIds.flatMap((id) => (this.records.has(id) ? [[id, this.records.get(id)!] as const] : [])));
  }
  async put(next: ReceiverHealth): Promise<boolean> {
    this.calls.put += 1;
    const current = this.records.get(next.instanceId);
    if (next.version <= 1 ? current !== undefined : current?.version !== next.version - 1) {
      this.calls.refused += 1;
      return false;
    }
    this.records.set(next.instanceId, next);
    return true;
  }
}
