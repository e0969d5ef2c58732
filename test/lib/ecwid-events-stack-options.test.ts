import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Key } from 'aws-cdk-lib/aws-kms';
import { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ENV, STACK_OUTPUTS } from '../../functions/contract';
import { EcwidEventsStack, EcwidEventsStackProps } from '../../lib/ecwid-events-stack';
import { arnJoin, getAtt, logicalId, newApp, ref, statementsOfRole } from './stack-helpers';

/** Every option set away from its default, in one stack built once (the keys live in a stack of their own). */
let stack: EcwidEventsStack;
let template: Template;
let queueKey: Key;
let ssmKey: Key;
beforeAll(() => {
  const app = newApp();
  const keys = new Stack(app, 'Keys');
  queueKey = new Key(keys, 'QueueKey', { enableKeyRotation: true });
  ssmKey = new Key(keys, 'SsmKey', { enableKeyRotation: true });
  stack = new EcwidEventsStack(app, 'EcwidEvents-prod', {
    stage: 'prod',
    ssmPrefix: '/acme/relay',
    ssmKmsKey: ssmKey,
    queueKmsKey: queueKey,
    retrySchedule: [30, 120, 600],
    maxAttempts: 5,
    callbackTimeout: Duration.seconds(5),
    configCache: Duration.minutes(5),
    deliveryMaxConcurrency: 4,
    ingestReservedConcurrency: 50,
    throttlingRateLimit: 20,
    throttlingBurstLimit: 40,
    oldestMessageAgeAlarmThreshold: Duration.minutes(30),
    alarmEmail: 'ops@example.com',
    logRetention: RetentionDays.THREE_MONTHS,
    logLevel: ApplicationLogLevel.DEBUG,
    ecwidApiBaseUrl: 'https://ecwid.example.test/api',
    removalPolicy: RemovalPolicy.DESTROY,
    tracing: true,
    platformLogLevel: SystemLogLevel.INFO,
    configReconcileEvery: Duration.minutes(15),
    metricsNamespace: 'Acme/Relay',
  });
  template = Template.fromStack(stack);
});

const keyArn = (key: Key) => ({ 'Fn::ImportValue': expect.stringContaining(logicalId(key)) });
const queueKeyStatement = () => ({
  Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
  Effect: 'Allow',
  Resource: keyArn(queueKey),
});
const ssmReadStatements = () => {
  const parameterArns = arnJoin('ssm', 'parameter/acme/relay/*');
  return [
    { Action: 'ssm:GetParameter', Effect: 'Allow', Resource: parameterArns },
    {
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: keyArn(ssmKey),
      Condition: {
        StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameterArns },
      },
    },
  ];
};
const xrayStatement = { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' };
/** What InstanceReadModel.grantRead gives ingest and deliver. */
const readModelStatements = () => {
  const table = getAtt(stack.instanceReadModel.table);
  return [
    { Action: 'dynamodb:GetItem', Effect: 'Allow', Resource: table },
    { Action: 'dynamodb:Query', Effect: 'Allow', Resource: { 'Fn::Join': ['', [table, '/index/byStore']] } },
    {
      Action: 'kms:Decrypt',
      Effect: 'Allow',
      Resource: getAtt(stack.instanceReadModel.dataKeyKey),
      Condition: { StringEquals: { 'kms:EncryptionContext:ecwid-events:purpose': 'instance-read-model' } },
    },
  ];
};
const envOf = (fnId: string) => template.findResources('AWS::Lambda::Function')[fnId].Properties.Environment.Variables;

test('both queues are encrypted with the customer key', () => {
  for (const q of [stack.eventQueue.queue, stack.eventQueue.deadLetterQueue]) {
    const props = template.findResources('AWS::SQS::Queue')[logicalId(q)].Properties;
    expect(props.KmsMasterKeyId).toEqual(keyArn(queueKey));
    expect(props.SqsManagedSseEnabled).toBeUndefined();
  }
});

test('redrive backstop follows maxAttempts (5 + 2 receives)', () => {
  template.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: { maxReceiveCount: 7 } });
});

