/**
 * Issue 15 against the ingest handler: what a forger or a replaying attacker can send to the
 * shared URL, and what Ecwid is answered. Each case failed before the fix it belongs to.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { INGEST_METRICS } from '../../functions/contract';
import { CONFIG_KEYS, isSecretKey, secretValuesOf, type Instance } from '../../functions/core/instance';
import { createIngestHandler } from '../../functions/ingest/handler';
import { fixtureText } from '../../testkit/fixtures';
import { ionEvent, webhookBody, webhookEvent } from '../../testkit/events';
import { ingestConfigFrom } from '../../functions/config';
import { MemoryEventQueue, MemoryInstanceStore } from '../../testkit/ports';
import { FIXED_NOW, fixedClock, makeInstance, SECRET_A, SECRET_B } from '../core/ingest-fakes';

const ION_NEW_ORDER = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim();
const ION_STORE = '12345';
/** Set up for ION as the seed's instances are: the legacy order key. */
const legacy = (id: string, extra: Instance['document']['configuration'] = {}): Instance => makeInstance(id, { storeId: ION_STORE, extra });

class CountingMetrics {
  readonly added: Array<{ name: string; value: number }> = [];
  addMetric(name: string, _unit: unknown, value: number): void {
    this.added.push({ name, value });
  }
  publishStoredMetrics(): void {}
  total(name: string): number {
    return this.added.filter((metric) => metric.name === name).reduce((sum, metric) => sum + metric.value, 0);
  }
}

function setup(instances: Instance[], options: { webhookMaxAgeSeconds?: number } = {}) {
  const store = new MemoryInstanceStore(instances);
  const queue = new MemoryEventQueue();
  const metrics = new CountingMetrics();
  const logs: Array<{ level: string; message: string; attributes: unknown }> = [];
  const log = (level: string) => (message: string, attributes?: unknown) => logs.push({ level, message, attributes });
  const logger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
  const handler = createIngestHandler({ instances: store, queue, clock: fixedClock, logger, metrics, ...options });
  const call = async (event: APIGatewayProxyEventV2) => {
    const result = await handler(event);
    return { status: result.statusCode, body: JSON.parse(String(result.body)) as Record<string, unknown> };
  };
  return { queue, metrics, logs, call };
}

/** Set up for signed webhooks only: client secret and token, no legacy order key. */
const webhooksOnly = (id: string, extra: Instance['document']['configuration'] = {}): Instance =>
  makeInstance(id, {
    storeId: ION_STORE,
    clientSecret: SECRET_A,
    extra: { [CONFIG_KEYS.orderKey]: '', [CONFIG_KEYS.accessToken]: `secret_token_of_${id}`, ...extra },
  });

describe('ION is taken only by instances set up for it', () => {
  it('an instance configured for signed webhooks only never gets an ION post (answered 200, dropped, counted)', async () => {
    const { queue, metrics, logs, call } = setup([webhooksOnly('hooks'), legacy('legacy')]);

    const answer = await call(ionEvent(ION_NEW_ORDER));

    expect(answer.status).toBe(200);
    expect(queue.events.map((event) => event.instanceId)).toEqual(['legacy']);
    expect(metrics.total(INGEST_METRICS.droppedIonRefused)).toBe(1);
    expect(logs).toContainEqual(
      expect.objectContaining({ level: 'warn', message: expect.stringContaining('does not take ION posts'), attributes: expect.objectContaining({ instanceId: 'hooks' }) }),
    );
  });

  it('a store whose only instance refuses ION: 200 (Ecwid must not retry), nothing queued', async () => {
    const { queue, call } = setup([webhooksOnly('hooks')]);
    const answer = await call(ionEvent(ION_NEW_ORDER));
    expect(answer).toEqual({ status: 200, body: { queued: 0, eventId: expect.stringMatching(/^ion-/) } });
    expect(queue.events).toEqual([]);
  });

  it(`${CONFIG_KEYS.ionEnabled} = true turns ION on for a token-only instance; false turns it off even with the order key`, async () => {
    const { queue, call } = setup([
      webhooksOnly('opted-in', { [CONFIG_KEYS.ionEnabled]: 'true' }),
      legacy('opted-out', { [CONFIG_KEYS.ionEnabled]: false }),
      // On, but nothing to verify with: still refused.
      legacy('no-keys', { [CONFIG_KEYS.orderKey]: '', [CONFIG_KEYS.ionEnabled]: 'true' }),
    ]);
    await call(ionEvent(ION_NEW_ORDER));
    expect(queue.events.map((event) => event.instanceId)).toEqual(['opted-in']);
  });

  it('the per-instance route refuses ION for a webhook-only instance too', async () => {
    const { queue, call } = setup([webhooksOnly('hooks')]);
    expect((await call(ionEvent(ION_NEW_ORDER, { instanceId: 'hooks' }))).status).toBe(200);
    expect(queue.events).toEqual([]);
  });
});

