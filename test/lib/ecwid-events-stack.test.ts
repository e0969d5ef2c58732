import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import { IConstruct } from 'constructs';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../../functions/core/retry-policy';
import { DEFAULTS, ENV, INGEST_METRICS, READ_MODEL, STACK_OUTPUTS } from '../../functions/contract';
import { EcwidEventsStack } from '../../lib/ecwid-events-stack';
import { arnJoin, buildStack, getAtt, logicalId, ref, statementsOfRole } from './stack-helpers';

// One stack with every default, built once: each build bundles both functions with esbuild.
let stack: EcwidEventsStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = buildStack({}, 'EcwidEvents-dev'));
});

const queue = () => stack.eventQueue.queue;
const dlq = () => stack.eventQueue.deadLetterQueue;
const ingestFn = () => stack.ingestApi.function;
const deliverFn = () => stack.delivery.function;
const poller = () => stack.poller!;
const sightingsQueue = () => poller().sightingsQueue;
const roleId = (fn: { role?: IConstruct }) => logicalId(fn.role!);

const PREFIX = '/ecwid-events/dev';
const parameterArns = arnJoin('ssm', `parameter${PREFIX}/*`);
const ssmReadStatements = [
  { Action: 'ssm:GetParameter', Effect: 'Allow', Resource: parameterArns },
  {
    Action: 'kms:Decrypt',
    Effect: 'Allow',
    Resource: arnJoin('kms', 'key/*'),
    Condition: {
      StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
      StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': parameterArns },
    },
  },
];
const logWriteStatement = (logGroup: IConstruct) => ({
  Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  Effect: 'Allow',
  Resource: getAtt(logGroup),
});
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

describe('event queue', () => {
  test('main queue: FIFO, explicit dedup ids, high-throughput mode, SSE-SQS, 6 x 120 s visibility, redrive to the DLQ', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      KmsMasterKeyId: Match.absent(),
      VisibilityTimeout: 720,
      MessageRetentionPeriod: 14 * 24 * 3600,
      // Backstop: deliver dead-letters on attempt 11 itself; SQS redrives after 11 + 2 receives.
      RedrivePolicy: { deadLetterTargetArn: getAtt(dlq()), maxReceiveCount: DEFAULT_RETRY_SCHEDULE_SECONDS.length + 1 + 2 },
    });
  });

  test('dead-letter queue: FIFO, SSE-SQS, 14 days, no redrive of its own', () => {
    const dlqResource = template.findResources('AWS::SQS::Queue')[logicalId(dlq())];
    expect(dlqResource.Properties).toEqual(
      expect.objectContaining({ FifoQueue: true, ContentBasedDeduplication: false, SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 }),
    );
    expect(dlqResource.Properties.RedrivePolicy).toBeUndefined();
    // main + DLQ, and the poller's sightings queue (test/lib/poller.test.ts).
    template.resourceCountIs('AWS::SQS::Queue', 3);
  });

  test('both queues deny every request that is not over TLS', () => {
    for (const q of [queue(), dlq()]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(q)],
        PolicyDocument: {
          Statement: [
            {
              Effect: 'Deny',
              Action: 'sqs:*',
              Principal: { AWS: '*' },
              Resource: getAtt(q),
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            },
          ],
        },
      });
    }
  });

  test('queues and logs are retained by default', () => {
    for (const id of [logicalId(queue()), logicalId(dlq())]) {
      expect(template.findResources('AWS::SQS::Queue')[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
    for (const logGroup of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(logGroup).toMatchObject({ DeletionPolicy: 'Retain', Properties: { RetentionInDays: 30 } });
    }
  });
});

describe('ingest API', () => {
  test('exactly the two POST routes, both to the ingest function (payload v2), no authorizer', () => {
    const routeKeys = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => r.Properties.RouteKey);
    expect(routeKeys.sort()).toEqual(['POST /events/ecwid', 'POST /events/ecwid/{instanceId}']);
    template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: getAtt(ingestFn()),
      PayloadFormatVersion: '2.0',
    });
  });

  test('the $default stage auto-deploys, is throttled and writes JSON access logs to its own log group', () => {
    const format = new Capture();
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      // 2,000 events/s with headroom (README: Sizing).
      DefaultRouteSettings: { ThrottlingRateLimit: 2500, ThrottlingBurstLimit: 5000 },
      AccessLogSettings: { DestinationArn: getAtt(stack.ingestApi.accessLogGroup), Format: format },
    });
    const fields = JSON.parse(format.asString()) as Record<string, string>;
    expect(fields).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
    // Nothing the log event already carries (its timestamp) or that says little (cost per event: README, Sizing).
    expect(Object.keys(fields).filter((name) => ['requestTime', 'protocol', 'responseLength'].includes(name))).toEqual([]);
    // Only $context variables: no body or header can end up in the access log.
    expect(Object.values(fields).every((value) => /^\$context\.[A-Za-z.]+$/.test(value))).toBe(true);
  });

  test('API Gateway may invoke the ingest function on each of the two routes only', () => {
    const sourceArns = Object.values(template.findResources('AWS::Lambda::Permission'))
      .filter((p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(getAtt(ingestFn())))
      .map((p) => JSON.stringify(p.Properties.SourceArn));
    expect(sourceArns).toHaveLength(2);
    expect(sourceArns.some((arn) => arn.includes('/*/*/events/ecwid"'))).toBe(true);
    expect(sourceArns.some((arn) => arn.includes('/*/*/events/ecwid/{instanceId}"'))).toBe(true);
  });
});

