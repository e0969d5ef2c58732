/**
 * The deliver Lambda's entry and composition root: the environment is read once, clients and
 * Powertools are built once per execution environment, not per record (the keep-alive agents of
 * adapters/http/request.ts and the SSM cache then serve every warm invocation).
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createPowertools } from '../adapters/aws/powertools';
import { SsmInstanceRepository } from '../adapters/aws/ssm-instance-repository';
import { deliverConfigFrom } from '../config';
import { createDeliverHandler, type DeliverHandler } from './handler';
import { deliverDependencies } from './wiring';

const config = deliverConfigFrom(process.env);
const { logger, metrics, tracer } = createPowertools(config.powertools);

export const handler: DeliverHandler = createDeliverHandler({
  ...deliverDependencies(config, tracer.captureAWSv3Client(new SQSClient({}))),
  instances: new SsmInstanceRepository({
    prefix: config.instances.ssmPrefix,
    maxAgeSeconds: config.instances.cacheSeconds,
    client: tracer.captureAWSv3Client(new SSMClient({})),
  }),
  logger,
  metrics,
  tracer,
});
