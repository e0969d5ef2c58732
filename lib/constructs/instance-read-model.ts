import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { AttributeType, BillingMode, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Grant, IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { IKey, Key } from 'aws-cdk-lib/aws-kms';
import { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { ENV, READ_MODEL, ssmInstanceName } from '../../functions/contract';
import { InstanceConfigAccess } from './instance-config-access';
import { RelayFunction, RelayObservability } from './relay-function';

const SYNC_ENTRY = path.join(__dirname, '..', '..', 'functions', 'config-sync', 'index.ts');

export interface InstanceReadModelProps {
  /** Where the instance configs are (the system of record the read model follows). */
  readonly instanceConfig: InstanceConfigAccess;
  readonly observability: RelayObservability;
  /**
   * How often the whole read model is compared with Parameter Store. Changes arrive through
   * Parameter Store's change events within seconds; the reconcile repairs what a lost event left
   * behind, so this bounds how long that can last.
   *
   * @default Duration.minutes(5)
   */
  readonly reconcileEvery?: Duration;
  /**
   * Sync invocations at the same time. Bounds the GetParameters rate a bulk change (thousands of
   * instances written at once) causes: further change events wait in Lambda's asynchronous queue.
   * One reconcile and one change can run side by side with 2.
   *
   * @default 2
   */
  readonly syncConcurrency?: number;
  /**
   * The KMS key that wraps the read model's data keys.
   *
   * @default - a new customer managed key with yearly rotation
   */
  readonly dataKeyKey?: IKey;
}

/**
 * The instance read model (issue 17): a DynamoDB table ingest and deliver read instead of Parameter
 * Store, which stays the system of record. One item per instance (sealed with a data key wrapped
 * by `dataKeyKey`), a sparse index by store id, and the config-sync function that keeps it in step:
 * on every Parameter Store change event under `<prefix>/instances/` and on a schedule (reconcile).
 *
 * The table holds only derived data (a reconcile rebuilds it from Parameter Store in minutes), so
 * it and its key are removed with the stack in every stage.
 */
export class InstanceReadModel extends Construct {
  public readonly table: Table;
  public readonly dataKeyKey: IKey;
  public readonly syncFunction: NodejsFunction;
  public readonly parameterChangeRule: Rule;
  public readonly reconcileRule: Rule;
  /** The sync failed (the reconcile repairs it, but something is wrong: throttling, permissions, a bug). */
  public readonly syncErrorAlarm: Alarm;

  constructor(scope: Construct, id: string, props: InstanceReadModelProps) {
    super(scope, id);
    const reconcileEvery = props.reconcileEvery ?? Duration.minutes(5);
    const syncConcurrency = props.syncConcurrency ?? 2;
    validate(reconcileEvery, syncConcurrency);
    const config = props.instanceConfig;

    this.table = new Table(this, 'Table', {
      partitionKey: { name: READ_MODEL.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: READ_MODEL.byStoreIndex.indexName,
      partitionKey: { name: READ_MODEL.byStoreIndex.partitionKey, type: AttributeType.STRING },
      // Ingest reads whole documents through it: one Query per store, no second read.
      projectionType: ProjectionType.ALL,
    });

    this.dataKeyKey =
      props.dataKeyKey ??
      new Key(this, 'DataKeyKey', {
        description: 'Ecwid events: wraps the data keys that seal instance configs in the read model table',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });

    const sync = new RelayFunction(this, 'Sync', {
      entry: SYNC_ENTRY,
      description: 'Ecwid events: keeps the instance read model in step with Parameter Store',
      // A reconcile of 10,000 instances pages through DescribeParameters in about 40 s.
      timeout: Duration.minutes(5),
      memorySize: 256,
      observability: props.observability,
    });
    this.syncFunction = sync.function;
    (this.syncFunction.node.defaultChild as CfnFunction).reservedConcurrentExecutions = syncConcurrency;

    this.syncFunction.addEnvironment(ENV.ssmPrefix, config.ssmPrefix);
    config.grantRead(this.syncFunction, sync);
    // Documents of changed instances, 10 per call.
    this.syncFunction.addToRolePolicy(new PolicyStatement({ actions: ['ssm:GetParameters'], resources: [config.parameterArnPattern] }));
    // Version stamps of every instance (metadata only).
    this.syncFunction.addToRolePolicy(new PolicyStatement({ actions: ['ssm:DescribeParameters'], resources: ['*'] }));
    Validations.of(sync).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ssm:DescribeParameters supports no resource-level permissions; it returns metadata only (names, versions, dates), ' +
        'never a value. (With active tracing, X-Ray PutTraceSegments/PutTelemetryRecords need it too.)',
    });

    this.syncFunction.addEnvironment(READ_MODEL.env.tableName, this.table.tableName);
    // The table only (Table.grant would add its indexes): items by key, and the Scan of the version stamps.
    this.syncFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
        resources: [this.table.tableArn],
      }),
    );
    this.syncFunction.addEnvironment(READ_MODEL.env.kmsKeyId, this.dataKeyKey.keyArn);
    this.grantDataKeyUse(this.syncFunction, ['kms:GenerateDataKey', 'kms:Decrypt']);

    this.parameterChangeRule = new Rule(this, 'ParameterChanges', {
      description: 'Syncs an instance config into the read model when it changes in Parameter Store',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['Parameter Store Change'],
        detail: { name: [{ prefix: ssmInstanceName(config.ssmPrefix, '') }] },
      },
      targets: [new LambdaFunction(this.syncFunction, { retryAttempts: 8, maxEventAge: Duration.hours(2) })],
    });
    this.reconcileRule = new Rule(this, 'Reconcile', {
      description: 'Reconciles the instance read model with Parameter Store',
      schedule: Schedule.rate(reconcileEvery),
      targets: [new LambdaFunction(this.syncFunction, { retryAttempts: 0 })],
    });

    this.syncErrorAlarm = new Alarm(this, 'SyncErrorAlarm', {
      metric: this.syncFunction.metricErrors({ period: Duration.minutes(15), statistic: Stats.SUM }),
      threshold: 3,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'The instance read model sync failed three or more times within 15 minutes: config changes may not reach ingest and ' +
        'deliver until a reconcile succeeds. Check the config-sync logs (throttling, permissions, KMS).',
    });
  }

  /**
   * Lets `fn` read instances from the read model: the table name as INSTANCE_TABLE_NAME,
   * dynamodb:GetItem on the table, dynamodb:Query on the store index, and kms:Decrypt of its data
   * keys (only with the read model's encryption context). Nothing else.
   */
  public grantRead(fn: IFunction & { addEnvironment(key: string, value: string): unknown }): void {
    fn.addEnvironment(READ_MODEL.env.tableName, this.table.tableName);
    Grant.addToPrincipal({ grantee: fn, actions: ['dynamodb:GetItem'], resourceArns: [this.table.tableArn] });
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${READ_MODEL.byStoreIndex.indexName}`],
    });
    this.grantDataKeyUse(fn, ['kms:Decrypt']);
  }

  /**
   * Lets `fn` list every instance from the read model (the poller, each run): the table name as
   * INSTANCE_TABLE_NAME, dynamodb:Scan on the table and kms:Decrypt of its data keys (only with
   * the read model's encryption context). Nothing else.
   */
  public grantList(fn: IFunction & { addEnvironment(key: string, value: string): unknown }): void {
    fn.addEnvironment(READ_MODEL.env.tableName, this.table.tableName);
    Grant.addToPrincipal({ grantee: fn, actions: ['dynamodb:Scan'], resourceArns: [this.table.tableArn] });
    this.grantDataKeyUse(fn, ['kms:Decrypt']);
  }

  private grantDataKeyUse(grantee: IGrantable, actions: string[]): void {
    const conditions = Object.fromEntries(
      Object.entries(READ_MODEL.encryptionContext).map(([key, value]) => [`kms:EncryptionContext:${key}`, value]),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions, resources: [this.dataKeyKey.keyArn], conditions: { StringEquals: conditions } }),
    );
  }
}

function validate(reconcileEvery: Duration, syncConcurrency: number): void {
  const seconds = reconcileEvery.toSeconds();
  if (!Number.isInteger(seconds / 60) || seconds < 60 || seconds > 24 * 3600) {
    throw new Error(`reconcileEvery must be whole minutes from 1 minute to 1 day, got ${seconds} s`);
  }
  if (!Number.isInteger(syncConcurrency) || syncConcurrency < 1 || syncConcurrency > 10) {
    throw new Error(`syncConcurrency must be an integer from 1 to 10, got ${syncConcurrency}`);
  }
}
