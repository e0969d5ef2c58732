/**
 * Deploying from configuration: every stack property comes from the context, as `cdk synth -c
 * key=value` (or cdk.json, or `-c configFile=`) gives it, and each one changes the template the
 * way it says. One app with every setting changed is compared with one with none; bundling is
 * skipped (the function code does not matter here). `cdk synth` itself is run once at the end.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { ENV, STACK_OUTPUTS } from '../../functions/contract';
import { DEPLOY_SETTINGS, readDeployConfig } from '../../lib/deploy-config';
import { addEcwidEventsStack } from '../../lib/ecwid-events-app';
import type { EcwidEventsStack } from '../../lib/ecwid-events-stack';
import type { IConstruct } from 'constructs';
import { logicalId, newApp } from './stack-helpers';

jest.setTimeout(240_000);

const ROOT = join(__dirname, '..', '..');
const KEY = (id: string) => `arn:aws:kms:eu-west-1:123456789012:key/${id}`;

/** Every setting, changed from its default. */
const CHANGED: Readonly<Record<string, string>> = {
  stage: 'cfg',
  alarmEmail: 'ops@example.com',
  noticeEmail: 'receivers@example.com',
  retrySchedule: '1,2,5',
  maxAttempts: '3',
  callbackTimeout: '5s',
  configCache: '2m',
  callbackPorts: '443,9443',
  webhookMaxAge: '24h',
  ingestReservedConcurrency: '50',
  deliveryMaxConcurrency: '20',
  throttlingRateLimit: '7',
  throttlingBurstLimit: '14',
  oldestMessageAgeAlarmThreshold: '2h',
  logRetention: '90',
  logLevel: 'debug',
  ecwidApiBaseUrl: 'https://ecwid.example/api',
  removalPolicy: 'retain',
  terminationProtection: 'true',
  platformLogLevel: 'info',
  tracing: 'true',
  metricsNamespace: 'Shop/Events',
  pollSchedule: '10m',
  configReconcileEvery: '15m',
  ssmPrefix: '/shops/cfg',
  ledgerRetention: '7d',
  ledgerBillingMode: 'provisioned',
  ledgerMinEventsPerSecond: '50',
  ledgerMaxEventsPerSecond: '500',
  ledgerTargetUtilizationPercent: '50',
  ledgerWarmEventsPerSecond: '5000',
  breakerFailures: '4',
  breakerMinSpan: '90s',
  breakerProbeInterval: '15s',
  receiverDisableAfter: '2d',
  slowReceiverThreshold: '1500ms',
  slowReceiverMaxInFlight: '5',
  ssmKmsKey: KEY('ssm-1111'),
  queueKmsKey: KEY('queue-2222'),
  ledgerKmsKey: KEY('ledger-3333'),
};

