/**
 * Reading and moving messages of the dead-letter queue without losing any: peeking receives
 * with a visibility timeout and hands the messages back (visibility 0); replay deletes a message
 * from the DLQ only after the main queue accepted its copy.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type Message,
  type SQSClient,
  type SendMessageBatchRequestEntry,
} from '@aws-sdk/client-sqs';
import { type QueuedEvent, type ReplayHistory } from '../functions/core/event';
import { errorClassOf, type ErrorClass } from './triage';
import { messageGroupId, sqsSafeId } from '../functions/adapters/aws/sqs-ids';
import { LEDGER_VERSION_ATTRIBUTE } from '../functions/adapters/aws/sqs-dead-letter-queue';

/**
 * A DLQ message as the CLI shows it. deliver sets the string message attributes lastError,
 * attempts, firstReceivedAt, lastAttemptAt, instanceId and eventId when it dead-letters.
 */
export interface DeadLetter {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly groupId?: string;
  readonly deduplicationId?: string;
  /** When the message was put on the DLQ. */
  readonly sentAt?: string;
  readonly eventId?: string;
  readonly instanceId?: string;
  readonly objectType?: string;
  readonly objectId?: string;
  readonly ecwidEventType?: string;
  /** Every attempt: the earlier rounds' (kept by replays in the body) and the last round's. */
  readonly attempts?: number;
  /** The last round's attempts (what deliver counted before it dead-lettered this copy). */
  readonly roundAttempts?: number;
  /** Times it was replayed from the DLQ before. */
  readonly replays?: number;
  /** The `dlq replay` run whose copy this is, if any. */
  readonly replayRun?: string;
  readonly lastError?: string;
  readonly errorClass?: ErrorClass;
  /** When the event was first seen, over every round. */
  readonly firstReceivedAt?: string;
  readonly lastAttemptAt?: string;
  /** The ledger version it was dead-lettered at: a replay of it starts a new round of attempts. */
  readonly ledgerVersion?: number;
  /** The queued event, when the body is one. */
  readonly event?: QueuedEvent;
  readonly body: string;
  /** Why the body is not a queued event (the message is still listed and can be replayed). */
  readonly bodyProblem?: string;
}

const isoFromMillis = (value: string | undefined): string | undefined =>
  value && /^\d+$/.test(value) ? new Date(Number(value)).toISOString() : undefined;

/** A DLQ message as the CLI shows it; never throws for an odd body. */
export function parseDeadLetter(message: Message): DeadLetter {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const body = message.Body ?? '';
  let event: QueuedEvent | undefined;
  let bodyProblem: string | undefined;
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as QueuedEvent).eventId === 'string') {
      event = parsed as QueuedEvent;
    } else {
      bodyProblem = 'body is not a queued event';
    }
  } catch {
    bodyProblem = 'body is not JSON';
  }
  const history = historyOf(event);
  const roundAttempts = wholeNumber(attribute('attempts'));
  const lastError = attribute('lastError');
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    groupId: message.Attributes?.MessageGroupId,
    deduplicationId: message.Attributes?.MessageDeduplicationId,
    sentAt: isoFromMillis(message.Attributes?.SentTimestamp),
    eventId: attribute('eventId') ?? event?.eventId,
    instanceId: attribute('instanceId') ?? event?.instanceId,
    objectType: event?.objectType,
    objectId: event?.objectId,
    ecwidEventType: event?.ecwidEventType,
    attempts: roundAttempts === undefined && !history ? undefined : (history?.attempts ?? 0) + (roundAttempts ?? 0),
    roundAttempts,
    replays: history?.replays,
    replayRun: history?.replayRun,
    lastError,
    errorClass: errorClassOf(lastError),
    firstReceivedAt: history?.firstSeenAt ?? attribute('firstReceivedAt') ?? event?.receivedAt,
    lastAttemptAt: attribute('lastAttemptAt'),
    ledgerVersion: wholeNumber(attribute(LEDGER_VERSION_ATTRIBUTE)),
    event,
    body,
    bodyProblem,
  };
}

/** The replay history a body carries, when it is well-formed. */
function historyOf(event: QueuedEvent | undefined): ReplayHistory | undefined {
  const history = event?.history as Partial<ReplayHistory> | undefined;
  if (typeof history !== 'object' || history === null) return undefined;
  if (typeof history.attempts !== 'number' || typeof history.replays !== 'number' || typeof history.replayRun !== 'string') return undefined;
  return history as ReplayHistory;
}

/**
 * The body of a replayed copy: the queued event with its history so far, so that attempts and
 * first-seen survive this round (deliver passes the body to the DLQ unchanged). A body that is
 * not a queued event is sent as it was.
 */
