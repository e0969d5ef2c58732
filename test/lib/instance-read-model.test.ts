import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations, type App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ApplicationLogLevel, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ENV, READ_MODEL } from '../../functions/contract';
import { InstanceConfigAccess } from '../../lib/constructs/instance-config-access';
import { InstanceReadModel, type InstanceReadModelProps } from '../../lib/constructs/instance-read-model';
import { arnJoin, getAtt, isRuntimeProvided, isShippedInAsset, logicalId, newApp, ref, statementsOfRole } from './stack-helpers';

const PREFIX = '/ecwid-events/dev';

interface Built {
  app: App;
  stack: Stack;
  model: InstanceReadModel;
  reader: LambdaFunction;
  template: Template;
}

function build(extra: Partial<InstanceReadModelProps> = {}, outdir?: string): Built {
  const app = newApp(outdir ? { outdir } : {});
  const stack = new Stack(app, 'ReadModelTest');
  const model = new InstanceReadModel(stack, 'InstanceReadModel', {
    instanceConfig: new InstanceConfigAccess(stack, 'InstanceConfig', { ssmPrefix: PREFIX }),
    observability: {
      serviceName: 'ecwid-events-dev',
      metricsNamespace: 'EcwidEvents',
      logLevel: ApplicationLogLevel.INFO,
      logRetention: RetentionDays.ONE_MONTH,
      tracing: true,
      removalPolicy: RemovalPolicy.DESTROY,
    },
    ...extra,
  });
  // A stand-in for ingest/deliver: what grantRead gives a reader.
  const reader = new LambdaFunction(stack, 'Reader', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>1') });
  model.grantRead(reader);
  Validations.of(reader).acknowledge(
    { id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'A stand-in for ingest/deliver.' },
    { id: 'AwsSolutions-L1', reason: 'A stand-in for ingest/deliver.' },
  );
  return { app, stack, model, reader, template: Template.fromStack(stack) };
}

// Each build bundles the handler with esbuild: build the default once (into a folder we can read).
let built: Built;
let outdir: string;
beforeAll(() => {
  outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'read-model-construct-'));
  built = build({}, outdir);
});
afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

const roleOf = (fn: LambdaFunction | InstanceReadModel['syncFunction']) => logicalId(fn.role!);
const contextCondition = { StringEquals: { 'kms:EncryptionContext:ecwid-events:purpose': 'instance-read-model' } };

test('the table: on demand, keyed by instance id, a store index with whole documents, point-in-time recovery, removed with the stack', () => {
  const { template, model } = built;
  const table = template.findResources('AWS::DynamoDB::Table')[logicalId(model.table)];
  expect(table.DeletionPolicy).toBe('Delete');
  expect(table.Properties).toEqual({
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'instanceId', KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: 'instanceId', AttributeType: 'S' },
      { AttributeName: 'storeId', AttributeType: 'S' },
    ],
    GlobalSecondaryIndexes: [{ IndexName: 'byStore', KeySchema: [{ AttributeName: 'storeId', KeyType: 'HASH' }], Projection: { ProjectionType: 'ALL' } }],
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  });
});

test('the data key key: customer managed, rotated, removed with the stack', () => {
  const { template, model } = built;
  const key = template.findResources('AWS::KMS::Key')[logicalId(model.dataKeyKey)];
  expect(key.DeletionPolicy).toBe('Delete');
  expect(key.Properties).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 7 });
});

test('the sync function: reserved concurrency 2, 5 minutes, exact environment', () => {
  const { template, model } = built;
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(model.syncFunction)];
  expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 300, MemorySize: 256, ReservedConcurrentExecutions: 2 });
  expect(fn.Properties.Environment.Variables).toEqual({
    [ENV.ssmPrefix]: PREFIX,
    [READ_MODEL.env.tableName]: ref(model.table),
    [READ_MODEL.env.kmsKeyId]: getAtt(model.dataKeyKey),
    POWERTOOLS_SERVICE_NAME: 'ecwid-events-dev',
    POWERTOOLS_METRICS_NAMESPACE: 'EcwidEvents',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_TRACE_ENABLED: 'true',
  });
});

test('the sync function runs on every Parameter Store change under <prefix>/instances/ and on a 5-minute schedule', () => {
  const { template, model } = built;
  template.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['aws.ssm'], 'detail-type': ['Parameter Store Change'], detail: { name: [{ prefix: `${PREFIX}/instances/` }] } },
    Targets: [Match.objectLike({ Arn: getAtt(model.syncFunction), RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 } })],
  });
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(5 minutes)',
    Targets: [Match.objectLike({ Arn: getAtt(model.syncFunction), RetryPolicy: { MaximumRetryAttempts: 0 } })],
  });
  // Both rules may invoke it.
  template.resourcePropertiesCountIs('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com', FunctionName: getAtt(model.syncFunction) }, 2);
});

