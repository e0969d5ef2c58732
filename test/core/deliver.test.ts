import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { elementsWebhookSignature } from '../../functions/core/callback/signing';
import { HttpCallbackSender } from '../../functions/adapters/http/callback-sender';
import { deliverTicket, parseQueuedEvent, type DeliverDeps } from '../../functions/core/deliver';
import { DELIVER_METRICS } from '../../functions/contract';
import { EcwidApiClient } from '../../functions/adapters/http/ecwid-api-client';
import { systemResolver } from '../../functions/adapters/http/host-resolver';
import type { QueuedEvent } from '../../functions/core/event';
import { CONFIG_KEYS, type ConfigValue } from '../../functions/core/instance';
import { DEFAULT_RETRY_POLICY } from '../../functions/core/retry-policy';
import { claim, finishAttempt, receivedEntry, type LedgerEntry } from '../../functions/core/ledger';
import { instance, ionEvent, queueMessage, webhookEvent } from './deliver-support';
import { MemoryDeadLetterQueue, MemoryLedger, MemoryTicketQueue } from '../../testkit/ledger';
import { MemoryInstanceStore, RecordingTelemetry } from '../../testkit/ports';
import { fixtureJson, ionFixtureFields } from '../../testkit/fixtures';
import { type RecordedRequest, type Reply, startServer, type TestServer } from '../../testkit/servers';

const SECRETS = {
  orderKey: 'ORDERKEY-4f8a2c91',
  productKey: 'PRODUCTKEY-7b1e03',
  token: 'secret_TOKEN9d3f7a',
  signatureKey: 'SIGNKEY-55aa0f',
  webhookSecret: `whsec_${randomBytes(24).toString('base64')}`,
};
const NOW = new Date('2024-03-01T12:00:05Z');
const V1_ORDERS = fixtureJson<{ orders: Record<string, unknown>[] }>('legacy-order-api-v1-orders-response.json');
const V1_ORDER = V1_ORDERS.orders[0];

let ecwid: TestServer;
let callback: TestServer;
/** Ecwid API routes of the current test: path+query -> reply (unlisted paths answer 404). */
let routes: Record<string, Reply>;

beforeAll(async () => {
  ecwid = await startServer((request) => routes[request.url] ?? { status: 404, body: { errorMessage: 'not found' } });
  callback = await startServer(() => ({ status: 200 }));
});
afterAll(async () => {
  await Promise.all([ecwid.close(), callback.close()]);
});
beforeEach(() => {
  routes = {};
  ecwid.requests.length = 0;
  callback.requests.length = 0;
  callback.reply = () => ({ status: 200 });
});

function setup(configuration: Record<string, ConfigValue> = {}, options: { register?: boolean } = {}) {
  const store = new MemoryInstanceStore();
  const shop = instance({ [CONFIG_KEYS.callbackUrl]: `${callback.origin}/hook?receiver_token=rcv-777`, ...configuration });
  if (options.register !== false) store.instances.push(shop);
  const ledger = new MemoryLedger(() => NOW);
  const tickets = new MemoryTicketQueue();
  const deadLetters = new MemoryDeadLetterQueue();
  const telemetry = new RecordingTelemetry();
  const deps: DeliverDeps = {
    instances: store,
    ecwid: new EcwidApiClient({ baseUrl: `${ecwid.origin}/api/`, timeoutMs: 2000 }),
    sender: new HttpCallbackSender({ timeoutMs: 2000 }),
    ledger,
    tickets,
    deadLetters,
    retryPolicy: DEFAULT_RETRY_POLICY,
    urlPolicy: { allowHttp: true, allowHosts: ['127.0.0.1'] },
    resolveHost: systemResolver,
    clock: () => NOW,
    telemetry,
  };
  return { deps, store, shop, ledger, tickets, deadLetters, telemetry };
}

/** The ledger entry of `event` after `failed` failed attempts (the next one is attempt failed + 1), due now. */
async function afterFailedAttempts(ledger: MemoryLedger, event: QueuedEvent, failed: number): Promise<LedgerEntry> {
  let entry = receivedEntry(event, JSON.stringify(event), new Date(0));
  for (let n = 0; n < failed; n++) {
    const at = new Date(n * 1000);
    entry = finishAttempt(claim(entry, at), { ok: false, errorClass: 'http', error: 'HTTP 500', durationMs: 1 }, at, DEFAULT_RETRY_POLICY);
  }
  await ledger.record([entry]);
  return entry;
}

/** In seconds after NOW, as the ledger writes times. */
const after = (seconds: number): string => new Date(NOW.getTime() + seconds * 1000).toISOString();
const entryOf = (ledger: MemoryLedger, event: QueuedEvent) => ledger.get(event.instanceId, event.eventId);

const delivered = (): Record<string, unknown> & { message: { raw: Record<string, unknown> } } =>
  JSON.parse(callback.requests[0].body.toString('utf8'));

const v1OrderPath = (storeId: string, order: string): string =>
  `/api/v1/${storeId}/orders?secure_auth_key=${SECRETS.orderKey}&order=${order}`;

/** Everything a test may have leaked to: log lines, metrics, outcomes, DLQ attributes. */
function assertNoSecrets(...texts: unknown[]): void {
  const haystack = JSON.stringify(texts);
  for (const secret of Object.values(SECRETS)) expect(haystack).not.toContain(secret);
}