// The statement lists below are exact: with tracing on (not the default) each function may send traces.
test('ingest may encrypt with the queue key and decrypt SSM parameters with the SSM key, only through SSM', () => {
  expect(statementsOfRole(template, logicalId(stack.ingestApi.function.role!))).toEqual([
    { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: getAtt(stack.ingestApi.functionLogGroup) },
    xrayStatement,
    // Main queue and the poller's sightings queue (both encrypted with the queue key).
    {
      Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
      Effect: 'Allow',
      Resource: [getAtt(stack.eventQueue.queue), getAtt(stack.poller!.sightingsQueue)],
    },
    // CDK's grant for sending to a queue encrypted with a customer key.
    queueKeyStatement(),
    ...ssmReadStatements(),
    ...readModelStatements(),
    // The ledger: one item per event, written conditionally before the answer (no Query, no Delete).
    { Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Effect: 'Allow', Resource: getAtt(stack.ledger.table) },
  ]);
});

test('deliver may decrypt what it consumes and encrypt what it dead-letters, with the same queue key', () => {
  expect(statementsOfRole(template, logicalId(stack.delivery.function.role!))).toEqual([
    { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: getAtt(stack.delivery.functionLogGroup) },
    xrayStatement,
    {
      // Consume, and send the ticket of an object's next event (the ledger's wake-up).
      Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage'],
      Effect: 'Allow',
      Resource: getAtt(stack.eventQueue.queue),
    },
    // Consuming needs kms:Decrypt, sending the rest; CDK merges both into one statement.
    queueKeyStatement(),
    { Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow', Resource: getAtt(stack.eventQueue.deadLetterQueue) },
    ...ssmReadStatements(),
    // The read model's Query and the ledger's (the per-object order index), merged by IAM.
    ...readModelStatements().map((statement) =>
      statement.Action === 'dynamodb:Query'
        ? {
            ...statement,
            Resource: [
              statement.Resource,
              { 'Fn::Join': ['', [getAtt(stack.ledger.table), '/index/byStatus']] },
              { 'Fn::Join': ['', [getAtt(stack.ledger.table), '/index/unfinishedByObject']] },
            ],
          }
        : statement,
    ),
    { Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Effect: 'Allow', Resource: getAtt(stack.ledger.table) },
    { Action: 'sns:Publish', Effect: 'Allow', Resource: ref(stack.notices.topic) },
  ]);
});

test('tracing on: active tracing and the Powertools Tracer; Lambda\'s platform records kept (INFO)', () => {
  for (const fn of [stack.ingestApi.function, stack.delivery.function, stack.instanceReadModel.syncFunction]) {
    const props = template.findResources('AWS::Lambda::Function')[logicalId(fn)].Properties;
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    expect(props.Environment.Variables.POWERTOOLS_TRACE_ENABLED).toBe('true');
    expect(props.LoggingConfig.SystemLogLevel).toBe('INFO');
  }
});

test('the options reach the functions environment, the event source and the stage', () => {
  expect(envOf(logicalId(stack.delivery.function))).toMatchObject({
    [ENV.ssmPrefix]: '/acme/relay',
    [ENV.configCacheSeconds]: '300',
    [ENV.retrySchedule]: '30,120,600',
    [ENV.maxAttempts]: '5',
    [ENV.callbackTimeoutMs]: '5000',
    [ENV.ecwidApiBaseUrl]: 'https://ecwid.example.test/api',
    POWERTOOLS_SERVICE_NAME: 'ecwid-events-prod',
    POWERTOOLS_METRICS_NAMESPACE: 'Acme/Relay',
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
  template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { ApplicationLogLevel: 'DEBUG', LogFormat: 'JSON' } });
  template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 } });
  template.hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 50, Timeout: 8 });
  template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(15 minutes)' });
  template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
    DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
  });
  template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 1800 });
});

test('log groups keep the chosen retention and go with the stack (removalPolicy DESTROY)', () => {
  const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup'));
  // ingest, deliver, poller, config sync, ledger sweep, API access logs
  expect(logGroups).toHaveLength(6);
  for (const logGroup of logGroups) {
    expect(logGroup).toMatchObject({ DeletionPolicy: 'Delete', Properties: { RetentionInDays: 90 } });
  }
  for (const q of Object.values(template.findResources('AWS::SQS::Queue'))) expect(q.DeletionPolicy).toBe('Delete');
});

