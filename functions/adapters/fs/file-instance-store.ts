import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { configOf, INSTANCE_ID_PATTERN, type Instance } from '../../core/instance';
import type { InstanceStore } from '../../core/ports';
import { parseInstanceDocument } from '../instance-document';

export interface FileInstanceStoreOptions {
  /** Folder of `<instanceId>.json` files, each an instance document as stored in SSM. */
  readonly dir: string;
  /** Where problems with single files are reported. @default console.warn */
  readonly warn?: (message: string) => void;
}

interface CachedFile {
  readonly mtimeMs: number;
  readonly size: number;
  /** undefined when the file is unusable (already warned about) */
  readonly instance: Instance | undefined;
}

/**
 * Instance store of the local runner: a folder of JSON files. Every lookup re-checks the folder
 * (one readdir plus one stat per file) and re-reads only files whose mtime or size changed, so
 * edits are seen at once without a restart. A malformed file is skipped with one warning per
 * version of the file; the other instances keep working.
 */
export class FileInstanceStore implements InstanceStore {
  private readonly dir: string;
  private readonly warn: (message: string) => void;
  private files = new Map<string, CachedFile>();
  /** Concurrent lookups share one scan of the folder. */
  private scanning: Promise<Map<string, CachedFile>> | undefined;
  private warnedMissingDir = false;

  constructor(opts: FileInstanceStoreOptions) {
    this.dir = opts.dir;
    this.warn = opts.warn ?? ((message) => console.warn(message));
  }

  async get(instanceId: string): Promise<Instance | undefined> {
    if (!INSTANCE_ID_PATTERN.test(instanceId)) return undefined;
    return (await this.scan()).get(instanceId)?.instance;
  }

  async findByStore(storeId: string): Promise<Instance[]> {
    const files = await this.scan();
    const found: Instance[] = [];
    for (const { instance } of files.values()) {
      if (instance && configOf(instance).storeId === storeId) found.push(instance);
    }
    return found.sort((a, b) => a.id.localeCompare(b.id));
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
      // Not an error: the folder appears when the first instance is written.
      if (!this.warnedMissingDir) this.warn(`Instances folder ${this.dir} does not exist yet: no instances`);
      this.warnedMissingDir = true;
      this.files = new Map();
      return this.files;
    }
    this.warnedMissingDir = false;

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
          next.set(id, { mtimeMs: info.mtimeMs, size: info.size, instance: await this.load(id, file) });
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

  /** The instance in `file`, or undefined (with a warning) when the file is unusable. */
  private async load(id: string, file: string): Promise<Instance | undefined> {
    if (!INSTANCE_ID_PATTERN.test(id)) {
      this.warn(`Skipping ${file}: "${id}" is not a valid instance id (${INSTANCE_ID_PATTERN})`);
      return undefined;
    }
    const text = await readFile(file, 'utf8');
    try {
      return { id, document: parseInstanceDocument(text, file) };
    } catch (error) {
      // The message names the file and the problem, never the content (it holds secrets).
      this.warn(`Skipping instance ${id}: ${(error as Error).message}`);
      return undefined;
    }
  }
}
