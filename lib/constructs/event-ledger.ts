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
type LedgerIndexName = keyof typeof LEDGER_TABLE.indexes;

/**
 * Capacity units one delivered event takes from the table and from each index, on the happy path
 * (ingest's record, deliver's outcome): what `npm run bench -- --only ledger` measures
 * (`ledger_*_units_per_event*`, docs/ledger.md "Write units"). Table reads count the entry's
 * consistent GetItem and, as an upper bound, one receiver-health read (each deliver container
 * reads a receiver's record at most once a second). Indexes only the CLI or the once-a-minute
 * sweep read get the floor (LEDGER_CAPACITY_FLOOR). The status index is not on the happy path;
 * its write capacity is headroom for failures, since a throttled index throttles the table's writes.
 */
export const LEDGER_UNITS_PER_EVENT: Readonly<Record<'table' | LedgerIndexName, { readonly read: number; readonly write: number }>> = {
  table: { read: 2, write: 2 },
  byInstance: { read: 0, write: 1 },
  byObject: { read: 0, write: 1 },
  // Not on the happy path (no received or delivered entries): retries, holds and dead letters.
  // Sized for a quarter of the events failing their first attempt (a put, then a delete or move).
  byStatus: { read: 0, write: 0.5 },
  unfinishedByObject: { read: 1, write: 2 },
};

/**
 * Provisioned capacity's bounds whatever the rate: never below 5 units (an idle stage), never a
 * maximum below 100 (an operator's `events list` pages, the sweep's queries, a burst of retries).
 */
export const LEDGER_CAPACITY_FLOOR = { min: 5, max: 100 } as const;

/** What a new on-demand table or index serves at once without pre-warming (DynamoDB's warm throughput defaults). */
export const NEW_TABLE_WARM_THROUGHPUT = { read: 12_000, write: 4_000 } as const;

/**
 * Warm throughput for a part of the table taking `units` per event at `eventsPerSecond`, for the
 * reads and writes above what a new table serves anyway (those are left out: nothing to pay for).
 */
export function ledgerWarmThroughput(
  units: { readonly read: number; readonly write: number },
  eventsPerSecond: number,
): { readUnitsPerSecond?: number; writeUnitsPerSecond?: number } | undefined {
  const read = Math.ceil(units.read * eventsPerSecond);
  const write = Math.ceil(units.write * eventsPerSecond);
  const warm = {
    ...(read > NEW_TABLE_WARM_THROUGHPUT.read ? { readUnitsPerSecond: read } : {}),
    ...(write > NEW_TABLE_WARM_THROUGHPUT.write ? { writeUnitsPerSecond: write } : {}),
  };
  return Object.keys(warm).length > 0 ? warm : undefined;
}

/** Sizing of provisioned capacity, in events per second (each part of the table scales by its own units per event). */
export interface LedgerCapacityProps {
  /**
   * The rate the capacity never scales below. Auto scaling takes a few minutes to follow a burst
   * (DynamoDB's burst credit covers the first seconds); above this rate a sudden burst is
   * throttled until it does (ingest answers 503, Ecwid retries).
   *
   * @default 200 (a tenth of the design peak)
   */
  readonly minEventsPerSecond?: number;
  /**
   * The rate the capacity scales up to serve at the target utilization; up to this rate divided
   * by the target utilization is served before throttling.
   *
   * @default 2000 (README: Sizing for 10,000 stores)
   */
  readonly maxEventsPerSecond?: number;
  /**
   * Target utilization of the consumed capacity, 20 to 90 percent.
   *
   * @default 70
   */
  readonly targetUtilizationPercent?: number;
}

export const LEDGER_CAPACITY_DEFAULTS = { minEventsPerSecond: 200, maxEventsPerSecond: 2000, targetUtilizationPercent: 70 } as const;

/** Min and max capacity units for a part of the table that takes `unitsPerEvent` units per event. */
export function ledgerCapacityRange(unitsPerEvent: number, capacity: Required<LedgerCapacityProps>): { min: number; max: number } {
  const target = capacity.targetUtilizationPercent / 100;
  const min = Math.max(LEDGER_CAPACITY_FLOOR.min, Math.ceil((capacity.minEventsPerSecond * unitsPerEvent) / target));
  const max = Math.max(min, LEDGER_CAPACITY_FLOOR.max, Math.ceil((capacity.maxEventsPerSecond * unitsPerEvent) / target));
  return { min, max };
}

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
  /**
   * On demand bills each request and follows bursts by itself (up to twice the previous peak at
   * once); provisioned capacity bills capacity by the hour, about 40% of on demand's price for the
   * same units at 70% utilization, and follows the traffic by target-tracking auto scaling on the
   * table and on each index, read and write (`capacity`). docs/ledger.md: "Billing mode".
   *
   * @default BillingMode.PAY_PER_REQUEST
   */
  readonly billingMode?: BillingMode;
  /**
   * Provisioned capacity's sizing (only with `billingMode: PROVISIONED`).
   *
   * @default LEDGER_CAPACITY_DEFAULTS (200 to 2,000 events/s at 70% utilization)
   */
  readonly capacity?: LedgerCapacityProps;
  /**
   * Pre-warms the table and each index (DynamoDB warm throughput) for this many events a second at
   * once, each part at its units per event. A new on-demand table serves 4,000 write units/s at
   * once, exactly the table's 2 writes per event at 2,000 events/s, and grows to twice its previous
   * peak within 30 minutes; set this to the peak you expect (a sale, a launch, headroom for
   * retries) so a first burst is not throttled. Only parts that need more than the new-table
   * values are pre-warmed; AWS bills pre-warming once, when it is raised. 100 to 100,000.
   *
   * @default - not pre-warmed
   */
  readonly warmEventsPerSecond?: number;
}