describe('functions', () => {
  test('ingest: arm64, Node 22, 8 s (Ecwid waits 10 s), 600 reserved, JSON logs without platform records, no X-Ray, exact environment', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(ingestFn())];
    expect(fn.Properties).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Timeout: 8,
      MemorySize: 512,
      ReservedConcurrentExecutions: 600,
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: ref(stack.ingestApi.functionLogGroup) },
      Role: getAtt(stack.ingestApi.function.role!),
    });
    expect(fn.Properties.Environment.Variables).toEqual({
      [ENV.queueUrl]: ref(queue()),
      [ENV.ssmPrefix]: PREFIX,
      [ENV.configCacheSeconds]: String(DEFAULTS.configCacheSeconds),
      // A captured webhook signature works for 48 h only.
      [ENV.webhookMaxAgeSeconds]: String(48 * 3600),
      // Where ingest notes the webhooks of reconciling instances (polling is on by default).
      [ENV.sightingsQueueUrl]: ref(sightingsQueue()),
      [READ_MODEL.env.tableName]: ref(stack.instanceReadModel.table),
      // The event ledger: ingest records every event before it answers (durable dedupe).
      [ENV.ledgerTableName]: ref(stack.ledger.table),
      [ENV.ledgerRetentionDays]: '30',
      POWERTOOLS_SERVICE_NAME: 'ecwid-events-dev',
      POWERTOOLS_METRICS_NAMESPACE: 'EcwidEvents',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_TRACE_ENABLED: 'false',
      });
  });

  test('deliver: arm64, Node 22, 120 s, exact environment (retry schedule as comma-separated seconds)', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(deliverFn())];
    expect(fn.Properties).toMatchObject({
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Timeout: 120,
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN', LogGroup: ref(stack.delivery.functionLogGroup) },
    });
    expect(fn.Properties.Environment.Variables).toEqual({
      [ENV.queueUrl]: ref(queue()),
      [ENV.deadLetterQueueUrl]: ref(dlq()),
      [ENV.ssmPrefix]: PREFIX,
      [ENV.configCacheSeconds]: String(DEFAULTS.configCacheSeconds),
      [ENV.ecwidApiBaseUrl]: DEFAULTS.ecwidApiBaseUrl,
      [ENV.retrySchedule]: '60,300,900,1800,3600,7200,14400,28800,43200,43200',
      [ENV.maxAttempts]: '11',
      [ENV.callbackTimeoutMs]: String(DEFAULTS.callbackTimeoutMs),
      // The circuit breaker: 10 failures over at least 5 minutes; probes every 60 s; disabled after 5 days.
      [ENV.breakerFailures]: '10',
      [ENV.breakerSpanSeconds]: '300',
      [ENV.breakerProbeSeconds]: '60',
      [ENV.receiverDisableAfterSeconds]: '432000',
      // A receiver is slow once an attempt takes 2 s; then 2 of its attempts run at once.
      [ENV.slowReceiverAfterMs]: '2000',
      [ENV.slowReceiverMaxInFlight]: '2',
      [READ_MODEL.env.tableName]: ref(stack.instanceReadModel.table),
      [ENV.noticeTopicArn]: ref(stack.notices.topic),
      // The ledger's grant sets them beside its permissions.
      [ENV.ledgerTableName]: ref(stack.ledger.table),
      [ENV.ledgerRetentionDays]: '30',
      POWERTOOLS_SERVICE_NAME: 'ecwid-events-dev',
      POWERTOOLS_METRICS_NAMESPACE: 'EcwidEvents',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS: 'false',
      });
  });

  test('the deliver function consumes the main queue in batches of 10 with partial batch responses and bounded concurrency', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(queue()),
      FunctionName: ref(deliverFn()),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // 2,000 events/s at ~10 events/s per invocation, with headroom (README: Sizing).
      ScalingConfig: { MaximumConcurrency: 300 },
      MaximumBatchingWindowInSeconds: Match.absent(),
    });
  });

  test('no function uses the default role or an AWS managed policy', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    }
    // ingest, deliver, poller, config sync, ledger sweep
    template.resourceCountIs('AWS::IAM::Role', 5);
  });
});

