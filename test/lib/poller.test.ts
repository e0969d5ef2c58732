import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations, type App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ApplicationLogLevel, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { POLL_METRICS } from '../../functions/contract';
import { DEFAULTS, ENV, READ_MODEL } from '../../functions/contract';
import { InstanceConfigAccess } from '../../lib/constructs/instance-config-access';
import { InstanceReadModel } from '../../lib/constructs/instance-read-model';
import { Poller, type PollerProps } from '../../lib/constructs/poller';
import { arnJoin, getAtt, isRuntimeProvided, isShippedInAsset, logicalId, newApp, ref, statementsOfRole } from './stack-helpers';

const PREFIX = '/ecwid-events/dev';

function build(
  extra: (stack: Stack) => Partial<PollerProps> = () => ({}),
  after?: (stack: Stack, poller: Poller) => void,
  outdir?: string,
): { app: App; stack: Stack; poller: Poller; queue: Queue; template: Template } {
  const app = newApp(outdir ? { outdir } : {});
  const stack = new Stack(app, 'PollerTest');
  const queue = new Queue(stack, 'EventQueue', { fifo: true, enforceSSL: true });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'A stand-in for the stack\'s event queue (which has its DLQ).' });
  const poller = new Poller(stack, 'Poller', {
    queue,
    instanceConfig: new InstanceConfigAccess(stack, 'InstanceConfig', { ssmPrefix: PREFIX }),
    ecwidApiBaseUrl: DEFAULTS.ecwidApiBaseUrl,
    observability: {
      serviceName: 'ecwid-events-dev',
      metricsNamespace: 'EcwidEvents',
      logLevel: ApplicationLogLevel.INFO,
      logRetention: RetentionDays.ONE_MONTH,
      tracing: true,
      removalPolicy: RemovalPolicy.DESTROY,
    },
    ...extra(stack),
  });
  after?.(stack, poller);
  return { app, stack, poller, queue, template: Template.fromStack(stack) };
}

// Each build bundles the handler with esbuild: build the default once (into a folder we can read).
let built: ReturnType<typeof build>;
let outdir: string;
beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'poller-construct-'));
  built = build(undefined, undefined, outdir);
});
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const parameter = (rest: string) => arnJoin('ssm', `parameter${rest}`);

test('the function: arm64, Node 22, 270 s (within the 5-minute period), reserved concurrency 1, exact environment', () => {
  const { template, poller, queue } = built;
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(poller.function)];
  expect(fn.Properties).toMatchObject({
    Architectures: ['arm64'],
    Runtime: 'nodejs22.x',
    Handler: 'index.handler',
    Timeout: 270,
    MemorySize: 256,
    ReservedConcurrentExecutions: 1,
    TracingConfig: { Mode: 'Active' },
    LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(poller.functionLogGroup) },
  });
  expect(fn.Properties.Environment.Variables).toEqual({
    [ENV.ecwidApiBaseUrl]: DEFAULTS.ecwidApiBaseUrl,
    [ENV.pollConcurrency]: '4',
    [ENV.ssmPrefix]: PREFIX,
    [ENV.queueUrl]: ref(queue),
    [ENV.sightingsQueueUrl]: ref(poller.sightingsQueue),
    POWERTOOLS_SERVICE_NAME: 'ecwid-events-dev',
    POWERTOOLS_METRICS_NAMESPACE: 'EcwidEvents',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_TRACE_ENABLED: 'true',
    POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS: 'false',
  });
});

test('an EventBridge rule runs it every 5 minutes; neither EventBridge nor Lambda retries a tick', () => {
  const { template, poller } = built;
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(5 minutes)',
    State: 'ENABLED',
    Targets: [Match.objectLike({ Arn: getAtt(poller.function), RetryPolicy: { MaximumRetryAttempts: 0 } })],
  });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    FunctionName: ref(poller.function),
    MaximumRetryAttempts: 0,
    MaximumEventAgeInSeconds: 300,
  });
  template.hasResourceProperties('AWS::Lambda::Permission', {
    Action: 'lambda:InvokeFunction',
    Principal: 'events.amazonaws.com',
    SourceArn: getAtt(poller.rule),
  });
});

