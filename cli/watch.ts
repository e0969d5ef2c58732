/**
 * Watching events after they were (re)queued (`test-event`, `dlq replay --wait`), from the
 * queues alone, so it works with or without the event ledger:
 * - failed: the event is in the DLQ (for a replay: the copy of this replay run, so an older copy
 *   left there does not count);
 * - delivered: the main queue emptied and the event is not in the DLQ (deliver puts a message on
 *   the DLQ before deleting it from the queue, so the DLQ is checked once more after that). On a
 *   busy queue the main queue may never empty: timeout.
 */
import { queueCounts, type QueueCounts } from '../functions/adapters/aws/sqs-queue-counts';
import type { CommandContext } from './command';
import { peekDeadLetters, type DeadLetter } from './dead-letters';
import type { Queues } from './environment';
import { formatDuration } from './output';

export interface WatchTarget {
  readonly eventId: string;
  readonly instanceId: string;
  /** Only a DLQ copy made by this `dlq replay` run counts as failing again. */
  readonly replayRun?: string;
}

export interface WatchOutcome {
  readonly target: WatchTarget;
  readonly outcome: 'delivered' | 'failed' | 'timeout';
  readonly letter?: DeadLetter;
}

const total = (c: QueueCounts) => c.visible + c.inFlight + c.delayed;

const matches = (target: WatchTarget, letter: DeadLetter): boolean =>
  letter.eventId === target.eventId &&
  letter.instanceId === target.instanceId &&
  (target.replayRun === undefined || letter.replayRun === target.replayRun);

export async function watchEvents(
  ctx: Pick<CommandContext, 'sleep' | 'now'>,
  queues: Queues,
  targets: readonly WatchTarget[],
  options: { timeoutMs: number; intervalMs: number; onStatus?: (status: string) => void },
): Promise<{ outcomes: WatchOutcome[]; waitedMs: number }> {
  const started = ctx.now().getTime();
  const failed = new Map<WatchTarget, DeadLetter>();
  const open = () => targets.filter((target) => !failed.has(target));
  const finish = (rest: 'delivered' | 'timeout', waitedMs: number) => ({
    outcomes: targets.map((target): WatchOutcome => {
      const letter = failed.get(target);
      return letter ? { target, outcome: 'failed', letter } : { target, outcome: rest };
    }),
    waitedMs,
  });
  let lastDlqTotal = -1;
  let lastStatus = '';
  let emptyPolls = 0;
  for (;;) {
    const elapsed = ctx.now().getTime() - started;
    const [main, dlq] = [await queueCounts(queues.sqs, queues.queueUrl), await queueCounts(queues.sqs, queues.deadLetterQueueUrl)];
    // Approximate counts can read 0 for a moment (e.g. between a receive and a retry): only
    // two empty readings in a row, one interval apart, count as "left the queue".
    emptyPolls = total(main) === 0 ? emptyPolls + 1 : 0;
    // Peek only when the DLQ changed or the queue looks empty: the DLQ may be long.
    if (total(dlq) !== lastDlqTotal || emptyPolls > 0) {
      lastDlqTotal = total(dlq);
      const waiting = open();
      if (total(dlq) > 0 && waiting.length > 0) {
        const found = await peekDeadLetters(queues.sqs, queues.deadLetterQueueUrl, {
          visibilitySeconds: 10,
          waitSeconds: 0,
          limit: waiting.length,
          match: (letter) => waiting.some((target) => matches(target, letter)),
        });
        for (const letter of found.letters) {
          const target = waiting.find((t) => matches(t, letter) && !failed.has(t));
          if (target) failed.set(target, letter);
        }
      }
      if (open().length === 0 || emptyPolls >= 2) return finish('delivered', elapsed);
    }
    const counts = targets.length > 1 || targets[0]?.replayRun ? `${failed.size} of ${targets.length} failed again, ${open().length} waiting; ` : '';
    const status = `${counts}queue: ${main.visible} visible, ${main.inFlight} in flight, ${main.delayed} delayed; dlq: ${total(dlq)}`;
    if (status !== lastStatus) options.onStatus?.(`[${formatDuration(elapsed)}] ${status}`);
    lastStatus = status;
    if (elapsed >= options.timeoutMs) return finish('timeout', elapsed);
    await ctx.sleep(options.intervalMs);
  }
}
