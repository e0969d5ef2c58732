import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTANCE_ID_PATTERN } from '../../core/instance';
import { parsePollState, type PollState } from '../../core/poll/state';
import { type CheckpointStore } from '../../core/ports';

export interface FileCheckpointStoreOptions {
  /** Folder of `<instanceId>.json` states and `<instanceId>.lease` files (created when needed). */
  readonly dir: string;
  /** @default () => new Date() */
  readonly clock?: () => Date;
}

/**
 * Poll states of the local runner (and of `instances poll --local`): one JSON file per instance,
 * replaced atomically (write to a temporary file, then rename). The lease is a file created with
 * O_EXCL, so the runner's loop and a CLI backfill never poll one instance at the same time.
 */
export class FileCheckpointStore implements CheckpointStore {
  private readonly dir: string;
  private readonly clock: () => Date;

  constructor(opts: FileCheckpointStoreOptions) {
    this.dir = opts.dir;
    this.clock = opts.clock ?? (() => new Date());
  }

  async load(instanceId: string): Promise<PollState | undefined> {
    const file = this.file(instanceId, 'json');
    const text = await readIfExists(file);
    return text === undefined ? undefined : parsePollState(text, file);
  }

  async loadAll(): Promise<Map<string, PollState>> {
    const states = new Map<string, PollState>();
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return states;
      throw error;
    }
    for (const name of names) {
      const id = name.slice(0, -'.json'.length);
      if (!name.endsWith('.json') || !INSTANCE_ID_PATTERN.test(id)) continue;
      try {
        const state = await this.load(id);
        if (state) states.set(id, state);
      } catch {
        // pollInstance loads it again and reports the problem for this instance.
      }
    }
    return states;
  }

  async save(instanceId: string, state: PollState): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const temp = join(this.dir, `.${instanceId}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    await writeFile(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    try {
      await rename(temp, this.file(instanceId, 'json'));
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async lock(instanceId: string, owner: string, ttlSeconds: number): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    const file = this.file(instanceId, 'lease');
    const lease = JSON.stringify({ owner, expiresAt: this.clock().getTime() + ttlSeconds * 1000 });
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(file, lease, { flag: 'wx', mode: 0o600 });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const current = parseLease(await readIfExists(file));
      if (current?.owner === owner) {
        await writeFile(file, lease, { mode: 0o600 });
        return true;
      }
      if (current && current.expiresAt > this.clock().getTime()) return false;
      await unlink(file).catch(() => undefined);
    }
    return false;
  }

  async unlock(instanceId: string, owner: string): Promise<void> {
    const file = this.file(instanceId, 'lease');
    if (parseLease(await readIfExists(file))?.owner === owner) await unlink(file).catch(() => undefined);
  }

  private file(instanceId: string, extension: 'json' | 'lease'): string {
    if (!INSTANCE_ID_PATTERN.test(instanceId)) throw new Error(`invalid instance id "${instanceId.slice(0, 80)}"`);
    return join(this.dir, `${instanceId}.${extension}`);
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function parseLease(text: string | undefined): { owner: string; expiresAt: number } | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as { owner?: unknown; expiresAt?: unknown };
    return typeof value.owner === 'string' && typeof value.expiresAt === 'number' ? { owner: value.owner, expiresAt: value.expiresAt } : undefined;
  } catch {
    return undefined;
  }
}
