import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { EcwidEventsStack } from '../../lib/ecwid-events-stack';
import { isRuntimeProvided, logicalId, newApp } from './stack-helpers';

/**
 * The real handlers, bundled as the stack bundles them: only Node built-ins and the AWS SDK v3
 * (which the Node.js 22 runtime provides) may stay outside the bundle, and the bundle must load
 * with the environment the stack gives it.
 */
let outdir: string;
let stack: EcwidEventsStack;
let template: Template;
beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ecwid-events-bundles-'));
  const app = newApp({ outdir });
  stack = new EcwidEventsStack(app, 'EcwidEvents-bundles');
  template = Template.fromStack(stack);
});
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const PROJECT_NODE_MODULES = path.join(__dirname, '..', '..', 'node_modules');
// What CloudFormation would put where the template has a Ref.
const RESOLVED_REFS = {
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq.fifo',
  SIGHTINGS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/sightings',
  INSTANCE_TABLE_NAME: 'EcwidEvents-bundles-InstanceReadModelTable',
  LEDGER_TABLE_NAME: 'EcwidEvents-bundles-LedgerTable',
  NOTICE_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:EcwidEvents-bundles-NoticesTopic',
};

function bundleOf(fnLogicalId: string): { file: string; environment: Record<string, string> } {
  const props = template.findResources('AWS::Lambda::Function')[fnLogicalId].Properties;
  const assetHash = String(props.Code.S3Key).replace(/\.zip$/, '');
  const environment = Object.fromEntries(
    Object.entries(props.Environment.Variables as Record<string, unknown>).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : RESOLVED_REFS[name as keyof typeof RESOLVED_REFS],
    ]),
  );
  return { file: path.join(outdir, `asset.${assetHash}`, 'index.js'), environment };
}

describe.each([
  ['ingest', () => stack.ingestApi.function],
  ['deliver', () => stack.delivery.function],
])('%s bundle', (_name, fn) => {
  test('requires nothing but Node built-ins and @aws-sdk/* (the runtime provides the SDK)', () => {
    const { file } = bundleOf(logicalId(fn()));
    const code = fs.readFileSync(file, 'utf8');
    const required = new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]));
    const outside = [...required].filter((name) => !isRuntimeProvided(name));
    expect(outside).toEqual([]);
    expect(required).toContain('@aws-sdk/client-sqs');
    expect(fs.existsSync(`${file}.map`)).toBe(true);
  });

  test('loads with the stack environment and exports handler', () => {
    const { file, environment } = bundleOf(logicalId(fn()));
    expect(Object.values(environment).every((value) => typeof value === 'string')).toBe(true);
    const result = spawnSync(
      process.execPath,
      // --no-warnings: this machine's Node 20 draws an SDK deprecation notice that Lambda's Node 22 does not.
      ['--no-warnings', '-e', 'const m = require(process.argv[1]); process.stdout.write(typeof m.handler)', file],
      {
        encoding: 'utf8',
        // No credentials and no network are needed to load: clients are only constructed.
        env: { PATH: process.env.PATH, NODE_PATH: PROJECT_NODE_MODULES, AWS_REGION: 'eu-west-1', ...environment },
        timeout: 20_000,
      },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('function');
  });
});
