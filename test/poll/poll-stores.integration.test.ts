/**
 * The poller's AWS side against moto: poll states and leases in SSM, the FIFO event queue, the
 * sightings queue, and the tolerant instance listing, driven by one real poll against the fake
 * Ecwid API.
 */
import { SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import { SqsSightings } from '../../functions/adapters/aws/sqs-sightings';
import { SsmCheckpointStore } from '../../functions/adapters/aws/ssm-checkpoint-store';
import { EcwidPollClient } from '../../functions/adapters/http/ecwid-poll-client';
import type { QueuedEvent } from '../../functions/core/event';
import { deduplicationId, messageGroupId } from '../../functions/adapters/aws/sqs-ids';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { emptyPollState, type PollState } from '../../functions/core/poll/state';
import { SETTLE_SECONDS } from '../../functions/core/poll/constants';
import { pollDueInstances } from '../../functions/core/poll/run';
import { sightingsOf } from '../../functions/core/sightings';
import { ssmInstanceName, ssmPollLeaseName, ssmPollStateName } from '../../functions/contract';
import { ManualClock } from '../core/poll/fakes';
import { RecordingTelemetry } from '../../testkit/ports';
import { instanceDocument } from '../../testkit/instances';
import { queuedEvent } from '../../testkit/events';
import {
  createFifoQueueWithDlq,
  deleteParametersByPath,
  deleteQueuePair,
  deleteQueues,
  describeWithMoto,
  drainQueue,
  motoSqsClient,
  motoSsmClient,
  uniqueName,
  uniqueSsmPrefix,
  type FifoQueuePair,
} from '../support/moto';
import { startEcwidSearchApi, type EcwidSearchApi } from '../../testkit/ecwid-api';

const TOKEN = 'secret_moto_poll_token';

describeWithMoto('poller stores on moto (SSM checkpoints and leases, SQS queues)', () => {
  let ssm: SSMClient;
  let sqs: SQSClient;
  let prefix: string;
  let pair: FifoQueuePair;
  let sightingsQueueUrl: string;
  let server: EcwidSearchApi;

  beforeAll(async () => {
    ssm = motoSsmClient();
    sqs = motoSqsClient();
    prefix = uniqueSsmPrefix('poll');
    pair = await createFifoQueueWithDlq(sqs, 'poll');
    sightingsQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: uniqueName('sightings') }))).QueueUrl!;
    server = await startEcwidSearchApi('1003', TOKEN);
  });

  afterAll(async () => {
    await server?.close();
    await deleteParametersByPath(ssm, prefix);
    await deleteQueuePair(sqs, pair);
    await deleteQueues(sqs, sightingsQueueUrl);
    ssm.destroy();
    sqs.destroy();
  });

  test('state: saved as a String parameter under <prefix>/poller/checkpoints, loaded one by one and all at once', async () => {
    const store = new SsmCheckpointStore({ prefix, client: ssm });
    const state: PollState = { ...emptyPollState(), cursors: { orders: { from: 100, to: 200 } }, sent: { 'orders:A': 190 }, lastStatus: 'ok' };
    await store.save('state-a', state);
    await store.save('state-b', emptyPollState());
    await ssm.send(new PutParameterCommand({ Name: ssmPollStateName(prefix, 'broken'), Value: '{"v":', Type: 'String' }));

    expect(await store.load('state-a')).toEqual(state);
    expect(await store.load('never-polled')).toBeUndefined();
    await expect(store.load('broken')).rejects.toThrow(`SSM parameter ${ssmPollStateName(prefix, 'broken')} is not valid JSON`);
    const all = await store.loadAll();
    expect([...all.keys()].sort()).toEqual(['state-a', 'state-b']);
  });

  test('lease: one owner at a time, renewable by its owner, taken over once expired, released only by its owner', async () => {
    const clock = new ManualClock();
    const store = new SsmCheckpointStore({ prefix, client: ssm, clock: clock.now });
    expect(await store.lock('leased', 'run-1', 60)).toBe(true);
    expect(await store.lock('leased', 'cli', 60)).toBe(false);
    expect(await store.lock('leased', 'run-1', 60)).toBe(true);
    await store.unlock('leased', 'cli');
    expect(await store.lock('leased', 'cli', 60)).toBe(false);

    clock.advance(61);
    expect(await store.lock('leased', 'cli', 60)).toBe(true);
    await store.unlock('leased', 'cli');
    expect(await store.lock('leased', 'run-2', 60)).toBe(true);
    await store.unlock('leased', 'run-2');
    await expect(ssm.send(new PutParameterCommand({ Name: ssmPollLeaseName(prefix, 'leased'), Value: '{}', Type: 'String' }))).resolves.toBeDefined();
  });

  test('sightings queue: recorded (more than one batch of 10), received, acknowledged', async () => {
    const sightings = new SqsSightings({ queueUrl: sightingsQueueUrl, client: sqs, visibilityTimeoutSeconds: 30 });
    const batch = Array.from({ length: 12 }, (_, i) => queuedEvent({ eventId: `e${i}`, objectId: `O${i}`, occurredAt: new Date((1_714_541_000 + i) * 1000).toISOString() }));
    await sightings.record(sightingsOf(batch));

    const received = await sightings.receive();
    expect(received.map(({ handle: _h, ...rest }) => rest).sort((a, b) => a.at - b.at)).toEqual(sightingsOf(batch));
    await sightings.acknowledge(received.map((s) => s.handle));
    expect(await new SqsSightings({ queueUrl: sightingsQueueUrl, client: sqs }).receive()).toEqual([]);
  });

  test('a scheduled run: instances listed from SSM (a broken one reported), events on the FIFO queue, checkpoint in SSM', async () => {
    const clock = new ManualClock(Date.now());
    const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
    await registry.replace(
      'shop-a',
      instanceDocument({ storeId: '1003', configuration: { [CONFIG_KEYS.accessToken]: TOKEN, [CONFIG_KEYS.vendorType]: 'polling' } }),
    );
    await ssm.send(new PutParameterCommand({ Name: ssmInstanceName(prefix, 'garbled'), Value: 'not json', Type: 'SecureString' }));
    const order = server.store.createOrder(clock.seconds - 200);

    const listing = await registry.list();
    expect(listing.instances.map((i) => i.id)).toEqual(['shop-a']);
    expect(listing.problems).toEqual([{ id: 'garbled', message: `SSM parameter ${ssmInstanceName(prefix, 'garbled')}: is not valid JSON` }]);

    const checkpoints = new SsmCheckpointStore({ prefix, client: ssm, clock: clock.now });
    const telemetry = new RecordingTelemetry();
    const summary = await pollDueInstances({
      listInstances: () => registry.list(),
      loadAllStates: () => checkpoints.loadAll(),
      checkpoints,
      source: new EcwidPollClient({ baseUrl: server.baseUrl }),
      queue: new SqsEventQueue({ queueUrl: pair.queueUrl, client: sqs }),
      sightings: new SqsSightings({ queueUrl: sightingsQueueUrl, client: sqs }),
      clock: clock.now,
      telemetry,
      owner: 'run-1',
      leaseSeconds: 120,
    });
    expect(summary.results).toEqual([{ instanceId: 'shop-a', status: 'ok', queued: 1 }]);
    expect(summary.misconfigured).toBe(1);

    const messages = await drainQueue(sqs, pair.queueUrl);
    expect(messages).toHaveLength(1);
    const body = JSON.parse(messages[0].Body!) as QueuedEvent;
    expect(body).toMatchObject({ source: 'poll', objectId: order, eventType: 'CREATED', eventId: `poll:orders:${order}:${clock.seconds - 200}` });
    expect(messages[0].Attributes).toMatchObject({
      MessageGroupId: messageGroupId(body),
      MessageDeduplicationId: deduplicationId(body),
    });

    const state = await checkpoints.load('shop-a');
    expect(state?.cursors.orders?.to).toBe(clock.seconds - SETTLE_SECONDS);
    expect(state?.lastStatus).toBe('ok');
    // The lease was released.
    expect(await checkpoints.lock('shop-a', 'someone-else', 60)).toBe(true);
  });
});
