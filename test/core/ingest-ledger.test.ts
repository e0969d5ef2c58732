/**
 * Ingest with the event ledger: what it records before it answers, and what a repeat, a resumed
 * fan-out, a disabled instance and a reserved event id get. The real DynamoDB adapter on the
 * embedded engine (dynalite); the same handler on moto's DynamoDB + SQS is in
 * test/integration/ingest-ledger.integration.test.ts.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { INGEST_METRICS } from '../../functions/contract';
import type { QueuedEvent } from '../../functions/core/event';
import { ingest, type IngestRequest } from '../../functions/core/ingest';
import { CONFIG_KEYS, type Instance } from '../../functions/core/instance';
import { claim, finishAttempt, type Ledger, type LedgerEntry } from '../../functions/core/ledger';
import { DEFAULT_RETRY_POLICY } from '../../functions/core/retry-policy';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { fixtureJson, fixtureText } from '../../testkit/fixtures';
import { MemoryEventQueue, MemoryInstanceStore, RecordingTelemetry } from '../../testkit/ports';
import { ionRequest, makeInstance, SECRET_A, SECRET_B, webhookRequest } from './ingest-fakes';

const T0 = new Date('2024-03-01T12:00:00.000Z');
const ORDER = fixtureJson<Record<string, unknown> & { eventId: string }>('modern-order-updated.json');
const ION_NEW_ORDER = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt').trim();

let server: DynamoDbEndpoint;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client.destroy();
  await server.stop();
});

async function setup(instances: Instance[] = [makeInstance('shop-a', { clientSecret: SECRET_A }), makeInstance('shop-b', { clientSecret: SECRET_A })]) {
  const tableName = `ingest-${++tables}`;
  await ensureLedgerTable(client, tableName);
  const now = { value: T0 };
  const clock = () => now.value;
  const ledger = new DynamoDbLedger({ tableName, client, clock });
  const queue = new MemoryEventQueue();
  const telemetry = new RecordingTelemetry();
  const store = new MemoryInstanceStore(instances);
  const run = (request: IngestRequest, overrides: { ledger?: Ledger } = {}) =>
    ingest(request, { instances: store, queue, clock, telemetry, ledger: overrides.ledger ?? ledger });
  const entry = (instanceId: string, eventId = ORDER.eventId) => ledger.get(instanceId, eventId);
  /** What deliver writes for a delivered first attempt made without a claim: one write, the outcome. */
  const deliver = async (instanceId: string, eventId = ORDER.eventId) => {
    const read = (await entry(instanceId, eventId))!;
    const next = finishAttempt(claim(read, now.value), { ok: true, httpStatus: 200, durationMs: 5 }, now.value, DEFAULT_RETRY_POLICY);
    expect(await ledger.update({ ...next, version: read.version + 1 })).toBe(true);
  };
  return { ledger, queue, telemetry, now, run, entry, deliver };
}

const minutesAfter = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

