import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import dgram from 'node:dgram';
import { SEPARATELY_BUNDLED_PACKAGES } from '../../lib/constructs/relay-function';
import { EcwidEventsStack } from '../../lib/ecwid-events-stack';
import { isRuntimeProvided, isShippedInAsset, logicalId, newApp } from './stack-helpers';

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
  test('requires nothing but Node built-ins, @aws-sdk/* (the runtime provides the SDK) and what the asset ships beside it', () => {
    const { file } = bundleOf(logicalId(fn()));
    const code = fs.readFileSync(file, 'utf8');
    const required = new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]));
    const outside = [...required].filter((name) => !isRuntimeProvided(name));
    expect(outside).toEqual([...SEPARATELY_BUNDLED_PACKAGES]);
    for (const name of outside) expect(isShippedInAsset(file, name)).toBe(true);
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

  test('leaves the Tracer and the X-Ray SDK out of index.js: with tracing on, it loads the copy the asset ships, which annotates and sends', async () => {
    const { file, environment } = bundleOf(logicalId(fn()));
    expect(fs.readFileSync(file, 'utf8')).not.toContain('AWSXRay');
    const daemon = dgram.createSocket('udp4');
    const documents: Array<Record<string, unknown>> = [];
    daemon.on('message', (message) => documents.push(JSON.parse(message.toString('utf8').split('\n')[1] ?? '{}')));
    await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', () => resolve()));
    try {
      // What the bundle loaded, used as the handlers use it: a subsegment of the invocation, annotated.
      const script = `
        require(process.argv[1]);
        const [tracerFile] = Object.keys(require.cache).filter((f) => f.includes('@aws-lambda-powertools/tracer'));
        const { Tracer } = require(tracerFile);
        const tracer = new Tracer({ serviceName: 'bundle-test' });
        tracer.provider.captureAsyncFunc('## probe', async (subsegment) => {
          subsegment.addAnnotation('probe', 'annotated');
          subsegment.close();
        }).then(() => setTimeout(() => process.stdout.write(tracerFile), 100));`;
      const result = spawnSync(process.execPath, ['--no-warnings', '-e', script, file], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          NODE_PATH: PROJECT_NODE_MODULES,
          AWS_REGION: 'eu-west-1',
          ...environment,
          POWERTOOLS_TRACE_ENABLED: 'true',
          AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
          LAMBDA_TASK_ROOT: path.dirname(file),
          _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
          AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
          AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
        },
        timeout: 20_000,
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(path.join(path.dirname(file), 'node_modules', '@aws-lambda-powertools', 'tracer', 'index.js'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(documents).toContainEqual(expect.objectContaining({ name: '## probe', annotations: { probe: 'annotated' } }));
    } finally {
      daemon.close();
    }
  });
});
