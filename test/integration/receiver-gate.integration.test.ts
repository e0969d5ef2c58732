/**
 * The circuit breaker on moto (the ledger and the health records in one DynamoDB table, as in
 * AWS): one receiver down does not hold back another, its events are held with attempts unused
 * once the circuit opens, and they drain in order when it is back. The same flow runs on the local
 * runner's engine in test/core/receiver-gate.test.ts.
 */
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { breakerSettings } from '../../functions/core/health';
import { slowReceiverScenario } from '../support/slow-receiver-scenario';
import { down, event, gateHarness, instance, SETTINGS, T0, up, type GateHarness } from '../support/receiver-gate-harness';
import { describeWithMoto, motoDynamoDbClient, uniqueName } from '../support/moto';

describeWithMoto('receiver gate on moto', () => {
  let client: DynamoDBClient;
  let tableName: string;
  let h: GateHarness;
  const slowTable = uniqueName('gate-slow');

  beforeAll(async () => {
    client = motoDynamoDbClient();
    tableName = uniqueName('gate');
    h = await gateHarness(client, tableName, [instance('shop-down'), instance('shop-up')]);
  });
  afterAll(async () => {
    await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    await client.send(new DeleteTableCommand({ TableName: slowTable })).catch(() => undefined);
    client.destroy();
  });

  test('one receiver down: the other delivers every event at its first attempt, on time; the down one is held, then drains in order', async () => {
    h.setReceiver((e) => (e.instanceId === 'shop-down' ? down : up));
    for (let n = 1; n <= 8; n++) {
      h.now.value = new Date(T0.getTime() + n * 10_000);
      await h.admit([event('shop-down', n, { objectId: '42' }), event('shop-up', n)]);
      await h.run(h.now.value);
    }
    // The healthy receiver: each event delivered once, when it arrived (no wait behind the other).
    for (let n = 1; n <= 8; n++) {
      const entry = await h.entry('shop-up', `evt-${n}`);
      expect(entry.status).toBe('delivered');
      expect(entry.attempts).toHaveLength(1);
      expect(entry.attempts[0].at).toBe(new Date(T0.getTime() + n * 10_000).toISOString());
    }
    expect((await h.store.get('shop-down'))?.state).toBe('circuit-open');
    // The down receiver's first event carries the probes; the rest wait behind it (one object), none attempted.
    for (let n = 2; n <= 8; n++) expect((await h.entry('shop-down', `evt-${n}`)).attemptCount).toBe(0);
    const first = await h.entry('shop-down', 'evt-1');
    expect(first.attemptCount - first.roundStart).toBeLessThanOrEqual(3);

    h.setReceiver(() => up);
    const before = h.seen.length;
    await h.run();
    expect(h.seen.slice(before)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `shop-down/evt-${n}`));
    expect((await h.store.get('shop-down'))?.state).toBe('healthy');
  });

  test('a slow receiver: once an attempt runs past slowAfterMs, its slot is claimed by a conditional write and its other events are held until it frees', async () => {
    const timers: { ms: number; fn: () => void }[] = [];
    const slow = await gateHarness(client, slowTable, [instance('shop-slow'), instance('shop-fast')], {
      settings: breakerSettings({ ...SETTINGS, slowMaxInFlight: 1 }),
      after: (ms, fn) => {
        timers.push({ ms, fn });
        return () => undefined;
      },
    });
    await slowReceiverScenario(slow, timers);
  });
});