describe('ingest records each event in the ledger before it answers', () => {
  test('a new event: recorded (one write each), then queued; the entry carries exactly what was queued', async () => {
    const h = await setup();

    const result = await h.run(webhookRequest(ORDER));

    expect(result).toEqual({ status: 200, body: { queued: 2, eventId: ORDER.eventId } });
    for (const event of h.queue.events) {
      const entry = await h.entry(event.instanceId);
      expect(entry).toMatchObject({ status: 'received', receivedAt: T0.toISOString(), attemptCount: 0, version: 1 });
      expect(JSON.parse(entry!.payload)).toEqual(event);
    }
  });

  test('a repeat before deliver took the event sends its first ticket again (the queue drops it within its 5-minute window)', async () => {
    const h = await setup();
    await h.run(webhookRequest(ORDER));
    h.now.value = minutesAfter(2);

    const repeat = await h.run(webhookRequest(ORDER));

    expect(repeat).toEqual({ status: 200, body: { queued: 2, eventId: ORDER.eventId } });
    expect(h.queue.events.map((event) => [event.instanceId, event.receivedAt])).toEqual([
      ['shop-a', T0.toISOString()],
      ['shop-b', T0.toISOString()],
      ['shop-a', T0.toISOString()],
      ['shop-b', T0.toISOString()],
    ]);
    expect((await h.entry('shop-a'))?.version).toBe(1);
  });

  test("Ecwid's repeat 45 minutes later (past the queue's 5-minute window): 200, duplicate, not queued; the log says so", async () => {
    const h = await setup();
    await h.run(webhookRequest(ORDER));
    h.now.value = minutesAfter(1);
    await h.deliver('shop-a');
    await h.deliver('shop-b');
    h.now.value = minutesAfter(45);

    const repeat = await h.run(webhookRequest(ORDER));

    expect(repeat).toEqual({
      status: 200,
      body: {
        queued: 0,
        eventId: ORDER.eventId,
        duplicates: 2,
        duplicate: true,
        message: 'duplicate: this event was already received; not queued again',
      },
    });
    expect(h.queue.batches).toHaveLength(1);
    expect(h.telemetry.countOf(INGEST_METRICS.duplicates)).toBe(2);
    const lines = h.telemetry.lines.filter((line) => line.message.startsWith('duplicate:'));
    expect(lines.map((line) => [line.level, line.attributes.instanceId, line.attributes.status, line.attributes.firstReceivedAt])).toEqual([
      ['info', 'shop-a', 'delivered', T0.toISOString()],
      ['info', 'shop-b', 'delivered', T0.toISOString()],
    ]);
    // The repeat changed nothing in the ledger.
    expect((await h.entry('shop-a'))?.version).toBe(2);
  });

  test('a repeat of an ION post (derived event id) is a duplicate too', async () => {
    const h = await setup([makeInstance('shop-a', { storeId: '1003' })]);
    const form = ION_NEW_ORDER.replace(/owner_id=\d+/, 'owner_id=1003');
    const first = await h.run(ionRequest(form));
    await h.deliver('shop-a', h.queue.events[0].eventId);
    h.now.value = minutesAfter(60);
    const repeat = await h.run(ionRequest(form));

    expect(first.status).toBe(200);
    expect(repeat).toMatchObject({ status: 200, body: { queued: 0, duplicate: true } });
    expect(h.queue.events).toHaveLength(1);
  });

  test('after the retention the event counts as new again', async () => {
    const h = await setup();
    await h.run(webhookRequest(ORDER));
    // A finished entry expires retention after it finished; simulate one by finishing it now.
    const entry = (await h.entry('shop-a'))!;
    const finished: LedgerEntry = { ...entry, status: 'delivered', version: entry.version + 1, expiresAt: Math.floor(minutesAfter(10).getTime() / 1000) };
    expect(await h.ledger.update(finished)).toBe(true);
    h.now.value = minutesAfter(11);

    const again = await h.run(webhookRequest(ORDER, SECRET_A, { instanceId: 'shop-a' }));

    expect(again).toEqual({ status: 200, body: { queued: 1, eventId: ORDER.eventId } });
    expect(await h.entry('shop-a')).toMatchObject({ status: 'received', version: 1, receivedAt: minutesAfter(11).toISOString() });
  });
});

describe('a fan-out that failed half-way resumes on the retry', () => {
  test('the queue failed: 503, both recorded as received; the retry queues both, as first recorded', async () => {
    const h = await setup();
    h.queue.failNext = 1;

    const failed = await h.run(webhookRequest(ORDER));

    expect(failed).toMatchObject({ status: 503, body: { error: 'the event could not be recorded or queued; retry later' } });
    expect((await h.entry('shop-a'))?.status).toBe('received');
    expect((await h.entry('shop-b'))?.status).toBe('received');

    h.now.value = minutesAfter(15);
    const retry = await h.run(webhookRequest(ORDER));

    expect(retry).toEqual({ status: 200, body: { queued: 2, eventId: ORDER.eventId } });
    expect(h.queue.events.map((event) => [event.instanceId, event.receivedAt])).toEqual([
      ['shop-a', T0.toISOString()],
      ['shop-b', T0.toISOString()],
    ]);
    expect(h.telemetry.countOf(INGEST_METRICS.resumed)).toBe(2);
    expect(h.telemetry.lines.filter((line) => line.message.startsWith('resumed:')).map((line) => line.attributes.instanceId)).toEqual(['shop-a', 'shop-b']);
  });

  test('one instance delivered, the other left received (its ticket never sent): the retry queues only the other', async () => {
    const h = await setup();
    h.queue.failNext = 1;
    expect((await h.run(webhookRequest(ORDER))).status).toBe(503);
    // shop-a's event reached deliver another way (the sweep) and was delivered; shop-b's is still received.
    await h.deliver('shop-a');
    expect((await h.entry('shop-b'))?.status).toBe('received');
    const before = h.queue.events.length;

    h.now.value = minutesAfter(15);
    const retry = await h.run(webhookRequest(ORDER));

    expect(retry).toEqual({ status: 200, body: { queued: 1, eventId: ORDER.eventId, duplicates: 1 } });
    expect(h.queue.events.slice(before).map((event) => event.instanceId)).toEqual(['shop-b']);
  });

  test('the ledger is down: 503 and nothing queued (Ecwid retries)', async () => {
    const h = await setup();
    const down: Ledger = { ...bind(h.ledger), record: async () => Promise.reject(new Error('ServiceUnavailable')) };

    const result = await h.run(webhookRequest(ORDER), { ledger: down });

    expect(result.status).toBe(503);
    expect(h.queue.events).toEqual([]);
    expect(h.telemetry.lines.find((line) => line.level === 'error')?.attributes.error).toBe('ServiceUnavailable');
  });
});

