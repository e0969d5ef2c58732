import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { BillingMode } from 'aws-cdk-lib/aws-dynamodb';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { ledgerTableDefinition } from '../../functions/adapters/aws/dynamodb-ledger';
import { ENV, LEDGER_TABLE, STACK_OUTPUTS } from '../../functions/contract';
import { EventLedger, type EventLedgerProps, LEDGER_UNITS_PER_EVENT, ledgerCapacityRange } from '../../lib/constructs/event-ledger';
import { buildStack, getAtt, logicalId, newApp, ref, statementsOfRole } from './stack-helpers';

function build(props: EventLedgerProps = {}, extra?: (stack: Stack, ledger: EventLedger) => void) {
  const stack = new Stack(newApp(), 'LedgerTest');
  const ledger = new EventLedger(stack, 'Ledger', props);
  extra?.(stack, ledger);
  return { stack, ledger, template: Template.fromStack(stack) };
}

function fn(stack: Stack, id: string): LambdaFunction {
  return new LambdaFunction(stack, id, { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>{}') });
}

describe('the table', () => {
  const { ledger, template } = build();
  const table = () => Object.values(template.findResources('AWS::DynamoDB::Table'))[0];

  test('one table: on-demand, point-in-time recovery, TTL on expiresAt, retained and protected by default', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    expect(table()).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: LEDGER_TABLE.timeToLiveAttribute, Enabled: true },
        DeletionProtectionEnabled: true,
      },
    });
    // Encrypted at rest with an AWS owned key (SSEEnabled false means that, not "unencrypted"; a KMS key bills per request).
    expect(table().Properties.SSESpecification).toEqual({ SSEEnabled: false });
    expect(ledger.retention.toDays()).toBe(30);
  });

  test('keys and indexes are exactly what the adapter creates locally and in moto', () => {
    const expected = ledgerTableDefinition('any');
    const props = table().Properties;
    expect(props.KeySchema).toEqual(expected.KeySchema);
    const sortByName = <T extends { AttributeName?: string }>(list: T[]) => [...list].sort((a, b) => (a.AttributeName! < b.AttributeName! ? -1 : 1));
    expect(sortByName(props.AttributeDefinitions)).toEqual(sortByName(expected.AttributeDefinitions!));
    const indexes = (list: { IndexName?: string; KeySchema?: unknown; Projection?: { ProjectionType?: string; NonKeyAttributes?: string[] } }[]) =>
      list.map((i) => ({ name: i.IndexName, keys: i.KeySchema, type: i.Projection?.ProjectionType, include: [...(i.Projection?.NonKeyAttributes ?? [])].sort() }));
    expect(indexes(props.GlobalSecondaryIndexes)).toEqual(indexes(expected.GlobalSecondaryIndexes!));
    expect(props.GlobalSecondaryIndexes.map((i: { IndexName: string }) => i.IndexName)).toEqual([
      'byInstance',
      'byObject',
      'byStatus',
      'unfinishedByObject',
    ]);
    // Only attributes that never change after recording are projected, and receivedDueAt, which goes
    // at the first transition (on the happy path with the entry itself): a rewrite costs no index write.
    expect(indexes(props.GlobalSecondaryIndexes).map((i) => [i.name, i.type, i.include])).toEqual([
      ['byInstance', 'INCLUDE', ['ecwidEventType', 'eventType']],
      ['byObject', 'INCLUDE', ['ecwidEventType', 'eventType']],
      ['byStatus', 'INCLUDE', ['ecwidEventType', 'eventType', 'receivedKey']],
      ['unfinishedByObject', 'INCLUDE', ['receivedDueAt']],
    ]);
  });

  test('alarms on throttling and system errors of the operations the relay uses', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2);
    for (const [id, metricName] of [
      ['ThrottleAlarm', 'ThrottledRequests'],
      ['SystemErrorAlarm', 'SystemErrors'],
    ] as const) {
      const alarm = template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmDescription: Match.anyValue() } });
      const mine = Object.entries(alarm).find(([logical]) => logical.includes(id));
      expect(mine).toBeDefined();
      const props = mine![1].Properties;
      expect(props).toMatchObject({
        Threshold: 1,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      const metrics = (props.Metrics as { MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } } }[])
        .filter((m) => m.MetricStat)
        .map((m) => m.MetricStat!.Metric);
      expect(metrics.map((m) => m.MetricName)).toEqual(Array(4).fill(metricName));
      expect(metrics.map((m) => m.Dimensions.find((d) => d.Name === 'Operation')!.Value).sort()).toEqual(['BatchGetItem', 'GetItem', 'PutItem', 'Query']);
      expect(metrics.every((m) => JSON.stringify(m.Dimensions.find((d) => d.Name === 'TableName')!.Value) === JSON.stringify(ref(ledger.table)))).toBe(true);
    }
  });
});