describe('deliver: legacy ION events are verified by fetching the order', () => {
  it('delivers when the v1 Order API has the order with the notified statuses', async () => {
    routes[v1OrderPath('12345', '124')] = { status: 200, body: V1_ORDERS };
    const { deps, telemetry } = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });
    const event = ionEvent();

    const outcome = await deliverTicket(queueMessage(event), deps);

    expect(outcome).toMatchObject({ status: 'delivered', httpStatus: 200, latencyMs: 5000 });
    expect(ecwid.requests.map((r) => r.url)).toEqual([v1OrderPath('12345', '124')]);
    expect(delivered().message.raw).toEqual({ notification: event.raw, order: V1_ORDER });
    expect(telemetry.countOf(DELIVER_METRICS.succeeded)).toBe(1);
    expect(telemetry.metrics).toContainEqual({ name: DELIVER_METRICS.latency, value: 5000 });
  });

  it('verifies through REST v3 when the instance has an access token, matching legacy status names', async () => {
    const order = {
      id: 'XJ12H',
      orderNumber: 124,
      paymentStatus: 'PAID',
      fulfillmentStatus: 'AWAITING_PROCESSING',
      createTimestamp: 1399393686,
      updateTimestamp: 1399393686,
    };
    routes['/api/v3/12345/orders/124'] = { status: 200, body: order };
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token, [CONFIG_KEYS.orderKey]: SECRETS.orderKey });

    const outcome = await deliverTicket(queueMessage(ionEvent()), deps);

    expect(outcome.status).toBe('delivered');
    expect(ecwid.requests).toHaveLength(1);
    expect(ecwid.requests[0].headers.authorization).toBe(`Bearer ${SECRETS.token}`);
    expect(delivered().message.raw).toEqual({ notification: ionEvent().raw, order });
  });

  it('drops a notification for an order that does not exist (v1: empty result), without retrying', async () => {
    routes[v1OrderPath('12345', '124')] = { status: 200, body: { count: 0, total: 0, orders: [] } };
    const { deps, ledger, deadLetters, telemetry } = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });

    const outcome = await deliverTicket(queueMessage(ionEvent()), deps);

    expect(outcome).toEqual({ status: 'dropped', reason: 'forged', detail: 'order 124 not found in store 12345' });
    expect(callback.requests).toHaveLength(0);
    expect(await entryOf(ledger, ionEvent())).toMatchObject({ status: 'dropped', reason: 'forged', detail: 'order 124 not found in store 12345' });
    expect(deadLetters.entries).toEqual([]);
    expect(telemetry.countOf(DELIVER_METRICS.droppedForged)).toBe(1);
    expect(telemetry.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: 'dropped as forged',
        attributes: expect.objectContaining({ reason: 'forged', detail: 'order 124 not found in store 12345' }),
      }),
    );
  });

  it('drops a notification for an order that does not exist (v3: 404)', async () => {
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    expect(await deliverTicket(queueMessage(ionEvent()), deps)).toMatchObject({ status: 'dropped', reason: 'forged' });
    expect(callback.requests).toHaveLength(0);
  });

  it('drops a notification whose statuses the order does not have (and did not change to since)', async () => {
    // The status-change fixture says SHIPPED at 20:28:51; the order is NEW, last changed at 20:28:51.
    routes[v1OrderPath('12345', '124')] = { status: 200, body: V1_ORDERS };
    const { deps, telemetry } = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });
    const event = ionEvent({}, ionFixtureFields('legacy-ion-cannon-order-status-change.CONSTRUCTED.txt'));

    const outcome = await deliverTicket(queueMessage(event), deps);

    expect(outcome).toEqual({
      status: 'dropped',
      reason: 'forged',
      detail: 'order 124 statuses do not match: fulfillment_status notified SHIPPED, order has NEW',
    });
    expect(callback.requests).toHaveLength(0);
    expect(telemetry.countOf(DELIVER_METRICS.droppedForged)).toBe(1);
  });

  it('accepts a v1 mismatch when the order changed after the notification date (a later status)', async () => {
    const shipped = { ...V1_ORDER, fulfillmentStatus: 'SHIPPED', lastChangeDate: '2014-05-06 20:28:51' };
    routes[v1OrderPath('12345', '124')] = { status: 200, body: { count: 1, total: 1, orders: [shipped] } };
    const { deps, telemetry } = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });

    // new_order notified NEW at 16:28:06; the order has since been shipped.
    const outcome = await deliverTicket(queueMessage(ionEvent()), deps);

    expect(outcome.status).toBe('delivered');
    expect(delivered().message.raw).toMatchObject({ order: shipped });
    expect(telemetry.lines.some((log) => log.message.startsWith('statuses superseded by a later change'))).toBe(true);
  });

  it('with v3, accepts a mismatch only when updateTimestamp is after we received the notification', async () => {
    const receivedAtSeconds = Date.parse(ionEvent().receivedAt) / 1000;
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });

    routes['/api/v3/12345/orders/124'] = {
      status: 200,
      body: { orderNumber: 124, paymentStatus: 'PAID', fulfillmentStatus: 'SHIPPED', createTimestamp: 1399393686, updateTimestamp: receivedAtSeconds + 60 },
    };
    expect((await deliverTicket(queueMessage(ionEvent()), deps)).status).toBe('delivered');

    routes['/api/v3/12345/orders/124'] = {
      status: 200,
      body: { orderNumber: 124, paymentStatus: 'PAID', fulfillmentStatus: 'SHIPPED', createTimestamp: 1399393686, updateTimestamp: receivedAtSeconds - 3600 },
    };
    // Another notification of the order (the first one is delivered: its ledger entry is final).
    expect(await deliverTicket(queueMessage(ionEvent({ eventId: 'ion-second' })), deps)).toMatchObject({ status: 'dropped', reason: 'forged' });
    expect(callback.requests).toHaveLength(1);
  });

  describe('forgeries are dropped with a reason, never delivered, retried or dead-lettered', () => {
    const v3Order = (overrides: Record<string, unknown> = {}) => ({
      id: 'XJ12H',
      orderNumber: 124,
      paymentStatus: 'PAID',
      fulfillmentStatus: 'AWAITING_PROCESSING',
      createTimestamp: 1399393686,
      updateTimestamp: 1399393686,
      ...overrides,
    });
    const expectDroppedForged = async (event: QueuedEvent, deps: DeliverDeps, telemetry: RecordingTelemetry, deadLetters: MemoryDeadLetterQueue, reason: string) => {
      const outcome = await deliverTicket(queueMessage(event), deps);
      expect(outcome).toEqual({ status: 'dropped', reason: 'forged', detail: expect.stringContaining(reason) });
      expect(callback.requests).toHaveLength(0);
      expect(await deps.ledger.get(event.instanceId, event.eventId)).toMatchObject({ status: 'dropped', reason: 'forged' });
      expect(deadLetters.entries).toEqual([]);
      expect(telemetry.countOf(DELIVER_METRICS.droppedForged)).toBe(1);
    };

    it('an order id that is not an order number never reaches the Ecwid API (`..` would list every order)', async () => {
      const { deps, telemetry, deadLetters } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
      routes['/api/v3/12345/orders/'] = { status: 200, body: { total: 2, items: [v3Order(), v3Order({ orderNumber: 125 })] } };
      await expectDroppedForged(ionEvent({ objectId: '..' }, { ...ionFixtureFields('legacy-ion-cannon-new-order.CONSTRUCTED.txt'), order_id: '..' }), deps, telemetry, deadLetters, 'is not an order number');
      expect(ecwid.requests).toEqual([]);
    });

    it('Ecwid answering with another order than the posted one', async () => {
      routes['/api/v3/12345/orders/124'] = { status: 200, body: v3Order({ id: 'ZZ9', orderNumber: 999 }) };
      const { deps, telemetry, deadLetters } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
      await expectDroppedForged(ionEvent(), deps, telemetry, deadLetters, 'Ecwid answered with another order (999, ZZ9)');
    });

    it.each(['payment_status', 'fulfillment_status'])('a post without %s (every genuine post carries both)', async (field) => {
      routes[v1OrderPath('12345', '124')] = { status: 200, body: V1_ORDERS };
      const { deps, telemetry, deadLetters } = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });
      const fields: Record<string, string> = { ...ionFixtureFields('legacy-ion-cannon-new-order.CONSTRUCTED.txt') };
      delete fields[field];
      await expectDroppedForged(ionEvent({}, fields), deps, telemetry, deadLetters, `the notification has no ${field}`);
    });

    it('new_order for an order created days before the post\'s date (v1 and v3)', async () => {
      const fields = { ...ionFixtureFields('legacy-ion-cannon-new-order.CONSTRUCTED.txt'), date: '2014-05-09 16:28:06' };
      routes[v1OrderPath('12345', '124')] = { status: 200, body: V1_ORDERS };
      const v1 = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });
      await expectDroppedForged(ionEvent({}, fields), v1.deps, v1.telemetry, v1.deadLetters, 'new_order dated 2014-05-09 16:28:06, but the order was created at 2014-05-06T16:28:06.000Z');

      routes['/api/v3/12345/orders/124'] = { status: 200, body: v3Order() };
      const v3 = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
      await expectDroppedForged(ionEvent({}, fields), v3.deps, v3.telemetry, v3.deadLetters, 'new_order dated 2014-05-09 16:28:06');
    });

    it('new_order for an order without a creation time to check it against', async () => {
      routes['/api/v3/12345/orders/124'] = { status: 200, body: v3Order({ createTimestamp: undefined }) };
      const { deps, telemetry, deadLetters } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
      await expectDroppedForged(ionEvent(), deps, telemetry, deadLetters, 'the order has no creation time');
    });

    it('still delivers a genuine new_order whose date is a few hours off the creation time (zone unknown)', async () => {
      routes['/api/v3/12345/orders/124'] = { status: 200, body: v3Order() };
      const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
      const fields = { ...ionFixtureFields('legacy-ion-cannon-new-order.CONSTRUCTED.txt'), date: '2014-05-06 09:28:06' };
      expect((await deliverTicket(queueMessage(ionEvent({}, fields)), deps)).status).toBe('delivered');
    });
  });

  it('dead-letters at once (does not drop, does not retry) when the instance has no key to verify with', async () => {
    const { deps, ledger, deadLetters } = setup();
    const outcome = await deliverTicket(queueMessage(ionEvent()), deps);
    expect(outcome).toMatchObject({
      status: 'dead-lettered',
      attempts: 1,
      error: expect.stringContaining('neither ecwid.order.key nor ecwid.access.token'),
    });
    const entry = await entryOf(ledger, ionEvent());
    expect(entry).toMatchObject({ status: 'dead-lettered', attemptCount: 1 });
    expect(entry?.attempts).toEqual([expect.objectContaining({ n: 1, outcome: 'failed', errorClass: 'config' })]);
    expect(deadLetters.entries.map((e) => e.eventId)).toEqual([ionEvent().eventId]);
  });

  it('retries an Ecwid API error and never shows the key, even though the v1 URL carries it', async () => {
    routes[v1OrderPath('12345', '124')] = { status: 502, body: `upstream error for ${SECRETS.orderKey}` };
    const { deps, ledger, telemetry } = setup({ [CONFIG_KEYS.orderKey]: SECRETS.orderKey });

    const outcome = await deliverTicket(queueMessage(ionEvent()), deps);

    const error = 'EcwidApiError: Ecwid API GET /v1/12345/orders?secure_auth_key=***&order=124 answered HTTP 502';
    expect(outcome).toEqual({ status: 'retrying', attempt: 1, nextAttemptAt: after(60), error });
    const entry = await entryOf(ledger, ionEvent());
    expect(entry).toMatchObject({ status: 'retrying', nextAttemptAt: after(60), dueAt: after(60), lastError: error });
    assertNoSecrets(outcome, telemetry.lines, entry);
  });
});

