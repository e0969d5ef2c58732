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
import { formatDuration, renderPairs, renderTable, truncate, type Column } from '../output';
import { renderAttempts } from '../ledger-view';
import {
  ageWindowOf,
  configChange,
  ERROR_CLASSES,
  memoizedChangeTimes,
  parseErrorClass,
  unchangedWarning,
  withinAge,
  type ConfigChange,
} from '../triage';
import { watchEvents } from '../watch';
import { redactCallbackUrl, configOf } from '../../functions/core/instance';

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

/** When a dead letter's event failed: its last attempt, else when it reached the DLQ. */
const failedAt = (letter: DeadLetter): string | undefined => letter.lastAttemptAt ?? letter.sentAt;

/** Per instance, whether it changed since each letter failed (one lookup per instance). */
function changeOf(ctx: CommandContext): (letter: DeadLetter) => Promise<ConfigChange> {
  const read = ctx.resources.instanceChangedAt;
  if (!read) return async () => 'unknown';
  const changedAt = memoizedChangeTimes((id) => read.call(ctx.resources, id));
  return async (letter) => (letter.instanceId ? configChange(await changedAt(letter.instanceId), failedAt(letter)) : 'unknown');
}

const SORTS = ['age', 'instance', 'error', 'attempts'] as const;
type Sort = (typeof SORTS)[number];

function parseSort(text: string | undefined): Sort {
  if (text === undefined) return 'age';
  if (!(SORTS as readonly string[]).includes(text)) throw new UsageError(`--sort must be one of ${SORTS.join(', ')}, got "${text.slice(0, 20)}"`, 'dlq list');
  return text as Sort;
}

const byText = (a: string | undefined, b: string | undefined) => (a ?? '\uffff').localeCompare(b ?? '\uffff');
const SORTERS: Readonly<Record<Sort, (a: DeadLetter, b: DeadLetter) => number>> = {
  // Oldest first: the longest-failing event is the first to look at.
  age: (a, b) => byText(a.firstReceivedAt, b.firstReceivedAt),
  instance: (a, b) => byText(a.instanceId, b.instanceId) || byText(a.firstReceivedAt, b.firstReceivedAt),
  error: (a, b) => byText(a.errorClass, b.errorClass) || byText(a.instanceId, b.instanceId) || byText(a.firstReceivedAt, b.firstReceivedAt),
  attempts: (a, b) => (b.attempts ?? 0) - (a.attempts ?? 0) || byText(a.firstReceivedAt, b.firstReceivedAt),
};

/** Messages a listing reads at most before it sorts (a listing never consumes, but each read hides a FIFO group briefly). */
const LIST_SCAN_MAX = 1000;