describe('events not queued are recorded with the reason', () => {
  const disabled = makeInstance('off', { clientSecret: SECRET_A, enabled: 'false' });
  const pollingOnly = makeInstance('poller', { clientSecret: SECRET_A, extra: { [CONFIG_KEYS.vendorType]: 'polling' } });

  test('a disabled instance: dropped (instance-disabled); a polling-only one: filtered (polling-only); the answer is unchanged', async () => {
    const h = await setup([makeInstance('shop-a', { clientSecret: SECRET_A }), disabled, pollingOnly]);

    const result = await h.run(webhookRequest(ORDER));

    expect(result).toEqual({ status: 200, body: { queued: 1, eventId: ORDER.eventId } });
    expect(await h.entry('off')).toMatchObject({
      status: 'dropped',
      reason: 'instance-disabled',
      detail: 'event notifications are disabled for this instance',
      attemptCount: 0,
    });
    expect(await h.entry('poller')).toMatchObject({ status: 'filtered', reason: 'polling-only' });
    expect(h.queue.events.map((event: QueuedEvent) => event.instanceId)).toEqual(['shop-a']);
  });

  test('every instance disabled: still 200 "not queued", and recorded', async () => {
    const h = await setup([disabled]);
    const result = await h.run(webhookRequest(ORDER));
    expect(result).toMatchObject({ status: 200, body: { queued: 0 } });
    expect((await h.entry('off'))?.status).toBe('dropped');
  });

  test('a webhook whose signature does not verify for the disabled instance is not recorded (anyone could post it)', async () => {
    const h = await setup([disabled]);
    const result = await h.run(webhookRequest(ORDER, SECRET_B));
    expect(result.status).toBe(200);
    expect(await h.entry('off')).toBeUndefined();
  });

  test('an ION post for a disabled instance: recorded when the instance is set up for ION, not when it is not (unsigned: anyone could post it)', async () => {
    const form = ION_NEW_ORDER.replace(/owner_id=\d+/, 'owner_id=1003');
    const ionDisabled = makeInstance('ion-off', { enabled: 'false' });
    const webhookOnlyDisabled = makeInstance('hooks-off', { clientSecret: SECRET_A, enabled: 'false', extra: { [CONFIG_KEYS.ionEnabled]: 'false' } });
    const h = await setup([ionDisabled, webhookOnlyDisabled]);

    const result = await h.run(ionRequest(form));

    expect(result.status).toBe(200);
    const eventId = (result.body as { eventId: string }).eventId;
    expect(await h.entry('ion-off', eventId)).toMatchObject({ status: 'dropped', reason: 'instance-disabled', source: 'ion' });
    expect(await h.entry('hooks-off', eventId)).toBeUndefined();
  });

  test('a failed record does not change the answer; it is counted and logged', async () => {
    const h = await setup([disabled]);
    const down: Ledger = { ...bind(h.ledger), record: async () => Promise.reject(new Error('ServiceUnavailable')) };
    const result = await h.run(webhookRequest(ORDER), { ledger: down });
    expect(result.status).toBe(200);
    expect(h.telemetry.countOf(INGEST_METRICS.notRecorded)).toBe(1);
    expect(h.telemetry.lines.find((line) => line.level === 'warn')).toMatchObject({
      message: 'not recorded in the ledger (dropped: instance-disabled)',
      attributes: { instanceId: 'off', error: 'ServiceUnavailable' },
    });
  });
});

test('an event id starting with "~" (reserved for the ledger\'s own items) is refused: 400, nothing recorded or queued', async () => {
  const h = await setup();
  const body = { ...ORDER, eventId: '~receiver-health' };

  const result = await h.run(webhookRequest(body));

  expect(result).toMatchObject({ status: 400, body: { field: 'eventId', error: 'eventId must not start with "~" (reserved)' } });
  expect(h.queue.events).toEqual([]);
  expect(await h.entry('shop-a', '~receiver-health')).toBeUndefined();
});

/** The adapter's methods, bound, so a test can replace one of them. */
function bind(ledger: DynamoDbLedger): Ledger {
  return {
    record: (entries) => ledger.record(entries),
    get: (instanceId, eventId) => ledger.get(instanceId, eventId),
    update: (next) => ledger.update(next),
    unfinishedOfObject: (entry) => ledger.unfinishedOfObject(entry),
    due: (now, limit) => ledger.due(now, limit),
    list: (query) => ledger.list(query),
  };
}