describe('deliver: webhook events are enriched with the entity', () => {
  it('fetches the product through REST v3 and sends { webhook, entity }', async () => {
    const product = { id: 66722483, name: 'Radish', price: 1.15 };
    routes['/api/v3/1003/products/66722483'] = { status: 200, body: product };
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    const event = webhookEvent();

    expect((await deliverTicket(queueMessage(event), deps)).status).toBe('delivered');
    expect(delivered().message.raw).toEqual({ webhook: event.raw, entity: product });
  });

  it.each([
    ['modern-order-updated.json', 'orders', 'B8HGD', '/api/v3/1003/orders/B8HGD'],
    ['modern-customer-created.json', 'customers', undefined, undefined],
    ['modern-category-created.json', 'categories', undefined, undefined],
  ])('fetches %s from its v3 collection (orders by data.orderId)', async (fixture, objectType, orderId, expectedPath) => {
    const raw = fixtureJson(fixture);
    const objectId = orderId ?? String(raw.entityId);
    const path = expectedPath ?? `/api/v3/${raw.storeId}/${objectType}/${objectId}`;
    routes[path] = { status: 200, body: { id: objectId } };
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    const event = webhookEvent({ raw, objectType, objectId, storeId: String(raw.storeId), eventType: 'UPDATED' });

    expect((await deliverTicket(queueMessage(event), deps)).status).toBe('delivered');
    expect(ecwid.requests.map((r) => r.url)).toEqual([path]);
    expect(delivered().message.raw).toEqual({ webhook: raw, entity: { id: objectId } });
  });

  it('treats a 404 as an answer: entity null, delivered', async () => {
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    const event = webhookEvent();
    expect((await deliverTicket(queueMessage(event), deps)).status).toBe('delivered');
    expect(delivered().message.raw).toEqual({ webhook: event.raw, entity: null });
  });

  it('retries a 500 from the Ecwid API instead of delivering without the entity', async () => {
    routes['/api/v3/1003/products/66722483'] = { status: 500 };
    const { deps, ledger, telemetry } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });

    const outcome = await deliverTicket(queueMessage(webhookEvent()), deps);

    expect(outcome).toMatchObject({ status: 'retrying', nextAttemptAt: after(60) });
    expect(callback.requests).toHaveLength(0);
    expect((await entryOf(ledger, webhookEvent()))?.attempts).toEqual([
      expect.objectContaining({ n: 1, outcome: 'failed', errorClass: 'error', error: expect.stringContaining('HTTP 500') }),
    ]);
    expect(telemetry.countOf(DELIVER_METRICS.failed)).toBe(1);
    expect(telemetry.countOf(DELIVER_METRICS.retried)).toBe(1);
  });

  it("honours the Ecwid API's Retry-After on 429", async () => {
    routes['/api/v3/1003/products/66722483'] = { status: 429, headers: { 'retry-after': '900' } };
    const { deps, ledger } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    expect(await deliverTicket(queueMessage(webhookEvent()), deps)).toMatchObject({ status: 'retrying', nextAttemptAt: after(900) });
    expect(await entryOf(ledger, webhookEvent())).toMatchObject({ status: 'retrying', dueAt: after(900) });
  });

  it('reads products through the legacy v1 Product API when only ecwid.product.key is set', async () => {
    const product = fixtureJson('legacy-product-api-v1-product-entry.json');
    routes[`/api/v1/1003/product?id=66722483&secure_auth_key=${SECRETS.productKey}`] = { status: 200, body: product };
    const { deps } = setup({ [CONFIG_KEYS.productKey]: SECRETS.productKey });
    const event = webhookEvent();

    expect((await deliverTicket(queueMessage(event), deps)).status).toBe('delivered');
    expect(delivered().message.raw).toEqual({ webhook: event.raw, entity: product });
  });

  it('does not fetch types it does not enrich, or without credentials', async () => {
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    const coupon = webhookEvent({ eventId: 'coupon', objectType: 'discountCoupons', objectId: '5', ecwidEventType: 'discount_coupon.updated' });
    const deleted = webhookEvent({ eventId: 'deleted', eventType: 'DELETED', ecwidEventType: 'product.deleted' });
    await deliverTicket(queueMessage(coupon), deps);
    await deliverTicket(queueMessage(deleted), setup().deps);
    await deliverTicket(queueMessage(webhookEvent()), setup().deps);

    expect(ecwid.requests).toHaveLength(0);
    expect(callback.requests.map((r) => Object.keys(JSON.parse(r.body.toString()).message.raw))).toEqual([
      ['webhook'],
      ['webhook'],
      ['webhook'],
    ]);
  });

  it('a deleted entity that Ecwid still has is dropped as forged, never delivered as DELETED (the body is not signed)', async () => {
    const { deps, telemetry, ledger, deadLetters } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    routes['/api/v3/1003/products/66722483'] = { status: 200, body: { id: 66722483, name: 'Still here' } };
    const deleted = webhookEvent({ eventType: 'DELETED', ecwidEventType: 'product.deleted' });

    const outcome = await deliverTicket(queueMessage(deleted), deps);

    expect(outcome).toEqual({ status: 'dropped', reason: 'forged', detail: 'products 66722483 was reported deleted but still exists' });
    expect(callback.requests).toHaveLength(0);
    expect(await entryOf(ledger, deleted)).toMatchObject({ status: 'dropped', reason: 'forged' });
    expect(deadLetters.entries).toEqual([]);
    expect(telemetry.countOf(DELIVER_METRICS.droppedForged)).toBe(1);
  });

  it('a deleted entity that Ecwid no longer has (404) is delivered as DELETED with the webhook only', async () => {
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    const deleted = webhookEvent({ eventType: 'DELETED', ecwidEventType: 'product.deleted' });
    expect((await deliverTicket(queueMessage(deleted), deps)).status).toBe('delivered');
    expect(ecwid.requests.map((r) => r.url)).toEqual(['/api/v3/1003/products/66722483']);
    expect(delivered().message.raw).toEqual({ webhook: deleted.raw });
  });

  it('sends polled objects as { entity }', async () => {
    const { deps } = setup({ [CONFIG_KEYS.accessToken]: SECRETS.token });
    const polled = { id: 7, name: 'Polled product' };
    expect((await deliverTicket(queueMessage(webhookEvent({ source: 'poll', raw: polled })), deps)).status).toBe('delivered');
    expect(delivered().message.raw).toEqual({ entity: polled });
    expect(ecwid.requests).toHaveLength(0);
  });
});

