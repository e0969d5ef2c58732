/**
 * The sweep Lambda's entry and composition root: configuration read once, clients built once per
 * execution environment.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbLedger } from '../adapters/aws/dynamodb-ledger';
import { createPowertools } from '../adapters/aws/powertools';
import { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { sweepConfigFrom } from '../config';
import { createSweepHandler, type SweepHandler } from './handler';

const config = sweepConfigFrom(process.env);
const { logger, metrics, tracer } = createPowertools(config.powertools);

export const handler: SweepHandler = createSweepHandler({
  ledger: new DynamoDbLedger({ tableName: config.ledgerTableName, client: tracer.captureAWSv3Client(new DynamoDBClient({})) }),
  tickets: new SqsEventQueue({ queueUrl: config.queueUrl, client: tracer.captureAWSv3Client(new SQSClient({})) }),
  clock: () => new Date(),
  timing: config.ledgerTiming,
  logger,
  metrics,
});
