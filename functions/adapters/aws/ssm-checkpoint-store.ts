import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { parsePollState, type PollState } from '../../core/poll/state';
import { type CheckpointStore } from '../../core/ports';
import { ssmPollLeaseName, ssmPollStateName } from '../../contract';
import { deleteParameterIfExists, parametersByInstanceId, readParameter } from './ssm-parameters';

export interface SsmCheckpointStoreOptions {
  /** The stack's parameter prefix, e.g. `/ecwid-events/dev`; states go under `<prefix>/poller/`. */
  readonly prefix: string;
  /** @default a new SSMClient (region and endpoint from the environment) */
  readonly client?: SSMClient;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

interface Lease {
  readonly owner: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/**
 * Poll states in Parameter Store, next to the instances: `<prefix>/poller/checkpoints/<id>`
 * (a String parameter: cursors and recent change keys, no secrets, a few hundred bytes; the
 * Intelligent-Tiering tier moves one past 4 KB to the advanced tier) and the per-instance lease
 * `<prefix>/poller/leases/<id>`.
 *
 * Why Parameter Store and not a table: one small document per instance, written once per poll
 * (every 15 minutes by default), read in one GetParametersByPath call per run — well within the
 * free standard tier and its throughput, with no new data store to operate. A store with
 * conditional writes (DynamoDB) would make the lease exact; see `lock`.
 */
export class SsmCheckpointStore implements CheckpointStore {
  private readonly prefix: string;
  private readonly client: SSMClient;
  private readonly clock: () => Date;

  constructor(opts: SsmCheckpointStoreOptions) {
    this.prefix = opts.prefix.replace(/\/+$/, '');
    this.client = opts.client ?? new SSMClient({});
    this.clock = opts.clock ?? (() => new Date());
  }

  async load(instanceId: string): Promise<PollState | undefined> {
    const name = ssmPollStateName(this.prefix, instanceId);
    const text = await readParameter(this.client, name);
    return text === undefined ? undefined : parsePollState(text, `SSM parameter ${name}`);
  }

  /** Every readable state under the prefix (unreadable ones are left out: their poll reports them). */
  async loadAll(): Promise<Map<string, PollState>> {
    const states = new Map<string, PollState>();
    for await (const { id, name, value } of parametersByInstanceId(this.client, ssmPollStateName(this.prefix, ''), { recursive: false })) {
      try {
        states.set(id, parsePollState(value, `SSM parameter ${name}`));
      } catch {
        // pollInstance loads it again and reports the problem for this instance.
      }
    }
    return states;
  }

  async save(instanceId: string, state: PollState): Promise<void> {
    await this.client.send(
      new PutParameterCommand({
        Name: ssmPollStateName(this.prefix, instanceId),
        Value: JSON.stringify(state),
        Type: 'String',
        Overwrite: true,
        Tier: 'Intelligent-Tiering',
      }),
    );
  }

  /**
   * Creates the lease parameter only if it does not exist (Overwrite=false is atomic); an expired
   * lease is deleted and created again. Parameter Store has no compare-and-swap, so two pollers
   * that find the same expired lease at the same instant could both take it: expiry only happens
   * after a crashed poll, and the schedule itself never overlaps (reserved concurrency 1).
   */
  async lock(instanceId: string, owner: string, ttlSeconds: number): Promise<boolean> {
    const name = ssmPollLeaseName(this.prefix, instanceId);
    const lease: Lease = { owner, expiresAt: this.clock().getTime() + ttlSeconds * 1000 };
    if (await this.create(name, lease)) return true;
    const current = parseLease(await readParameter(this.client, name));
    if (current && current.owner !== owner && current.expiresAt > this.clock().getTime()) return false;
    // Ours (renewed), expired, unreadable, or deleted meanwhile.
    if (current?.owner === owner) {
      await this.client.send(new PutParameterCommand({ Name: name, Value: JSON.stringify(lease), Type: 'String', Overwrite: true }));
      return true;
    }
    await deleteParameterIfExists(this.client, name);
    return this.create(name, lease);
  }

  async unlock(instanceId: string, owner: string): Promise<void> {
    const name = ssmPollLeaseName(this.prefix, instanceId);
    const current = parseLease(await readParameter(this.client, name));
    if (current?.owner === owner) await deleteParameterIfExists(this.client, name);
  }

  private async create(name: string, lease: Lease): Promise<boolean> {
    try {
      await this.client.send(new PutParameterCommand({ Name: name, Value: JSON.stringify(lease), Type: 'String', Overwrite: false }));
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ParameterAlreadyExists') return false;
      throw error;
    }
  }
}

function parseLease(text: string | undefined): Lease | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<Lease>;
    return typeof value.owner === 'string' && typeof value.expiresAt === 'number' ? (value as Lease) : undefined;
  } catch {
    return undefined;
  }
}
