import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, IAlarmAction, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/contract';
import { acknowledgeQueueKeyGrant } from './event-queue';
import { EventLedger } from './event-ledger';
import { RelayFunction, RelayObservability } from './relay-function';

const SWEEP_ENTRY = path.join(__dirname, '..', '..', 'functions', 'sweep', 'index.ts');

export interface RetrySweepProps {
  readonly ledger: EventLedger;
  /** The FIFO event queue the tickets go to (the one deliver reads). */
  readonly queue: IQueue;
  readonly observability: RelayObservability;
  /**
   * Where the sweep's alarm notifies (and recovers).
   *
   * @default - none; the alarm is in `errorAlarm`
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * The sweep's source file.
   *
   * @default functions/sweep/index.ts
   */
  readonly entry?: string;
}

/**
 * Backoff out of SQS: every minute, a function (one at a time) sends a ticket for each ledger
 * entry whose due time has passed: retries whose backoff is over, and anything stuck (a lost
 * ticket, an interrupted attempt, an event recorded but never queued). Failed deliveries therefore
 * wait in the ledger, not as in-flight messages (docs/ledger.md has the arithmetic).
 */
export class RetrySweep extends Construct {
  /** EventBridge's finest schedule; a retry is at most this much later than its backoff. */
  public static readonly PERIOD = Duration.minutes(1);
  public readonly function: NodejsFunction;
  /** The sweep function's own log group. */
  public readonly logGroup: LogGroup;
  public readonly rule: Rule;
  public readonly errorAlarm: Alarm;

  constructor(scope: Construct, id: string, props: RetrySweepProps) {
    super(scope, id);
    const sweep = new RelayFunction(this, 'Sweep', {
      entry: props.entry ?? SWEEP_ENTRY,
      description: 'Ecwid events: sends the tickets of ledger entries that are due (retries, anything stuck)',
      // Ends before the next run starts.
      timeout: Duration.seconds(50),
      memorySize: 256,
      observability: props.observability,
    });
    this.function = sweep.function;
    this.logGroup = sweep.logGroup;
    // One run at a time: two sweeps would only race for the same entries (the ledger lets one win).
    (this.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions = 1;
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });

    props.ledger.grantSweep(this.function);
    this.function.addEnvironment(ENV.queueUrl, props.queue.queueUrl);
    props.queue.grantSendMessages(this.function);
    acknowledgeQueueKeyGrant(props.queue, sweep);

    this.rule = new Rule(this, 'Schedule', {
      description: 'Runs the Ecwid events ledger sweep',
      schedule: Schedule.rate(RetrySweep.PERIOD),
      targets: [new LambdaFunction(this.function, { retryAttempts: 0 })],
    });

    this.errorAlarm = new Alarm(this, 'ErrorAlarm', {
      metric: this.function.metricErrors({ period: Duration.minutes(15), statistic: Stats.SUM }),
      threshold: 3,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'The ledger sweep failed three or more times in 15 minutes: retries and stuck events are not being sent. ' +
        'Nothing is lost (the ledger keeps them due); check the sweep logs (DynamoDB or SQS errors).',
    });
    if (props.alarmAction) {
      this.errorAlarm.addAlarmAction(props.alarmAction);
      this.errorAlarm.addOkAction(props.alarmAction);
    }
  }
}
