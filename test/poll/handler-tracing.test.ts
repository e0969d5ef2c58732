/** The poll handler under X-Ray, as in Lambda with active tracing. */
import AWSXRay from 'aws-xray-sdk-core';
import { createTracer } from '../../functions/adapters/aws/tracing';
import { createPollHandler } from '../../functions/poll/handler';
import { ACCESS_TOKEN, FakePollSource, ManualClock, MemoryCheckpoints, pollingInstance } from '../core/poll/fakes';
import { MemoryEventQueue } from '../../testkit/ports';
import { FakeEcwidStore } from '../../testkit/ecwid-store';
import { lambdaTracingEnvironment, subsegmentsOf, traceJson, withinSegment } from '../support/xray';

describe('poll handler tracing', () => {
  let environment: ReturnType<typeof lambdaTracingEnvironment>;
  beforeEach(() => {
    environment = lambdaTracingEnvironment();
  });
  afterEach(() => environment.restore());

  it('records the run as one invocation subsegment with its summary as metadata, and no token', async () => {
    const clock = new ManualClock();
    const store = new FakeEcwidStore();
    store.createOrder(clock.seconds - 100);
    const handler = createPollHandler({
      listInstances: async () => ({ instances: [pollingInstance('shop-a')] }),
      checkpoints: new MemoryCheckpoints(clock.now),
      source: new FakePollSource(store),
      queue: new MemoryEventQueue(),
      clock: clock.now,
      logger: { info: jest.fn(), warn: jest.fn(), error: jest.fn() },
      metrics: { addMetric: jest.fn(), publishStoredMetrics: jest.fn() } as never,
      tracer: createTracer('poll-test'),
    });

    const { root, result } = await withinSegment(AWSXRay, () => handler({ source: 'aws.events' }));

    expect(result.polled).toBe(1);
    const [invocation] = subsegmentsOf(root);
    expect(invocation).toMatchObject({
      name: '## handler',
      annotations: { ColdStart: true, Service: 'poll-test' },
      metadata: {
        'poll-test': { run: { polled: 1, due: 1, deferred: 0, misconfigured: 0, results: [{ instanceId: 'shop-a', status: 'ok', queued: 1 }] } },
      },
    });
    expect(traceJson(root)).not.toContain(ACCESS_TOKEN);
  });
});
