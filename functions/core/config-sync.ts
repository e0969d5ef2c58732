/**
 * Keeps the instance read model (what ingest and deliver read) in step with the system of record
 * (Parameter Store, where the CLI and operators write). Two entry points:
 * - `syncInstances`: for the instances a change event named (or the CLI just wrote): read them
 *   from the source and write or remove their read-model entries;
 * - `reconcile`: compare the version stamps of both sides and sync every instance that differs,
 *   which repairs whatever a lost or failed change event left behind.
 * Writes are ordered by the source's version stamp (last-modified time, then version), so an
 * older read that finishes late never overwrites a newer one, and a removal never deletes an
 * entry written from a version newer than the moment the instance was seen missing.
 * Pure apart from the ports.
 */
import { canonicalStoreId } from './ecwid/notification';
import { CONFIG_KEYS, configOf, type Instance, type InstanceDocument } from './instance';

/** Which version of an instance document an entry holds. */
export interface VersionStamp {
  readonly instanceId: string;
  /** The source's version number (Parameter Store: 1, 2, ...; restarts at 1 after a delete). */
  readonly version: number;
  /** When that version was written in the source, epoch ms. */
  readonly modifiedAt: number;
}

/** An instance as read from the source: its document, or why that document is unusable. */
export type SourceRead = VersionStamp & ({ readonly document: InstanceDocument } | { readonly invalid: string });

/** Port: the system of record (Parameter Store). Both methods throw when it cannot answer. */
export interface ConfigSource {
  /** The stamp of every instance document (no values, no decryption). */
  stamps(): Promise<VersionStamp[]>;
  /** The current documents of these instances; an id that does not exist is left out. */
  read(instanceIds: readonly string[]): Promise<SourceRead[]>;
}

/** What the read model holds for one instance. */
export interface ReadModelEntry extends VersionStamp {
  readonly instance: Instance;
  /** The canonical store id the instance is found by (absent: not reachable by store). */
  readonly storeId?: string;
}

/** Port: the read model's write side (a DynamoDB table in AWS). Every method throws on failure. */
export interface ReadModelWriter {
  stamps(): Promise<VersionStamp[]>;
  /** Writes the entry unless the model holds a newer stamp; false when it did not write. */
  put(entry: ReadModelEntry): Promise<boolean>;
  /** Removes the entry unless it was written from a version modified at or after `missingSince`; false when nothing was removed. */
  remove(instanceId: string, missingSince: number): Promise<boolean>;
}

export interface ConfigSyncDeps {
  readonly source: ConfigSource;
  readonly model: ReadModelWriter;
  /** Epoch ms. */
  readonly now: () => number;
}

export interface SyncResult {
  /** Entries written. */
  readonly written: string[];
  /** Entries removed (the instance no longer exists). */
  readonly removed: string[];
  /** Left as they were: the model already held this or a newer version, or there was nothing to remove. */
  readonly unchanged: string[];
  /**
   * Instances whose document in the source is unusable (e.g. a console edit that broke the JSON).
   * The read model keeps serving the last good version; the reason never quotes the document.
   */
  readonly invalid: ReadonlyArray<{ readonly instanceId: string; readonly reason: string }>;
}

export interface ReconcileResult extends SyncResult {
  /** Instances in the source. */
  readonly sourceCount: number;
  /** Entries in the model before the reconcile. */
  readonly modelCount: number;
}

/** How many instance reads one source call takes (Parameter Store's GetParameters: 10 names). */
export const SOURCE_READ_BATCH = 10;

/** Brings the read model entries of these instances up to date with the source. */
export async function syncInstances(instanceIds: readonly string[], deps: ConfigSyncDeps): Promise<SyncResult> {
  const result = { written: [] as string[], removed: [] as string[], unchanged: [] as string[], invalid: [] as SyncResult['invalid'][number][] };
  const ids = [...new Set(instanceIds)];
  for (let start = 0; start < ids.length; start += SOURCE_READ_BATCH) {
    const batch = ids.slice(start, start + SOURCE_READ_BATCH);
    // Taken before the read: anything modified from now on is newer than what we saw missing.
    const readAt = deps.now();
    const reads = new Map((await deps.source.read(batch)).map((read) => [read.instanceId, read]));
    for (const instanceId of batch) {
      const read = reads.get(instanceId);
      if (!read) {
        (await deps.model.remove(instanceId, readAt) ? result.removed : result.unchanged).push(instanceId);
      } else if ('invalid' in read) {
        result.invalid.push({ instanceId, reason: read.invalid });
      } else {
        (await deps.model.put(readModelEntry(read)) ? result.written : result.unchanged).push(instanceId);
      }
    }
  }
  return result;
}

/** Compares both sides and syncs every instance whose stamp differs or that exists on one side only. */
export async function reconcile(deps: ConfigSyncDeps): Promise<ReconcileResult> {
  const [source, model] = await Promise.all([deps.source.stamps(), deps.model.stamps()]);
  const differing = reconcilePlan(source, model);
  const result = await syncInstances(differing, deps);
  return { ...result, sourceCount: source.length, modelCount: model.length };
}

/**
 * The instances to sync: in the source but not in the model, in the model but not in the source,
 * or in both with different stamps. Sorted, so runs are reproducible.
 */
export function reconcilePlan(source: readonly VersionStamp[], model: readonly VersionStamp[]): string[] {
  const modelById = new Map(model.map((stamp) => [stamp.instanceId, stamp]));
  const differing = new Set<string>();
  for (const stamp of source) {
    const held = modelById.get(stamp.instanceId);
    if (!held || compareStamps(held, stamp) !== 0) differing.add(stamp.instanceId);
    modelById.delete(stamp.instanceId);
  }
  for (const instanceId of modelById.keys()) differing.add(instanceId);
  return [...differing].sort();
}

/** Orders two stamps of one instance: modification time first, then version. */
export function compareStamps(a: Omit<VersionStamp, 'instanceId'>, b: Omit<VersionStamp, 'instanceId'>): number {
  return a.modifiedAt - b.modifiedAt || a.version - b.version;
}

/** The read-model entry of a document read from the source. */
export function readModelEntry(read: VersionStamp & { readonly document: InstanceDocument }): ReadModelEntry {
  const instance: Instance = { id: read.instanceId, document: read.document };
  const storeId = readModelStoreId(read.document);
  return { instanceId: read.instanceId, version: read.version, modifiedAt: read.modifiedAt, instance, ...(storeId ? { storeId } : {}) };
}

/**
 * The store id an instance is found by: `ecwid.store.id` in the canonical form ingest compares
 * with (no leading zeros), or undefined when it is absent or not a store id.
 */
export function readModelStoreId(document: InstanceDocument): string | undefined {
  const configured = configOf(document).storeId;
  if (configured === undefined) return undefined;
  try {
    return canonicalStoreId(configured, CONFIG_KEYS.storeId);
  } catch {
    return undefined;
  }
}
