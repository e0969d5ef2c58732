import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbHealthStore } from '../adapters/aws/dynamodb-health';
import { SnsNoticeTopic } from '../adapters/aws/sns-notice-topic';
import { DynamoDbLedger } from '../adapters/aws/dynamodb-ledger';
import { SqsDeadLetterQueue } from '../adapters/aws/sqs-dead-letter-queue';
import { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { HttpCallbackSender } from '../adapters/http/callback-sender';
import { EcwidApiClient } from '../adapters/http/ecwid-api-client';
import { requiredValue, type DeliverConfig } from '../config';
import { ENV } from '../contract';
import { EcwidApiBudget } from '../core/ecwid/api-budget';
import type { NoticeTopic } from '../core/health-notices';
import { deliverRecordWorstCaseMs, type DeliverHandlerDeps } from './handler';

/**
 * What a deliver config decides of the handler's dependencies: the ledger on the config's table,
 * the event queue (tickets) and dead-letter queue, the callback sender, the Ecwid API client, the
 * retry and callback URL policies. The same in Lambda (index.ts) and in the local runner, which
 * add the instances and telemetry. Throws when the ledger's table is not set.
 */
export function deliverDependencies(
  config: DeliverConfig,
  clients: { readonly sqs: SQSClient; readonly dynamodb: DynamoDBClient; readonly sns?: SNSClient },
  noticeTopic?: NoticeTopic,
): Pick<DeliverHandlerDeps, 'ledger' | 'tickets' | 'deadLetters' | 'sender' | 'ecwid' | 'retryPolicy' | 'ledgerTiming' | 'urlPolicy' | 'receivers' | 'recordWorstCaseMs'> {
  const tableName = requiredValue(config.ledger?.tableName, ENV.ledgerTableName);
  const queueUrl = requiredValue(config.queueUrl, ENV.queueUrl);
  return {
    ledger: new DynamoDbLedger({ tableName, client: clients.dynamodb }),
    tickets: new SqsEventQueue({ queueUrl, client: clients.sqs }),
    deadLetters: new SqsDeadLetterQueue({ queueUrl, deadLetterQueueUrl: config.deadLetterQueueUrl, client: clients.sqs }),
    sender: new HttpCallbackSender({ timeoutMs: config.callbackTimeoutMs }),
    // Per environment: reads of one entity shared, answers reused briefly, each token paced (600/min).
    ecwid: new EcwidApiBudget(new EcwidApiClient({ baseUrl: config.ecwidApiBaseUrl }), {
      now: () => Date.now(),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    }),
    retryPolicy: config.retryPolicy,
    ledgerTiming: config.ledger?.timing,
    urlPolicy: config.callbackUrlPolicy,
    // A record is started only while its worst case (Ecwid read and callback included) fits in the invocation.
    recordWorstCaseMs: deliverRecordWorstCaseMs(config.callbackTimeoutMs),
    // Receiver health lives in the ledger table; notices go to the stack's topic (the runner prints them).
    receivers: {
      health: new DynamoDbHealthStore({ tableName, client: clients.dynamodb }),
      breaker: config.breaker,
      noticeTopic: noticeTopic ?? (config.noticeTopicArn ? new SnsNoticeTopic({ topicArn: config.noticeTopicArn, client: clients.sns }) : undefined),
    },
  };
}