describe('forged ION bodies are refused before anything is queued', () => {
  it.each([
    ['order_id=..', ION_NEW_ORDER.replace('order_id=124', 'order_id=..'), 'order_id'],
    ['no statuses', 'owner_id=12345&event_type=new_order&order_id=124&date=2014-05-06+16%3A28%3A06', 'payment_status'],
    ['no date', 'owner_id=12345&event_type=new_order&order_id=124&payment_status=PAID&fulfillment_status=NEW', 'date'],
  ])('%s: 400 naming the field', async (_name, form, field) => {
    const { queue, call } = setup([legacy('legacy')]);
    expect(await call(ionEvent(form))).toMatchObject({ status: 400, body: { field } });
    expect(queue.events).toEqual([]);
  });

  it('extra form fields never reach the queued event (raw keeps the known ION fields only)', async () => {
    const { queue, call } = setup([legacy('legacy')]);
    await call(ionEvent(`${ION_NEW_ORDER}&injected=%3Cscript%3Ex%3C%2Fscript%3E&__proto__=y&constructor=z`));
    expect(queue.events).toHaveLength(1);
    expect(Object.keys(queue.events[0].raw).sort()).toEqual(['date', 'event_type', 'fulfillment_status', 'order_id', 'owner_id', 'payment_status']);
  });
});

describe('webhook freshness: a captured signature does not work forever', () => {
  const NOW_SECONDS = Math.floor(FIXED_NOW.getTime() / 1000);
  const window = ingestConfigFrom({}).webhookMaxAgeSeconds;
  const signed = (eventCreated: number, overrides: Record<string, unknown> = {}) =>
    webhookEvent(webhookBody({ eventCreated, ...overrides }), SECRET_A);

  it('the deployed default window is 48 h (wider than Ecwid\'s retry span)', () => {
    expect(window).toBe(48 * 3600);
  });

  it('an old signature with a tampered body (order.deleted) is answered 200, not queued, counted', async () => {
    const { queue, metrics, logs, call } = setup([makeInstance('shop-a', { clientSecret: SECRET_A })], { webhookMaxAgeSeconds: window });
    const answer = await call(signed(978307200 /* 2001 */, { eventType: 'order.deleted' }));
    expect(answer).toMatchObject({ status: 200, body: { queued: 0 } });
    expect(queue.events).toEqual([]);
    expect(metrics.total(INGEST_METRICS.droppedStale)).toBe(1);
    expect(logs).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('eventCreated is') }));
  });

  it.each([
    ['just inside the window', NOW_SECONDS - window + 60, 1],
    ['just outside the window', NOW_SECONDS - window - 60, 0],
    ['a few minutes ahead (clock skew)', NOW_SECONDS + 300, 1],
    ['an hour in the future', NOW_SECONDS + 3600, 0],
  ])('%s', async (_name, eventCreated, queued) => {
    const { queue, call } = setup([makeInstance('shop-a', { clientSecret: SECRET_A })], { webhookMaxAgeSeconds: window });
    expect((await call(signed(eventCreated))).status).toBe(200);
    expect(queue.events).toHaveLength(queued);
  });

  it('is decided before any instance lookup (a stale flood costs no config read)', async () => {
    const store = new MemoryInstanceStore([]);
    store.failure = new Error('must not be read');
    const handler = createIngestHandler({ instances: store, queue: new MemoryEventQueue(), clock: fixedClock, webhookMaxAgeSeconds: window, logger: { info: () => {}, warn: () => {}, error: () => {} }, metrics: new CountingMetrics() });
    expect((await handler(signed(NOW_SECONDS - 10 * 86400))).statusCode).toBe(200);
  });
});

