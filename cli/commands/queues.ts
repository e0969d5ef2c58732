/** `queues`: depth of the event queue and the dead-letter queue, and how old their oldest message is. */
import type { CommandSpec } from '../command';
import { queueCounts } from '../../functions/adapters/aws/sqs-queue-counts';
import { peekDeadLetters } from '../dead-letters';
import type { Queues } from '../environment';
import { formatDuration, renderTable } from '../output';

export interface QueueStats {
  readonly name: 'queue' | 'dlq';
  readonly url: string;
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  /** Age of the oldest message in ms, when known. */
  readonly oldestAgeMs?: number;
  /** How the age was found, or why it is not known. */
  readonly oldestAgeSource: string;
}

const queueName = (url: string) => url.replace(/\/+$/, '').split('/').pop() ?? url;

/**
 * Queue depths, and the age of the oldest message. SQS has no such queue attribute (it is the
 * CloudWatch metric ApproximateAgeOfOldestMessage, which this tool does not query). For the DLQ
 * the age comes from peeking (harmless there); the main queue is never peeked, because a
 * receive there counts as a delivery attempt.
 */
export async function queueStats(queues: Queues, now: Date): Promise<QueueStats[]> {
  const main = await queueCounts(queues.sqs, queues.queueUrl);
  const dlq = await queueCounts(queues.sqs, queues.deadLetterQueueUrl);
  const cloudWatch = queues.emulated ? 'n/a (emulator: no CloudWatch)' : 'n/a (CloudWatch metric ApproximateAgeOfOldestMessage)';
  let dlqAge: number | undefined;
  let dlqAgeSource = dlq.visible === 0 ? (dlq.inFlight + dlq.delayed === 0 ? 'empty' : 'n/a (messages in flight)') : '';
  if (dlq.visible > 0) {
    const peek = await peekDeadLetters(queues.sqs, queues.deadLetterQueueUrl, { visibilitySeconds: 10, waitSeconds: 0, limit: 10 });
    const times = peek.letters
      .map((letter) => Date.parse(letter.firstReceivedAt ?? letter.sentAt ?? ''))
      .filter((time) => Number.isFinite(time));
    if (times.length > 0) {
      dlqAge = now.getTime() - Math.min(...times);
      dlqAgeSource = `peek of ${peek.letters.length} message(s), since first received`;
    } else {
      dlqAgeSource = 'n/a (peek found no timestamps)';
    }
  }
  return [
    { name: 'queue', url: queues.queueUrl, ...main, oldestAgeSource: main.visible + main.inFlight + main.delayed === 0 ? 'empty' : cloudWatch },
    { name: 'dlq', url: queues.deadLetterQueueUrl, ...dlq, oldestAgeMs: dlqAge, oldestAgeSource: dlqAgeSource },
  ];
}

const queuesCommand: CommandSpec = {
  name: 'queues',
  summary: 'message counts of the event queue and the dead-letter queue, age of the oldest',
  usage: '',
  details: `Counts are SQS's approximate ones: visible (waiting), in flight (being delivered or waiting
for a retry), delayed. The age of the oldest message is a CloudWatch metric, not a queue
attribute: for the DLQ it is estimated by peeking (first-received time of the messages seen);
the main queue is not peeked, because a receive there uses up a delivery attempt.`,
  async run(ctx) {
    const queues = await ctx.resources.queues();
    const stats = await queueStats(queues, ctx.now());
    ctx.out.result(stats, () =>
      renderTable<QueueStats>(
        [
          { header: 'QUEUE', value: (s) => `${s.name} (${queueName(s.url)})` },
          { header: 'VISIBLE', value: (s) => s.visible, align: 'right' },
          { header: 'IN FLIGHT', value: (s) => s.inFlight, align: 'right' },
          { header: 'DELAYED', value: (s) => s.delayed, align: 'right' },
          { header: 'OLDEST', value: (s) => (s.oldestAgeMs === undefined ? s.oldestAgeSource : `${formatDuration(s.oldestAgeMs)} (${s.oldestAgeSource})`) },
        ],
        stats,
      ),
    );
  },
};

export const QUEUE_COMMANDS: readonly CommandSpec[] = [queuesCommand];
