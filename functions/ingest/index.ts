/**
 * The ingest Lambda's entry and composition root: the environment is read once, clients and
 * Powertools are built once per execution environment, not per request.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbLedger } from '../adapters/aws/dynamodb-ledger';
import { createPowertools } from '../adapters/aws/powertools';
import { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { SqsSightings } from '../adapters/aws/sqs-sightings';
import { awsInstanceLookup } from '../adapters/aws/instance-lookup';
import { unconfiguredQueue } from '../adapters/unconfigured-queue';
import { ingestConfigFrom } from '../config';
import { ENV } from '../contract';
import { createIngestHandler, type IngestHandler } from './handler';

const config = ingestConfigFrom(process.env);
const { logger, metrics, tracer } = createPowertools(config.powertools);
// One SQS client for both queues (the sightings queue is set when the stack has the poller).
const sqs = tracer.captureAWSv3Client(new SQSClient({}));
// One DynamoDB client for the ledger and the instance read model: a second one's first request
// would set up credentials, endpoint and a connection again (bench/bundles.ts, cold start).
const dynamodb = config.ledger || config.instances.readModelTableName ? tracer.captureAWSv3Client(new DynamoDBClient({})) : undefined;

export const handler: IngestHandler = createIngestHandler({
  instances: awsInstanceLookup(config.instances, (client) => tracer.captureAWSv3Client(client), dynamodb),
  queue: config.queueUrl ? new SqsEventQueue({ queueUrl: config.queueUrl, client: sqs }) : unconfiguredQueue(ENV.queueUrl),
  sightings: config.sightingsQueueUrl ? new SqsSightings({ queueUrl: config.sightingsQueueUrl, client: sqs }) : undefined,
  maxBodyBytes: config.maxBodyBytes,
  // The stack always sets the ledger's table (grantRecordEvents); without it events are queued unrecorded.
  ...(config.ledger && dynamodb
    ? {
        ledger: new DynamoDbLedger({ tableName: config.ledger.tableName, client: dynamodb }),
        ledgerTiming: config.ledger.timing,
      }
    : {}),
  webhookMaxAgeSeconds: config.webhookMaxAgeSeconds,
  logger,
  metrics,
  tracer,
});