test('least privilege: read and list configs, write only its own state and leases, send to the event queue, consume sightings', () => {
  const { template, poller, queue } = built;
  const statements = statementsOfRole(template, logicalId(poller.function.role!));
  expect(statements).toEqual([
    { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: getAtt(poller.functionLogGroup) },
    { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' },
    { Action: 'ssm:GetParameter', Effect: 'Allow', Resource: parameter(`${PREFIX}/*`) },
    {
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: arnJoin('kms', 'key/*'),
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameter(`${PREFIX}/*`) },
      },
    },
    // GetParametersByPath is authorized on the path itself.
    { Action: 'ssm:GetParametersByPath', Effect: 'Allow', Resource: [parameter(`${PREFIX}/instances`), parameter(`${PREFIX}/poller/checkpoints`)] },
    { Action: 'ssm:PutParameter', Effect: 'Allow', Resource: parameter(`${PREFIX}/poller/checkpoints/*`) },
    { Action: ['ssm:DeleteParameter', 'ssm:PutParameter'], Effect: 'Allow', Resource: parameter(`${PREFIX}/poller/leases/*`) },
    { Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow', Resource: getAtt(queue) },
    {
      Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
      Effect: 'Allow',
      Resource: getAtt(poller.sightingsQueue),
    },
  ]);
});

test('with the instance read model: INSTANCE_TABLE_NAME beside dynamodb:Scan on its table and kms:Decrypt in its context; no GetParametersByPath on the instances', () => {
  let model!: InstanceReadModel;
  const { template, poller } = build((stack) => {
    model = new InstanceReadModel(stack, 'InstanceReadModel', {
      instanceConfig: new InstanceConfigAccess(stack, 'ReadModelConfig', { ssmPrefix: PREFIX }),
      observability: {
        serviceName: 'ecwid-events-dev',
        metricsNamespace: 'EcwidEvents',
        logLevel: ApplicationLogLevel.INFO,
        logRetention: RetentionDays.ONE_MONTH,
        tracing: false,
        removalPolicy: RemovalPolicy.DESTROY,
      },
    });
    return { instanceReadModel: model };
  });
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(poller.function)];
  expect(fn.Properties.Environment.Variables[READ_MODEL.env.tableName]).toEqual(ref(model.table));
  const statements = statementsOfRole(template, logicalId(poller.function.role!));
  expect(statements).toContainEqual({ Action: 'dynamodb:Scan', Effect: 'Allow', Resource: getAtt(model.table) });
  expect(statements).toContainEqual({
    Action: 'kms:Decrypt',
    Effect: 'Allow',
    Resource: getAtt(model.dataKeyKey),
    Condition: { StringEquals: { 'kms:EncryptionContext:ecwid-events:purpose': 'instance-read-model' } },
  });
  expect(statements).toContainEqual({ Action: 'ssm:GetParametersByPath', Effect: 'Allow', Resource: parameter(`${PREFIX}/poller/checkpoints`) });
  expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(PutItem|DeleteItem|UpdateItem|GetItem|Query)/);
});

test('the sightings queue: encrypted, TLS only, kept one day', () => {
  const { template, poller } = built;
  template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 86_400, FifoQueue: Match.absent() });
  template.hasResourceProperties('AWS::SQS::QueuePolicy', {
    Queues: [ref(poller.sightingsQueue)],
    PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
  });
});

test('alarms: any refused token within an hour, repeated poll failures, function errors', () => {
  const { template } = built;
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    Namespace: 'EcwidEvents',
    MetricName: POLL_METRICS.authFailed,
    Dimensions: [{ Name: 'service', Value: 'ecwid-events-dev' }],
    Statistic: 'Sum',
    Period: 3600,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    TreatMissingData: 'notBreaching',
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: POLL_METRICS.failed, Threshold: 3, Period: 3600 });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1, Period: 900 });
  template.resourceCountIs('AWS::CloudWatch::Alarm', 3);
});

