import { configSyncRequestOf, createConfigSyncHandler } from '../../functions/config-sync/handler';
import { CONFIG_SYNC_METRICS } from '../../functions/contract';
import type { ConfigSource, ReadModelWriter } from '../../functions/core/config-sync';
import { instanceDocument } from '../../testkit/instances';

const idOf = (name: string) => (name.startsWith('/p/instances/') ? name.slice('/p/instances/'.length) : undefined);

test('configSyncRequestOf: change events, the schedule and operator requests', () => {
  expect(configSyncRequestOf({ 'detail-type': 'Parameter Store Change', detail: { name: '/p/instances/shop-a', operation: 'Update' } }, idOf)).toEqual({
    kind: 'sync',
    instanceIds: ['shop-a'],
  });
  expect(configSyncRequestOf({ 'detail-type': 'Scheduled Event', source: 'aws.events' }, idOf)).toEqual({ kind: 'reconcile' });
  expect(configSyncRequestOf({ action: 'reconcile' }, idOf)).toEqual({ kind: 'reconcile' });
  expect(configSyncRequestOf({ instanceIds: ['a', 'b'] }, idOf)).toEqual({ kind: 'sync', instanceIds: ['a', 'b'] });
  expect(configSyncRequestOf({ 'detail-type': 'Parameter Store Change', detail: { name: '/p/stores/1' } }, idOf)).toMatchObject({ kind: 'ignored' });
  expect(configSyncRequestOf('text', idOf)).toMatchObject({ kind: 'ignored' });
  expect(configSyncRequestOf({ instanceIds: [1] }, idOf)).toMatchObject({ kind: 'ignored' });
});

test('the handler counts what it did as metrics and logs ids only; drift only for a reconcile', async () => {
  const source: ConfigSource = {
    stamps: async () => [{ instanceId: 'a', version: 1, modifiedAt: 1 }],
    read: async (ids) => ids.filter((id) => id === 'a').map((instanceId) => ({ instanceId, version: 1, modifiedAt: 1, document: instanceDocument({ clientSecret: 'very-secret' }) })),
  };
  const model: ReadModelWriter = {
    stamps: async () => [{ instanceId: 'old', version: 1, modifiedAt: 0 }],
    put: async () => true,
    remove: async () => true,
  };
  const metrics = { addMetric: jest.fn(), publishStoredMetrics: jest.fn() };
  const logger = { info: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const handler = createConfigSyncHandler({ source, model, now: () => 10, instanceIdOf: idOf, logger, metrics });

  await expect(handler({ 'detail-type': 'Scheduled Event' })).resolves.toMatchObject({ kind: 'reconcile', written: ['a'], removed: ['old'] });
  expect(metrics.addMetric.mock.calls).toEqual([
    [CONFIG_SYNC_METRICS.written, 'Count', 1],
    [CONFIG_SYNC_METRICS.removed, 'Count', 1],
    [CONFIG_SYNC_METRICS.drift, 'Count', 2],
  ]);
  expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
  expect(JSON.stringify(logger.info.mock.calls)).not.toContain('very-secret');

  metrics.addMetric.mockClear();
  await handler({ instanceIds: ['a'] });
  expect(metrics.addMetric.mock.calls.map(([name]) => name)).toEqual([CONFIG_SYNC_METRICS.written]);
});

test('a failure propagates (Lambda retries the event) and metrics are still flushed', async () => {
  const failing: ConfigSource = { stamps: async () => [], read: async () => Promise.reject(new Error('SSM throttled')) };
  const metrics = { addMetric: jest.fn(), publishStoredMetrics: jest.fn() };
  const handler = createConfigSyncHandler({
    source: failing,
    model: { stamps: async () => [], put: async () => true, remove: async () => true },
    now: () => 0,
    instanceIdOf: idOf,
    logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
    metrics,
  });
  await expect(handler({ instanceIds: ['a'] })).rejects.toThrow('SSM throttled');
  expect(metrics.publishStoredMetrics).toHaveBeenCalledTimes(1);
});
