import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { DEFAULT_LEDGER_TIMING, receivedEntry } from '../../functions/core/ledger';
import type { Ticket } from '../../functions/core/ledger-flow';
import { createSweepHandler, SWEEP_METRICS } from '../../functions/sweep/handler';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { queuedEventFor } from '../support/ledger-contract';

const T0 = new Date('2024-05-06T16:28:06.000Z');
let server: DynamoDbEndpoint;
let client: DynamoDBClient;

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
  await ensureLedgerTable(client, 'sweep-test');
});
afterAll(async () => {
  client.destroy();
  await server.stop();
});

test('sends every due entry, batch after batch, and counts what it sent', async () => {
  const ledger = new DynamoDbLedger({ tableName: 'sweep-test', client });
  const events = [1, 2, 3].map((n) => queuedEventFor({ eventId: `e${n}`, objectId: String(n) }));
  await ledger.record(events.map((e) => receivedEntry(e, JSON.stringify(e), T0)));
  const sent: Ticket[] = [];
  const metrics: [string, number][] = [];
  let published = 0;
  const handler = createSweepHandler({
    ledger,
    tickets: { send: async (tickets) => void sent.push(...tickets) },
    clock: () => new Date(T0.getTime() + DEFAULT_LEDGER_TIMING.receivedGraceSeconds * 1000),
    batch: 2,
    logger: { info: () => undefined },
    metrics: { addMetric: (name, _unit, value) => void metrics.push([name, value]), publishStoredMetrics: () => void published++ },
  });
  expect(await handler({}, { getRemainingTimeInMillis: () => 40_000 })).toEqual({ sent: 3, raced: 0 });
  expect(sent.map((t) => t.event.eventId).sort()).toEqual(['e1', 'e2', 'e3']);
  expect(sent.every((t) => /:v2$/.test(t.ticketId))).toBe(true);
  expect(metrics).toEqual([
    [SWEEP_METRICS.sent, 3],
    [SWEEP_METRICS.raced, 0],
  ]);
  expect(published).toBe(1);
  // Moved on: the next run finds nothing.
  expect(await handler()).toEqual({ sent: 0, raced: 0 });
});
