/**
 * The operator policy: exactly what the CLI calls, on this stack's resources only; every AWS call
 * reachable from the CLI's entry point is allowed by it; and docs/operator-policy.json (for IAM
 * managed outside CloudFormation) grants the same actions.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { STACK_OUTPUTS } from '../../functions/contract';
import type { EcwidEventsStack } from '../../lib/ecwid-events-stack';
import { arnJoin, buildStack, getAtt, logicalId } from './stack-helpers';

const ROOT = join(__dirname, '..', '..');

let stack: EcwidEventsStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = buildStack({}, 'EcwidEvents-dev'));
});

interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}
const statements = (): Statement[] => {
  const policy = template.toJSON().Resources[logicalId(stack.operatorAccess.policy)];
  return policy.Properties.PolicyDocument.Statement as Statement[];
};
const actionsOf = (statement: { Action: string | string[] }): string[] => [statement.Action].flat();

describe('OperatorAccess', () => {
  it('is one managed policy, output as OperatorPolicyArn, attached to nothing', () => {
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    expect(Object.keys(policies)).toEqual([logicalId(stack.operatorAccess.policy)]);
    const policy = Object.values(policies)[0];
    expect(policy.Properties.Roles ?? policy.Properties.Users ?? policy.Properties.Groups).toBeUndefined();
    expect(template.toJSON().Outputs[STACK_OUTPUTS.operatorPolicyArn].Value).toEqual({ Ref: logicalId(stack.operatorAccess.policy) });
  });

  it('grants what the CLI does on this stack’s resources, nothing else', () => {
    const queue = stack.eventQueue.queue;
    const dlq = stack.eventQueue.deadLetterQueue;
    const table = stack.ledger.table;
    expect(statements()).toEqual([
      {
        Sid: 'ReadTheStackOutputs',
        Effect: 'Allow',
        Action: 'cloudformation:DescribeStacks',
        Resource: arnJoin('cloudformation', 'stack/EcwidEvents-dev/*'),
      },
      {
        Sid: 'InstanceConfigsAndPollerState',
        Effect: 'Allow',
        Action: ['ssm:DeleteParameter', 'ssm:DeleteParameters', 'ssm:GetParameter', 'ssm:GetParametersByPath', 'ssm:PutParameter'],
        Resource: [arnJoin('ssm', 'parameter/ecwid-events/dev'), arnJoin('ssm', 'parameter/ecwid-events/dev/*')],
      },
      {
        Sid: 'CountTheQueueAndSendReplaysAndTestEvents',
        Effect: 'Allow',
        Action: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
        Resource: getAtt(queue),
      },
      {
        Sid: 'InspectReplayAndPurgeDeadLetters',
        Effect: 'Allow',
        Action: [
          'sqs:ChangeMessageVisibility',
          'sqs:DeleteMessage',
          'sqs:GetQueueAttributes',
          'sqs:ListMessageMoveTasks',
          'sqs:PurgeQueue',
          'sqs:ReceiveMessage',
          'sqs:StartMessageMoveTask',
        ],
        Resource: getAtt(dlq),
      },
      {
        Sid: 'ReadTheLedgerAndRecordResends',
        Effect: 'Allow',
        Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        Resource: [getAtt(table), { 'Fn::Join': ['', [getAtt(table), '/index/*']] }],
      },
      {
        Sid: 'EncryptInstanceConfigsThroughParameterStore',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Resource: arnJoin('kms', 'key/*'),
        Condition: {
          StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ssm.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
          StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': arnJoin('ssm', 'parameter/ecwid-events/dev/*') },
        },
      },
      {
        Sid: 'SyncTheInstanceReadModel',
        Effect: 'Allow',
        Action: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan'],
        Resource: getAtt(stack.instanceReadModel.table),
      },
      {
        Sid: 'ReadInstanceConfigsForTheSync',
        Effect: 'Allow',
        Action: 'ssm:GetParameters',
        Resource: arnJoin('ssm', 'parameter/ecwid-events/dev/*'),
      },
      { Sid: 'ListInstanceConfigVersions', Effect: 'Allow', Action: 'ssm:DescribeParameters', Resource: '*' },
      {
        Sid: 'WrapTheReadModelDataKeys',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: getAtt(stack.instanceReadModel.dataKeyKey),
        Condition: { StringEquals: { 'kms:EncryptionContext:ecwid-events:purpose': 'instance-read-model' } },
      },
      { Sid: 'PublishOperatorNotices', Effect: 'Allow', Action: 'sns:Publish', Resource: { Ref: logicalId(stack.notices.topic) } },
    ]);
  });
});

/**
 * Every `new XCommand(` in the modules the CLI's entry point imports (transitively), as the IAM
 * action it needs. Import-level, so it over-approximates: a command only the local runner or the
 * tests call through a shared module is listed in LOCAL_ONLY with where it is called from.
 */