function build(context: Record<string, unknown>): { stack: EcwidEventsStack; template: Template } {
  const app = newApp({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = addEcwidEventsStack(app);
  return { stack, template: Template.fromStack(stack) };
}

let base: ReturnType<typeof build>;
let changed: ReturnType<typeof build>;
beforeAll(() => {
  base = build({});
  changed = build(CHANGED);
});

const resources = (template: Template, type: string) => Object.values(template.findResources(type)) as Array<Record<string, any>>;
const functions = (template: Template) => resources(template, 'AWS::Lambda::Function');
const deliverEnv = (template: Template) =>
  functions(template).find((fn) => fn.Properties.Environment.Variables[ENV.retrySchedule] !== undefined)!.Properties.Environment.Variables;
const envOfAll = (template: Template, name: string) => new Set(functions(template).map((fn) => fn.Properties.Environment.Variables[name]));
const alarmNamed = (template: Template, part: string) =>
  Object.entries(template.findResources('AWS::CloudWatch::Alarm')).find(([id]) => id.includes(part))![1] as Record<string, any>;
const queues = (template: Template) => resources(template, 'AWS::SQS::Queue');
/** Email endpoints subscribed to a topic (none when the topic does not exist). */
const subscribers = (template: Template, topic: IConstruct | undefined) =>
  topic === undefined
    ? []
    : resources(template, 'AWS::SNS::Subscription')
        .filter((s) => JSON.stringify(s.Properties.TopicArn) === JSON.stringify({ Ref: logicalId(topic) }))
        .map((s) => s.Properties.Endpoint);

const tableWriteScaling = (template: Template) =>
  resources(template, 'AWS::ApplicationAutoScaling::ScalableTarget').find((t) => t.Properties.ScalableDimension === 'dynamodb:table:WriteCapacityUnits')?.Properties;

/** For each setting: what it reads from a template (or the stack), which must differ from the default and equal `expected`. */
const EFFECTS: Record<string, { read: (built: ReturnType<typeof build>) => unknown; expected: unknown }> = {
  stage: { read: ({ stack }) => stack.stackName, expected: 'EcwidEvents-cfg' },
  alarmEmail: {
    read: ({ stack, template }) => subscribers(template, stack.monitoring.alarmTopic),
    expected: ['ops@example.com'],
  },
  noticeEmail: { read: ({ stack, template }) => subscribers(template, stack.notices.topic), expected: ['receivers@example.com'] },
  retrySchedule: { read: ({ template }) => deliverEnv(template)[ENV.retrySchedule], expected: '1,2,5' },
  maxAttempts: {
    read: ({ template }) => [deliverEnv(template)[ENV.maxAttempts], queues(template).find((q) => q.Properties.RedrivePolicy)?.Properties.RedrivePolicy.maxReceiveCount],
    expected: ['3', 5],
  },
  callbackTimeout: { read: ({ template }) => deliverEnv(template)[ENV.callbackTimeoutMs], expected: '5000' },
  configCache: { read: ({ template }) => deliverEnv(template)[ENV.configCacheSeconds], expected: '120' },
  callbackPorts: { read: ({ template }) => deliverEnv(template)[ENV.callbackAllowedPorts] ?? null, expected: '443,9443' },
  webhookMaxAge: { read: ({ template }) => [...envOfAll(template, ENV.webhookMaxAgeSeconds)].filter(Boolean), expected: ['86400'] },
  deliveryMaxConcurrency: {
    read: ({ template }) => resources(template, 'AWS::Lambda::EventSourceMapping').map((m) => m.Properties.ScalingConfig?.MaximumConcurrency),
    expected: [20],
  },
  throttlingRateLimit: {
    read: ({ template }) => resources(template, 'AWS::ApiGatewayV2::Stage')[0].Properties.DefaultRouteSettings.ThrottlingRateLimit,
    expected: 7,
  },
  throttlingBurstLimit: {
    read: ({ template }) => resources(template, 'AWS::ApiGatewayV2::Stage')[0].Properties.DefaultRouteSettings.ThrottlingBurstLimit,
    expected: 14,
  },
  oldestMessageAgeAlarmThreshold: { read: ({ template }) => alarmNamed(template, 'OldestMessageAge').Properties.Threshold, expected: 7200 },
  logRetention: {
    read: ({ template }) => [...new Set(resources(template, 'AWS::Logs::LogGroup').map((g) => g.Properties.RetentionInDays))],
    expected: [90],
  },
  logLevel: {
    read: ({ template }) => [...new Set(functions(template).map((fn) => fn.Properties.LoggingConfig.ApplicationLogLevel))],
    expected: ['DEBUG'],
  },
  ecwidApiBaseUrl: { read: ({ template }) => deliverEnv(template)[ENV.ecwidApiBaseUrl], expected: 'https://ecwid.example/api' },
  // A non-prod stage is throw-away by default; `retain` keeps its queues.
  removalPolicy: { read: ({ template }) => [...new Set(queues(template).map((q) => q.DeletionPolicy))], expected: ['Retain'] },
  terminationProtection: { read: ({ stack }) => stack.terminationProtection, expected: true },
  tracing: {
    read: ({ template }) => [...new Set(functions(template).map((fn) => fn.Properties.TracingConfig?.Mode ?? 'none'))],
    expected: ['Active'],
  },
  platformLogLevel: {
    read: ({ template }) => [...new Set(functions(template).map((fn) => fn.Properties.LoggingConfig.SystemLogLevel))],
    expected: ['INFO'],
  },
  ingestReservedConcurrency: {
    read: ({ stack, template }) => template.toJSON().Resources[logicalId(stack.ingestApi.function)].Properties.ReservedConcurrentExecutions,
    expected: 50,
  },
  configReconcileEvery: {
    read: ({ template }) => resources(template, 'AWS::Events::Rule').map((r) => r.Properties.ScheduleExpression).filter((e) => e?.includes('15 minutes')),
    expected: ['rate(15 minutes)'],
  },
  metricsNamespace: { read: ({ template }) => [...envOfAll(template, 'POWERTOOLS_METRICS_NAMESPACE')], expected: ['Shop/Events'] },
  pollSchedule: {
    read: ({ template }) => resources(template, 'AWS::Events::Rule').map((r) => r.Properties.ScheduleExpression).filter((e) => e?.includes('10 minutes')),
    expected: ['rate(10 minutes)'],
  },
  ssmPrefix: { read: ({ template }) => [...envOfAll(template, ENV.ssmPrefix)], expected: ['/shops/cfg'] },
  // The ledger's retention reaches a function only once a function is granted the ledger.
  ledgerRetention: { read: ({ stack }) => stack.ledger.retention.toDays(), expected: 7 },
  // CDK writes no BillingMode for provisioned (CloudFormation's default), only the capacity.
  ledgerBillingMode: {
    read: ({ stack, template }) => template.toJSON().Resources[logicalId(stack.ledger.table)].Properties.ProvisionedThroughput?.WriteCapacityUnits ?? null,
    expected: 200,
  },
  // The table's write capacity at 2 units per event: 50 and 500 events/s at 50% are 200 and 2,000 units.
  ledgerMinEventsPerSecond: { read: ({ template }) => tableWriteScaling(template)?.MinCapacity ?? null, expected: 200 },
  ledgerMaxEventsPerSecond: { read: ({ template }) => tableWriteScaling(template)?.MaxCapacity ?? null, expected: 2000 },
  ledgerTargetUtilizationPercent: {
    read: ({ template }) => [...new Set(resources(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration.TargetValue))],
    expected: [50],
  },
  // 2 writes per event at 5,000 events/s.
  ledgerWarmEventsPerSecond: {
    read: ({ stack, template }) => template.toJSON().Resources[logicalId(stack.ledger.table)].Properties.WarmThroughput?.WriteUnitsPerSecond ?? null,
    expected: 10000,
  },
  breakerFailures: { read: ({ template }) => deliverEnv(template)[ENV.breakerFailures], expected: '4' },
  breakerMinSpan: { read: ({ template }) => deliverEnv(template)[ENV.breakerSpanSeconds], expected: '90' },
  breakerProbeInterval: { read: ({ template }) => deliverEnv(template)[ENV.breakerProbeSeconds], expected: '15' },
  receiverDisableAfter: { read: ({ template }) => deliverEnv(template)[ENV.receiverDisableAfterSeconds], expected: '172800' },
  slowReceiverThreshold: { read: ({ template }) => deliverEnv(template)[ENV.slowReceiverAfterMs], expected: '1500' },
  slowReceiverMaxInFlight: { read: ({ template }) => deliverEnv(template)[ENV.slowReceiverMaxInFlight], expected: '5' },
  ssmKmsKey: {
    read: ({ template }) => (template.toJSON().Outputs?.[STACK_OUTPUTS.ssmKmsKeyId]?.Value as unknown) ?? null,
    expected: KEY('ssm-1111'),
  },
  queueKmsKey: { read: ({ template }) => [...new Set(queues(template).map((q) => q.Properties.KmsMasterKeyId))], expected: [KEY('queue-2222')] },
  ledgerKmsKey: {
    read: ({ stack, template }) => template.toJSON().Resources[logicalId(stack.ledger.table)].Properties.SSESpecification?.KMSMasterKeyId,
    expected: KEY('ledger-3333'),
  },
};

describe('every stack property is settable from the context', () => {
  it('covers every setting, and every property of EcwidEventsStackProps has a setting', () => {
    // polling=false removes the poller, so pollSchedule could not show: it has a test of its own.
    expect([...Object.keys(EFFECTS), 'polling'].sort()).toEqual(Object.keys(DEPLOY_SETTINGS).sort());
    expect(Object.keys(CHANGED).sort()).toEqual(Object.keys(EFFECTS).sort());
    const source = readFileSync(join(ROOT, 'lib', 'ecwid-events-stack.ts'), 'utf8');
    const body = source.slice(source.indexOf('export interface EcwidEventsStackProps'), source.indexOf('\n}\n', source.indexOf('export interface EcwidEventsStackProps')));
    const props = [...body.matchAll(/^ {2}readonly (\w+)\?:/gm)].map((match) => match[1]);
    expect(props.length).toBeGreaterThan(20);
    // terminationProtection comes from StackProps.
    expect([...props, 'terminationProtection'].sort()).toEqual(Object.keys(DEPLOY_SETTINGS).sort());
  });

  it.each(Object.keys(EFFECTS))('-c %s changes the template as it says', (key) => {
    const effect = EFFECTS[key];
    expect(effect.read(changed)).toEqual(effect.expected);
    expect(effect.read(base)).not.toEqual(effect.expected);
  });

  it('-c polling=false leaves the poller out', () => {
    const { stack, template } = build({ polling: 'false' });
    expect(stack.poller).toBeUndefined();
    expect(resources(template, 'AWS::Events::Rule').some((r) => r.Properties.Description?.includes('poller'))).toBe(false);
    expect(resources(base.template, 'AWS::Events::Rule').some((r) => r.Properties.Description?.includes('poller'))).toBe(true);
  });

  it('reads the same settings from a config file, and -c wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'deploy-config-'));
    try {
      const file = join(dir, 'cfg.json');
      writeFileSync(file, JSON.stringify({ retrySchedule: [3, 4], logLevel: 'warn', maxAttempts: 2 }));
      const { template } = build({ configFile: file, logLevel: 'error' });
      expect(deliverEnv(template)[ENV.retrySchedule]).toBe('3,4');
      expect(deliverEnv(template)[ENV.maxAttempts]).toBe('2');
      expect(new Set(functions(template).map((fn) => fn.Properties.LoggingConfig.ApplicationLogLevel))).toEqual(new Set(['ERROR']));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds at the limits the settings accept (the settings are no stricter than the stack)', () => {
    const limits = {
      retrySchedule: Array(27).fill(43200).join(','),
      maxAttempts: '998',
      callbackTimeout: '11999ms',
      deliveryMaxConcurrency: '1000',
      oldestMessageAgeAlarmThreshold: '60s',
      pollSchedule: '1d',
      ledgerRetention: '3650d',
      configCache: '0',
      logRetention: 'infinite',
    };
    for (const [key, value] of Object.entries(limits)) expect({ key, problems: readDeployConfig({ [key]: value }).problems }).toEqual({ key, problems: [] });
    expect(() => build(limits)).not.toThrow();
    expect(() => build({ deliveryMaxConcurrency: '2', throttlingRateLimit: '0.5', throttlingBurstLimit: '1' })).not.toThrow();
  });

  it('refuses a bad configuration with every problem in one message, before building anything', () => {
    expect(() => build({ retrySchedule: '60,99999', maxAttempts: '0', pollSchedule: '90s', tracing: 'maybe', stage: 'Prod' })).toThrow(
      /invalid deployment configuration \(5 problems\):\n(\s+- \w+: .+\n?){5}$/,
    );
  });
});

describe('cdk synth (the CDK CLI) with -c', () => {
  const run = promisify(execFile);
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-synth-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('-c retrySchedule=... -c logLevel=debug reach the synthesized template', async () => {
    await run('npx', ['cdk', 'synth', '-c', 'retrySchedule=1,2,5', '-c', 'logLevel=debug', '--no-validation', '-q', '-o', outdir], {
      cwd: ROOT,
      maxBuffer: 16 * 1024 * 1024,
    });
    const template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, 'EcwidEvents-dev.template.json'), 'utf8')));
    expect(deliverEnv(template)[ENV.retrySchedule]).toBe('1,2,5');
    expect(deliverEnv(template)[ENV.maxAttempts]).toBe('4');
    expect(new Set(functions(template).map((fn) => fn.Properties.LoggingConfig.ApplicationLogLevel))).toEqual(new Set(['DEBUG']));
  });

  it('a bad -c fails with exit code 1 and the list of problems, no stack trace', async () => {
    const failure = await run('npx', ['cdk', 'synth', '-c', 'retrySchedul=1', '-c', 'tracing=yes', '--no-validation', '-q', '-o', outdir], {
      cwd: ROOT,
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('invalid deployment configuration (2 problems):');
    expect(failure?.stderr).toContain('- retrySchedul: unknown setting (did you mean retrySchedule?)');
    expect(failure?.stderr).toContain('- tracing: "yes" must be true or false');
    expect(failure?.stderr).not.toMatch(/\n\s+at /);
  });
});