describe('deliver: the callback request', () => {
  it('is signed with both schemes over the exact bytes sent, with the delivery id in the id headers', async () => {
    const { deps } = setup({ [CONFIG_KEYS.signatureKey]: SECRETS.signatureKey, [CONFIG_KEYS.webhookSecret]: SECRETS.webhookSecret });
    await deliverTicket(queueMessage(webhookEvent()), { ...deps, clock: () => new Date() });

    const [request] = callback.requests;
    expect(request.headers['elements-webhook-id']).toBe('shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0');
    expect(request.headers['elements-webhook-signature']).toBe(elementsWebhookSignature(SECRETS.signatureKey, request.body));
    expect(request.headers['webhook-id']).toBe('shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0');
    expect(() => new Webhook(SECRETS.webhookSecret).verify(request.body.toString('utf8'), headersOf(request))).not.toThrow();
  });

  it('sends the same bytes and ids on a retry, once it is due (a ticket before then is skipped)', async () => {
    const { deps } = setup({ [CONFIG_KEYS.signatureKey]: SECRETS.signatureKey });
    callback.reply = () => ({ status: 500 });
    const event = webhookEvent();
    expect((await deliverTicket(queueMessage(event), deps)).status).toBe('retrying');
    callback.reply = () => ({ status: 200 });
    // A duplicate ticket before the backoff is over: nothing is sent.
    expect(await deliverTicket(queueMessage(event), deps)).toEqual({ status: 'skipped', reason: `not due until ${after(60)}` });
    expect(callback.requests).toHaveLength(1);
    expect((await deliverTicket(queueMessage(event), { ...deps, clock: () => new Date(NOW.getTime() + 60_000) })).status).toBe('delivered');

    const [first, second] = callback.requests;
    expect(second.body.equals(first.body)).toBe(true);
    expect(second.headers['elements-webhook-id']).toBe(first.headers['elements-webhook-id']);
    expect(second.headers['elements-webhook-signature']).toBe(first.headers['elements-webhook-signature']);
  });

  it('backs off by the attempt number counted in the ledger (not the receive count) and honours the callback Retry-After', async () => {
    const { deps, ledger } = setup();
    callback.reply = () => ({ status: 503, headers: { 'retry-after': '7200' } });
    expect(await deliverTicket(queueMessage(webhookEvent(), { receiveCount: 5 }), deps)).toMatchObject({ attempt: 1, nextAttemptAt: after(7200) });

    const other = webhookEvent({ eventId: 'evt-after-3', objectId: '2' });
    await afterFailedAttempts(ledger, other, 3);
    callback.reply = () => ({ status: 500 });
    expect(await deliverTicket(queueMessage(other, { receiveCount: 1 }), deps)).toMatchObject({ attempt: 4, nextAttemptAt: after(1800) });
  });

  it('records every attempt: time, duration, HTTP status, error class and a redacted answer excerpt of at most 1 KB', async () => {
    const { deps, ledger } = setup({ [CONFIG_KEYS.signatureKey]: SECRETS.signatureKey });
    callback.reply = () => ({ status: 500, body: `nope ${SECRETS.signatureKey} ${'x'.repeat(3000)}` });
    await deliverTicket(queueMessage(webhookEvent()), deps);
    callback.reply = () => ({ status: 200, body: { ok: true } });
    await deliverTicket(queueMessage(webhookEvent()), { ...deps, clock: () => new Date(NOW.getTime() + 60_000) });

    const entry = await entryOf(ledger, webhookEvent());
    expect(entry).toMatchObject({ status: 'delivered', attemptCount: 2 });
    const [failed, ok] = entry!.attempts;
    expect(failed).toMatchObject({ n: 1, at: NOW.toISOString(), outcome: 'failed', httpStatus: 500, errorClass: 'http' });
    expect(failed.excerpt).toMatch(/^nope \*\*\* x+…$/);
    expect(Buffer.byteLength(failed.excerpt!)).toBeLessThanOrEqual(1024);
    expect(ok).toMatchObject({ n: 2, outcome: 'delivered', httpStatus: 200, excerpt: '{"ok":true}' });
    expect(typeof ok.durationMs).toBe('number');
    assertNoSecrets(entry);
  });

  it('dead-letters at once a callback URL that points inside (SSRF), without connecting', async () => {
    const { deps, ledger, deadLetters } = setup({ [CONFIG_KEYS.callbackUrl]: 'https://169.254.169.254/latest/meta-data/' });
    const outcome = await deliverTicket(queueMessage(webhookEvent()), { ...deps, urlPolicy: { allowHttp: false, allowHosts: [] } });
    expect(outcome).toMatchObject({
      status: 'dead-lettered',
      attempts: 1,
      error: expect.stringContaining('callback URL refused: callback host 169.254.169.254 resolves to 169.254.169.254 (link-local'),
    });
    expect((await entryOf(ledger, webhookEvent()))?.attempts).toEqual([expect.objectContaining({ errorClass: 'url-refused' })]);
    expect(deadLetters.entries).toHaveLength(1);
    expect(callback.requests).toHaveLength(0);
  });

  it('retries (not a refusal) a callback host that does not resolve: DNS may come back', async () => {
    const { deps } = setup({ [CONFIG_KEYS.callbackUrl]: 'https://receiver.invalid/hook' });
    const unresolvable = { ...deps, resolveHost: () => Promise.reject(Object.assign(new Error('nope'), { code: 'ENOTFOUND' })) };
    expect(await deliverTicket(queueMessage(webhookEvent()), unresolvable)).toMatchObject({
      status: 'retrying',
      error: 'callback URL refused: callback host receiver.invalid does not resolve (ENOTFOUND)',
    });
  });

  it('dead-letters at once when the instance has no callback URL', async () => {
    const { deps } = setup({ [CONFIG_KEYS.callbackUrl]: '' });
    expect(await deliverTicket(queueMessage(webhookEvent()), deps)).toMatchObject({
      status: 'dead-lettered',
      error: 'instance has no event.notification.callback.url',
    });
  });
});

