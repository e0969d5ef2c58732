import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/**
 * Feeds an SQS queue to a handler the way Lambda's SQS event source mapping does with
 * ReportBatchItemFailures: long-poll batches of up to 10, invoke, delete what succeeded,
 * leave the failures (the handler has set their visibility) to come back.
 */

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly handler: SqsBatchHandler;
  /** @default 10 (Lambda's default and SQS's maximum per receive) */
  readonly batchSize?: number;
  /** @default 20 (Lambda long-polls for 20 s) */
  readonly waitTimeSeconds?: number;
  /** Concurrent receive loops (Lambda scales these; FIFO message groups keep order). @default 2 */
  readonly pollers?: number;
  /** Name and timeout the handler sees in its Lambda context. */
  readonly functionName?: string;
  /** @default 60_000 */
  readonly functionTimeoutMs?: number;
  /** Problems of the poller itself (receive/delete failed, handler threw). */
  readonly onError?: (message: string, error: unknown) => void;
}

/** Lambda's record for one received message (attribute names as SQS returns them). */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
      dataType: value.DataType ?? 'String',
    };
  }
  const attributes = (message.Attributes ?? {}) as Record<string, string>;
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes ? { md5OfMessageAttributes: message.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * The records Lambda leaves on the queue after an invocation. As Lambda does: no response
 * (or an empty list) means all succeeded; an identifier that is empty or not in the batch
 * makes the whole batch a failure.
 */
export function failedMessageIds(event: SQSEvent, response: SQSBatchResponse | void | undefined): Set<string> {
  const all = new Set(event.Records.map((record) => record.messageId));
  const failures = response?.batchItemFailures;
  if (!failures) return new Set();
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    failed.add(id);
  }
  return failed;
}

export function lambdaContext(functionName: string, region: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${requestId.replace(/-/g, '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export class SqsEventSource {
  private readonly options: Required<Omit<SqsEventSourceOptions, 'onError'>> & Pick<SqsEventSourceOptions, 'onError'>;
  private readonly abort = new AbortController();
  private loops: Promise<void>[] = [];
  private invocations = 0;

  constructor(options: SqsEventSourceOptions) {
    this.options = {
      batchSize: 10,
      waitTimeSeconds: 20,
      pollers: 2,
      functionName: 'deliver',
      functionTimeoutMs: 60_000,
      ...options,
    };
  }

  /** How many times the handler was invoked (each with one batch). */
  get invocationCount(): number {
    return this.invocations;
  }

  start(): void {
    if (this.loops.length > 0) throw new Error('SqsEventSource already started');
    for (let i = 0; i < this.options.pollers; i += 1) this.loops.push(this.poll());
  }

  /** Stops receiving; resolves when every batch being handled is finished and deleted. */
  async stop(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async poll(): Promise<void> {
    const { client, queueUrl, batchSize, waitTimeSeconds } = this.options;
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            // Both spellings: older emulators (and LocalStack versions) know only AttributeNames.
            MessageSystemAttributeNames: ['All'],
            AttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (signal.aborted) return;
        this.options.onError?.('ReceiveMessage failed; retrying in 1 s', error);
        await sleep(1000, signal);
        continue;
      }
      // A batch already received is always handled and settled, even while stopping:
      // dropping it here would leave it invisible for a whole visibility timeout.
      if (messages.length > 0) await this.handleBatch(messages);
    }
  }

  private async handleBatch(messages: Message[]): Promise<void> {
    const { client, queueUrl, queueArn, region, handler, functionName, functionTimeoutMs } = this.options;
    const event: SQSEvent = { Records: messages.map((message) => toSqsRecord(message, queueArn, region)) };
    let failed: Set<string>;
    this.invocations += 1;
    try {
      const response = await handler(event, lambdaContext(functionName, region, functionTimeoutMs));
      failed = failedMessageIds(event, response);
    } catch (error) {
      // Lambda: an invocation error fails the whole batch; it comes back after the visibility timeout.
      this.options.onError?.('the deliver handler threw; the whole batch stays on the queue', error);
      failed = new Set(event.Records.map((record) => record.messageId));
    }
    const done = event.Records.filter((record) => !failed.has(record.messageId));
    if (done.length === 0) return;
    try {
      const result = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      for (const failure of result.Failed ?? []) {
        this.options.onError?.(`DeleteMessage failed (${failure.Code ?? 'unknown'}): the event may be delivered again`, failure.Message);
      }
    } catch (error) {
      this.options.onError?.('DeleteMessageBatch failed: these events may be delivered again', error);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
