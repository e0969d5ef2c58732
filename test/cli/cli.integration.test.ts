/**
 * The CLI against moto: instances in SSM (the registry and its store index), and the whole
 * operator cycle on the local runner (spawned with --sqs-endpoint moto): create -> list ->
 * show (masked) -> test-event -> fails -> dlq list/show -> replay -> delivered.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
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
import { deduplicationId, messageGroupId } from '../../functions/adapters/aws/sqs-ids';
import { instanceDocument } from '../../testkit/instances';
import { queuedEvent } from '../../testkit/events';
import { runCli } from './run-cli';

const PROJECT_ROOT = resolve(__dirname, '..', '..');
const CLIENT_SECRET = 'Wq4Ze8Rt2Yu6Io0P';
const ORDER_KEY = 'Kd9Lf3Gh7Jk1Mn5B';

function expectNoSecretIn(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    for (let i = 0; i + 6 <= secret.length; i++) expect(text).not.toContain(secret.slice(i, i + 6));
  }
}

describeWithMoto('CLI instances in SSM (moto)', () => {
  const ssm = () => motoSsmClient();
  let prefix: string;
  let dir: string;
  const cli = (...args: string[]) =>
    runCli(['--ssm-endpoint', motoEndpoint(), '--region', 'us-east-1', '--ssm-prefix', prefix, '--ingest-url', 'https://hooks.example.net', ...args], {
      cwd: dir,
      env: {},
    });

  beforeAll(async () => {
    prefix = uniqueSsmPrefix('cli');
    dir = await mkdtemp(join(tmpdir(), 'ecwid-cli-ssm-'));
  });
  afterAll(async () => {
    await deleteParametersByPath(ssm(), prefix);
    await rm(dir, { recursive: true, force: true });
  });

  test('create stores a SecureString and the store index; list/show mask; update moves the index; delete removes it', async () => {
    const doc = instanceDocument({
      name: 'Shop A',
      callbackUrl: 'https://93.184.216.34/ecwid',
      clientSecret: CLIENT_SECRET,
      configuration: { 'ecwid.order.key': ORDER_KEY },
    });
    await writeFile(join(dir, 'a.json'), JSON.stringify(doc));

    const created = await cli('instances', 'create', '--file', 'a.json');
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('https://hooks.example.net/events/ecwid/shop-a');
    const parameter = (await ssm().send(new GetParameterCommand({ Name: `${prefix}/instances/shop-a`, WithDecryption: true }))).Parameter;
    expect(parameter?.Type).toBe('SecureString');
    expect(JSON.parse(parameter?.Value ?? '')).toEqual(doc);
    const index = async (store: string) =>
      (await ssm().send(new GetParameterCommand({ Name: `${prefix}/stores/${store}` })).catch(() => undefined))?.Parameter?.Value;
    expect(await index('1003')).toBe('["shop-a"]');

    expect((await cli('instances', 'create', '--file', 'a.json')).code).toBe(1);

    const list = await cli('instances', 'list');
    expect(list.stdout).toMatch(/^shop-a +Shop A +1003 +yes +https:\/\/93\.184\.216\.34\/ecwid +order-key,product-key,client-secret$/m);
    const show = await cli('instances', 'show', 'shop-a', '--json');
    expect(JSON.parse(show.stdout).document.configuration['ecwid.client.secret']).toBe('****(set)');
    expectNoSecretIn(list.all + show.all, [CLIENT_SECRET, ORDER_KEY]);

    expect((await cli('instances', 'update', 'shop-a', '--set', 'ecwid.store.id=2024')).code).toBe(0);
    expect(await index('2024')).toBe('["shop-a"]');
    expect(await index('1003')).toBeUndefined();

    const refused = await cli('instances', 'update', 'shop-a', '--set', 'event.notification.callback.url=https://10.0.0.8/x');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/callback\.url: .*\(private\)/);

    expect((await cli('instances', 'reindex', '--json')).code).toBe(0);
    expect((await cli('instances', 'delete', 'shop-a', '--yes')).code).toBe(0);
    expect(await index('2024')).toBeUndefined();
    expect((await cli('instances', 'list')).stdout).toMatch(/^No instances in SSM /);
  });
});

/** A receiver that answers 500 until told otherwise, and records what it got. */
async function startReceiver() {
  const received: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown>; answered: number }> = [];
  let status = 500;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body || '{}'), answered: status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ecwid-callback`,
    received,
    answer: (code: number) => (status = code),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

describeWithMoto('CLI operator cycle on the local runner (moto SQS)', () => {
  let dir: string;
  let runner: ChildProcess | undefined;
  let runnerOutput = '';
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let queuePrefix: string;
  // Not in the instances folder: the runner and the CLI would take it for a broken instance.
  const stateFile = () => join(dir, 'state', 'runner.json');
  const cli = (...args: string[]) => runCli(['--local', '--state-file', stateFile(), ...args], { cwd: dir, env: {} });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecwid-cli-cycle-'));
    receiver = await startReceiver();
    queuePrefix = uniqueName('cli');
    await writeFile(join(dir, '.keep'), '');
    runner = spawn(
      process.execPath,
      [
        '--require', 'tsx/cjs', 'bin/local.ts',
        '--sqs-endpoint', motoEndpoint(),
        '--queue-prefix', queuePrefix,
        '--port', '0',
        '--instances', dir,
        '--state-file', stateFile(),
        '--retry-schedule', '1',
        '--max-attempts', '2',
        '--quiet',
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    runner.stdout?.on('data', (chunk) => (runnerOutput = (runnerOutput + chunk).slice(-8000)));
    runner.stderr?.on('data', (chunk) => (runnerOutput = (runnerOutput + chunk).slice(-8000)));
    await waitFor(
      `the local runner's state file (runner output: ${runnerOutput})`,
      async () => {
        if (runner?.exitCode !== null) throw new Error(`the local runner exited: ${runnerOutput}`);
        return readFile(stateFile(), 'utf8').then(() => true, () => undefined);
      },
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    if (runner && runner.exitCode === null) {
      const exited = new Promise((ok) => runner?.once('exit', ok));
      runner.kill('SIGINT');
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000).unref())]);
      if (runner.exitCode === null) runner.kill('SIGKILL');
    }
    await receiver?.close();
    const sqs = motoSqsClient();
    const state = await readFile(stateFile(), 'utf8').then(JSON.parse, () => undefined);
    const base = `${motoEndpoint()}/123456789012`;
    await deleteQueues(sqs, state?.queueUrl ?? `${base}/${queuePrefix}.fifo`, state?.deadLetterQueueUrl ?? `${base}/${queuePrefix}-dlq.fifo`);
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  test('create -> list -> show -> test-event fails -> dlq list/show -> replay -> delivered', async () => {
    // create: the runner's folder is the repository in --local mode
    const doc = instanceDocument({
      name: 'Cycle Shop',
      storeId: '7001',
      callbackUrl: receiver.url,
      clientSecret: CLIENT_SECRET,
      configuration: { 'ecwid.order.key': ORDER_KEY },
    });
    await writeFile(join(dir, 'input.json.txt'), JSON.stringify(doc));
    const created = await cli('instances', 'create', '--file', 'input.json.txt', '--json');
    expect(created.code).toBe(0);
    const { id, urls } = JSON.parse(created.stdout);
    expect(id).toBe('cycle-shop');
    expect(urls.instance).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/events\/ecwid\/cycle-shop$/);

    const list = await cli('instances', 'list');
    expect(list.stdout).toMatch(/^cycle-shop +Cycle Shop +7001 +yes /m);
    const show = await cli('instances', 'show', id);
    expect(show.stdout).toMatch(/^ecwid\.client\.secret +\*\*\*\*\(set\)$/m);

    // test-event: the receiver answers 500, so after 2 attempts the event is dead-lettered (exit 3)
    const failed = await cli('test-event', id, '--type', 'order.created', '--timeout', '60', '--json');
    if (failed.code !== 3) {
      // Diagnose from what the CLI and the runner said.
      throw new Error(`test-event exited ${failed.code}:\n${failed.all}\nreceiver got ${receiver.received.length}\nrunner:\n${runnerOutput}`);
    }
    const failure = JSON.parse(failed.stdout);
    expect(failure).toMatchObject({ outcome: 'failed', http: { status: 200 }, instanceId: id, attempts: 2 });
    expect(failure.lastError).toMatch(/500/);
    expect(failed.stderr).toContain(`POST ${urls.instance}?eventtype=order.created`);
    expect(failed.stderr).toContain(`ecwid-events: error: event ${failure.eventId} ended in the dead-letter queue`);
    const eventId: string = failure.eventId;
    expect(receiver.received.filter((r) => JSON.stringify(r.body).includes(eventId))).toHaveLength(2);

    // dlq list / show / queues, without consuming it
    const dlqList = await cli('dlq', 'list', '--instance', id);
    expect(dlqList.code).toBe(0);
    expect(dlqList.stdout).toMatch(new RegExp(`^${eventId} +${id} +orders/\\S+ +http-5xx +2 +\\S+ +unchanged +.*500`, 'm'));
    const dlqShow = await cli('dlq', 'show', eventId, '--json');
    expect(dlqShow.code).toBe(0);
    expect(JSON.parse(dlqShow.stdout)).toMatchObject({ eventId, instanceId: id, attempts: 2, event: { eventId, ecwidEventType: 'order.created', storeId: '7001' } });
    const queues = JSON.parse((await cli('queues', '--json')).stdout);
    expect(queues).toEqual([
      expect.objectContaining({ name: 'queue', visible: 0, inFlight: 0, oldestAgeSource: 'empty' }),
      expect.objectContaining({ name: 'dlq', visible: 1, oldestAgeMs: expect.any(Number) }),
    ]);

    // replay after the receiver recovered: moved back, delivered, gone from the DLQ
    receiver.answer(204);
    const dry = await cli('dlq', 'replay', '--event', eventId, '--dry-run', '--force', '--json');
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, replayed: [eventId] });
    // The instance has not changed since the failure: held back until --force says the cause is fixed elsewhere.
    const held = await cli('dlq', 'replay', '--event', eventId, '--json');
    expect(held.code).toBe(1);
    expect(JSON.parse(held.stdout)).toMatchObject({ replayed: [], heldBack: [{ eventId, instanceId: id }] });
    expect(held.stderr).toContain('has not changed since they failed');
    const replayed = await cli('dlq', 'replay', '--event', eventId, '--force', '--json');
    expect(replayed.code).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ dryRun: false, replayed: [eventId], failed: [] });
    const delivery = await waitFor('the replayed delivery', () =>
      receiver.received.find((r) => r.answered === 204 && JSON.stringify(r.body).includes(eventId)),
    );
    expect(delivery.body).toMatchObject({ message: { instanceId: id, eventId: expect.stringContaining(eventId), raw: { webhook: { eventId } } } });
    await waitFor('an empty DLQ', async () => {
      const list = JSON.parse((await cli('dlq', 'list', '--json')).stdout);
      return list.events.length === 0 ? true : undefined;
    });

    // a fresh test event now goes straight through (exit 0)
    const ok = await cli('test-event', id, '--type', 'order.updated', '--timeout', '60');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^Delivered: event test-\S+ left the queue/);

    expectNoSecretIn([created, list, show, failed, dlqList, dlqShow, replayed, ok].map((run) => run.all).join('\n'), [CLIENT_SECRET, ORDER_KEY]);
  }, 120_000);

  test('a disabled instance answers 200 but queues nothing: test-event says so (exit 1)', async () => {
    const doc = instanceDocument({ name: 'Off Shop', storeId: '7002', callbackUrl: receiver.url, clientSecret: CLIENT_SECRET });
    await writeFile(join(dir, 'off.json.txt'), JSON.stringify(doc));
    expect((await cli('instances', 'create', '--file', 'off.json.txt')).code).toBe(0);
    expect((await cli('instances', 'disable', 'off-shop')).code).toBe(0);
    const run = await cli('test-event', 'off-shop');
    expect(run.code).toBe(1);
    // Ingest's own message starts with "not queued:" too; said once.
    expect(run.stdout).toMatch(/^Accepted \(HTTP 200\) but not queued: event notifications are disabled/);
    expect(run.stdout).not.toContain('not queued: not queued');
    expect(run.stderr).toContain('ecwid-events: error: the event was not queued');
  }, 60_000);

  test('the real bin entry: exit code and a one-line error without a stack trace', async () => {
    const child = spawn(process.execPath, ['bin/ecwid-events.js', '--local', '--state-file', stateFile(), 'instances', 'show', 'missing'], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c) => (stdout += c));
    child.stderr?.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((ok) => child.on('exit', ok));
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(`ecwid-events: error: no instance "missing" in folder ${dir}\n`);
  }, 30_000);
});

