/**
 * The CLI's instance repository when the stack has an instance read model: Parameter Store stays
 * where instances are written (the system of record), and right after each write the read model
 * entry of that instance is synced too (core/config-sync.ts), so a `test-event` sent a second
 * later already sees the change. Best effort: when that sync fails (no permission, no data key yet)
 * the caller is warned and Parameter Store's change event brings the change within seconds anyway.
 */
import type { ConfigSyncDeps } from '../../core/config-sync';
import { syncInstances } from '../../core/config-sync';
import type { InstanceDocument } from '../../core/instance';
import type { IndexRebuildResult, InstanceListing, InstanceRepository } from '../../core/ports';
import { errorText } from '../../core/ports';

export class ReadModelSyncingRepository implements InstanceRepository {
  readonly location: string;

  constructor(
    private readonly inner: InstanceRepository,
    private readonly sync: ConfigSyncDeps,
    private readonly warn: (message: string) => void,
  ) {
    this.location = `${inner.location} (and its read model)`;
  }

  get(instanceId: string) {
    return this.inner.get(instanceId);
  }

  findByStore(storeId: string) {
    return this.inner.findByStore(storeId);
  }

  list(): Promise<InstanceListing> {
    return this.inner.list();
  }

  async create(instanceId: string, document: InstanceDocument): Promise<void> {
    await this.inner.create(instanceId, document);
    await this.syncOne(instanceId);
  }

  async replace(instanceId: string, document: InstanceDocument): Promise<void> {
    await this.inner.replace(instanceId, document);
    await this.syncOne(instanceId);
  }

  async delete(instanceId: string): Promise<boolean> {
    const deleted = await this.inner.delete(instanceId);
    await this.syncOne(instanceId);
    return deleted;
  }

  rebuildIndexes(): Promise<IndexRebuildResult> {
    if (!this.inner.rebuildIndexes) throw new Error(`${this.inner.location} keeps no store index`);
    return this.inner.rebuildIndexes();
  }

  private async syncOne(instanceId: string): Promise<void> {
    try {
      await syncInstances([instanceId], this.sync);
    } catch (error) {
      this.warn(
        `instance ${instanceId} is saved in Parameter Store, but its read model entry could not be updated now (${errorText(error)}); ` +
          'the config-sync function brings the change to ingest and deliver within seconds',
      );
    }
  }
}
