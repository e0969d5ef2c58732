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

const config = pollConfigFrom(process.env);
/** The budget's entity reads are deliver's; the poller only searches. */
const unused = (): never => {
  throw new Error('the poller reads Ecwid through searches only');
};
const { logger, metrics, tracer } = createPowertools(config.powertools);
const ssm = tracer.captureAWSv3Client(new SSMClient({}));
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
const instances = new SsmInstanceRepository({ prefix: config.ssmPrefix, client: ssm });

export const handler: PollHandler = createPollHandler({
  listInstances: () => instances.list(),
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
