/**
 * `npm run bench`: runs every figure group, prints a table and writes bench/results.json (one
 * object, figure name -> number) so that runs can be compared. Every figure is a ratio or a count
 * from this one run on this machine (absolute times are noisy; the few kept are inputs of the cost model).
 *
 *   npm run bench                          all groups; writes bench/results.json
 *   npm run bench -- --only ingest,deliver a subset; prints only (add --out FILE to write)
 *   npm run bench -- --synth               run `cdk synth` even when cdk.out looks current
 *   npm run bench -- --e2e-events 500      a shorter e2e run (prints only, unless --out)
 *   npm run bench -- --markdown            the table as the README's Performance section shows it
 *
 * Groups: ingest, deliver, ledger, bundles, e2e, scale, health, cost (cost needs ingest, deliver and bundles in the
 * same run; it adds the ledger's cost when the ledger group ran too; the 10k model needs ledger and scale too).
 * scale (bench/scale.ts) simulates 10,000 stores for 2 minutes: `npx tsx bench/scale.ts` runs it alone.
 * health (bench/health.ts): one receiver down, then slow, beside nine healthy ones (about 1.5 min).
 * BENCH_DEBUG=1 logs every cold start and the e2e arrival spread; BENCH_CDK_OUT=dir synthesizes
 * and measures elsewhere than cdk.out; BENCH_RUNNER_NODE_ARGS passes node flags to the runner.
 * bundles runs `npx cdk synth --no-validation` when cdk.out is missing or older than the sources.
 */
import { cpus, loadavg } from 'node:os';
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { benchBundles, type SynthesizedApp } from './bundles';
import { costModel } from './cost';
import { costModel10k } from './cost-scale';
import { benchDeliver } from './deliver';
import { benchE2e, E2E_CONCURRENCY, E2E_EVENTS } from './e2e';
import { benchHealth, HEALTH_FIGURE_NOTES } from './health';
import { benchIngest } from './ingest';
import { benchLedger } from './ledger';
import { benchScale, SCALE_FIGURE_NOTES } from './scale';
import type { Figures } from './support';

const GROUPS = ['ingest', 'deliver', 'ledger', 'bundles', 'e2e', 'scale', 'health', 'cost'] as const;
type Group = (typeof GROUPS)[number];

export const RESULTS_FILE = path.join(__dirname, 'results.json');

