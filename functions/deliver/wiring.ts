import type { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRetryScheduler } from '../adapters/aws/sqs-retry-scheduler';
import { HttpCallbackSender } from '../adapters/http/callback-sender';
import { EcwidApiClient } from '../adapters/http/ecwid-api-client';
import type { DeliverConfig } from '../config';
import { EcwidApiBudget } from '../core/ecwid/api-budget';
import type { DeliverHandlerDeps } from './handler';

/**
 * What a deliver config decides of the handler's dependencies: the retry scheduler on the
 * config's queues, the callback sender, the Ecwid API client, the retry and callback URL policies.
 * The same in Lambda (index.ts) and in the local runner, which add the instances and telemetry.
 */
export function deliverDependencies(
  config: DeliverConfig,
  sqs: SQSClient,
): Pick<DeliverHandlerDeps, 'retries' | 'sender' | 'ecwid' | 'retryPolicy' | 'urlPolicy'> {
  return {
    retries: new SqsRetryScheduler({ queueUrl: config.queueUrl, deadLetterQueueUrl: config.deadLetterQueueUrl, client: sqs }),
    sender: new HttpCallbackSender({ timeoutMs: config.callbackTimeoutMs }),
    // Per environment: reads of one entity shared, answers reused briefly, each token paced (600/min).
    ecwid: new EcwidApiBudget(new EcwidApiClient({ baseUrl: config.ecwidApiBaseUrl }), {
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
    retryPolicy: config.retryPolicy,
    urlPolicy: config.callbackUrlPolicy,
  };
}
