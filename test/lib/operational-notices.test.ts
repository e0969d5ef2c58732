import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { ENV, STACK_OUTPUTS } from '../../functions/contract';
import { OperationalNotices } from '../../lib/constructs/operational-notices';
import { buildStack, newApp, ref } from './stack-helpers';

describe('OperationalNotices', () => {
  test('a topic that refuses plain HTTP, with an email subscription only when asked', () => {
    const stack = new Stack(newApp(), 'NoticesTest');
    const notices = new OperationalNotices(stack, 'Notices', { email: 'ops@example.com' });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: ref(notices.topic),
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });

    const bare = new Stack(newApp(), 'BareNotices');
    new OperationalNotices(bare, 'Notices');
    Template.fromStack(bare).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('grantPublish sets NOTICE_TOPIC_ARN beside sns:Publish on this topic, nothing more', () => {
    const stack = new Stack(newApp(), 'NoticesGrant');
    const notices = new OperationalNotices(stack, 'Notices');
    const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=()=>{}') });
    notices.grantPublish(fn);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { [ENV.noticeTopicArn]: ref(notices.topic) } } });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'sns:Publish', Resource: ref(notices.topic) }] },
    });
  });

  test('in the stack only deliver may publish, with NOTICE_TOPIC_ARN beside the grant', () => {
    const { stack, template } = buildStack();
    const publishers = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument.Statement).includes('"sns:Publish"'),
    );
    // The alarm topic's own policies are topic policies, not IAM policies: one role publishes.
    expect(publishers).toHaveLength(1);
    const [, policy] = publishers[0];
    expect(policy.Properties.Roles).toEqual([ref(stack.delivery.function.role!)]);
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual({ Effect: 'Allow', Action: 'sns:Publish', Resource: ref(stack.notices.topic) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: Match.anyValue(),
      Environment: { Variables: Match.objectLike({ [ENV.noticeTopicArn]: ref(stack.notices.topic) }) },
    });
    const withTopic = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([, fn]) => fn.Properties.Environment?.Variables?.[ENV.noticeTopicArn]);
    expect(withTopic.map(([id]) => id)).toEqual([stack.getLogicalId(stack.delivery.function.node.defaultChild as never)]);
  });

  test('the stack has the topic, its output, and subscribes noticeEmail', () => {
    const { stack, template } = buildStack({ noticeEmail: 'owner@example.com' });
    expect(template.toJSON().Outputs[STACK_OUTPUTS.noticeTopicArn].Value).toEqual(ref(stack.notices.topic));
    template.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'owner@example.com', TopicArn: ref(stack.notices.topic) });
    Template.fromStack(buildStack().stack).resourcePropertiesCountIs('AWS::SNS::Subscription', { Endpoint: 'owner@example.com' }, 0);
  });
});
