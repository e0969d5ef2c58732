import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { LOOPBACK } from './servers';

/**
 * The queues of a local run: an embedded SQS emulator (fauxqs, in this process) or any
 * SQS-compatible endpoint, with the same FIFO queue + FIFO dead-letter queue the stack creates.
 */

export interface SqsEndpoint {
  /** http://127.0.0.1:PORT */
  readonly endpoint: string;
  stop(): Promise<void>;
}

// The parts of fauxqs 1.9.2 used here (its stores are not in the package's exports map).
interface FauxqsModule {
  buildApp(options: { logger: boolean; stores: { sqsStore: unknown; snsStore: unknown; s3Store: unknown } }): {
    listen(options: { port: number; host: string }): Promise<string>;
    close(): Promise<void>;
  };
}
interface FauxqsSqsStore {
  host: string;
}

/**
 * Starts fauxqs in this process on 127.0.0.1 (any free port).
 *
 * fauxqs names queues `http://sqs.<region>.localhost:PORT/...` by default, and the SDK
 * sends each request to its QueueUrl's host, which does not resolve on every machine.
 * An SqsStore with an empty host names them after the request's host instead
 * (`http://127.0.0.1:PORT/000000000000/name`), so any SQS client (the handlers', the CLI's,
 * the AWS CLI) can use the URLs as they are.
 */
export async function startEmbeddedSqs(): Promise<SqsEndpoint> {
  const dist = join(fauxqsPackageDir(), 'dist');
  const load = async <T>(file: string): Promise<T> => (await import(pathToFileURL(join(dist, file)).href)) as T;
  const fauxqs = await load<FauxqsModule>('app.js');
  const { SqsStore } = await load<{ SqsStore: new () => FauxqsSqsStore }>('sqs/sqsStore.js');
  const { SnsStore } = await load<{ SnsStore: new () => unknown }>('sns/snsStore.js');
  const { S3Store } = await load<{ S3Store: new () => unknown }>('s3/s3Store.js');

  const sqsStore = new SqsStore();
  sqsStore.host = '';
  const app = fauxqs.buildApp({ logger: false, stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } });
  // Loopback only (fauxqs' own startFauxqs listens on every interface).
  const address = await app.listen({ port: 0, host: LOOPBACK });
  return { endpoint: address.replace(/\/+$/, ''), stop: () => app.close() };
}

function fauxqsPackageDir(): string {
  for (const dir of require.resolve.paths('fauxqs') ?? []) {
    const candidate = join(dir, 'fauxqs');
    if (existsSync(join(candidate, 'dist', 'sqs', 'sqsStore.js'))) return candidate;
  }
  throw new Error('The embedded SQS emulator (npm package fauxqs 1.9.2) is not installed: run npm install, or use --sqs-endpoint');
}

export interface QueueSettings {
  /** FIFO queue name (ends with .fifo). */
  readonly queueName: string;
  /** FIFO dead-letter queue name (ends with .fifo). */
  readonly deadLetterQueueName: string;
  /** Redrive backstop: the deliver handler moves an event to the DLQ itself after maxAttempts. */
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

export interface Queues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

/** SQS's longest retention, as the stack keeps both queues. */
const RETENTION_SECONDS = '1209600';

/**
 * Creates the FIFO queue and its FIFO DLQ with a redrive policy, or brings existing ones
 * (an external endpoint that kept them from an earlier run) to these settings.
 * Only the FIFO flags go into CreateQueue, so it is idempotent; the rest is set afterwards.
 */
export async function ensureQueues(client: SQSClient, settings: QueueSettings): Promise<Queues> {
  const fifo = { FifoQueue: 'true', ContentBasedDeduplication: 'false' };
  const deadLetterQueueUrl = await createQueue(client, settings.deadLetterQueueName, fifo);
  await client.send(
    new SetQueueAttributesCommand({
      QueueUrl: deadLetterQueueUrl,
      Attributes: { MessageRetentionPeriod: RETENTION_SECONDS },
    }),
  );
  const deadLetterQueueArn = await queueArn(client, deadLetterQueueUrl);

  const queueUrl = await createQueue(client, settings.queueName, fifo);
  await client.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        MessageRetentionPeriod: RETENTION_SECONDS,
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterQueueArn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
    }),
  );
  return { queueUrl, queueArn: await queueArn(client, queueUrl), deadLetterQueueUrl, deadLetterQueueArn };
}

async function createQueue(client: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no QueueUrl`);
  return QueueUrl;
}

async function queueArn(client: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`GetQueueAttributes ${queueUrl} returned no QueueArn`);
  return arn;
}
