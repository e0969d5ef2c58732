/**
 * `test-event ID`: posts a realistic, correctly signed notification for one instance through
 * the real ingest endpoint, then watches the queues until the event is delivered, lands in the
 * dead-letter queue, or the timeout ends.
 */
import { randomBytes } from 'node:crypto';
import { INGEST_ROUTE } from '../../functions/contract';
import { assertInstanceId, configOf, scrubSecrets, secretValuesOf } from '../../functions/core/instance';
import { optionBoolean, optionString, type CommandContext, type CommandSpec } from '../command';
import { type DeadLetter } from '../dead-letters';
import { watchEvents } from '../watch';
import { instanceIngestUrl, type Queues } from '../environment';
import { CliError, EXIT, UsageError, oneLine } from '../errors';
import { formatDuration } from '../output';
import { assertTestEventType, buildTestRequest } from '../test-events';
import { loadInstance } from './instances';

export type TestOutcome = 'queued' | 'delivered' | 'failed' | 'timeout' | 'not-queued' | 'rejected';

export interface WatchResult {
  readonly outcome: 'delivered' | 'failed' | 'timeout';
  readonly letter?: DeadLetter;
  readonly waitedMs: number;
}

/** Watches one event: see watchEvents. */
export async function watchEvent(
  ctx: Pick<CommandContext, 'sleep' | 'now'>,
  queues: Queues,
  target: { eventId: string; instanceId: string },
  options: { timeoutMs: number; intervalMs: number; onStatus?: (status: string) => void },
): Promise<WatchResult> {
  const { outcomes, waitedMs } = await watchEvents(ctx, queues, [target], options);
  return { outcome: outcomes[0].outcome, letter: outcomes[0].letter, waitedMs };
}

function parseTimeout(text: string | undefined): number {
  if (text === undefined) return 60_000;
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1) throw new UsageError(`--timeout must be whole seconds (1-99999), got "${text.slice(0, 20)}"`, 'test-event');
  return Number(text) * 1000;
}

