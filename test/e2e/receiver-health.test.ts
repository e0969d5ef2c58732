/**
 * Issue 16's "done when", against `npm start` with short thresholds (--breaker-failures,
 * --breaker-seconds, --probe-seconds, --disable-after):
 * - a receiver that fails every request opens its circuit after N failures; its later events are
 *   held (the ledger and `events show` say why), attempts unused; a healthy instance meanwhile
 *   gets each of its events at the first attempt; the receiver coming back drains everything, each
 *   object's events in order, none lost or duplicated;
 * - an instance filtered to `order.*` never receives a product event (recorded as filtered);
 * - a receiver failing past --disable-after is disabled, with a printed notice;
 * - a receiver answering slower than --slow-after-ms is marked slow, still gets every event once,
 *   and a fast answer ends the state.
 * Every wait polls the receivers and the ledger with a generous deadline: no fixed sleeps.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHealthStore } from '../../functions/adapters/aws/dynamodb-health';
import { DynamoDbLedger } from '../../functions/adapters/aws/dynamodb-ledger';
import type { LedgerEntry } from '../../functions/core/ledger';
import { instanceDocument, modernSamples, postWebhook, type ModernSample } from './support/ecwid-posts';
import { eventually, killLeftovers, ROOT, runToExit, startRunner, tempDir, writeInstances, type RunnerProcess } from './support/runner-process';
import { startCallbackServer, type CallbackServer, type RecordedRequest } from './support/servers';

jest.setTimeout(180_000);

const WAIT_MS = 60_000;
const BREAKER_FAILURES = 3;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** A sample with its own event id (and object, for orders): Ecwid's post of another change. */
function variant(sample: ModernSample, eventId: string, orderId?: string): ModernSample {
  const json = JSON.parse(sample.text) as Record<string, unknown> & ModernSample['json'];
  json.eventId = eventId;
  if (orderId !== undefined) json.data = { ...(json.data as Record<string, unknown>), orderId };
  const text = JSON.stringify(json);
  return { ...sample, text, json };
}

const sampleNamed = (name: string): ModernSample => {
  const found = modernSamples().find((sample) => sample.name === name);
  if (!found) throw new Error(`no sample ${name}`);
  return found;
};

async function post(runner: RunnerProcess, instanceId: string, sample: ModernSample): Promise<void> {
  const response = await postWebhook(`${runner.ingestUrl}/${instanceId}`, sample);
  expect(response.status).toBe(200);
}

const idsOf = (requests: readonly RecordedRequest[], instanceId: string): string[] =>
  requests.filter((r) => r.path === `/${instanceId}`).map((r) => r.headers['webhook-id'].replace(`${instanceId}:`, ''));

function ledgerOf(runner: RunnerProcess): { ledger: DynamoDbLedger; health: DynamoDbHealthStore; close(): void } {
  const client = new DynamoDBClient({ endpoint: runner.state.dynamodbEndpoint, region: runner.state.region, credentials });
  const tableName = runner.state.ledgerTableName!;
  return { ledger: new DynamoDbLedger({ tableName, client }), health: new DynamoDbHealthStore({ tableName, client }), close: () => client.destroy() };
}

async function entriesOf(ledger: DynamoDbLedger, instanceId: string, eventIds: readonly string[]): Promise<LedgerEntry[]> {
  const entries = await Promise.all(eventIds.map((id) => ledger.get(instanceId, id)));
  return entries.filter((entry): entry is LedgerEntry => entry !== undefined);
}

const describeEntries = (entries: readonly LedgerEntry[]): string =>
  entries.map((e) => `${e.eventId}=${e.status}${e.heldBy ? `(held:${e.heldBy} until ${e.dueAt})` : ''}/${e.attemptCount}`).join(' ');

afterAll(() => killLeftovers());