/**
 * The event ledger: one DynamoDB table (on demand or auto-scaled provisioned capacity, point-in-time recovery, encrypted, TTL on
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
  public readonly billingMode: BillingMode;
  /** Provisioned capacity's sizing; undefined on demand. */
  public readonly capacity?: Required<LedgerCapacityProps>;
  /** The rate the table and its indexes are pre-warmed for; undefined: not pre-warmed. */
  public readonly warmEventsPerSecond?: number;
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
    this.billingMode = props.billingMode ?? BillingMode.PAY_PER_REQUEST;
    if (this.billingMode === BillingMode.PROVISIONED) {
      this.capacity = validCapacity({ ...LEDGER_CAPACITY_DEFAULTS, ...definedOnly(props.capacity ?? {}) });
    } else if (props.capacity) {
      throw new Error('ledger capacity applies only to billingMode PROVISIONED');
    }
    const warm = props.warmEventsPerSecond;
    if (warm !== undefined && (!Number.isInteger(warm) || warm < 100 || warm > 100_000)) {
      throw new Error(`ledger warmEventsPerSecond must be a whole number from 100 to 100000, got ${warm}`);
    }
    this.warmEventsPerSecond = warm;
    const tableWarm = warm === undefined ? undefined : ledgerWarmThroughput(LEDGER_UNITS_PER_EVENT.table, warm);
    const tableCapacity = this.capacity && {
      read: ledgerCapacityRange(LEDGER_UNITS_PER_EVENT.table.read, this.capacity),
      write: ledgerCapacityRange(LEDGER_UNITS_PER_EVENT.table.write, this.capacity),
    };

    this.table = new Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.sortKey, type: AttributeType.STRING },
      billingMode: this.billingMode,
      // Provisioned: start at the minimum; auto scaling moves it (CloudFormation leaves it alone after).
      ...(tableCapacity ? { readCapacity: tableCapacity.read.min, writeCapacity: tableCapacity.write.min } : {}),
      ...(tableWarm ? { warmThroughput: tableWarm } : {}),
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
    if (this.capacity && tableCapacity) {
      const target = { targetUtilizationPercent: this.capacity.targetUtilizationPercent };
      this.table.autoScaleReadCapacity({ minCapacity: tableCapacity.read.min, maxCapacity: tableCapacity.read.max }).scaleOnUtilization(target);
      this.table.autoScaleWriteCapacity({ minCapacity: tableCapacity.write.min, maxCapacity: tableCapacity.write.max }).scaleOnUtilization(target);
      for (const name of Object.keys(indexes) as LedgerIndexName[]) {
        const read = ledgerCapacityRange(LEDGER_UNITS_PER_EVENT[name].read, this.capacity);
        const write = ledgerCapacityRange(LEDGER_UNITS_PER_EVENT[name].write, this.capacity);
        this.table.autoScaleGlobalSecondaryIndexReadCapacity(indexes[name].indexName, { minCapacity: read.min, maxCapacity: read.max }).scaleOnUtilization(target);
        this.table.autoScaleGlobalSecondaryIndexWriteCapacity(indexes[name].indexName, { minCapacity: write.min, maxCapacity: write.max }).scaleOnUtilization(target);
      }
    }

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
        (this.billingMode === BillingMode.PROVISIONED
          ? 'Provisioned capacity throttles until auto scaling catches up (minutes) or at its maximum; check the table\'s and each index\'s consumed capacity.'
          : 'On-demand tables throttle past twice their previous peak or on a hot partition; check the table\'s metrics.'),
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
    const units = LEDGER_UNITS_PER_EVENT[index.indexName];
    const warm = this.warmEventsPerSecond === undefined ? undefined : ledgerWarmThroughput(units, this.warmEventsPerSecond);
    this.table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      ...(warm ? { warmThroughput: warm } : {}),
      ...(this.capacity
        ? { readCapacity: ledgerCapacityRange(units.read, this.capacity).min, writeCapacity: ledgerCapacityRange(units.write, this.capacity).min }
        : {}),
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

  /**
   * The sweep: finds due events (Query on the status index; Scan of the unfinished-by-object
   * index for overdue `received` ones, which the status index leaves out), reads and moves them on.
   */
  public grantSweep(fn: LedgerFunction): void {
    this.setEnvironment(fn);
    this.allow(fn, ['dynamodb:PutItem', 'dynamodb:BatchGetItem'], [this.table.tableArn]);
    this.allow(fn, ['dynamodb:Query'], [this.indexArn(LEDGER_TABLE.indexes.byStatus)]);
    this.allow(fn, ['dynamodb:Scan'], [this.indexArn(LEDGER_TABLE.indexes.unfinishedByObject)]);
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

function validCapacity(capacity: Required<LedgerCapacityProps>): Required<LedgerCapacityProps> {
  const { minEventsPerSecond: min, maxEventsPerSecond: max, targetUtilizationPercent: target } = capacity;
  if (!Number.isFinite(min) || min < 0) throw new Error(`ledger minEventsPerSecond must be 0 or more, got ${min}`);
  if (!Number.isFinite(max) || max <= 0 || max < min) throw new Error(`ledger maxEventsPerSecond must be above 0 and at least minEventsPerSecond (${min}), got ${max}`);
  // Application Auto Scaling's range for DynamoDB.
  if (!Number.isFinite(target) || target < 20 || target > 90) throw new Error(`ledger targetUtilizationPercent must be 20 to 90, got ${target}`);
  return capacity;
}

const definedOnly = <T extends object>(value: T): Partial<T> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
