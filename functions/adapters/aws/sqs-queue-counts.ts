import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** How many messages a queue holds, as SQS counts them (approximate). Used by the CLI, the local runner and tests. */

export interface QueueCounts {
  /** Waiting to be received. */
  readonly visible: number;
  /** Received and not yet deleted: being delivered, or hidden while waiting out a backoff. */
  readonly inFlight: number;
  readonly delayed: number;
}

/** SQS's approximate message counts of one queue. */
export async function queueCounts(client: SQSClient, queueUrl: string): Promise<QueueCounts> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}

/** Messages in a queue: visible, in flight (being delivered or waiting out a backoff) and delayed. */
export async function countMessages(client: SQSClient, queueUrl: string): Promise<number> {
  const { visible, inFlight, delayed } = await queueCounts(client, queueUrl);
  return visible + inFlight + delayed;
}