describe('one receiver down, with the circuit breaker (--breaker-failures 3 --breaker-seconds 0 --probe-seconds 2)', () => {
  let folder: ReturnType<typeof tempDir>;
  let callbacks: CallbackServer;
  let runner: RunnerProcess;
  let down = true;

  beforeAll(async () => {
    folder = tempDir('receiver-health');
    mkdirSync(join(folder.dir, 'instances'));
    callbacks = await startCallbackServer((request) => (request.path === '/down' && down ? 503 : 200));
    writeInstances(join(folder.dir, 'instances'), {
      down: instanceDocument(1003, `${callbacks.origin}/down`),
      healthy: instanceDocument(1003, `${callbacks.origin}/healthy`),
      'orders-only': instanceDocument(1003, `${callbacks.origin}/orders-only`, { 'event.notification.types': 'order.*' }),
    });
    runner = await startRunner([
      '--instances', join(folder.dir, 'instances'),
      '--poll-interval', '0',
      '--retry-schedule', '1,1,1,1,1,1,1,1,1',
      '--max-attempts', '10',
      '--breaker-failures', String(BREAKER_FAILURES),
      '--breaker-seconds', '0',
      '--probe-seconds', '2',
      // Far beyond the test: this receiver must come back, not be disabled.
      '--disable-after', '3600',
      '--quiet',
    ]);
  });

  afterAll(async () => {
    await runner?.stop();
    await callbacks?.close();
    folder?.remove();
  });

  test('opens after N failures, holds later events, keeps the healthy one delivering, then drains in order with none lost or duplicated', async () => {
    const { ledger, health, close } = ledgerOf(runner);
    try {
      const order = sampleNamed('order-updated');
      // Three failures in a row (three objects at once) open the circuit.
      const first = ['down-1', 'down-2', 'down-3'];
      for (const [i, id] of first.entries()) await post(runner, 'down', variant(order, id, `FIRST${i}`));
      await eventually(
        () => runner.stdout().includes('notice: receiver.circuit-open down'),
        () => `no circuit-open notice; requests to down: ${idsOf(callbacks.requests, 'down').join(', ')}\n${runner.stdout()}${runner.stderr()}`,
        WAIT_MS,
      );
      expect(runner.stdout()).toContain(`notice: receiver.circuit-open down (${BREAKER_FAILURES} failed in a row`);

      // Later events of the down receiver, all of one object (so their order is the ledger's to keep).
      const later = ['down-4', 'down-5', 'down-6', 'down-7'];
      for (const id of later) await post(runner, 'down', variant(order, id, 'LATER'));
      // Held, attempts unused: at most the probe's carrier has tried (a failed probe spends no attempt of its round).
      await eventually(
        async () => {
          const entries = await entriesOf(ledger, 'down', later);
          return entries.length === later.length && entries.every((e) => e.status === 'queued' && (e.heldBy !== undefined || e.blockedBy !== undefined));
        },
        async () => `later events not held: ${describeEntries(await entriesOf(ledger, 'down', later))}`,
        WAIT_MS,
      );
      const heldNow = await entriesOf(ledger, 'down', later);
      expect(heldNow.filter((e) => e.heldBy !== undefined).length).toBeGreaterThanOrEqual(1);
      expect(idsOf(callbacks.delivered, 'down')).toEqual([]);

      // `events show` says why.
      const heldOne = heldNow.find((e) => e.heldBy !== undefined)!;
      const shown = await runToExit(TSX, ['bin/ecwid-events.ts', 'events', 'show', heldOne.eventId, '--instance', 'down', '--local', '--state-file', runner.stateFile], 60_000);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/held\s+circuit-open: its receiver/);

      // Meanwhile the healthy instance gets every event at its first attempt.
      const healthy = ['healthy-1', 'healthy-2', 'healthy-3'];
      for (const [i, id] of healthy.entries()) await post(runner, 'healthy', variant(order, id, `HEALTHY${i}`));
      // (The receiver has the request a moment before the ledger records its answer.)
      await eventually(
        async () => (await entriesOf(ledger, 'healthy', healthy)).filter((e) => e.status === 'delivered').length === healthy.length,
        async () => `healthy: ${idsOf(callbacks.delivered, 'healthy').join(', ')}; ledger: ${describeEntries(await entriesOf(ledger, 'healthy', healthy))}`,
        WAIT_MS,
      );
      for (const entry of await entriesOf(ledger, 'healthy', healthy)) expect(entry).toMatchObject({ status: 'delivered', attemptCount: 1 });
      expect(idsOf(callbacks.requests, 'healthy').sort()).toEqual([...healthy].sort());
      // ...while the down receiver's circuit was still open (nothing of it delivered yet).
      expect(idsOf(callbacks.delivered, 'down')).toEqual([]);

      // The receiver comes back: the next probe succeeds and everything drains.
      down = false;
      const all = [...first, ...later];
      await eventually(
        async () =>
          new Set(idsOf(callbacks.delivered, 'down')).size === all.length &&
          (await entriesOf(ledger, 'down', all)).every((e) => e.status === 'delivered'),
        async () =>
          `down delivered: ${idsOf(callbacks.delivered, 'down').join(', ')}; ledger: ${describeEntries(await entriesOf(ledger, 'down', all))}; ` +
          `health: ${JSON.stringify(await health.get('down'))}\n${runner.stdout()}`,
        WAIT_MS,
      );
      await eventually(
        () => runner.stdout().includes('notice: receiver.recovered down'),
        () => `no recovered notice\n${runner.stdout()}`,
        WAIT_MS,
      );
      const delivered = idsOf(callbacks.delivered, 'down');
      // None lost, none delivered twice.
      expect([...delivered].sort()).toEqual([...all].sort());
      // One object's events in the order Ecwid sent them.
      expect(delivered.filter((id) => later.includes(id))).toEqual(later);
      for (const entry of await entriesOf(ledger, 'down', all)) {
        expect(entry.status).toBe('delivered');
        expect(entry.heldBy).toBeUndefined();
      }
    } finally {
      close();
    }
  });

  test('an instance filtered to order.* never receives a product event; the ledger records it as filtered', async () => {
    const { ledger, close } = ledgerOf(runner);
    try {
      const product = variant(sampleNamed('product-updated'), 'filter-product');
      const orderEvent = variant(sampleNamed('order-created'), 'filter-order');
      await post(runner, 'orders-only', product);
      await post(runner, 'orders-only', orderEvent);
      await eventually(
        async () => idsOf(callbacks.delivered, 'orders-only').includes('filter-order') && (await ledger.get('orders-only', 'filter-product'))?.status === 'filtered',
        async () => `orders-only got: ${idsOf(callbacks.requests, 'orders-only').join(', ')}; product: ${JSON.stringify(await ledger.get('orders-only', 'filter-product'))}`,
        WAIT_MS,
      );
      expect(idsOf(callbacks.requests, 'orders-only')).toEqual(['filter-order']);
      expect(await ledger.get('orders-only', 'filter-product')).toMatchObject({ status: 'filtered', reason: 'event-type', attemptCount: 0 });
    } finally {
      close();
    }
  });
});

