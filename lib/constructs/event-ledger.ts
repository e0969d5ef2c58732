import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, IAlarmAction, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import {
  AttributeType,
  BillingMode,
  Operation,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ENV, LEDGER_TABLE, ledgerIndexSummary } from '../../functions/contract';
import { DEFAULT_LEDGER_RETENTION_DAYS } from '../../functions/core/retry-policy';

type LedgerIndex = (typeof LEDGER_TABLE.indexes)[keyof typeof LEDGER_TABLE.indexes];

/** A function the ledger's grants set environment variables on. */
type LedgerFunction = IFunction & { addEnvironment(key: string, value: string): unknown };

export interface EventLedgerProps {
  /**
   * How long a finished event stays in the ledger (TTL). Ecwid's repeats of an event within this
   * window are answered as duplicates, and `events list/show/resend` can find it. Whole days.
   *
   * @default Duration.days(DEFAULT_LEDGER_RETENTION_DAYS) (30 days)
   */
  readonly retention?: Duration;
  /**
   * Customer managed key for the table.
   *
   * @default - encrypted with an AWS owned key (no charge, no key policy to manage)
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the table (and the events in it) when the stack is deleted. RETAIN also turns
   * on deletion protection.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Where the ledger's alarms notify (and recover).
   *
   * @default - none; the alarms are in `alarms`
   */
  readonly alarmAction?: IAlarmAction;
}

/**
 * The event ledger: one DynamoDB table (on-demand, point-in-time recovery, encrypted, TTL on
 * finished events) that records each event of each instance and every delivery attempt. Layout
 * in functions/contract.ts (LEDGER_TABLE); behaviour in functions/core/ledger.ts.
 *
 * Each `grant*` sets the table name (and retention) on the function beside the permissions it
 * needs, nothing more. Whole-item conditional Puts are the only writes, so no function gets
 * UpdateItem or DeleteItem. Alarms: throttling and DynamoDB's own errors on the table.
 */
export class EventLedger extends Construct {
  public readonly table: Table;
  public readonly retention: Duration;
  public readonly throttleAlarm: Alarm;
  public readonly systemErrorAlarm: Alarm;
  public readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: EventLedgerProps = {}) {
    super(scope, id);
    this.retention = props.retention ?? Duration.days(DEFAULT_LEDGER_RETENTION_DAYS);
    const days = this.retention.toDays({ integral: false });
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new Error(`ledger retention must be whole days from 1 to 3650, got ${days} days`);
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.table = new Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(props.encryptionKey
        ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: props.encryptionKey }
        : { encryption: TableEncryption.DEFAULT }),
      timeToLiveAttribute: LEDGER_TABLE.timeToLiveAttribute,
      removalPolicy,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });
    const { indexes } = LEDGER_TABLE;
    this.addIndex(indexes.byInstance);
    this.addIndex(indexes.byObject);
    this.addIndex(indexes.byStatus);
    this.addIndex(indexes.unfinishedByObject);

    const period = Duration.minutes(5);
    this.throttleAlarm = new Alarm(this, 'ThrottleAlarm', {
      metric: this.table.metricThrottledRequestsForOperations({
        operations: [Operation.PUT_ITEM, Operation.GET_ITEM, Operation.QUERY, Operation.BATCH_GET_ITEM],
        period,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'The event ledger throttled requests in the last 5 minutes: ingest answers 503 (Ecwid retries) and deliver retries later. ' +
        'On-demand tables throttle past twice their previous peak or on a hot partition; check the table\'s metrics.',
    });
    this.systemErrorAlarm = new Alarm(this, 'SystemErrorAlarm', {
      metric: this.table.metricSystemErrorsForOperations({
        operations: [Operation.PUT_ITEM, Operation.GET_ITEM, Operation.QUERY, Operation.BATCH_GET_ITEM],
        period,
        statistic: Stats.SUM,
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'DynamoDB answered the event ledger with internal errors in the last 5 minutes (AWS side). Ingest answers 503 so Ecwid retries; ' +
        'check AWS Health for DynamoDB in the region.',
    });
    this.alarms = [this.throttleAlarm, this.systemErrorAlarm];
    if (props.alarmAction) {
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(props.alarmAction);
        alarm.addOkAction(props.alarmAction);
      }
    }
  }

  private addIndex(index: LedgerIndex): void {
    this.table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
      sortKey: { name: index.sortKey, type: AttributeType.STRING },
      ...(index.projected.length > 0
        ? { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: ledgerIndexSummary(index) }
        : { projectionType: ProjectionType.KEYS_ONLY }),
    });
  }

  /**
   * Ingest: records events (conditional Put, then Put of the next version) and reads one back
   * after a refused condition. LEDGER_TABLE_NAME and LEDGER_RETENTION_DAYS.
   */
  public grantRecordEvents(fn: LedgerFunction): void {
    this.setEnvironment(fn);
    this.allow(fn, ['dynamodb:PutItem', 'dynamodb:GetItem'], [this.table.tableArn]);
  }

  /**
   * Deliver: claims and finishes attempts (versioned Puts), reads entries, and finds the
   * unfinished events of an object (the per-object order rule); reads and writes the receiver
   * health records (items of the same table) and wakes a recovered receiver's held events.
   */
  public grantDeliveryUpdates(fn: LedgerFunction): void {
    this.setEnvironment(fn);
    this.allow(fn, ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:BatchGetItem'], [this.table.tableArn]);
    // byStatus (queued, of one instance): a receiver that is back (circuit closed, resumed) has its held events woken at once.
    this.allow(fn, ['dynamodb:Query'], [this.indexArn(LEDGER_TABLE.indexes.unfinishedByObject), this.indexArn(LEDGER_TABLE.indexes.byStatus)]);
  }

  /** The sweep: finds due events (status index), reads and moves them on. */
  public grantSweep(fn: LedgerFunction): void {
    this.setEnvironment(fn);
    this.allow(fn, ['dynamodb:PutItem', 'dynamodb:BatchGetItem'], [this.table.tableArn]);
    this.allow(fn, ['dynamodb:Query'], [this.indexArn(LEDGER_TABLE.indexes.byStatus)]);
  }

  /**
   * An operator (the CLI's `events list/show/resend`): query every index, read entries, and
   * write the resend transition. Documented in the README as the operator policy.
   */
  public grantOperator(grantee: IGrantable): void {
    this.allow(grantee, ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:DescribeTable'], [this.table.tableArn]);
    this.allow(
      grantee,
      ['dynamodb:Query'],
      Object.values(LEDGER_TABLE.indexes).map((index) => this.indexArn(index)),
    );
  }

  private setEnvironment(fn: LedgerFunction): void {
    fn.addEnvironment(ENV.ledgerTableName, this.table.tableName);
    fn.addEnvironment(ENV.ledgerRetentionDays, String(this.retention.toDays()));
  }

  private allow(grantee: IGrantable, actions: string[], resources: string[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ actions, resources }));
    // A customer key: DynamoDB uses it on the caller's behalf for every read and write.
    this.table.encryptionKey?.grant(grantee, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
  }

  private indexArn(index: LedgerIndex): string {
    return `${this.table.tableArn}/index/${index.indexName}`;
  }
}
