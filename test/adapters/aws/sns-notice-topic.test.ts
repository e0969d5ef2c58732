import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { SnsNoticeTopic } from '../../../functions/adapters/aws/sns-notice-topic';
import { DEFAULT_BREAKER_SETTINGS, newHealth, recordOutcome } from '../../../functions/core/health';

const sns = mockClient(SNSClient);
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:EcwidEvents-prod-NoticesTopic';
const T0 = new Date('2026-12-07T10:00:00.000Z');
const opened = recordOutcome(newHealth('shop-a', T0), { ok: false, httpStatus: 410, error: 'callback https://shop.example answered HTTP 410' }, T0, DEFAULT_BREAKER_SETTINGS).notices[0];

beforeEach(() => sns.reset());

describe('SnsNoticeTopic', () => {
  test('one Publish per notice: subject and text for people, type and instance as attributes for filter policies', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await new SnsNoticeTopic({ topicArn: TOPIC, client: new SNSClient({ region: 'eu-west-1' }) }).publish(opened);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input).toEqual({
      TopicArn: TOPIC,
      Subject: 'Ecwid events: shop-a circuit open: deliveries held',
      Message: expect.stringContaining('Instance shop-a: circuit open: deliveries held'),
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'receiver.circuit-open' },
        instanceId: { DataType: 'String', StringValue: 'shop-a' },
      },
    });
    // The notice itself closes the text, as JSON, for subscribers that parse it.
    expect(JSON.parse(input.Message!.split('\n').at(-1)!)).toEqual(opened);
  });

  test('a failed Publish is thrown to the caller (which logs and counts it)', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('not authorized to perform: SNS:Publish'), { name: 'AuthorizationErrorException' }));
    await expect(new SnsNoticeTopic({ topicArn: TOPIC, client: new SNSClient({ region: 'eu-west-1' }) }).publish(opened)).rejects.toThrow(
      'not authorized',
    );
  });
});
