/**
 * Module load of the ingest and deliver bundles alone: `require` of the synthesized bundle in a
 * fresh `node` (no invocation), against `node -e 0`, on both config paths (the read model the
 * stack deploys, and Parameter Store directly), runs interleaved, medians. Compares synth outputs,
 * e.g. before and after a change (README: "Cold start, issue 17"):
 *
 *   npx tsx bench/module-load.ts [--runs 15] cdk.out [/tmp/cdk-before ...]
 *
 * Not part of `npm run bench`: the `bundles` group measures load plus one invocation, on the
 * read-model path the stack deploys. NODE_OPTIONS is not set here (the template's is not read).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, REPO_ROOT } from './support';

/** The ingest and deliver bundles of a cdk.out folder, found by their source maps. */
function bundlesIn(cdkOut: string): Record<'ingest' | 'deliver', string> {
  const found: Partial<Record<'ingest' | 'deliver', string>> = {};
  for (const entry of readdirSync(cdkOut)) {
    const map = path.join(cdkOut, entry, 'index.js.map');
    if (!entry.startsWith('asset.') || !existsSync(map)) continue;
    const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources;
    for (const role of ['ingest', 'deliver'] as const) {
      if (sources.some((source) => source.endsWith(`functions/${role}/index.ts`))) found[role] = path.join(cdkOut, entry, 'index.js');
    }
  }
  if (!found.ingest || !found.deliver) throw new Error(`${cdkOut}: no ingest/deliver bundle (run npx cdk synth -o ${cdkOut})`);
  return found as Record<'ingest' | 'deliver', string>;
}

const BASE_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  // The AWS SDK is external to the bundles (the runtime provides it): from this checkout.
  NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ecwid-events.fifo',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/ecwid-events-dlq.fifo',
  SSM_PREFIX: '/ecwid-events/dev',
  POWERTOOLS_SERVICE_NAME: 'bench',
  POWERTOOLS_TRACE_ENABLED: 'false',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
};
const PATHS: Readonly<Record<string, Record<string, string>>> = {
  'read model': { INSTANCE_TABLE_NAME: 'instances', LEDGER_TABLE_NAME: 'ledger' },
  // Deliver needs the ledger's table on either path (it throws at load without it).
  'parameter store': { LEDGER_TABLE_NAME: 'ledger' },
};

function timeMs(args: readonly string[], env: Record<string, string>): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [...args], { env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${run.stderr}`);
  return ms;
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { runs: { type: 'string' } }, allowPositionals: true });
  const runs = Number(values.runs ?? 15);
  const outs = positionals.length > 0 ? positionals : ['cdk.out'];
  const bundles = outs.flatMap((out) => Object.entries(bundlesIn(path.resolve(out))).map(([role, file]) => ({ name: `${role} ${out}`, file })));
  const samples = new Map<string, number[]>();
  const add = (name: string, ms: number) => samples.set(name, [...(samples.get(name) ?? []), ms]);
  for (let run = 0; run < runs; run++) {
    for (const [pathName, extra] of Object.entries(PATHS)) {
      const env = { ...BASE_ENV, ...extra };
      add(`node -e 0 (${pathName})`, timeMs(['-e', '0'], env));
      // Alternate the order so that load drifts hit every bundle alike.
      for (const bundle of run % 2 ? bundles : [...bundles].reverse()) {
        add(`${bundle.name} (${pathName})`, timeMs(['-e', `require(${JSON.stringify(bundle.file)})`], env));
      }
    }
  }
  for (const pathName of Object.keys(PATHS)) {
    const empty = median(samples.get(`node -e 0 (${pathName})`) ?? []);
    process.stdout.write(`${pathName}: node -e 0 ${empty.toFixed(0)} ms\n`);
    for (const bundle of bundles) {
      const ms = median(samples.get(`${bundle.name} (${pathName})`) ?? []);
      process.stdout.write(`  ${bundle.name.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms  ${(ms / empty).toFixed(2)} x\n`);
    }
  }
}

main();
