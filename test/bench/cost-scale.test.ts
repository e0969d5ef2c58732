/**
 * The 10k cost model's ledger line, by the template's billing mode, on small inputs: the ledger
 * construct's synthesized template (on demand, provisioned by default, provisioned sized
 * otherwise) and made-up measured units.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { BillingMode } from 'aws-cdk-lib/aws-dynamodb';
import { costModel10k, ledgerCost10k } from '../../bench/cost-scale';
import type { SynthesizedApp } from '../../bench/bundles';
import { EventLedger, type EventLedgerProps, LEDGER_UNITS_PER_EVENT } from '../../lib/constructs/event-ledger';
import { newApp } from '../lib/stack-helpers';

const resourcesOf = (props: EventLedgerProps) => {
  const stack = new Stack(newApp(), 'CostTest');
  new EventLedger(stack, 'Ledger', props);
  return Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

/** The happy path's units as the ledger bench measures them today (6 write units, 2 read units; nothing on byStatus). */
const LEDGER_FIGURES = {
  ledger_requests_usd_per_million: 4.0,
  ledger_storage_usd_per_million_month: 0.5,
  ledger_table_write_units_per_event: 2,
  ledger_table_read_units_per_event: 1,
  ledger_byInstance_write_units_per_event: 1,
  ledger_byInstance_read_units_per_event: 0,
  ledger_byObject_write_units_per_event: 1,
  ledger_byObject_read_units_per_event: 0,
  ledger_byStatus_write_units_per_event: 0,
  ledger_byStatus_read_units_per_event: 0,
  ledger_unfinishedByObject_write_units_per_event: 2,
  ledger_unfinishedByObject_read_units_per_event: 1,
};

// $0.00065 per WCU-hour, $0.00013 per RCU-hour: an hour of the capacity over the events of that hour.
const perMillionAt = (eventsPerSecond: number, wcu: number, rcu: number) => ((wcu * 0.00065 + rcu * 0.00013) / (eventsPerSecond * 3600)) * 1e6;
// The default sizing's bounds for a part sized at `units` per event (200 to 2,000 events/s at 70%).
const minimum = (units: number) => Math.max(5, Math.ceil((200 * units) / 0.7));
const maximum = (units: number) => Math.max(100, Math.ceil((2000 * units) / 0.7));
/** The status index: off the happy path (0 measured), it sits at its minimum. */
const statusMinimum = minimum(LEDGER_UNITS_PER_EVENT.byStatus.write);

test('on demand: the measured requests + storage; the provisioned companion uses the default sizing', () => {
  const line = ledgerCost10k(LEDGER_FIGURES, resourcesOf({}), 2000);
  expect(line.provisionedTemplate).toBe(false);
  expect(line.deployed).toBeCloseTo(4.5, 6);
  expect(line.onDemand).toBe(line.deployed);
  // 2,000 events/s at 70%: writes 6 units/event -> 17,143 WCU (+ the status index's minimum); reads: table 2,857, unfinishedByObject 2,857, three idle indexes at 5.
  expect(line.provisioned).toBeCloseTo(perMillionAt(2000, (6 * 2000) / 0.7 + statusMinimum, (2 * 2000) / 0.7 + 15) + 0.5, 4);
});

test('provisioned template: priced at the capacity auto scaling holds for the rate, within its min and max', () => {
  const resources = resourcesOf({ billingMode: BillingMode.PROVISIONED });
  const busy = ledgerCost10k(LEDGER_FIGURES, resources, 2000);
  expect(busy.provisionedTemplate).toBe(true);
  expect(busy.deployed).toBe(busy.provisioned);
  expect(busy.provisioned).toBeCloseTo(perMillionAt(2000, (6 * 2000) / 0.7 + statusMinimum, (2 * 2000) / 0.7 + 15) + 0.5, 4);
  expect(busy.provisioned).toBeLessThan(busy.onDemand);
  // At 20 events/s every part sits at its minimum (200 events/s worth), so an event costs ten times more.
  const idle = ledgerCost10k(LEDGER_FIGURES, resources, 20);
  const wcu = minimum(2) + minimum(1) + minimum(1) + statusMinimum + minimum(2);
  const rcu = minimum(2) + minimum(0) * 3 + minimum(1);
  expect(idle.provisioned).toBeCloseTo(perMillionAt(20, wcu, rcu) + 0.5, 4);
  // Past the maximum the capacity stays at the maximum (the rest is throttled, not billed); indexes nobody reads stay at 5.
  const flood = ledgerCost10k(LEDGER_FIGURES, resources, 10_000);
  expect(flood.provisioned).toBeCloseTo(perMillionAt(10_000, 2 * maximum(2) + 2 * maximum(1) + statusMinimum, maximum(2) + 3 * 5 + maximum(1)) + 0.5, 4);
});

