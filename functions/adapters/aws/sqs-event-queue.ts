import {
  SQSClient,
  SendMessageBatchCommand,
  type BatchResultErrorEntry,
  type MessageAttributeValue,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import type { QueuedEvent } from '../../core/event';
import type { Ticket, TicketQueue } from '../../core/ledger-flow';
import { errorText, type EventQueue } from '../../core/ports';
import { deduplicationId, messageGroupId, sqsSafeId } from './sqs-ids';

/** Every SQS batch call takes at most 10 entries (and ReceiveMessage returns at most 10). */
export const SQS_BATCH_MAX_ENTRIES = 10;
/**
 * 256 KiB, for one message and for one whole batch. SQS has since raised both limits, but a
 * queue's MaximumMessageSize may still be 256 KiB and emulators enforce the old limit, so this
 * adapter keeps to it. Our messages are far smaller (ingest accepts at most 64 KiB bodies).
 */
export const SQS_MESSAGE_MAX_BYTES = 256 * 1024;

/** Failed entries are sent again this many times (throttling) before enqueue gives up. */
const RETRIES = 2;
const RETRY_BASE_DELAY_MS = 50;

export interface SqsEventQueueOptions {
  readonly queueUrl: string;
  /** @default a new SQSClient (region and endpoint from the environment) */
  readonly client?: SQSClient;
}

/** Enqueue failed: some events were not accepted by the queue (the caller should answer 503). */
export class EnqueueError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EnqueueError';
  }
}

/** An event too large to ever fit in one SQS message. Retrying will not help. */
export class MessageTooLargeError extends EnqueueError {
  constructor(event: QueuedEvent, bytes: number) {
    super(
      `Event ${event.eventId} of instance ${event.instanceId} is ${bytes} bytes as an SQS message, ` +
        `over the ${SQS_MESSAGE_MAX_BYTES}-byte limit`,
    );
    this.name = 'MessageTooLargeError';
  }
}

interface PreparedEntry {
  readonly event: QueuedEvent;
  readonly entry: Omit<SendMessageBatchRequestEntry, 'Id'>;
  readonly bytes: number;
}

// SQS accepts only these characters (the XML 1.0 character set) in bodies and attribute values.
const SQS_ALLOWED_TEXT = /^[\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]*$/u;

/**
 * JSON.stringify already escapes control characters and lone surrogates; U+FFFE and U+FFFF
 * are valid JSON but not valid SQS text, so they are escaped too (JSON.parse restores them).
 */