/** What each figure means, for the table (the README says more). */
export const FIGURE_NOTES: Readonly<Record<string, string>> = {
  ingest_us_per_event: 'ingest handler in-process, SDK answered at once, warm (median, us)',
  ingest_floor_us_per_event: 'what any implementation must do: parse, HMAC, stringify + 1 SendMessageBatch, same client (median, us)',
  ingest_overhead_ratio: 'ingest with the ledger (as deployed) / floor with the ledger\'s one conditional write (goal <= 1.5)',
  ingest_overhead_ratio_without_ledger: 'ingest without the ledger / floor without it (the figure before the ledger)',
  ingest_floor_with_ledger_us_per_event: 'floor + 1 conditional PutItem (a minimal dedupe record), same clients (median, us)',
  ingest_with_ledger_us_per_event: 'the same with the event ledger on (1 PutItem per event, answered at once) (median, us)',
  ingest_ledger_ratio: 'ingest with the ledger / without: the ledger writes\' share of ingest time',
  ingest_with_ledger_p50_us: 'ingest with the ledger, each request timed (p50, us)',
  ingest_with_ledger_p99_us: 'ingest with the ledger, each request timed (p99, us)',
  ingest_compute_floor_us_per_event: 'the floor without the SendMessageBatch (median, us)',
  ingest_without_sdk_ratio: 'same handler, instances in memory, queue only serializes / compute floor',
  sqs_calls_per_event: 'SQS calls by ingest, 1000 events over 10 stores',
  ssm_calls_per_event: 'SSM calls by ingest, same 1000 events (cold cache at start)',
  ingest_log_bytes_per_event: 'bytes ingest writes to stdout (logs + EMF metrics)',
  queued_message_bytes: 'size of the queued SQS message (median)',
  ledger_writes_per_event_ingest: 'ledger PutItem calls by ingest per new event (the record; deliver adds its own)',
  ledger_reads_per_event_ingest: 'ledger GetItem calls by ingest per new event (0: only after a refused record)',
  ledger_calls_per_repeat_ingest: 'ledger calls by ingest per repeated event on dynalite (refused PutItem + GetItem; 1 on DynamoDB, whose refusal returns the entry; an undelivered one is sent again under its first dedup id)',
  ledger_writes_per_event: 'ledger Puts per delivered event, happy path (record, outcome; goal <= 2)',
  ledger_write_units_per_event: 'DynamoDB write units per delivered event: items + index entries (AWS rules, from the items written)',
  ledger_index_write_units_per_event: 'of which global secondary index writes',
  ledger_read_units_per_event: 'DynamoDB read units per delivered event (consistent reads, index queries)',
  ledger_calls_per_event: 'DynamoDB calls per delivered event (ingest + deliver)',
  ledger_item_bytes: 'a delivered event\'s ledger item (DynamoDB item size: names + values)',
  ledger_requests_usd_per_million: 'ledger reads + writes per million events (on-demand, us-east-1)',
  ledger_requests_usd_per_million_provisioned: 'the same units on provisioned capacity at 70% utilization, every unit used (the 10k cost model prices the table and each index at the simulated rate)',
  ledger_storage_usd_per_million_month: 'ledger storage + PITR per million events kept a month',
  ledger_table_write_units_per_event: 'of the write units: the items (what provisioned capacity sizes the table\'s writes by)',
  ledger_table_read_units_per_event: 'of the read units: the table (GetItem, BatchGetItem)',
  ledger_byInstance_write_units_per_event: 'of the write units: byInstance index entries',
  ledger_byInstance_read_units_per_event: 'of the read units: byInstance queries (0: the CLI only)',
  ledger_byObject_write_units_per_event: 'of the write units: byObject index entries',
  ledger_byObject_read_units_per_event: 'of the read units: byObject queries',
  ledger_byStatus_write_units_per_event: 'of the write units: byStatus index entries (0 on the happy path: received and delivered entries are not in it)',
  ledger_byStatus_read_units_per_event: 'of the read units: byStatus queries (0: the sweep and the CLI only)',
  ledger_unfinishedByObject_write_units_per_event: 'of the write units: unfinishedByObject index entries',
  ledger_unfinishedByObject_read_units_per_event: 'of the read units: unfinishedByObject queries (the per-object order rule; the sweep\'s scan for overdue received events is not per event)',
  deliver_batch_ratio: 'batch of 10 objects vs 100 ms callback, wall / 100 ms (1 = parallel)',
  deliver_batch_ms: 'that batch, wall time (median, ms; cost model input)',
  deliver_connections_per_100: 'TCP connections for 100 deliveries one at a time (1 = keep-alive)',
  deliver_connections_per_100_parallel: 'same, 10 at a time (10 = keep-alive)',
  deliver_us_per_event_instant_callback: '100 deliveries in a row, callback answers at once (us/event)',
  deliver_ssm_calls_per_event: 'SSM calls by deliver per event (cold cache at start)',
  deliver_sqs_calls_per_event: 'SQS calls by deliver per delivered event',
  deliver_log_bytes_per_event: 'bytes deliver writes to stdout (logs + EMF metrics)',
  callback_request_bytes: 'bytes of one callback request (line + headers + body)',
  ingest_bundle_bytes: 'minified ingest bundle in cdk.out',
  deliver_bundle_bytes: 'minified deliver bundle in cdk.out',
  ingest_cold_load_ratio: 'fresh node: load bundle + 1 invocation (stub AWS) / node -e 0',
  deliver_cold_load_ratio: 'fresh node: load bundle + 1 invocation (stub AWS) / node -e 0',
  ingest_cold_require_ratio: 'of which require(bundle) / node -e 0',
  deliver_cold_require_ratio: 'of which require(bundle) / node -e 0',
  ingest_cold_invoke_ratio: 'of which the first invocation / node -e 0',
  deliver_cold_invoke_ratio: 'of which the first invocation / node -e 0',
  ingest_cold_load_ratio_tracing_off: 'ingest_cold_load_ratio with tracing off (the Tracer costs the difference)',
  deliver_cold_load_ratio_tracing_off: 'deliver_cold_load_ratio with tracing off (the Tracer costs the difference)',
  e2e_events_per_s: 'local runner, 5000 webhooks, 50 in flight: delivered per second',
  e2e_p50_ms: 'post -> callback arrival, median',
  e2e_p99_ms: 'post -> callback arrival, 99th percentile',
  e2e_lost: 'accepted by ingest, never delivered',
  e2e_bare_forwarder_events_per_s: 'the same posts through a bare Node forwarder (receive, one JSON.parse, POST on), same run',
  e2e_bare_forwarder_lost: 'accepted by the bare forwarder, never arrived',
  e2e_throughput_ratio: 'e2e_events_per_s / e2e_bare_forwarder_events_per_s (goal >= 0.5, 0 lost)',
  e2e_refused: 'posts not answered 200',
  e2e_duplicates: 'callbacks received twice',
  e2e_post_p99_ms: 'ingest answer time seen by the poster, 99th percentile',
  e2e_events_per_s_with_faults: 'same with the callback failing 20% of requests',
  e2e_p99_ms_with_faults: 'post -> successful arrival, 99th percentile, with faults',
  e2e_lost_with_faults: 'accepted, never delivered, with faults (must be 0)',
  e2e_refused_with_faults: 'posts not answered 200, with faults',
  e2e_duplicates_with_faults: 'callbacks received twice after a success, with faults',
  e2e_callback_requests_per_event_with_faults: 'callback requests per delivered event (~1.25)',
  cost_per_million_events_usd: 'modelled AWS cost of 1M events (README: Performance)',
  cost_ingest_billed_ms: 'modelled billed ms per ingest invocation',
  cost_deliver_billed_ms_per_batch: 'modelled billed ms per deliver batch',
  cost_sqs_requests_per_event: 'SQS requests per event incl. the event source',
  cost_per_million_events_usd_10k: 'AWS cost of 1M events at 10k stores / 2,000 ev/s, every line measured, the ledger billed as the template deploys it (on demand by default; goal <= $4)',
  cost_per_million_events_usd_10k_on_demand: 'the same with the ledger on demand (its measured units at $0.625/M write, $0.125/M read units)',
  cost_per_million_events_usd_10k_provisioned: 'the same with the ledger on provisioned capacity: table and each index at the capacity auto scaling holds for the simulated rate (measured units per event / target utilization, within min-max; the default sizing when the template is on demand)',
  cost_10k_ledger_provisioned_template: '1 when the synthesized template deploys the ledger on provisioned capacity (ledgerBillingMode), 0 on demand',
  cost_10k_ledger_on_demand_usd_per_million: 'the ledger line on demand: requests + a month of storage with PITR',
  cost_10k_ledger_provisioned_usd_per_million: 'the ledger line on provisioned capacity at the simulated rate: capacity-hours + a month of storage with PITR',
  ...SCALE_FIGURE_NOTES,
  ...HEALTH_FIGURE_NOTES,
};

