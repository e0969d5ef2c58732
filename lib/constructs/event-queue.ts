import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { DeduplicationScope, FifoThroughputLimit, IQueue, Queue, QueueEncryption, QueueProps } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface EventQueueProps {
  /**
   * How long a received message stays invisible to other consumers. Must cover the consumer's
   * whole run: AWS advises at least six times the consuming function's timeout.
   */
  readonly visibilityTimeout: Duration;
  /**
   * Receives after which SQS itself moves a message to the dead-letter queue (a backstop:
   * the deliver function dead-letters a message itself on its last attempt).
   */
  readonly maxReceiveCount: number;
  /**
   * Customer managed key for both queues.
   *
   * @default - SQS managed server-side encryption (SSE-SQS)
   */
  readonly encryptionKey?: IKey;
  /**
   * How long messages are kept in the main queue. Must be longer than the whole retry schedule.
   *
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
  /**
   * What happens to both queues (and the messages in them) when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** SQS keeps messages at most 14 days. */
export const MAX_QUEUE_RETENTION = Duration.days(14);

/**
 * The FIFO queue between ingest and delivery, and its FIFO dead-letter queue.
 *
 * Order is kept per message group (one object of one instance, see functions/core/event.ts);
 * deduplication uses the explicit id the producers send (instance id + event id), never the body, because
 * Ecwid's retries of one event may differ in `receivedAt`. High-throughput FIFO mode
 * (dedup and throughput per message group) lets unrelated objects flow in parallel.
 */
export class EventQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: EventQueueProps) {
    super(scope, id);
    if (!Number.isInteger(props.maxReceiveCount) || props.maxReceiveCount < 1 || props.maxReceiveCount > 1000) {
      throw new Error(`maxReceiveCount must be an integer from 1 to 1000, got ${props.maxReceiveCount}`);
    }
    const encryption = queueEncryption(props.encryptionKey);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      ...encryption,
      enforceSSL: true,
      // The longest SQS allows: an operator needs time to notice, fix and replay.
      retentionPeriod: MAX_QUEUE_RETENTION,
      removalPolicy,
    });

    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: props.retentionPeriod ?? MAX_QUEUE_RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      removalPolicy,
    });
  }
}

/** The encryption of every queue of the relay: the customer managed key when given, else SSE-SQS. */
export function queueEncryption(key: IKey | undefined): Pick<QueueProps, 'encryption' | 'encryptionMasterKey'> {
  return key ? { encryption: QueueEncryption.KMS, encryptionMasterKey: key } : { encryption: QueueEncryption.SQS_MANAGED };
}

/**
 * Acknowledges, on `policyScope`, the two wildcard actions CDK's SQS grants add for a queue with a
 * customer managed key (`kms:GenerateDataKey*`, `kms:ReEncrypt*`). Call it beside such a grant.
 */
export function acknowledgeQueueKeyGrant(queue: IQueue, policyScope: Construct): void {
  if (!queue.encryptionMasterKey) return;
  for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
    Validations.of(policyScope).acknowledge({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason:
        "CDK's grant for an SQS queue encrypted with a customer key: the data-key action variants SQS may use, " +
        'on that one key only.',
    });
  }
}