test('grantRecordSightings gives the ingest function the queue URL and SendMessage on that queue only', () => {
  let ingest: LambdaFunction | undefined;
  const { template, poller } = build(undefined, (stack, p) => {
    ingest = new LambdaFunction(stack, 'Ingest', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>0') });
    p.grantRecordSightings(ingest);
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Handler: 'index.handler',
    Environment: { Variables: { [ENV.sightingsQueueUrl]: ref(poller.sightingsQueue) } },
    Role: getAtt(ingest!.role!),
  });
  expect(statementsOfRole(template, logicalId(ingest!.role!))).toEqual([
    { Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow', Resource: getAtt(poller.sightingsQueue) },
  ]);
});

test('runEvery and an alarm action: a 15-minute schedule, a 13.5-minute timeout, every alarm notifies', () => {
  const { template } = build((stack) => ({ runEvery: Duration.minutes(15), alarmAction: new SnsAction(new Topic(stack, 'Alarms')) }));
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
  template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 810, ReservedConcurrentExecutions: 1 });
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
    expect(alarm.Properties.OKActions).toHaveLength(1);
  }
});

test('bad props are refused with a clear message', () => {
  expect(() => build(() => ({ runEvery: Duration.seconds(90) }))).toThrow('runEvery must be whole minutes from 1 minute to 1 day, got 90 s');
  expect(() => build(() => ({ concurrency: 0 }))).toThrow('poller concurrency must be an integer from 1 to 50, got 0');
});

test('cdk-nag AwsSolutions: no finding left, and every acknowledgement answers one', () => {
  const { app, stack } = built;
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  expect(() => app.synth({ force: true })).not.toThrow();

  const pack = new AwsSolutionsChecks();
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const findings = pack
    .validateScope(app)
    .violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' })));
  const acknowledged = stack.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.keys(entry.data as Record<string, string>))
      .map((id) => ({ rule: id.replace(/^annotation::/i, ''), path: construct.node.path })),
  );
  expect(acknowledged.filter((a) => a.path.includes('/Poller')).map((a) => a.rule)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^AwsSolutions-IAM5\[Resource::.*poller\/checkpoints\/\*\]$/), 'AwsSolutions-SQS3']),
  );
  for (const ack of acknowledged) {
    // A nag finding id with a resource in brackets is reported as that id.
    const answered = findings.some((f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
    expect({ ...ack, answered }).toEqual({ ...ack, answered: true });
  }
});

test('the bundle needs only Node built-ins and @aws-sdk/*, and loads with the environment the construct gives it', () => {
  const { template, poller } = built;
  const props = template.findResources('AWS::Lambda::Function')[logicalId(poller.function)].Properties;
  const file = path.join(outdir, `asset.${String(props.Code.S3Key).replace(/\.zip$/, '')}`, 'index.js');
  const code = fs.readFileSync(file, 'utf8');
  const required = new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]));
  expect([...required].filter((name) => !isRuntimeProvided(name) && !isShippedInAsset(file, name))).toEqual([]);
  // Of the SDK, only the clients it uses (DynamoDB and KMS for the read model's listing, required only on that path).
  expect(new Set([...required].filter((name) => name.startsWith('@aws-sdk/')))).toEqual(
    new Set(['@aws-sdk/client-ssm', '@aws-sdk/client-sqs', '@aws-sdk/client-dynamodb', '@aws-sdk/client-kms']),
  );

  const resolved: Record<string, string> = {
    [ENV.queueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo',
    [ENV.sightingsQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/sightings',
  };
  const environment = Object.fromEntries(
    Object.entries(props.Environment.Variables as Record<string, unknown>).map(([name, value]) => [name, typeof value === 'string' ? value : resolved[name]]),
  );
  expect(Object.values(environment).every((value) => typeof value === 'string')).toBe(true);
  const result = spawnSync(process.execPath, ['--no-warnings', '-e', 'const m = require(process.argv[1]); process.stdout.write(typeof m.handler)', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, NODE_PATH: path.join(__dirname, '..', '..', 'node_modules'), AWS_REGION: 'eu-west-1', ...environment },
    timeout: 20_000,
  });
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe('function');
});
