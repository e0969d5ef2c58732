/**
 * `events list|show|resend` end to end through main(), against moto (DynamoDB ledger, SQS queue)
 * with explicit endpoints.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { claim, finishAttempt, markQueued, receivedEntry, type LedgerEntry } from '../../functions/core/ledger';
import { instanceDocument } from '../../testkit/instances';
import { queuedEventFor } from '../support/ledger-contract';
import { createFifoQueueWithDlq, deleteQueuePair, describeWithMoto, motoDynamoDbClient, motoEndpoint, motoSqsClient, uniqueName, type FifoQueuePair } from '../support/moto';
import { runCli } from './run-cli';

const T0 = Date.parse('2024-05-06T16:28:06.000Z');
const POLICY = { scheduleSeconds: [60], maxAttempts: 2 };

let dir: string;
let queues: FifoQueuePair;
let queueUrl: string;
let tableName: string;
let ledger: DynamoDbLedger;
let sqs: SQSClient;
let db: DynamoDBClient;

const cli = (...args: string[]) =>
  runCli(
    [
      '--dynamodb-endpoint', motoEndpoint(),
      '--ledger-table', tableName,
      '--instances-dir', join(dir, 'instances'),
      '--sqs-endpoint', motoEndpoint(),
      '--queue-url', queueUrl,
      '--dlq-url', queues.deadLetterQueueUrl,
      ...args,
    ],
    { cwd: dir, now: () => new Date(T0 + 3600_000), sleep: async () => undefined },
  );

/** A recorded event, moved through its life to `status`. */
async function seed(n: number, instanceId: string, status: 'queued' | 'delivered' | 'dead-lettered', objectId = String(n)): Promise<LedgerEntry> {
  const event = queuedEventFor({ eventId: `evt-${n}`, instanceId, objectId, receivedAt: new Date(T0 + n * 1000).toISOString(), ecwidEventType: n % 2 ? 'order.created' : 'order.updated' });
  const at = (s: number) => new Date(T0 + n * 1000 + s * 1000);
  let entry = receivedEntry(event, JSON.stringify(event), at(0));
  await ledger.record([entry]);
  entry = markQueued(entry, at(1));
  await ledger.update(entry);
  if (status === 'queued') return entry;
  const fail = { ok: false as const, errorClass: 'http', error: 'callback answered 502', httpStatus: 502, durationMs: 40, excerpt: '<html>bad gateway</html>' };
  for (let i = 0; ; i++) {
    entry = claim(entry, at(2 + i * 100));
    await ledger.update(entry);
    const result = status === 'delivered' && i === 1 ? { ok: true as const, httpStatus: 204, durationMs: 12 } : fail;
    entry = finishAttempt(entry, result, at(3 + i * 100), POLICY);
    await ledger.update(entry);
    if (entry.status === status) return entry;
  }
}

