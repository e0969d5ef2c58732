import { DeleteParameterCommand, PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { configOf, INSTANCE_ID_PATTERN, type Instance, type InstanceDocument } from '../../core/instance';
import { ssmInstanceName, ssmStoreIndexName } from '../../contract';
import { InvalidInstanceDocumentError, parseInstanceDocument, parseStoreIndex } from '../instance-document';
import { STORE_ID_PATTERN } from './ssm-instance-store';
import { deleteParameterIfExists, isParameterNotFound, parametersByInstanceId, readParameter } from './ssm-parameters';

export interface SsmInstanceRegistryOptions {
  /** Parameter prefix, e.g. `/ecwid-events` (see settings.ts for the layout). */
  readonly prefix: string;
  /** @default a new SSMClient (region and endpoint from the environment) */
  readonly client?: SSMClient;
  /**
   * KMS key (id, ARN or alias) that encrypts the instance SecureStrings.
   * @default the account's AWS managed key `alias/aws/ssm`
   */
  readonly kmsKeyId?: string;
}

/** What `rebuildIndexes` changed: store ids whose index was written or deleted. */
export interface IndexRebuildResult {
  readonly written: string[];
  readonly deleted: string[];
}

export class InvalidInstanceIdError extends Error {
  constructor(id: string) {
    super(`Invalid instance id "${id}": use 1-64 letters, digits, "-" or "_", starting with a letter or digit`);
    this.name = 'InvalidInstanceIdError';
  }
}

const sortedUnique = (ids: Iterable<string>): string[] => [...new Set(ids)].sort();

/**
 * Write side of the instance configurations (used by the CLI): one SecureString per instance
 * plus the per-store index that lets ingest find a store's instances without listing them all.
 *
 * Index updates are read-modify-write without a lock: two writers changing the same store's
 * index at the same moment can lose one update. Operators run the CLI by hand, so this is kept
 * simple; `rebuildIndexes()` repairs any drift from the instances themselves, and the read side
 * trusts only each instance's own store id, so a stale index entry is harmless.
 */
export class SsmInstanceRegistry {
  private readonly prefix: string;
  private readonly client: SSMClient;
  private readonly kmsKeyId: string | undefined;

  constructor(opts: SsmInstanceRegistryOptions) {
    this.prefix = opts.prefix.replace(/\/+$/, '');
    this.client = opts.client ?? new SSMClient({});
    this.kmsKeyId = opts.kmsKeyId;
  }

  /** The instance, or undefined when there is none. Always read fresh (no cache). */
  async get(id: string): Promise<Instance | undefined> {
    assertInstanceId(id);
    const name = ssmInstanceName(this.prefix, id);
    const text = await readParameter(this.client, name, true);
    return text === undefined ? undefined : { id, document: parseInstanceDocument(text, `SSM parameter ${name}`) };
  }

  /** Every instance under the prefix, sorted by id. Throws on a parameter that is not valid. */
  async list(): Promise<Instance[]> {
    const instances: Instance[] = [];
    const base = ssmInstanceName(this.prefix, '');
    for await (const { id, name, value } of parametersByInstanceId(this.client, base, { recursive: true, decrypt: true })) {
      instances.push({ id, document: parseInstanceDocument(value, `SSM parameter ${name}`) });
    }
    return instances.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Creates or replaces the instance and keeps the store indexes in step with its store id. */
  async put(id: string, doc: InstanceDocument): Promise<void> {
    assertInstanceId(id);
    const name = ssmInstanceName(this.prefix, id);
    // Same checks as every reader applies, so nothing unreadable is ever written.
    const text = JSON.stringify(doc);
    parseInstanceDocument(text, `Instance ${id}`);
    const newStoreId = configOf(doc).storeId;
    if (newStoreId !== undefined && !STORE_ID_PATTERN.test(newStoreId)) {
      throw new InvalidInstanceDocumentError(`Instance ${id}`, `has an invalid ecwid.store.id (expected ${STORE_ID_PATTERN})`);
    }
    const oldStoreId = await this.storeIdOfStored(id);

    await this.client.send(
      new PutParameterCommand({
        Name: name,
        Value: text,
        Type: 'SecureString',
        Overwrite: true,
        // Standard tier (free) up to 4 KB; SSM moves a larger document to the advanced tier.
        Tier: 'Intelligent-Tiering',
        ...(this.kmsKeyId ? { KeyId: this.kmsKeyId } : {}),
      }),
    );
    // Add before remove: a missing index entry loses events, a stale one costs nothing.
    if (newStoreId !== undefined) await this.updateIndex(newStoreId, (ids) => [...ids, id]);
    if (oldStoreId !== undefined && oldStoreId !== newStoreId) {
      await this.updateIndex(oldStoreId, (ids) => ids.filter((other) => other !== id));
    }
  }

  /** Removes the instance and its index entry. Resolves false when there was no such instance. */
  async delete(id: string): Promise<boolean> {
    assertInstanceId(id);
    const storeId = await this.storeIdOfStored(id);
    try {
      await this.client.send(new DeleteParameterCommand({ Name: ssmInstanceName(this.prefix, id) }));
    } catch (error) {
      if (isParameterNotFound(error)) return false;
      throw error;
    }
    if (storeId !== undefined) await this.updateIndex(storeId, (ids) => ids.filter((other) => other !== id));
    return true;
  }

  /** The instance ids in a store's index ([] when there is no index). */
  async readIndex(storeId: string): Promise<string[]> {
    const name = ssmStoreIndexName(this.prefix, storeId);
    const text = await readParameter(this.client, name, false);
    return text === undefined ? [] : parseStoreIndex(text, `SSM parameter ${name}`);
  }

  /** Rewrites every store index from the instances themselves and deletes indexes of stores that have none. */
  async rebuildIndexes(): Promise<IndexRebuildResult> {
    const wanted = new Map<string, string[]>();
    for (const instance of await this.list()) {
      const storeId = configOf(instance).storeId;
      if (storeId === undefined || !STORE_ID_PATTERN.test(storeId)) continue;
      wanted.set(storeId, [...(wanted.get(storeId) ?? []), instance.id]);
    }
    const existing = new Map<string, string>();
    const base = `${ssmStoreIndexName(this.prefix, '')}`;
    for await (const page of paginateGetParametersByPath(
      { client: this.client },
      { Path: base.replace(/\/$/, ''), Recursive: false },
    )) {
      for (const parameter of page.Parameters ?? []) {
        if (parameter.Name?.startsWith(base)) existing.set(parameter.Name.slice(base.length), parameter.Value ?? '');
      }
    }

    const result: IndexRebuildResult = { written: [], deleted: [] };
    for (const [storeId, ids] of wanted) {
      const value = JSON.stringify(sortedUnique(ids));
      if (existing.get(storeId) === value) continue;
      await this.writeIndex(storeId, value);
      result.written.push(storeId);
    }
    for (const storeId of existing.keys()) {
      if (wanted.has(storeId)) continue;
      await deleteParameterIfExists(this.client, ssmStoreIndexName(this.prefix, storeId));
      result.deleted.push(storeId);
    }
    result.written.sort();
    result.deleted.sort();
    return result;
  }

  /** The store id of the instance as stored now; undefined if absent or unreadable. */
  private async storeIdOfStored(id: string): Promise<string | undefined> {
    try {
      const current = await this.get(id);
      return current ? configOf(current).storeId : undefined;
    } catch (error) {
      // A broken stored document must not block replacing or deleting it; its old index
      // entry (if any) is left for rebuildIndexes() and is ignored by readers meanwhile.
      if (error instanceof InvalidInstanceDocumentError) return undefined;
      throw error;
    }
  }

  private async updateIndex(storeId: string, change: (ids: string[]) => string[]): Promise<void> {
    const before = sortedUnique(await this.readIndex(storeId));
    const after = sortedUnique(change(before));
    if (JSON.stringify(after) === JSON.stringify(before)) return;
    if (after.length === 0) await deleteParameterIfExists(this.client, ssmStoreIndexName(this.prefix, storeId));
    else await this.writeIndex(storeId, JSON.stringify(after));
  }

  private async writeIndex(storeId: string, value: string): Promise<void> {
    await this.client.send(
      new PutParameterCommand({ Name: ssmStoreIndexName(this.prefix, storeId), Value: value, Type: 'String', Overwrite: true }),
    );
  }
}

function assertInstanceId(id: string): void {
  if (!INSTANCE_ID_PATTERN.test(id)) throw new InvalidInstanceIdError(id);
}
