/**
 * `instances pause|resume|health`, the HEALTH column of `instances list`, what `disable` says, and
 * the event-type filter checks of create/update, end to end through main(): instances in a folder,
 * health records in a ledger table on the local runner's engine (dynalite), as `--local` uses it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHealthStore } from '../../functions/adapters/aws/dynamodb-health';
import { ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { breakerSettings } from '../../functions/core/health';
import { reportOutcome } from '../../functions/core/health-flow';
import { LOCAL_STATE_FILE } from '../../functions/contract';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from '../../local/embedded-dynamodb';
import { instanceDocument } from '../../testkit/instances';
import { runCli } from './run-cli';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const at = (secondsBefore: number) => new Date(NOW.getTime() - secondsBefore * 1000);
// A public address literal: passes the SSRF rules without DNS (there is none in the sandbox).
const CALLBACK = 'https://93.184.216.34/hooks/ecwid';

let server: DynamoDbEndpoint;
let client: DynamoDBClient;
let dir: string;
let tableName: string;
let store: DynamoDbHealthStore;
let tables = 0;

const withLedger = () => ['--instances-dir', join(dir, 'instances'), '--dynamodb-endpoint', server.endpoint, '--ledger-table', tableName];
const cli = (...args: string[]) => runCli([...withLedger(), ...args], { cwd: dir, now: () => NOW });

async function writeInstance(id: string, configuration: Record<string, string> = {}): Promise<void> {
  await writeFile(join(dir, 'instances', `${id}.json`), JSON.stringify(instanceDocument({ name: id, callbackUrl: CALLBACK, configuration })));
}

/** Attempt outcomes as deliver reports them, `secondsBefore` NOW each. */
async function attempts(id: string, outcomes: Array<[secondsBefore: number, ok: boolean, status?: number]>): Promise<void> {
  const settings = breakerSettings({ failures: 3, spanSeconds: 60 });
  for (const [secondsBefore, ok, httpStatus] of outcomes) {
    const outcome = ok ? { ok: true as const } : { ok: false as const, httpStatus, error: `callback https://93.184.216.34 answered HTTP ${httpStatus}` };
    const result = await reportOutcome(id, outcome, { store, clock: () => at(secondsBefore), settings });
    expect(result.recorded).toBe(true);
  }
}

