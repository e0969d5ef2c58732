/**
 * health group: isolation under load (issue 16). One receiver goes down while nine others stay
 * healthy; how much does that cost the healthy ones, and how much of the queue does it hold?
 *
 * What runs: the real deliver handler (createDeliverHandler: ledger flow, receiver gate with its
 * fair share of slots, breaker and time budget) with the real HTTP callback sender, POSTing to
 * local receivers over loopback. In process: the ledger and the health records (testkit's
 * MemoryLedger and a conditional-write memory store), the instances, and the SQS FIFO queue with
 * Lambda's event source: DELIVER_WORKERS containers, each with its own handler (its own slots, as
 * a Lambda container has), each taking batches of up to 10 visible messages, at most one
 * in-flight message group at a time per group (FIFO), deleting the batch when the handler answers
 * except the batch item failures; the ledger's sweep runs every second, as in the local runner.
 * The breaker and retry schedule are the stack's defaults.
 *
 * Phases of PHASE_SECONDS each, same run, the same arrivals (ARRIVALS_PER_SECOND over ten
 * instances, each event its own object), after a 5 s warm-up that is not measured: quiet (all answer in ~5 ms), then the tenth receiver
 * answering 503 at once ("down"), then answering only after 10 s ("slow": the callback timeout).
 *
 * - healthy_p99_ratio_during_outage: p99 of the healthy instances' delivery latency (event
 *   admitted -> the receiver has the request) during the worse outage phase / during the quiet
 *   phase. Goal <= 2.
 * - peak_inflight_fraction_during_outage: the most messages of the failing receiver in flight at
 *   once (received from the queue and not yet deleted: what SQS counts against a FIFO queue's
 *   120,000 in-flight cap) / 120,000.
 */
import { createServer, type Server } from 'node:http';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { TRACING_OFF } from '../functions/adapters/aws/tracing';
import { messageGroupId } from '../functions/adapters/aws/sqs-ids';
import { HttpCallbackSender } from '../functions/adapters/http/callback-sender';
import { localMachineResolver } from '../functions/adapters/http/host-resolver';
import { localCallbackUrlPolicy } from '../functions/config';
import { admit, sweep, type Ticket, type TicketQueue } from '../functions/core/ledger-flow';
import { DEFAULT_BREAKER_SETTINGS } from '../functions/core/health';
import { coalescingHealthStore } from '../functions/core/health-coalescing';
import type { EcwidApi, QueueMessage } from '../functions/core/ports';
import { createDeliverHandler, type DeliverHandler } from '../functions/deliver/handler';
import { queuedEvent } from '../testkit/events';
import { MemoryDeadLetterQueue, MemoryLedger } from '../testkit/ledger';
import { MemoryHealthStore, MemoryInstanceStore } from '../testkit/ports';
import { percentile, round, sleep, type Figures } from './support';

/** Lambda containers of the deliver function working at once (the stack allows up to 300; a small deployment). */
export const DELIVER_WORKERS = 20;
/** The stack's default deliveryMaxConcurrency: the same phases run again with this many containers. */
export const STACK_DELIVER_WORKERS = 300;
const ARRIVALS_PER_SECOND = 40;
/** BENCH_HEALTH_PHASE_SECONDS shortens it for a quick look (the figures then are not comparable). */
const PHASE_SECONDS = Number(process.env.BENCH_HEALTH_PHASE_SECONDS) || 20;
const INSTANCES = 10;
const FAILING = `shop-${INSTANCES - 1}`;
/** SQS: a FIFO queue holds at most 120,000 messages in flight. */
export const FIFO_INFLIGHT_CAP = 120_000;
const SLOW_ANSWER_MS = 10_000;

type Mode = 'up' | 'down' | 'slow';

