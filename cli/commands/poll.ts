/**
 * `instances poll ID [--since ISO]`: one poll of one instance now, the same poll the scheduled
 * poller runs (core/poll/run.ts pollOnce), under the same per-instance lease. With --since it
 * also backfills: changes since that time that no earlier poll covered are queued.
 */
import { randomBytes } from 'node:crypto';
import { SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import { EcwidPollClient } from '../../functions/adapters/http/ecwid-poll-client';
import type { PollOutcome } from '../../functions/core/poll/session';
import type { Telemetry } from '../../functions/core/ports';
import { pollOnce } from '../../functions/core/poll/run';
import { PollLeasedError, PollNotConfiguredError } from '../../functions/core/poll/errors';
import { pollConfigFrom } from '../../functions/config';
import { DEFAULTS, ENV } from '../../functions/contract';
import { optionString, type CommandContext, type CommandSpec } from '../command';
import { CliError, EXIT, UsageError } from '../errors';
import { assertInstanceId } from '../../functions/core/instance';
import { loadInstance } from './instances';
import { renderPairs } from '../output';

/** A CLI backfill may take long; the lease keeps the scheduled poller off the instance meanwhile. */
const CLI_LEASE_SECONDS = 3600;

/** `--since` as Unix seconds: an ISO 8601 date or date-time, not in the future. */
export function parseSince(text: string, now: Date): number {
  const ms = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim()) ? Date.parse(text.trim()) : Number.NaN;
  if (!Number.isFinite(ms)) throw new UsageError(`--since must be an ISO 8601 date or date-time, e.g. 2024-05-01 or 2024-05-01T12:00:00Z; got "${text.slice(0, 60)}"`, 'instances poll');
  if (ms > now.getTime()) throw new UsageError('--since is in the future', 'instances poll');
  return Math.floor(ms / 1000);
}

export function pollSummaryText(id: string, outcome: PollOutcome): string {
  const pairs: Array<[string, string | number | undefined]> = [
    ['instance', id],
    ['status', outcome.status],
    ['queued', outcome.queued],
    ['scanned', outcome.scanned],
    ['already queued', outcome.duplicates],
    ['reported by webhook', outcome.reportedByWebhook],
  ];
  for (const [type, cursor] of Object.entries(outcome.state.cursors)) {
    if (cursor) pairs.push([`${type} covered`, `${new Date(cursor.from * 1000).toISOString()} .. ${new Date(cursor.to * 1000).toISOString()}`]);
  }
  if (outcome.error) pairs.push(['error', outcome.error]);
  return renderPairs(pairs);
}

export const pollCommand: CommandSpec = {
  name: 'instances poll',
  summary: 'poll Ecwid for one instance now (--since backfills older changes); progress on stderr',
  usage: 'ID [--since ISO] [--ecwid-api URL]',
  details: `Runs the scheduled poller's poll for this instance once, now, under the same lease: if the
scheduled poller is polling this instance at this moment, the command says so and stops.
Changes are queued as normalized events (source "poll") and delivered like webhooks.
--since ISO also queues changes since that time that earlier polls did not cover. A backfill
sends the current state of each object changed in that span, whether or not a webhook
delivered it back then (nothing remembers webhooks that old).
In webhook mode (with or without event.poller.reconcile) only the backfill runs: the live
edge belongs to the scheduled poller, which knows which changes webhooks reported.
Needs ecwid.access.token (REST v3, read scopes) in the instance.`,
  positionals: { min: 1, max: 1 },
  options: {
    since: { type: 'string', value: 'ISO', description: 'also backfill changes since this date or date-time' },
    'ecwid-api': { type: 'string', value: 'URL', description: `Ecwid API base URL (default $${ENV.ecwidApiBaseUrl}, else ${DEFAULTS.ecwidApiBaseUrl})` },
  },
  async run(ctx: CommandContext) {
    const id = ctx.positionals[0];
    assertInstanceId(id);
    const sinceText = optionString(ctx.values, 'since');
    const sinceSeconds = sinceText === undefined ? undefined : parseSince(sinceText, ctx.now());

    const instance = await loadInstance(ctx, id);
    if (!ctx.resources.pollStates) throw new CliError('poll states are not available in this environment', EXIT.failure);
    const checkpoints = await ctx.resources.pollStates();
    const queues = await ctx.resources.queues();
    const baseUrl =
      optionString(ctx.values, 'ecwid-api') ?? (await ctx.resources.ecwidApiBaseUrl?.()) ?? pollConfigFrom(ctx.io.env).ecwidApiBaseUrl;

    const telemetry: Telemetry = {
      log: (level, message, attributes) => {
        if (level === 'info') return;
        const detail = attributes?.error ?? attributes?.problems;
        ctx.out.warn(`${message}${detail === undefined ? '' : ` (${String(detail)})`}`);
      },
      count: () => undefined,
    };
    const progress = ctx.out.progress(`polling ${id}`);
    let outcome: PollOutcome;
    try {
      outcome = await pollOnce(
        instance,
        { sinceSeconds, onProgress: (p) => progress.update(p.scanned, p.total) },
        {
          source: new EcwidPollClient({
            baseUrl,
            onRetry: ({ status, waitSeconds }) => ctx.out.note(`Ecwid answered ${status ?? 'nothing'}; waiting ${waitSeconds} s`),
          }),
          queue: new SqsEventQueue({ queueUrl: queues.queueUrl, client: queues.sqs }),
          checkpoints,
          clock: ctx.now,
          telemetry,
          owner: `cli-${process.pid}-${randomBytes(3).toString('hex')}`,
          leaseSeconds: CLI_LEASE_SECONDS,
        },
      );
    } catch (error) {
      if (error instanceof PollLeasedError || error instanceof PollNotConfiguredError) throw new CliError(error.message);
      throw error;
    } finally {
      progress.done();
    }
    ctx.out.result(
      {
        id,
        status: outcome.status,
        queued: outcome.queued,
        scanned: outcome.scanned,
        duplicates: outcome.duplicates,
        reportedByWebhook: outcome.reportedByWebhook,
        cursors: outcome.state.cursors,
        ...(outcome.error ? { error: outcome.error } : {}),
      },
      () => pollSummaryText(id, outcome),
    );
    return outcome.status === 'ok' ? EXIT.ok : EXIT.failure;
  },
};
