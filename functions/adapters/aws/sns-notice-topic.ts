import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { noticeMessage } from '../../core/callback/notice';
import type { HealthNotice } from '../../core/health';
import type { NoticeTopic } from '../../core/health-notices';

export interface SnsNoticeTopicOptions {
  /** The stack's notices topic (NOTICE_TOPIC_ARN, output NoticeTopicArn). */
  readonly topicArn: string;
  /** @default a new SNSClient (region and endpoint from the environment) */
  readonly client?: SNSClient;
}

/**
 * Operational notices on SNS: one Publish per state change (a few per failing receiver, never per
 * event). The subject and text are for the email subscription; the `type` and `instanceId`
 * message attributes let other subscribers filter (a chat channel for `receiver.disabled` only,
 * a customer's own queue for its instances).
 */
export class SnsNoticeTopic implements NoticeTopic {
  private readonly topicArn: string;
  private readonly client: SNSClient;

  constructor(options: SnsNoticeTopicOptions) {
    this.topicArn = options.topicArn;
    this.client = options.client ?? new SNSClient({});
  }

  async publish(notice: HealthNotice): Promise<void> {
    const { subject, text } = noticeMessage(notice);
    await this.client.send(
      new PublishCommand({
        TopicArn: this.topicArn,
        Subject: subject,
        Message: text,
        MessageAttributes: {
          type: { DataType: 'String', StringValue: notice.type },
          instanceId: { DataType: 'String', StringValue: notice.instanceId },
        },
      }),
    );
  }
}
