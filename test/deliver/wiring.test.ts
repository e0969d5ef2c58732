import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { deliverConfigFrom } from '../../functions/config';
import { deliverDependencies } from '../../functions/deliver/wiring';
import { AwsStandIn, STAND_IN_ACCOUNT, STAND_IN_REGION } from '../../testkit/aws';
import { queuedEvent } from '../../testkit/events';

const QUEUE_URL = `https://sqs.${STAND_IN_REGION}.amazonaws.com/${STAND_IN_ACCOUNT}/events.fifo`;

describe("deliver's SQS client: built on first use, once", () => {
  test('not built by the wiring; one client for tickets, the DLQ and releases once they are needed', async () => {
    const aws = new AwsStandIn();
    let built = 0;
    const deps = deliverDependencies(
      deliverConfigFrom({ LEDGER_TABLE_NAME: 'ledger', QUEUE_URL, DEAD_LETTER_QUEUE_URL: QUEUE_URL.replace('.fifo', '-dlq.fifo') }),
      {
        dynamodb: new DynamoDBClient(aws.clientConfig()),
        sqs: () => {
          built += 1;
          return new SQSClient(aws.clientConfig());
        },
      },
    );
    expect(built).toBe(0);

    await deps.tickets.send([{ event: queuedEvent(), ticketId: 'shop-a:evt-1' }]);
    const message = { messageId: 'm-1', receiptHandle: 'r-1', body: '{}', receiveCount: 1, queueArn: `arn:aws:sqs:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:events.fifo` };
    await deps.deadLetters.deadLetterMessage(message, { lastError: 'not an event', attempts: 0, lastAttemptAt: new Date(0).toISOString() });
    await deps.deadLetters.release!([message]);

    expect(built).toBe(1);
    expect(aws.calls.map((call) => `${call.service}.${call.operation}`)).toEqual(['SQS.SendMessageBatch', 'SQS.SendMessage', 'SQS.ChangeMessageVisibilityBatch']);
  });
});

test('loading the deliver Lambda entry loads neither the SQS nor the SNS client (cold start)', () => {
  const script = `
    require('./functions/deliver/index');
    const loaded = Object.keys(require.cache).map((file) => file.replace(/\\\\/g, '/'));
    const names = ['@aws-sdk/client-sqs/', '@aws-sdk/client-sns/', '@aws-sdk/client-dynamodb/', 'adapters/aws/sqs-event-queue', 'adapters/aws/sqs-dead-letter-queue', 'adapters/aws/sns-notice-topic'];
    process.stdout.write(JSON.stringify(names.filter((name) => loaded.some((file) => file.includes(name)))));`;
  const output = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    env: {
      ...process.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_REGION: STAND_IN_REGION,
      LEDGER_TABLE_NAME: 'ledger',
      QUEUE_URL,
      INSTANCE_TABLE_NAME: 'instances',
      NOTICE_TOPIC_ARN: `arn:aws:sns:${STAND_IN_REGION}:${STAND_IN_ACCOUNT}:notices`,
    },
    encoding: 'utf8',
  });
  expect(JSON.parse(output)).toEqual(['@aws-sdk/client-dynamodb/']);
});