describeWithMoto('events commands on moto', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-events-'));
    await mkdir(join(dir, 'instances'));
    for (const id of ['shop-a', 'shop-b']) await writeFile(join(dir, 'instances', `${id}.json`), JSON.stringify(instanceDocument()));
    db = motoDynamoDbClient();
    sqs = motoSqsClient();
    queues = await createFifoQueueWithDlq(sqs, 'cli-events');
    queueUrl = queues.queueUrl;
    tableName = uniqueName('cli-ledger');
    await ensureLedgerTable(db, tableName);
    ledger = new DynamoDbLedger({ tableName, client: db });
    await seed(1, 'shop-a', 'delivered', '124');
    await seed(2, 'shop-a', 'dead-lettered', '124');
    await seed(3, 'shop-b', 'queued');
    await seed(4, 'shop-a', 'delivered', '500');
  });

  afterAll(async () => {
    await db.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    await deleteQueuePair(sqs, queues);
    db.destroy();
    sqs.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  describe('events list', () => {
    test('an instance newest first, with status and attempts; --json for scripts', async () => {
      const run = await cli('events', 'list', '--instance', 'shop-a');
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^RECEIVED\s+INSTANCE\s+EVENT ID\s+TYPE\s+OBJECT\s+STATUS\s+ATTEMPTS\s+ERROR\s+DETAIL$/);
      expect(lines.slice(2, -1).map((l) => l.split(/\s+/)[2])).toEqual(['evt-4', 'evt-2', 'evt-1']);
      expect(lines[3]).toMatch(/order:124\s+dead-lettered\s+2\s+http-5xx\s+callback answered 502/);
      expect(lines.at(-1)).toBe('Next: ecwid-events events show evt-2   then   ecwid-events events resend evt-2 --wait');
      const json = JSON.parse((await cli('events', 'list', '--instance', 'shop-a', '--status', 'delivered', '--json')).stdout);
      expect(json.events.map((e: { eventId: string; attempts: number }) => [e.eventId, e.attempts])).toEqual([
        ['evt-4', 2],
        ['evt-1', 2],
      ]);
    });

    test('pages with a cursor; by object; across instances; by type and time', async () => {
      const first = JSON.parse((await cli('events', 'list', '--instance', 'shop-a', '--limit', '2', '--json')).stdout);
      expect(first.events.map((e: { eventId: string }) => e.eventId)).toEqual(['evt-4', 'evt-2']);
      const second = JSON.parse((await cli('events', 'list', '--instance', 'shop-a', '--limit', '2', '--cursor', first.cursor, '--json')).stdout);
      expect(second.events.map((e: { eventId: string }) => e.eventId)).toEqual(['evt-1']);
      expect(second.cursor).toBeUndefined();

      const ids = async (...args: string[]) => JSON.parse((await cli('events', 'list', ...args, '--json')).stdout).events.map((e: { eventId: string }) => e.eventId);
      expect(await ids('--instance', 'shop-a', '--object', 'order:124')).toEqual(['evt-2', 'evt-1']);
      expect(await ids()).toEqual(['evt-4', 'evt-3', 'evt-2', 'evt-1']);
      expect(await ids('--status', 'queued')).toEqual(['evt-3']);
      expect(await ids('--type', 'order.created')).toEqual(['evt-3', 'evt-1']);
      expect(await ids('--since', new Date(T0 + 2000).toISOString(), '--until', new Date(T0 + 4000).toISOString())).toEqual(['evt-3', 'evt-2']);
    });

    test.each([
      [['--status', 'lost'], /--status must be one of received, queued/],
      [['--since', 'yesterday-ish'], /--since must be a time/],
      [['--object', 'order'], /--object must be TYPE:ID/],
      [['--since', '2024-05-07', '--until', '2024-05-06'], /--since must be before --until/],
    ])('%j is a usage error', async (args, message) => {
      const run = await cli('events', 'list', ...args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
    });
  });

  describe('events show', () => {
    test('the normalized fields, source, state and every attempt', async () => {
      const run = await cli('events', 'show', 'evt-2');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^event id\s+evt-2$/m);
      expect(run.stdout).toMatch(/^instance\s+shop-a$/m);
      expect(run.stdout).toMatch(/^normalized\s+order:124 UPDATED$/m);
      expect(run.stdout).toMatch(/^status\s+dead-lettered since /m);
      expect(run.stdout).toMatch(/^\s*1\s+\S+\s+40ms\s+failed\s+502\s+callback answered 502$/m);
      expect(run.stdout).toMatch(/^\s*2\s+\S+\s+40ms\s+failed\s+502/m);
      const json = JSON.parse((await cli('events', 'show', 'evt-2', '--json')).stdout);
      expect(json.attemptsDetail).toHaveLength(2);
      expect(json.attemptsDetail[0]).toMatchObject({ n: 1, outcome: 'failed', httpStatus: 502, excerpt: '<html>bad gateway</html>' });
      expect(json.event).toMatchObject({ eventId: 'evt-2', instanceId: 'shop-a', objectId: '124' });
    });

    test('an unknown event is an error that says where it looked', async () => {
      const run = await cli('events', 'show', 'nope');
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/no event nope in the ledger \(of 2 instances\)/);
    });
  });

  describe('events resend', () => {
    test('--dry-run says how many and for which instances, and changes nothing', async () => {
      const run = await cli('events', 'resend', '--instance', 'shop-a', '--dry-run');
      expect(run.stdout).toBe('would resend 3 event(s) of 1 instance(s): shop-a\n');
      expect((await ledger.get('shop-a', 'evt-2'))?.resendCount).toBe(0);
    });

    test('a dead-lettered event whose instance has not changed since it failed is held back, unless --force', async () => {
      // The instance file last written before evt-2 was dead-lettered: nothing was fixed.
      const file = join(dir, 'instances', 'shop-a.json');
      const before = new Date(T0 - 3600_000);
      await utimes(file, before, before);
      try {
        const held = await cli('events', 'resend', 'evt-2', '--json');
        expect(held.code).toBe(1);
        expect(held.stderr).toContain('instance shop-a has not changed since they failed');
        expect(JSON.parse(held.stdout)).toMatchObject({ resent: [], heldBack: ['evt-2'] });
        expect((await ledger.get('shop-a', 'evt-2'))?.resendCount).toBe(0);
        const dry = await cli('events', 'resend', 'evt-2', '--dry-run', '--force');
        expect(dry.stdout).toBe('would resend 1 event(s) of 1 instance(s): shop-a\n');
      } finally {
        const now = new Date();
        await utimes(file, now, now);
      }
    });

    test('resends by id: a new round, the history kept, a ticket on the queue; an unfinished event is left alone', async () => {
      const run = await cli('events', 'resend', 'evt-2', 'evt-3');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe('resent 1 event(s)\n');
      expect(run.stderr).toMatch(/evt-3 \(shop-b\) is queued, not finished: not resent/);
      const entry = await ledger.get('shop-a', 'evt-2');
      expect(entry).toMatchObject({ status: 'queued', resendCount: 1, attemptCount: 2, roundStart: 2 });
      expect(entry?.attempts).toHaveLength(2);
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10 }));
      expect(Messages.map((m) => JSON.parse(m.Body!).eventId)).toEqual(['evt-2']);
    });

    test('--wait reports a timeout when nothing delivers the resent events', async () => {
      const run = await cli('events', 'resend', 'evt-4', '--wait', '--timeout', '1');
      expect(run.code).toBe(4);
      expect(run.stderr).toMatch(/1 event\(s\) not finished after 1 s/);
    });
  });

  describe('dlq show', () => {
    test("a dead letter is shown with the ledger's attempts", async () => {
      const dead = await ledger.get('shop-a', 'evt-2');
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.deadLetterQueueUrl,
          MessageBody: dead!.payload,
          MessageGroupId: 'g',
          MessageDeduplicationId: 'dlq-evt-2',
          MessageAttributes: {
            instanceId: { DataType: 'String', StringValue: 'shop-a' },
            eventId: { DataType: 'String', StringValue: 'evt-2' },
            lastError: { DataType: 'String', StringValue: 'callback answered 502' },
          },
        }),
      );
      const run = await cli('dlq', 'show', 'evt-2');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/attempts \(ledger\):\n#\s+STARTED/);
      expect(run.stdout).toMatch(/^\s*1\s+\S+\s+40ms\s+failed\s+502\s+callback answered 502$/m);
      expect(run.stdout).toMatch(/^\s*2\s+\S+\s+40ms\s+failed\s+502/m);
      const json = JSON.parse((await cli('dlq', 'show', 'evt-2', '--json')).stdout);
      expect(json.ledgerAttempts.map((a: { outcome: string }) => a.outcome)).toEqual(['failed', 'failed']);
    });
  });
});