const list: CommandSpec = {
  name: 'dlq list',
  summary: 'list dead-lettered events (filter by instance, error class, age; sorted), without consuming them',
  usage: '[--instance ID] [--error CLASS] [--older-than AGE] [--newer-than AGE] [--sort age|instance|error|attempts] [--limit N]',
  details: `Columns: event id, instance, object, error class, attempts (every round, replays
included), age (since first seen), whether the instance changed since the failure, last error.
Error classes: http (http-4xx, http-5xx), ${ERROR_CLASSES.filter((c) => !c.startsWith('http')).join(', ')}.
AGE: 90s, 30m, 2h, 3d. Sorted oldest first unless --sort says otherwise; up to ${LIST_SCAN_MAX}
matching messages are read and sorted, then --limit are shown.
Messages are received with a ${PEEK_VISIBILITY_SECONDS}s visibility timeout and handed back immediately.
${FIFO_NOTE}`,
  options: {
    instance: { type: 'string', value: 'ID', description: 'only events of this instance' },
    error: { type: 'string', value: 'CLASS', description: 'only events whose last error is of this class (http, http-5xx, timeout, ...)' },
    'older-than': { type: 'string', value: 'AGE', description: 'only events first seen at least AGE ago (e.g. 2h)' },
    'newer-than': { type: 'string', value: 'AGE', description: 'only events first seen at most AGE ago' },
    sort: { type: 'string', value: 'KEY', description: 'age (oldest first, default), instance, error, attempts (most first)' },
    limit: { type: 'string', value: 'N', description: 'show at most N events (default 50)' },
  },
  async run(ctx) {
    const instance = optionString(ctx.values, 'instance');
    const errorMatches = parseErrorClass(optionString(ctx.values, 'error'));
    const ages = ageWindowOf({ olderThan: optionString(ctx.values, 'older-than'), newerThan: optionString(ctx.values, 'newer-than') });
    const sort = parseSort(optionString(ctx.values, 'sort'));
    const limit = parseLimit(optionString(ctx.values, 'limit'), 50);
    const now = ctx.now();
    const queues = await ctx.resources.queues();
    const visibleBefore = await visibleCount(queues);
    const progress = ctx.out.progress('reading DLQ');
    const result = await peekDeadLetters(queues.sqs, queues.deadLetterQueueUrl, {
      visibilitySeconds: PEEK_VISIBILITY_SECONDS,
      waitSeconds: waitSeconds(queues),
      limit: Math.max(limit, LIST_SCAN_MAX),
      match: (letter) =>
        (!instance || letter.instanceId === instance) &&
        (!errorMatches || errorMatches(letter.errorClass)) &&
        withinAge(letter.firstReceivedAt, ages, now),
      onProgress: (scanned) => progress.update(scanned),
    }).finally(() => progress.done());
    warnReleaseFailures(ctx, result.releaseFailures);
    warnIncompleteScan(ctx, result.scanned, visibleBefore, result.letters.length >= Math.max(limit, LIST_SCAN_MAX));
    const matching = [...result.letters].sort(SORTERS[sort]);
    const rows = matching.slice(0, limit);
    const change = changeOf(ctx);
    const changes = await Promise.all(rows.map(change));
    const changeByMessage = new Map(rows.map((row, i) => [row.messageId, changes[i]]));
    const classes = new Map<string, number>();
    for (const letter of matching) classes.set(letter.errorClass ?? '-', (classes.get(letter.errorClass ?? '-') ?? 0) + 1);
    const age = (letter: DeadLetter) => (letter.firstReceivedAt ? formatDuration(now.getTime() - Date.parse(letter.firstReceivedAt)) : undefined);
    ctx.out.result(
      {
        scanned: result.scanned,
        matching: matching.length,
        byErrorClass: Object.fromEntries(classes),
        events: rows.map((letter) => ({ ...deadLetterView(letter, false), configSinceFailure: changeByMessage.get(letter.messageId) })),
      },
      () => {
        if (rows.length === 0) return `No dead-lettered events${instance || errorMatches || ages.olderThanMs || ages.newerThanMs ? ' match' : ''} (${result.scanned} message(s) read).\n`;
        const first = rows[0].eventId ?? '<EVENT_ID>';
        return (
          renderTable<DeadLetter>(
            [
              ...LETTER_COLUMNS,
              { header: 'ERROR', value: (r) => r.errorClass },
              { header: 'ATTEMPTS', value: (r) => r.attempts, align: 'right' },
              { header: 'AGE', value: age, align: 'right' },
              { header: 'CONFIG', value: (r) => changeByMessage.get(r.messageId) },
              LAST_ERROR_COLUMN,
            ],
            rows,
          ) +
          `${rows.length} of ${matching.length} event(s)${rows.length < matching.length ? ` (--limit ${limit}; --limit for more)` : ''}; ` +
          `by error: ${[...classes].map(([name, count]) => `${name} ${count}`).join(', ')}.\n` +
          `Next: ecwid-events dlq show ${first}   then   ecwid-events dlq replay --event ${first} --wait\n`
        );
      },
    );
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
    // The instance as it is now, and whether it changed since the failure: what a replay would meet.
    const change = await changeOf(ctx)(letter);
    let callbackUrl: string | undefined;
    let enabled: boolean | undefined;
    if (letter.instanceId && change !== 'deleted') {
      try {
        const instance = await (await ctx.resources.instances()).get(letter.instanceId);
        if (instance) {
          const config = configOf(instance);
          callbackUrl = config.callbackUrl === undefined ? undefined : redactCallbackUrl(config.callbackUrl);
          enabled = config.notificationsEnabled;
        }
      } catch (error) {
        ctx.out.warn(`instance ${letter.instanceId} could not be read: ${oneLine(error)}`);
      }
    }
    const shownId = letter.eventId ?? '<EVENT_ID>';
    const advice =
      change === 'unchanged'
        ? `The instance has not changed since the failure. Fix the cause (the receiver, or "ecwid-events instances update ${letter.instanceId} --set KEY=VALUE"), then:\n  ecwid-events dlq replay --event ${shownId} --wait   (add --force if the cause was fixed outside the configuration)`
        : change === 'deleted'
          ? `The instance no longer exists: a replay would be dropped. Purge it, or recreate the instance first.`
          : `Replay it and watch the outcome:\n  ecwid-events dlq replay --event ${shownId} --wait`;
    ctx.out.result(
      {
        ...deadLetterView(letter, true),
        configSinceFailure: change,
        instance: { callbackUrl, enabled },
        ...(ledgerEntry ? { ledgerAttempts: ledgerEntry.attempts } : {}),
      },
      () =>
        renderPairs([
          ['event id', letter.eventId],
          ['instance', letter.instanceId],
          ['object', letter.objectType ? `${letter.objectType}/${letter.objectId}` : undefined],
          ['ecwid type', letter.ecwidEventType],
          ['normalized type', letter.event?.eventType],
          ['store', letter.event?.storeId],
          ['source', letter.event?.source],
          ['error class', letter.errorClass],
          ['last error', letter.lastError],
          ['attempts', letter.replays ? `${letter.attempts} (${letter.roundAttempts ?? 0} since replay ${letter.replays})` : letter.attempts],
          ['first seen', letter.firstReceivedAt],
          ['last attempt', letter.lastAttemptAt],
          ['in DLQ since', letter.sentAt],
          ['callback URL', callbackUrl],
          ['enabled', enabled],
          ['config since failure', change],
          ['message group', letter.groupId],
          ['message id', letter.messageId],
        ]) +
        attempts +
        `\n${letter.event ? 'event' : `body (${letter.bodyProblem})`}:\n${letter.event ? JSON.stringify(letter.event, null, 2) : letter.body}\n` +
        `\n${advice}\n`,
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
  summary: 'move dead-lettered events back to the queue for another round of attempts (--wait: watch them)',
  usage: '(--all | --event ID... | --instance ID) [--error CLASS] [--dry-run] [--force] [--wait [--timeout S]] [--move-task]',
  details: `No loss: each message is deleted from the DLQ only after the main queue accepted its copy;
anything not moved is handed back. The copy keeps the FIFO message group and the event, with its
history added (attempts so far, first seen, replay count), so a copy that fails again shows every
attempt; its deduplication id gets a per-run replay suffix, because the main queue silently drops
a message whose dedup id it saw in the last 5 minutes (a quick replay would otherwise vanish).
Events whose instance has not changed since they failed are held back with a warning (they would
most likely fail the same way): fix the cause first, or pass --force (e.g. the receiver was down
and is back). --wait watches each replayed event until it is delivered or dead-lettered again
(exit 0 all delivered, 3 some failed again, 4 timeout), with a status line as the queues change.
--move-task (with --all --force, on AWS): use an SQS message move task instead (fast for big
DLQs; no configuration check, no history); SQS then keeps its own dedup handling, so use it for
messages older than 5 minutes. When the task cannot be started (emulators, permissions) the
replay goes message by message.
${FIFO_NOTE}`,
  options: {
    all: { type: 'boolean', description: 'every message' },
    event: { type: 'string', multiple: true, value: 'ID', description: 'the event with this id (repeatable)' },
    instance: { type: 'string', value: 'ID', description: 'every event of this instance' },
    error: { type: 'string', value: 'CLASS', description: 'with --all or --instance: only events whose last error is of this class' },
    'dry-run': { type: 'boolean', description: 'only list what would be replayed' },
    force: { type: 'boolean', description: 'replay even when the instance has not changed since the failure' },
    wait: { type: 'boolean', description: 'watch until each event is delivered or fails again' },
    timeout: { type: 'string', value: 'S', description: 'seconds --wait watches (default 120)' },
    'move-task': { type: 'boolean', description: 'with --all --force: try StartMessageMoveTask first' },
  },
  async run(ctx) {
    const all = optionBoolean(ctx.values, 'all');
    const events = new Set(optionList(ctx.values, 'event'));
    const instance = optionString(ctx.values, 'instance');
    const dryRun = optionBoolean(ctx.values, 'dry-run');
    const force = optionBoolean(ctx.values, 'force');
    const wait = optionBoolean(ctx.values, 'wait');
    const errorMatches = parseErrorClass(optionString(ctx.values, 'error'));
    const timeoutText = optionString(ctx.values, 'timeout');
    const timeoutMs = (timeoutText === undefined ? 120 : parseLimit(timeoutText, 120)) * 1000;
    const chosen = [all, events.size > 0, instance !== undefined].filter(Boolean).length;
    if (chosen !== 1) throw new UsageError('choose exactly one of --all, --event ID..., --instance ID', 'dlq replay');
    if (errorMatches && events.size > 0) throw new UsageError('--error goes with --all or --instance, not --event', 'dlq replay');
    const moveTaskWanted = optionBoolean(ctx.values, 'move-task');
    if (moveTaskWanted && !all) throw new UsageError('--move-task works only with --all', 'dlq replay');
    if (moveTaskWanted && !force) throw new UsageError('--move-task moves every message without checking the instances: add --force', 'dlq replay');
    if (moveTaskWanted && (wait || errorMatches)) throw new UsageError('--move-task cannot --wait or filter by --error', 'dlq replay');
    if (wait && dryRun) throw new UsageError('--wait has nothing to watch with --dry-run', 'dlq replay');

    const queues = await ctx.resources.queues();
    if (all && !dryRun && moveTaskWanted && (await moveTask(ctx, queues))) return;

    const wanted = all
      ? () => true
      : events.size > 0
        ? (letter: DeadLetter) => letter.eventId !== undefined && events.has(letter.eventId)
        : (letter: DeadLetter) => letter.instanceId === instance;
    const change = changeOf(ctx);
    const heldBack: DeadLetter[] = [];
    const select = async (letter: DeadLetter) => {
      if (!wanted(letter) || (errorMatches && !errorMatches(letter.errorClass))) return false;
      if (!force && (await change(letter)) === 'unchanged') {
        heldBack.push(letter);
        return false;
      }
      return true;
    };
    const runId = String(ctx.now().getTime());
    const visibleBefore = await visibleCount(queues);
    const progress = ctx.out.progress(dryRun ? 'scanning' : 'replaying');
    const result = await replayDeadLetters(queues.sqs, {
      queueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      visibilitySeconds: REPLAY_VISIBILITY_SECONDS,
      waitSeconds: waitSeconds(queues),
      select,
      dryRun,
      runId,
      onProgress: ({ scanned, replayed }) => progress.update(replayed, scanned),
    }).finally(() => progress.done());
    warnReleaseFailures(ctx, result.releaseFailures);
    if (heldBack.length > 0) ctx.out.warn(unchangedWarning(dryRun ? 'going to replay' : 'replayed', heldBack));

    // Replayed messages unlock their group, so only held (unselected) ones can hide others.
    warnIncompleteScan(ctx, result.scanned, visibleBefore, false);
    const found = (id: string) => result.replayed.some((letter) => letter.eventId === id) || heldBack.some((letter) => letter.eventId === id);
    const missing = [...events].filter((id) => !found(id));
    const movedBack = result.replayed.filter((letter) => !result.failed.some((failure) => failure.letter === letter));

    let outcomes: Awaited<ReturnType<typeof watchEvents>>['outcomes'] = [];
    let waitedMs = 0;
    const watchable = movedBack.filter((letter) => letter.eventId && letter.instanceId && letter.event);
    if (wait && !dryRun && watchable.length > 0) {
      const watched = await watchEvents(
        ctx,
        queues,
        watchable.map((letter) => ({ eventId: letter.eventId!, instanceId: letter.instanceId!, replayRun: runId })),
        { timeoutMs, intervalMs: 1000, onStatus: (status) => ctx.out.note(status) },
      );
      outcomes = watched.outcomes;
      waitedMs = watched.waitedMs;
    }
    const summary = {
      dryRun,
      method: 'message-by-message',
      scanned: result.scanned,
      replayed: result.replayed.map((letter) => letter.eventId ?? letter.messageId),
      failed: result.failed.map(({ letter, reason }) => ({ eventId: letter.eventId, messageId: letter.messageId, reason })),
      notFound: missing,
      heldBack: heldBack.map((letter) => ({ eventId: letter.eventId, instanceId: letter.instanceId, reason: 'instance unchanged since the failure' })),
      ...(wait
        ? {
            waitedMs,
            outcomes: outcomes.map(({ target, outcome, letter }) => ({
              eventId: target.eventId,
              instanceId: target.instanceId,
              outcome,
              ...(letter ? { attempts: letter.attempts, lastError: letter.lastError, errorClass: letter.errorClass } : {}),
            })),
          }
        : {}),
    };
    ctx.out.result(summary, () => {
      const verb = dryRun ? 'Would replay' : 'Replayed';
      const lines = [`${verb} ${result.replayed.length} of ${result.scanned} dead-lettered message(s)${heldBack.length ? `; ${heldBack.length} held back (instance unchanged; --force replays them)` : ''}.`];
      if (dryRun && result.replayed.length > 0) {
        lines.push(renderTable<DeadLetter>([...LETTER_COLUMNS, LAST_ERROR_COLUMN], result.replayed).trimEnd());
      }
      for (const { letter, reason } of result.failed) lines.push(`not replayed: ${letter.eventId ?? letter.messageId}: ${reason}`);
      if (missing.length > 0) lines.push(`not found in the DLQ: ${missing.join(', ')}`);
      if (outcomes.length > 0) {
        lines.push(
          renderTable(
            [
              { header: 'EVENT ID', value: (o: (typeof outcomes)[number]) => o.target.eventId },
              { header: 'INSTANCE', value: (o: (typeof outcomes)[number]) => o.target.instanceId },
              { header: 'OUTCOME', value: (o: (typeof outcomes)[number]) => (o.outcome === 'failed' ? 'failed again' : o.outcome) },
              { header: 'ATTEMPTS', value: (o: (typeof outcomes)[number]) => o.letter?.attempts, align: 'right' },
              { header: 'LAST ERROR', value: (o: (typeof outcomes)[number]) => truncate(o.letter?.lastError, 60) },
            ],
            outcomes,
          ).trimEnd(),
          `(watched ${formatDuration(waitedMs)}; "delivered" = left the queue without reaching the DLQ again)`,
        );
      }
      return `${lines.join('\n')}\n`;
    });
    // The summary is already printed (stdout stays one JSON document): only the reason and the code.
    if (result.failed.length > 0) {
      return ctx.out.fail(`${result.failed.length} message(s) could not be replayed; they are still in the dead-letter queue`);
    }
    if (missing.length > 0) return ctx.out.fail(`event(s) not found in the dead-letter queue: ${missing.join(', ')}`);
    const failedAgain = outcomes.filter((o) => o.outcome === 'failed').length;
    const timedOut = outcomes.filter((o) => o.outcome === 'timeout').length;
    if (failedAgain > 0) return ctx.out.fail(`${failedAgain} replayed event(s) failed again and are back in the dead-letter queue`, EXIT.eventFailed);
    if (timedOut > 0) return ctx.out.fail(`${timedOut} replayed event(s) had no outcome after ${formatDuration(waitedMs)}`, EXIT.timeout);
    if (heldBack.length > 0) return ctx.out.fail(`${heldBack.length} event(s) held back: their instance has not changed since they failed (--force replays them)`);
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
