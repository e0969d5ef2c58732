/**
 * The ids SQS FIFO asks of each message, from the event's own ids (core/event.ts). SQS accepts at
 * most 128 characters of alphanumerics and punctuation in a group or deduplication id; anything
 * else becomes a stable hash.
 */
import { compactId, deliveryId, orderingKey, type QueuedEvent } from '../../core/event';
import { firstTicketId } from '../../core/ledger-flow';

const SQS_ID_MAX_LENGTH = 128;

/**
 * The DLQ attribute naming the ledger version an event was dead-lettered at (a replay starts a new
 * round). Here, not in sqs-dead-letter-queue.ts, so that deliver reads it without loading the SQS client.
 */
export const LEDGER_VERSION_ATTRIBUTE = 'ledgerVersion';

/** Keeps a readable id when SQS accepts it, else a stable hash of it. */
export const sqsSafeId = (value: string): string => compactId(value, SQS_ID_MAX_LENGTH);

/** The events of one object share a group: SQS hands them out in order, one at a time. */
export const messageGroupId = (event: Pick<QueuedEvent, 'instanceId' | 'objectType' | 'objectId'>): string =>
  sqsSafeId(orderingKey(event));

/**
 * Ecwid's retries of one event (within SQS's 5-minute window) are dropped by the queue: the
 * delivery id is the same for every copy.
 */
export const deduplicationId = (event: Pick<QueuedEvent, 'instanceId' | 'eventId'>): string => sqsSafeId(deliveryId(event));

/**
 * Whether a received message is the event's first ticket: deduplicated on the event's own id (as
 * ingest and the poller queue it), not on a ledger ticket's versioned id (sweep, wake, resend) or
 * a replay's.
 */
export const isFirstTicket = (messageDeduplicationId: string | undefined, event: Pick<QueuedEvent, 'instanceId' | 'eventId'>): boolean =>
  messageDeduplicationId !== undefined &&
  (messageDeduplicationId === deduplicationId(event) || messageDeduplicationId === sqsSafeId(firstTicketId(event)));
