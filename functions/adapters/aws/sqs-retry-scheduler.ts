import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  SQSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import type { DeadLetterDetails, QueueMessage, RetryScheduler } from '../../core/ports';
import { MAX_BACKOFF_SECONDS } from '../../core/retry-policy';
import { SQS_BATCH_MAX_ENTRIES } from './sqs-event-queue';

/**
 * SQS rejects a ChangeMessageVisibility that would keep a message invisible for more than 12 hours
 * counted from its receive, not from the call. The receive happened before this invocation (up to
 * the 5-minute batching window plus the 15-minute Lambda timeout earlier), so a 12-hour backoff is
 * shortened by that much; the schedule's 12-hour steps become ~11 h 40 min.
 */
export const MAX_VISIBILITY_AFTER_RECEIVE_SECONDS = MAX_BACKOFF_SECONDS - 20 * 60;

/** SQS message attribute values are limited only by the message size; keep the error readable. */
const LAST_ERROR_MAX_CHARS = 1024;

export interface SqsRetrySchedulerOptions {
  /**
   * The main queue, for ChangeMessageVisibility.
   * @default derived from the record's eventSourceARN (https://sqs.{region}.amazonaws.com/{account}/{name})
   */
  readonly queueUrl?: string;
  /** The FIFO dead-letter queue (env DEAD_LETTER_QUEUE_URL). Unset: dead-lettering throws. */
  readonly deadLetterQueueUrl?: string;
  /** @default a new SQSClient (region and endpoint from the environment) */
  readonly client?: SQSClient;
}

/**
 * RetryScheduler on SQS: a retry is a longer visibility timeout on the received message (it comes
 * back after the backoff, with ApproximateReceiveCount + 1); dead-lettering is an explicit
 * SendMessage to the DLQ, after which deliver reports the record as handled and SQS deletes it.
 */
export class SqsRetryScheduler implements RetryScheduler {
  private readonly client: SQSClient;
  private readonly queueUrl?: string;
  private readonly deadLetterQueueUrl?: string;

  constructor(options: SqsRetrySchedulerOptions) {
    this.client = options.client ?? new SQSClient({});
    this.queueUrl = options.queueUrl || undefined;
    this.deadLetterQueueUrl = options.deadLetterQueueUrl || undefined;
  }

  async retryLater(message: QueueMessage, delaySeconds: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl ?? queueUrlFromArn(message.queueArn),
        ReceiptHandle: message.receiptHandle,
        VisibilityTimeout: Math.min(Math.max(0, Math.round(delaySeconds)), MAX_VISIBILITY_AFTER_RECEIVE_SECONDS),
      }),
    );
  }

  async release(messages: readonly QueueMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += SQS_BATCH_MAX_ENTRIES) {
      const chunk = messages.slice(start, start + SQS_BATCH_MAX_ENTRIES);
      const response = await this.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.queueUrl ?? queueUrlFromArn(chunk[0].queueArn),
          Entries: chunk.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.receiptHandle,
            VisibilityTimeout: 0,
          })),
        }),
      );
      if (response.Failed?.length) {
        throw new Error(`SQS did not release ${response.Failed.length} of ${chunk.length} messages: ${response.Failed[0].Code ?? 'unknown'}`);
      }
    }
  }

  async deadLetter(message: QueueMessage, details: DeadLetterDetails): Promise<void> {
    if (!this.deadLetterQueueUrl) {
      throw new Error('DEAD_LETTER_QUEUE_URL is not set: cannot dead-letter the message');
    }
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.deadLetterQueueUrl,
        MessageBody: message.body,
        MessageGroupId: message.messageGroupId ?? 'dead-letter',
        MessageDeduplicationId: deadLetterDeduplicationId(message),
        MessageAttributes: deadLetterAttributes(message, details),
      }),
    );
  }
}

/**
 * The dead-letter copy is deduplicated per received message (its SQS MessageId), not by the event's
 * own deduplication id: a second send for the same receive (a crash before the delete) is still
 * dropped by the DLQ, but an event replayed from the DLQ that fails again within SQS's 5-minute
 * deduplication window is stored again instead of being silently discarded while we delete it from
 * the main queue. The event's own id stays in the `deduplicationId` attribute.
 */
export function deadLetterDeduplicationId(message: QueueMessage): string {
  return createHash('sha256').update(`dlq:${message.messageId}`).digest('hex');
}

export function deadLetterAttributes(message: QueueMessage, details: DeadLetterDetails): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    lastError: text(details.lastError || 'unknown error', LAST_ERROR_MAX_CHARS),
    attempts: { DataType: 'Number', StringValue: String(details.attempts) },
    lastAttemptAt: text(details.lastAttemptAt),
  };
  // SQS refuses empty attribute values: unknown ones are left out.
  if (details.firstReceivedAt) attributes.firstReceivedAt = text(details.firstReceivedAt);
  if (details.instanceId) attributes.instanceId = text(details.instanceId);
  if (details.eventId) attributes.eventId = text(details.eventId);
  if (message.messageDeduplicationId) attributes.deduplicationId = text(message.messageDeduplicationId);
  return attributes;
}

/** The longest other attribute (an event id comes from the sender: it is not trusted to be short). */
const ATTRIBUTE_MAX_CHARS = 256;

/**
 * A String attribute, sanitized: its text comes from outside (a receiver's error answer, an event
 * id a sender chose). Characters SQS refuses (it would refuse the whole message, and the record
 * would fail for ever) and control characters (a line break would forge a line in the CLI's
 * output) become a space or U+FFFD, and it is cut to `max` characters without splitting a pair.
 */
const text = (value: string, max = ATTRIBUTE_MAX_CHARS): MessageAttributeValue => ({
  DataType: 'String',
  StringValue: truncate(sanitizeAttributeText(value), max),
});

export function sanitizeAttributeText(value: string): string {
  return (
    value
      // Lone surrogates (half of a pair): not text at all.
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
      // C0 and C1 controls (tab and line breaks included) and the two non-characters SQS refuses.
      .replace(/[\u0000-\u001F\u007F-\u009F]/g, ' ')
      .replace(/[\uFFFE\uFFFF]/g, '\uFFFD')
  );
}

function truncate(value: string, max: number): string {
  if (value.length <= max) return value;
  let cut = max - 1;
  // Never leave the first half of a surrogate pair at the end.
  if (/[\uD800-\uDBFF]/.test(value.charAt(cut - 1))) cut -= 1;
  return `${value.slice(0, cut)}…`;
}

/** arn:aws:sqs:{region}:{account}:{name} -> the queue URL of the standard regional endpoint. */
export function queueUrlFromArn(arn: string | undefined): string {
  const parts = arn?.split(':') ?? [];
  if (parts.length !== 6 || parts[0] !== 'arn' || parts[2] !== 'sqs') {
    throw new Error(`cannot derive a queue URL from event source "${arn ?? ''}"; set QUEUE_URL`);
  }
  const [, partition, , region, account, name] = parts;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
