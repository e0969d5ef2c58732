import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ApplicationLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { ENV } from '../../functions/contract';
import { EventLedger } from '../../lib/constructs/event-ledger';
import { RetrySweep } from '../../lib/constructs/retry-sweep';
import { getAtt, logicalId, newApp, ref, statementsOfRole } from './stack-helpers';

const stack = new Stack(newApp(), 'SweepTest');
const queue = new Queue(stack, 'EventQueue', { fifo: true, enforceSSL: true });
Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: 'A stand-in for the stack\'s event queue.' });
const ledger = new EventLedger(stack, 'Ledger');
const sweep = new RetrySweep(stack, 'Sweep', {
  ledger,
  queue,
  observability: {
    serviceName: 'ecwid-events-dev',
    metricsNamespace: 'EcwidEvents',
    logLevel: ApplicationLogLevel.INFO,
    logRetention: RetentionDays.ONE_MONTH,
    tracing: false,
    removalPolicy: RemovalPolicy.DESTROY,
  },
});
const template = Template.fromStack(stack);

test('runs every minute, one at a time, without EventBridge or async retries', () => {
  template.hasResourceProperties('AWS::Events::Rule', {
    ScheduleExpression: 'rate(1 minute)',
    Targets: [{ Arn: getAtt(sweep.function), RetryPolicy: { MaximumRetryAttempts: 0 } }],
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Timeout: 50,
    ReservedConcurrentExecutions: 1,
    Environment: {
      Variables: { [ENV.ledgerTableName]: ref(ledger.table), [ENV.ledgerRetentionDays]: '30', [ENV.queueUrl]: ref(queue) },
    },
  });
  template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
});

test('may read due entries and move them on, and send tickets; nothing else', () => {
  const statements = statementsOfRole(template, logicalId(sweep.function.role!));
  expect(statements).toEqual([
    // Its own log group only (RelayFunction).
    { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: expect.anything() },
    { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'], Resource: getAtt(ledger.table) },
    { Effect: 'Allow', Action: 'dynamodb:Query', Resource: { 'Fn::Join': ['', [getAtt(ledger.table), '/index/byStatus']] } },
    // Overdue received entries (not in the status index): a scan of the small unfinished-by-object index.
    { Effect: 'Allow', Action: 'dynamodb:Scan', Resource: { 'Fn::Join': ['', [getAtt(ledger.table), '/index/unfinishedByObject']] } },
    // CDK's grantSendMessages.
    { Effect: 'Allow', Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Resource: getAtt(queue) },
  ]);
});

test('alarms when it keeps failing', () => {
  const alarm = Object.values(template.findResources('AWS::CloudWatch::Alarm')).find((a) => a.Properties.MetricName === 'Errors');
  expect(alarm?.Properties).toMatchObject({
    Threshold: 3,
    Period: 900,
    Statistic: 'Sum',
    Dimensions: [{ Name: 'FunctionName', Value: ref(sweep.function) }],
  });
});
