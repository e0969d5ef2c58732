/**
 * The poll Lambda's entry and composition root: the environment is read once, clients and
 * Powertools are built once per execution environment.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createPowertools } from '../adapters/aws/powertools';
import { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { SqsSightings } from '../adapters/aws/sqs-sightings';
import { SsmCheckpointStore } from '../adapters/aws/ssm-checkpoint-store';
import { SsmInstanceRepository } from '../adapters/aws/ssm-instance-repository';
import { EcwidPollClient } from '../adapters/http/ecwid-poll-client';
import { EcwidApiBudget } from '../core/ecwid/api-budget';
import { BudgetedPollSource, POLL_ECWID_MAX_WAIT_MS, POLL_ECWID_RATE_PER_SECOND } from '../core/poll/budgeted-source';
import { unconfiguredQueue } from '../adapters/unconfigured-queue';
import { pollConfigFrom } from '../config';
import { ENV } from '../contract';
import { createPollHandler, type PollHandler } from './handler';
import type { InstanceListing } from '../core/ports';

const config = pollConfigFrom(process.env);
/** The budget's entity reads are deliver's; the poller only searches. */
const unused = (): never => {
  throw new Error('the poller reads Ecwid through searches only');
};
const { logger, metrics, tracer } = createPowertools(config.powertools);
const ssm = tracer.captureAWSv3Client(new SSMClient({}));
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
/**
 * Every instance, each run: from the read model when the stack sets its table (a few Scan pages
 * and one KMS call per data key at 10,000 instances), else from Parameter Store (10 decrypted
 * parameters a call: 1,000 calls a run against the account's 40 a second).
 */
function instanceLister(): () => Promise<InstanceListing> {
  if (config.readModelTableName) {
    // Loaded only on this path, as in instance-lookup.ts.
    const { DynamoDBClient } = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
    const { KMSClient } = require('@aws-sdk/client-kms') as typeof import('@aws-sdk/client-kms');
    const { DynamoDbInstanceDirectory } = require('../adapters/aws/dynamodb-instance-directory') as typeof import('../adapters/aws/dynamodb-instance-directory');
    const { KmsDataKeys } = require('../adapters/aws/kms-data-keys') as typeof import('../adapters/aws/kms-data-keys');
    const directory = new DynamoDbInstanceDirectory({
      tableName: config.readModelTableName,
      client: tracer.captureAWSv3Client(new DynamoDBClient({})),
      dataKeys: new KmsDataKeys({ client: tracer.captureAWSv3Client(new KMSClient({})) }),
    });
    return () => directory.list();
  }
  const instances = new SsmInstanceRepository({ prefix: config.ssmPrefix, client: ssm });
  return () => instances.list();
}

export const handler: PollHandler = createPollHandler({
  listInstances: instanceLister(),
  checkpoints: new SsmCheckpointStore({ prefix: config.ssmPrefix, client: ssm }),
  // Every search goes through the per-token budget deliver reads through too (its share: 2 of 10 a second).
  source: new BudgetedPollSource(
    new EcwidPollClient({
      baseUrl: config.ecwidApiBaseUrl,
      onTooManyRequests: 'throw',
      onRetry: ({ status, waitSeconds, attempt }) => logger.info('Ecwid API busy; waiting before trying again', { status, waitSeconds, attempt }),
    }),
    new EcwidApiBudget(
      { getEntity: unused, getLegacyOrder: unused, getLegacyProduct: unused },
      { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)), ratePerSecond: POLL_ECWID_RATE_PER_SECOND, maxWaitMs: POLL_ECWID_MAX_WAIT_MS },
    ),
  ),
  queue: config.queueUrl ? new SqsEventQueue({ queueUrl: config.queueUrl, client: sqs }) : unconfiguredQueue(ENV.queueUrl),
  sightings: config.sightingsQueueUrl ? new SqsSightings({ queueUrl: config.sightingsQueueUrl, client: sqs }) : undefined,
  concurrency: config.concurrency,
  safetyMarginMs: config.safetyMarginMs,
  logger,
  metrics,
  tracer,
});
