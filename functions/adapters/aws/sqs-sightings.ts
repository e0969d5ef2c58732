import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { ReceivedSighting, SightingInbox, SightingLog, WebhookSighting } from '../../core/sightings';
import { SQS_BATCH_MAX_ENTRIES } from './sqs-event-queue';

export interface SqsSightingsOptions {
  /** A standard queue (order does not matter; duplicates are harmless). */
  readonly queueUrl: string;
  /** @default a new SQSClient (region and endpoint from the environment) */
  readonly client?: SQSClient;
  /**
   * How long a received sighting stays hidden. Shorter than the poller's schedule, so that a
   * sighting still needed is back for the next run; longer than one run's receive loop.
   * @default 120
   */
  readonly visibilityTimeoutSeconds?: number;
  /** At most this many sightings per `receive` (the rest wait for the next run). @default 5000 */
  readonly maxReceive?: number;
}

/** One sighting as an SQS message body: short keys, it is written for every webhook event of a reconciling instance. */
interface SightingBody {
  readonly i: string;
  readonly t: string;
  readonly o: string;
  readonly a: number;
}

/**
 * Webhook sightings on an SQS standard queue: ingest sends one small message per queued webhook
 * event of an instance in reconciliation mode; the poller receives them all each run, keeps (does
 * not delete) those a later window can still need, and deletes the rest. Cost: one
 * SendMessageBatch per ingest request that queued such an event (none for webhook-only
 * instances) and about (pending sightings / 10) ReceiveMessage calls per poller run.
 */
export class SqsSightings implements SightingLog, SightingInbox {
  private readonly queueUrl: string;
  private readonly client: SQSClient;
  private readonly visibilityTimeoutSeconds: number;
  private readonly maxReceive: number;

  constructor(opts: SqsSightingsOptions) {
    this.queueUrl = opts.queueUrl;
    this.client = opts.client ?? new SQSClient({});
    this.visibilityTimeoutSeconds = opts.visibilityTimeoutSeconds ?? 120;
    this.maxReceive = opts.maxReceive ?? 5000;
  }

  async record(sightings: readonly WebhookSighting[]): Promise<void> {
    for (let start = 0; start < sightings.length; start += SQS_BATCH_MAX_ENTRIES) {
      const batch = sightings.slice(start, start + SQS_BATCH_MAX_ENTRIES);
      const result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((s, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify({ i: s.instanceId, t: s.objectType, o: s.objectId, a: s.at } satisfies SightingBody),
          })),
        }),
      );
      if (result.Failed && result.Failed.length > 0) {
        throw new Error(`SQS did not accept ${result.Failed.length} of ${batch.length} sightings (${result.Failed[0].Code ?? 'unknown'})`);
      }
    }
  }

  async receive(): Promise<ReceivedSighting[]> {
    const received = new Map<string, ReceivedSighting>();
    const malformed: string[] = [];
    while (received.size + malformed.length < this.maxReceive) {
      const { Messages = [] } = await this.client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: SQS_BATCH_MAX_ENTRIES,
          // Long polling asks every SQS server (short polling samples a few and can miss messages);
          // it returns at once when messages are there.
          WaitTimeSeconds: 1,
          VisibilityTimeout: this.visibilityTimeoutSeconds,
        }),
      );
      if (Messages.length === 0) break;
      for (const message of Messages) {
        if (!message.ReceiptHandle || !message.MessageId || received.has(message.MessageId)) continue;
        const sighting = parseBody(message.Body);
        if (sighting) received.set(message.MessageId, { ...sighting, handle: message.ReceiptHandle });
        else malformed.push(message.ReceiptHandle);
      }
    }
    if (malformed.length > 0) await this.acknowledge(malformed);
    return [...received.values()];
  }

  async acknowledge(handles: readonly string[]): Promise<void> {
    for (let start = 0; start < handles.length; start += SQS_BATCH_MAX_ENTRIES) {
      const batch = handles.slice(start, start + SQS_BATCH_MAX_ENTRIES);
      await this.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle })),
        }),
      );
    }
  }
}

function parseBody(body: string | undefined): WebhookSighting | undefined {
  try {
    const value = JSON.parse(body ?? '') as Partial<SightingBody>;
    if (typeof value.i !== 'string' || typeof value.t !== 'string' || typeof value.o !== 'string' || typeof value.a !== 'number') {
      return undefined;
    }
    return { instanceId: value.i, objectType: value.t, objectId: value.o, at: value.a };
  } catch {
    return undefined;
  }
}
