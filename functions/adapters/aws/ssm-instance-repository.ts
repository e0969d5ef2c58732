import { ParameterNotFoundError } from '@aws-lambda-powertools/parameters/errors';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { DeleteParameterCommand, PutParameterCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import {
  assertInstanceId,
  byInstanceId,
  configOf,
  InstanceExistsError,
  INSTANCE_ID_PATTERN,
  type Instance,
  type InstanceDocument,
} from '../../core/instance';
import { errorText, type IndexRebuildResult, type InstanceListing, type InstanceRepository, type UnreadableInstance } from '../../core/ports';
import { DEFAULTS, ssmInstanceName, ssmStoreIndexName } from '../../contract';
import { InvalidInstanceDocumentError, parseInstanceDocument, parseStoreIndex, STORE_ID_PATTERN } from '../instance-document';
import { deleteParameterIfExists, isParameterNotFound, parametersByInstanceId, readParameter } from './ssm-parameters';

export { STORE_ID_PATTERN };

/**
 * "Not found" is remembered for at most this long. Long enough that hostile or misrouted
 * traffic for one unknown store or instance costs at most one SSM call per 30 s per warm
 * Lambda; short enough that a store an operator just added goes live within half a minute,
 * sooner than a change to an existing instance (which the positive cache may hide for
 * `maxAgeSeconds`). Never longer than `maxAgeSeconds`.
 */
export const NOT_FOUND_MAX_AGE_SECONDS = 30;

/** Bounds the memory of the not-found cache when someone sprays random store ids. */
const NOT_FOUND_MAX_ENTRIES = 10_000;

export interface SsmInstanceRepositoryOptions {
  /** Parameter prefix, e.g. `/ecwid-events` (see contract.ts for the layout). */
  readonly prefix: string;
  /**
   * How long an instance or store index read by `get`/`findByStore` is reused. 0 reads through
   * every time (the CLI, which must see what it just wrote).
   * @default DEFAULTS.configCacheSeconds
   */
  readonly maxAgeSeconds?: number;
  /**
   * How long a missing parameter is remembered as missing.
   * @default min(NOT_FOUND_MAX_AGE_SECONDS, maxAgeSeconds)
   */
  readonly notFoundMaxAgeSeconds?: number;
  /** @default a new SSMClient (region and endpoint from the environment) */
  readonly client?: SSMClient;
  /**
   * KMS key (id, ARN or alias) that encrypts the instance SecureStrings written.
   * @default the account's AWS managed key `alias/aws/ssm`
   */
  readonly kmsKeyId?: string;
}

/** SSM could not answer (throttled, denied, unreachable): the caller should answer 503. */
export class InstanceStoreUnavailableError extends Error {
  constructor(parameterName: string, cause: unknown) {
    // AWS error messages name the parameter, never its value; nothing else is added here.
    super(`SSM GetParameter ${parameterName} failed (${errorText(cause)})`, { cause });
    this.name = 'InstanceStoreUnavailableError';
  }
}

const sortedUnique = (ids: Iterable<string>): string[] => [...new Set(ids)].sort();

/**
 * The instance configurations in SSM Parameter Store: one SecureString per instance, plus one
 * String index per store that lets ingest find a store's instances without listing them all.
 *
 * Reads by id and by store are cached: found values (fetched and decrypted by Powertools'
 * SSMProvider) for `maxAgeSeconds`, missing ones by a small bounded map, so in the steady state a notification
 * costs no SSM call, however many instances exist. Writes and `list` always go to SSM.
 *
 * Index updates are read-modify-write without a lock: two writers changing the same store's
 * index at the same moment can lose one update. Operators run the CLI by hand, so this is kept
 * simple; `rebuildIndexes()` repairs any drift from the instances themselves, and the read side
 * trusts only each instance's own store id, so a stale index entry is harmless.
 */
export class SsmInstanceRepository implements InstanceRepository {
  readonly location: string;
  private readonly prefix: string;
  private readonly client: SSMClient;
  private readonly kmsKeyId: string | undefined;
  private readonly maxAgeSeconds: number;
  private readonly notFoundMaxAgeMs: number;
  private readonly provider: SSMProvider;
  /** parameter name -> epoch ms until which it is known not to exist */
  private readonly notFound = new Map<string, number>();
  /**
   * parameter name -> its value and until when it is reused (epoch ms): as the provider's own cache
   * kept it (`maxAge` from when it was read), without the provider's per-call options and key
   * building, which were most of a cached lookup once parsing was gone.
   */
  private readonly found = new Map<string, { readonly text: string; readonly freshUntil: number }>();
  /** parameter name -> the text last read and what was parsed from it (see parsedOnce) */
  private readonly parsed = new Map<string, { readonly text: string; readonly value: object }>();

  constructor(opts: SsmInstanceRepositoryOptions) {
    this.prefix = opts.prefix.replace(/\/+$/, '');
    this.location = `SSM ${ssmInstanceName(this.prefix, '')}`;
    this.client = opts.client ?? new SSMClient({});
    this.kmsKeyId = opts.kmsKeyId;
    this.maxAgeSeconds = opts.maxAgeSeconds ?? DEFAULTS.configCacheSeconds;
    const notFoundSeconds = opts.notFoundMaxAgeSeconds ?? Math.min(NOT_FOUND_MAX_AGE_SECONDS, this.maxAgeSeconds);
    this.notFoundMaxAgeMs = Math.max(0, notFoundSeconds) * 1000;
    // A maxAge of 0 makes Powertools read through without caching.
    this.provider = new SSMProvider({ awsSdkV3Client: this.client });
  }

  // ---- read side (ingest, deliver, the CLI) ----------------------------------------------------

  async get(instanceId: string): Promise<Instance | undefined> {
    // An id that cannot be a parameter name cannot exist: no call.
    if (!INSTANCE_ID_PATTERN.test(instanceId)) return undefined;
    const name = ssmInstanceName(this.prefix, instanceId);
    const text = await this.read(name);
    if (text === undefined) return undefined;
    return this.parsedOnce(name, text, () => ({ id: instanceId, document: parseInstanceDocument(text, `SSM parameter ${name}`) }));
  }

  async findByStore(storeId: string): Promise<Instance[]> {
    if (!STORE_ID_PATTERN.test(storeId)) return [];
    const indexName = ssmStoreIndexName(this.prefix, storeId);
    const text = await this.read(indexName);
    if (text === undefined) return [];
    const ids = this.parsedOnce(indexName, text, () => [...new Set(parseStoreIndex(text, `SSM parameter ${indexName}`))]);
    const instances = await Promise.all(ids.map((id) => this.get(id)));
    // The index is maintained separately from the instances and may lag behind them:
    // trust only what the instance itself says.
    return instances.filter((instance): instance is Instance => instance !== undefined && configOf(instance).storeId === storeId);
  }

  /** Every instance under the prefix; a parameter that is not a valid document is reported, not thrown. */
  async list(): Promise<InstanceListing> {
    const instances: Instance[] = [];
    const problems: UnreadableInstance[] = [];
    const base = ssmInstanceName(this.prefix, '');
    for await (const { id, name, value } of parametersByInstanceId(this.client, base, { recursive: true, decrypt: true })) {
      try {
        instances.push({ id, document: parseInstanceDocument(value, `SSM parameter ${name}`) });
      } catch (error) {
        if (!(error instanceof InvalidInstanceDocumentError)) throw error;
        problems.push({ id, message: error.message });
      }
    }
    return { instances: instances.sort(byInstanceId), problems };
  }

  /** Forgets every cached value (found and not found). */
  clearCache(): void {
    this.provider.clearCache();
    this.notFound.clear();
    this.found.clear();
    this.parsed.clear();
  }

  /**
   * What `get`/`findByStore` made of a parameter's text, reused while the cache hands out the same
   * text: parsing the instance again on every event was most of a cached lookup's cost (and the
   * same document object lets configOf remember its view). Only with a cache: with
   * maxAgeSeconds 0 (the CLI) every read is parsed anew, as the caller may build on what it gets.
   */
  private parsedOnce<T extends object>(name: string, text: string, parse: () => T): T {
    if (this.maxAgeSeconds <= 0) return parse();
    const known = this.parsed.get(name);
    if (known !== undefined && known.text === text) return known.value as T;
    const value = parse();
    this.parsed.set(name, { text, value });
    return value;
  }

  // ---- write side (the CLI) --------------------------------------------------------------------

  async create(instanceId: string, document: InstanceDocument): Promise<void> {
    await this.write(instanceId, document, false);
  }

  async replace(instanceId: string, document: InstanceDocument): Promise<void> {
    await this.write(instanceId, document, true);
  }

  /** Removes the instance and its index entry. Resolves false when there was no such instance. */
  async delete(instanceId: string): Promise<boolean> {
    assertInstanceId(instanceId);
    const storeId = await this.storeIdOfStored(instanceId);
    try {
      await this.client.send(new DeleteParameterCommand({ Name: ssmInstanceName(this.prefix, instanceId) }));
    } catch (error) {
      if (isParameterNotFound(error)) return false;
      throw error;
    } finally {
      this.clearCache();
    }
    if (storeId !== undefined) await this.updateIndex(storeId, (ids) => ids.filter((other) => other !== instanceId));
    return true;
  }

  /** The instance ids in a store's index ([] when there is no index). Always read fresh. */
  async readIndex(storeId: string): Promise<string[]> {
    const name = ssmStoreIndexName(this.prefix, storeId);
    const text = await readParameter(this.client, name, false);
    return text === undefined ? [] : parseStoreIndex(text, `SSM parameter ${name}`);
  }

  /**
   * Rewrites every store index from the instances themselves and deletes indexes of stores that
   * have none. Refuses while an instance is unreadable: its store is unknown, and dropping it
   * from an index would hide it from ingest once repaired.
   */
  async rebuildIndexes(): Promise<IndexRebuildResult> {
    const { instances, problems = [] } = await this.list();
    if (problems.length > 0) {
      throw new Error(
        `cannot rebuild the store indexes while an instance is unreadable (repair or delete it first): ${problems.map((p) => p.message).join('; ')}`,
      );
    }
    const wanted = new Map<string, string[]>();
    for (const instance of instances) {
      const storeId = configOf(instance).storeId;
      if (storeId === undefined || !STORE_ID_PATTERN.test(storeId)) continue;
      wanted.set(storeId, [...(wanted.get(storeId) ?? []), instance.id]);
    }
    const existing = new Map<string, string>();
    const base = ssmStoreIndexName(this.prefix, '');
    for await (const page of paginateGetParametersByPath({ client: this.client }, { Path: base.replace(/\/$/, ''), Recursive: false })) {
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
    this.clearCache();
    result.written.sort();
    result.deleted.sort();
    return result;
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Writes the instance and keeps the store indexes in step with its store id. */
  private async write(instanceId: string, document: InstanceDocument, overwrite: boolean): Promise<void> {
    assertInstanceId(instanceId);
    const name = ssmInstanceName(this.prefix, instanceId);
    // Same checks as every reader applies, so nothing unreadable is ever written.
    const text = JSON.stringify(document);
    parseInstanceDocument(text, `Instance ${instanceId}`);
    const newStoreId = configOf(document).storeId;
    if (newStoreId !== undefined && !STORE_ID_PATTERN.test(newStoreId)) {
      throw new InvalidInstanceDocumentError(`Instance ${instanceId}`, `has an invalid ecwid.store.id (expected ${STORE_ID_PATTERN})`);
    }
    const oldStoreId = overwrite ? await this.storeIdOfStored(instanceId) : undefined;

    try {
      await this.client.send(
        new PutParameterCommand({
          Name: name,
          Value: text,
          Type: 'SecureString',
          // Without overwrite SSM refuses an existing name: create is atomic, never a silent replace.
          Overwrite: overwrite,
          // Standard tier (free) up to 4 KB; SSM moves a larger document to the advanced tier.
          Tier: 'Intelligent-Tiering',
          ...(this.kmsKeyId ? { KeyId: this.kmsKeyId } : {}),
        }),
      );
    } catch (error) {
      if (!overwrite && error instanceof Error && error.name === 'ParameterAlreadyExists') throw new InstanceExistsError(instanceId);
      throw error;
    } finally {
      this.clearCache();
    }
    // Add before remove: a missing index entry loses events, a stale one costs nothing.
    if (newStoreId !== undefined) await this.updateIndex(newStoreId, (ids) => [...ids, instanceId]);
    if (oldStoreId !== undefined && oldStoreId !== newStoreId) {
      await this.updateIndex(oldStoreId, (ids) => ids.filter((other) => other !== instanceId));
    }
  }

  /** The parameter's (decrypted) value, or undefined when it does not exist. */
  private async read(name: string): Promise<string | undefined> {
    const missingUntil = this.notFound.get(name);
    if (missingUntil !== undefined) {
      if (missingUntil > Date.now()) return undefined;
      this.notFound.delete(name);
    }
    const found = this.found.get(name);
    if (found !== undefined && found.freshUntil >= Date.now()) return found.text;
    try {
      // The provider fetches and decrypts; the found values are kept here (see `found`).
      const text = (await this.provider.get(name, {
        maxAge: this.maxAgeSeconds,
        decrypt: true,
        throwOnMissing: true,
        forceFetch: true,
      })) as string;
      if (this.maxAgeSeconds > 0) this.found.set(name, { text, freshUntil: Date.now() + Math.trunc(this.maxAgeSeconds) * 1000 });
      return text;
    } catch (error) {
      if (error instanceof ParameterNotFoundError) {
        this.rememberMissing(name);
        return undefined;
      }
      // Powertools wraps the SDK error; report the SDK's own error name and message.
      throw new InstanceStoreUnavailableError(name, error instanceof Error && error.cause ? error.cause : error);
    }
  }

  private rememberMissing(name: string): void {
    if (this.notFoundMaxAgeMs <= 0) return;
    if (this.notFound.size >= NOT_FOUND_MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.notFound.keys().next().value;
      if (oldest !== undefined) this.notFound.delete(oldest);
    }
    this.notFound.set(name, Date.now() + this.notFoundMaxAgeMs);
  }

  /** The store id of the instance as stored now (read fresh); undefined if absent or unreadable. */
  private async storeIdOfStored(instanceId: string): Promise<string | undefined> {
    const name = ssmInstanceName(this.prefix, instanceId);
    const text = await readParameter(this.client, name, true);
    if (text === undefined) return undefined;
    try {
      return configOf(parseInstanceDocument(text, `SSM parameter ${name}`)).storeId;
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
    this.clearCache();
  }

  private async writeIndex(storeId: string, value: string): Promise<void> {
    await this.client.send(
      new PutParameterCommand({ Name: ssmStoreIndexName(this.prefix, storeId), Value: value, Type: 'String', Overwrite: true }),
    );
  }
}