describe('least privilege: each function gets exactly the actions it uses, on exactly its resources', () => {
  test('ingest: write its logs, send to the main queue, read configs under the prefix and from the read model, record in the ledger', () => {
    expect(statementsOfRole(template, roleId(ingestFn()))).toEqual([
      logWriteStatement(stack.ingestApi.functionLogGroup),
      // grantSendMessages: SendMessage plus the two read-only queue lookups the SDK may use; on the
      // main queue and the poller's sightings queue (IAM merges the two grants into one statement).
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Effect: 'Allow',
        Resource: [getAtt(queue()), getAtt(sightingsQueue())],
      },
      ...ssmReadStatements,
      ...readModelStatements(),
      // The ledger: conditional Puts (record, then mark queued) and the consistent read after a refused one; no index.
      { Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Effect: 'Allow', Resource: getAtt(stack.ledger.table) },
    ]);
  });

  test('deliver: consume and send tickets on the main queue, send to the DLQ, read configs, claim and record attempts in the ledger', () => {
    const ledgerTable = getAtt(stack.ledger.table);
    expect(statementsOfRole(template, roleId(deliverFn()))).toEqual([
      logWriteStatement(stack.delivery.functionLogGroup),
      {
        // sqs:ChangeMessageVisibility releases the records of a group skipped after a failed one;
        // sqs:SendMessage sends the ticket of an object's next event when one finishes.
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:GetQueueUrl',
          'sqs:ReceiveMessage',
          'sqs:SendMessage',
        ],
        Effect: 'Allow',
        Resource: getAtt(queue()),
      },
      { Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow', Resource: getAtt(dlq()) },
      ...ssmReadStatements,
      // The read model's grant, with the ledger's Query merged into its statement by IAM:
      // the per-object order index only (EventLedger.grantDeliveryUpdates).
      ...readModelStatements().map((statement) =>
        statement.Action === 'dynamodb:Query'
          ? {
              ...statement,
              Resource: [
                statement.Resource,
                // A receiver that is back has its held events woken (queued, of its instance).
                { 'Fn::Join': ['', [ledgerTable, '/index/byStatus']] },
                { 'Fn::Join': ['', [ledgerTable, '/index/unfinishedByObject']] },
              ],
            }
          : statement,
      ),
      // Whole-item conditional Puts and reads on the table, nothing else (no UpdateItem, no DeleteItem).
      { Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Effect: 'Allow', Resource: ledgerTable },
      // Operational notices: the topic only, beside NOTICE_TOPIC_ARN.
      { Action: 'sns:Publish', Effect: 'Allow', Resource: ref(stack.notices.topic) },
    ]);
  });

  test('the ledger sweep: every minute, one at a time, its own role; finds due entries, moves them on, sends tickets', () => {
    const sweep = stack.retrySweep.function;
    const ledgerTable = getAtt(stack.ledger.table);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [{ Arn: getAtt(sweep), RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(sweep)];
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 50, ReservedConcurrentExecutions: 1 });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      [ENV.ledgerTableName]: ref(stack.ledger.table),
      [ENV.ledgerRetentionDays]: '30',
      [ENV.queueUrl]: ref(queue()),
      POWERTOOLS_SERVICE_NAME: 'ecwid-events-dev',
    });
    expect(statementsOfRole(template, roleId(sweep))).toEqual([
      logWriteStatement(stack.retrySweep.logGroup),
      { Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'], Effect: 'Allow', Resource: ledgerTable },
      { Action: 'dynamodb:Query', Effect: 'Allow', Resource: { 'Fn::Join': ['', [ledgerTable, '/index/byStatus']] } },
      { Action: 'dynamodb:Scan', Effect: 'Allow', Resource: { 'Fn::Join': ['', [ledgerTable, '/index/unfinishedByObject']] } },
      { Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], Effect: 'Allow', Resource: getAtt(queue()) },
    ]);
  });

  test('no other IAM policy exists in the stack', () => {
    const roles = Object.values(template.findResources('AWS::IAM::Policy')).map((p) => p.Properties.Roles);
    expect(roles).toEqual(
      expect.arrayContaining([
        [{ Ref: roleId(ingestFn()) }],
        [{ Ref: roleId(deliverFn()) }],
        [{ Ref: roleId(poller().function) }],
        [{ Ref: roleId(stack.instanceReadModel.syncFunction) }],
        [{ Ref: roleId(stack.retrySweep.function) }],
      ]),
    );
    expect(roles).toHaveLength(5);
  });
});