export function queuedEventBody(event: QueuedEvent): string {
  return JSON.stringify(event).replace(/[\ufffe\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16)}`);
}

/** Metadata for operators (CLI listings, DLQ inspection); the body stays authoritative. */
function messageAttributes(event: QueuedEvent): Record<string, MessageAttributeValue> {
  const candidates: Record<string, string> = {
    eventId: event.eventId,
    instanceId: event.instanceId,
    ecwidEventType: event.ecwidEventType,
  };
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(candidates)) {
    // Attributes are optional: leave out a value SQS would reject rather than fail the event.
    if (typeof value !== 'string' || value === '' || value.length > 256 || !SQS_ALLOWED_TEXT.test(value)) continue;
    attributes[name] = { DataType: 'String', StringValue: value };
  }
  return attributes;
}

/** Size as SQS counts it: body plus each attribute's name, type and value. */
function messageBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let bytes = Buffer.byteLength(body, 'utf8');
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}

/** `ticketId` (a ledger ticket) replaces the event's own deduplication id, so later tickets of an event are not dropped. */
function prepare(event: QueuedEvent, ticketId?: string): PreparedEntry {
  const body = queuedEventBody(event);
  const attributes = messageAttributes(event);
  const bytes = messageBytes(body, attributes);
  if (bytes > SQS_MESSAGE_MAX_BYTES) throw new MessageTooLargeError(event, bytes);
  return {
    event,
    bytes,
    entry: {
      MessageBody: body,
      MessageGroupId: messageGroupId(event),
      MessageDeduplicationId: ticketId === undefined ? deduplicationId(event) : sqsSafeId(ticketId),
      MessageAttributes: attributes,
    },
  };
}

/** Splits into batches of at most 10 entries and 256 KiB, keeping the order of the events. */
function chunk(entries: readonly PreparedEntry[]): PreparedEntry[][] {
  const batches: PreparedEntry[][] = [];
  let current: PreparedEntry[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    if (current.length === SQS_BATCH_MAX_ENTRIES || currentBytes + entry.bytes > SQS_MESSAGE_MAX_BYTES) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += entry.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const describeFailure = (failure: BatchResultErrorEntry, event: QueuedEvent): string =>
  `event ${event.eventId} (instance ${event.instanceId}): ${failure.Code ?? 'unknown'}` +
  (failure.Message ? ` ${failure.Message}` : '');

/**
 * The FIFO queue between ingest and deliver. Messages of one object share a group (in-order
 * delivery); the deduplication id drops Ecwid's retries of an event within SQS's 5-minute window.
 */
export class SqsEventQueue implements EventQueue, TicketQueue {
  private readonly queueUrl: string;
  private readonly client: SQSClient;

  constructor(opts: SqsEventQueueOptions) {
    this.queueUrl = opts.queueUrl;
    this.client = opts.client ?? new SQSClient({});
  }

  /** Resolves only when SQS accepted every event; otherwise throws an EnqueueError. */
  async enqueue(events: readonly QueuedEvent[]): Promise<void> {
    await this.sendPrepared(events.map((event) => prepare(event)));
  }

  /** Ledger tickets: the event as the body, deduplicated on the ticket's id. */
  async send(tickets: readonly Ticket[]): Promise<void> {
    await this.sendPrepared(tickets.map((ticket) => prepare(ticket.event, ticket.ticketId)));
  }

  private async sendPrepared(prepared: readonly PreparedEntry[]): Promise<void> {
    if (prepared.length === 0) return;
    // Size problems are found before anything is sent (prepare throws), so a bad event does not half-enqueue a fan-out.
    const batches = chunk(prepared);
    // Sequential on purpose: batches stay in event order, which matters within a message group.
    for (const batch of batches) await this.sendBatch(batch);
  }

  private async sendBatch(batch: readonly PreparedEntry[]): Promise<void> {
    let pending = batch.map((prepared, index) => ({ id: String(index), prepared }));
    for (let attempt = 0; ; attempt++) {
      let failed: BatchResultErrorEntry[];
      try {
        const result = await this.client.send(
          new SendMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: pending.map(({ id, prepared }) => ({ Id: id, ...prepared.entry })),
          }),
        );
        failed = result.Failed ?? [];
      } catch (error) {
        // The SDK has already retried transport errors and throttling of the whole call.
        throw new EnqueueError(`SendMessageBatch to ${this.queueUrl} failed (${errorText(error)})`, { cause: error });
      }
      if (failed.length === 0) return;

      const byId = new Map(pending.map((p) => [p.id, p]));
      const failures = failed.map((f) => ({ failure: f, pending: byId.get(f.Id ?? '') }));
      const unknown = failures.find((f) => f.pending === undefined);
      if (unknown) throw new EnqueueError(`SendMessageBatch reported a failure for unknown entry id ${unknown.failure.Id}`);
      const details = failures.map((f) => describeFailure(f.failure, f.pending!.prepared.event)).join('; ');
      // A sender fault (invalid entry) fails the same way again: no point retrying it.
      const senderFault = failures.some((f) => f.failure.SenderFault);
      if (senderFault || attempt >= RETRIES) {
        throw new EnqueueError(
          `SQS rejected ${failed.length} of ${batch.length} messages` +
            (senderFault ? '' : ` after ${attempt + 1} attempts`) +
            `: ${details}`,
        );
      }
      pending = failures.map((f) => f.pending!);
      await sleep(RETRY_BASE_DELAY_MS * 2 ** attempt);
    }
  }
}
