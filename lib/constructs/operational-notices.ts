import { IKey } from 'aws-cdk-lib/aws-kms';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ENV } from '../../functions/contract';

/** A function the grant sets its environment variable on. */
type NoticeFunction = IFunction & { addEnvironment(key: string, value: string): unknown };

export interface OperationalNoticesProps {
  /**
   * Email address that receives every operational notice (receiver failing, circuit open,
   * recovered, disabled); the address must confirm AWS's subscription mail.
   *
   * @default - no subscription; the topic is there for other subscribers (chat, ticketing)
   */
  readonly email?: string;
  /**
   * Customer managed key for the topic (server-side encryption).
   *
   * @default - not encrypted at rest by a customer key (notices hold no secrets: ids, states, redacted errors)
   */
  readonly encryptionKey?: IKey;
}

/**
 * Operational notices (issue 16): one SNS topic per stack that deliver publishes each receiver
 * state change to, one message per change (a few per failing receiver per day at most, so SNS's
 * cost stays negligible at thousands of instances). Instances that name an operational webhook
 * also get the notice POSTed there, signed like their deliveries (functions/core/callback).
 */
export class OperationalNotices extends Construct {
  public readonly topic: Topic;

  constructor(scope: Construct, id: string, props: OperationalNoticesProps = {}) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: 'Ecwid events receiver notices',
      enforceSSL: true,
      ...(props.encryptionKey ? { masterKey: props.encryptionKey } : {}),
    });
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));
  }

  /** Deliver (and the CLI's pause/resume): publish notices. NOTICE_TOPIC_ARN beside sns:Publish. */
  public grantPublish(fn: NoticeFunction): void {
    fn.addEnvironment(ENV.noticeTopicArn, this.topic.topicArn);
    this.topic.grantPublish(fn);
  }
}