test('the sync function gets exactly what it uses', () => {
  const { template, model } = built;
  const parameters = arnJoin('ssm', 'parameter/ecwid-events/dev/*');
  expect(statementsOfRole(template, roleOf(model.syncFunction))).toEqual([
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: getAtt(model.syncFunction.logGroup) },
    // DescribeParameters: metadata only, no resource-level permissions (X-Ray shares the statement).
    { Effect: 'Allow', Action: ['ssm:DescribeParameters', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
    { Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParameters'], Resource: parameters },
    {
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: arnJoin('kms', 'key/*'),
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameters },
      },
    },
    { Effect: 'Allow', Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'], Resource: getAtt(model.table) },
    { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: getAtt(model.dataKeyKey), Condition: contextCondition },
  ]);
});

test('grantRead gives a reader the table name, GetItem on the table, Query on the store index and kms:Decrypt in the read model context only', () => {
  const { template, model, reader } = built;
  const fn = template.findResources('AWS::Lambda::Function')[logicalId(reader)];
  expect(fn.Properties.Environment.Variables).toEqual({ [READ_MODEL.env.tableName]: ref(model.table) });
  const statements = statementsOfRole(template, roleOf(reader));
  expect(statements).toEqual([
    { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: getAtt(model.table) },
    { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [getAtt(model.table), '/index/byStore']] } },
    { Effect: 'Allow', Action: 'kms:Decrypt', Resource: getAtt(model.dataKeyKey), Condition: contextCondition },
  ]);
});

test('an alarm on sync errors', () => {
  const { template, model } = built;
  template.hasResourceProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'Errors',
    Namespace: 'AWS/Lambda',
    Dimensions: [{ Name: 'FunctionName', Value: ref(model.syncFunction) }],
    Threshold: 3,
    Period: 900,
  });
});

test('a given key and schedule are used; bad props are refused with a clear message', () => {
  const { template } = build({ reconcileEvery: Duration.minutes(1), syncConcurrency: 1 });
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
  expect(() => build({ reconcileEvery: Duration.seconds(30) })).toThrow('reconcileEvery must be whole minutes from 1 minute to 1 day, got 30 s');
  expect(() => build({ syncConcurrency: 0 })).toThrow('syncConcurrency must be an integer from 1 to 10, got 0');
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
  expect(acknowledged.filter((a) => a.path.includes('/InstanceReadModel/Sync')).map((a) => a.rule)).toContain('AwsSolutions-IAM5[Resource::*]');
  for (const ack of acknowledged) {
    const answered = findings.some((f) => f.rule === ack.rule && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
    expect({ ...ack, answered }).toEqual({ ...ack, answered: true });
  }
});

test('the sync bundle needs only Node built-ins and @aws-sdk/*, and loads with the environment the construct gives it', () => {
  const { template, model } = built;
  const props = template.findResources('AWS::Lambda::Function')[logicalId(model.syncFunction)].Properties;
  const file = path.join(outdir, `asset.${String(props.Code.S3Key).replace(/\.zip$/, '')}`, 'index.js');
  const code = fs.readFileSync(file, 'utf8');
  const required = new Set([...code.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]));
  expect([...required].filter((name) => !isRuntimeProvided(name) && !isShippedInAsset(file, name))).toEqual([]);
  expect(new Set([...required].filter((name) => name.startsWith('@aws-sdk/')))).toEqual(
    new Set(['@aws-sdk/client-ssm', '@aws-sdk/client-dynamodb', '@aws-sdk/client-kms']),
  );
  const result = spawnSync(process.execPath, ['--no-warnings', '-e', 'const m = require(process.argv[1]); process.stdout.write(typeof m.handler)', file], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      NODE_PATH: path.join(__dirname, '..', '..', 'node_modules'),
      AWS_REGION: 'eu-west-1',
      [ENV.ssmPrefix]: PREFIX,
      [READ_MODEL.env.tableName]: 'table',
      [READ_MODEL.env.kmsKeyId]: 'arn:aws:kms:eu-west-1:123456789012:key/k',
    },
    timeout: 20_000,
  });
  expect(result.stderr).toBe('');
  expect(result.stdout).toBe('function');
});
