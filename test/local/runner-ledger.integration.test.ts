/**
 * The runner's embedded ledger: where its data go, that a restart with the same state file finds
 * them, and that two live runners never share one state file (and its ledger folder). In process,
 * so the queue is moto's (the embedded SQS emulator is an ES module Jest cannot load); the ledger
 * is the embedded engine under test.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbLedger } from '../../functions/adapters/aws/dynamodb-ledger';
import { receivedEntry } from '../../functions/core/ledger';
import type { RunnerOptions } from '../../local/options';
import { ledgerFolderOf, RunnerStartError, startLocalRunner, type LocalRunner } from '../../local/runner';
import { queuedEventFor } from '../support/ledger-contract';
import { deleteQueues, describeWithMoto, motoEndpoint, motoSqsClient, uniqueName } from '../support/moto';

jest.setTimeout(30_000);

describeWithMoto('the local runner\'s embedded ledger', () => {
  let dir: string;
  const running: LocalRunner[] = [];
  const queueUrls: string[] = [];
  const queuePrefix = uniqueName('runner-ledger');
  const quiet = { out: () => undefined, err: () => undefined };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'runner-ledger-'));
    mkdirSync(join(dir, 'instances'));
  });
  afterEach(async () => {
    for (const runner of running.splice(0)) await runner.stop();
    for (const client of clients.splice(0)) client.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  afterAll(async () => {
    const sqs = motoSqsClient();
    await deleteQueues(sqs, ...queueUrls);
    sqs.destroy();
  });

  const optionsFor = (stateFile: string): RunnerOptions => ({
    port: 0,
    instancesDir: join(dir, 'instances'),
    sqsEndpoint: motoEndpoint(),
    queuePrefix,
    quiet: true,
    stateFile,
    pollIntervalSeconds: 0,
  });
  const start = async (stateFile: string): Promise<LocalRunner> => {
    const runner = await startLocalRunner(optionsFor(stateFile), quiet);
    running.push(runner);
    queueUrls.push(runner.queues.queueUrl, runner.queues.deadLetterQueueUrl);
    return runner;
  };
  const clients: DynamoDBClient[] = [];
  const ledgerOf = (runner: LocalRunner) => {
    const client = new DynamoDBClient({ endpoint: runner.dynamodbEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    clients.push(client);
    return new DynamoDbLedger({ tableName: runner.ledgerTableName, client });
  };

  test('the ledger folder is named after the state file, beside it', () => {
    expect(ledgerFolderOf('/work/.local-state/runner.json')).toBe('/work/.local-state/runner-ledger');
    expect(ledgerFolderOf('/tmp/a/blue.json')).toBe('/tmp/a/blue-ledger');
  });

  test('a restart with the same state file finds every entry; another state file has its own ledger', async () => {
    const stateFile = join(dir, 'state', 'runner.json');
    const entry = receivedEntry(queuedEventFor({ instanceId: 'shop', eventId: 'kept' }), '{}', new Date());
    const first = await start(stateFile);
    expect(first.ledgerFolder).toBe(join(dir, 'state', 'runner-ledger'));
    await ledgerOf(first).record([entry]);
    await first.stop();

    const again = await start(stateFile);
    expect(await ledgerOf(again).get('shop', 'kept')).toEqual(entry);
    const other = await start(join(dir, 'state', 'other.json'));
    expect(await ledgerOf(other).get('shop', 'kept')).toBeUndefined();
  });

  test('a second runner on a live runner\'s state file is refused, saying why; a file left by a dead runner is taken over', async () => {
    const stateFile = join(dir, 'runner.json');
    const first = await start(stateFile);
    const refused = startLocalRunner(optionsFor(stateFile), quiet);
    await expect(refused).rejects.toThrow(RunnerStartError);
    await expect(refused).rejects.toThrow(`another runner (pid ${process.pid}) is using the state file ${stateFile}`);
    await first.stop();

    // A runner killed without a clean stop leaves its state file behind, naming a pid that is gone.
    writeFileSync(stateFile, JSON.stringify({ pid: 2 ** 22 + 12345 }));
    await expect(start(stateFile)).resolves.toMatchObject({ ledgerTableName: `${queuePrefix}-ledger` });
  });
});