beforeAll(async () => {
  server = await startEmbeddedDynamoDb();
  client = new DynamoDBClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterAll(async () => {
  client.destroy();
  await server.stop();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-health-'));
  await mkdir(join(dir, 'instances'));
  tableName = `ledger-${++tables}`;
  await ensureLedgerTable(client, tableName);
  store = new DynamoDbHealthStore({ tableName, client });
  await writeInstance('shop-a');
  await writeInstance('shop-b');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('instances pause / resume', () => {
  test('pause and resume are announced on the operational webhook, signed like deliveries; a second pause announces nothing', async () => {
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      await writeInstance('ops', { 'event.notification.operations.url': `http://127.0.0.1:${port}/ops`, 'event.notification.signature.key': 'ops-key' });
      const env = { ALLOW_HTTP_CALLBACKS: 'true', CALLBACK_ALLOW_HOSTS: '127.0.0.1' };
      const paused = await runCli([...withLedger(), 'instances', 'pause', 'ops'], { cwd: dir, now: () => NOW, env });
      expect(paused.code).toBe(0);
      expect(paused.stdout).toContain('Notice receiver.paused: no notices topic; operational webhook: delivered.');
      const again = await runCli([...withLedger(), 'instances', 'pause', 'ops', '--json'], { cwd: dir, now: () => NOW, env });
      expect(JSON.parse(again.stdout).notices).toEqual([]);
      const resumed = await runCli([...withLedger(), 'instances', 'resume', 'ops'], { cwd: dir, now: () => NOW, env });
      expect(resumed.stdout).toContain('Notice receiver.resumed: no notices topic; operational webhook: delivered.');
      expect(received.map((r) => JSON.parse(r.body).type)).toEqual(['receiver.paused', 'receiver.resumed']);
      expect(JSON.parse(received[0].body)).toMatchObject({ data: { instanceId: 'ops', state: 'paused' } });
      expect(received[0].headers['elements-webhook-signature']).toMatch(/^sha256=/);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  test('pause writes the paused state in the health record; resume makes it healthy with a fresh streak', async () => {
    await attempts('shop-a', [[120, false, 502], [60, false, 502]]);
    const paused = await cli('instances', 'pause', 'shop-a');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toBe(
      'Instance shop-a paused: its events are held (not attempted, not dropped) until "instances resume shop-a".\n' +
        'Notice receiver.paused: no notices topic; no operational webhook.\n',
    );
    expect(await store.get('shop-a')).toMatchObject({ state: 'paused', stateAt: NOW.toISOString(), consecutiveFailures: 2 });

    const resumed = await cli('instances', 'resume', 'shop-a', '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toEqual({
      id: 'shop-a',
      previous: 'paused',
      state: 'healthy',
      since: NOW.toISOString(),
      woken: 0,
      notices: [{ type: 'receiver.resumed', topic: 'none', webhook: 'none' }],
    });
    const record = await store.get('shop-a');
    expect(record).toMatchObject({ state: 'healthy', consecutiveFailures: 0 });
    expect(record?.firstFailureAt).toBeUndefined();
    // The other instance was never touched.
    expect(await store.get('shop-b')).toBeUndefined();
  });

  test('pausing an unknown instance fails and writes nothing', async () => {
    const run = await cli('instances', 'pause', 'nope');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('no instance "nope"');
    expect(await store.get('nope')).toBeUndefined();
  });

  test('resuming an automatically disabled receiver points at events resend; a switched-off instance is named', async () => {
    const settings = breakerSettings({ failures: 3, spanSeconds: 0, disableAfterSeconds: 60 });
    for (const secondsBefore of [300, 200, 100]) {
      await reportOutcome('shop-a', { ok: false, httpStatus: 503, error: 'HTTP 503' }, { store, clock: () => at(secondsBefore), settings });
    }
    expect((await store.get('shop-a'))?.state).toBe('disabled');
    await writeInstance('shop-a', { 'event.notification.enabled': 'false' });
    const run = await cli('instances', 'resume', 'shop-a');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Instance shop-a resumed (was disabled)');
    expect(run.stdout).toContain('"events resend --instance shop-a"');
    expect(run.stderr).toContain('warning: instance shop-a is switched off ("instances disable"): ingest drops its events until "instances enable shop-a"');
    expect((await store.get('shop-a'))?.state).toBe('healthy');
  });
});

describe('instances health', () => {
  test('one instance: last success, last failure and its error, failures in a row, success rate over the last hour', async () => {
    // 4000 s ago is outside the hour: counted in the streak's history, not in the rate.
    await attempts('shop-a', [[4000, true], [1800, true], [900, true], [600, false, 500], [300, false, 502]]);
    const json = await cli('instances', 'health', 'shop-a', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      id: 'shop-a',
      state: 'failing',
      since: at(600).toISOString(),
      recorded: true,
      lastSuccessAt: at(900).toISOString(),
      lastFailureAt: at(300).toISOString(),
      lastError: 'callback https://93.184.216.34 answered HTTP 502',
      lastHttpStatus: 502,
      consecutiveFailures: 2,
      firstFailureAt: at(600).toISOString(),
      lastHour: { attempts: 4, delivered: 2, successRate: 0.5 },
      events: 'delivered, with retries',
    });

    const text = await cli('instances', 'health', 'shop-a');
    expect(text.stdout).toMatch(/^state +failing since 2026-12-07T11:50:00\.000Z$/m);
    expect(text.stdout).toMatch(/^last success +2026-12-07T11:45:00\.000Z \(15m 0s ago\)$/m);
    expect(text.stdout).toMatch(/^last error +callback https:\/\/93\.184\.216\.34 answered HTTP 502 \(HTTP 502\)$/m);
    expect(text.stdout).toMatch(/^failures in a row +2 since 2026-12-07T11:50:00\.000Z$/m);
    expect(text.stdout).toMatch(/^success, last hour +50% of 4$/m);
  });

  test('an open circuit shows when it opened and the next probe; an instance without attempts is healthy, not recorded', async () => {
    await attempts('shop-a', [[180, false, 500], [120, false, 500], [60, false, 500]]);
    const view = JSON.parse((await cli('instances', 'health', 'shop-a', '--json')).stdout);
    expect(view).toMatchObject({ state: 'circuit-open', consecutiveFailures: 3, lastHour: { attempts: 3, delivered: 0, successRate: 0 } });
    expect(view.circuit).toEqual({ openedAt: at(60).toISOString(), nextProbeAt: at(0).toISOString(), probeInFlight: false });
    expect(view.events).toMatch(/^held \(attempts not used\)/);

    const fresh = JSON.parse((await cli('instances', 'health', 'shop-b', '--json')).stdout);
    expect(fresh).toMatchObject({ id: 'shop-b', state: 'healthy', recorded: false, consecutiveFailures: 0, lastHour: { attempts: 0, delivered: 0 } });
    expect((await cli('instances', 'health', 'shop-b')).stdout).toMatch(/^last success +no attempt recorded yet$/m);
  });

  test('a slow receiver says so: since when and its attempts in flight, in the detail and the HEALTH column', async () => {
    await reportOutcome('shop-a', { ok: true, durationMs: 10_000 }, { store, clock: () => at(30), settings: breakerSettings() });
    const view = JSON.parse((await cli('instances', 'health', 'shop-a', '--json')).stdout);
    expect(view).toMatchObject({ state: 'healthy', slow: { since: at(30).toISOString(), inFlight: 0 } });
    expect((await cli('instances', 'health', 'shop-a')).stdout).toMatch(/^slow +since 2026-12-07T11:59:30\.000Z: 0 attempt\(s\) in flight/m);
    await reportOutcome('shop-a', { ok: true, durationMs: 30 }, { store, clock: () => at(10), settings: breakerSettings() });
    expect(JSON.parse((await cli('instances', 'health', 'shop-a', '--json')).stdout).slow).toBeUndefined();
  });

  test('all instances: one line each; a switched-off instance is disabled, saying ingest drops its events', async () => {
    await attempts('shop-a', [[180, false, 500], [120, false, 500], [60, false, 500]]);
    await writeInstance('shop-b', { 'event.notification.enabled': 'false' });
    await writeInstance('shop-c');
    await attempts('shop-c', [[30, true]]);
    const run = await cli('instances', 'health');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +STATE +SINCE +LAST SUCCESS +LAST FAILURE +LAST HOUR$/);
    expect(lines[2]).toMatch(/^shop-a +circuit-open \(3 failed\) +2026-12-07T11:59:00\.000Z +- +2026-12-07T11:59:00\.000Z +0% of 3$/);
    expect(lines[3]).toMatch(/^shop-b +disabled +- +- +- +no attempts$/);
    expect(lines[4]).toMatch(/^shop-c +healthy +2026-12-07T11:59:30\.000Z +2026-12-07T11:59:30\.000Z +- +100% of 1$/);
    const views = JSON.parse((await cli('instances', 'health', '--json')).stdout);
    expect(views.find((v: { id: string }) => v.id === 'shop-b')).toMatchObject({ state: 'disabled', reason: expect.stringContaining('ingest drops its new events') });
  });

  test('without a ledger there is no health to show: one line saying what is missing', async () => {
    const run = await runCli(['--instances-dir', join(dir, 'instances'), 'instances', 'health'], { cwd: dir, now: () => NOW });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^ecwid-events: error: no ledger table \(--ledger-table\)/);
  });

  test('--local finds the ledger through the runner state file', async () => {
    await attempts('shop-a', [[60, true]]);
    await mkdir(join(dir, '.local-state'));
    await writeFile(
      join(dir, LOCAL_STATE_FILE),
      JSON.stringify({
        pid: process.pid,
        ingestUrl: 'http://127.0.0.1:1/events/ecwid',
        sqsEndpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        queueUrl: 'http://127.0.0.1:1/q',
        deadLetterQueueUrl: 'http://127.0.0.1:1/d',
        instancesDir: join(dir, 'instances'),
        dynamodbEndpoint: server.endpoint,
        ledgerTableName: tableName,
      }),
    );
    const local = (...args: string[]) => runCli(['--local', ...args], { cwd: dir, now: () => NOW });
    expect(JSON.parse((await local('instances', 'health', 'shop-a', '--json')).stdout)).toMatchObject({ state: 'healthy', lastHour: { attempts: 1 } });
    expect((await local('instances', 'pause', 'shop-b')).code).toBe(0);
    expect((await store.get('shop-b'))?.state).toBe('paused');
    expect((await local('instances', 'list')).stdout).toMatch(/^shop-b +shop-b +1003 +yes +paused +https:/m);
  });
});

describe('instances list and disable', () => {
  test('list has a HEALTH column from the records, in --json too', async () => {
    await attempts('shop-a', [[120, false, 502], [60, false, 502]]);
    const run = await cli('instances', 'list');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAME +STORE +ENABLED +HEALTH +CALLBACK +SECRETS SET$/);
    expect(lines[2]).toMatch(/^shop-a +shop-a +1003 +yes +failing \(2 failed\) +https:\/\/93\.184\.216\.34\/hooks\/ecwid /);
    expect(lines[3]).toMatch(/^shop-b +shop-b +1003 +yes +healthy +https:/);
    const rows = JSON.parse((await cli('instances', 'list', '--json')).stdout);
    expect(rows[0].health).toMatchObject({ state: 'failing', consecutiveFailures: 2 });
  });

  test('without a ledger named the list works without the column; an unreadable ledger is said', async () => {
    const run = await runCli(['--instances-dir', join(dir, 'instances'), 'instances', 'list'], { cwd: dir, now: () => NOW });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^ID +NAME +STORE +ENABLED +CALLBACK +SECRETS SET$/);
    expect(run.stderr).toBe('');

    const missing = await runCli([...withLedger().slice(0, -1), 'no-such-table', 'instances', 'list'], { cwd: dir, now: () => NOW });
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(/^shop-a +shop-a +1003 +yes +https:/m);
    expect(missing.stderr).toMatch(/^warning: no HEALTH column: .*(not found|non-existent|Cannot do operations)/i);
  });

  test('disable says that ingest drops the events and names pause as the way to hold them', async () => {
    const run = await cli('instances', 'disable', 'shop-a');
    expect(run.stdout).toBe(
      'Instance shop-a disabled: ingest acknowledges and drops its new events, and deliver drops those already queued. To hold them instead, "instances pause shop-a".\n',
    );
    expect(JSON.parse((await cli('instances', 'disable', 'shop-a', '--json')).stdout)).toEqual({ id: 'shop-a', enabled: false, events: 'dropped by ingest' });
  });
});

describe('event.notification.types on create and update', () => {
  test('unknown types are warnings (kept), malformed ones are errors (nothing written)', async () => {
    const update = await cli('instances', 'update', 'shop-a', '--set', 'event.notification.types=order.*, product.updatd, widget.*');
    expect(update.code).toBe(0);
    expect(update.stderr).toContain('warning: event.notification.types: "product.updatd" is not one of Ecwid\'s documented event types (check the spelling)');
    expect(update.stderr).toContain('warning: event.notification.types: "widget.*": Ecwid documents no widget.* events (check the spelling)');
    expect(update.stderr).not.toContain('order.*');

    const bad = await cli('instances', 'update', 'shop-a', '--set', 'event.notification.types=order created');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/event\.notification\.types: "order" is not an event type/);

    const file = join(dir, 'new.json');
    await writeFile(file, JSON.stringify(instanceDocument({ name: 'Shop N', callbackUrl: CALLBACK, configuration: { 'event.notification.types': 'order.created new_order' } })));
    const create = await cli('instances', 'create', '--file', file);
    expect(create.code).toBe(0);
    expect(create.stderr).not.toContain('event.notification.types');
  });
});