test('DESTROY: deleted with the stack, no deletion protection', () => {
  const { template } = build({ removalPolicy: RemovalPolicy.DESTROY });
  const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0];
  expect(table.DeletionPolicy).toBe('Delete');
  expect(table.Properties.DeletionProtectionEnabled).toBe(false);
});

test('a customer key encrypts the table, and every grant includes using it', () => {
  const stack = new Stack(newApp(), 'KeyTest');
  const key = new Key(stack, 'Key');
  const ledger = new EventLedger(stack, 'Ledger', { encryptionKey: key });
  const ingest = fn(stack, 'Ingest');
  ledger.grantRecordEvents(ingest);
  const keyed = Template.fromStack(stack);
  const table = Object.values(keyed.findResources('AWS::DynamoDB::Table'))[0];
  expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: getAtt(key) });
  expect(statementsOfRole(keyed, logicalId(ingest.role!))).toContainEqual({
    Effect: 'Allow',
    Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'],
    Resource: getAtt(key),
  });
});

// CDK writes each statement's actions sorted.
describe('grants: each function gets its environment and exactly what it uses', () => {
  const indexArn = (ledger: EventLedger, name: string) => ({ 'Fn::Join': ['', [getAtt(ledger.table), `/index/${name}`]] });

  test('ingest records: PutItem and GetItem on the table, nothing on the indexes', () => {
    let ingest!: LambdaFunction;
    const { ledger, template } = build({ retention: Duration.days(45) }, (s, l) => {
      ingest = fn(s, 'Ingest');
      l.grantRecordEvents(ingest);
    });
    expect(statementsOfRole(template, logicalId(ingest.role!))).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem'], Resource: getAtt(ledger.table) },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { [ENV.ledgerTableName]: ref(ledger.table), [ENV.ledgerRetentionDays]: '45' } },
    });
  });

  test('deliver updates: Put/Get/BatchGet on the table (events and receiver health), Query on the unfinished-by-object and by-status indexes only', () => {
    let deliver!: LambdaFunction;
    const { ledger, template } = build({}, (s, l) => {
      deliver = fn(s, 'Deliver');
      l.grantDeliveryUpdates(deliver);
    });
    expect(statementsOfRole(template, logicalId(deliver.role!))).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'], Resource: getAtt(ledger.table) },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: [indexArn(ledger, 'byStatus'), indexArn(ledger, 'unfinishedByObject')] },
    ]);
  });

  test('the sweep: Put/BatchGet on the table, Query on the status index, Scan of the unfinished-by-object index only', () => {
    let sweep!: LambdaFunction;
    const { ledger, template } = build({}, (s, l) => {
      sweep = fn(s, 'Sweep');
      l.grantSweep(sweep);
    });
    expect(statementsOfRole(template, logicalId(sweep.role!))).toEqual([
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:PutItem'], Resource: getAtt(ledger.table) },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: indexArn(ledger, 'byStatus') },
      { Effect: 'Allow', Action: 'dynamodb:Scan', Resource: indexArn(ledger, 'unfinishedByObject') },
    ]);
  });

  test('an operator: reads, Query on every index, Put for resend; never Delete or Update', () => {
    let role!: Role;
    const { ledger, template } = build({}, (s, l) => {
      role = new Role(s, 'Operator', { assumedBy: new ServicePrincipal('ec2.amazonaws.com') });
      l.grantOperator(role);
    });
    const statements = statementsOfRole(template, logicalId(role));
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:PutItem'],
        Resource: getAtt(ledger.table),
      },
      {
        Effect: 'Allow',
        Action: 'dynamodb:Query',
        Resource: Object.values(LEDGER_TABLE.indexes).map((i) => indexArn(ledger, i.indexName)),
      },
    ]);
    expect(JSON.stringify(statements)).not.toMatch(/DeleteItem|UpdateItem|Scan/);
  });
});

