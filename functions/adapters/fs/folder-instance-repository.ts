import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  assertInstanceId,
  byInstanceId,
  configOf,
  InstanceExistsError,
  INSTANCE_ID_PATTERN,
  type Instance,
  type InstanceDocument,
} from '../../core/instance';
import type { InstanceListing, InstanceRepository, UnreadableInstance } from '../../core/ports';
import { parseInstanceDocument } from '../instance-document';

export interface FolderInstanceRepositoryOptions {
  /** Folder of `<instanceId>.json` files, each an instance document as stored in SSM. */
  readonly dir: string;
  /** Where problems with single files met by `get`/`findByStore` are reported. @default console.warn */
  readonly warn?: (message: string) => void;
}

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  readonly instance?: Instance;
  /** Why the file is unusable (names the file, never its content: it holds secrets). */
  readonly problem?: string;
  /** The file's name is no instance id: skipped, and not reported as an unreadable instance. */
  readonly badName?: boolean;
  warned?: boolean;
}

/**
 * The local runner's instances: a folder of `<id>.json` files. Every read re-checks the folder
 * (one readdir plus one stat per file; `get` of an instance already read: one stat of its file) and
 * re-reads only files whose mtime or size changed, so edits are seen at once without a restart. A malformed file is skipped with one warning per
 * version of the file; the other instances keep working.
 *
 * Writes (the CLI) go to a temporary file first and are then linked/renamed into place, so a
 * reader never sees half a file; files are created readable by the owner only (they hold secrets).
 */
export class FolderInstanceRepository implements InstanceRepository {
  readonly location: string;
  private readonly dir: string;
  private readonly warn: (message: string) => void;
  private files = new Map<string, CachedFile>();
  /** Concurrent reads share one scan of the folder. */
  private scanning: Promise<Map<string, CachedFile>> | undefined;
  /** undefined while the folder exists; else whether its absence was reported. */
  private missingDirWarned: boolean | undefined;

  constructor(opts: FolderInstanceRepositoryOptions) {
    this.dir = opts.dir;
    this.location = `folder ${opts.dir}`;
    this.warn = opts.warn ?? ((message) => console.warn(message));
  }

  async get(instanceId: string): Promise<Instance | undefined> {
    if (!INSTANCE_ID_PATTERN.test(instanceId)) return undefined;
    const unchanged = await this.unchangedInstance(instanceId);
    if (unchanged) return unchanged;
    const files = await this.scanAndWarn(instanceId);
    return files.get(instanceId)?.instance;
  }

  async findByStore(storeId: string): Promise<Instance[]> {
    const files = await this.scanAndWarn();
    const found: Instance[] = [];
    for (const { instance } of files.values()) {
      if (instance && configOf(instance).storeId === storeId) found.push(instance);
    }
    return found.sort(byInstanceId);
  }

  /** Every instance; unreadable files are in `problems` (the caller reports them). */
  async list(): Promise<InstanceListing> {
    const files = await this.scan();
    const instances: Instance[] = [];
    const problems: UnreadableInstance[] = [];
    for (const [id, file] of files) {
      if (file.instance) instances.push(file.instance);
      else if (file.problem !== undefined && !file.badName) problems.push({ id, message: file.problem });
    }
    return { instances: instances.sort(byInstanceId), problems: problems.sort((a, b) => (a.id < b.id ? -1 : 1)) };
  }

  async create(instanceId: string, document: InstanceDocument): Promise<void> {
    const file = this.file(instanceId);
    const temp = await this.writeTemp(instanceId, document);
    try {
      // link() fails with EEXIST instead of replacing: no overwrite, and never a partial file.
      await link(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new InstanceExistsError(instanceId);
      throw error;
    } finally {
      await unlink(temp).catch(() => undefined);
      this.forget(instanceId);
    }
  }

  async replace(instanceId: string, document: InstanceDocument): Promise<void> {
    const file = this.file(instanceId);
    const temp = await this.writeTemp(instanceId, document);
    try {
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    } finally {
      this.forget(instanceId);
    }
  }

  async delete(instanceId: string): Promise<boolean> {
    try {
      await unlink(this.file(instanceId));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    } finally {
      this.forget(instanceId);
    }
  }

  /**
   * A known, readable instance whose file still has the size and mtime it was read with: one stat
   * instead of a scan of the folder (deliver reads by id twice per event; a scan costs a stat per
   * instance file). Anything else (unknown id, changed, broken or gone file) goes through the scan.
   */
  private async unchangedInstance(instanceId: string): Promise<Instance | undefined> {
    const cached = this.files.get(instanceId);
    if (!cached?.instance) return undefined;
    try {
      const info = await stat(join(this.dir, `${instanceId}.json`));
      return info.isFile() && info.mtimeMs === cached.mtimeMs && info.size === cached.size ? cached.instance : undefined;
    } catch {
      return undefined;
    }
  }

  private file(instanceId: string): string {
    assertInstanceId(instanceId);
    return join(this.dir, `${instanceId}.json`);
  }

  /** A write within the same mtime tick and size would otherwise look unchanged to the next scan. */
  private forget(instanceId: string): void {
    this.files.delete(instanceId);
  }

  private async writeTemp(instanceId: string, document: InstanceDocument): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    // Not *.json, so a folder scan never picks it up.
    const temp = join(this.dir, `.${instanceId}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temp, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    return temp;
  }

  /** The scan, warning once about each version of an unusable file (of `onlyId`, when given). */
  private async scanAndWarn(onlyId?: string): Promise<Map<string, CachedFile>> {
    const files = await this.scan();
    if (this.missingDirWarned === false) {
      // Not an error: the folder appears when the first instance is written.
      this.warn(`Instances folder ${this.dir} does not exist yet: no instances`);
      this.missingDirWarned = true;
    }
    for (const [id, file] of files) {
      if (file.problem === undefined || file.warned || (onlyId !== undefined && id !== onlyId)) continue;
      file.warned = true;
      this.warn(file.badName ? `Skipping ${file.problem}` : `Skipping instance ${id}: ${file.problem}`);
    }
    return files;
  }

  private scan(): Promise<Map<string, CachedFile>> {
    this.scanning ??= this.rescan().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async rescan(): Promise<Map<string, CachedFile>> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((name) => name.endsWith('.json')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.missingDirWarned ??= false;
      this.files = new Map();
      return this.files;
    }
    this.missingDirWarned = undefined;

    const next = new Map<string, CachedFile>();
    await Promise.all(
      names.map(async (name) => {
        const id = name.slice(0, -'.json'.length);
        const file = join(this.dir, name);
        const previous = this.files.get(id);
        try {
          const info = await stat(file);
          if (!info.isFile()) return;
          if (previous && previous.mtimeMs === info.mtimeMs && previous.size === info.size) {
            next.set(id, previous);
            return;
          }
          next.set(id, { mtimeMs: info.mtimeMs, size: info.size, ...(await this.load(id, file)) });
        } catch (error) {
          // Deleted between readdir and stat/read: simply gone.
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
          throw error;
        }
      }),
    );
    this.files = next;
    return next;
  }

  /** The instance in `file`, or why it is unusable. */
  private async load(id: string, file: string): Promise<Pick<CachedFile, 'instance' | 'problem' | 'badName'>> {
    if (!INSTANCE_ID_PATTERN.test(id)) {
      return { problem: `${file}: "${id}" is not a valid instance id (${INSTANCE_ID_PATTERN})`, badName: true };
    }
    const text = await readFile(file, 'utf8');
    try {
      return { instance: { id, document: parseInstanceDocument(text, file) } };
    } catch (error) {
      return { problem: (error as Error).message };
    }
  }
}