describe('deliver: the last attempt, bad messages and gone instances', () => {
  it('dead-letters the event after its last attempt counted in the ledger, with the last error, and reports it handled', async () => {
    callback.reply = () => ({ status: 500 });
    const { deps, ledger, deadLetters, telemetry } = setup();
    await afterFailedAttempts(ledger, webhookEvent(), DEFAULT_RETRY_POLICY.maxAttempts - 1);

    // A receive count of 1: SQS's count says nothing about the attempts.
    const outcome = await deliverTicket(queueMessage(webhookEvent(), { receiveCount: 1 }), deps);

    const lastError = `callback ${callback.origin} answered HTTP 500`;
    expect(outcome).toEqual({ status: 'dead-lettered', attempts: 11, error: lastError });
    const entry = await entryOf(ledger, webhookEvent());
    expect(entry).toMatchObject({ status: 'dead-lettered', attemptCount: 11, lastError });
    expect(entry?.attempts).toHaveLength(11);
    expect(deadLetters.entries).toEqual([entry]);
    expect(telemetry.countOf(DELIVER_METRICS.failed)).toBe(1);
    expect(telemetry.countOf(DELIVER_METRICS.deadLettered)).toBe(1);
  });

  it('lets the record fail when the DLQ cannot take the message (SQS keeps it; the claim expires and is retried)', async () => {
    callback.reply = () => ({ status: 500 });
    const { deps, ledger, deadLetters } = setup();
    await afterFailedAttempts(ledger, webhookEvent(), DEFAULT_RETRY_POLICY.maxAttempts - 1);
    deadLetters.failure = new Error('DLQ down');
    await expect(deliverTicket(queueMessage(webhookEvent()), deps)).rejects.toThrow('DLQ down');
    expect(await entryOf(ledger, webhookEvent())).toMatchObject({ status: 'delivering' });
  });

  it('lets the record fail when the ledger is down, before anything is sent', async () => {
    const { deps, ledger } = setup();
    ledger.failure = new Error('DynamoDB throttled');
    await expect(deliverTicket(queueMessage(webhookEvent()), deps)).rejects.toThrow('DynamoDB throttled');
    expect(callback.requests).toHaveLength(0);
  });

  it('a finished event is never sent again by a stale or repeated ticket', async () => {
    const { deps } = setup();
    expect((await deliverTicket(queueMessage(webhookEvent()), deps)).status).toBe('delivered');
    expect(await deliverTicket(queueMessage(webhookEvent()), deps)).toEqual({ status: 'skipped', reason: 'already delivered' });
    expect(callback.requests).toHaveLength(1);
  });

  it("an event waits (parked) while an earlier event of its object is unfinished, and gets its ticket when that one ends", async () => {
    const { deps, ledger, tickets } = setup();
    const first = webhookEvent({ eventId: 'first', receivedAt: '2024-03-01T11:59:00.000Z' });
    const second = webhookEvent({ eventId: 'second' });
    callback.reply = () => ({ status: 500 });
    expect((await deliverTicket(queueMessage(first), deps)).status).toBe('retrying');
    expect(await deliverTicket(queueMessage(second), deps)).toEqual({ status: 'parked', blockedBy: 'first' });
    expect(callback.requests).toHaveLength(1);

    callback.reply = () => ({ status: 200 });
    const later = { ...deps, clock: () => new Date(NOW.getTime() + 60_000) };
    expect((await deliverTicket(queueMessage(first), later)).status).toBe('delivered');
    expect(tickets.sent.map((t) => t.event.eventId)).toEqual(['second']);
    expect(await entryOf(ledger, second)).toMatchObject({ status: 'queued' });
    expect((await deliverTicket(queueMessage(second), later)).status).toBe('delivered');
  });

  it("a replay of the event's DLQ copy starts a new round; any other ticket for it is skipped", async () => {
    callback.reply = () => ({ status: 500 });
    const { deps, ledger } = setup({}, {});
    const policy = { scheduleSeconds: [60], maxAttempts: 1 };
    const dead = await deliverTicket(queueMessage(webhookEvent()), { ...deps, retryPolicy: policy });
    expect(dead.status).toBe('dead-lettered');
    const entry = (await entryOf(ledger, webhookEvent()))!;
    expect(await deliverTicket(queueMessage(webhookEvent()), { ...deps, retryPolicy: policy })).toMatchObject({ status: 'skipped' });
    // An old DLQ copy (another version) does not start a round either.
    expect(await deliverTicket(queueMessage(webhookEvent(), { deadLetteredVersion: entry.version - 1 }), deps)).toMatchObject({ status: 'skipped' });

    callback.reply = () => ({ status: 200 });
    expect((await deliverTicket(queueMessage(webhookEvent(), { deadLetteredVersion: entry.version }), { ...deps, retryPolicy: policy })).status).toBe('delivered');
    expect(await entryOf(ledger, webhookEvent())).toMatchObject({ status: 'delivered', resendCount: 1, attemptCount: 2, roundStart: 1 });
  });

  it.each([
    ['not json', 'unparseable message: body is not JSON'],
    ['[1,2]', 'unparseable message: body is not a JSON object'],
    ['{}', 'unparseable message: unsupported schema version undefined; eventId must be a non-empty string'],
  ])('sends the unparseable body %j straight to the DLQ on the first attempt', async (body, error) => {
    const { deps, deadLetters, ledger } = setup();
    const outcome = await deliverTicket(queueMessage(body), deps);
    expect(outcome).toMatchObject({ status: 'dead-lettered', error: expect.stringContaining(error) });
    expect(deadLetters.messages).toHaveLength(1);
    expect(deadLetters.messages[0].message.body).toBe(body);
    expect(deadLetters.messages[0].details).toEqual({ attempts: 0, lastError: expect.any(String), firstReceivedAt: "2024-03-01T12:00:01.000Z", lastAttemptAt: NOW.toISOString() });
    expect(ledger.entries.size).toBe(0);
  });

  it('drops the event of an instance deleted after it was queued', async () => {
    const { deps, ledger, telemetry } = setup({}, { register: false });
    expect(await deliverTicket(queueMessage(webhookEvent()), deps)).toEqual({
      status: 'dropped',
      reason: 'instance-deleted',
      detail: 'instance shop-a no longer exists',
    });
    expect(callback.requests).toHaveLength(0);
    expect(await entryOf(ledger, webhookEvent())).toMatchObject({ status: 'dropped', reason: 'instance-deleted' });
    expect(telemetry.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'dropped: instance shop-a no longer exists' }));
  });

  it('drops the event of an instance disabled after it was queued', async () => {
    const { deps, ledger } = setup({ [CONFIG_KEYS.enabled]: false });
    expect(await deliverTicket(queueMessage(webhookEvent()), deps)).toMatchObject({ status: 'dropped', reason: 'instance-disabled' });
    expect(callback.requests).toHaveLength(0);
    expect(await entryOf(ledger, webhookEvent())).toMatchObject({ status: 'dropped' });
  });

  it('retries when the instance store is unavailable', async () => {
    const { deps } = setup();
    const down = { ...deps, instances: { get: () => Promise.reject(new Error('SSM throttled')), findByStore: async () => [] } };
    expect(await deliverTicket(queueMessage(webhookEvent()), down)).toMatchObject({ status: 'retrying', error: 'SSM throttled' });
  });
});

