/**
 * `dlq list|show|replay|purge`: the dead-letter queue, read without consuming it and replayed
 * without loss (see ../dead-letters.ts).
 */
import { ListMessageMoveTasksCommand, PurgeQueueCommand, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { countMessages, queueCounts } from '../../functions/adapters/aws/sqs-queue-counts';
import { optionBoolean, optionList, optionString, type CommandContext, type CommandSpec } from '../command';
import { deadLetterView, peekDeadLetters, replayDeadLetters, type DeadLetter } from '../dead-letters';
import type { Queues } from '../environment';
import { CliError, EXIT, UsageError, oneLine } from '../errors';
import type { LedgerEntry } from '../../functions/core/ledger';
import { renderPairs, renderTable, truncate, type Column } from '../output';
import { renderAttempts } from '../ledger-view';

const FIFO_NOTE = `FIFO: receiving a message hides the rest of its message group until it is handed back,
so reading the DLQ briefly holds those groups (messages are handed back at once, and at the
latest when their visibility timeout ends), and at most 10 messages per group are seen.`;

/** Seconds messages stay hidden while a listing runs; they are handed back right after. */
const PEEK_VISIBILITY_SECONDS = 30;
/** Replay holds the messages it does not move until the end of the run. */
const REPLAY_VISIBILITY_SECONDS = 300;

const waitSeconds = (queues: Queues) => (queues.emulated ? 0 : 1);

export function parseLimit(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]{0,5}$/.test(text)) throw new UsageError(`--limit must be a whole number from 1 to 999999, got "${text.slice(0, 20)}"`);
  return Number(text);
}

/** The first columns of every table of dead letters (`dlq list`, `dlq replay --dry-run`). */
const LETTER_COLUMNS: readonly Column<DeadLetter>[] = [
  { header: 'EVENT ID', value: (r) => r.eventId ?? `(message ${r.messageId})` },
  { header: 'INSTANCE', value: (r) => r.instanceId },
  { header: 'OBJECT', value: (r) => (r.objectType ? `${r.objectType}/${r.objectId}` : r.bodyProblem) },
];
const LAST_ERROR_COLUMN: Column<DeadLetter> = { header: 'LAST ERROR', value: (r) => truncate(r.lastError, 60) };

/** Messages visible in the DLQ now (to tell whether a scan could see them all). */
const visibleCount = async (queues: Queues): Promise<number> => (await queueCounts(queues.sqs, queues.deadLetterQueueUrl)).visible;

/** Says so when a scan saw fewer messages than the DLQ holds (FIFO groups hide the rest). */
function warnIncompleteScan(ctx: CommandContext, scanned: number, visibleBefore: number, stoppedAtLimit: boolean): void {
  if (stoppedAtLimit || scanned >= visibleBefore) return;
  ctx.out.warn(
    `read ${scanned} of about ${visibleBefore} messages: in a FIFO queue the messages behind the first one of each message group stay hidden until it is deleted`,
  );
}

function warnReleaseFailures(ctx: CommandContext, count: number): void {
  if (count > 0) ctx.out.warn(`${count} message(s) could not be handed back at once; they reappear when their visibility timeout ends`);
}