test.each([
  [Duration.hours(36), /whole days from 1 to 3650, got 1.5 days/],
  [Duration.days(0), /got 0 days/],
  [Duration.days(4000), /got 4000 days/],
])('retention %s is refused', (retention, message) => {
  expect(() => build({ retention })).toThrow(message);
});

test('the alarm action is notified when an alarm fires and recovers', () => {
  const s = new Stack(newApp(), 'ActionTest');
  const topic = new Topic(s, 'Topic');
  new EventLedger(s, 'Ledger', { alarmAction: new SnsAction(topic) });
  const alarms = Object.values(Template.fromStack(s).findResources('AWS::CloudWatch::Alarm'));
  expect(alarms).toHaveLength(2);
  for (const alarm of alarms) {
    expect(alarm.Properties.AlarmActions).toEqual([ref(topic)]);
    expect(alarm.Properties.OKActions).toEqual([ref(topic)]);
  }
});

describe('billing mode', () => {
  const scalingOf = (template: Template, ledger: EventLedger) => {
    const table = logicalId(ledger.table);
    const targets = template.findResources('AWS::ApplicationAutoScaling::ScalableTarget');
    const policies = Object.values(template.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'));
    return Object.entries(targets).map(([id, target]) => {
      const resource = JSON.stringify(target.Properties.ResourceId);
      expect(resource).toContain(table);
      const policy = policies.find((p) => JSON.stringify(p.Properties.ScalingTargetId) === JSON.stringify({ Ref: id }));
      return {
        part: /\/index\/(\w+)/.exec(resource)?.[1] ?? 'table',
        dimension: target.Properties.ScalableDimension as string,
        min: target.Properties.MinCapacity as number,
        max: target.Properties.MaxCapacity as number,
        policyType: policy?.Properties.PolicyType,
        target: policy?.Properties.TargetTrackingScalingPolicyConfiguration?.TargetValue,
        metric: policy?.Properties.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType,
      };
    });
  };

  test('on demand by default: no capacity, no auto scaling', () => {
    const { template } = build();
    const props = Object.values(template.findResources('AWS::DynamoDB::Table'))[0].Properties;
    expect(props.BillingMode).toBe('PAY_PER_REQUEST');
    expect(props.ProvisionedThroughput).toBeUndefined();
    expect(props.GlobalSecondaryIndexes.every((i: { ProvisionedThroughput?: unknown }) => i.ProvisionedThroughput === undefined)).toBe(true);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  });

  test('provisioned by default sizing: 200 to 2,000 events/s at 70%, read and write on the table and each index, target tracking', () => {
    const { ledger, template } = build({ billingMode: BillingMode.PROVISIONED });
    const props = Object.values(template.findResources('AWS::DynamoDB::Table'))[0].Properties;
    // CDK leaves BillingMode out for provisioned: CloudFormation's default.
    expect(props.BillingMode).toBeUndefined();
    // Starts at the minimum: table writes 2 units per event x 200/s / 0.7.
    expect(props.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 572, WriteCapacityUnits: 572 });
    expect(Object.fromEntries(props.GlobalSecondaryIndexes.map((i: { IndexName: string; ProvisionedThroughput: unknown }) => [i.IndexName, i.ProvisionedThroughput]))).toEqual({
      byInstance: { ReadCapacityUnits: 5, WriteCapacityUnits: 286 },
      byObject: { ReadCapacityUnits: 5, WriteCapacityUnits: 286 },
      byStatus: { ReadCapacityUnits: 5, WriteCapacityUnits: 143 },
      unfinishedByObject: { ReadCapacityUnits: 286, WriteCapacityUnits: 572 },
    });
    const scaling = scalingOf(template, ledger);
    expect(scaling).toHaveLength(10);
    const key = (part: string, kind: 'Read' | 'Write') => scaling.find((s) => s.part === part && s.dimension.endsWith(`:${kind}CapacityUnits`));
    for (const part of ['table', 'byInstance', 'byObject', 'byStatus', 'unfinishedByObject'] as const) {
      for (const kind of ['Read', 'Write'] as const) {
        const found = key(part, kind);
        expect(found).toMatchObject({
          dimension: `dynamodb:${part === 'table' ? 'table' : 'index'}:${kind}CapacityUnits`,
          policyType: 'TargetTrackingScaling',
          target: 70,
          metric: `DynamoDB${kind}CapacityUtilization`,
        });
        const units = LEDGER_UNITS_PER_EVENT[part][kind === 'Read' ? 'read' : 'write'];
        // At the maximum the capacity serves 2,000 events/s at 70%.
        expect(found!.max).toBe(Math.max(100, Math.ceil((2000 * units) / 0.7)));
        expect(found!.min).toBe(Math.max(5, Math.ceil((200 * units) / 0.7)));
      }
    }
    expect(key('table', 'Write')).toMatchObject({ min: 572, max: 5715 });
    // The status index is off the happy path: headroom for failures (0.5 units per event).
    expect(key('byStatus', 'Write')).toMatchObject({ min: 143, max: 1429 });
    expect(key('byInstance', 'Read')).toMatchObject({ min: 5, max: 100 });
    expect(ledger.capacity).toEqual({ minEventsPerSecond: 200, maxEventsPerSecond: 2000, targetUtilizationPercent: 70 });
  });

  test('provisioned sizing follows the props', () => {
    const { ledger, template } = build({
      billingMode: BillingMode.PROVISIONED,
      capacity: { minEventsPerSecond: 0, maxEventsPerSecond: 100, targetUtilizationPercent: 50 },
    });
    const scaling = scalingOf(template, ledger);
    expect(new Set(scaling.map((s) => s.target))).toEqual(new Set([50]));
    // Never below the floor of 5, never a maximum below 100.
    expect(scaling.find((s) => s.part === 'table' && s.dimension.endsWith('WriteCapacityUnits'))).toMatchObject({ min: 5, max: 400 });
    expect(scaling.find((s) => s.part === 'byObject' && s.dimension.endsWith('WriteCapacityUnits'))).toMatchObject({ min: 5, max: 200 });
    expect(ledgerCapacityRange(0, { minEventsPerSecond: 10, maxEventsPerSecond: 20, targetUtilizationPercent: 90 })).toEqual({ min: 5, max: 100 });
  });

  test.each([
    [{ billingMode: BillingMode.PAY_PER_REQUEST, capacity: { maxEventsPerSecond: 10 } }, /only to billingMode PROVISIONED/],
    [{ billingMode: BillingMode.PROVISIONED, capacity: { targetUtilizationPercent: 95 } }, /20 to 90, got 95/],
    [{ billingMode: BillingMode.PROVISIONED, capacity: { minEventsPerSecond: 300, maxEventsPerSecond: 200 } }, /at least minEventsPerSecond \(300\), got 200/],
    [{ billingMode: BillingMode.PROVISIONED, capacity: { minEventsPerSecond: -1 } }, /0 or more, got -1/],
  ] as [EventLedgerProps, RegExp][])('refused: %j', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });

  test('the throttle alarm says what throttles in each mode', () => {
    const describe = (props: EventLedgerProps) =>
      Object.values(build(props).template.findResources('AWS::CloudWatch::Alarm')).find((a) => String(a.Properties.AlarmDescription).includes('throttled'))!.Properties.AlarmDescription;
    expect(describe({})).toMatch(/On-demand tables throttle past twice/);
    expect(describe({ billingMode: BillingMode.PROVISIONED })).toMatch(/until auto scaling catches up/);
  });
});