export function replayBody(letter: DeadLetter, runId: string): string {
  if (!letter.event) return letter.body;
  const history: ReplayHistory = {
    attempts: letter.attempts ?? 0,
    ...(letter.firstReceivedAt ? { firstSeenAt: letter.firstReceivedAt } : {}),
    replays: (letter.replays ?? 0) + 1,
    replayRun: runId,
  };
  return JSON.stringify({ ...letter.event, history });
}

/** What `dlq list|show --json` prints: everything but the receipt handle. */
export function deadLetterView(letter: DeadLetter, withBody: boolean) {
  const { receiptHandle: _receipt, body, event, ...rest } = letter;
  void _receipt;
  return withBody ? { ...rest, event, body: event ? undefined : body } : rest;
}

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

export interface ReceiveOptions {
  /** How long received messages stay hidden while we work on them. */
  readonly visibilitySeconds: number;
  /** Long-poll seconds of a receive (0 for emulators, 1 on AWS so sparse queues are not missed). */
  readonly waitSeconds: number;
}

async function receiveBatch(sqs: SQSClient, queueUrl: string, options: ReceiveOptions): Promise<Message[]> {
  const result = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: options.visibilitySeconds,
      WaitTimeSeconds: options.waitSeconds,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return result.Messages ?? [];
}