describe('monitoring', () => {
  const alarmOn = (metricName: string, namespace: string) =>
    Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (a) => a.Properties.MetricName === metricName && a.Properties.Namespace === namespace,
    );

  test('seven relay alarms: DLQ not empty, oldest message age, ingest 5xx, deliver errors, deliver throttles, bad signatures, unknown stores (+ the ledger\'s two, the sweep\'s one, the poller\'s three, the read model sync\'s one)', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 7 + stack.ledger.alarms.length + 1 + poller().alarms.length + 1);
    expect(stack.retrySweep.errorAlarm.node.scope).toBe(stack.retrySweep);
    expect(template.findResources('AWS::CloudWatch::Alarm')[logicalId(stack.retrySweep.errorAlarm)].Properties).toMatchObject({
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: ref(stack.retrySweep.function) }],
      Threshold: 3,
      Period: 900,
    });
    expect(stack.ledger.alarms).toHaveLength(2);
    expect(poller().alarms).toHaveLength(3);
    expect(alarmOn('ApproximateNumberOfMessagesVisible', 'AWS/SQS')[0].Properties).toMatchObject({
      Dimensions: [{ Name: 'QueueName', Value: getAtt(dlq(), 'QueueName') }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
    // Ingest answers these 200 (Ecwid must not retry them), so only an alarm tells: a rotated secret, an uninstalled store, probing.
    for (const metric of [INGEST_METRICS.droppedBadSignature, INGEST_METRICS.droppedUnknownStore]) {
      expect(alarmOn(metric, 'EcwidEvents')[0].Properties).toMatchObject({
        Dimensions: [{ Name: 'service', Value: 'ecwid-events-dev' }],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 5,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    expect(alarmOn('ApproximateAgeOfOldestMessage', 'AWS/SQS')[0].Properties).toMatchObject({
      Dimensions: [{ Name: 'QueueName', Value: getAtt(queue(), 'QueueName') }],
      Threshold: 3600,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarmOn('5xx', 'AWS/ApiGateway')[0].Properties).toMatchObject({
      Dimensions: [{ Name: 'ApiId', Value: ref(stack.ingestApi.api) }],
      Statistic: 'Sum',
      Threshold: 1,
    });
    for (const metric of ['Errors', 'Throttles']) {
      const ofDeliver = alarmOn(metric, 'AWS/Lambda').filter((a) => JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: ref(deliverFn()) }]));
      expect(ofDeliver).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ Threshold: 1 }) })]);
    }
  });

  test('without alarmEmail: no alarm topic, and alarms have no actions', () => {
    // The one topic is the operational notices' (always there, test/lib/operational-notices.test.ts).
    expect(stack.monitoring.alarmTopic).toBeUndefined();
    template.resourceCountIs('AWS::SNS::Topic', 1);
    for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  test('the dashboard graphs the Powertools metrics of this stage (namespace + service dimension) and both queues', () => {
    const body = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody);
    const specified = ['EventsReceived', 'EventsQueued', 'EventsRejected', 'EventsDroppedDisabled', 'EventsDroppedForged'];
    specified.push('DeliverySucceeded', 'DeliveryFailed', 'DeliveryRetried', 'DeliveryDeadLettered', 'DeliveryLatency');
    for (const metric of specified) {
      expect(body).toContain(`\\"EcwidEvents\\",\\"${metric}\\",\\"service\\",\\"ecwid-events-dev\\"`);
    }
    expect(body).toContain('ApproximateNumberOfMessagesVisible');
    expect(body).toContain('ApproximateAgeOfOldestMessage');
  });
});

