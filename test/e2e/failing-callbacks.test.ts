/**
 * `npm start` end to end with callbacks that fail: with a short retry schedule, an endpoint that
 * recovers still gets every event exactly once (same id on every attempt), and one that never
 * recovers leaves its events in the dead-letter queue. Nothing is lost.
 */
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { existsSync } from 'node:fs';
import type { QueuedEvent } from '../../functions/core/event';
import { instanceDocument, modernSamples, postWebhook } from './support/ecwid-posts';
import {
  eventually,
  killLeftovers,
  queueDepth,
  runnerSqs,
  startRunner,
  tempDir,
  writeInstances,
  type RunnerProcess,
} from './support/runner-process';
import { startCallbackServer, type CallbackBehaviour, type CallbackServer, type RecordedRequest } from './support/servers';

// Each test drives a separate runner process (start-up, retries with real backoff): Jest's 5 s default is too short.
jest.setTimeout(30_000);

/** Per instance: what its endpoint does on the n-th attempt of an event. With --max-attempts 3. */
const ENDPOINTS: Record<string, (attempt: number) => CallbackBehaviour> = {
  'fails-twice-500': (attempt) => (attempt <= 2 ? 500 : 200),
  'times-out-once': (attempt) => (attempt === 1 ? 'hang' : 200),
  'resets-once': (attempt) => (attempt === 1 ? 'reset' : 204),
  'never-recovers': () => 503,
};
const RECOVERING = ['fails-twice-500', 'times-out-once', 'resets-once'];
const BROKEN = 'never-recovers';

// Three samples with distinct event ids (different objects: delivered in parallel groups).
const SAMPLES = modernSamples().filter((sample) => ['order-created', 'product-created', 'category-created'].includes(sample.name));

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let runner: RunnerProcess;
let sqs: SQSClient;

beforeAll(async () => {
  folder = tempDir('failing');
  callbacks = await startCallbackServer((request, attempt) => ENDPOINTS[request.path.slice(1)](attempt));
  writeInstances(
    folder.dir,
    Object.fromEntries(Object.keys(ENDPOINTS).map((id) => [id, instanceDocument(1003, `${callbacks.origin}/${id}`)])),
  );
  runner = await startRunner(['--instances', folder.dir, '--retry-schedule', '1,1', '--max-attempts', '3', '--quiet'], {
    // A hanging endpoint costs one second per attempt instead of ten.
    CALLBACK_TIMEOUT_MS: '1000',
  });
  sqs = runnerSqs(runner.state);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  sqs?.destroy();
  await callbacks?.close();
  folder?.remove();
});

const requestsTo = (list: readonly RecordedRequest[], instanceId: string) => list.filter((r) => r.path === `/${instanceId}`);

test('recovering endpoints get every event once; a dead one leaves them in the DLQ; none is lost', async () => {
  expect(SAMPLES).toHaveLength(3);
  for (const instanceId of Object.keys(ENDPOINTS)) {
    for (const sample of SAMPLES) {
      const response = await postWebhook(`${runner.ingestUrl}/${instanceId}`, sample);
      expect(response.status).toBe(200);
    }
  }

  await eventually(
    async () =>
      RECOVERING.every((id) => requestsTo(callbacks.delivered, id).length === SAMPLES.length) &&
      (await queueDepth(sqs, runner.state.queueUrl)) === 0 &&
      (await queueDepth(sqs, runner.state.deadLetterQueueUrl)) === SAMPLES.length,
    () =>
      `delivered: ${callbacks.delivered.map((r) => r.path).join(', ')}; requests: ${callbacks.requests.length}`,
    25_000,
  );

  const expectedIds = (instanceId: string) => SAMPLES.map((sample) => `${instanceId}:${sample.json.eventId}`).sort();
  for (const instanceId of RECOVERING) {
    // Exactly one successful delivery per event, under the event's own id.
    const delivered = requestsTo(callbacks.delivered, instanceId);
    expect(delivered.map((r) => r.headers['webhook-id']).sort()).toEqual(expectedIds(instanceId));
    // Every attempt of an event carried the same id and the same body id.
    for (const request of requestsTo(callbacks.requests, instanceId)) {
      expect(expectedIds(instanceId)).toContain(request.headers['webhook-id']);
      if (request.body) expect(JSON.parse(request.body).id).toBe(request.headers['webhook-id']);
    }
  }
  expect(requestsTo(callbacks.requests, 'fails-twice-500')).toHaveLength(3 * SAMPLES.length);
  expect(requestsTo(callbacks.requests, 'times-out-once')).toHaveLength(2 * SAMPLES.length);
  expect(requestsTo(callbacks.requests, 'resets-once')).toHaveLength(2 * SAMPLES.length);

  // The dead endpoint: three attempts per event, nothing accepted, every event in the DLQ as queued.
  expect(requestsTo(callbacks.requests, BROKEN)).toHaveLength(3 * SAMPLES.length);
  expect(requestsTo(callbacks.delivered, BROKEN)).toHaveLength(0);
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: runner.state.deadLetterQueueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const deadLettered = Messages.map((message) => JSON.parse(message.Body ?? '{}') as QueuedEvent);
  expect(deadLettered.map((event) => `${event.instanceId}:${event.eventId}`).sort()).toEqual(expectedIds(BROKEN));
});

test('Ctrl-C/SIGTERM stops cleanly, counts what is left and removes the state file', async () => {
  expect(existsSync(runner.stateFile)).toBe(true);
  const { code, stdout } = await runner.stop('SIGTERM');
  expect(code).toBe(0);
  expect(stdout).toContain('Stopped: 0 events still queued, 3 events in the dead-letter queue');
  expect(existsSync(runner.stateFile)).toBe(false);
});
