/**
 * `instances resume` on moto (DynamoDB ledger, SQS FIFO queue): the held events of the resumed
 * instance get their tickets at once, oldest first, instead of at their recheck.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbHealthStore } from '../../functions/adapters/aws/dynamodb-health';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { setPaused } from '../../functions/core/health-flow';
import { hold, receivedEntry } from '../../functions/core/ledger';
import { instanceDocument } from '../../testkit/instances';
import { queuedEventFor } from '../support/ledger-contract';
import { createFifoQueueWithDlq, deleteQueuePair, describeWithMoto, motoDynamoDbClient, motoEndpoint, motoSqsClient, uniqueName, type FifoQueuePair } from '../support/moto';
import { runCli } from './run-cli';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const at = (secondsBefore: number) => new Date(NOW.getTime() - secondsBefore * 1000);

describeWithMoto('instances resume on moto', () => {
  let dir: string;
  let db: DynamoDBClient;
  let sqs: SQSClient;
  let queues: FifoQueuePair;
  let tableName: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-resume-'));
    await mkdir(join(dir, 'instances'));
    await writeFile(join(dir, 'instances', 'shop-a.json'), JSON.stringify(instanceDocument()));
    db = motoDynamoDbClient();
    sqs = motoSqsClient();
    queues = await createFifoQueueWithDlq(sqs, 'cli-resume');
    tableName = uniqueName('cli-resume');
    await ensureLedgerTable(db, tableName);
  });

  afterAll(async () => {
    await db.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    await deleteQueuePair(sqs, queues);
    db.destroy();
    sqs.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  test('held events are queued at once, oldest first; others are left alone', async () => {
    const ledger = new DynamoDbLedger({ tableName, client: db, clock: () => NOW });
    for (const n of [2, 1, 3]) {
      const event = queuedEventFor({ instanceId: 'shop-a', eventId: `evt-${n}`, objectId: String(n), receivedAt: at(300 - n).toISOString() });
      const [recorded] = await ledger.record([receivedEntry(event, JSON.stringify(event), at(200))]);
      if (!recorded.created) throw new Error('not recorded');
      // evt-3 is an ordinary queued event (its ticket is on its way): not woken.
      if (n !== 3) expect(await ledger.update(hold(recorded.entry, 'paused', undefined, at(100)))).toBe(true);
    }
    await setPaused('shop-a', true, { store: new DynamoDbHealthStore({ tableName, client: db }), clock: () => at(100) });

    const run = await runCli(
      [
        '--instances-dir', join(dir, 'instances'),
        '--dynamodb-endpoint', motoEndpoint(),
        '--ledger-table', tableName,
        '--sqs-endpoint', motoEndpoint(),
        '--queue-url', queues.queueUrl,
        '--dlq-url', queues.deadLetterQueueUrl,
        'instances', 'resume', 'shop-a',
      ],
      { cwd: dir, now: () => NOW },
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(
      'Instance shop-a resumed (was paused): deliveries go out in order; 2 held events queued now.\n' +
        'Notice receiver.resumed: no notices topic; no operational webhook.\n',
    );
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10 }));
    expect(Messages.map((m) => JSON.parse(m.Body!).eventId)).toEqual(['evt-1', 'evt-2']);
    for (const id of ['evt-1', 'evt-2']) {
      const entry = await ledger.get('shop-a', id);
      expect(entry?.status).toBe('queued');
      expect(entry?.heldBy).toBeUndefined();
    }
  });
});