const testEvent: CommandSpec = {
  name: 'test-event',
  summary: 'send a signed test notification through the real endpoint and watch it get delivered',
  usage: 'ID [--type TYPE] [--order-id N] [--timeout SECONDS] [--no-wait]',
  details: `TYPE: new_order or order_status_change (legacy ION form posts, unsigned), or a modern
webhook type such as order.created, order.updated, product.updated (JSON, signed with the
instance's ecwid.client.secret). Default: order.created when the instance has a client secret,
else new_order. The request goes to the per-instance URL ...${INGEST_ROUTE}/ID.
Deliver verifies events through the Ecwid API: a made-up order may be dropped as unverifiable
("delivered" below means it left the queue without reaching the DLQ); --order-id uses a
real order. Watching: the DLQ is peeked for the event id and the main queue's counts are
polled until it empties; on a busy queue that may not happen before --timeout.
Exit codes: 0 delivered, 1 rejected or not queued, 3 ended in the DLQ, 4 timed out.`,
  positionals: { min: 1, max: 1 },
  options: {
    type: { type: 'string', value: 'TYPE', description: 'Ecwid event type (default order.created or new_order)' },
    'order-id': { type: 'string', value: 'N', description: 'order number to put in the event' },
    timeout: { type: 'string', value: 'SECONDS', description: 'how long to watch (default 60)' },
    'no-wait': { type: 'boolean', description: 'only send it; do not watch the queues' },
  },
  async run(ctx) {
    const id = ctx.positionals[0];
    assertInstanceId(id);
    const timeoutMs = parseTimeout(optionString(ctx.values, 'timeout'));
    const instance = await loadInstance(ctx, id);
    const { storeId, clientSecret } = configOf(instance);
    if (!storeId) throw new CliError(`instance ${id} has no ecwid.store.id`);
    const type = optionString(ctx.values, 'type') ?? (clientSecret ? 'order.created' : 'new_order');
    try {
      assertTestEventType(type);
    } catch (error) {
      throw new UsageError(oneLine(error), 'test-event');
    }
    let request;
    try {
      request = buildTestRequest({ type, storeId, now: ctx.now(), nonce: randomBytes(8).toString('hex'), orderId: optionString(ctx.values, 'order-id'), clientSecret });
    } catch (error) {
      throw new CliError(oneLine(error));
    }

    const url = `${instanceIngestUrl(await ctx.resources.ingestUrl(), id)}${request.query}`;
    ctx.out.note(`POST ${url} (${request.kind === 'ion' ? 'ION form post' : `signed webhook ${type}`})`);
    let status: number;
    let answer: Record<string, unknown> = {};
    try {
      const response = await fetch(url, { method: 'POST', headers: request.headers, body: request.body, signal: AbortSignal.timeout(15_000) });
      status = response.status;
      const text = await response.text();
      try {
        answer = JSON.parse(text) as Record<string, unknown>;
      } catch {
        answer = { body: text.slice(0, 200) };
      }
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      throw new CliError(`cannot reach ${url}: ${cause ?? oneLine(error)}`);
    }
    const eventId = typeof answer.eventId === 'string' ? answer.eventId : request.eventId;
    const queued = typeof answer.queued === 'number' ? answer.queued : 0;
    const report = (outcome: TestOutcome, extra: Record<string, unknown> = {}) => ({ instanceId: id, type, url, eventId, http: { status, body: answer }, outcome, ...extra });

    if (status < 200 || status > 299) {
      const message = typeof (answer as { error?: unknown }).error === 'string' ? (answer as { error: string }).error : JSON.stringify(answer).slice(0, 200);
      ctx.out.result(report('rejected'), () => `Rejected by ingest: HTTP ${status}: ${message}\n`);
      return ctx.out.fail(`ingest answered HTTP ${status}`);
    }
    if (queued === 0 || !eventId) {
      ctx.out.result(report('not-queued'), () => `Accepted (HTTP ${status}) but not queued: ${String(answer.message ?? 'no reason given').replace(/^not queued: /, '')}\n`);
      return ctx.out.fail('the event was not queued');
    }
    ctx.out.note(`Queued: HTTP ${status}, event ${eventId}.`);
    if (optionBoolean(ctx.values, 'no-wait')) {
      ctx.out.result(report('queued', { watched: false }), () => `Queued event ${eventId} (not watched).\n`);
      return EXIT.ok;
    }

    const queues = await ctx.resources.queues();
    const watched = await watchEvent(ctx, queues, { eventId, instanceId: id }, {
      timeoutMs,
      intervalMs: 1000,
      onStatus: (line) => ctx.out.note(line),
    });
    const waited = formatDuration(watched.waitedMs);
    if (watched.outcome === 'failed') {
      // deliver's error text should hold no secret; scrub the instance's own anyway.
      const scrub = (text: string | undefined) =>
        text === undefined ? undefined : scrubSecrets(text, secretValuesOf(instance), '****');
      const letter = { ...(watched.letter as DeadLetter), lastError: scrub(watched.letter?.lastError) };
      ctx.out.result(report('failed', { attempts: letter.attempts, lastError: letter.lastError, waitedMs: watched.waitedMs }), () =>
        `FAILED: event ${eventId} is in the dead-letter queue after ${letter.attempts ?? '?'} attempt(s): ${letter.lastError ?? 'no error recorded'}\nReplay it with: ecwid-events dlq replay --event ${eventId}\n`,
      );
      return ctx.out.fail(`event ${eventId} ended in the dead-letter queue`, EXIT.eventFailed);
    }
    if (watched.outcome === 'timeout') {
      ctx.out.result(report('timeout', { waitedMs: watched.waitedMs }), () =>
        `No outcome after ${waited}: event ${eventId} is still queued or being retried (see "ecwid-events queues").\n`,
      );
      return ctx.out.fail(`timed out after ${waited}`, EXIT.timeout);
    }
    ctx.out.result(report('delivered', { waitedMs: watched.waitedMs }), () =>
      `Delivered: event ${eventId} left the queue without reaching the DLQ (${waited}). (An event deliver could not verify is dropped the same way: see its logs.)\n`,
    );
    return EXIT.ok;
  },
};

export const TEST_EVENT_COMMANDS: readonly CommandSpec[] = [testEvent];