describe('deliver: secrets', () => {
  it('never appear in logs, outcomes or DLQ attributes, whatever fails', async () => {
    const configuration = {
      [CONFIG_KEYS.orderKey]: SECRETS.orderKey,
      [CONFIG_KEYS.productKey]: SECRETS.productKey,
      [CONFIG_KEYS.accessToken]: SECRETS.token,
      [CONFIG_KEYS.signatureKey]: SECRETS.signatureKey,
      [CONFIG_KEYS.webhookSecret]: SECRETS.webhookSecret,
    };
    const outcomes: unknown[] = [];
    // An Ecwid failure, a callback failure (with a token in the callback URL), and a DLQ entry.
    routes['/api/v3/1003/products/66722483'] = { status: 503 };
    const first = setup(configuration);
    outcomes.push(await deliverTicket(queueMessage(webhookEvent()), first.deps));

    routes['/api/v3/1003/products/66722483'] = { status: 200, body: {} };
    callback.reply = () => ({ status: 500, body: `echo ${SECRETS.token} ${SECRETS.webhookSecret}` });
    const last = setup({ ...configuration, [CONFIG_KEYS.callbackUrl]: `${callback.origin}/hook?token=${SECRETS.token}` });
    await afterFailedAttempts(last.ledger, webhookEvent(), 10);
    outcomes.push(await deliverTicket(queueMessage(webhookEvent()), last.deps));

    expect(outcomes.map((o) => (o as { status: string }).status)).toEqual(['retrying', 'dead-lettered']);
    assertNoSecrets(outcomes, first.telemetry.lines, last.telemetry.lines, [...first.ledger.entries.values()], [...last.ledger.entries.values()], last.deadLetters.entries);
  });

  it('hide the password of a user:pass@ callback URL, even when a failure echoes the URL', async () => {
    const password = 'Cb-Pa55word-91';
    routes['/api/v3/1003/products/66722483'] = { status: 200, body: {} };
    const { deps, telemetry, ledger, deadLetters } = setup({
      [CONFIG_KEYS.accessToken]: SECRETS.token,
      [CONFIG_KEYS.callbackUrl]: `http://receiver:${password}@127.0.0.1:${new URL(callback.origin).port}/hook`,
    });
    // A network library that puts the whole target URL in its error text.
    const echoing: DeliverDeps = { ...deps, sender: { send: async ({ target }) => ({ ok: false, error: `connect failed: ${target.url.href}` }) } };

    const retried = await deliverTicket(queueMessage(webhookEvent()), echoing);
    const dead = await deliverTicket(queueMessage(webhookEvent()), { ...echoing, clock: () => new Date(NOW.getTime() + 60_000), retryPolicy: { scheduleSeconds: [60], maxAttempts: 2 } });

    expect(retried).toMatchObject({ status: 'retrying', error: expect.stringContaining('connect failed: http://receiver:***@127.0.0.1') });
    expect(dead.status).toBe('dead-lettered');
    expect(JSON.stringify([retried, dead, telemetry.lines, [...ledger.entries.values()], deadLetters.entries])).not.toContain(password);
  });
});