describe('a receiver failing past --disable-after', () => {
  let folder: ReturnType<typeof tempDir>;
  let callbacks: CallbackServer;
  let runner: RunnerProcess;

  beforeAll(async () => {
    folder = tempDir('receiver-disable');
    mkdirSync(join(folder.dir, 'instances'));
    callbacks = await startCallbackServer(() => 503);
    writeInstances(join(folder.dir, 'instances'), { broken: instanceDocument(1003, `${callbacks.origin}/broken`) });
    runner = await startRunner([
      '--instances', join(folder.dir, 'instances'),
      '--poll-interval', '0',
      '--retry-schedule', '1,1,1,1,1,1,1,1,1',
      '--max-attempts', '10',
      '--breaker-failures', '2',
      '--breaker-seconds', '0',
      '--probe-seconds', '1',
      '--disable-after', '3',
      '--quiet',
    ]);
  });

  afterAll(async () => {
    await runner?.stop();
    await callbacks?.close();
    folder?.remove();
  });

  test('is disabled with a printed notice; its event is dropped as receiver-disabled and kept in the ledger', async () => {
    const { ledger, close } = ledgerOf(runner);
    try {
      await post(runner, 'broken', variant(sampleNamed('order-updated'), 'broken-1', 'BROKEN'));
      await eventually(
        () => runner.stdout().includes('notice: receiver.disabled broken'),
        () => `no disabled notice; requests: ${callbacks.requests.length}\n${runner.stdout()}${runner.stderr()}`,
        WAIT_MS,
      );
      await eventually(
        async () => (await ledger.get('broken', 'broken-1'))?.status === 'dropped',
        async () => `not dropped: ${JSON.stringify(await ledger.get('broken', 'broken-1'))}`,
        WAIT_MS,
      );
      expect(await ledger.get('broken', 'broken-1')).toMatchObject({ status: 'dropped', reason: 'receiver-disabled' });
      // Disabled before its attempts ran out: nothing went to the dead-letter queue.
      expect(callbacks.requests.length).toBeLessThan(10);
    } finally {
      close();
    }
  });
});

