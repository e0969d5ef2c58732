import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { createResources, instanceIngestUrl, sharedIngestUrl } from '../../cli/environment';
import { CliError } from '../../cli/errors';
import type { LocalRunnerState } from '../../functions/contract';
import { runCli } from './run-cli';

const cfnMock = mockClient(CloudFormationClient);
const ssmMock = mockClient(SSMClient);
let dir: string;

beforeEach(async () => {
  cfnMock.reset();
  ssmMock.reset();
  dir = await mkdtemp(join(tmpdir(), 'ecwid-cli-env-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const outputs = {
  IngestUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/',
  QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/ecwid-events.fifo',
  QueueArn: 'arn:aws:sqs:eu-west-1:111122223333:ecwid-events.fifo',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/111122223333/ecwid-events-dlq.fifo',
  DeadLetterQueueArn: 'arn:aws:sqs:eu-west-1:111122223333:ecwid-events-dlq.fifo',
  SsmPrefix: '/ecwid-events-prod',
};

function stackWithOutputs(values: Record<string, string> = outputs) {
  cfnMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'EcwidEvents',
        CreationTime: new Date(),
        StackStatus: 'UPDATE_COMPLETE',
        Outputs: Object.entries(values).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
}

describe('ingest URLs', () => {
  test.each([
    ['https://x.execute-api.eu-west-1.amazonaws.com', 'https://x.execute-api.eu-west-1.amazonaws.com/events/ecwid'],
    ['https://x.execute-api.eu-west-1.amazonaws.com/', 'https://x.execute-api.eu-west-1.amazonaws.com/events/ecwid'],
    ['http://127.0.0.1:3000/events/ecwid', 'http://127.0.0.1:3000/events/ecwid'],
    ['https://hooks.example.com/prod/events/ecwid/', 'https://hooks.example.com/prod/events/ecwid'],
  ])('%s -> %s', (input, shared) => {
    expect(sharedIngestUrl(input)).toBe(shared);
    expect(instanceIngestUrl(input, 'shop-a')).toBe(`${shared}/shop-a`);
  });
});

describe('a deployed stack', () => {
  test('resources come from the stack outputs, read once', async () => {
    stackWithOutputs();
    const resources = createResources({ stack: 'EcwidEvents', region: 'eu-west-1' }, { env: {}, cwd: dir });
    const queues = await resources.queues();
    expect(queues.queueUrl).toBe(outputs.QueueUrl);
    expect(queues.deadLetterQueueUrl).toBe(outputs.DeadLetterQueueUrl);
    expect(queues.emulated).toBe(false);
    expect(await queues.arns()).toEqual({ queueArn: outputs.QueueArn, deadLetterQueueArn: outputs.DeadLetterQueueArn });
    expect(await resources.ingestUrl()).toBe('https://abc.execute-api.eu-west-1.amazonaws.com/events/ecwid');
    expect((await resources.instances()).location).toBe('SSM /ecwid-events-prod/instances/');
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(1);
    expect(cfnMock.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'EcwidEvents' });
  });

  test('the stack name can come from ECWID_EVENTS_STACK; explicit options win over outputs', async () => {
    stackWithOutputs();
    const resources = createResources({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/other.fifo', region: 'eu-west-1' }, { env: { ECWID_EVENTS_STACK: 'EcwidEvents' }, cwd: dir });
    const queues = await resources.queues();
    expect(queues.queueUrl).toBe('https://sqs.eu-west-1.amazonaws.com/1/other.fifo');
    expect(queues.deadLetterQueueUrl).toBe(outputs.DeadLetterQueueUrl);
  });

  test('a missing stack or output is a clear error', async () => {
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id Nope does not exist'), { name: 'ValidationError' }));
    await expect(createResources({ stack: 'Nope', region: 'eu-west-1' }, { env: {}, cwd: dir }).queues()).rejects.toThrow(
      'stack Nope not found in eu-west-1 (check --stack and --region)',
    );
    stackWithOutputs({ QueueUrl: outputs.QueueUrl });
    await expect(createResources({ stack: 'Half', region: 'eu-west-1' }, { env: {}, cwd: dir }).queues()).rejects.toThrow(
      'stack Half has no output DeadLetterQueueUrl',
    );
  });

  test('instances are written with the stack\'s KMS key when it names one (SsmKmsKeyId)', async () => {
    stackWithOutputs({ ...outputs, SsmKmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd' });
    ssmMock.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    const repository = await createResources({ stack: 'EcwidEvents', region: 'eu-west-1' }, { env: {}, cwd: dir }).instances();
    await repository.create('shop-a', { configuration: { 'ecwid.store.id': '1003' } });
    const puts = ssmMock.commandCalls(PutParameterCommand).map((call) => call.args[0].input);
    expect(puts[0]).toMatchObject({ Name: '/ecwid-events-prod/instances/shop-a', Type: 'SecureString', KeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd' });
    expect(puts[1]).toMatchObject({ Name: '/ecwid-events-prod/stores/1003', Type: 'String', Value: '["shop-a"]' });
  });

  test('callback URLs are checked with the production policy (https, public addresses)', async () => {
    const policy = await createResources({ stack: 'S' }, { env: {}, cwd: dir }).callbackPolicy();
    expect(policy).toMatchObject({ allowHttp: false, allowHosts: [] });
  });
});

describe('--local', () => {
  const stateFile = () => join(dir, 'runner.json');
  const state = (overrides: Partial<LocalRunnerState> = {}): LocalRunnerState => ({
    pid: process.pid,
    ingestUrl: 'http://127.0.0.1:3999/events/ecwid',
    sqsEndpoint: 'http://127.0.0.1:4999',
    region: 'us-east-1',
    queueUrl: 'http://127.0.0.1:4999/000000000000/ecwid-events-local.fifo',
    deadLetterQueueUrl: 'http://127.0.0.1:4999/000000000000/ecwid-events-local-dlq.fifo',
    instancesDir: join(dir, 'instances'),
    ...overrides,
  });

  test('uses the running runner: its folder, queues and URL; http to loopback is allowed', async () => {
    await writeFile(stateFile(), JSON.stringify(state()));
    const resources = createResources({ local: true, stateFile: stateFile() }, { env: {}, cwd: dir });
    expect((await resources.instances()).location).toBe(`folder ${join(dir, 'instances')}`);
    const queues = await resources.queues();
    expect(queues).toMatchObject({ queueUrl: state().queueUrl, deadLetterQueueUrl: state().deadLetterQueueUrl, emulated: true });
    expect(await resources.ingestUrl()).toBe('http://127.0.0.1:3999/events/ecwid');
    expect(await resources.callbackPolicy()).toMatchObject({ allowHttp: true, allowHosts: expect.arrayContaining(['127.0.0.1', 'localhost']) });
  });

  test('no state file: says to start the runner', async () => {
    const error = await createResources({ local: true, stateFile: stateFile() }, { env: {}, cwd: dir }).queues().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect((error as Error).message).toMatch(/no local runner state at .*runner\.json; start the runner with "npm start"/);
  });

  test('a state file left by a runner that is gone is not trusted', async () => {
    await writeFile(stateFile(), JSON.stringify(state({ pid: 2 ** 22 + 12345 })));
    await expect(createResources({ local: true, stateFile: stateFile() }, { env: {}, cwd: dir }).ingestUrl()).rejects.toThrow(/is not running/);
  });

  test('a broken state file is reported', async () => {
    await writeFile(stateFile(), '{"pid":');
    await expect(createResources({ local: true, stateFile: stateFile() }, { env: {}, cwd: dir }).ingestUrl()).rejects.toThrow('is not valid JSON');
    await writeFile(stateFile(), JSON.stringify({ ...state(), queueUrl: '' }));
    await expect(createResources({ local: true, stateFile: stateFile() }, { env: {}, cwd: dir }).ingestUrl()).rejects.toThrow('has no queueUrl');
  });
});

describe('explicit endpoints (moto)', () => {
  test('the default SSM prefix is used and emulators are recognised', async () => {
    const resources = createResources(
      { sqsEndpoint: 'http://127.0.0.1:5000', ssmEndpoint: 'http://127.0.0.1:5000', queueUrl: 'http://127.0.0.1:5000/1/q.fifo', dlqUrl: 'http://127.0.0.1:5000/1/d.fifo' },
      { env: {}, cwd: dir },
    );
    expect((await resources.instances()).location).toBe('SSM /ecwid-events/instances/');
    expect((await resources.queues()).emulated).toBe(true);
    await expect(resources.ingestUrl()).rejects.toThrow(/no ingest URL/);
    expect(cfnMock.commandCalls(DescribeStacksCommand)).toHaveLength(0);
  });
});

describe('--stage', () => {
  test('names the CDK stack EcwidEvents-STAGE', async () => {
    let stack: string | undefined;
    const run = await runCli(['--stage', 'prod', 'queues'], {
      resources: (globals) => {
        stack = globals.stack;
        throw new CliError('stopped here');
      },
    });
    expect(stack).toBe('EcwidEvents-prod');
    expect(run.stderr).toBe('ecwid-events: error: stopped here\n');
  });

  test.each([
    [['--stage', 'Prod!', 'queues'], /--stage must match/],
    [['--stage', 'prod', '--stack', 'X', 'queues'], /give --stack or --stage, not both/],
  ])('%j is a usage error', async (argv, message) => {
    const run = await runCli(argv);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });
});
