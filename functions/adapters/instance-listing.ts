import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { INSTANCE_ID_PATTERN, type Instance } from '../core/instance';
import type { InstanceListing } from '../core/poll-run';
import { ssmInstanceName } from '../contract';
import { parseInstanceDocument } from './instance-document';
import { parametersByInstanceId } from './aws/ssm-parameters';

/**
 * Every instance, for the poller. Unlike SsmInstanceRegistry.list(), one unreadable instance
 * does not stop the others from being polled: it is reported in `problems` (by id and problem,
 * never content).
 */
export async function listSsmInstances(client: SSMClient, prefix: string): Promise<InstanceListing> {
  const base = ssmInstanceName(prefix.replace(/\/+$/, ''), '');
  const instances: Instance[] = [];
  const problems: { id: string; message: string }[] = [];
  for await (const { id, name, value } of parametersByInstanceId(client, base, { recursive: true, decrypt: true })) {
    try {
      instances.push({ id, document: parseInstanceDocument(value, `SSM parameter ${name}`) });
    } catch (error) {
      problems.push({ id, message: (error as Error).message });
    }
  }
  return { instances: instances.sort((a, b) => a.id.localeCompare(b.id)), problems };
}

/** The same for the local runner's folder of `<id>.json` files. */
export async function listFolderInstances(dir: string): Promise<InstanceListing> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { instances: [] };
    throw error;
  }
  const instances: Instance[] = [];
  const problems: { id: string; message: string }[] = [];
  for (const name of names) {
    const id = name.slice(0, -'.json'.length);
    if (!INSTANCE_ID_PATTERN.test(id)) continue;
    const file = join(dir, name);
    try {
      instances.push({ id, document: parseInstanceDocument(await readFile(file, 'utf8'), file) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push({ id, message: (error as Error).message });
    }
  }
  return { instances, problems };
}