describe('warm throughput (pre-warming)', () => {
  const warmOf = (template: Template) => {
    const props = Object.values(template.findResources('AWS::DynamoDB::Table'))[0].Properties;
    return {
      table: props.WarmThroughput,
      indexes: Object.fromEntries(
        (props.GlobalSecondaryIndexes as { IndexName: string; WarmThroughput?: unknown }[]).map((i) => [i.IndexName, i.WarmThroughput]),
      ),
    };
  };

  test('not pre-warmed by default', () => {
    const warm = warmOf(build().template);
    expect(warm.table).toBeUndefined();
    expect(Object.values(warm.indexes).every((w) => w === undefined)).toBe(true);
  });

  test('4,000 events/s: each part at its units per event, only above what a new table serves (12,000 read, 4,000 write units/s)', () => {
    const warm = warmOf(build({ warmEventsPerSecond: 4000 }).template);
    // The table: 2 writes per event = 8,000 write units; its 2 reads per event (8,000) are within 12,000.
    expect(warm.table).toEqual({ WriteUnitsPerSecond: 8000 });
    // unfinishedByObject: 2 writes per event (put, then delete when the event finishes).
    expect(warm.indexes.unfinishedByObject).toEqual({ WriteUnitsPerSecond: 8000 });
    // 1 write per event (4,000) and the status index's 0.5 are within a new index's 4,000.
    expect(warm.indexes.byInstance).toBeUndefined();
    expect(warm.indexes.byObject).toBeUndefined();
    expect(warm.indexes.byStatus).toBeUndefined();
  });

  test('reads too once they pass 12,000 units/s', () => {
    const warm = warmOf(build({ warmEventsPerSecond: 7000 }).template);
    expect(warm.table).toEqual({ ReadUnitsPerSecond: 14000, WriteUnitsPerSecond: 14000 });
    expect(warm.indexes.byInstance).toEqual({ WriteUnitsPerSecond: 7000 });
  });

  test('a rate out of range is refused with the setting named', () => {
    expect(() => build({ warmEventsPerSecond: 50 })).toThrow('ledger warmEventsPerSecond must be a whole number from 100 to 100000, got 50');
    expect(() => build({ warmEventsPerSecond: 2500.5 })).toThrow(/got 2500.5/);
  });
});

