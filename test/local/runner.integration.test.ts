/**
 * The runner with --sqs-endpoint and --dynamodb-endpoint, in process, against moto: it creates the
 * FIFO queue and DLQ (idempotently, with the stack's redrive backstop) and the ledger table there,
 * and the whole pipeline works through them.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbLedger } from '../../functions/adapters/aws/dynamodb-ledger';
import { ecwidWebhookSignature } from '../../functions/core/ecwid/signature';
import type { RunnerOptions } from '../../local/options';
import { startLocalRunner, type LocalRunner, type RunnerOutput } from '../../local/runner';
import { deleteQueues, describeWithMoto, motoDynamoDbClient, motoEndpoint, motoSqsClient, uniqueName } from '../support/moto';
import { startCallbackServer, type CallbackServer } from '../e2e/support/servers';

// A whole runner (queues, servers, a delivery) per test: Jest's 5 s default is too tight on a busy machine.
jest.setTimeout(30_000);

const SAMPLE = {
  eventId: 'moto-run-event-1',
  // Created now: the runner, like ingest in AWS, refuses webhooks older than 48 h.
  eventCreated: Math.floor(Date.now() / 1000),
  storeId: 1003,
  entityId: 42,
  eventType: 'product.updated',
};

describeWithMoto('local runner on external SQS and DynamoDB endpoints (moto)', () => {
  let dir: string;
  let callbacks: CallbackServer;
  let sqs: SQSClient;
  let dynamodb: DynamoDBClient;
  let options: RunnerOptions;
  let runner: LocalRunner | undefined;
  const lines: string[] = [];
  const output: RunnerOutput = { out: (text) => lines.push(text), err: (text) => lines.push(text) };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runner-moto-'));
    callbacks = await startCallbackServer(() => 200);
    writeFileSync(
      join(dir, 'shop.json'),
      JSON.stringify({
        configuration: {
          'ecwid.store.id': '1003',
          'ecwid.client.secret': 'moto-secret',
          'event.notification.callback.url': `${callbacks.origin}/shop`,
        },
      }),
    );
    sqs = motoSqsClient();
    dynamodb = motoDynamoDbClient();
    options = {
      port: 0,
      instancesDir: dir,
      sqsEndpoint: motoEndpoint(),
      dynamodbEndpoint: motoEndpoint(),
      queuePrefix: uniqueName('runner'),
      ecwidApiBaseUrl: undefined,
      retryScheduleSeconds: [1],
      maxAttempts: 4,
      quiet: true,
      stateFile: join(dir, 'state', 'runner.json'),
    };
  });

  afterAll(async () => {
    await runner?.stop();
    if (runner) await deleteQueues(sqs, runner.queues.queueUrl, runner.queues.deadLetterQueueUrl);
    await dynamodb.send(new DeleteTableCommand({ TableName: `${options.queuePrefix}-ledger` })).catch(() => undefined);
    sqs.destroy();
    dynamodb.destroy();
    await callbacks.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('creates the queues with the redrive backstop and delivers through them', async () => {
    runner = await startLocalRunner(options, output);
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: runner.queues.queueUrl, AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({ FifoQueue: 'true', ContentBasedDeduplication: 'false', VisibilityTimeout: '720' });
    expect(JSON.parse(Attributes.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: runner.queues.deadLetterQueueArn,
      maxReceiveCount: 6, // --max-attempts 4, plus 2
    });

    const response = await fetch(`${runner.ingestUrl}/shop`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-ecwid-webhook-signature': ecwidWebhookSignature('moto-secret', SAMPLE.eventCreated, SAMPLE.eventId),
      },
      body: JSON.stringify(SAMPLE),
    });
    expect(response.status).toBe(200);
    const deadline = Date.now() + 15_000;
    while (callbacks.delivered.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(callbacks.delivered.map((request) => JSON.parse(request.body).id)).toEqual(['shop:moto-run-event-1']);

    expect(await runner.stop()).toEqual({ queued: 0, deadLettered: 0 });
  });

  test('starting again on the same queues is fine (idempotent create)', async () => {
    const first = runner!;
    runner = await startLocalRunner(options, output);
    expect(runner.queues).toEqual(first.queues);
    expect(await runner.stop()).toEqual({ queued: 0, deadLettered: 0 });
  });

  test('the ledger is at moto, not beside the state file: after a restart the same event is a duplicate, not delivered again', async () => {
    runner = await startLocalRunner(options, output);
    expect(runner).toMatchObject({ dynamodbEndpoint: motoEndpoint(), ledgerTableName: `${options.queuePrefix}-ledger` });
    expect(runner.ledgerFolder).toBeUndefined();
    expect(existsSync(join(dir, 'state', 'runner-ledger'))).toBe(false);
    expect(runner.state).toMatchObject({ dynamodbEndpoint: motoEndpoint(), ledgerTableName: `${options.queuePrefix}-ledger` });
    const entry = await new DynamoDbLedger({ tableName: `${options.queuePrefix}-ledger`, client: dynamodb }).get('shop', SAMPLE.eventId);
    expect(entry).toMatchObject({ instanceId: 'shop', eventId: SAMPLE.eventId, receivedAt: expect.any(String) });

    const repeat = await fetch(`${runner.ingestUrl}/shop`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-ecwid-webhook-signature': ecwidWebhookSignature('moto-secret', SAMPLE.eventCreated, SAMPLE.eventId),
      },
      body: JSON.stringify(SAMPLE),
    });
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toMatchObject({ queued: 0, duplicate: true });
    expect(await runner.stop()).toEqual({ queued: 0, deadLettered: 0 });
    expect(callbacks.delivered).toHaveLength(1);
  });
});