describe('the shared URL never makes Ecwid retry what a retry cannot fix, and tells a caller nothing', () => {
  const customer = () => makeInstance('shop-a', { storeId: '1003', clientSecret: SECRET_A });

  it('an unknown store and a bad signature for a customer store get the same 200, nothing queued, each counted', async () => {
    const { queue, metrics, call } = setup([customer()]);
    const unknownStore = await call(webhookEvent(webhookBody({ storeId: 4000 }), SECRET_B));
    const badSignature = await call(webhookEvent(webhookBody({ storeId: 1003 }), SECRET_B));
    const unsigned = await call(webhookEvent(webhookBody({ storeId: 1003 }), null));

    expect(unknownStore).toEqual(badSignature);
    expect(unsigned).toEqual(badSignature);
    expect(badSignature).toEqual({ status: 200, body: { queued: 0, eventId: webhookBody().eventId } });
    expect(queue.events).toEqual([]);
    expect(metrics.total(INGEST_METRICS.droppedUnknownStore)).toBe(1);
    expect(metrics.total(INGEST_METRICS.droppedBadSignature)).toBe(2);
  });

  it('the 200 of a queued event lists no instance ids', async () => {
    const { queue, call } = setup([customer(), makeInstance('shop-b', { storeId: '1003', clientSecret: SECRET_A })]);
    const answer = await call(webhookEvent(webhookBody(), SECRET_A));
    expect(answer).toEqual({ status: 200, body: { queued: 2, eventId: webhookBody().eventId } });
    expect(JSON.stringify(answer)).not.toMatch(/shop-[ab]/);
    expect(queue.events).toHaveLength(2);
  });

  it('a disabled customer instance answers an unsigned webhook exactly as an unknown store does', async () => {
    const { call } = setup([makeInstance('off', { storeId: '1003', clientSecret: SECRET_A, enabled: 'false' })]);
    expect(await call(webhookEvent(webhookBody({ storeId: 1003 }), null))).toEqual(await call(webhookEvent(webhookBody({ storeId: 4000 }), null)));
  });
});

describe('permanently bad bodies get a 4xx, never a 503 (which Ecwid would retry for ever)', () => {
  it('a webhook nested 10,000 deep: 400, nothing queued', async () => {
    const { queue, call } = setup([makeInstance('shop-a', { clientSecret: SECRET_A })]);
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    const body = JSON.stringify(webhookBody()).replace(/}$/, `,"extra":${deep}}`);
    const event = webhookEvent(webhookBody(), SECRET_A);
    const answer = await call({ ...event, body, headers: { ...event.headers, 'content-length': String(body.length) } });
    expect(answer).toMatchObject({ status: 400, body: { field: 'body', error: 'request body is nested more than 64 levels deep' } });
    expect(queue.events).toEqual([]);
  });

  it('brackets inside strings do not count, and an ordinary nested body is taken', async () => {
    const { queue, call } = setup([makeInstance('shop-a', { clientSecret: SECRET_A })]);
    const body = webhookBody({ data: { orderId: 'X', note: '['.repeat(500), nested: { a: { b: { c: [1, [2, [3]]] } } } } });
    expect((await call(webhookEvent(body, SECRET_A))).status).toBe(200);
    expect(queue.events).toHaveLength(1);
  });
});

describe('client secret rotation: the current and the previous secret both verify', () => {
  const rotating = () =>
    makeInstance('shop-a', { clientSecret: SECRET_B, extra: { [CONFIG_KEYS.clientSecretPrevious]: SECRET_A } });

  it('a webhook signed with the previous secret (Ecwid still retrying) and one with the new secret are both queued', async () => {
    const { queue, call } = setup([rotating()]);
    await call(webhookEvent(webhookBody({ eventId: 'signed-old' }), SECRET_A));
    await call(webhookEvent(webhookBody({ eventId: 'signed-new' }), SECRET_B));
    expect(queue.events.map((event) => event.eventId)).toEqual(['signed-old', 'signed-new']);
  });

  it('a third secret does not verify; neither secret appears in any answer or log line', async () => {
    const { queue, call, logs } = setup([rotating()]);
    const answer = await call(webhookEvent(webhookBody(), 'some-other-secret'));
    expect(answer.body).toMatchObject({ queued: 0 });
    expect(queue.events).toEqual([]);
    const everything = JSON.stringify(answer) + JSON.stringify(logs);
    expect(everything).not.toContain(SECRET_A);
    expect(everything).not.toContain(SECRET_B);
  });

  it('the previous secret is a secret: hidden wherever secrets are', () => {
    expect(isSecretKey(CONFIG_KEYS.clientSecretPrevious)).toBe(true);
    expect(secretValuesOf(rotating())).toEqual(expect.arrayContaining([SECRET_A, SECRET_B]));
  });
});