describe('outputs and naming', () => {
  test('outputs under the STACK_OUTPUTS keys; IngestUrl is the full URL to register', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown; Description: string }>;
    // SsmKmsKeyId exists only with a customer key (ecwid-events-stack-options.test.ts).
    const expected = Object.values(STACK_OUTPUTS).filter((key) => key !== STACK_OUTPUTS.ssmKmsKeyId);
    expect(Object.keys(outputs).sort()).toEqual(expected.sort());
    expect(outputs[STACK_OUTPUTS.ingestUrl].Value).toEqual({
      'Fn::Join': [
        '',
        ['https://', ref(stack.ingestApi.api), '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/events/ecwid'],
      ],
    });
    expect(outputs[STACK_OUTPUTS.ingestUrl].Description).toMatch(/Ecwid/);
    expect(outputs[STACK_OUTPUTS.queueUrl].Value).toEqual(ref(queue()));
    expect(outputs[STACK_OUTPUTS.queueArn].Value).toEqual(getAtt(queue()));
    expect(outputs[STACK_OUTPUTS.deadLetterQueueUrl].Value).toEqual(ref(dlq()));
    expect(outputs[STACK_OUTPUTS.deadLetterQueueArn].Value).toEqual(getAtt(dlq()));
    expect(outputs[STACK_OUTPUTS.ssmPrefix].Value).toBe(PREFIX);
    expect(outputs[STACK_OUTPUTS.dashboardUrl].Value).toEqual({
      'Fn::Join': [
        '',
        ['https://console.aws.amazon.com/cloudwatch/home?region=', { Ref: 'AWS::Region' }, '#dashboards:name=', ref(stack.monitoring.dashboard)],
      ],
    });
  });

  test('no hard-coded physical names: queues, functions, log groups, roles, alarms and the dashboard are named by CloudFormation', () => {
    const nameProperty: Record<string, string> = {
      'AWS::SQS::Queue': 'QueueName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::IAM::Role': 'RoleName',
      'AWS::CloudWatch::Alarm': 'AlarmName',
      'AWS::CloudWatch::Dashboard': 'DashboardName',
      'AWS::SNS::Topic': 'TopicName',
    };
    for (const [type, property] of Object.entries(nameProperty)) {
      for (const resource of Object.values(template.findResources(type))) {
        expect(resource.Properties?.[property]).toBeUndefined();
      }
    }
  });

  test('every resource is tagged with the app and the stage', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      Tags: Match.arrayWith([{ Key: 'app', Value: 'ecwid-events' }, { Key: 'stage', Value: 'dev' }]),
    });
  });
});
