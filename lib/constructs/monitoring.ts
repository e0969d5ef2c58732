import { Duration, Token } from 'aws-cdk-lib';
import { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  IMetric,
  Metric,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DELIVER_METRICS, INGEST_METRICS, REJECTIONS, rejectionMetric, type RejectionReason } from '../../functions/contract';

/** Ingest's Powertools (EMF) metrics: the contract's names, which the code counts, so the dashboard cannot drift. */
export const INGEST_METRIC_NAMES: readonly string[] = Object.values(INGEST_METRICS);
/** One `Rejected<Reason>` metric per rejection reason. */
export const INGEST_REJECTION_METRIC_NAMES: readonly string[] = (Object.keys(REJECTIONS) as RejectionReason[]).map(
  rejectionMetric,
);
/** Deliver's outcome counters (everything but the latency). */
export const DELIVERY_METRIC_NAMES: readonly string[] = Object.values(DELIVER_METRICS).filter((name) => name !== DELIVER_METRICS.latency);
export const DELIVERY_LATENCY_METRIC = DELIVER_METRICS.latency;

export interface MonitoringProps {
  readonly queue: IQueue;
  readonly deadLetterQueue: IQueue;
  readonly api: IHttpApi;
  readonly ingestFunction: IFunction;
  readonly deliverFunction: IFunction;
  /** Namespace of the functions' Powertools metrics. */
  readonly metricsNamespace: string;
  /** The Powertools `service` dimension the functions publish with. */
  readonly serviceName: string;
  /** Alarm when the oldest message in the main queue is older than this. */
  readonly oldestMessageAgeAlarmThreshold: Duration;
  /**
   * Address that receives every alarm (and its recovery) through an SNS topic.
   * The subscription must be confirmed from the email AWS sends.
   *
   * @default - no topic; the alarms are in `alarms` for the caller to wire
   */
  readonly alarmEmail?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
/** Webhooks dropped for their signature in 5 minutes before the alarm fires (one stray post is no news). */
export const BAD_SIGNATURE_ALARM_THRESHOLD = 5;
/** Notifications dropped for an unknown store in 5 minutes before the alarm fires. */
export const UNKNOWN_STORE_ALARM_THRESHOLD = 5;

/** The relay's alarms (optionally mailed through SNS) and one dashboard. */
export class Monitoring extends Construct {
  public readonly alarms: Alarm[] = [];
  public readonly deadLetterQueueAlarm: Alarm;
  public readonly oldestMessageAgeAlarm: Alarm;
  public readonly ingestServerErrorAlarm: Alarm;
  public readonly deliverErrorAlarm: Alarm;
  public readonly deliverThrottleAlarm: Alarm;
  /** Webhooks answered 200 but not queued because no signature verified: a rotated client secret, or someone probing. */
  public readonly badSignatureAlarm: Alarm;
  /** Notifications answered 200 but not queued because no instance is configured for their store. */
  public readonly unknownStoreAlarm: Alarm;
  public readonly alarmTopic?: Topic;
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const ageSeconds = props.oldestMessageAgeAlarmThreshold.toSeconds();
    if (ageSeconds < 60) throw new Error(`oldestMessageAgeAlarmThreshold must be at least 1 minute, got ${ageSeconds} s`);
    if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^@\s]+@[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`alarmEmail "${props.alarmEmail}" is not an email address`);
    }

    this.deadLetterQueueAlarm = this.addAlarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
      threshold: 1,
      description:
        'Events could not be delivered and wait in the dead-letter queue. Inspect them (their last error is attached) ' +
        'with the CLI, fix the cause, then replay them.',
    });
    this.oldestMessageAgeAlarm = this.addAlarm('OldestMessageAge', {
      metric: props.queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: Stats.MAXIMUM }),
      threshold: ageSeconds,
      comparison: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        `A ticket has waited more than ${ageSeconds} s in the queue: the deliver function is not consuming (retries ` +
        'wait in the event ledger, not in the queue; see docs/runbook.md).',
    });
    this.ingestServerErrorAlarm = this.addAlarm('IngestServerErrors', {
      metric: props.api.metricServerError({ period: FIVE_MINUTES, statistic: Stats.SUM }),
      threshold: 1,
      description: 'The ingest API answered Ecwid with 5xx: events were not accepted (Ecwid retries them). Check the ingest logs.',
    });
    this.deliverErrorAlarm = this.addAlarm('DeliverErrors', {
      metric: props.deliverFunction.metricErrors({ period: FIVE_MINUTES, statistic: Stats.SUM }),
      threshold: 1,
      description:
        'The deliver function failed as a whole (not a single event): the batch returns to the queue. Check its logs.',
    });
    this.deliverThrottleAlarm = this.addAlarm('DeliverThrottles', {
      metric: props.deliverFunction.metricThrottles({ period: FIVE_MINUTES, statistic: Stats.SUM }),
      threshold: 1,
      description: 'The deliver function was throttled: the account or function concurrency limit is reached.',
    });

    // Ingest answers these 200 without queueing (a 4xx would make Ecwid retry and risk blocking the
    // app's webhooks for every store), so only these alarms say events are being turned away.
    const ingestCount = (metricName: string): Metric =>
      new Metric({ namespace: props.metricsNamespace, metricName, dimensionsMap: { service: props.serviceName }, statistic: Stats.SUM, period: FIVE_MINUTES });
    this.badSignatureAlarm = this.addAlarm('IngestBadSignatures', {
      metric: ingestCount(INGEST_METRICS.droppedBadSignature),
      threshold: BAD_SIGNATURE_ALARM_THRESHOLD,
      description:
        `At least ${BAD_SIGNATURE_ALARM_THRESHOLD} webhooks in 5 minutes had no signature that verifies with their instances' ` +
        'client secrets; they were answered 200 and dropped. A rotated client_secret not yet in the instance (ecwid.client.secret), or forged posts.',
    });
    this.unknownStoreAlarm = this.addAlarm('IngestUnknownStores', {
      metric: ingestCount(INGEST_METRICS.droppedUnknownStore),
      threshold: UNKNOWN_STORE_ALARM_THRESHOLD,
      description:
        `At least ${UNKNOWN_STORE_ALARM_THRESHOLD} notifications in 5 minutes named a store no instance is configured for; ` +
        'they were answered 200 and dropped. A store installed the app before its instance exists, or random store ids (probing).',
    });

    if (props.alarmEmail !== undefined) {
      this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'Ecwid events alarms', enforceSSL: true });
      this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
      const action = new SnsAction(this.alarmTopic);
      for (const alarm of this.alarms) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    this.dashboard = this.buildDashboard(props);
  }

  private addAlarm(
    id: string,
    spec: { metric: IMetric; threshold: number; description: string; comparison?: ComparisonOperator },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      metric: spec.metric,
      threshold: spec.threshold,
      comparisonOperator: spec.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // No data means no traffic (SQS stops publishing for idle queues): not a problem.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: spec.description,
    });
    this.alarms.push(alarm);
    return alarm;
  }

  private buildDashboard(props: MonitoringProps): Dashboard {
    const emf = (metricName: string, statistic: string = Stats.SUM): Metric =>
      new Metric({
        namespace: props.metricsNamespace,
        metricName,
        dimensionsMap: { service: props.serviceName },
        statistic,
        period: FIVE_MINUTES,
      });
    const period = { period: FIVE_MINUTES };
    const sum = { ...period, statistic: Stats.SUM };
    const max = { ...period, statistic: Stats.MAXIMUM };
    const fn = (f: IFunction, name: string) => [
      f.metricInvocations({ ...sum, label: `${name} invocations` }),
      f.metricErrors({ ...sum, label: `${name} errors` }),
      f.metricThrottles({ ...sum, label: `${name} throttles` }),
    ];
    const wide = { width: 12, height: 6 };

    const dashboard = new Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    dashboard.addWidgets(
      new TextWidget({
        markdown: `# Ecwid events (${props.serviceName})\nIngest (Ecwid → queue), delivery (queue → callback), queues and functions.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 3 }));
    dashboard.addWidgets(
      new GraphWidget({ title: 'Ingest: events', left: INGEST_METRIC_NAMES.map((name) => emf(name)), ...wide }),
      new GraphWidget({ title: 'Ingest: rejections by reason', left: INGEST_REJECTION_METRIC_NAMES.map((name) => emf(name)), ...wide }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Ingest: HTTP API',
        left: [
          props.api.metricCount({ ...sum, label: 'requests' }),
          props.api.metricClientError({ ...sum, label: '4xx' }),
          props.api.metricServerError({ ...sum, label: '5xx' }),
        ],
        right: [props.api.metricLatency({ ...period, statistic: Stats.p(99), label: 'p99 latency (ms)' })],
        ...wide,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({ title: 'Delivery: outcomes', left: DELIVERY_METRIC_NAMES.map((name) => emf(name)), ...wide }),
      new GraphWidget({
        title: 'Delivery: callback latency (ms)',
        left: [Stats.p(50), Stats.p(90), Stats.p(99)].map((stat) => emf(DELIVERY_LATENCY_METRIC, stat)),
        ...wide,
      }),
    );
    dashboard.addWidgets(
      new GraphWidget({
        title: 'Queue depth',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'ready' }),
          props.queue.metricApproximateNumberOfMessagesNotVisible({ ...max, label: 'in flight or waiting to retry' }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...max, label: 'dead-lettered' }),
        ],
        right: [props.queue.metricApproximateAgeOfOldestMessage({ ...max, label: 'oldest message age (s)' })],
        ...wide,
      }),
      new GraphWidget({
        title: 'Functions',
        left: [...fn(props.ingestFunction, 'ingest'), ...fn(props.deliverFunction, 'deliver')],
        right: [
          props.ingestFunction.metricDuration({ ...period, statistic: Stats.p(99), label: 'ingest p99 duration' }),
          props.deliverFunction.metricDuration({ ...period, statistic: Stats.p(99), label: 'deliver p99 duration' }),
        ],
        ...wide,
      }),
    );
    return dashboard;
  }
}
