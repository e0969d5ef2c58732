/**
 * Metrics cost stays bounded at thousands of instances (docs/health.md, "Cost"): every custom
 * metric is one of the contract's fixed names with the `service` dimension only, so CloudWatch
 * bills the same few metrics whether there are ten instances or ten thousand. Per-instance
 * figures live in the health records and the logs, never in a metric name or dimension.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as contract from '../../functions/contract';

const ROOT = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** Runtime code: the functions and the local runner. */
const RUNTIME = [...sourceFiles(join(ROOT, 'functions')), ...sourceFiles(join(ROOT, 'local'))].map((file) => ({
  file: relative(ROOT, file),
  text: readFileSync(file, 'utf8'),
}));

describe('metric cardinality', () => {
  test('no code adds a dimension or writes metrics around the Powertools adapter', () => {
    const offending = RUNTIME.filter(({ text }) =>
      /\b(addDimension|addDimensions|setDefaultDimensions|singleMetric|PutMetricDataCommand)\b|@aws-sdk\/client-cloudwatch\b/.test(text),
    ).map(({ file }) => file);
    expect(offending).toEqual([]);
  });

  test('every metric is named by a contract constant, never built from data such as an instance id', () => {
    const calls = RUNTIME.flatMap(({ file, text }) =>
      [...text.matchAll(/\.(?:count|milliseconds|addMetric)\(\s*([^,)]+)/g)].map((match) => ({ file, argument: match[1].trim() })),
    );
    expect(calls.length).toBeGreaterThan(10);
    const named = (argument: string) =>
      /^[A-Z][A-Z_]*_METRICS\.\w+$/.test(argument) ||
      // The Telemetry port's adapters pass the name their (checked) callers gave.
      argument === 'metric' ||
      argument === 'name' ||
      // Rejected{Reason}: one per row of the fixed rejection table.
      /^rejectionMetric\(\w+$/.test(argument);
    expect(calls.filter(({ argument }) => !named(argument))).toEqual([]);
  });

  test('the names are a fixed, small set', () => {
    const names = Object.entries(contract)
      .filter(([exported]) => exported.endsWith('_METRICS'))
      .flatMap(([, value]) => Object.values(value as Record<string, string>));
    const rejections = Object.keys(contract.REJECTIONS).map((reason) => contract.rejectionMetric(reason as contract.RejectionReason));
    const all = [...names, ...rejections];
    expect(new Set(all).size).toBe(all.length);
    for (const name of all) expect(name).toMatch(/^[A-Za-z]+$/);
    // Each is billed once per stack (service dimension): well under CloudWatch's first paid tier.
    expect(all.length).toBeLessThan(80);
  });
});
