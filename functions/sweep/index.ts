/**
 * The sweep Lambda's entry and composition root: configuration read once, clients built once per
 * execution environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbLedger } from '../adapters/aws/dynamodb-ledger';
import { handlerPowertools } from '../adapters/aws/powertools';
import { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { ENV } from '../contract';
import { ledgerTimingFrom } from '../core/ledger';
import { createSweepHandler, type SweepHandler } from './handler';

const env = process.env;
const { logger, metrics, tracer } = handlerPowertools('ecwid-events-sweep');
const required = (name: string): string => {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

export const handler: SweepHandler = createSweepHandler({
  ledger: new DynamoDbLedger({ tableName: required(ENV.ledgerTableName), client: tracer.captureAWSv3Client(new DynamoDBClient({})) }),
  tickets: new SqsEventQueue({ queueUrl: required(ENV.queueUrl), client: tracer.captureAWSv3Client(new SQSClient({})) }),
  clock: () => new Date(),
  timing: ledgerTimingFrom({ retentionDays: env[ENV.ledgerRetentionDays] }),
  logger,
  metrics,
});
