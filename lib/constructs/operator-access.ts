import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { IKey } from 'aws-cdk-lib/aws-kms';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { READ_MODEL } from '../../functions/contract';
import { InstanceConfigAccess, nagResourceText } from './instance-config-access';

export interface OperatorAccessProps {
  /** The FIFO event queue (replays and test events go there; the CLI counts its messages). */
  readonly queue: IQueue;
  /** The dead-letter queue (listed, shown, replayed, purged). */
  readonly deadLetterQueue: IQueue;
  /** Where the instance configs (and the poller's state) live. */
  readonly instanceConfig: InstanceConfigAccess;
  /** The event ledger (`events list/show/resend`). */
  readonly ledgerTable: ITable;
  /**
   * The operational notices topic: `instances pause|resume` publish `receiver.paused|resumed` to it.
   * @default no topic: the CLI publishes nothing
   */
  readonly noticeTopic?: ITopic;
  /**
   * The instance read model: the CLI syncs an instance's entry right after writing it to Parameter
   * Store, so a change is visible to ingest and deliver at once.
   *
   * @default - no read model: no read model permissions
   */
  readonly instanceReadModel?: { readonly table: ITable; readonly dataKeyKey: IKey };
  /**
   * The queues' customer managed key.
   *
   * @default - SSE-SQS: no key permission needed
   */
  readonly queueKmsKey?: IKey;
  /**
   * The ledger table's customer managed key.
   *
   * @default - an AWS owned key: no key permission needed
   */
  readonly ledgerKmsKey?: IKey;
}

/**
 * What the operator CLI (`npx ecwid-events ... --stack`) may do, and nothing more, as one
 * managed policy to attach to the people or roles that operate the relay: read the stack's
 * outputs; manage instance configs and the poller's state under the stack's parameter prefix;
 * count both queues, send replays and test events to the main queue, and read, move, delete and
 * purge the dead-letter queue; read the ledger and record resends. No access to any other
 * stack, prefix, queue or table. docs/operator-policy.json is the same policy for those who
 * manage IAM outside CloudFormation.
 */
export class OperatorAccess extends Construct {
  public readonly policy: ManagedPolicy;

  constructor(scope: Construct, id: string, props: OperatorAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const config = props.instanceConfig;
    const prefixArn = stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: config.ssmPrefix.slice(1) });
    const statements = [
      new PolicyStatement({
        sid: 'ReadTheStackOutputs',
        actions: ['cloudformation:DescribeStacks'],
        resources: [stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${stack.stackName}/*` })],
      }),
      new PolicyStatement({
        sid: 'InstanceConfigsAndPollerState',
        actions: ['ssm:GetParameter', 'ssm:GetParametersByPath', 'ssm:PutParameter', 'ssm:DeleteParameter', 'ssm:DeleteParameters'],
        // The path itself (GetParametersByPath is authorized on the path asked for) and everything under it.
        resources: [prefixArn, config.parameterArnPattern],
      }),
      new PolicyStatement({
        sid: 'CountTheQueueAndSendReplaysAndTestEvents',
        actions: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
        resources: [props.queue.queueArn],
      }),
      new PolicyStatement({
        sid: 'InspectReplayAndPurgeDeadLetters',
        actions: [
          'sqs:GetQueueAttributes',
          'sqs:ReceiveMessage',
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:PurgeQueue',
          'sqs:StartMessageMoveTask',
          'sqs:ListMessageMoveTasks',
        ],
        resources: [props.deadLetterQueue.queueArn],
      }),
      new PolicyStatement({
        sid: 'ReadTheLedgerAndRecordResends',
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem'],
        resources: [props.ledgerTable.tableArn, `${props.ledgerTable.tableArn}/index/*`],
      }),
      // SecureStrings: written and read through Parameter Store only, for parameters under the prefix.
      new PolicyStatement({
        sid: 'EncryptInstanceConfigsThroughParameterStore',
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [config.ssmKmsKey ? config.ssmKmsKey.keyArn : stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
        conditions: {
          StringEquals: { 'kms:ViaService': `ssm.${Aws.REGION}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': config.parameterArnPattern },
        },
      }),
    ];
    if (props.instanceReadModel) {
      const model = props.instanceReadModel;
      const context = Object.fromEntries(
        Object.entries(READ_MODEL.encryptionContext).map(([key, value]) => [`kms:EncryptionContext:${key}`, value]),
      );
      statements.push(
        new PolicyStatement({
          sid: 'SyncTheInstanceReadModel',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'],
          resources: [model.table.tableArn],
        }),
        new PolicyStatement({
          sid: 'ReadInstanceConfigsForTheSync',
          actions: ['ssm:GetParameters'],
          resources: [config.parameterArnPattern],
        }),
        // Metadata only (names, versions, dates); DescribeParameters has no resource-level permissions.
        new PolicyStatement({ sid: 'ListInstanceConfigVersions', actions: ['ssm:DescribeParameters'], resources: ['*'] }),
        new PolicyStatement({
          sid: 'WrapTheReadModelDataKeys',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [model.dataKeyKey.keyArn],
          conditions: { StringEquals: context },
        }),
      );
    }
    if (props.noticeTopic) {
      // `instances pause|resume` announce the operator's change like deliver announces its own.
      statements.push(new PolicyStatement({ sid: 'PublishOperatorNotices', actions: ['sns:Publish'], resources: [props.noticeTopic.topicArn] }));
    }
    if (props.queueKmsKey) {
      statements.push(
        new PolicyStatement({
          sid: 'UseTheQueueKey',
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [props.queueKmsKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `sqs.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
    if (props.ledgerKmsKey) {
      statements.push(
        new PolicyStatement({
          sid: 'UseTheLedgerKey',
          actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [props.ledgerKmsKey.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }

    this.policy = new ManagedPolicy(this, 'Policy', {
      description: `Operator CLI for ${stack.stackName}: instances, queues, dead letters and the ledger of this stack only`,
      statements,
    });

    const validations = Validations.of(this.policy);
    const acknowledge = (arn: string, reason: string) =>
      validations.acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagResourceText(stack, arn)}]`, reason });
    acknowledge(
      stack.formatArn({ service: 'cloudformation', resource: 'stack', resourceName: `${stack.stackName}/*` }),
      'A stack ARN ends with an id CloudFormation assigns; the name pins it to this stack.',
    );
    acknowledge(config.parameterArnPattern, 'The operator creates one parameter per instance and store at run time, under this stack\'s prefix only.');
    if (!config.ssmKmsKey) {
      acknowledge(
        stack.formatArn({ service: 'kms', resource: 'key', resourceName: '*' }),
        'The AWS managed aws/ssm key cannot be named at synth time; kms:ViaService=ssm and the parameter ARN condition narrow it to this prefix.',
      );
    }
    if (props.instanceReadModel) {
      validations.acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ssm:DescribeParameters supports no resource-level permissions; it returns metadata only, never a value.',
      });
    }
    acknowledge(`${props.ledgerTable.tableArn}/index/*`, 'The ledger is queried through its indexes (by instance, object, status).');
  }
}
