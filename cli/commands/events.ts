/**
 * `events list|show|resend`: the event ledger (functions/core/ledger.ts): find any event by
 * instance, object, status or time, read every attempt, and send events again.
 */
import { LEDGER_TABLE } from '../../functions/contract';
import { isFinal, isLedgerStatus, LEDGER_STATUSES, orderKey, type LedgerEntry, type LedgerQuery } from '../../functions/core/ledger';
import { eventOf, resendEvent } from '../../functions/core/ledger-flow';
import { optionBoolean, optionString, type CommandContext, type CommandSpec } from '../command';
import type { LedgerAccess } from '../environment';
import { CliError, EXIT, UsageError } from '../errors';
import { renderPairs, renderTable, truncate, type Column } from '../output';
import { parseLimit } from './dlq';
import { renderAttempts } from '../ledger-view';
import { ageWindowOf, configChange, errorClassOf, memoizedChangeTimes, parseErrorClass, unchangedWarning } from '../triage';

async function ledgerOf(ctx: CommandContext): Promise<LedgerAccess> {
  if (!ctx.resources.ledger) throw new CliError('this system has no event ledger');
  return ctx.resources.ledger();
}

/** An ISO 8601 time (or a date), as the ledger stores times. */
function parseTime(option: string, text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--${option} must be a time like 2024-05-06T16:28:06Z or 2024-05-06, got "${text.slice(0, 40)}"`);
  return new Date(ms).toISOString();
}

function parseStatus(text: string | undefined) {
  if (text === undefined) return undefined;
  if (!isLedgerStatus(text)) throw new UsageError(`--status must be one of ${LEDGER_STATUSES.join(', ')}, got "${text.slice(0, 30)}"`);
  return text;
}

function parseObject(text: string | undefined): LedgerQuery['object'] {
  if (text === undefined) return undefined;
  const match = /^([^:\s]+):(\S+)$/.exec(text);
  if (!match) throw new UsageError(`--object must be TYPE:ID, e.g. order:124, got "${text.slice(0, 40)}"`);
  return { objectType: match[1], objectId: match[2] };
}

/** The search options shared by `list` and `resend`. */
function queryFrom(ctx: CommandContext): Omit<LedgerQuery, 'limit' | 'cursor'> {
  // --older-than / --newer-than are --until / --since relative to now (the stricter one wins).
  const ages = ageWindowOf({ olderThan: optionString(ctx.values, 'older-than'), newerThan: optionString(ctx.values, 'newer-than') });
  const ago = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ctx.now().getTime() - ms).toISOString());
  const later = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : a > b ? a : b);
  const earlier = (a: string | undefined, b: string | undefined) => (a === undefined ? b : b === undefined ? a : a < b ? a : b);
  const query = {
    instanceId: optionString(ctx.values, 'instance'),
    status: parseStatus(optionString(ctx.values, 'status')),
    object: parseObject(optionString(ctx.values, 'object')),
    since: later(parseTime('since', optionString(ctx.values, 'since')), ago(ages.newerThanMs)),
    until: earlier(parseTime('until', optionString(ctx.values, 'until')), ago(ages.olderThanMs)),
    eventType: optionString(ctx.values, 'type'),
  };
  if (query.since && query.until && query.since >= query.until) throw new UsageError('--since must be before --until');
  return query;
}

/**
 * A page of events, newest first. The ledger is searched per instance or per status; with
 * neither, or a status its status index leaves out (`received`, `delivered`), every instance is searched and
 * the newest are merged (no cursor: page with --until).
 */
/** Every stored instance id, unreadable ones included: their events are in the ledger too. */
async function everyInstanceId(ctx: CommandContext): Promise<string[]> {
  const { instances, problems = [] } = await (await ctx.resources.instances()).list();
  return [...instances.map((instance) => instance.id), ...problems.map((problem) => problem.id)];
}

async function search(
  ctx: CommandContext,
  access: LedgerAccess,
  query: Omit<LedgerQuery, 'limit' | 'cursor'>,
  limit: number,
  cursor?: string,
  keep: (entry: LedgerEntry) => boolean = () => true,
): Promise<{ entries: LedgerEntry[]; cursor?: string; merged: boolean }> {
  const statusIndexed = query.status !== undefined && !(LEDGER_TABLE.statusesNotIndexed as readonly string[]).includes(query.status);
  if (query.instanceId || (query.status && statusIndexed && !query.object)) {
    // A filter the ledger cannot apply (--error) reads on until the page is full.
    const entries: LedgerEntry[] = [];
    let next = cursor;
    do {
      const page = await access.ledger.list({ ...query, limit, cursor: next });
      entries.push(...page.entries.filter(keep));
      next = page.cursor;
    } while (next && entries.length < limit);
    return { entries: entries.slice(0, limit), cursor: next, merged: false };
  }
  if (cursor) throw new UsageError('--cursor needs the --instance or --status it was printed for');
  const instanceIds = await everyInstanceId(ctx);
  const pages = await Promise.all(instanceIds.map((instanceId) => access.ledger.list({ ...query, instanceId, limit })));
  const entries = pages
    .flatMap((p) => p.entries)
    .filter(keep)
    .sort((a, b) => (a.receivedAt === b.receivedAt ? (a.eventId < b.eventId ? 1 : -1) : a.receivedAt < b.receivedAt ? 1 : -1))
    .slice(0, limit);
  return { entries, merged: true };
}

/** What a listing shows of an entry (never the payload). */
function summary(entry: LedgerEntry) {
  const last = entry.attempts[entry.attempts.length - 1];
  return {
    instanceId: entry.instanceId,
    eventId: entry.eventId,
    receivedAt: entry.receivedAt,
    source: entry.source,
    ecwidEventType: entry.ecwidEventType,
    eventType: entry.eventType,
    object: `${entry.objectType}:${entry.objectId}`,
    status: entry.status,
    statusAt: entry.statusAt,
    attempts: entry.attemptCount,
    resendCount: entry.resendCount,
    ...(entry.nextAttemptAt ? { nextAttemptAt: entry.nextAttemptAt } : {}),
    ...(entry.blockedBy ? { blockedBy: entry.blockedBy } : {}),
    ...(entry.heldBy ? { heldBy: entry.heldBy } : {}),
    ...(entry.reason ? { reason: entry.reason } : {}),
    ...(entry.lastError ? { lastError: entry.lastError } : {}),
    ...(last?.httpStatus ? { lastHttpStatus: last.httpStatus } : {}),
    ...(entryErrorClass(entry) ? { errorClass: entryErrorClass(entry) } : {}),
  };
}

/** The class of an entry's last failure: the attempt's own class when it is one of ours, else from the text. */
function entryErrorClass(entry: LedgerEntry): string | undefined {
  const last = [...entry.attempts].reverse().find((attempt) => attempt.outcome !== 'delivered');
  if (!last && !entry.lastError) return undefined;
  if (last?.httpStatus) return last.httpStatus >= 500 ? 'http-5xx' : 'http-4xx';
  return errorClassOf(last?.error ?? entry.lastError) ?? last?.errorClass;
}

const SORTS = ['newest', 'oldest', 'instance', 'attempts'] as const;
const SORTERS: Readonly<Record<(typeof SORTS)[number], (a: LedgerEntry, b: LedgerEntry) => number>> = {
  newest: (a, b) => (a.receivedAt === b.receivedAt ? 0 : a.receivedAt < b.receivedAt ? 1 : -1),
  oldest: (a, b) => (a.receivedAt === b.receivedAt ? 0 : a.receivedAt < b.receivedAt ? -1 : 1),
  instance: (a, b) => a.instanceId.localeCompare(b.instanceId) || SORTERS.newest(a, b),
  attempts: (a, b) => b.attemptCount - a.attemptCount || SORTERS.newest(a, b),
};

function parseSort(text: string | undefined): (typeof SORTS)[number] {
  if (text === undefined) return 'newest';
  if (!(SORTS as readonly string[]).includes(text)) throw new UsageError(`--sort must be one of ${SORTS.join(', ')}, got "${text.slice(0, 20)}"`);
  return text as (typeof SORTS)[number];
}

const COLUMNS: readonly Column<LedgerEntry>[] = [
  { header: 'RECEIVED', value: (e) => e.receivedAt },
  { header: 'INSTANCE', value: (e) => e.instanceId },
  { header: 'EVENT ID', value: (e) => e.eventId },
  { header: 'TYPE', value: (e) => e.ecwidEventType },
  { header: 'OBJECT', value: (e) => `${e.objectType}:${e.objectId}` },
  { header: 'STATUS', value: (e) => (e.status === 'queued' && e.heldBy ? `queued (held: ${e.heldBy})` : e.status === 'queued' && e.blockedBy ? 'queued (waiting)' : e.status) },
  { header: 'ATTEMPTS', value: (e) => e.attemptCount, align: 'right' },
  { header: 'ERROR', value: (e) => entryErrorClass(e) },
  { header: 'DETAIL', value: (e) => truncate(e.reason ?? e.lastError ?? (e.nextAttemptAt ? `next attempt ${e.nextAttemptAt}` : undefined), 60) },
];

const SEARCH_OPTIONS = {
  instance: { type: 'string', value: 'ID', description: 'events of this instance' },
  status: { type: 'string', value: 'S', description: `${LEDGER_STATUSES.join(' | ')}` },
  since: { type: 'string', value: 'T', description: 'received at or after (ISO 8601 time or date)' },
  until: { type: 'string', value: 'T', description: 'received before' },
  object: { type: 'string', value: 'TYPE:ID', description: 'events of one object, e.g. order:124' },
  type: { type: 'string', value: 'T', description: "Ecwid's event type (order.created, new_order) or the normalized one (CREATED)" },
  'older-than': { type: 'string', value: 'AGE', description: 'received at least AGE ago (90s, 30m, 2h, 3d)' },
  'newer-than': { type: 'string', value: 'AGE', description: 'received at most AGE ago' },
} as const;

const list: CommandSpec = {
  name: 'events list',
  summary: 'search the event ledger, newest first',
  usage: '[--instance ID] [--status S] [--error CLASS] [--older-than AGE] [--newer-than AGE] [--since T] [--until T] [--object TYPE:ID] [--type T] [--sort KEY] [--limit N] [--cursor C]',
  details: `Every event each instance received, with its state and attempt count. Pages of --limit
(default 20); the next page's --cursor is printed after the table. Without --instance and
--status every instance is searched and the newest merged (page with --until instead).`,
  options: {
    ...SEARCH_OPTIONS,
    error: { type: 'string', value: 'CLASS', description: 'last failure of this class: http, http-4xx, http-5xx, timeout, connection, url-refused, ...' },
    sort: { type: 'string', value: 'KEY', description: 'newest (default), oldest, instance, attempts (most first); within the page' },
    limit: { type: 'string', value: 'N', description: 'events per page (default 20)' },
    cursor: { type: 'string', value: 'C', description: 'the next page, as printed by the previous one' },
  },
  async run(ctx) {
    const query = queryFrom(ctx);
    const limit = parseLimit(optionString(ctx.values, 'limit'), 20);
    const errorMatches = parseErrorClass(optionString(ctx.values, 'error'));
    const sort = parseSort(optionString(ctx.values, 'sort'));
    const keep = errorMatches ? (entry: LedgerEntry) => errorMatches(entryErrorClass(entry)) : undefined;
    const page = await search(ctx, await ledgerOf(ctx), query, limit, optionString(ctx.values, 'cursor'), keep);
    const entries = [...page.entries].sort(SORTERS[sort]);
    ctx.out.result({ events: entries.map(summary), ...(page.cursor ? { cursor: page.cursor } : {}) }, () => {
      if (entries.length === 0) return 'no events\n';
      let text = renderTable(COLUMNS, entries);
      if (page.cursor) text += `next page: --cursor ${page.cursor}\n`;
      else if (page.merged && page.entries.length === limit) text += `older events: --until ${page.entries[page.entries.length - 1].receivedAt}\n`;
      const failed = entries.find((e) => e.status === 'dead-lettered');
      if (failed) text += `Next: ecwid-events events show ${failed.eventId}   then   ecwid-events events resend ${failed.eventId} --wait\n`;
      return text;
    });
  },
};

/** Why deliver holds an event for its receiver (functions/core/health.ts's hold reasons, and the slots'). */
function heldText(heldBy: string): string {
  switch (heldBy) {
    case 'paused':
      return 'paused: its instance was paused (instances resume ID delivers it)';
    case 'circuit-open':
      return "circuit-open: its receiver kept failing, deliveries wait for a probe's success";
    case 'probe-in-flight':
      return "circuit-open: its receiver's probe is in flight";
    case 'receiver-slow':
      return 'receiver-slow: its receiver answers slowly; a few attempts at a time, the next goes when one finishes';
    case 'rate-limited':
      return "rate-limited: its receiver's rate or concurrency limit";
    default:
      return heldBy;
  }
}

/** The entry of EVENT_ID: of the named instance, else found among all instances. */
async function findEntry(ctx: CommandContext, access: LedgerAccess, eventId: string): Promise<LedgerEntry> {
  const instanceId = optionString(ctx.values, 'instance');
  if (instanceId) {
    const entry = await access.ledger.get(instanceId, eventId);
    if (!entry) throw new CliError(`no event ${eventId} for instance ${instanceId} in the ledger`);
    return entry;
  }
  const instanceIds = await everyInstanceId(ctx);
  const found = (await Promise.all(instanceIds.map((id) => access.ledger.get(id, eventId)))).filter((e): e is LedgerEntry => !!e);
  if (found.length === 0) throw new CliError(`no event ${eventId} in the ledger (of ${instanceIds.length} instances); pass --instance for a deleted instance`);
  if (found.length > 1) {
    throw new UsageError(`event ${eventId} went to ${found.length} instances (${found.map((e) => e.instanceId).join(', ')}): pass --instance`);
  }
  return found[0];
}

const show: CommandSpec = {
  name: 'events show',
  summary: 'one event: its normalized fields, source, state and every attempt',
  usage: 'EVENT_ID [--instance ID]',
  options: { instance: SEARCH_OPTIONS.instance },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const entry = await findEntry(ctx, await ledgerOf(ctx), ctx.positionals[0]);
    const event = eventOf(entry);
    ctx.out.result({ ...summary(entry), occurredAt: entry.occurredAt, storeId: entry.storeId, attemptsDetail: entry.attempts, event }, () => {
      const pairs: [string, string | number | undefined][] = [
        ['event id', entry.eventId],
        ['instance', entry.instanceId],
        ['store', entry.storeId],
        ['source', entry.source],
        ['Ecwid type', entry.ecwidEventType],
        ['normalized', `${entry.objectType}:${entry.objectId} ${entry.eventType}`],
        ['occurred', entry.occurredAt],
        ['received', entry.receivedAt],
        ['status', `${entry.status} since ${entry.statusAt}`],
        ['next attempt', entry.nextAttemptAt],
        ['waiting for', entry.blockedBy],
        ['held', entry.heldBy ? `${heldText(entry.heldBy)} (attempts unused; looked at again by ${entry.dueAt ?? 'its recovery'})` : undefined],
        ['reason', entry.reason ? `${entry.reason}${entry.detail ? `: ${entry.detail}` : ''}` : undefined],
        ['last error', entry.lastError],
        ['attempts', entry.attemptCount],
        ['resends', entry.resendCount],
      ];
      let text = renderPairs(pairs.filter(([, v]) => v !== undefined));
      if (entry.attempts.length > 0) text += '\n' + renderAttempts(entry);
      return text;
    });
  },
};

const resend: CommandSpec = {
  name: 'events resend',
  summary: 'send finished events again (one, several, or a whole window)',
  usage: 'EVENT_ID... [--instance ID] | --instance ID [--since T] [--until T] [--status S] [--dry-run] [--force] [--wait] [--timeout S]',
  details: `A resent event keeps its history and attempt count, gets a new round of attempts and a
resend count, and is delivered in order with the other events of its object. Only finished
events (delivered, dead-lettered, dropped, filtered) are resent; others are on their way.
A dead-lettered event whose instance has not changed since it failed is held back with a
warning (it would most likely fail the same way): fix the cause first, or pass --force.
--dry-run says how many and for which instances. --wait watches until each is finished
(exit 0 all delivered, 3 some not, 4 timeout).`,
  options: {
    ...SEARCH_OPTIONS,
    'dry-run': { type: 'boolean', description: 'only say what would be resent' },
    force: { type: 'boolean', description: 'resend even when the instance has not changed since the failure' },
    wait: { type: 'boolean', description: 'wait for the outcome' },
    timeout: { type: 'string', value: 'S', description: 'seconds --wait waits (default 120)' },
  },
  positionals: { min: 0, max: 1000 },
  async run(ctx) {
    const access = await ledgerOf(ctx);
    const ids = ctx.positionals;
    const query = queryFrom(ctx);
    let targets: LedgerEntry[];
    if (ids.length > 0) {
      if (query.status || query.since || query.until || query.object || query.eventType) {
        throw new UsageError('give EVENT_IDs or a window (--instance with --since/--until/--status), not both');
      }
      targets = [];
      for (const id of ids) targets.push(await findEntry(ctx, access, id));
    } else {
      if (!query.instanceId) throw new UsageError('name EVENT_IDs, or --instance ID with an optional window');
      targets = [];
      const progress = ctx.out.progress('finding events');
      let cursor: string | undefined;
      do {
        const page = await access.ledger.list({ ...query, limit: 1000, cursor });
        targets.push(...page.entries);
        cursor = page.cursor;
        progress.update(targets.length);
      } while (cursor);
      progress.done();
    }
    const final = targets.filter((e) => isFinal(e.status));
    const skipped = targets.filter((e) => !isFinal(e.status));
    // Dead-lettered into an instance that has not changed since: held back unless --force.
    const read = ctx.resources.instanceChangedAt;
    const changedAt = read ? memoizedChangeTimes((id) => read.call(ctx.resources, id)) : undefined;
    const heldBack: LedgerEntry[] = [];
    const finished: LedgerEntry[] = [];
    for (const entry of final) {
      const unchanged =
        !optionBoolean(ctx.values, 'force') &&
        entry.status === 'dead-lettered' &&
        changedAt !== undefined &&
        configChange(await changedAt(entry.instanceId), entry.statusAt) === 'unchanged';
      (unchanged ? heldBack : finished).push(entry);
    }
    if (heldBack.length > 0) ctx.out.warn(unchangedWarning('resending', heldBack));
    const instances = [...new Set(finished.map((e) => e.instanceId))].sort();
    if (optionBoolean(ctx.values, 'dry-run')) {
      ctx.out.result(
        {
          wouldResend: finished.length,
          instances,
          unfinished: skipped.map((e) => ({ instanceId: e.instanceId, eventId: e.eventId, status: e.status })),
          heldBack: heldBack.map((e) => ({ instanceId: e.instanceId, eventId: e.eventId })),
        },
        () =>
          `would resend ${finished.length} event(s) of ${instances.length} instance(s)${instances.length ? `: ${instances.join(', ')}` : ''}` +
          (skipped.length ? `; ${skipped.length} not finished (left alone)` : '') +
          '\n',
      );
      return;
    }
    const deps = { ledger: access.ledger, tickets: await access.tickets(), clock: ctx.now };
    const progress = ctx.out.progress('resending');
    const resent: LedgerEntry[] = [];
    // Oldest first: each event of an object is unfinished again before a later one is resent, so
    // deliver keeps their order (a later one resent first would go out ahead of the rest).
    const inArrivalOrder = [...finished].sort((a, b) => (orderKey(a) < orderKey(b) ? -1 : orderKey(a) > orderKey(b) ? 1 : 0));
    for (const [index, entry] of inArrivalOrder.entries()) {
      const result = await resendEvent(entry.instanceId, entry.eventId, deps);
      if (result.kind === 'resent') resent.push(result.entry);
      progress.update(index + 1, finished.length);
    }
    progress.done();
    for (const entry of skipped) ctx.out.warn(`${entry.eventId} (${entry.instanceId}) is ${entry.status}, not finished: not resent`);
    const heldBackFailure = () =>
      heldBack.length > 0 ? ctx.out.fail(`${heldBack.length} event(s) held back: their instance has not changed since they failed (--force resends them)`) : EXIT.ok;
    if (!optionBoolean(ctx.values, 'wait')) {
      ctx.out.result({ resent: resent.map(summary), heldBack: heldBack.map((e) => e.eventId) }, () => `resent ${resent.length} event(s)\n`);
      return heldBackFailure();
    }
    const timeoutText = optionString(ctx.values, 'timeout');
    const timeoutMs = (timeoutText === undefined ? 120 : parseLimit(timeoutText, 120)) * 1000;
    let current = resent;
    const waiting = ctx.out.progress('waiting');
    let lastStatus = '';
    // Counted in sleeps, not by the clock: the wait ends even if the clock does not move.
    for (let waited = 0; current.some((e) => !isFinal(e.status)) && waited < timeoutMs; waited += 1000) {
      await ctx.sleep(1000);
      current = await Promise.all(current.map(async (e) => (isFinal(e.status) ? e : ((await access.ledger.get(e.instanceId, e.eventId)) ?? e))));
      waiting.update(current.filter((e) => isFinal(e.status)).length, current.length);
      // A line per change, for logs and pipes (the bar above is drawn only on a terminal).
      const status = `${current.filter((e) => e.status === 'delivered').length} delivered, ${current.filter((e) => isFinal(e.status) && e.status !== 'delivered').length} failed again, ${current.filter((e) => !isFinal(e.status)).length} on their way (attempts: ${current.map((e) => e.attemptCount).join(', ')})`;
      if (status !== lastStatus) ctx.out.note(`[${Math.round((waited + 1000) / 1000)}s] ${status}`);
      lastStatus = status;
    }
    waiting.done();
    const open = current.filter((e) => !isFinal(e.status));
    const failed = current.filter((e) => isFinal(e.status) && e.status !== 'delivered');
    ctx.out.result({ resent: current.map(summary) }, () => renderTable(COLUMNS, current));
    if (open.length > 0) return ctx.out.fail(`${open.length} event(s) not finished after ${timeoutMs / 1000} s`, EXIT.timeout);
    if (failed.length > 0) return ctx.out.fail(`${failed.length} event(s) not delivered`, EXIT.eventFailed);
    return heldBackFailure();
  },
};

export const EVENT_COMMANDS: readonly CommandSpec[] = [list, show, resend];
