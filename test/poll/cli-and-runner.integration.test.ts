/**
 * The wiring of polling outside Lambda, against moto and the fake Ecwid API:
 * - `ecwid-events instances poll ID [--since]` on SSM (states, lease) and the FIFO queue;
 * - the local runner's poll loop (`--poll-interval`, `--ecwid-api`) delivering a polled order to a
 *   callback, and `instances poll ID --local` sharing the runner's state.
 */
import { SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { SsmCheckpointStore } from '../../functions/adapters/aws/ssm-checkpoint-store';
import type { QueuedEvent } from '../../functions/core/event';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { startLocalRunner, type LocalRunner } from '../../local/runner';
import { runCli } from '../cli/run-cli';
import { startCallbackServer, type CallbackServer } from '../e2e/support/servers';
import { ecwidSignatureFor } from '../../testkit/events';
import { instanceDocument } from '../../testkit/instances';
import {
  createFifoQueueWithDlq,
  deleteParametersByPath,
  deleteQueuePair,
  deleteQueues,
  describeWithMoto,
  drainQueue,
  motoEndpoint,
  motoSqsClient,
  motoSsmClient,
  uniqueName,
  uniqueSsmPrefix,
  type FifoQueuePair,
} from '../support/moto';
import { startEcwidSearchApi, type EcwidSearchApi } from '../../testkit/ecwid-api';

jest.setTimeout(30_000);

const TOKEN = 'secret_cli_poll_token';
const DAY = 86_400;
const nowSeconds = () => Math.floor(Date.now() / 1000);
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

describeWithMoto('instances poll (SSM) and the local runner poll loop', () => {
  let ssm: SSMClient;
  let sqs: SQSClient;
  // One fake store per test: each starts from an empty Ecwid.
  let server: EcwidSearchApi;

  beforeAll(() => {
    ssm = motoSsmClient();
    sqs = motoSqsClient();
  });
  beforeEach(async () => {
    server = await startEcwidSearchApi('1003', TOKEN);
  });
  afterEach(() => server.close());
  afterAll(() => {
    ssm.destroy();
    sqs.destroy();
  });

  describe('instances poll on SSM', () => {
    let prefix: string;
    let pair: FifoQueuePair;
    const cli = (args: string[], tty = false) =>
      runCli(
        [
          ...args,
          '--ssm-endpoint',
          motoEndpoint(),
          '--sqs-endpoint',
          motoEndpoint(),
          '--ssm-prefix',
          prefix,
          '--queue-url',
          pair.queueUrl,
          '--dlq-url',
          pair.deadLetterQueueUrl,
          '--ecwid-api',
          server.baseUrl,
        ],
        // Loopback endpoints: the CLI uses dummy credentials and us-east-1 by itself.
        { env: {}, tty },
      );

    beforeAll(async () => {
      prefix = uniqueSsmPrefix('cli-poll');
      pair = await createFifoQueueWithDlq(sqs, 'cli-poll');
      const registry = new SsmInstanceRepository({ prefix, client: ssm, maxAgeSeconds: 0 });
      await registry.replace('shop-a', instanceDocument({ storeId: '1003', configuration: { [CONFIG_KEYS.accessToken]: TOKEN, [CONFIG_KEYS.vendorType]: 'polling' } }));
      await registry.replace('no-token', instanceDocument({ storeId: '1003', configuration: { [CONFIG_KEYS.vendorType]: 'polling' } }));
    });
    afterAll(async () => {
      await deleteParametersByPath(ssm, prefix);
      await deleteQueuePair(sqs, pair);
    });

    test('a backfill queues the old and the recent order, saves the state, shows progress, prints no token', async () => {
      const old = server.store.createOrder(nowSeconds() - 3 * DAY);
      const recent = server.store.createOrder(nowSeconds() - 300);

      const run = await cli(['instances', 'poll', 'shop-a', '--since', iso(nowSeconds() - 7 * DAY).slice(0, 10)], true);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/status\s+ok/);
      expect(run.stdout).toMatch(/queued\s+2/);
      expect(run.stderr).toContain('polling shop-a [');
      expect(run.all).not.toContain(TOKEN);
      const bodies = (await drainQueue(sqs, pair.queueUrl)).map((m) => JSON.parse(m.Body!) as QueuedEvent);
      expect(bodies.map((b) => b.objectId).sort()).toEqual([old, recent].sort());
      expect(bodies.every((b) => b.source === 'poll' && b.instanceId === 'shop-a')).toBe(true);
      const state = await new SsmCheckpointStore({ prefix, client: ssm }).load('shop-a');
      expect(state?.lastStatus).toBe('ok');

      // Again: nothing new.
      const again = await cli(['instances', 'poll', 'shop-a', '--json']);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ id: 'shop-a', status: 'ok', queued: 0 });
    });

    test('refusals: a bad --since (exit 2), an instance without a token, one the scheduled poller holds (exit 1)', async () => {
      const bad = await cli(['instances', 'poll', 'shop-a', '--since', 'last tuesday']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--since must be an ISO 8601 date');

      const noToken = await cli(['instances', 'poll', 'no-token']);
      expect(noToken.code).toBe(1);
      expect(noToken.stderr).toContain('ecwid.access.token is required for polling');

      const store = new SsmCheckpointStore({ prefix, client: ssm });
      await store.lock('shop-a', 'scheduled-run', 300);
      const leased = await cli(['instances', 'poll', 'shop-a']);
      expect(leased.code).toBe(1);
      expect(leased.stderr).toContain('another poll of instance shop-a is running');
      await store.unlock('shop-a', 'scheduled-run');
    });
  });

  describe('local runner', () => {
    let dir: string;
    let callbacks: CallbackServer;
    let runner: LocalRunner | undefined;
    const lines: string[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'runner-poll-'));
      callbacks = await startCallbackServer(() => 200);
    });
    afterAll(async () => {
      await runner?.stop();
      if (runner) await deleteQueues(sqs, runner.queues.queueUrl, runner.queues.deadLetterQueueUrl);
      await callbacks.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('the poll loop delivers a polled order; instances poll --local backfills through the same state', async () => {
      const instances = join(dir, 'instances');
      mkdirSync(instances);
      writeFileSync(
        join(instances, 'shop.json'),
        JSON.stringify(
          instanceDocument({
            storeId: '1003',
            callbackUrl: `${callbacks.origin}/shop`,
            configuration: { [CONFIG_KEYS.accessToken]: TOKEN, [CONFIG_KEYS.clientSecret]: 'poll-secret', [CONFIG_KEYS.vendorType]: 'polling' },
          }),
        ),
      );
      const order = server.store.createOrder(nowSeconds() - 120, { paymentStatus: 'PAID' });
      const stateFile = join(dir, 'state', 'runner.json');
      runner = await startLocalRunner(
        {
          port: 0,
          instancesDir: instances,
          sqsEndpoint: motoEndpoint(),
          queuePrefix: uniqueName('runner-poll'),
          ecwidApiBaseUrl: server.baseUrl,
          retryScheduleSeconds: [1],
          maxAttempts: 3,
          quiet: true,
          stateFile,
          pollIntervalSeconds: 3600, // one run at start, then only what the CLI does
        },
        { out: (text) => lines.push(text), err: (text) => lines.push(text) },
      );
      expect(runner.state.pollStateDir).toBe(join(dir, 'state', 'poller'));

      const until = async (count: number) => {
        const deadline = Date.now() + 15_000;
        while (callbacks.delivered.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      };
      await until(1);
      const first = JSON.parse(callbacks.delivered[0].body) as { message: { raw: { entity: { id: string } }; events: Array<Record<string, string>> } };
      expect(first.message.events[0]).toMatchObject({ objectType: 'orders', objectId: order, eventType: 'CREATED', pollDate: expect.any(String) });
      expect(first.message.raw.entity).toMatchObject({ id: order, paymentStatus: 'PAID' });

      // Polling only: the runner's ingest answers a genuine webhook of this store 200 and queues nothing
      // (the reason is said on the per-instance route only: the shared URL tells a caller nothing).
      const eventCreated = nowSeconds();
      const webhook = await fetch(`${runner.ingestUrl}/shop`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-ecwid-webhook-signature': ecwidSignatureFor('poll-secret', eventCreated, 'evt-runner-1') },
        body: JSON.stringify({ eventId: 'evt-runner-1', eventCreated, storeId: 1003, entityId: 1, eventType: 'order.updated', data: { orderId: order } }),
      });
      expect(webhook.status).toBe(200);
      expect(await webhook.json()).toMatchObject({ queued: 0, message: expect.stringContaining('polling only') });

      const old = server.store.createOrder(nowSeconds() - 2 * DAY);
      const run = await runCli(['instances', 'poll', 'shop', '--local', '--state-file', stateFile, '--since', iso(nowSeconds() - 3 * DAY), '--json'], {
        env: {},
        cwd: dir,
      });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'ok', queued: 1 });
      await until(2);
      expect(callbacks.delivered.map((r) => (JSON.parse(r.body) as { message: { events: Array<{ objectId: string }> } }).message.events[0].objectId)).toEqual([order, old]);
      expect(lines.filter((l) => /ERROR/.test(l))).toEqual([]);
    });
  });
});
