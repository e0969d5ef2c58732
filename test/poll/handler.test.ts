import type { Context } from 'aws-lambda';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { PollAuthError } from '../../functions/core/poll/errors';
import { POLL_METRICS } from '../../functions/contract';
import { createPollHandler } from '../../functions/poll/handler';
import { ACCESS_TOKEN, FakePollSource, ManualClock, MemoryCheckpoints, pollingInstance } from '../core/poll/fakes';
import { MemoryEventQueue } from '../../testkit/ports';
import { FakeEcwidStore } from '../../testkit/ecwid-store';

function fakes() {
  const clock = new ManualClock();
  const store = new FakeEcwidStore();
  const source = new FakePollSource(store);
  const queue = new MemoryEventQueue();
  const checkpoints = new MemoryCheckpoints(clock.now);
  const lines: Array<{ level: string; message: string; attributes: unknown }> = [];
  const metrics: Array<[string, number]> = [];
  let published = 0;
  const logger = {
    info: (message: string, attributes: unknown) => void lines.push({ level: 'info', message, attributes }),
    warn: (message: string, attributes: unknown) => void lines.push({ level: 'warn', message, attributes }),
    error: (message: string, attributes: unknown) => void lines.push({ level: 'error', message, attributes }),
  };
  const meter = {
    addMetric: (name: string, _unit: unknown, value: number) => void metrics.push([name, value]),
    publishStoredMetrics: () => void (published += 1),
  };
  return { clock, store, source, queue, checkpoints, lines, metrics, logger, meter, published: () => published };
}

const context = (remainingMs: number, requestId = 'req-1') =>
  ({ awsRequestId: requestId, getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

test('polls the due instances, publishes the metrics and returns the run summary', async () => {
  const f = fakes();
  f.store.createOrder(f.clock.seconds - 100);
  const handler = createPollHandler({
    listInstances: async () => ({ instances: [pollingInstance('shop-a')] }),
    checkpoints: f.checkpoints,
    source: f.source,
    queue: f.queue,
    clock: f.clock.now,
    logger: f.logger as never,
    metrics: f.meter as never,
  });

  const summary = await handler({ source: 'aws.events' }, context(240_000));

  expect(summary).toMatchObject({ polled: 1, due: 1, deferred: 0, results: [{ instanceId: 'shop-a', status: 'ok', queued: 1 }] });
  expect(f.queue.events).toHaveLength(1);
  expect(f.metrics).toContainEqual([POLL_METRICS.queued, 1]);
  expect(f.metrics).toContainEqual([POLL_METRICS.instancesPolled, 1]);
  expect(f.published()).toBe(1);
  expect(f.lines.find((l) => l.message === 'poll run finished')).toBeDefined();
});

test('the lease lasts the remaining Lambda time plus a minute; no poll starts in the last 30 s', async () => {
  const f = fakes();
  const leases: number[] = [];
  const checkpoints = Object.assign(f.checkpoints, {
    lock: async (_id: string, owner: string, ttl: number) => {
      leases.push(ttl);
      expect(owner).toBe('req-7');
      return true;
    },
  });
  const handler = createPollHandler({
    listInstances: async () => ({ instances: [pollingInstance('shop-a')] }),
    checkpoints,
    source: f.source,
    queue: f.queue,
    clock: f.clock.now,
    logger: f.logger as never,
    metrics: f.meter as never,
  });
  await handler({}, context(120_000, 'req-7'));
  expect(leases).toEqual([180]);

  const late = await createPollHandler({
    listInstances: async () => ({ instances: [pollingInstance('shop-b')] }),
    checkpoints,
    source: f.source,
    queue: f.queue,
    clock: f.clock.now,
    logger: f.logger as never,
    metrics: f.meter as never,
  })({}, context(20_000));
  expect(late).toMatchObject({ due: 1, deferred: 1, results: [] });
});

test('a refused token is counted as PollAuthFailed and logged without the token', async () => {
  const f = fakes();
  f.source.failWith = () => new PollAuthError('Ecwid API GET /v3/1003/orders answered HTTP 401: the access token is not accepted', 401);
  const handler = createPollHandler({
    listInstances: async () => ({ instances: [pollingInstance('shop-a', { [CONFIG_KEYS.pollerConfiguration]: 'orders,customers' })] }),
    checkpoints: f.checkpoints,
    source: f.source,
    queue: f.queue,
    clock: f.clock.now,
    logger: f.logger as never,
    metrics: f.meter as never,
  });
  const summary = await handler({}, context(240_000));
  expect(summary.results).toEqual([expect.objectContaining({ instanceId: 'shop-a', status: 'auth-failed' })]);
  expect(f.metrics).toContainEqual([POLL_METRICS.authFailed, 1]);
  expect(f.lines.some((l) => l.level === 'error' && /refused the access token/.test(l.message))).toBe(true);
  expect(JSON.stringify(f.lines)).not.toContain(ACCESS_TOKEN);
});

test('when the instances cannot be listed the run fails (a Lambda error, alarmed) and still publishes', async () => {
  const f = fakes();
  const handler = createPollHandler({
    listInstances: () => Promise.reject(new Error('AccessDeniedException: ssm:GetParametersByPath')),
    checkpoints: f.checkpoints,
    source: f.source,
    queue: f.queue,
    logger: f.logger as never,
    metrics: f.meter as never,
  });
  await expect(handler({}, context(240_000))).rejects.toThrow('AccessDeniedException');
  expect(f.published()).toBe(1);
});
