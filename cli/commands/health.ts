/**
 * `instances pause|resume|health`: the receiver health records (docs/health.md), kept as items of
 * the event ledger table, so these commands need the ledger (`--stack`, `--local`, or
 * `--dynamodb-endpoint` with `--ledger-table`).
 */
import { HttpCallbackSender } from '../../functions/adapters/http/callback-sender';
import type { HealthNotice } from '../../functions/core/health';
import { setPaused } from '../../functions/core/health-flow';
import { sendNotices, type NoticeDelivery } from '../../functions/core/health-notices';
import type { Instance } from '../../functions/core/instance';
import { NO_TELEMETRY } from '../../functions/core/ports';
import { assertInstanceId, configOf } from '../../functions/core/instance';
import { wakeHeld, type TicketQueue } from '../../functions/core/ledger-flow';
import type { CommandContext, CommandSpec } from '../command';
import { healthCell, healthView, lastHourText, type HealthView } from '../health-view';
import { formatDuration, renderPairs, renderTable } from '../output';
import { healthStoreOf, loadInstance } from './instances';

const pause: CommandSpec = {
  name: 'instances pause',
  summary: 'hold an instance\'s events (not attempted, not dropped) until "instances resume"',
  usage: 'ID',
  details: `Deliveries to the instance's callback stop; its events stay queued in the ledger,
attempts unused, and go out in their order after "instances resume ID". Ingest keeps
accepting them. "instances disable" is different: ingest then drops new events.`,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = ctx.positionals[0];
    const instance = await loadInstance(ctx, id);
    const next = await setPaused(id, true, { store: await healthStoreOf(ctx), clock: ctx.now });
    const notices = await announce(ctx, next.notices, instance);
    ctx.out.result({ id, state: next.state, since: next.stateAt, notices: notices.map(noticeSummary) }, () =>
      [`Instance ${id} paused: its events are held (not attempted, not dropped) until "instances resume ${id}".`, ...notices.map(noticeLine), ''].join('\n'),
    );
  },
};

const resume: CommandSpec = {
  name: 'instances resume',
  summary: 'deliver again after a pause, an open circuit or an automatic disable (held events go out in order)',
  usage: 'ID',
  details: `Sets the receiver healthy with a fresh failure count: held events go out in their order;
if the receiver is still down, the circuit breaker opens again after its threshold.
Events dropped while it was disabled are in the ledger: "events resend --instance ID".`,
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = ctx.positionals[0];
    const instance = await loadInstance(ctx, id);
    const store = await healthStoreOf(ctx);
    const before = (await store.get(id))?.state ?? 'healthy';
    const next = await setPaused(id, false, { store, clock: ctx.now });
    const woken = await wakeHeldEvents(ctx, id);
    const notices = await announce(ctx, next.notices, instance);
    const switchedOff = !configOf(instance).notificationsEnabled;
    if (switchedOff) ctx.out.warn(`instance ${id} is switched off ("instances disable"): ingest drops its events until "instances enable ${id}"`);
    const hints = before === 'disabled' ? [`Events dropped while it was disabled are kept in the ledger: "events resend --instance ${id}".`] : [];
    ctx.out.result({ id, previous: before, state: next.state, since: next.stateAt, woken, notices: notices.map(noticeSummary) }, () =>
      [
        `Instance ${id} resumed (was ${before}): deliveries go out in order${woken > 0 ? `; ${woken} held event${woken === 1 ? '' : 's'} queued now` : ''}.`,
        ...notices.map(noticeLine),
        ...hints,
        '',
      ].join('\n'),
    );
  },
};

/**
 * The operator's notice (`receiver.paused`, `receiver.resumed`), sent like deliver's: the stack's
 * notices topic and the instance's operational webhook, signed like its deliveries. Best effort:
 * the pause or resume is done whatever happens to it; what happened is printed.
 */
async function announce(ctx: CommandContext, notices: readonly HealthNotice[], instance: Instance): Promise<NoticeDelivery[]> {
  if (notices.length === 0) return [];
  return sendNotices(notices, instance, {
    topic: await ctx.resources.noticeTopic?.(),
    sender: new HttpCallbackSender({ timeoutMs: NOTICE_TIMEOUT_MS }),
    urlPolicy: await ctx.resources.callbackPolicy(),
    resolveHost: ctx.resources.resolveHost,
    clock: ctx.now,
    telemetry: NO_TELEMETRY,
  });
}

const NOTICE_TIMEOUT_MS = 10_000;