const list: CommandSpec = {
  name: 'dlq list',
  summary: 'list dead-lettered events without consuming them',
  usage: '[--instance ID] [--limit N]',
  details: `Columns: event id, instance, object, Ecwid type, attempts, last error, first seen.
Messages are received with a ${PEEK_VISIBILITY_SECONDS}s visibility timeout and handed back immediately.
${FIFO_NOTE}`,
  options: {
    instance: { type: 'string', value: 'ID', description: 'only events of this instance' },
    limit: { type: 'string', value: 'N', description: 'show at most N events (default 50)' },
  },
  async run(ctx) {
    const instance = optionString(ctx.values, 'instance');
    const limit = parseLimit(optionString(ctx.values, 'limit'), 50);
    const queues = await ctx.resources.queues();
    const visibleBefore = await visibleCount(queues);
    const progress = ctx.out.progress('reading DLQ');
    const result = await peekDeadLetters(queues.sqs, queues.deadLetterQueueUrl, {
      visibilitySeconds: PEEK_VISIBILITY_SECONDS,
      waitSeconds: waitSeconds(queues),
      limit,
      match: instance ? (letter) => letter.instanceId === instance : undefined,
      onProgress: (scanned) => progress.update(scanned),
    }).finally(() => progress.done());
    warnReleaseFailures(ctx, result.releaseFailures);
    warnIncompleteScan(ctx, result.scanned, visibleBefore, result.letters.length >= limit);
    const rows = result.letters;
    ctx.out.result({ scanned: result.scanned, events: rows.map((letter) => deadLetterView(letter, false)) }, () => {
      if (rows.length === 0) return `No dead-lettered events${instance ? ` for instance ${instance}` : ''} (${result.scanned} message(s) read).\n`;
      return (
        renderTable<DeadLetter>(
          [
            ...LETTER_COLUMNS,
            { header: 'ECWID TYPE', value: (r) => r.ecwidEventType },
            { header: 'ATTEMPTS', value: (r) => r.attempts, align: 'right' },
            LAST_ERROR_COLUMN,
            { header: 'FIRST SEEN', value: (r) => r.firstReceivedAt },
          ],
          rows,
        ) + `${rows.length} event(s)${rows.length === limit ? ` (limit ${limit}; --limit for more)` : ''}.\n`
      );
    });
  },
};

const show: CommandSpec = {
  name: 'dlq show',
  summary: 'show one dead-lettered event in full (without consuming it)',
  usage: 'EVENT_ID',
  details: FIFO_NOTE,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const eventId = ctx.positionals[0];
    const queues = await ctx.resources.queues();
    const visibleBefore = await visibleCount(queues);
    const progress = ctx.out.progress('searching DLQ');
    const result = await peekDeadLetters(queues.sqs, queues.deadLetterQueueUrl, {
      visibilitySeconds: PEEK_VISIBILITY_SECONDS,
      waitSeconds: waitSeconds(queues),
      limit: 1,
      match: (letter) => letter.eventId === eventId,
      onProgress: (scanned) => progress.update(scanned),
    }).finally(() => progress.done());
    warnReleaseFailures(ctx, result.releaseFailures);
    const letter = result.letters[0];
    if (!letter) {
      warnIncompleteScan(ctx, result.scanned, visibleBefore, false);
      throw new CliError(`event ${eventId} is not in the dead-letter queue (${result.scanned} message(s) read)`);
    }
    // The ledger's attempts, when there is a ledger to ask (a DLQ listing never fails for want of it).
    let ledgerEntry: LedgerEntry | undefined;
    if (ctx.resources.ledger && letter.instanceId && letter.eventId) {
      try {
        ledgerEntry = await (await ctx.resources.ledger()).ledger.get(letter.instanceId, letter.eventId);
      } catch (error) {
        ctx.out.warn(`the ledger's attempts are not shown: ${oneLine(error)}`);
      }
    }
    const attempts = ledgerEntry && ledgerEntry.attempts.length > 0 ? `\nattempts (ledger):\n${renderAttempts(ledgerEntry)}` : '';
    ctx.out.result({ ...deadLetterView(letter, true), ...(ledgerEntry ? { ledgerAttempts: ledgerEntry.attempts } : {}) }, () =>
      renderPairs([
        ['event id', letter.eventId],
        ['instance', letter.instanceId],
        ['object', letter.objectType ? `${letter.objectType}/${letter.objectId}` : undefined],
        ['ecwid type', letter.ecwidEventType],
        ['normalized type', letter.event?.eventType],
        ['store', letter.event?.storeId],
        ['source', letter.event?.source],
        ['attempts', letter.attempts],
        ['last error', letter.lastError],
        ['first seen', letter.firstReceivedAt],
        ['last attempt', letter.lastAttemptAt],
        ['in DLQ since', letter.sentAt],
        ['message group', letter.groupId],
        ['message id', letter.messageId],
      ]) +
        attempts +
        `\n${letter.event ? 'event' : `body (${letter.bodyProblem})`}:\n${letter.event ? JSON.stringify(letter.event, null, 2) : letter.body}\n`,
    );
  },
};