describe('in the stack', () => {
  test('ledgerBillingMode and its sizing reach the table; a sizing without PROVISIONED is refused', () => {
    const { stack, template } = buildStack({ ledgerBillingMode: BillingMode.PROVISIONED, ledgerMaxEventsPerSecond: 1000 });
    expect(stack.ledger.capacity).toEqual({ minEventsPerSecond: 200, maxEventsPerSecond: 1000, targetUtilizationPercent: 70 });
    const table = template.toJSON().Resources[logicalId(stack.ledger.table)].Properties;
    expect(table.BillingMode).toBeUndefined();
    expect(table.ProvisionedThroughput).toEqual({ ReadCapacityUnits: 572, WriteCapacityUnits: 572 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ScalableDimension: 'dynamodb:table:WriteCapacityUnits', MinCapacity: 572, MaxCapacity: 2858 });
    expect(() => buildStack({ ledgerTargetUtilizationPercent: 50 })).toThrow(/only to billingMode PROVISIONED/);
  });

  test('ledgerWarmEventsPerSecond reaches the table', () => {
    const { stack, template } = buildStack({ ledgerWarmEventsPerSecond: 3000 });
    expect(template.toJSON().Resources[logicalId(stack.ledger.table)].Properties.WarmThroughput).toEqual({ WriteUnitsPerSecond: 6000 });
  });

  test('the table name is a stack output the CLI finds; retention and removal follow the stack props', () => {
    const { stack, template } = buildStack({ ledgerRetention: Duration.days(7), removalPolicy: RemovalPolicy.DESTROY });
    expect(template.toJSON().Outputs[STACK_OUTPUTS.ledgerTableName].Value).toEqual(ref(stack.ledger.table));
    expect(stack.ledger.retention.toDays()).toBe(7);
    const table = Object.values(template.findResources('AWS::DynamoDB::Table'))[0];
    expect(table.DeletionPolicy).toBe('Delete');
  });
});