describeWithMoto('CLI dead-letter queue operations (moto)', () => {
  const sqs = motoSqsClient();
  let pair: FifoQueuePair;
  const cli = (...args: string[]) =>
    runCli(['--sqs-endpoint', motoEndpoint(), '--region', 'us-east-1', '--queue-url', pair.queueUrl, '--dlq-url', pair.deadLetterQueueUrl, ...args], { env: {} });

  /** Puts an event on the DLQ the way deliver does: same group and dedup id as on the main queue. */
  async function deadLetter(eventId: string, instanceId: string, objectId: string) {
    const event = queuedEvent({ eventId, instanceId, objectId });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: pair.deadLetterQueueUrl,
        MessageBody: JSON.stringify(event),
        MessageGroupId: messageGroupId(event),
        MessageDeduplicationId: deduplicationId(event),
        MessageAttributes: {
          lastError: { DataType: 'String', StringValue: 'callback answered HTTP 503' },
          attempts: { DataType: 'String', StringValue: '8' },
          firstReceivedAt: { DataType: 'String', StringValue: '2024-01-01T00:00:00.000Z' },
          lastAttemptAt: { DataType: 'String', StringValue: '2024-01-02T00:00:00.000Z' },
          instanceId: { DataType: 'String', StringValue: instanceId },
          eventId: { DataType: 'String', StringValue: eventId },
        },
      }),
    );
    return event;
  }

  const depth = async (url: string) => {
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }))).Attributes ?? {};
    return Number(a.ApproximateNumberOfMessages) + Number(a.ApproximateNumberOfMessagesNotVisible);
  };

  beforeEach(async () => {
    pair = await createFifoQueueWithDlq(sqs, 'cli-dlq');
  });
  afterEach(() => deleteQueuePair(sqs, pair));

  test('list does not consume; replay keeps body and group and uses a replay dedup id', async () => {
    // The original copy was accepted by the main queue moments ago, with the dedup id the DLQ
    // copy carries: SQS would drop a copy sent with that id within 5 minutes (moto does not
    // enforce the window after a delete, so the id itself is asserted below).
    const event = await deadLetter('evt-recent', 'shop-a', 'A1');
    await sqs.send(
      new SendMessageCommand({ QueueUrl: pair.queueUrl, MessageBody: 'original', MessageGroupId: messageGroupId(event), MessageDeduplicationId: deduplicationId(event) }),
    );
    await drainQueue(sqs, pair.queueUrl);
    await deadLetter('evt-b', 'shop-b', 'B1');

    const listed = await cli('dlq', 'list', '--json');
    expect(JSON.parse(listed.stdout).events.map((e: { eventId: string }) => e.eventId)).toEqual(['evt-recent', 'evt-b']);
    expect(await depth(pair.deadLetterQueueUrl)).toBe(2);
    // Handed back: visible again at once.
    expect((await cli('dlq', 'list', '--instance', 'shop-b', '--json')).stdout).toContain('evt-b');

    const replay = await cli('dlq', 'replay', '--instance', 'shop-a');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('Replayed 1 of 2');
    const moved = await drainQueue(sqs, pair.queueUrl);
    expect(moved).toHaveLength(1);
    expect(JSON.parse(moved[0].Body ?? '')).toEqual({
      ...event,
      history: { attempts: 8, firstSeenAt: '2024-01-01T00:00:00.000Z', replays: 1, replayRun: expect.stringMatching(/^\d+$/) },
    });
    expect(moved[0].Attributes?.MessageGroupId).toBe(messageGroupId(event));
    expect(moved[0].Attributes?.MessageDeduplicationId).toMatch(/^shop-a:evt-recent:replay:\d+$/);
    expect(await depth(pair.deadLetterQueueUrl)).toBe(1);
  });

  test('list filters by error class and age and sorts: the triage view', async () => {
    const put = async (eventId: string, instanceId: string, lastError: string, attempts: string, firstReceivedAt: string) => {
      const event = queuedEvent({ eventId, instanceId, objectId: eventId });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: pair.deadLetterQueueUrl,
          MessageBody: JSON.stringify(event),
          MessageGroupId: messageGroupId(event),
          MessageDeduplicationId: deduplicationId(event),
          MessageAttributes: {
            lastError: { DataType: 'String', StringValue: lastError },
            attempts: { DataType: 'String', StringValue: attempts },
            firstReceivedAt: { DataType: 'String', StringValue: firstReceivedAt },
            instanceId: { DataType: 'String', StringValue: instanceId },
            eventId: { DataType: 'String', StringValue: eventId },
          },
        }),
      );
    };
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();
    await put('evt-new-503', 'shop-b', 'callback https://h.example answered HTTP 503', '3', hoursAgo(1));
    await put('evt-old-timeout', 'shop-a', 'callback https://h.example timed out', '11', hoursAgo(30));
    await put('evt-mid-410', 'shop-a', 'callback https://h.example answered HTTP 410', '2', hoursAgo(5));
    const ids = async (...args: string[]) => JSON.parse((await cli('dlq', 'list', '--json', ...args)).stdout).events.map((e: { eventId: string }) => e.eventId);

    expect(await ids()).toEqual(['evt-old-timeout', 'evt-mid-410', 'evt-new-503']); // oldest first
    expect(await ids('--sort', 'attempts')).toEqual(['evt-old-timeout', 'evt-new-503', 'evt-mid-410']);
    expect(await ids('--sort', 'instance')).toEqual(['evt-old-timeout', 'evt-mid-410', 'evt-new-503']);
    expect(await ids('--error', 'http')).toEqual(['evt-mid-410', 'evt-new-503']);
    expect(await ids('--error', 'http-5xx')).toEqual(['evt-new-503']);
    expect(await ids('--older-than', '2h', '--newer-than', '1d')).toEqual(['evt-mid-410']);
    expect(await ids('--instance', 'shop-a', '--error', 'timeout')).toEqual(['evt-old-timeout']);
    const table = await cli('dlq', 'list', '--limit', '2');
    expect(table.stdout).toContain('2 of 3 event(s) (--limit 2; --limit for more); by error: timeout 1, http-4xx 1, http-5xx 1.');
    expect(table.stdout).toContain('Next: ecwid-events dlq show evt-old-timeout   then   ecwid-events dlq replay --event evt-old-timeout --wait');
    const bad = await cli('dlq', 'list', '--error', '500');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--error must be one of http, http-4xx');
    // Nothing was consumed.
    expect(await depth(pair.deadLetterQueueUrl)).toBe(3);
  });

  test('when the main queue refuses, nothing leaves the DLQ', async () => {
    await deadLetter('evt-1', 'shop-a', 'A1');
    await deadLetter('evt-2', 'shop-a', 'A2');
    const run = await runCli(
      ['--sqs-endpoint', motoEndpoint(), '--region', 'us-east-1', '--queue-url', `${pair.queueUrl.replace(/\.fifo$/, '')}-missing.fifo`, '--dlq-url', pair.deadLetterQueueUrl, 'dlq', 'replay', '--all'],
      { env: {} },
    );
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(await depth(pair.deadLetterQueueUrl)).toBe(2);
    expect((await cli('dlq', 'list', '--json')).stdout).toContain('evt-2');
  });

  test('--all --move-task falls back to message by message where SQS lacks move tasks (moto)', async () => {
    for (let i = 0; i < 12; i++) await deadLetter(`evt-${i}`, 'shop-a', `O${i}`);
    expect((await cli('dlq', 'replay', '--all', '--move-task')).stderr).toContain('add --force');
    const run = await cli('dlq', 'replay', '--all', '--move-task', '--force', '--json');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('replaying message by message');
    expect(JSON.parse(run.stdout)).toMatchObject({ method: 'message-by-message', scanned: 12 });
    expect(await depth(pair.deadLetterQueueUrl)).toBe(0);
    expect(await drainQueue(sqs, pair.queueUrl)).toHaveLength(12);
  });

  test('show, queues, and purge (only with --yes)', async () => {
    await deadLetter('evt-show', 'shop-a', 'A1');
    const shown = await cli('dlq', 'show', 'evt-show');
    expect(shown.stdout).toMatch(/^last error +callback answered HTTP 503$/m);
    expect((await cli('dlq', 'show', 'evt-none')).code).toBe(1);

    const queues = JSON.parse((await cli('queues', '--json')).stdout);
    expect(queues[1]).toMatchObject({ name: 'dlq', visible: 1, oldestAgeSource: expect.stringContaining('peek') });
    expect(queues[0]).toMatchObject({ name: 'queue', visible: 0, oldestAgeSource: 'empty' });

    expect((await cli('dlq', 'purge')).code).toBe(2);
    expect(await depth(pair.deadLetterQueueUrl)).toBe(1);
    const purged = await cli('dlq', 'purge', '--yes');
    expect(purged.code).toBe(0);
    expect(await depth(pair.deadLetterQueueUrl)).toBe(0);
  });
});
