import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * FIFO batch processing with message groups in parallel.
 *
 * Powertools' SqsFifoPartialProcessorAsync (2.35) walks the whole batch sequentially, even with
 * `skipGroupOnError`, so ten records for ten objects against a 100 ms callback would take a
 * second. Here the batch is split by MessageGroupId and each group gets its own Powertools FIFO
 * processor, all groups at once: records of one group still run one at a time, in order, and a
 * failure fails the rest of that group (Powertools' short-circuit), while other groups go on.
 * The answers are merged into one Powertools-shaped `{ batchItemFailures }`.
 *
 * The records of a group that were never attempted (after a failure) are handed to `onSkipped`,
 * so the caller can make them visible again at once; left alone they would stay invisible for the
 * queue's whole visibility timeout and hold the group back past the failed record's backoff.
 *
 * `mayStart` is asked before each record: a record it refuses (too little time left in the
 * invocation) is failed without being handed to `recordHandler`, so it, and the rest of its group,
 * come back untouched and are handed to `onSkipped` as well.
 *
 * A batch where every record failed is answered with all of them listed, not by throwing
 * (`throwOnFullBatchFailure: false`): a callback that is down is an expected outcome, the
 * failures were already rescheduled, and a Lambda error would only add noise and slow the poller.
 */
export async function processFifoGroupsInParallel(
  event: SQSEvent,
  recordHandler: (record: SQSRecord) => Promise<unknown>,
  context?: Context,
  onSkipped?: (records: SQSRecord[]) => Promise<void>,
  mayStart?: (record: SQSRecord) => boolean,
): Promise<SQSBatchResponse> {
  const attempted = new Set<string>();
  const trackedHandler = async (record: SQSRecord): Promise<unknown> => {
    if (mayStart && !mayStart(record)) throw new RecordNotStartedError(record.messageId);
    attempted.add(record.messageId);
    return recordHandler(record);
  };
  const groups = new Map<string, SQSRecord[]>();
  for (const record of event.Records ?? []) {
    // A record without a group (a standard queue) is its own group.
    const groupId = record.attributes?.MessageGroupId ?? `message:${record.messageId}`;
    const group = groups.get(groupId);
    if (group) group.push(record);
    else groups.set(groupId, [record]);
  }
  const responses = await Promise.all(
    [...groups.values()].map((records) =>
      processPartialResponse({ Records: records }, trackedHandler, new SqsFifoPartialProcessorAsync(), {
        context,
        throwOnFullBatchFailure: false,
      }),
    ),
  );
  const batchItemFailures = responses.flatMap((response) => response.batchItemFailures);
  if (onSkipped) {
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    const skipped = (event.Records ?? []).filter((r) => failed.has(r.messageId) && !attempted.has(r.messageId));
    if (skipped.length > 0) await onSkipped(skipped);
  }
  return { batchItemFailures };
}

/** A record the invocation had no time left to start: it comes back whole (the queue sends it again). */
export class RecordNotStartedError extends Error {
  constructor(messageId: string) {
    super(`record ${messageId} not started: too little time left in this invocation`);
    this.name = 'RecordNotStartedError';
  }
}