describe('parseQueuedEvent', () => {
  it('accepts what ingest queues and lists every problem of what it does not', () => {
    const event: QueuedEvent = webhookEvent();
    expect(parseQueuedEvent(JSON.stringify(event))).toEqual({ ok: true, event });
    const broken = { ...event, v: 2, source: 'email', eventType: 'MOVED', raw: 'x', verified: 'yes', receivedAt: 'later' };
    expect(parseQueuedEvent(JSON.stringify(broken))).toEqual({
      ok: false,
      error:
        'unsupported schema version 2; source must be one of ion, webhook, poll; eventType must be one of CREATED, UPDATED, DELETED, UNKNOWN; receivedAt must be an ISO 8601 time; verified must be a boolean; raw must be an object',
    });
  });
});

function headersOf(request: RecordedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]));
}

describe('deliver: the instance is read beside the ledger', () => {
  it('asks the instance lookup to read ahead before the ledger has answered its first read', async () => {
    const { deps, ledger } = setup();
    const order: string[] = [];
    const ledgerGet = ledger.get.bind(ledger);
    ledger.get = async (instanceId, eventId) => {
      order.push('ledger.get');
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push('ledger.get answered');
      return ledgerGet(instanceId, eventId);
    };
    const instanceGet = deps.instances.get.bind(deps.instances);
    const instances = {
      get: (id: string) => instanceGet(id),
      findByStore: (storeId: string) => deps.instances.findByStore(storeId),
      readAhead: (id: string) => order.push(`readAhead ${id}`),
    };

    const outcome = await deliverTicket(queueMessage(webhookEvent({ verified: true })), { ...deps, instances });

    expect(order.slice(0, 3)).toEqual(['readAhead shop-a', 'ledger.get', 'ledger.get answered']);
    expect(outcome.status).toBe('delivered');
  });
});
