import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbHealthStore } from '../adapters/aws/dynamodb-health';
import type { SnsNoticeTopic } from '../adapters/aws/sns-notice-topic';
import { DynamoDbLedger } from '../adapters/aws/dynamodb-ledger';
import type { SqsDeadLetterQueue } from '../adapters/aws/sqs-dead-letter-queue';
import type { SqsEventQueue } from '../adapters/aws/sqs-event-queue';
import { HttpCallbackSender } from '../adapters/http/callback-sender';
import { EcwidApiClient } from '../adapters/http/ecwid-api-client';
import { requiredValue, type DeliverConfig } from '../config';
import { ENV } from '../contract';
import { EcwidApiBudget } from '../core/ecwid/api-budget';
import { coalescingHealthStore } from '../core/health-coalescing';
import type { NoticeTopic } from '../core/health-notices';
import { deliverRecordWorstCaseMs, type DeliverHandlerDeps } from './handler';

/**
 * The SQS and SNS clients deliver needs only off its happy path (tickets for an object's next
 * event, the DLQ, released records, notices): each is built on first use and then kept, so that a
 * cold start whose records are simply delivered loads neither SDK package (bench/bundles.ts).
 */
export interface DeliverClients {
  readonly dynamodb: DynamoDBClient;
  /** Called at most once, on first use. */
  readonly sqs: () => SQSClient;
  /** Called at most once, on first use; only with a notices topic. */
  readonly sns?: () => SNSClient;
}

/**
 * What a deliver config decides of the handler's dependencies: the ledger on the config's table,
 * the event queue (tickets) and dead-letter queue, the callback sender, the Ecwid API client, the
 * retry and callback URL policies. The same in Lambda (index.ts) and in the local runner, which
 * add the instances and telemetry. Throws when the ledger's table is not set.
 */
export function deliverDependencies(
  config: DeliverConfig,
  clients: DeliverClients,
  noticeTopic?: NoticeTopic,
): Pick<DeliverHandlerDeps, 'ledger' | 'tickets' | 'deadLetters' | 'sender' | 'ecwid' | 'retryPolicy' | 'ledgerTiming' | 'urlPolicy' | 'receivers' | 'recordWorstCaseMs'> {
  const tableName = requiredValue(config.ledger?.tableName, ENV.ledgerTableName);
  const queueUrl = requiredValue(config.queueUrl, ENV.queueUrl);
  const sqs = once(clients.sqs);
  // Required here, not imported above: each loads its SDK package (tens of ms of a cold start).
  const eventQueue = once(() => {
    const { SqsEventQueue: Queue } = require('../adapters/aws/sqs-event-queue') as { SqsEventQueue: typeof SqsEventQueue };
    return new Queue({ queueUrl, client: sqs() });
  });
  const deadLetterQueue = once(() => {
    const { SqsDeadLetterQueue: Queue } = require('../adapters/aws/sqs-dead-letter-queue') as { SqsDeadLetterQueue: typeof SqsDeadLetterQueue };
    return new Queue({ queueUrl, deadLetterQueueUrl: config.deadLetterQueueUrl, client: sqs() });
  });
  const topicArn = config.noticeTopicArn;
  const snsTopic =
    topicArn &&
    once(() => {
      const { SnsNoticeTopic: Topic } = require('../adapters/aws/sns-notice-topic') as { SnsNoticeTopic: typeof SnsNoticeTopic };
      return new Topic({ topicArn, client: clients.sns?.() });
    });
  return {
    ledger: new DynamoDbLedger({ tableName, client: clients.dynamodb }),
    tickets: { send: (tickets) => eventQueue().send(tickets) },
    deadLetters: {
      deadLetter: (entry) => deadLetterQueue().deadLetter(entry),
      deadLetterMessage: (message, details) => deadLetterQueue().deadLetterMessage(message, details),
      release: (messages) => deadLetterQueue().release(messages),
    },
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
      // This container's copy: a healthy receiver's successes are written at most every 10 s, and its
      // record read at most once a second, so a busy store's one health item never throttles.
      health: coalescingHealthStore(new DynamoDbHealthStore({ tableName, client: clients.dynamodb }), { now: () => Date.now() }),
      breaker: config.breaker,
      noticeTopic: noticeTopic ?? (snsTopic ? { publish: (notice) => snsTopic().publish(notice) } : undefined),
    },
  };
}

/** `create` runs on the first call; every call returns what it made. */
function once<T>(create: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: create() }).value;
}
