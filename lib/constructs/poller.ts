import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, IAlarmAction, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { CfnFunction, IFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { IQueue, Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, POLL_METRICS, ssmInstanceName, ssmPollLeaseName, ssmPollStateName } from '../../functions/contract';
import { acknowledgeQueueKeyGrant, queueEncryption } from './event-queue';
import { InstanceConfigAccess, nagResourceText } from './instance-config-access';
import type { InstanceReadModel } from './instance-read-model';
import { RelayFunction, RelayObservability } from './relay-function';

const POLL_ENTRY = path.join(__dirname, '..', '..', 'functions', 'poll', 'index.ts');

/** The longest Lambda keeps an asynchronous event. */
const MAX_ASYNC_EVENT_AGE = Duration.hours(6);
/** Lambda's longest timeout. */
const MAX_FUNCTION_TIMEOUT = Duration.minutes(15);
/** Sightings are needed for about the reconciliation lag plus an interval; a day bounds the queue if the poller stops. */
const SIGHTINGS_RETENTION = Duration.days(1);

export interface PollerProps {
  /** The FIFO queue the polled events go to (the one ingest writes and deliver reads). */
  readonly queue: IQueue;
  /** Where the instance configs are; the poller's own state goes under `<prefix>/poller/`. */
  readonly instanceConfig: InstanceConfigAccess;
  /** Base URL of the Ecwid API (`/v3/{storeId}/orders` ... is appended). */
  readonly ecwidApiBaseUrl: string;
  readonly observability: RelayObservability;
  /**
   * How often the poller runs. Each instance is polled when its own `event.poller.refresh_interval`
   * is due, so this is the finest interval an instance can have.
   *
   * @default Duration.minutes(5)
   */
  readonly runEvery?: Duration;
  /**
   * Instances polled at the same time within one run.
   *
   * @default 4
   */
  readonly concurrency?: number;
  /**
   * Customer managed key for the sightings queue.
   *
   * @default - SQS managed server-side encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the sightings queue when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Where the poller's alarms notify (and recover).
   *
   * @default - none; the alarms are in `alarms`
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * Where each run lists the instances: the read model's table (a few Scan pages at 10,000
   * instances) instead of Parameter Store (10 decrypted parameters a call, 1,000 calls a run
   * against the account's 40 a second).
   *
   * @default - listed from Parameter Store
   */
  readonly instanceReadModel?: InstanceReadModel;
  /**
   * The poll function's entry (a TypeScript file exporting `handler`).
   *
   * @default functions/poll/index.ts (the Lambda entry; the handler factory is handler.ts)
   */
  readonly entry?: string;
}

/**
 * Catching up with what webhooks missed: a scheduled function (reserved concurrency 1, so runs
 * never overlap) that polls Ecwid's REST v3 search endpoints for each instance in polling or
 * reconciliation mode and queues normalized events; its per-instance state and leases live in
 * Parameter Store under `<prefix>/poller/`. A standard queue carries webhook sightings from ingest
 * (`grantRecordSightings`) so that reconciliation skips what webhooks delivered. Alarms on
 * refused tokens, failed polls and function errors.
 */
export class Poller extends Construct {
  public readonly function: NodejsFunction;
  public readonly functionLogGroup: LogGroup;
  public readonly rule: Rule;
  public readonly sightingsQueue: Queue;
  public readonly authFailedAlarm: Alarm;
  public readonly pollFailedAlarm: Alarm;
  public readonly errorAlarm: Alarm;
  public readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: PollerProps) {
    super(scope, id);
    const runEvery = props.runEvery ?? Duration.minutes(5);
    const concurrency = props.concurrency ?? 4;
    validatePollerProps(runEvery, concurrency);
    // A run ends before the next one starts: 90% of the period, at most Lambda's maximum.
    const timeout = Duration.seconds(Math.min(Math.floor(runEvery.toSeconds() * 0.9), MAX_FUNCTION_TIMEOUT.toSeconds()));

    const poll = new RelayFunction(this, 'Poll', {
      entry: props.entry ?? POLL_ENTRY,
      description: 'Ecwid events: polls Ecwid for changes webhooks missed and queues them',
      timeout,
      memorySize: 256,
      observability: props.observability,
      environment: {
        [ENV.ecwidApiBaseUrl]: props.ecwidApiBaseUrl,
        [ENV.pollConcurrency]: String(concurrency),
        // Outgoing HTTPS subsegments would record full URLs; keep it as quiet as deliver.
        POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS: 'false',
      },
    });
    this.function = poll.function;
    this.functionLogGroup = poll.logGroup;
    // One run at a time: a run that overruns makes the next tick wait instead of polling twice.
    (this.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions = 1;
    // The next tick is the retry; a tick that waited longer than a period is stale (Lambda keeps
    // async events 60 s to 6 h, so a longer period keeps them 6 h).
    const maxEventAgeSeconds = Math.min(MAX_ASYNC_EVENT_AGE.toSeconds(), Math.max(60, runEvery.toSeconds()));
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(maxEventAgeSeconds) });

    // Instance configs: read each (GetParameter + kms:Decrypt, shared with the other functions) and list them.
    const config = props.instanceConfig;
    this.function.addEnvironment(ENV.ssmPrefix, config.ssmPrefix);
    config.grantRead(this.function, poll);
    const parameterArn = (name: string) =>
      Stack.of(this).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.slice(1) });
    const checkpointsPath = ssmPollStateName(config.ssmPrefix, '').replace(/\/$/, '');
    const leasesPath = ssmPollLeaseName(config.ssmPrefix, '').replace(/\/$/, '');
    // GetParametersByPath is authorized against the path asked for, not the parameters returned.
    this.function.addToRolePolicy(
      new PolicyStatement({
        actions: ['ssm:GetParametersByPath'],
        resources: [
          // The instance listing only when it comes from Parameter Store.
          ...(props.instanceReadModel ? [] : [parameterArn(ssmInstanceName(config.ssmPrefix, '').replace(/\/$/, ''))]),
          parameterArn(checkpointsPath),
        ],
      }),
    );
    // The listing from the read model: INSTANCE_TABLE_NAME beside dynamodb:Scan and the data keys' kms:Decrypt.
    props.instanceReadModel?.grantList(this.function);
    // Its own state: written under checkpoints/, leases created and deleted under leases/. Plain Strings, no KMS.
    this.function.addToRolePolicy(new PolicyStatement({ actions: ['ssm:PutParameter'], resources: [parameterArn(`${checkpointsPath}/*`)] }));
    this.function.addToRolePolicy(
      new PolicyStatement({ actions: ['ssm:PutParameter', 'ssm:DeleteParameter'], resources: [parameterArn(`${leasesPath}/*`)] }),
    );
    const validations = Validations.of(poll);
    for (const pattern of [`${checkpointsPath}/*`, `${leasesPath}/*`]) {
      validations.acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResourceText(Stack.of(this), parameterArn(pattern))}]`,
        reason: 'One state and one lease parameter per instance, created at run time as instances are added; only under the poller subtree.',
      });
    }

    this.function.addEnvironment(ENV.queueUrl, props.queue.queueUrl);
    props.queue.grantSendMessages(this.function);
    acknowledgeQueueKeyGrant(props.queue, poll);

    this.sightingsQueue = new Queue(this, 'SightingsQueue', {
      ...queueEncryption(props.encryptionKey),
      enforceSSL: true,
      retentionPeriod: SIGHTINGS_RETENTION,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.sightingsQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'A log the poller reads, not a work queue: a sighting nobody needs any more simply expires; there is nothing to dead-letter.',
    });
    this.function.addEnvironment(ENV.sightingsQueueUrl, this.sightingsQueue.queueUrl);
    this.sightingsQueue.grantConsumeMessages(this.function);
    acknowledgeQueueKeyGrant(this.sightingsQueue, poll);

    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the Ecwid events poller',
      schedule: Schedule.rate(runEvery),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });

    const metric = (metricName: string) =>
      new Metric({
        namespace: props.observability.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.observability.serviceName },
        statistic: Stats.SUM,
        period: Duration.hours(1),
      });
    const alarm = (alarmId: string, m: Metric | ReturnType<IFunction['metricErrors']>, threshold: number, description: string) =>
      new Alarm(this, alarmId, {
        metric: m,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    this.authFailedAlarm = alarm(
      'AuthFailedAlarm',
      metric(POLL_METRICS.authFailed),
      1,
      'Ecwid refused an instance\'s access token (401/403) within the last hour: its changes are not polled (the checkpoint waits). ' +
        'Find the instance in the poll logs ("refused the access token") and update ecwid.access.token.',
    );
    this.pollFailedAlarm = alarm(
      'PollFailedAlarm',
      metric(POLL_METRICS.failed),
      3,
      'Polls failed three or more times within the last hour (Ecwid unreachable, queue refused events): the checkpoints wait. Check the poll logs.',
    );
    this.errorAlarm = alarm(
      'ErrorAlarm',
      this.function.metricErrors({ period: Duration.minutes(15), statistic: Stats.SUM }),
      1,
      'The poll function failed as a whole (instances could not be listed, or a bug). Check its logs.',
    );
    this.alarms = [this.authFailedAlarm, this.pollFailedAlarm, this.errorAlarm];
    if (props.alarmAction) {
      for (const a of this.alarms) {
        a.addAlarmAction(props.alarmAction);
        a.addOkAction(props.alarmAction);
      }
    }
  }

  /**
   * Lets `fn` (the ingest function) record webhook sightings: the queue's URL as SIGHTINGS_QUEUE_URL
   * and sqs:SendMessage on it, nothing else.
   */
  public grantRecordSightings(fn: IFunction & { addEnvironment(key: string, value: string): unknown }, policyScope?: Construct): void {
    fn.addEnvironment(ENV.sightingsQueueUrl, this.sightingsQueue.queueUrl);
    this.sightingsQueue.grantSendMessages(fn);
    if (policyScope) acknowledgeQueueKeyGrant(this.sightingsQueue, policyScope);
  }
}

function validatePollerProps(runEvery: Duration, concurrency: number): void {
  const seconds = runEvery.toSeconds();
  if (!Number.isInteger(seconds / 60) || seconds < 60 || seconds > 24 * 3600) {
    throw new Error(`runEvery must be whole minutes from 1 minute to 1 day, got ${seconds} s`);
  }
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 50) {
    throw new Error(`poller concurrency must be an integer from 1 to 50, got ${concurrency}`);
  }
}