function parseOptions(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      only: { type: 'string' },
      out: { type: 'string' },
      synth: { type: 'boolean' },
      'e2e-events': { type: 'string' },
      markdown: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: npm run bench -- [--only ${GROUPS.join(',')}] [--synth] [--e2e-events N] [--markdown] [--out FILE]\n`);
    process.exit(0);
  }
  const only = values.only?.split(',').map((group) => group.trim()).filter(Boolean);
  for (const group of only ?? []) {
    if (!(GROUPS as readonly string[]).includes(group)) throw new Error(`--only: unknown group "${group}"; groups: ${GROUPS.join(', ')}`);
  }
  const e2eEvents = values['e2e-events'] === undefined ? E2E_EVENTS : Number(values['e2e-events']);
  if (!Number.isInteger(e2eEvents) || e2eEvents < 1) throw new Error('--e2e-events must be a whole number above 0');
  const complete = only === undefined && e2eEvents === E2E_EVENTS;
  return {
    groups: new Set<Group>((only as Group[] | undefined) ?? GROUPS),
    synth: values.synth ?? false,
    markdown: values.markdown ?? false,
    e2eEvents,
    // Only a complete run replaces bench/results.json; a partial one writes only where --out says.
    out: values.out ? path.resolve(values.out) : complete ? RESULTS_FILE : undefined,
  };
}

export function formatTable(figures: Figures): string {
  const names = Object.keys(figures);
  const nameWidth = Math.max(...names.map((name) => name.length), 6);
  const values = names.map((name) => String(figures[name]));
  const valueWidth = Math.max(...values.map((value) => value.length), 5);
  const lines = [`${'figure'.padEnd(nameWidth)}  ${'value'.padStart(valueWidth)}  meaning`];
  lines.push(`${'-'.repeat(nameWidth)}  ${'-'.repeat(valueWidth)}  ${'-'.repeat(40)}`);
  names.forEach((name, index) => lines.push(`${name.padEnd(nameWidth)}  ${values[index].padStart(valueWidth)}  ${FIGURE_NOTES[name] ?? ''}`));
  return lines.join('\n');
}

/** The table as the README shows it. */
export function formatMarkdownTable(figures: Figures): string {
  const lines = ['| figure | value | meaning |', '|---|---:|---|'];
  for (const [name, value] of Object.entries(figures)) lines.push(`| \`${name}\` | ${value} | ${FIGURE_NOTES[name] ?? ''} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cpu = cpus();
  log(`bench: node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? 'cpu'}, load average ${loadavg()[0].toFixed(2)}; groups: ${[...options.groups].join(', ')}`);

  const figures: Figures = {};
  let app: SynthesizedApp | undefined;
  const started = Date.now();
  if (options.groups.has('ingest')) Object.assign(figures, await benchIngest(log));
  if (options.groups.has('deliver')) Object.assign(figures, await benchDeliver(log));
  if (options.groups.has('ledger')) Object.assign(figures, await benchLedger(log));
  if (options.groups.has('bundles')) {
    const bundles = await benchBundles(log, { synth: options.synth });
    app = bundles.app;
    Object.assign(figures, bundles.figures);
  }
  if (options.groups.has('e2e')) Object.assign(figures, await benchE2e(log, { events: options.e2eEvents, concurrency: E2E_CONCURRENCY }));
  if (options.groups.has('scale')) Object.assign(figures, await benchScale(log));
  if (options.groups.has('health')) Object.assign(figures, await benchHealth(log));
  if (options.groups.has('cost')) {
    if (app && options.groups.has('ingest') && options.groups.has('deliver')) Object.assign(figures, costModel(figures, app));
    else log('cost: skipped (it needs ingest, deliver and bundles in the same run)');
    if (app && options.groups.has('ingest') && options.groups.has('deliver') && options.groups.has('ledger') && options.groups.has('scale')) {
      Object.assign(figures, costModel10k(figures, app));
    } else log('cost 10k: skipped (it needs ingest, deliver, ledger, bundles and scale in the same run)');
  }
  log(`bench: done in ${((Date.now() - started) / 1000).toFixed(0)} s, load average ${loadavg()[0].toFixed(2)}`);

  process.stdout.write(`${options.markdown ? formatMarkdownTable(figures) : formatTable(figures)}\n`);
  if (options.out) {
    const temporary = `${options.out}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(figures, null, 2)}\n`);
    renameSync(temporary, options.out);
    log(`bench: wrote ${path.relative(process.cwd(), options.out)}`);
  } else {
    log('bench: partial run, bench/results.json left as it was (use --out FILE to write these figures)');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
