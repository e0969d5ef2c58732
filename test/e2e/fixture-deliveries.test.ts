/**
 * `npm start` end to end: every Ecwid sample post in test/fixtures goes in over HTTP and comes
 * out as exactly one signed callback with the right normalized fields. ION posts are verified
 * against a fake Ecwid API given with --ecwid-api.
 */
import { normalizeWebhookEvent, type WebhookFields } from '../../functions/core/ecwid/normalize';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  fixtureText,
  instanceDocument,
  modernSamples,
  postIon,
  postWebhook,
  SIGNATURE_KEY,
  WEBHOOK_SECRET,
  type ModernSample,
} from './support/ecwid-posts';
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
import {
  elementsSignature,
  startCallbackServer,
  startFakeEcwidApi,
  verifyStandardWebhook,
  type CallbackServer,
  type FakeEcwidApi,
  type RecordedRequest,
} from './support/servers';

// Each test drives a separate runner process (start-up, retries with real backoff): Jest's 5 s default is too short.
jest.setTimeout(30_000);

/** docs/protocol.md, "Normalization", applied by hand to each sample. */
const EXPECTED: Record<string, { objectType: string; objectId: string; eventType: string }> = {
  'application-installed': { objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN' },
  'application-subscription-status-changed': { objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN' },
  'application-uninstalled': { objectType: 'applications', objectId: '1003', eventType: 'UNKNOWN' },
  'category-created': { objectType: 'categories', objectId: '66722483', eventType: 'CREATED' },
  'category-deleted': { objectType: 'categories', objectId: '66722483', eventType: 'DELETED' },
  'customer-created': { objectType: 'customers', objectId: '1663830', eventType: 'CREATED' },
  'order-created': { objectType: 'orders', objectId: 'XJ12H', eventType: 'CREATED' },
  'order-deleted': { objectType: 'orders', objectId: 'XJ12H', eventType: 'DELETED' },
  'order-updated': { objectType: 'orders', objectId: 'B8HGD', eventType: 'UPDATED' },
  'product-created': { objectType: 'products', objectId: '667251253', eventType: 'CREATED' },
  'product-deleted': { objectType: 'products', objectId: '667251253', eventType: 'DELETED' },
  'product-updated': { objectType: 'products', objectId: '66722483', eventType: 'UPDATED' },
  'profile-subscription-status-changed': { objectType: 'profiles', objectId: '1421002', eventType: 'UNKNOWN' },
  'profile-updated': { objectType: 'profiles', objectId: '1003', eventType: 'UPDATED' },
  'unfinished-order-created': { objectType: 'unfinishedOrders', objectId: 'RA1SD', eventType: 'CREATED' },
};

/** The only sample of its store: it goes through the shared URL (store lookup), the rest through /{instanceId}. */
const SHARED_ROUTE_SAMPLE = 'profile-subscription-status-changed';
const ION_INSTANCE = 'ion-store-12345';
const ORDER_KEY = 'e2e-legacy-order-key';
const ACCESS_TOKEN = 'secret_e2e_token';

const samples = modernSamples();
let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let ecwid: FakeEcwidApi;
let runner: RunnerProcess;
let sqs: SQSClient;

// Several samples share an eventId (Ecwid's docs reuse one), and one eventId is deduplicated
// per instance: each sample gets its own instance, so each must come out exactly once.
const instanceIdOf = (sample: ModernSample) => `m-${sample.name}`;

beforeAll(async () => {
  folder = tempDir('fixtures');
  callbacks = await startCallbackServer(() => 200);
  ecwid = await startFakeEcwidApi();
  // The entities the deleted samples report are gone, as they would be in Ecwid.
  for (const sample of samples.filter((s) => s.json.eventType.endsWith('.deleted'))) {
    const { objectType, objectId } = normalizeWebhookEvent(sample.json as unknown as WebhookFields);
    ecwid.deleted.add(`${objectType}/${objectId}`);
  }
  const instances: Record<string, unknown> = {};
  for (const sample of samples) {
    instances[instanceIdOf(sample)] = instanceDocument(sample.json.storeId, `${callbacks.origin}/cb/${instanceIdOf(sample)}`, {
      'ecwid.access.token': ACCESS_TOKEN,
    });
  }
  instances[ION_INSTANCE] = instanceDocument(12345, `${callbacks.origin}/cb/${ION_INSTANCE}`, { 'ecwid.order.key': ORDER_KEY });
  writeInstances(folder.dir, instances);
  runner = await startRunner(['--instances', folder.dir, '--ecwid-api', ecwid.baseUrl, '--quiet']);
  sqs = runnerSqs(runner.state);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  sqs?.destroy();
  await callbacks?.close();
  await ecwid?.close();
  folder?.remove();
});

const deliveriesTo = (instanceId: string): RecordedRequest[] =>
  callbacks.delivered.filter((request) => request.path === `/cb/${instanceId}`);

/** Waits until the queue is empty: from then on no delivery can still be on its way. */
async function queueDrained(): Promise<void> {
  await eventually(async () => (await queueDepth(sqs, runner.state.queueUrl)) === 0, () => 'the queue never emptied');
}

/** The callback is Open Connectors' shape, signed both ways, with the id the event was queued under. */
function expectSignedCallback(request: RecordedRequest, instanceId: string, eventId: string): Record<string, any> {
  const body = JSON.parse(request.body);
  const id = `${instanceId}:${eventId}`;
  expect(body).toMatchObject({
    id,
    topic: `instance-${instanceId}-ecwid-events`,
    action: 'create',
    message: { elementKey: 'ecwid', eventId: id, instanceId, instance_id: instanceId },
  });
  expect(request.headers['webhook-id']).toBe(id);
  expect(request.headers['elements-webhook-id']).toBe(id);
  expect(() => verifyStandardWebhook(WEBHOOK_SECRET, request)).not.toThrow();
  expect(request.headers['elements-webhook-signature']).toBe(elementsSignature(SIGNATURE_KEY, request.body));
  return body;
}

test('every modern sample post ends as exactly one signed delivery with the right normalized fields', async () => {
  expect(samples).toHaveLength(Object.keys(EXPECTED).length);
  for (const sample of samples) {
    const url = sample.name === SHARED_ROUTE_SAMPLE ? runner.ingestUrl : `${runner.ingestUrl}/${instanceIdOf(sample)}`;
    const response = await postWebhook(url, sample);
    expect({ sample: sample.name, status: response.status }).toEqual({ sample: sample.name, status: 200 });
    expect(await response.json()).toEqual({ queued: 1, eventId: sample.json.eventId });
  }

  await eventually(
    () => samples.every((sample) => deliveriesTo(instanceIdOf(sample)).length > 0),
    () => `delivered so far: ${callbacks.delivered.map((r) => r.path).join(', ')}`,
  );
  await queueDrained();

  for (const sample of samples) {
    const instanceId = instanceIdOf(sample);
    const received = deliveriesTo(instanceId);
    expect({ sample: sample.name, deliveries: received.length }).toEqual({ sample: sample.name, deliveries: 1 });
    const body = expectSignedCallback(received[0], instanceId, sample.json.eventId);
    expect(body.message.events).toEqual([
      {
        date: new Date(sample.json.eventCreated * 1000).toISOString(),
        elementKey: 'ecwid',
        hubKey: 'ecommerce',
        ...EXPECTED[sample.name],
      },
    ]);
    // Ecwid's post is passed on as it came.
    expect(body.message.raw.webhook).toEqual(sample.json);
  }
  // Enrichment used the access token against the API given with --ecwid-api.
  const v3 = ecwid.requests.filter((request) => request.url.startsWith('/api/v3/'));
  expect(v3.length).toBeGreaterThan(0);
  expect(v3.every((request) => request.headers.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);
  expect(v3.map((request) => request.url)).toContain('/api/v3/1003/orders/XJ12H');
});

test('an Ecwid retry of a sample (same eventId) is accepted but not delivered twice', async () => {
  const sample = samples.find((s) => s.name === 'order-updated')!;
  const before = deliveriesTo(instanceIdOf(sample)).length;
  const response = await postWebhook(`${runner.ingestUrl}/${instanceIdOf(sample)}`, sample);
  expect(response.status).toBe(200);
  await queueDrained();
  expect(deliveriesTo(instanceIdOf(sample))).toHaveLength(before);
});

describe('legacy ION posts, verified through the Ecwid API', () => {
  const v1Calls = () => ecwid.requests.filter((request) => request.url.startsWith('/api/v1/12345/orders?'));

  test.each([
    ['new_order', 'legacy-ion-cannon-new-order.CONSTRUCTED.txt', { paymentStatus: 'ACCEPTED', fulfillmentStatus: 'NEW' }, 'CREATED'],
    [
      'order_status_change',
      'legacy-ion-cannon-order-status-change.CONSTRUCTED.txt',
      { paymentStatus: 'ACCEPTED', fulfillmentStatus: 'SHIPPED' },
      'UPDATED',
    ],
  ])('%s: one verified delivery', async (_type, file, order, eventType) => {
    // The order as Ecwid has it when the notification arrives.
    // Created when the new_order fixture says (a new_order must announce a new order).
    ecwid.orders.set('12345/124', { ...order, created: '2014-05-06 16:28:06' });
    const callsBefore = v1Calls().length;
    const deliveredBefore = deliveriesTo(ION_INSTANCE).length;

    const form = fixtureText(file);
    const response = await postIon(runner.ingestUrl, form);
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { queued: number; eventId: string; instances: string[] };
    expect(answer).toMatchObject({ queued: 1 });

    await eventually(() => deliveriesTo(ION_INSTANCE).length > deliveredBefore, () => 'no ION delivery');
    await queueDrained();
    const received = deliveriesTo(ION_INSTANCE).slice(deliveredBefore);
    expect(received).toHaveLength(1);
    const body = expectSignedCallback(received[0], ION_INSTANCE, answer.eventId);
    expect(body.message.events).toEqual([
      { date: expect.any(String), elementKey: 'ecwid', hubKey: 'ecommerce', objectType: 'orders', objectId: '124', eventType },
    ]);
    expect(body.message.raw.notification).toMatchObject(Object.fromEntries(new URLSearchParams(form.trim())));

    // Verified by fetching the order with the instance's order key.
    const calls = v1Calls().slice(callsBefore);
    expect(calls.length).toBeGreaterThanOrEqual(1);
    const query = new URL(calls[0].url, 'http://x').searchParams;
    expect(query.get('secure_auth_key')).toBe(ORDER_KEY);
    expect(query.get('order')).toBe('124');
  });

  test('a notification the Ecwid API does not confirm is dropped, never delivered', async () => {
    const deliveredBefore = callbacks.requests.length;
    const callsBefore = ecwid.requests.length;
    const forged = 'owner_id=12345&event_type=new_order&date=2024-01-01+10%3A00%3A00&order_id=999&payment_status=PAID&fulfillment_status=NEW';
    const response = await postIon(runner.ingestUrl, forged);
    expect(response.status).toBe(200); // accepted at ingest: ION posts carry no signature

    await eventually(() => ecwid.requests.length > callsBefore, () => 'the Ecwid API was never asked about order 999');
    await queueDrained();
    expect(ecwid.requests.slice(callsBefore).map((r) => r.query.order)).toContain('999');
    expect(callbacks.requests.length).toBe(deliveredBefore);
  });
});