/** Receivers on one loopback server: /<instance>; arrival times by delivery id. */
async function startReceivers(mode: () => Mode): Promise<{ origin: string; arrivals: Map<string, number>; close(): Promise<void> }> {
  const arrivals = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const id = String(req.headers['webhook-id'] ?? req.headers['elements-webhook-id'] ?? '');
    const failing = req.url === `/${FAILING}`;
    req.resume();
    req.on('end', () => {
      const current = failing ? mode() : 'up';
      if (current === 'down') {
        res.writeHead(503).end();
        return;
      }
      const answer = () => {
        if (!arrivals.has(id)) arrivals.set(id, performance.now());
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      };
      if (current === 'slow') setTimeout(answer, SLOW_ANSWER_MS).unref();
      else setTimeout(answer, 5);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    arrivals,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Message {
  readonly id: string;
  readonly groupId: string;
  readonly instanceId: string;
  readonly body: string;
  receiveCount: number;
  visibleAt: number;
}

/** The FIFO queue and its in-flight accounting (per instance, for attribution). */
class FifoQueueModel implements TicketQueue {
  private readonly waiting: Message[] = [];
  private readonly inFlight = new Map<string, Message>();
  private readonly inFlightGroups = new Set<string>();
  private readonly inFlightOf = new Map<string, number>();
  private sequence = 0;
  peakOf = new Map<string, number>();
  private waiters: (() => void)[] = [];

  async send(tickets: readonly Ticket[]): Promise<void> {
    for (const { event } of tickets) {
      this.waiting.push({ id: `m${++this.sequence}`, groupId: messageGroupId(event), instanceId: event.instanceId, body: JSON.stringify(event), receiveCount: 0, visibleAt: 0 });
    }
    this.notify();
  }

  /**
   * An idle poller waits here: until a message is sent, settled or released, or `ms` (messages
   * whose visibility returns). Hundreds of pollers each sleeping 10 ms would spend the CPU the
   * handlers need.
   */
  waitForWork(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Up to 10 visible messages, oldest first, none of a group already in flight or held back (FIFO order). */
  receive(): Message[] {
    const now = performance.now();
    const batch: Message[] = [];
    const heldBack = new Set<string>();
    for (let i = 0; i < this.waiting.length && batch.length < 10; ) {
      const message = this.waiting[i];
      if (this.inFlightGroups.has(message.groupId) || heldBack.has(message.groupId) || message.visibleAt > now) {
        heldBack.add(message.groupId);
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      message.receiveCount++;
      batch.push(message);
      this.inFlight.set(message.id, message);
      this.inFlightGroups.add(message.groupId);
      const count = (this.inFlightOf.get(message.instanceId) ?? 0) + 1;
      this.inFlightOf.set(message.instanceId, count);
      if (count > (this.peakOf.get(message.instanceId) ?? 0)) this.peakOf.set(message.instanceId, count);
    }
    return batch;
  }

  /** The handler answered: delete all but the failures, which become visible again after `returnMs`. */
  settle(batch: readonly Message[], failed: ReadonlySet<string>, returnMs: number): void {
    for (const message of batch) {
      this.inFlight.delete(message.id);
      this.inFlightGroups.delete(message.groupId);
      this.inFlightOf.set(message.instanceId, (this.inFlightOf.get(message.instanceId) ?? 1) - 1);
      if (failed.has(message.id)) {
        message.visibleAt = performance.now() + returnMs;
        this.waiting.unshift(message);
      }
    }
    // Its groups are free again: their next messages may go.
    this.notify();
  }

  release(ids: readonly string[]): void {
    for (const message of this.waiting) if (ids.includes(message.id)) message.visibleAt = 0;
    this.notify();
  }

  resetPeaks(): void {
    this.peakOf = new Map(this.inFlightOf);
  }

  get depth(): number {
    return this.waiting.length + this.inFlight.size;
  }
}

const NO_ECWID: EcwidApi = {
  getLegacyOrder: () => Promise.reject(new Error('not used')),
  getLegacyProduct: () => Promise.reject(new Error('not used')),
  getEntity: () => Promise.reject(new Error('not used')),
};
const SILENT = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const NO_METRICS = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

const lambdaContext = (timeoutMs: number): Context => {
  const deadline = Date.now() + timeoutMs;
  return { awsRequestId: 'bench', getRemainingTimeInMillis: () => deadline - Date.now() } as unknown as Context;
};

interface Isolation {
  readonly quiet: number;
  readonly ratios: Record<'down' | 'slow', number>;
  readonly peaks: Record<'down' | 'slow', number>;
}

export async function benchHealth(log: (line: string) => void): Promise<Figures> {
  const small = await isolation(DELIVER_WORKERS, log);
  const figures: Figures = {
    healthy_p99_quiet_ms: round(small.quiet, 1),
    healthy_p99_ratio_receiver_down: round(small.ratios.down, 2),
    healthy_p99_ratio_receiver_slow: round(small.ratios.slow, 2),
    healthy_p99_ratio_during_outage: round(Math.max(small.ratios.down, small.ratios.slow), 2),
    peak_inflight_messages_failing_receiver: Math.max(small.peaks.down, small.peaks.slow),
    peak_inflight_fraction_during_outage: Number((Math.max(small.peaks.down, small.peaks.slow) / FIFO_INFLIGHT_CAP).toExponential(2)),
  };
  // BENCH_HEALTH_STACK_SCALE=0 leaves out the run at the stack's concurrency (it doubles the time).
  if (process.env.BENCH_HEALTH_STACK_SCALE === '0') return figures;
  const stack = await isolation(STACK_DELIVER_WORKERS, log);
  return {
    ...figures,
    healthy_p99_quiet_ms_stack_concurrency: round(stack.quiet, 1),
    healthy_p99_ratio_during_outage_stack_concurrency: round(Math.max(stack.ratios.down, stack.ratios.slow), 2),
    peak_inflight_messages_failing_receiver_stack_concurrency: Math.max(stack.peaks.down, stack.peaks.slow),
  };
}

/** One run of the phases with `workers` deliver containers. */
async function isolation(workers: number, log: (line: string) => void): Promise<Isolation> {
  let mode: Mode = 'up';
  const receivers = await startReceivers(() => mode);
  const ledger = new MemoryLedger();
  const queue = new FifoQueueModel();
  const health = new MemoryHealthStore();
  const instanceIds = Array.from({ length: INSTANCES }, (_, i) => `shop-${i}`);
  const instances = new MemoryInstanceStore(
    instanceIds.map((id) => ({
      id,
      document: {
        element: { key: 'ecwid' },
        configuration: { 'ecwid.store.id': '1003', 'event.notification.enabled': 'true', 'event.notification.callback.url': `${receivers.origin}/${id}` },
      },
    })),
  );
  const sender = new HttpCallbackSender({ timeoutMs: 10_000 });
  const clock = () => new Date();
  const deadLetters = Object.assign(new MemoryDeadLetterQueue(), { release: async (messages: readonly QueueMessage[]) => queue.release(messages.map((m) => m.messageId)) });
  const handlers: DeliverHandler[] = Array.from({ length: workers }, () =>
    createDeliverHandler({
      instances,
      sender,
      ecwid: NO_ECWID,
      ledger,
      tickets: queue,
      deadLetters,
      urlPolicy: localCallbackUrlPolicy(),
      resolveHost: localMachineResolver,
      clock,
      logger: SILENT,
      metrics: NO_METRICS,
      tracer: TRACING_OFF,
      // Each container its own copy over the shared records, as deliver's wiring builds it.
      receivers: { health: coalescingHealthStore(health, { now: () => Date.now() }), breaker: DEFAULT_BREAKER_SETTINGS },
    }),
  );

  let running = true;
  const toRecord = (message: Message): SQSRecord =>
    ({
      messageId: message.id,
      receiptHandle: message.id,
      body: message.body,
      attributes: { ApproximateReceiveCount: String(message.receiveCount), MessageGroupId: message.groupId, ApproximateFirstReceiveTimestamp: String(Date.now()) },
      messageAttributes: {},
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:bench.fifo',
    }) as unknown as SQSRecord;
  const pollers = handlers.map(async (handler) => {
    while (running) {
      const batch = queue.receive();
      if (batch.length === 0) {
        await queue.waitForWork(100);
        continue;
      }
      let response: SQSBatchResponse = { batchItemFailures: [] };
      try {
        response = await handler({ Records: batch.map(toRecord) } as SQSEvent, lambdaContext(120_000));
      } catch {
        response = { batchItemFailures: batch.map((m) => ({ itemIdentifier: m.id })) };
      }
      queue.settle(batch, new Set(response.batchItemFailures.map((f) => f.itemIdentifier)), 1000);
    }
  });
  const sweeper = (async () => {
    while (running) {
      await sweep({ ledger, tickets: queue, clock, limit: 1000 });
      await sleep(1000);
    }
  })();

  // Arrivals: ARRIVALS_PER_SECOND, round-robin over the instances, each its own object.
  const admitted = new Map<string, { instanceId: string; at: number; phase: string }>();
  let sequence = 0;
  const runPhase = async (phase: string, seconds = PHASE_SECONDS): Promise<void> => {
    const started = performance.now();
    const total = ARRIVALS_PER_SECOND * seconds;
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / ARRIVALS_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const seq = ++sequence;
      const instanceId = instanceIds[seq % INSTANCES];
      const eventId = `e${seq}`;
      const event = queuedEvent({ eventId, instanceId, objectId: `O${seq}`, receivedAt: new Date().toISOString(), raw: { eventId, storeId: 1003, eventType: 'order.updated', data: { orderId: `O${seq}` } } });
      admitted.set(`${instanceId}:${eventId}`, { instanceId, at: performance.now(), phase });
      await admit([event], { ledger, tickets: queue, clock });
    }
  };
  const healthyP99 = (phase: string): number => {
    const latencies: number[] = [];
    for (const [id, { instanceId, at, phase: p }] of admitted) {
      if (p !== phase || instanceId === FAILING) continue;
      const arrived = receivers.arrivals.get(id);
      latencies.push(arrived === undefined ? Number.POSITIVE_INFINITY : arrived - at);
    }
    return percentile(latencies, 99);
  };
  const drainHealthy = async (phase: string): Promise<void> => {
    const deadline = performance.now() + 30_000;
    const missing = () => [...admitted].filter(([id, a]) => a.phase === phase && a.instanceId !== FAILING && !receivers.arrivals.has(id)).length;
    while (missing() > 0 && performance.now() < deadline) await sleep(50);
  };

  try {
    log(`health: ${workers} deliver workers, ${INSTANCES} instances, ${ARRIVALS_PER_SECOND} events/s, ${PHASE_SECONDS} s per phase`);
    // Not measured: JIT, keep-alive connections, the ledger's maps.
    await runPhase('warm-up', Math.min(5, PHASE_SECONDS));
    await drainHealthy('warm-up');
    await runPhase('quiet');
    await drainHealthy('quiet');
    const quiet = healthyP99('quiet');
    const peaks: Record<string, number> = {};
    const ratios: Record<string, number> = {};
    for (const outage of ['down', 'slow'] as const) {
      mode = outage;
      queue.resetPeaks();
      await runPhase(outage);
      await drainHealthy(outage);
      peaks[outage] = queue.peakOf.get(FAILING) ?? 0;
      ratios[outage] = healthyP99(outage) / quiet;
      log(`health: receiver ${outage}: healthy p99 ${round(healthyP99(outage), 1)} ms (quiet ${round(quiet, 1)} ms), peak in flight of the failing receiver ${peaks[outage]}`);
    }
    const healthState = (await health.get(FAILING))?.state;
    log(`health: the failing receiver ended ${healthState}; queue depth ${queue.depth}`);
    return { quiet, ratios: ratios as Isolation['ratios'], peaks: peaks as Isolation['peaks'] };
  } finally {
    running = false;
    mode = 'up';
    await Promise.all(pollers);
    await sweeper;
    await receivers.close();
  }
}

export const HEALTH_FIGURE_NOTES: Readonly<Record<string, string>> = {
  healthy_p99_quiet_ms: `healthy instances' delivery p99, all receivers up (${ARRIVALS_PER_SECOND} ev/s, ${DELIVER_WORKERS} deliver workers; ms)`,
  healthy_p99_ratio_receiver_down: "healthy p99 with one receiver answering 503 / quiet p99, same run",
  healthy_p99_ratio_receiver_slow: 'healthy p99 with one receiver answering after 10 s / quiet p99, same run',
  healthy_p99_ratio_during_outage: 'the worse of the two (goal <= 2)',
  peak_inflight_messages_failing_receiver: "the failing receiver's messages received and not yet deleted, at most, at once",
  peak_inflight_fraction_during_outage: "that / the FIFO queue's in-flight cap (120,000)",
  healthy_p99_quiet_ms_stack_concurrency: `healthy_p99_quiet_ms with ${STACK_DELIVER_WORKERS} deliver workers (the stack's default deliveryMaxConcurrency)`,
  healthy_p99_ratio_during_outage_stack_concurrency: `healthy_p99_ratio_during_outage with ${STACK_DELIVER_WORKERS} deliver workers (goal <= 2)`,
  peak_inflight_messages_failing_receiver_stack_concurrency: `peak_inflight_messages_failing_receiver with ${STACK_DELIVER_WORKERS} deliver workers`,
};
