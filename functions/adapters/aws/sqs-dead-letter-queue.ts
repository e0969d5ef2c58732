import {
  ChangeMessageVisibilityBatchCommand,
  SendMessageCommand,
  SQSClient,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { deadLetterDetailsOf } from '../../core/deliver';
import type { LedgerEntry } from '../../core/ledger';
import { eventOf } from '../../core/ledger-flow';
import type { DeadLetterDetails, DeadLetterQueue, QueueMessage } from '../../core/ports';
import { queuedEventBody, SQS_BATCH_MAX_ENTRIES } from './sqs-event-queue';
import { deduplicationId, LEDGER_VERSION_ATTRIBUTE, messageGroupId } from './sqs-ids';

/** SQS message attribute values are limited only by the message size; keep the error readable. */
const LAST_ERROR_MAX_CHARS = 1024;

export { LEDGER_VERSION_ATTRIBUTE };

export interface SqsDeadLetterQueueOptions {
  /** The FIFO dead-letter queue (env DEAD_LETTER_QUEUE_URL). Unset: dead-lettering throws. */
  readonly deadLetterQueueUrl?: string;
  /**
   * The main queue, for releasing records.
   * @default derived from the record's eventSourceARN (https://sqs.{region}.amazonaws.com/{account}/{name})
   */
  readonly queueUrl?: string;
  /** @default a new SQSClient (region and endpoint from the environment) */
  readonly client?: SQSClient;
}

/**
 * The dead-letter queue on SQS: an explicit SendMessage of the event as it was queued, with the
 * ledger's last error and attempts as attributes. Also makes received messages visible again
 * (`release`), for the records of a FIFO group that were skipped after a failed one.
 */
export class SqsDeadLetterQueue implements DeadLetterQueue {
  private readonly client: SQSClient;
  private readonly queueUrl?: string;
  private readonly deadLetterQueueUrl?: string;

  constructor(options: SqsDeadLetterQueueOptions) {
    this.client = options.client ?? new SQSClient({});
    this.queueUrl = options.queueUrl || undefined;
    this.deadLetterQueueUrl = options.deadLetterQueueUrl || undefined;
  }

  async deadLetter(entry: LedgerEntry): Promise<void> {
    const event = eventOf(entry);
    const details = deadLetterDetailsOf(entry);
    await this.send({
      MessageBody: queuedEventBody(event),
      MessageGroupId: messageGroupId(event),
      // One copy per dead-lettering: a second send of the same one (a retried record) is dropped,
      // a later dead-lettering of the same event (after a resend) is stored again.
      MessageDeduplicationId: hashed(`dlq:${entry.instanceId}:${entry.eventId}:v${entry.version}`),
      MessageAttributes: deadLetterAttributes(details, deduplicationId(event)),
    });
  }

  async deadLetterMessage(message: QueueMessage, details: DeadLetterDetails): Promise<void> {
    await this.send({
      MessageBody: message.body,
      MessageGroupId: message.messageGroupId ?? 'dead-letter',
      MessageDeduplicationId: deadLetterDeduplicationId(message),
      MessageAttributes: deadLetterAttributes(details, message.messageDeduplicationId),
    });
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

  private async send(message: Omit<ConstructorParameters<typeof SendMessageCommand>[0], 'QueueUrl'>): Promise<void> {
    if (!this.deadLetterQueueUrl) {
      throw new Error('DEAD_LETTER_QUEUE_URL is not set: cannot dead-letter the message');
    }
    await this.client.send(new SendMessageCommand({ QueueUrl: this.deadLetterQueueUrl, ...message }));
  }
}

const hashed = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * The dead-letter copy is deduplicated per received message (its SQS MessageId), not by the event's
 * own deduplication id: a second send for the same receive (a crash before the delete) is still
 * dropped by the DLQ, but an event replayed from the DLQ that fails again within SQS's 5-minute
 * deduplication window is stored again instead of being silently discarded while we delete it from
 * the main queue. The event's own id stays in the `deduplicationId` attribute.
 */
export function deadLetterDeduplicationId(message: QueueMessage): string {
  return hashed(`dlq:${message.messageId}`);
}

export function deadLetterAttributes(details: DeadLetterDetails, eventDeduplicationId?: string): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    lastError: text(details.lastError || 'unknown error', LAST_ERROR_MAX_CHARS),
    attempts: { DataType: 'Number', StringValue: String(details.attempts) },
    lastAttemptAt: text(details.lastAttemptAt),
  };
  // SQS refuses empty attribute values: unknown ones are left out.
  if (details.firstReceivedAt) attributes.firstReceivedAt = text(details.firstReceivedAt);
  if (details.instanceId) attributes.instanceId = text(details.instanceId);
  if (details.eventId) attributes.eventId = text(details.eventId);
  if (eventDeduplicationId) attributes.deduplicationId = text(eventDeduplicationId);
  if (details.ledgerVersion !== undefined) {
    attributes[LEDGER_VERSION_ATTRIBUTE] = { DataType: 'Number', StringValue: String(details.ledgerVersion) };
  }
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