test('a provisioned template sized otherwise is priced by its own targets', () => {
  const resources = resourcesOf({ billingMode: BillingMode.PROVISIONED, capacity: { minEventsPerSecond: 0, maxEventsPerSecond: 4000, targetUtilizationPercent: 50 } });
  const line = ledgerCost10k(LEDGER_FIGURES, resources, 2000);
  // Minimum 0 events/s: the idle status index and read indexes at the floor of 5.
  expect(line.provisioned).toBeCloseTo(perMillionAt(2000, (6 * 2000) / 0.5 + 5, (2 * 2000) / 0.5 + 15) + 0.5, 4);
});

test('a missing measurement is an error, not a zero', () => {
  const { ledger_byStatus_write_units_per_event: _omitted, ...partial } = LEDGER_FIGURES;
  expect(() => ledgerCost10k(partial, resourcesOf({}), 2000)).toThrow(/needs ledger_byStatus_write_units_per_event/);
  expect(() => ledgerCost10k(LEDGER_FIGURES, resourcesOf({}), 0)).toThrow(/positive event rate/);
});

test('costModel10k reports the total as deployed and both companions, which differ only by the ledger line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cost-10k-'));
  try {
    const templateFile = join(dir, 'template.json');
    const stack = new Stack(newApp(), 'CostTest');
    new EventLedger(stack, 'Ledger');
    writeFileSync(templateFile, JSON.stringify(Template.fromStack(stack).toJSON()));
    const fn = (role: 'ingest' | 'deliver') =>
      ({ role, logicalId: `${role}Fn`, bundle: '', bundleBytes: 0, sourceMapBytes: 0, memoryMb: 512, timeoutSeconds: 10, environment: {}, architectures: ['arm64'], tracing: false }) as const;
    const app: SynthesizedApp = { templateFile, functions: { ingest: fn('ingest'), deliver: fn('deliver') }, deliverBatchSize: 10 };
    const figures = {
      ...LEDGER_FIGURES,
      scale_ingest_invocations_per_event: 1,
      scale_deliver_invocations_per_event: 0.1,
      scale_ingest_billed_ms_per_event: 20,
      scale_deliver_billed_ms_per_event: 100,
      ingest_us_per_event: 1000,
      deliver_us_per_event_instant_callback: 1000,
      scale_log_bytes_per_event: 300,
      scale_ingest_invocations_per_s: 2000,
      scale_sqs_requests_per_event: 1.2,
      scale_read_units_per_event: 0.4,
      scale_write_units_per_event: 0,
      scale_kms_requests_per_event: 0,
      scale_callback_bytes_per_event: 1000,
    };
    const result = costModel10k(figures, app);
    expect(result.cost_10k_ledger_provisioned_template).toBe(0);
    expect(result.cost_10k_ledger_usd_per_million).toBeCloseTo(4.5, 3);
    expect(result.cost_per_million_events_usd_10k_on_demand).toBe(result.cost_per_million_events_usd_10k);
    const rest = result.cost_per_million_events_usd_10k - result.cost_10k_ledger_usd_per_million;
    expect(result.cost_per_million_events_usd_10k_provisioned).toBeCloseTo(rest + result.cost_10k_ledger_provisioned_usd_per_million, 2);
    expect(result.cost_per_million_events_usd_10k_provisioned).toBeLessThan(result.cost_per_million_events_usd_10k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
