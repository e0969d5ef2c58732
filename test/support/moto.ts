/**
 * Integration tests against moto (SQS + SSM emulator).
 *
 * How to write one:
 *   - name the file `*.integration.test.ts` (anywhere under test/) or put it under test/integration/:
 *     only then does Jest's "integration" project start moto_server (globalSetup) and set MOTO_ENDPOINT;
 *   - wrap the suite in `describeWithMoto(name, () => { ... })`: it runs the suite when moto is up,
 *     skips it with the reason when moto_server is not installed, and FAILS it under CI=true;
 *   - create resources with unique names (`uniqueName`, `createFifoQueueWithDlq`, `uniqueSsmPrefix`) in an
 *     awaited beforeAll/beforeEach and remove them in afterAll (`deleteQueues`, `deleteParametersByPath`):
 *     all suites share one moto_server, in parallel.
 *
 * Other tools can use the same server: `MOTO_ENDPOINT=http://127.0.0.1:5000 npx jest ...` reuses a
 * moto_server you started yourself instead of starting one.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:net';
import { DeleteMessageBatchCommand, DeleteQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { DeleteParametersCommand, SSMClient, paginateGetParametersByPath } from '@aws-sdk/client-ssm';
import { ensureQueues, type Queues } from '../../local/embedded-sqs';
import { MOTO_ENDPOINT_ENV, MOTO_INSTALL_HINT, MOTO_REGION, MOTO_UNAVAILABLE_ENV, isCi } from './moto-env';

export { MOTO_ACCOUNT_ID, MOTO_REGION } from './moto-env';

/** Moto accepts any credentials; fixed dummies keep the SDK from looking for real ones. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

/** The moto_server URL. Throws outside describeWithMoto's running suites. */
export function motoEndpoint(): string {
  const endpoint = process.env[MOTO_ENDPOINT_ENV];
  if (!endpoint) throw new Error(`${MOTO_ENDPOINT_ENV} is not set: ${unavailableReason()}`);
  return endpoint;
}

function unavailableReason(): string {
  return (
    process.env[MOTO_UNAVAILABLE_ENV] ??
    `${MOTO_ENDPOINT_ENV} is not set. Name the test file *.integration.test.ts (or put it under test/integration/) ` +
      `so that Jest's "integration" project starts moto_server; if moto_server is missing, ${MOTO_INSTALL_HINT}`
  );
}

/**
 * `describe` for suites that need moto. With moto: runs. Without: skips, printing why, or, when
 * CI=true, registers one failing test instead so a CI run can never pass without them.
 */
export function describeWithMoto(name: string, fn: () => void): void {
  if (process.env[MOTO_ENDPOINT_ENV]) {
    describe(name, fn);
    return;
  }
  const reason = unavailableReason();
  if (isCi()) {
    describe(name, () => {
      test('requires moto_server (CI=true: integration tests may not be skipped)', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  console.warn(`SKIPPED "${name}": ${reason}`);
  describe.skip(name, fn);
}

/** An SQS client pointed at moto. */
export function motoSqsClient(overrides: { maxAttempts?: number } = {}): SQSClient {
  return new SQSClient({ endpoint: motoEndpoint(), region: MOTO_REGION, credentials: MOTO_CREDENTIALS, ...overrides });
}

/** An SSM client pointed at moto. */
export function motoSsmClient(overrides: { maxAttempts?: number } = {}): SSMClient {
  return new SSMClient({ endpoint: motoEndpoint(), region: MOTO_REGION, credentials: MOTO_CREDENTIALS, ...overrides });
}

// One id per test file (each file has its own module registry), plus a counter within it.
const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
let counter = 0;

/** A name unique across files, runs and calls: `ee-<run>-<label>-<n>` (SQS-safe, at most 60 characters). */
export function uniqueName(label: string): string {
  const safe = label.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 24);
  return `ee-${RUN_ID}-${safe}-${++counter}`;
}

/** A fresh SSM prefix for one suite, e.g. `/ee-test/ee-lq3x...-store-1`. */
export function uniqueSsmPrefix(label: string): string {
  return `/ee-test/${uniqueName(label)}`;
}

/** A FIFO queue and its FIFO dead-letter queue: URLs and ARNs. */
export type FifoQueuePair = Queues;

/**
 * A FIFO queue with a FIFO dead-letter queue and a redrive policy, made the way the local runner
 * makes its queues on an external endpoint (local/embedded-sqs.ts ensureQueues): explicit
 * deduplication ids, no content-based deduplication, like the stack's.
 */
export function createFifoQueueWithDlq(
  sqs: SQSClient,
  label: string,
  opts: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<FifoQueuePair> {
  const name = uniqueName(label);
  return ensureQueues(sqs, {
    queueName: `${name}.fifo`,
    deadLetterQueueName: `${name}-dlq.fifo`,
    maxReceiveCount: opts.maxReceiveCount ?? 3,
    visibilityTimeoutSeconds: opts.visibilityTimeoutSeconds ?? 30,
  });
}

/** Deletes queues, ignoring ones already gone. */
export async function deleteQueues(sqs: SQSClient, ...queueUrls: readonly (string | undefined)[]): Promise<void> {
  await Promise.all(
    queueUrls
      .filter((url): url is string => !!url)
      .map((url) => sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined)),
  );
}

/** Deletes both queues of a pair. */
export const deleteQueuePair = (sqs: SQSClient, pair: FifoQueuePair | undefined): Promise<void> =>
  deleteQueues(sqs, pair?.queueUrl, pair?.deadLetterQueueUrl);

/**
 * Receives and deletes every message currently on the queue (FIFO groups unlock as their
 * messages are deleted), in receive order, with all message attributes.
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const messages: Message[] = [];
  for (let emptyReceives = 0; emptyReceives < 2; ) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) {
      emptyReceives++;
      continue;
    }
    emptyReceives = 0;
    messages.push(...Messages);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  return messages;
}

/** Deletes every parameter under `path` (recursively). */
export async function deleteParametersByPath(ssm: SSMClient, path: string): Promise<void> {
  const names: string[] = [];
  for await (const page of paginateGetParametersByPath({ client: ssm }, { Path: path, Recursive: true })) {
    for (const p of page.Parameters ?? []) if (p.Name) names.push(p.Name);
  }
  for (let i = 0; i < names.length; i += 10) {
    await ssm.send(new DeleteParametersCommand({ Names: names.slice(i, i + 10) }));
  }
}

/**
 * A 127.0.0.1 port that nothing listens on (bound, then released), for "endpoint unreachable"
 * tests. Connections to it are refused at once, so such tests stay fast.
 */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** An SQS client and queue URL on a closed port: every send fails with a connection error. */
export async function unreachableSqs(): Promise<{ client: SQSClient; queueUrl: string }> {
  const endpoint = `http://127.0.0.1:${await closedPort()}`;
  return {
    // maxAttempts 2: the SDK's retry still happens, but the test does not wait for three.
    client: new SQSClient({ endpoint, region: MOTO_REGION, credentials: MOTO_CREDENTIALS, maxAttempts: 2 }),
    queueUrl: `${endpoint}/123456789012/unreachable.fifo`,
  };
}

/** A DynamoDB client pointed at moto. */
export function motoDynamoDbClient(overrides: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({ endpoint: motoEndpoint(), region: MOTO_REGION, credentials: MOTO_CREDENTIALS, ...overrides });
}