const COMMAND_ACTIONS: Readonly<Record<string, string>> = {
  DescribeStacks: 'cloudformation:DescribeStacks',
  GetParameter: 'ssm:GetParameter',
  GetParametersByPath: 'ssm:GetParametersByPath',
  PutParameter: 'ssm:PutParameter',
  DeleteParameter: 'ssm:DeleteParameter',
  DeleteParameters: 'ssm:DeleteParameters',
  GetQueueAttributes: 'sqs:GetQueueAttributes',
  SendMessage: 'sqs:SendMessage',
  SendMessageBatch: 'sqs:SendMessage',
  ReceiveMessage: 'sqs:ReceiveMessage',
  ChangeMessageVisibility: 'sqs:ChangeMessageVisibility',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
  DeleteMessage: 'sqs:DeleteMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  PurgeQueue: 'sqs:PurgeQueue',
  StartMessageMoveTask: 'sqs:StartMessageMoveTask',
  ListMessageMoveTasks: 'sqs:ListMessageMoveTasks',
  // @aws-sdk/lib-dynamodb document commands.
  Get: 'dynamodb:GetItem',
  BatchGet: 'dynamodb:BatchGetItem',
  Query: 'dynamodb:Query',
  Put: 'dynamodb:PutItem',
  // The read model sync (client-dynamodb, ssm, kms).
  GetItem: 'dynamodb:GetItem',
  PutItem: 'dynamodb:PutItem',
  DeleteItem: 'dynamodb:DeleteItem',
  Scan: 'dynamodb:Scan',
  GetParameters: 'ssm:GetParameters',
  DescribeParameters: 'ssm:DescribeParameters',
  Decrypt: 'kms:Decrypt',
  GenerateDataKey: 'kms:GenerateDataKey',
  // instances pause|resume: the operator's notice.
  Publish: 'sns:Publish',
};
/** Reached by import only: `ensureLedgerTable` (the local runner's embedded table and the tests). */
const LOCAL_ONLY: ReadonlySet<string> = new Set(['CreateTable', 'DescribeTable', 'UpdateTimeToLive']);
/** Powertools' SSM provider makes the calls itself. */
const POWERTOOLS_ACTIONS: Readonly<Record<string, string[]>> = {
  '@aws-lambda-powertools/parameters/ssm': ['ssm:GetParameter', 'ssm:GetParametersByPath'],
};

function reachableCommands(entry: string): Map<string, Set<string>> {
  const seen = new Set<string>();
  const found = new Map<string, Set<string>>();
  const note = (key: string, file: string) => found.set(key, (found.get(key) ?? new Set()).add(relative(ROOT, file)));
  const resolveImport = (from: string, spec: string): string | undefined => {
    if (!spec.startsWith('.')) return undefined;
    const base = resolve(dirname(from), spec);
    return [`${base}.ts`, join(base, 'index.ts'), base].find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
  };
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from\s+|import\(\s*)'([^']+)'/g)) {
      const target = resolveImport(file, match[1]);
      if (target) walk(target);
      else if (POWERTOOLS_ACTIONS[match[1]]) note(match[1], file);
    }
    for (const match of text.matchAll(/new (\w+)Command\(/g)) note(match[1], file);
  };
  walk(entry);
  return found;
}

describe('every AWS call the CLI can make is allowed by the operator policy', () => {
  const calls = reachableCommands(join(ROOT, 'bin', 'ecwid-events.ts'));

  it('finds the CLI’s calls', () => {
    expect(calls.has('DescribeStacks')).toBe(true);
    expect(calls.size).toBeGreaterThan(10);
  });

  it('knows every call (a new one needs an action here and in the policy)', () => {
    const unknown = [...calls.keys()].filter((name) => !COMMAND_ACTIONS[name] && !LOCAL_ONLY.has(name) && !POWERTOOLS_ACTIONS[name]);
    expect(unknown).toEqual([]);
  });

  it('the local-only commands are not called from the CLI', () => {
    const cliFiles = [...new Set([...calls.values()].flatMap((files) => [...files]))].filter((file) => file.startsWith('cli/'));
    for (const file of cliFiles) expect({ file, calls: readFileSync(join(ROOT, file), 'utf8').includes('ensureLedgerTable') }).toEqual({ file, calls: false });
    for (const name of LOCAL_ONLY) for (const where of calls.get(name) ?? []) expect(where).toBe('functions/adapters/aws/dynamodb-ledger.ts');
  });

  it('the policy allows each of them', () => {
    const allowed = new Set(statements().flatMap(actionsOf));
    const needed = [...calls.keys()].flatMap((name) => (LOCAL_ONLY.has(name) ? [] : POWERTOOLS_ACTIONS[name] ?? [COMMAND_ACTIONS[name]]));
    expect(needed.filter((action) => !allowed.has(action))).toEqual([]);
  });
});

describe('docs/operator-policy.json', () => {
  const file = JSON.parse(readFileSync(join(ROOT, 'docs', 'operator-policy.json'), 'utf8')) as { Version: string; Statement: Statement[] };

  it('grants the same actions, statement by statement, as the stack’s policy', () => {
    const bySid = (list: Statement[]) => Object.fromEntries(list.map((s) => [s.Sid, actionsOf(s).sort()]));
    expect(bySid(file.Statement)).toEqual(bySid(statements()));
  });

  it('names this stack’s resources through placeholders only', () => {
    const text = JSON.stringify(file);
    expect(text).not.toMatch(/\d{12}/);
    expect(new Set(text.match(/\$\{\w+\}/g))).toEqual(new Set(['${Region}', '${Account}', '${Stage}']));
  });
});
