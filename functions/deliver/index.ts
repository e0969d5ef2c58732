/**
 * The deliver Lambda's entry and composition root: the environment is read once, clients and
 * Powertools are built once per execution environment, not per record (the keep-alive agents of
 * adapters/http/request.ts, the instance cache and the Ecwid budget then serve every warm invocation).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createPowertools } from '../adapters/aws/powertools';
import { awsInstanceLookup } from '../adapters/aws/instance-lookup';
import { deliverConfigFrom } from '../config';
import { createDeliverHandler, type DeliverHandler } from './handler';
import { deliverDependencies } from './wiring';

const config = deliverConfigFrom(process.env);
const { logger, metrics, tracer } = createPowertools(config.powertools);

export const handler: DeliverHandler = createDeliverHandler({
  ...deliverDependencies(config, {
    sqs: tracer.captureAWSv3Client(new SQSClient({})),
    dynamodb: tracer.captureAWSv3Client(new DynamoDBClient({})),
    // Only a stack with a notices topic loads the SNS client.
    ...(config.noticeTopicArn ? { sns: tracer.captureAWSv3Client(new SNSClient({})) } : {}),
  }),
  instances: awsInstanceLookup(config.instances, (client) => tracer.captureAWSv3Client(client)),
  logger,
  metrics,
  tracer,
});