/** Makes messages visible again at once. Resolves to how many SQS refused (e.g. expired handles). */
export async function releaseMessages(sqs: SQSClient, queueUrl: string, letters: readonly Pick<DeadLetter, 'messageId' | 'receiptHandle'>[]): Promise<number> {
  let failed = 0;
  for (const batch of chunks(letters, 10)) {
    const result = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((letter, i) => ({ Id: String(i), ReceiptHandle: letter.receiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    failed += result.Failed?.length ?? 0;
  }
  return failed;
}

export interface PeekResult {
  /** Matching messages, in the order received. */
  readonly letters: DeadLetter[];
  /** Every message received (matching or not). */
  readonly scanned: number;
  /** Messages SQS did not let us hand back (they reappear when their timeout ends). */
  readonly releaseFailures: number;
}

/**
 * Reads messages without consuming them: receive (hidden for `visibilitySeconds`), collect,
 * then make every received message visible again. Stops after `limit` matches or when a
 * receive comes back empty. FIFO: SQS hides the rest of a message group while one of its
 * messages is received, so at most one receive's worth (10) per group is seen.
 */
export async function peekDeadLetters(
  sqs: SQSClient,
  queueUrl: string,
  options: ReceiveOptions & {
    readonly limit?: number;
    readonly match?: (letter: DeadLetter) => boolean;
    readonly onProgress?: (scanned: number) => void;
  },
): Promise<PeekResult> {
  const held = new Map<string, DeadLetter>();
  const letters: DeadLetter[] = [];
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let releaseFailures = 0;
  try {
    while (letters.length < limit) {
      const batch = await receiveBatch(sqs, queueUrl, options);
      if (batch.length === 0) break;
      let fresh = 0;
      for (const message of batch) {
        const letter = parseDeadLetter(message);
        const known = held.has(letter.messageId);
        held.set(letter.messageId, letter);
        if (known) continue;
        fresh++;
        if (letters.length < limit && (options.match?.(letter) ?? true)) letters.push(letter);
      }
      options.onProgress?.(held.size);
      // Only messages seen already (their timeout ran out during a long scan): we went round.
      if (fresh === 0) break;
    }
  } finally {
    // Always hand the messages back, also when a receive failed half-way.
    if (held.size > 0) releaseFailures = await releaseMessages(sqs, queueUrl, [...held.values()]);
  }
  return { letters, scanned: held.size, releaseFailures };
}

/**
 * The dedup id of a replayed copy. The main queue drops a message whose dedup id it saw in the
 * last 5 minutes, so the original id would make a quick replay vanish; a per-run suffix keeps
 * the copy while SDK retries of the same send (same run) are still deduplicated.
 */
export const replayDeduplicationId = (original: string, runId: string): string => sqsSafeId(`${original}:replay:${runId}`);

export interface ReplayOptions extends ReceiveOptions {
  readonly deadLetterQueueUrl: string;
  readonly queueUrl: string;
  readonly select: (letter: DeadLetter) => boolean | Promise<boolean>;
  readonly dryRun: boolean;
  /** Distinguishes this replay run in the dedup ids, e.g. the start time in ms. */
  readonly runId: string;
  readonly onProgress?: (progress: { scanned: number; replayed: number }) => void;
}

export interface ReplayResult {
  /** Moved back (or, with dryRun, that would be). */
  readonly replayed: DeadLetter[];
  /** Kept in the DLQ because the main queue refused them. */
  readonly failed: Array<{ letter: DeadLetter; reason: string }>;
  readonly scanned: number;
  readonly releaseFailures: number;
}

const isFifo = (queueUrl: string): boolean => queueUrl.endsWith('.fifo');

/**
 * Moves the selected DLQ messages back to the main queue, batch by batch: send the copies
 * (same body, same message group, replay dedup id), then delete from the DLQ exactly the
 * ones the main queue accepted. Everything else is held hidden until the end of the run and
 * then made visible again, so a failure leaves it where it was.
 */
export async function replayDeadLetters(sqs: SQSClient, options: ReplayOptions): Promise<ReplayResult> {
  /** Received and not deleted: made visible again at the end, whatever happens. */
  const held = new Map<string, DeadLetter>();
  const seen = new Set<string>();
  const replayed: DeadLetter[] = [];
  const failed: Array<{ letter: DeadLetter; reason: string }> = [];
  const fifo = isFifo(options.queueUrl);
  let releaseFailures = 0;
  try {
    for (;;) {
      const batch = (await receiveBatch(sqs, options.deadLetterQueueUrl, options)).map(parseDeadLetter);
      if (batch.length === 0) break;
      const chosen: DeadLetter[] = [];
      let fresh = 0;
      for (const letter of batch) {
        held.set(letter.messageId, letter); // newest receipt handle
        if (seen.has(letter.messageId)) continue; // came back after its timeout: already decided
        seen.add(letter.messageId);
        fresh++;
        if (!(await options.select(letter))) continue;
        if (options.dryRun) replayed.push(letter);
        else chosen.push(letter);
      }
      const entries: Array<SendMessageBatchRequestEntry & { letter: DeadLetter }> = [];
      for (const [i, letter] of chosen.entries()) {
        const groupId = letter.groupId ?? (letter.event ? messageGroupId(letter.event) : undefined);
        if (fifo && !groupId) {
          failed.push({ letter, reason: 'no message group id (FIFO)' });
          continue;
        }
        entries.push({
          letter,
          Id: String(i),
          MessageBody: replayBody(letter, options.runId),
          ...(fifo
            ? {
                MessageGroupId: groupId,
                MessageDeduplicationId: replayDeduplicationId(letter.deduplicationId ?? letter.eventId ?? letter.messageId, options.runId),
              }
            : {}),
          MessageAttributes: {
            replayedAt: { DataType: 'String', StringValue: new Date().toISOString() },
            // Deliver starts a new round for the ledger entry this copy was dead-lettered from.
            ...(letter.ledgerVersion !== undefined
              ? { [LEDGER_VERSION_ATTRIBUTE]: { DataType: 'Number', StringValue: String(letter.ledgerVersion) } }
              : {}),
          },
        });
      }
      if (entries.length > 0) {
        const result = await sqs.send(
          new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries.map(({ letter: _letter, ...entry }) => entry) }),
        );
        const accepted = new Set((result.Successful ?? []).map((entry) => entry.Id));
        for (const refusal of result.Failed ?? []) {
          const entry = entries.find((e) => e.Id === refusal.Id);
          if (entry) failed.push({ letter: entry.letter, reason: `${refusal.Code ?? 'refused'}: ${refusal.Message ?? ''}`.trim() });
        }
        // Delete from the DLQ only what the main queue accepted.
        const sent = entries.filter((entry) => accepted.has(entry.Id));
        if (sent.length > 0) {
          const deletion = await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.deadLetterQueueUrl,
              Entries: sent.map((entry) => ({ Id: entry.Id, ReceiptHandle: entry.letter.receiptHandle })),
            }),
          );
          const notDeleted = new Set((deletion.Failed ?? []).map((refusal) => refusal.Id));
          for (const entry of sent) {
            replayed.push(entry.letter);
            if (notDeleted.has(entry.Id)) {
              // A duplicate left in the DLQ, never a loss: say so and move on.
              failed.push({ letter: entry.letter, reason: 'replayed, but still in the DLQ (delete refused): do not replay it again' });
            } else {
              held.delete(entry.letter.messageId);
            }
          }
        }
      }
      options.onProgress?.({ scanned: seen.size, replayed: replayed.length });
      if (fresh === 0) break; // went round: only messages already decided came back
    }
  } finally {
    if (held.size > 0) releaseFailures = await releaseMessages(sqs, options.deadLetterQueueUrl, [...held.values()]);
  }
  return { replayed, failed, scanned: seen.size, releaseFailures };
}

/** A message attribute holding a count (SQS attributes are strings): the number, or undefined. */
function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}