test('alarmEmail: a TLS-only topic with the email subscription, notified when every alarm fires and recovers', () => {
  const topic = stack.monitoring.alarmTopic!;
  template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: ref(topic) });
  template.hasResourceProperties('AWS::SNS::TopicPolicy', {
    Topics: [ref(topic)],
    PolicyDocument: { Statement: [{ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }] },
  });
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
  // the relay's seven, the ledger's two, the sweep's one, the poller's three and the read model sync's one
  expect(alarms).toHaveLength(7 + 2 + 1 + 3 + 1);
  for (const alarm of alarms) {
    expect(alarm.Properties.AlarmActions).toEqual([ref(topic)]);
    expect(alarm.Properties.OKActions).toEqual([ref(topic)]);
  }
});

describe('bad props fail the synth with a clear message', () => {
  const build = (props: EcwidEventsStackProps) => () => {
    const app = newApp({ context: { 'aws:cdk:bundling-stacks': [] } });
      new EcwidEventsStack(app, 'Bad', props);
  };

  test.each<[string, EcwidEventsStackProps, RegExp]>([
    ['upper-case stage', { stage: 'Prod' }, /stage "Prod" is invalid/],
    ['prefix without leading slash', { ssmPrefix: 'ecwid' }, /ssmPrefix "ecwid" is invalid/],
    ['prefix with trailing slash', { ssmPrefix: '/ecwid/' }, /ssmPrefix "\/ecwid\/" is invalid/],
    ['reserved prefix', { ssmPrefix: '/aws/x' }, /reserved by AWS/],
    ['empty retry schedule', { retrySchedule: [] }, /at least one entry/],
    ['backoff over 12 h', { retrySchedule: [60, 50000] }, /bad: 50000/],
    ['fractional backoff', { retrySchedule: [1.5] }, /bad: 1.5/],
    ['retries outlasting the queue retention', { retrySchedule: Array(30).fill(43200) }, /longer than the queue keeps messages/],
    ['zero attempts', { maxAttempts: 0 }, /maxAttempts must be an integer from 1 to 998/],
    ['concurrency 1', { deliveryMaxConcurrency: 1 }, /from 2 to 1000/],
    ['callback timeout too long for a batch', { callbackTimeout: Duration.seconds(12) }, /must fit in the deliver timeout/],
    ['plain-http Ecwid API', { ecwidApiBaseUrl: 'http://app.ecwid.com/api' }, /must be an https URL/],
    ['negative rate', { throttlingRateLimit: -1 }, /throttlingRateLimit must be a positive number/],
    ['fractional burst', { throttlingBurstLimit: 2.5 }, /throttlingBurstLimit must be a positive integer/],
    ['no ingest concurrency', { ingestReservedConcurrency: 0 }, /ingestReservedConcurrency must be a positive integer/],
    ['reconcile every 30 s', { configReconcileEvery: Duration.seconds(30) }, /reconcileEvery must be whole minutes/],
    ['alarm threshold under a minute', { oldestMessageAgeAlarmThreshold: Duration.seconds(30) }, /at least 1 minute/],
    ['not an email', { alarmEmail: 'ops' }, /alarmEmail "ops" is not an email address/],
  ])('%s', (_name, props, message) => {
    expect(build(props)).toThrow(message);
  });
});

test('a customer SSM key from another stack is not re-exported (it is that stack\'s output already)', () => {
  const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
  expect(outputs[STACK_OUTPUTS.ssmKmsKeyId]).toBeUndefined();
});

test('an existing customer SSM key (imported by ARN) is output, so the CLI encrypts instance configs with the key the functions may decrypt', () => {
  const app = newApp();
  const arn = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
  const existingKey = Key.fromKeyArn(new Stack(app, 'Existing'), 'Imported', arn);
  const keyed = new EcwidEventsStack(app, 'EcwidEvents-keyed', { stage: 'keyed', ssmKmsKey: existingKey });
  expect(Template.fromStack(keyed).toJSON().Outputs[STACK_OUTPUTS.ssmKmsKeyId].Value).toBe(arn);
});
