/**
 * A deliver flow harness for the receiver gate (test/core/receiver-gate.test.ts on dynalite, the
 * moto integration test): the ledger's handleTicket and sweep with the real DynamoDB adapters for
 * the ledger and the health records, a test clock, and a scripted receiver per instance.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbHealthStore } from '../../functions/adapters/aws/dynamodb-health';
import { DynamoDbLedger, ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import type { DeliverySlots } from '../../functions/core/delivery-controls';
import type { QueuedEvent } from '../../functions/core/event';
import { breakerSettings, type HealthNotice } from '../../functions/core/health';
import type { NoticeDeps } from '../../functions/core/health-notices';
import type { Instance } from '../../functions/core/instance';
import type { LedgerEntry } from '../../functions/core/ledger';
import { admit, handleTicket, sweep, wakeHeld, type AttemptOutcome, type Ticket, type TicketOutcome, type TicketQueue } from '../../functions/core/ledger-flow';
import { openReceiverGate, type ReceiverGateDeps } from '../../functions/core/receiver-gate';
import type { RetryPolicy } from '../../functions/core/retry-policy';
import { instanceDocument } from '../../testkit/instances';
import { RecordingTelemetry } from '../../testkit/ports';
import { queuedEventFor } from './ledger-contract';

export const T0 = new Date('2026-12-07T10:00:00.000Z');
const POLICY: RetryPolicy = { scheduleSeconds: [30], maxAttempts: 50 };
// Short thresholds, as the local runner's --breaker-* options give them.
export const SETTINGS = breakerSettings({ failures: 3, spanSeconds: 20, probeSeconds: 10, disableAfterSeconds: 3600, noticeAfterFailures: 2 });

class Queue implements TicketQueue {
  readonly pending: Ticket[] = [];
  async send(tickets: readonly Ticket[]): Promise<void> {
    this.pending.push(...tickets);
  }
}

export const instance = (id: string, configuration: Record<string, string> = {}): Instance => ({
  id,
  document: instanceDocument({ callbackUrl: `https://${id}.example/hooks`, configuration }),
});

export const down: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'http', error: 'callback answered 503', httpStatus: 503, durationMs: 5 } };
export const gone: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'http', error: 'callback answered 410', httpStatus: 410, durationMs: 5 } };
export const up: AttemptOutcome = { kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 5 } };
/** Answers after 10 s (the callback's own time, as deliver measures it), or times out there. */
export const slowUp: AttemptOutcome = { kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 10_005, receiverMs: 10_000 } };
export const timedOut: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'timeout', error: 'callback timed out after 10000 ms', durationMs: 10_005, receiverMs: 10_000 } };
export const fastUp: AttemptOutcome = { kind: 'attempted', result: { ok: true, httpStatus: 200, durationMs: 45, receiverMs: 40 } };
export const ecwidDown: AttemptOutcome = { kind: 'attempted', result: { ok: false, errorClass: 'error', error: 'Ecwid API answered 503', durationMs: 5 } };

export type GateHarness = Awaited<ReturnType<typeof gateHarness>>;

export async function gateHarness(
  client: DynamoDBClient,
  tableName: string,
  instances: Instance[],
  options: { slots?: DeliverySlots; maxSlotWaitMs?: number; settings?: typeof SETTINGS; after?: ReceiverGateDeps['after'] } = {},
) {
  await ensureLedgerTable(client, tableName);
  const now = { value: T0 };
  const clock = () => now.value;
  const ledger = new DynamoDbLedger({ tableName, client, clock });
  const store = new DynamoDbHealthStore({ tableName, client });
  const queue = new Queue();
  const notices: HealthNotice[] = [];
  const telemetry = new RecordingTelemetry();
  const noticeDeps: NoticeDeps = {
    topic: { publish: async (notice) => void notices.push(notice) },
    sender: { send: async () => ({ ok: true, status: 204 }) },
    urlPolicy: { allowHttp: false, allowHosts: [] },
    resolveHost: async () => [{ address: '93.184.216.34', family: 4 }],
    clock,
    telemetry,
  };
  let probes = 0;
  const gateDeps: ReceiverGateDeps = {
    health: { store, clock, settings: options.settings ?? SETTINGS },
    notices: noticeDeps,
    slots: options.slots,
    newProbeId: () => `probe-${++probes}`,
    clock,
    sleep: async (ms) => void (now.value = new Date(now.value.getTime() + ms)),
    telemetry,
    heldRecheckSeconds: 600,
    maxSlotWaitMs: options.maxSlotWaitMs,
    wakeHeld: (instanceId, limit) => wakeHeld(instanceId, deps, limit),
    after: options.after,
  };
  const byId = new Map(instances.map((i) => [i.id, i]));
  const deps = { ledger, tickets: queue, clock };
  /** Attempts each receiver saw, in order. */
  const seen: string[] = [];
  const outcomes: TicketOutcome[] = [];
  let receiver: (event: QueuedEvent) => AttemptOutcome | Promise<AttemptOutcome> = () => up;

  async function handle(ticket: Ticket): Promise<TicketOutcome> {
    const outcome = await handleTicket(ticket.event, {
      ...deps,
      retryPolicy: POLICY,
      gate: (event) => openReceiverGate(event, byId.get(event.instanceId), gateDeps),
      attempt: async (event) => {
        seen.push(`${event.instanceId}/${event.eventId}`);
        return receiver(event);
      },
      deadLetter: async () => undefined,
    });
    outcomes.push(outcome);
    return outcome;
  }

  return {
    ledger,
    store,
    now,
    notices,
    seen,
    outcomes,
    telemetry,
    queue,
    /** Handles one ticket (tests that run several at once). */
    handle,
    setReceiver(fn: (event: QueuedEvent) => AttemptOutcome | Promise<AttemptOutcome>) {
      receiver = fn;
    },
    /** Handles every queued ticket, then sweeps at each next due time, until `until` (or nothing is left). */
    async run(until: Date = new Date(T0.getTime() + 86_400_000)): Promise<void> {
      for (let step = 0; step < 2000; step++) {
        const ticket = queue.pending.shift();
        if (ticket) {
          await handle(ticket);
          continue;
        }
        const [next] = await ledger.due(new Date('2100-01-01T00:00:00Z'), 1);
        if (!next || Date.parse(next.dueAt!) > until.getTime()) return;
        now.value = new Date(Math.max(now.value.getTime(), Date.parse(next.dueAt!)));
        await sweep({ ...deps, limit: 100 });
      }
      throw new Error('did not settle');
    },
    admit: (events: QueuedEvent[]) => admit(events, deps),
    wake: (instanceId: string) => wakeHeld(instanceId, deps),
    entry: (instanceId: string, eventId: string) => ledger.get(instanceId, eventId) as Promise<LedgerEntry>,
  };
}

/** Event n of shop, object `object`, received n seconds after T0. */
export const event = (instanceId: string, n: number, overrides: Partial<QueuedEvent> = {}): QueuedEvent =>
  queuedEventFor({ instanceId, eventId: `evt-${n}`, objectId: String(100 + n), receivedAt: new Date(T0.getTime() + n * 1000).toISOString(), ...overrides });