const noticeSummary = (delivery: NoticeDelivery) => ({
  type: delivery.notice.type,
  topic: delivery.topic,
  webhook: delivery.webhook,
  ...(delivery.webhookError ? { webhookError: delivery.webhookError } : {}),
});

function noticeLine(delivery: NoticeDelivery): string {
  const topic = delivery.topic === 'none' ? 'no notices topic' : `notices topic: ${delivery.topic}`;
  const webhook =
    delivery.webhook === 'none' ? 'no operational webhook' : `operational webhook: ${delivery.webhook}${delivery.webhookError ? ` (${delivery.webhookError})` : ''}`;
  return `Notice ${delivery.notice.type}: ${topic}; ${webhook}.`;
}

/**
 * Sends the held events of a resumed instance their tickets now (else they come back at their
 * recheck, up to 15 minutes later). The queue is only looked up if there is something to send.
 */
async function wakeHeldEvents(ctx: CommandContext, id: string): Promise<number> {
  if (!ctx.resources.ledger) return 0;
  const access = await ctx.resources.ledger();
  let queue: TicketQueue | undefined;
  const tickets: TicketQueue = { send: async (batch) => (queue ??= await access.tickets()).send(batch) };
  return wakeHeld(id, { ledger: access.ledger, tickets, clock: ctx.now });
}

function renderHealth(view: HealthView, now: Date): string {
  const ago = (iso: string | undefined) => (iso === undefined ? undefined : `${iso} (${formatDuration(now.getTime() - Date.parse(iso))} ago)`);
  const pairs: Array<[string, string | number | undefined]> = [
    ['instance', view.id],
    ['state', view.since ? `${view.state} since ${view.since}` : view.state],
    ['reason', view.reason],
    ['events', view.events],
    ['last success', ago(view.lastSuccessAt) ?? (view.recorded ? 'none' : 'no attempt recorded yet')],
    ['last failure', ago(view.lastFailureAt)],
    ['last error', view.lastError === undefined ? undefined : `${view.lastError}${view.lastHttpStatus ? ` (HTTP ${view.lastHttpStatus})` : ''}`],
    ['failures in a row', view.consecutiveFailures > 0 && view.firstFailureAt ? `${view.consecutiveFailures} since ${view.firstFailureAt}` : view.consecutiveFailures],
    ['success, last hour', lastHourText(view)],
  ];
  if (view.slow) {
    pairs.push(['slow', `since ${view.slow.since}: ${view.slow.inFlight} attempt(s) in flight, its other events held until one finishes`]);
  }
  if (view.circuit) {
    pairs.push(['circuit opened', view.circuit.openedAt], ['next probe', view.circuit.probeInFlight ? 'in flight' : view.circuit.nextProbeAt]);
  }
  return renderPairs(pairs);
}

const health: CommandSpec = {
  name: 'instances health',
  summary: 'receiver health: state, last success and failure, failures in a row, success rate over the last hour',
  usage: '[ID]',
  details: `Without ID, one line per instance. States: healthy, failing, circuit-open (events
held, one probe at a time), paused ("instances pause"), disabled (by "instances disable":
ingest drops; or automatically after failing too long: deliver drops, the ledger keeps them).`,
  positionals: { min: 0, max: 1 },
  async run(ctx) {
    const now = ctx.now();
    const store = await healthStoreOf(ctx);
    if (ctx.positionals.length === 1) {
      const id = ctx.positionals[0];
      assertInstanceId(id);
      const instance = await loadInstance(ctx, id);
      const view = healthView(instance, await store.get(id), now);
      ctx.out.result(view, () => renderHealth(view, now));
      return;
    }
    const repository = await ctx.resources.instances();
    const { instances, problems = [] } = await repository.list();
    for (const problem of problems) ctx.out.warn(`skipped ${problem.message}`);
    const records = await store.getMany(instances.map((instance) => instance.id));
    const views = instances.map((instance) => healthView(instance, records.get(instance.id), now));
    ctx.out.result(views, () =>
      views.length === 0
        ? `No instances in ${repository.location}.\n`
        : renderTable(
            [
              { header: 'ID', value: (v) => v.id },
              { header: 'STATE', value: healthCell },
              { header: 'SINCE', value: (v) => v.since ?? '' },
              { header: 'LAST SUCCESS', value: (v) => v.lastSuccessAt ?? '' },
              { header: 'LAST FAILURE', value: (v) => v.lastFailureAt ?? '' },
              { header: 'LAST HOUR', value: lastHourText },
            ],
            views,
          ),
    );
  },
};

export const HEALTH_COMMANDS: readonly CommandSpec[] = [pause, resume, health];
