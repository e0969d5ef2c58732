/**
 * The deliver Lambda's entry and composition root: the environment is read once, clients and
 * Powertools are built once per execution environment, not per record (the keep-alive agents of
 * adapters/http/request.ts, the instance cache and the Ecwid budget then serve every warm invocation).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createPowertools } from '../adapters/aws/powertools';
import { awsInstanceLookup } from '../adapters/aws/instance-lookup';
import { deliverConfigFrom } from '../config';
import { createDeliverHandler, type DeliverHandler } from './handler';
import { deliverDependencies } from './wiring';

const config = deliverConfigFrom(process.env);
const { logger, metrics, tracer } = createPowertools(config.powertools);
// One DynamoDB client for the ledger, receiver health and the instance read model: a second one's
// first request would set up credentials, endpoint and a connection again (cold start).
const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({}));

export const handler: DeliverHandler = createDeliverHandler({
  ...deliverDependencies(config, {
    dynamodb,
    // Built (and their SDK packages loaded) on first use, once: the happy path never needs them.
    sqs: () => tracer.captureAWSv3Client(new (require('@aws-sdk/client-sqs') as { SQSClient: typeof SQSClient }).SQSClient({})),
    sns: () => tracer.captureAWSv3Client(new (require('@aws-sdk/client-sns') as { SNSClient: typeof SNSClient }).SNSClient({})),
  }),
  instances: awsInstanceLookup(config.instances, (client) => tracer.captureAWSv3Client(client), dynamodb),
  logger,
  metrics,
  tracer,
});
