/**
 * In-memory stand-ins for the poller's ports: a poll source over testkit's FakeEcwidStore, a
 * checkpoint store with leases, a clock (queue and telemetry: testkit/ports.ts). Used by the core and poll tests.
 */
import type { Instance } from '../../../functions/core/instance';
import type { CheckpointStore, PollListRequest, PollPage, PollSource } from '../../../functions/core/ports';
import type { PollState } from '../../../functions/core/poll/state';
import { FakeEcwidStore } from '../../../testkit/ecwid-store';
import { instanceDocument } from '../../../testkit/instances';


export const T0 = Date.UTC(2024, 4, 1, 12, 0, 0); // epoch ms
export const secondsOf = (ms: number): number => Math.floor(ms / 1000);

/** PollSource over a FakeEcwidStore; `beforeList` runs before each answer (to change the store mid-scan). */
export class FakePollSource implements PollSource {
  readonly requests: PollListRequest[] = [];
  beforeList?: (request: PollListRequest, callNumber: number) => void | Promise<void>;
  failWith?: (request: PollListRequest) => Error | undefined;

  constructor(readonly store: FakeEcwidStore) {}

  async list(request: PollListRequest): Promise<PollPage> {
    this.requests.push(request);
    await this.beforeList?.(request, this.requests.length);
    const error = this.failWith?.(request);
    if (error) throw error;
    return this.store.search(request.objectType, request.updatedFrom, request.updatedTo, request.offset, request.limit);
  }
}

export class MemoryCheckpoints implements CheckpointStore {
  readonly states = new Map<string, PollState>();
  readonly leases = new Map<string, { owner: string; expiresAt: number }>();
  saves = 0;

  constructor(private readonly clock: () => Date) {}

  async load(instanceId: string): Promise<PollState | undefined> {
    const state = this.states.get(instanceId);
    return state === undefined ? undefined : structuredClone(state);
  }

  async loadAll(): Promise<Map<string, PollState>> {
    return new Map([...this.states].map(([id, state]) => [id, structuredClone(state)]));
  }

  async save(instanceId: string, state: PollState): Promise<void> {
    this.saves += 1;
    // Round-trip through JSON, as every real store does.
    this.states.set(instanceId, JSON.parse(JSON.stringify(state)) as PollState);
  }

  async lock(instanceId: string, owner: string, ttlSeconds: number): Promise<boolean> {
    const current = this.leases.get(instanceId);
    if (current && current.owner !== owner && current.expiresAt > this.clock().getTime()) return false;
    this.leases.set(instanceId, { owner, expiresAt: this.clock().getTime() + ttlSeconds * 1000 });
    return true;
  }

  async unlock(instanceId: string, owner: string): Promise<void> {
    if (this.leases.get(instanceId)?.owner === owner) this.leases.delete(instanceId);
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(private ms: number = T0) {}
  readonly now = (): Date => new Date(this.ms);
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  get seconds(): number {
    return secondsOf(this.ms);
  }
}

export const ACCESS_TOKEN = 'secret_poll_token_do_not_log';

/** An instance polling `configuration` every `interval` minutes. */
export function pollingInstance(
  id = 'shop-a',
  configuration: Record<string, string> = {},
): Instance {
  return {
    id,
    document: instanceDocument({
      storeId: '1003',
      configuration: {
        'ecwid.access.token': ACCESS_TOKEN,
        'event.vendor.type': 'polling',
        ...configuration,
      },
    }),
  };
}