async function moveTask(ctx: CommandContext, queues: Queues): Promise<boolean> {
  if (queues.emulated) {
    ctx.out.note('StartMessageMoveTask is not available on this emulator: replaying message by message.');
    return false;
  }
  const { queueArn, deadLetterQueueArn } = await queues.arns();
  let handle: string | undefined;
  try {
    handle = (await queues.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: deadLetterQueueArn, DestinationArn: queueArn }))).TaskHandle;
  } catch (error) {
    ctx.out.note(`StartMessageMoveTask refused (${oneLine(error)}): replaying message by message.`);
    return false;
  }
  const progress = ctx.out.progress('moving');
  try {
    for (;;) {
      const tasks = (await queues.sqs.send(new ListMessageMoveTasksCommand({ SourceArn: deadLetterQueueArn, MaxResults: 10 }))).Results ?? [];
      const task = tasks.find((t) => t.TaskHandle === handle) ?? tasks[0];
      progress.update(task?.ApproximateNumberOfMessagesMoved ?? 0, task?.ApproximateNumberOfMessagesToMove);
      if (task && task.Status !== 'RUNNING') {
        progress.done();
        if (task.Status !== 'COMPLETED') throw new CliError(`message move task ${task.Status}: ${task.FailureReason ?? 'no reason given'}`);
        ctx.out.result({ method: 'StartMessageMoveTask', moved: task.ApproximateNumberOfMessagesMoved ?? 0 }, () =>
          `Moved ${task.ApproximateNumberOfMessagesMoved ?? 0} message(s) back with an SQS message move task.\n`,
        );
        return true;
      }
      await ctx.sleep(2000);
    }
  } finally {
    progress.done();
  }
}

