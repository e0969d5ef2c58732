import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, StackProps, Tags, Token } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { BillingMode } from 'aws-cdk-lib/aws-dynamodb';
import { IKey, Key } from 'aws-cdk-lib/aws-kms';
import { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { attemptsForSchedule, DEFAULT_RETRY_SCHEDULE_SECONDS, redriveMaxReceiveCount } from '../functions/core/retry-policy';
import { DEFAULT_STAGE, DEFAULTS, ENV, STACK_OUTPUTS, STAGE_PATTERN, ssmInstanceName, ssmPrefixForStage, ssmStoreIndexName } from '../functions/contract';
import { Delivery, DELIVER_VISIBILITY_TIMEOUT } from './constructs/delivery';
import { EventLedger } from './constructs/event-ledger';
import { EventQueue, MAX_QUEUE_RETENTION } from './constructs/event-queue';
import { IngestApi } from './constructs/ingest-api';
import { InstanceConfigAccess } from './constructs/instance-config-access';
import { InstanceReadModel } from './constructs/instance-read-model';
import { Monitoring } from './constructs/monitoring';
import { OperationalNotices } from './constructs/operational-notices';
import { OperatorAccess } from './constructs/operator-access';
import { Poller } from './constructs/poller';
import { RetrySweep } from './constructs/retry-sweep';
import { RelayObservability } from './constructs/relay-function';

export interface EcwidEventsStackProps extends StackProps {
  /**
   * The scheduled poller, which polls Ecwid for the instances in polling or reconciliation mode
   * (`event.vendor.type`, `event.poller.reconcile`) and catches up with what webhooks missed.
   *
   * @default true
   */
  readonly polling?: boolean;
  /**
   * How often the poller runs (whole minutes); each instance is polled when its own
   * `event.poller.refresh_interval` is due.
   *
   * @default Duration.minutes(5)
   */
  readonly pollSchedule?: Duration;
  /**
   * Deployment stage (lower-case letters, digits, hyphens). Stages live side by side: it names
   * the default parameter prefix and the Powertools service, so stages never share data or metrics.
   *
   * @default 'dev'
   */
  readonly stage?: string;
  /**
   * Parameter Store path of the instance configs (`<prefix>/instances/<id>`, `<prefix>/stores/<storeId>`).
   *
   * @default `${DEFAULTS.ssmPrefix}/${stage}`, e.g. `/ecwid-events/dev`
   */
  readonly ssmPrefix?: string;
  /**
   * Customer managed key the instance SecureStrings are encrypted with (a key, or its ARN).
   *
   * @default - the AWS managed key `alias/aws/ssm`
   */
  readonly ssmKmsKey?: IKey | string;
  /**
   * Customer managed key for both queues (a key, or its ARN).
   *
   * @default - SQS managed server-side encryption (SSE-SQS)
   */
  readonly queueKmsKey?: IKey | string;
  /**
   * Backoff in seconds after the 1st, 2nd, ... failed delivery attempt (each at most 43200, SQS's cap).
   *
   * @default DEFAULT_RETRY_SCHEDULE_SECONDS from functions/core/retry-policy.ts
   *   (1 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 12 h: about 40 h in all)
   */
  readonly retrySchedule?: readonly number[];
  /**
   * Delivery attempts before an event is dead-lettered. SQS's own redrive (a backstop) is set
   * to two receives more.
   *
   * @default - `retrySchedule.length + 1` (11 with the default schedule)
   */
  readonly maxAttempts?: number;
  /**
   * Timeout of one callback POST.
   *
   * @default Duration.millis(DEFAULTS.callbackTimeoutMs) (10 s)
   */
  readonly callbackTimeout?: Duration;
  /**
   * Ports a callback URL may name (1 to 65535); deliver refuses any other before connecting, so
   * an instance cannot point it at a non-web service of a public host.
   *
   * @default [443, 8443] (DEFAULT_CALLBACK_PORTS in functions/core/callback/ssrf.ts)
   */
  readonly callbackPorts?: number[];
  /**
   * How long a function keeps an instance config before reading the read model again.
   *
   * @default Duration.seconds(DEFAULTS.configCacheSeconds) (30 s: a change is visible within 60 s)
   */
  readonly configCache?: Duration;
  /**
   * Ingest refuses a webhook whose `eventCreated` is older than this (answered 200, not queued,
   * `EventsDroppedStale`): Ecwid signs only `{eventCreated}.{eventId}`, so a captured signature
   * must stop working. Keep it wider than Ecwid's retry span (24 h today, 48 h in older docs).
   *
   * @default Duration.seconds(DEFAULTS.webhookMaxAgeSeconds) (48 h)
   */
  readonly webhookMaxAge?: Duration;
  /**
   * Most concurrent deliver invocations (2 to 1000); bounds the load on Ecwid and on callbacks.
   * One invocation delivers about 10 events a second (a batch of 10 objects in parallel, Ecwid
   * 150-600 ms, callback 200 ms; `deliver_capacity_events_per_s` in bench/results.json).
   *
   * @default 300 (2,000 events/s with headroom; README: Sizing)
   */
  readonly deliveryMaxConcurrency?: number;
  /**
   * Concurrency reserved for (and capping) the ingest function. A steady 2,000 events/s needs
   * about 40; a cold start at that rate needs rate x init time (about 500) until the environments
   * are warm.
   *
   * @default 600 (README: Sizing)
   */
  readonly ingestReservedConcurrency?: number;
  /**
   * Steady-state requests per second the ingest API accepts.
   *
   * @default 2500 (2,000 events/s and 25% headroom)
   */
  readonly throttlingRateLimit?: number;
  /**
   * Requests the ingest API accepts in a burst.
   *
   * @default 5000
   */
  readonly throttlingBurstLimit?: number;
  /**
   * Alarm when the oldest message in the main queue is older than this.
   *
   * @default Duration.hours(1)
   */
  readonly oldestMessageAgeAlarmThreshold?: Duration;
  /**
   * Email address for all alarms (via an SNS topic; confirm the subscription mail).
   *
   * @default - no topic; alarms only on the dashboard
   */
  readonly alarmEmail?: string;
  /**
   * Email address for operational notices: a receiver failing, its circuit opening, recovering,
   * being disabled (via the notices SNS topic; confirm the subscription mail).
   *
   * @default - no subscription; the topic (output NoticeTopicArn) is there for other subscribers
   */
  readonly noticeEmail?: string;
  /**
   * Circuit breaker per receiver (docs/health.md): failures in a row that open it, if they span
   * at least `breakerMinSpan` (a short blip never opens it). A `410 Gone` opens it at once.
   *
   * @default DEFAULTS.breakerFailures (10)
   */
  readonly breakerFailures?: number;
  /**
   * The least time from the first to the last of those failures.
   *
   * @default Duration.seconds(DEFAULTS.breakerSpanSeconds) (5 minutes)
   */
  readonly breakerMinSpan?: Duration;
  /**
   * While a receiver's circuit is open: time between probes (one request at a time).
   *
   * @default Duration.seconds(DEFAULTS.breakerProbeSeconds) (60 s)
   */
  readonly breakerProbeInterval?: Duration;
  /**
   * A receiver with no successful delivery for this long since it began failing is disabled
   * (notice sent; its events stay in the ledger for `events resend`).
   *
   * @default Duration.seconds(DEFAULTS.receiverDisableAfterSeconds) (5 days)
   */
  readonly receiverDisableAfter?: Duration;
  /**
   * An attempt still unanswered after this long marks its receiver slow (docs/health.md,
   * "States"): its events then go out at most `slowReceiverMaxInFlight` at a time, so a slow
   * receiver cannot hold every deliver container. The first faster answer ends the state. From
   * 100 ms up to `callbackTimeout`.
   *
   * @default Duration.millis(DEFAULTS.slowReceiverAfterMs) (2 s)
   */
  readonly slowReceiverThreshold?: Duration;
  /**
   * While a receiver is slow: its attempts in flight at once, across every deliver container (1 to 100).
   *
   * @default DEFAULTS.slowReceiverMaxInFlight (2)
   */
  readonly slowReceiverMaxInFlight?: number;
  /**
   * Retention of the function and access logs.
   *
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Minimum level of the functions' application logs.
   *
   * @default ApplicationLogLevel.INFO
   */
  readonly logLevel?: ApplicationLogLevel;
  /**
   * Base URL of the Ecwid API.
   *
   * @default DEFAULTS.ecwidApiBaseUrl (`https://app.ecwid.com/api`)
   */
  readonly ecwidApiBaseUrl?: string;
  /**
   * What happens to the queues (with their messages) and log groups when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * X-Ray active tracing and the Powertools Tracer in the functions. Off by default for cost and
   * cold start: Lambda samples 1 request a second plus 5% (not configurable for Lambda), about
   * $0.28 per million events at 2,000 events/s, and loading the Tracer adds ~25 ms to each cold
   * start; the ledger keeps every event and attempt, and the metrics and logs remain.
   *
   * @default false
   */
  readonly tracing?: boolean;
  /**
   * Lambda's own log records (START, END, REPORT: ~500 bytes per invocation) are kept at INFO and
   * dropped at WARN. Duration, errors and throttles remain as CloudWatch metrics either way.
   *
   * @default SystemLogLevel.WARN
   */
  readonly platformLogLevel?: SystemLogLevel;
  /**
   * How often the instance read model is reconciled with Parameter Store (changes arrive within
   * seconds through Parameter Store's change events; the reconcile repairs a lost one).
   *
   * @default Duration.minutes(5)
   */
  readonly configReconcileEvery?: Duration;
  /**
   * CloudWatch namespace of the functions' Powertools metrics.
   *
   * @default 'EcwidEvents'
   */
  readonly metricsNamespace?: string;
  /**
   * How long the event ledger keeps a finished event (whole days): Ecwid's repeats of it within
   * this window are answered as duplicates, and the CLI's `events` commands can find and resend it.
   *
   * @default Duration.days(30) (DEFAULT_LEDGER_RETENTION_DAYS in functions/core/retry-policy.ts)
   */
  readonly ledgerRetention?: Duration;
  /**
   * Customer managed key for the event ledger's table (a key, or its ARN).
   *
   * @default - an AWS owned key
   */
  readonly ledgerKmsKey?: IKey | string;
  /**
   * The event ledger's billing: on demand (each request billed, bursts followed at once) or
   * provisioned capacity with target-tracking auto scaling on the table and each index (cheaper
   * per unit, minutes to follow a burst). docs/ledger.md: "Billing mode"; README: Sizing.
   *
   * @default BillingMode.PAY_PER_REQUEST
   */
  readonly ledgerBillingMode?: BillingMode;
  /**
   * Provisioned only: the event rate the ledger's capacity never scales below (each part of the
   * table gets its units per event for this rate at the target utilization, at least 5).
   *
   * @default 200 (LEDGER_CAPACITY_DEFAULTS)
   */
  readonly ledgerMinEventsPerSecond?: number;
  /**
   * Provisioned only: the event rate the ledger's capacity scales up to serve at the target utilization.
   *
   * @default 2000 (LEDGER_CAPACITY_DEFAULTS; README: Sizing for 10,000 stores)
   */
  readonly ledgerMaxEventsPerSecond?: number;
  /**
   * Provisioned only: auto scaling's target utilization, 20 to 90 percent.
   *
   * @default 70 (LEDGER_CAPACITY_DEFAULTS)
   */
  readonly ledgerTargetUtilizationPercent?: number;
  /**
   * Pre-warms the ledger's table and indexes for this many events a second at once (warm
   * throughput; EventLedgerProps.warmEventsPerSecond). A new on-demand table's 4,000 write units/s
   * are exactly 2,000 events/s; set the peak you expect before a launch. 100 to 100,000.
   *
   * @default - not pre-warmed
   */
  readonly ledgerWarmEventsPerSecond?: number;
}

/** Relay defaults that are infrastructure choices (the runtime ones are in functions/contract.ts). */
export const STACK_DEFAULTS = {
  deliveryMaxConcurrency: 300,
  ingestReservedConcurrency: 600,
  throttlingRateLimit: 2500,
  throttlingBurstLimit: 5000,
  oldestMessageAgeAlarmThreshold: Duration.hours(1),
  logRetention: RetentionDays.ONE_MONTH,
  metricsNamespace: DEFAULTS.metricsNamespace,
} as const;

/**
 * The Ecwid events relay: HTTP API + ingest function → SQS FIFO (+ DLQ) → deliver function →
 * customer callbacks, with instance configs in Parameter Store, alarms and a dashboard.
 */
export class EcwidEventsStack extends Stack {
  public readonly stage: string;
  public readonly ssmPrefix: string;
  /** The Powertools `service` of both functions (metrics dimension, log field). */
  public readonly serviceName: string;
  public readonly eventQueue: EventQueue;
  public readonly ingestApi: IngestApi;
  public readonly delivery: Delivery;
  public readonly monitoring: Monitoring;
  /** Present unless `polling` is false. */
  public readonly poller?: Poller;
  public readonly ledger: EventLedger;
  /** Sends the tickets of due ledger entries: retries whose backoff is over, anything stuck. */
  public readonly retrySweep: RetrySweep;
  public readonly instanceReadModel: InstanceReadModel;
  public readonly notices: OperationalNotices;
  /** The managed policy the operator CLI needs (output `OperatorPolicyArn`). */
  public readonly operatorAccess: OperatorAccess;

  constructor(scope: Construct, id: string, props: EcwidEventsStackProps = {}) {
    super(scope, id, {
      description: 'Ecwid events relay: receives Ecwid notifications, queues them, delivers signed callbacks',
      ...props,
    });
    this.stage = props.stage ?? DEFAULT_STAGE;
    if (!STAGE_PATTERN.test(this.stage)) {
      throw new Error(`stage "${this.stage}" is invalid: use lower-case letters, digits and "-", starting with a letter (max 24)`);
    }
    this.ssmPrefix = props.ssmPrefix ?? ssmPrefixForStage(this.stage);
    this.serviceName = `ecwid-events-${this.stage}`;
    // Keys given by ARN (from the deployment configuration) are imported here.
    const ssmKmsKey = keyOf(this, 'SsmKmsKey', props.ssmKmsKey);
    const queueKmsKey = keyOf(this, 'QueueKmsKey', props.queueKmsKey);
    const ledgerKmsKey = keyOf(this, 'LedgerKmsKey', props.ledgerKmsKey);
    const retrySchedule = props.retrySchedule ?? DEFAULT_RETRY_SCHEDULE_SECONDS;
    // As the deliver function reads it (DEFAULT_MAX_ATTEMPTS for the default schedule).
    const maxAttempts = props.maxAttempts ?? attemptsForSchedule(retrySchedule);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const configCache = props.configCache ?? Duration.seconds(DEFAULTS.configCacheSeconds);

    // A sanity bound kept from when retries waited in the queue: with the ledger they wait in the
    // table (the sweep sends their tickets), but a schedule longer than two weeks is a mistake.
    const retryTotal = retrySchedule.reduce((total, s) => total + s, 0);
    if (retryTotal >= MAX_QUEUE_RETENTION.toSeconds()) {
      throw new Error(`retrySchedule sums to ${retryTotal} s, longer than the queue keeps messages (${MAX_QUEUE_RETENTION.toSeconds()} s)`);
    }

    const observability: RelayObservability = {
      serviceName: this.serviceName,
      metricsNamespace: props.metricsNamespace ?? STACK_DEFAULTS.metricsNamespace,
      logLevel: props.logLevel ?? ApplicationLogLevel.INFO,
      logRetention: props.logRetention ?? STACK_DEFAULTS.logRetention,
      tracing: props.tracing ?? false,
      platformLogLevel: props.platformLogLevel ?? SystemLogLevel.WARN,
      removalPolicy,
    };

    const instanceConfig = new InstanceConfigAccess(this, 'InstanceConfig', {
      ssmPrefix: this.ssmPrefix,
      ssmKmsKey,
    });

    this.eventQueue = new EventQueue(this, 'EventQueue', {
      visibilityTimeout: DELIVER_VISIBILITY_TIMEOUT,
      // Backstop only: deliver dead-letters on its last attempt (spare receives: core/retry-policy.ts).
      maxReceiveCount: redriveMaxReceiveCount(maxAttempts),
      encryptionKey: queueKmsKey,
      removalPolicy,
    });

    this.ingestApi = new IngestApi(this, 'IngestApi', {
      queue: this.eventQueue.queue,
      instanceConfig,
      configCache,
      webhookMaxAge: props.webhookMaxAge ?? Duration.seconds(DEFAULTS.webhookMaxAgeSeconds),
      throttlingRateLimit: props.throttlingRateLimit ?? STACK_DEFAULTS.throttlingRateLimit,
      throttlingBurstLimit: props.throttlingBurstLimit ?? STACK_DEFAULTS.throttlingBurstLimit,
      reservedConcurrency: props.ingestReservedConcurrency ?? STACK_DEFAULTS.ingestReservedConcurrency,
      observability,
      removalPolicy,
    });

    this.delivery = new Delivery(this, 'Delivery', {
      queue: this.eventQueue.queue,
      deadLetterQueue: this.eventQueue.deadLetterQueue,
      instanceConfig,
      configCache,
      retrySchedule,
      maxAttempts,
      callbackTimeout: props.callbackTimeout ?? Duration.millis(DEFAULTS.callbackTimeoutMs),
      callbackPorts: props.callbackPorts,
      ecwidApiBaseUrl: props.ecwidApiBaseUrl ?? DEFAULTS.ecwidApiBaseUrl,
      maxConcurrency: props.deliveryMaxConcurrency ?? STACK_DEFAULTS.deliveryMaxConcurrency,
      breaker: {
        failures: props.breakerFailures ?? DEFAULTS.breakerFailures,
        minSpan: props.breakerMinSpan ?? Duration.seconds(DEFAULTS.breakerSpanSeconds),
        probeInterval: props.breakerProbeInterval ?? Duration.seconds(DEFAULTS.breakerProbeSeconds),
        disableAfter: props.receiverDisableAfter ?? Duration.seconds(DEFAULTS.receiverDisableAfterSeconds),
        slowAfter: props.slowReceiverThreshold ?? Duration.millis(DEFAULTS.slowReceiverAfterMs),
        slowMaxInFlight: props.slowReceiverMaxInFlight ?? DEFAULTS.slowReceiverMaxInFlight,
      },
      observability,
    });

    // What ingest and deliver read instead of Parameter Store (Parameter Store stays the system of record).
    this.instanceReadModel = new InstanceReadModel(this, 'InstanceReadModel', {
      instanceConfig,
      observability,
      reconcileEvery: props.configReconcileEvery,
    });
    this.instanceReadModel.grantRead(this.ingestApi.function);
    this.instanceReadModel.grantRead(this.delivery.function);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      queue: this.eventQueue.queue,
      deadLetterQueue: this.eventQueue.deadLetterQueue,
      api: this.ingestApi.api,
      ingestFunction: this.ingestApi.function,
      deliverFunction: this.delivery.function,
      metricsNamespace: observability.metricsNamespace,
      serviceName: this.serviceName,
      oldestMessageAgeAlarmThreshold: props.oldestMessageAgeAlarmThreshold ?? STACK_DEFAULTS.oldestMessageAgeAlarmThreshold,
      alarmEmail: props.alarmEmail,
    });

    // The ledger's own alarms go where the relay's go.
    this.ledger = new EventLedger(this, 'Ledger', {
      retention: props.ledgerRetention,
      encryptionKey: ledgerKmsKey,
      removalPolicy,
      alarmAction: this.monitoring.alarmTopic ? new SnsAction(this.monitoring.alarmTopic) : undefined,
      billingMode: props.ledgerBillingMode,
      // Set without PROVISIONED, the sizing is refused rather than ignored.
      capacity:
        props.ledgerBillingMode === BillingMode.PROVISIONED ||
        [props.ledgerMinEventsPerSecond, props.ledgerMaxEventsPerSecond, props.ledgerTargetUtilizationPercent].some((v) => v !== undefined)
          ? {
              minEventsPerSecond: props.ledgerMinEventsPerSecond,
              maxEventsPerSecond: props.ledgerMaxEventsPerSecond,
              targetUtilizationPercent: props.ledgerTargetUtilizationPercent,
            }
          : undefined,
      warmEventsPerSecond: props.ledgerWarmEventsPerSecond,
    });
    // Ingest records each event before it answers Ecwid: conditional Puts and the read after a refused one.
    this.ledger.grantRecordEvents(this.ingestApi.function);
    // Deliver counts attempts in the ledger and decides from it (claims, outcomes, the per-object order).
    this.ledger.grantDeliveryUpdates(this.delivery.function);
    this.retrySweep = new RetrySweep(this, 'RetrySweep', {
      ledger: this.ledger,
      queue: this.eventQueue.queue,
      observability,
      alarmAction: this.monitoring.alarmTopic ? new SnsAction(this.monitoring.alarmTopic) : undefined,
    });

    this.notices = new OperationalNotices(this, 'Notices', { email: props.noticeEmail });
    // Deliver sees each receiver's state change (failing, circuit open, recovered, disabled).
    this.notices.grantPublish(this.delivery.function);
    if (this.monitoring.alarmTopic) {
      this.instanceReadModel.syncErrorAlarm.addAlarmAction(new SnsAction(this.monitoring.alarmTopic));
      this.instanceReadModel.syncErrorAlarm.addOkAction(new SnsAction(this.monitoring.alarmTopic));
    }
    this.operatorAccess = new OperatorAccess(this, 'Operator', {
      queue: this.eventQueue.queue,
      deadLetterQueue: this.eventQueue.deadLetterQueue,
      instanceConfig,
      ledgerTable: this.ledger.table,
      noticeTopic: this.notices.topic,
      instanceReadModel: this.instanceReadModel,
      queueKmsKey,
      ledgerKmsKey,
    });

    if (props.polling ?? true) {
      this.poller = new Poller(this, 'Poller', {
        queue: this.eventQueue.queue,
        instanceConfig,
        ecwidApiBaseUrl: props.ecwidApiBaseUrl ?? DEFAULTS.ecwidApiBaseUrl,
        observability,
        runEvery: props.pollSchedule,
        encryptionKey: queueKmsKey,
        removalPolicy,
        alarmAction: this.monitoring.alarmTopic ? new SnsAction(this.monitoring.alarmTopic) : undefined,
        instanceReadModel: this.instanceReadModel,
      });
      // Ingest notes each queued webhook, so that reconciliation polls skip what webhooks delivered.
      this.poller.grantRecordSightings(this.ingestApi.function, this.ingestApi);
    }

    // Not the dashboard nor the ledger's auto scaling targets: CloudFormation tags on them are new
    // and cfn-lint's schema rejects them.
    const tagOptions = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard', 'AWS::ApplicationAutoScaling::ScalableTarget'] };
    Tags.of(this).add('app', 'ecwid-events', tagOptions);
    Tags.of(this).add('stage', this.stage, tagOptions);

    this.addOutputs(ssmKmsKey);
  }

  private addOutputs(ssmKmsKey: IKey | undefined): void {
    const queue = this.eventQueue.queue;
    const dlq = this.eventQueue.deadLetterQueue;
    new CfnOutput(this, STACK_OUTPUTS.ingestUrl, {
      value: this.ingestApi.ingestUrl,
      description:
        'Register in Ecwid: as the webhook URL of your Ecwid app (signed webhooks; the store id in the body selects ' +
        'the instances), or as the ION Cannon endpoint URL on the store\'s Legacy API keys page. Append /<instanceId> ' +
        'to address one instance.',
    });
    new CfnOutput(this, STACK_OUTPUTS.queueUrl, { value: queue.queueUrl, description: 'Event queue (FIFO) URL' });
    new CfnOutput(this, STACK_OUTPUTS.queueArn, { value: queue.queueArn, description: 'Event queue (FIFO) ARN' });
    new CfnOutput(this, STACK_OUTPUTS.deadLetterQueueUrl, {
      value: dlq.queueUrl,
      description: 'Dead-letter queue URL: events that could not be delivered (inspect and replay with the CLI)',
    });
    new CfnOutput(this, STACK_OUTPUTS.deadLetterQueueArn, { value: dlq.queueArn, description: 'Dead-letter queue ARN' });
    new CfnOutput(this, STACK_OUTPUTS.ledgerTableName, {
      value: this.ledger.table.tableName,
      description: 'Event ledger table: every event and delivery attempt (the CLI\'s events list/show/resend)',
    });
    new CfnOutput(this, STACK_OUTPUTS.instanceTableName, {
      value: this.instanceReadModel.table.tableName,
      description: 'Instance read model: what ingest and deliver read (kept in step with Parameter Store by the config-sync function)',
    });
    new CfnOutput(this, STACK_OUTPUTS.configSyncFunctionName, {
      value: this.instanceReadModel.syncFunction.functionName,
      description: 'Config-sync function: the CLI invokes it after writing an instance, so the change is visible at once',
    });
    new CfnOutput(this, STACK_OUTPUTS.noticeTopicArn, {
      value: this.notices.topic.topicArn,
      description: 'SNS topic of operational notices: a receiver failing, its circuit open, recovered, disabled',
    });
    new CfnOutput(this, STACK_OUTPUTS.dashboardUrl, {
      value: Fn.join('', [
        'https://console.aws.amazon.com/cloudwatch/home?region=',
        Aws.REGION,
        '#dashboards:name=',
        this.monitoring.dashboard.dashboardName,
      ]),
      description: 'The CloudWatch dashboard: alarms, ingest and delivery counts, queue depth, functions (docs/runbook.md)',
    });
    new CfnOutput(this, STACK_OUTPUTS.operatorPolicyArn, {
      value: this.operatorAccess.policy.managedPolicyArn,
      description: 'Attach to the users or roles that run the operator CLI (npx ecwid-events --stack): this stack only, least privilege',
    });
    new CfnOutput(this, STACK_OUTPUTS.ssmPrefix, {
      value: this.ssmPrefix,
      description:
        `Instance configs: SecureString ${ssmInstanceName(this.ssmPrefix, '<instanceId>')} and store index ` +
        `${ssmStoreIndexName(this.ssmPrefix, '<storeId>')} (read by the functions through ${ENV.ssmPrefix}); ` +
        'create them with the CLI',
    });
    // Only with a customer key: the CLI must encrypt instance configs with the key the functions may decrypt.
    // A key defined in another stack of the app is already that stack's export (an output re-exporting
    // an import is cfn-lint W6001): the CLI then takes it from that stack or from --kms-key-id.
    if (ssmKmsKey && (!Token.isUnresolved(ssmKmsKey.keyArn) || Stack.of(ssmKmsKey) === this)) {
      new CfnOutput(this, STACK_OUTPUTS.ssmKmsKeyId, {
        value: ssmKmsKey.keyArn,
        description: 'KMS key the instance SecureStrings must be encrypted with (the CLI uses it)',
      });
    }
  }
}

/** A key as given: an IKey as it is, an ARN imported into `scope`. */
function keyOf(scope: Construct, id: string, key: IKey | string | undefined): IKey | undefined {
  return typeof key === 'string' ? Key.fromKeyArn(scope, id, key) : key;
}