describe('a slow receiver, with a short threshold (--slow-after-ms 300 --slow-max-in-flight 1)', () => {
  let folder: ReturnType<typeof tempDir>;
  let receiver: Server;
  let origin: string;
  let delayMs = 800;
  const arrived: string[] = [];
  let runner: RunnerProcess;

  beforeAll(async () => {
    folder = tempDir('receiver-slow');
    mkdirSync(join(folder.dir, 'instances'));
    // Answers 200 after `delayMs`.
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        setTimeout(() => {
          arrived.push(String(req.headers['webhook-id'] ?? ''));
          res.writeHead(200).end('{}');
        }, delayMs);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    writeInstances(join(folder.dir, 'instances'), { sluggish: instanceDocument(1003, `${origin}/sluggish`) });
    runner = await startRunner([
      '--instances', join(folder.dir, 'instances'),
      '--poll-interval', '0',
      '--slow-after-ms', '300',
      '--slow-max-in-flight', '1',
      '--quiet',
    ]);
  });

  afterAll(async () => {
    await runner?.stop();
    await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
    folder?.remove();
  });

  test('an 800 ms answer marks it slow (the default 2 s would not); every event still arrives once; a fast answer ends the state', async () => {
    const { health, close } = ledgerOf(runner);
    try {
      const ids = ['slow-1', 'slow-2', 'slow-3', 'slow-4'];
      for (const [index, id] of ids.entries()) await post(runner, 'sluggish', variant(sampleNamed('order-updated'), id, `SLOW${index}`));
      await eventually(
        async () => (await health.get('sluggish'))?.slowSince !== undefined,
        async () => `never marked slow: ${JSON.stringify(await health.get('sluggish'))}; arrived ${arrived.join(',')}`,
        WAIT_MS,
      );
      await eventually(
        () => ids.every((id) => arrived.includes(`sluggish:${id}`)),
        () => `arrived: ${arrived.join(',')}\n${runner.stderr()}`,
        WAIT_MS,
      );
      expect([...arrived].sort()).toEqual(ids.map((id) => `sluggish:${id}`).sort());
      delayMs = 0;
      await post(runner, 'sluggish', variant(sampleNamed('order-updated'), 'fast-1', 'FAST'));
      await eventually(
        async () => arrived.includes('sluggish:fast-1') && (await health.get('sluggish'))?.slowSince === undefined,
        async () => `still slow after a fast answer: ${JSON.stringify(await health.get('sluggish'))}`,
        WAIT_MS,
      );
    } finally {
      close();
    }
  });
});