const replay: CommandSpec = {
  name: 'dlq replay',
  summary: 'move dead-lettered events back to the queue for another round of attempts',
  usage: '(--all | --event ID... | --instance ID) [--dry-run] [--move-task]',
  details: `No loss: each message is deleted from the DLQ only after the main queue accepted its copy;
anything not moved is handed back. The copy keeps the body and the FIFO message group; its
deduplication id gets a per-run replay suffix, because the main queue silently drops a message
whose dedup id it saw in the last 5 minutes (a quick replay would otherwise vanish).
The copy starts a fresh set of delivery attempts.
--move-task (with --all, on AWS): use an SQS message move task instead (fast for big DLQs);
SQS then keeps its own dedup handling, so use it for messages older than 5 minutes. When the
task cannot be started (emulators, permissions) the replay goes message by message.
${FIFO_NOTE}`,
  options: {
    all: { type: 'boolean', description: 'every message' },
    event: { type: 'string', multiple: true, value: 'ID', description: 'the event with this id (repeatable)' },
    instance: { type: 'string', value: 'ID', description: 'every event of this instance' },
    'dry-run': { type: 'boolean', description: 'only list what would be replayed' },
    'move-task': { type: 'boolean', description: 'with --all: try StartMessageMoveTask first' },
  },
  async run(ctx) {
    const all = optionBoolean(ctx.values, 'all');
    const events = new Set(optionList(ctx.values, 'event'));
    const instance = optionString(ctx.values, 'instance');
    const dryRun = optionBoolean(ctx.values, 'dry-run');
    const chosen = [all, events.size > 0, instance !== undefined].filter(Boolean).length;
    if (chosen !== 1) throw new UsageError('choose exactly one of --all, --event ID..., --instance ID', 'dlq replay');
    if (optionBoolean(ctx.values, 'move-task') && !all) throw new UsageError('--move-task works only with --all', 'dlq replay');

    const queues = await ctx.resources.queues();
    if (all && !dryRun && optionBoolean(ctx.values, 'move-task') && (await moveTask(ctx, queues))) return;

    const select = all
      ? () => true
      : events.size > 0
        ? (letter: DeadLetter) => letter.eventId !== undefined && events.has(letter.eventId)
        : (letter: DeadLetter) => letter.instanceId === instance;
    const visibleBefore = await visibleCount(queues);
    const progress = ctx.out.progress(dryRun ? 'scanning' : 'replaying');
    const result = await replayDeadLetters(queues.sqs, {
      queueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      visibilitySeconds: REPLAY_VISIBILITY_SECONDS,
      waitSeconds: waitSeconds(queues),
      select,
      dryRun,
      runId: String(ctx.now().getTime()),
      onProgress: ({ scanned, replayed }) => progress.update(replayed, scanned),
    }).finally(() => progress.done());
    warnReleaseFailures(ctx, result.releaseFailures);

    // Replayed messages unlock their group, so only held (unselected) ones can hide others.
    warnIncompleteScan(ctx, result.scanned, visibleBefore, false);
    const missing = [...events].filter((id) => !result.replayed.some((letter) => letter.eventId === id));
    const summary = {
      dryRun,
      method: 'message-by-message',
      scanned: result.scanned,
      replayed: result.replayed.map((letter) => letter.eventId ?? letter.messageId),
      failed: result.failed.map(({ letter, reason }) => ({ eventId: letter.eventId, messageId: letter.messageId, reason })),
      notFound: missing,
    };
    ctx.out.result(summary, () => {
      const verb = dryRun ? 'Would replay' : 'Replayed';
      const lines = [`${verb} ${result.replayed.length} of ${result.scanned} dead-lettered message(s).`];
      if (dryRun && result.replayed.length > 0) {
        lines.push(
          renderTable<DeadLetter>(
            [
              ...LETTER_COLUMNS,
              LAST_ERROR_COLUMN,
            ],
            result.replayed,
          ).trimEnd(),
        );
      }
      for (const { letter, reason } of result.failed) lines.push(`not replayed: ${letter.eventId ?? letter.messageId}: ${reason}`);
      if (missing.length > 0) lines.push(`not found in the DLQ: ${missing.join(', ')}`);
      return `${lines.join('\n')}\n`;
    });
    // The summary is already printed (stdout stays one JSON document): only the reason and the code.
    if (result.failed.length > 0) {
      return ctx.out.fail(`${result.failed.length} message(s) could not be replayed; they are still in the dead-letter queue`);
    }
    if (missing.length > 0) return ctx.out.fail(`event(s) not found in the dead-letter queue: ${missing.join(', ')}`);
    return EXIT.ok;
  },
};

const purge: CommandSpec = {
  name: 'dlq purge',
  summary: 'delete every message of the dead-letter queue (needs --yes)',
  usage: '--yes',
  details: 'Irreversible. SQS allows one purge per queue every 60 seconds and may take up to 60 seconds to finish.',
  options: { yes: { type: 'boolean', description: 'confirm: really delete everything' } },
  async run(ctx) {
    if (!optionBoolean(ctx.values, 'yes')) throw new UsageError('refusing to purge without --yes', 'dlq purge');
    const queues = await ctx.resources.queues();
    const count = await countMessages(queues.sqs, queues.deadLetterQueueUrl);
    await queues.sqs.send(new PurgeQueueCommand({ QueueUrl: queues.deadLetterQueueUrl }));
    ctx.out.result({ purged: true, approximateMessages: count }, () => `Purged the dead-letter queue (about ${count} message(s)).\n`);
  },
};

export const DLQ_COMMANDS: readonly CommandSpec[] = [list, show, replay, purge];
