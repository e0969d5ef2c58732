/**
 * `npm start`'s deliveries go through the event ledger as in AWS: attempts counted there, a failed
 * attempt retried by the runner's sweep loop (about every second) with a new ticket; and after a
 * restart, the unfinished events the ledger remembers get their tickets again (the embedded queue
 * is in memory and starts empty).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger } from '../../functions/adapters/aws/dynamodb-ledger';
import { markQueued, receivedEntry } from '../../functions/core/ledger';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { ledgerFolderOf } from '../../local/runner';
import { queuedEvent } from '../../testkit/events';
import { instanceDocument, modernSamples, postWebhook } from './support/ecwid-posts';
import { eventually, killLeftovers, startRunner, tempDir, writeInstances, type RunnerProcess } from './support/runner-process';
import { startCallbackServer, type CallbackServer } from './support/servers';

jest.setTimeout(90_000);

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let runner: RunnerProcess | undefined;

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

beforeEach(async () => {
  folder = tempDir('runner-ledger');
  mkdirSync(join(folder.dir, 'instances'));
  // Every event's first attempt fails; the next one succeeds.
  callbacks = await startCallbackServer((_request, attempt) => (attempt === 1 ? 503 : 200));
  writeInstances(join(folder.dir, 'instances'), { shop: instanceDocument(1003, `${callbacks.origin}/shop`) });
});

afterEach(async () => {
  await runner?.stop();
  runner = undefined;
  killLeftovers();
  await callbacks?.close();
  folder?.remove();
});

const args = () => ['--instances', join(folder.dir, 'instances'), '--poll-interval', '0', '--retry-schedule', '1', '--max-attempts', '3', '--quiet'];

test('a failed attempt is recorded in the ledger and retried by the sweep loop after its backoff', async () => {
  runner = await startRunner(args());
  const sample = modernSamples().find((s) => s.name === 'order-created')!;
  expect((await postWebhook(`${runner.ingestUrl}/shop`, sample)).status).toBe(200);
  await eventually(() => callbacks.delivered.length === 1, () => `no delivery\n${runner!.stdout()}${runner!.stderr()}`);

  const client = new DynamoDBClient({ endpoint: runner.state.dynamodbEndpoint, region: 'us-east-1', credentials });
  try {
    const entry = await new DynamoDbLedger({ tableName: runner.state.ledgerTableName!, client }).get('shop', sample.json.eventId as string);
    expect(entry).toMatchObject({ status: 'delivered', attemptCount: 2 });
    expect(entry?.attempts.map((a) => [a.n, a.outcome, a.httpStatus])).toEqual([
      [1, 'failed', 503],
      [2, 'delivered', 200],
    ]);
    // Not earlier than the 1 s backoff, and not much later: the sweep runs every second.
    const gap = Date.parse(entry!.attempts[1].at) - Date.parse(entry!.attempts[0].at);
    expect(gap).toBeGreaterThanOrEqual(1000);
    expect(gap).toBeLessThan(10_000);
  } finally {
    client.destroy();
  }
  expect(callbacks.requests).toHaveLength(2);
});

test('after a restart, an unfinished event the ledger remembers gets its ticket again and is delivered', async () => {
  const stateFile = join(folder.dir, 'state', 'runner.json');
  // A first run creates the ledger beside the state file; then an event is left queued in it, as a
  // run stopped between ingest and deliver leaves it (the in-memory queue forgets the ticket).
  runner = await startRunner(args(), {}, { stateFile });
  const tableName = runner.state.ledgerTableName!;
  expect((await runner.stop()).code).toBe(0);
  runner = undefined;
  const engine = await startEmbeddedDynamoDb({ folder: ledgerFolderOf(stateFile) });
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: 'us-east-1', credentials });
  const event = queuedEvent({
    eventId: 'left-queued',
    instanceId: 'shop',
    storeId: '1003',
    ecwidEventType: 'customer.updated',
    objectType: 'customers',
    objectId: '42',
    receivedAt: new Date().toISOString(),
    raw: { eventId: 'left-queued', storeId: 1003, entityId: 42, eventType: 'customer.updated' },
  });
  try {
    const ledger = new DynamoDbLedger({ tableName, client });
    const recorded = receivedEntry(event, JSON.stringify(event), new Date());
    await ledger.record([recorded]);
    expect(await ledger.update(markQueued(recorded, new Date()))).toBe(true);
  } finally {
    client.destroy();
    await engine.stop();
  }

  runner = await startRunner(args(), {}, { stateFile });
  // Its first attempt fails (503), the sweep brings the second.
  await eventually(() => callbacks.delivered.length === 1, () => `no delivery\n${runner!.stdout()}${runner!.stderr()}`);
  expect(runner.stdout()).toContain('ledger: 1 unfinished event(s) from the last run queued again');
  expect(JSON.parse(callbacks.delivered[0].body).id).toBe('shop:left-queued');
});
