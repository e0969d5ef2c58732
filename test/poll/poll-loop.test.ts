import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { SETTLE_SECONDS } from '../../functions/core/poll/constants';
import { FolderInstanceRepository } from '../../functions/adapters/fs/folder-instance-repository';
import { startPollLoop } from '../../local/poll-loop';
import { MemoryEventQueue, RecordingTelemetry } from '../../testkit/ports';
import { instanceDocument } from '../../testkit/instances';
import { startEcwidSearchApi, type EcwidSearchApi } from '../../testkit/ecwid-api';

const TOKEN = 'secret_local_token';
let dir: string;
let server: EcwidSearchApi;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'poll-loop-'));
  server = await startEcwidSearchApi('1003', TOKEN);
});
afterEach(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('the local loop polls the folder instances against --ecwid-api, keeps file states, and stops cleanly', async () => {
  const instancesDir = join(dir, 'instances');
  const stateDir = join(dir, 'poller');
  await mkdir(instancesDir);
  const doc = instanceDocument({ storeId: '1003', configuration: { [CONFIG_KEYS.accessToken]: TOKEN, [CONFIG_KEYS.vendorType]: 'polling' } });
  await writeFile(join(instancesDir, 'shop-a.json'), JSON.stringify(doc));
  await writeFile(join(instancesDir, 'hooks.json'), JSON.stringify(instanceDocument({ storeId: '1003' })));
  const now = Math.floor(Date.now() / 1000);
  const order = server.store.createOrder(now - 200);

  const queue = new MemoryEventQueue();
  const runs: unknown[] = [];
  const loop = startPollLoop({
    intervalSeconds: 3600,
    instances: new FolderInstanceRepository({ dir: instancesDir }),
    stateDir,
    ecwidApiBaseUrl: server.baseUrl,
    queue,
    telemetry: new RecordingTelemetry(),
    onRun: (summary) => runs.push(summary),
  });
  // The loop runs once at start; runNow waits for it and runs again (nothing due then).
  const second = await loop.runNow();
  await loop.stop();

  expect(runs[0]).toMatchObject({ polled: 1, due: 1, results: [{ instanceId: 'shop-a', status: 'ok', queued: 1 }] });
  expect(second).toMatchObject({ polled: 1, due: 0 });
  expect(queue.events.map((e) => [e.instanceId, e.objectId, e.source])).toEqual([['shop-a', order, 'poll']]);
  const state = JSON.parse(await readFile(join(stateDir, 'shop-a.json'), 'utf8')) as { cursors: { orders: { to: number } } };
  expect(state.cursors.orders.to).toBeGreaterThanOrEqual(now - SETTLE_SECONDS);
  expect(await loop.runNow()).toBeUndefined();
});
