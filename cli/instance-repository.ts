/**
 * Where the CLI reads and writes instance documents: SSM (a deployed stack, or moto) through
 * the registry, or the local runner's folder of JSON files. Commands only see this interface.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SsmInstanceRegistry } from '../functions/adapters/aws/ssm-instance-registry';
import { parseInstanceDocument } from '../functions/adapters/instance-document';
import { listFolderInstances } from '../functions/adapters/instance-listing';
import { INSTANCE_ID_PATTERN, type Instance, type InstanceDocument } from '../functions/core/instance';
import { CliError, EXIT } from './errors';

export interface InstanceRepository {
  /** Human description of the backend, e.g. `SSM /ecwid-events/instances/`. */
  readonly location: string;
  get(id: string): Promise<Instance | undefined>;
  /** Every instance, sorted by id. */
  list(): Promise<Instance[]>;
  /** Stores a new instance; throws `InstanceExistsError` when the id is taken. */
  create(id: string, doc: InstanceDocument): Promise<void>;
  /** Replaces an existing instance (store index kept in step). */
  replace(id: string, doc: InstanceDocument): Promise<void>;
  /** Resolves false when there was no such instance. */
  delete(id: string): Promise<boolean>;
  /** Rewrites the per-store indexes from the instances (backends that keep an index). */
  rebuildIndexes?(): Promise<{ written: string[]; deleted: string[] }>;
}

export class InstanceExistsError extends CliError {
  constructor(id: string) {
    super(`instance "${id}" already exists; choose another --id, or change it with "instances update"`, EXIT.failure);
    this.name = 'InstanceExistsError';
  }
}

export function assertInstanceId(id: string): void {
  if (!INSTANCE_ID_PATTERN.test(id)) {
    throw new CliError(
      `invalid instance id "${id.slice(0, 80)}": use 1-64 letters, digits, "-" or "_", starting with a letter or digit`,
      EXIT.usage,
    );
  }
}

/** SSM SecureStrings under the stack's prefix, through the registry (which keeps the store index). */
export class SsmInstanceRepository implements InstanceRepository {
  constructor(
    private readonly registry: Pick<SsmInstanceRegistry, 'get' | 'list' | 'put' | 'delete' | 'rebuildIndexes'>,
    readonly location: string,
  ) {}

  get(id: string): Promise<Instance | undefined> {
    assertInstanceId(id);
    return this.registry.get(id);
  }

  list(): Promise<Instance[]> {
    return this.registry.list();
  }

  async create(id: string, doc: InstanceDocument): Promise<void> {
    // Check-then-put: a concurrent create of the same id by another operator could win the
    // race; the registry's put overwrites. Acceptable for a hand-run tool.
    if (await this.registry.get(id)) throw new InstanceExistsError(id);
    await this.registry.put(id, doc);
  }

  async replace(id: string, doc: InstanceDocument): Promise<void> {
    await this.registry.put(id, doc);
  }

  delete(id: string): Promise<boolean> {
    assertInstanceId(id);
    return this.registry.delete(id);
  }

  rebuildIndexes(): Promise<{ written: string[]; deleted: string[] }> {
    return this.registry.rebuildIndexes();
  }
}

/**
 * The local runner's folder: `<id>.json` per instance (the runner re-reads changed files).
 * Writes go to a temporary file first and are then linked/renamed into place, so the runner
 * never reads half a file; files are created readable by the owner only (they hold secrets).
 */
export class FolderInstanceRepository implements InstanceRepository {
  readonly location: string;

  constructor(
    private readonly dir: string,
    /** Told about files `list` skips because they are not instance documents. */
    private readonly warn: (message: string) => void = () => undefined,
  ) {
    this.location = `folder ${dir}`;
  }

  private file(id: string): string {
    assertInstanceId(id);
    return join(this.dir, `${id}.json`);
  }

  async get(id: string): Promise<Instance | undefined> {
    const file = this.file(id);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return { id, document: parseInstanceDocument(text, file) };
  }

  async list(): Promise<Instance[]> {
    // The poller's listing of the folder: one broken file does not hide the others. The problem
    // names the file and what is wrong, never the content.
    const { instances, problems = [] } = await listFolderInstances(this.dir);
    for (const problem of problems) this.warn(`skipped ${problem.message}`);
    return [...instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async create(id: string, doc: InstanceDocument): Promise<void> {
    const file = this.file(id);
    const temp = await this.writeTemp(id, doc);
    try {
      // link() fails with EEXIST instead of replacing: no overwrite, and never a partial file.
      await link(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new InstanceExistsError(id);
      throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async replace(id: string, doc: InstanceDocument): Promise<void> {
    const file = this.file(id);
    const temp = await this.writeTemp(id, doc);
    try {
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async delete(id: string): Promise<boolean> {
    try {
      await unlink(this.file(id));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  private async writeTemp(id: string, doc: InstanceDocument): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    // Not *.json, so the runner's folder scan never picks it up.
    const temp = join(this.dir, `.${id}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temp, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return temp;
  }
}
