/**
 * `npm start` as a command: help, option errors (exit 2), a busy port (exit 1), and the out-of-the-box
 * setup (demo instances, built-in sink and demo Ecwid API, state file) the README's curl examples use.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fixtureText, modernSamples, postIon, postWebhook } from './support/ecwid-posts';
import { eventually, killLeftovers, ROOT, runToExit, startRunner, tsxRunner, type RunnerProcess } from './support/runner-process';

// Each test drives a separate runner process (start-up, retries with real backoff): Jest's 5 s default is too short.
jest.setTimeout(30_000);

afterAll(() => killLeftovers());

test('npm start -- --help lists the options and exits 0', async () => {
  const { code, stdout } = await runToExit('npm', ['start', '--', '--help']);
  expect(code).toBe(0);
  expect(stdout).toContain('Usage: npm start -- [options]');
  for (const option of ['--port N', '--instances DIR', '--sqs-endpoint URL', '--ecwid-api URL', '--retry-schedule LIST', '--max-attempts N', '--quiet']) {
    expect(stdout).toContain(option);
  }
  expect(stdout).not.toContain('ready');
});

test.each([
  [['--no-such-option'], /error: Unknown option '--no-such-option'/],
  [['--port', 'eighty'], /error: --port must be a whole number from 0 to 65535, got "eighty"/],
  [['--instances', 'no/such/folder'], /error: --instances: folder .*no\/such\/folder does not exist/],
  [['--retry-schedule', '1,-2'], /error: --retry-schedule must be comma-separated whole seconds/],
])('%j is refused with exit code 2 and a clear message', async (args, message) => {
  const { code, stdout, stderr } = await tsxRunner(args);
  expect(code).toBe(2);
  expect(stderr).toMatch(message);
  expect(stderr).toContain('npm start -- --help');
  expect(stdout).not.toContain('ready');
});

describe('a port already in use', () => {
  let blocker: Server;
  let port: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise((resolve) => blocker.close(resolve)));

  test('fails the start with exit code 1 and says what to do', async () => {
    const { code, stderr } = await tsxRunner(['--port', String(port), '--state-file', join(ROOT, '.local-state', `unused-${port}.json`)]);
    expect(code).toBe(1);
    expect(stderr).toContain(`port ${port} is already in use`);
    expect(stderr).toContain('--port');
    expect(existsSync(join(ROOT, '.local-state', `unused-${port}.json`))).toBe(false);
  });
});

describe('out of the box: the demo instances, the built-in sink and the demo Ecwid API', () => {
  let runner: RunnerProcess;

  beforeAll(async () => {
    runner = await startRunner(['--quiet']);
  });
  afterAll(() => runner?.stop());

  test('publishes where it runs in the state file', () => {
    const { state } = runner;
    expect(state).toEqual({
      pid: expect.any(Number),
      ingestUrl: runner.ingestUrl,
      sqsEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      region: 'us-east-1',
      queueUrl: `${state.sqsEndpoint}/000000000000/ecwid-events-local.fifo`,
      deadLetterQueueUrl: `${state.sqsEndpoint}/000000000000/ecwid-events-local-dlq.fifo`,
      instancesDir: join(ROOT, 'local', 'instances'),
      // The demo stand-in, which the CLI's --local mode can use too.
      ecwidApiBaseUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/api$/),
      // Beside the state file: the poll loop's checkpoints, which `instances poll --local` shares.
      pollStateDir: join(dirname(runner.stateFile), 'poller'),
      // The event ledger (embedded, its data beside the state file), which `events ... --local` reads.
      dynamodbEndpoint: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      ledgerTableName: 'ecwid-events-local-ledger',
    });
    expect(existsSync(join(dirname(runner.stateFile), 'runner-ledger'))).toBe(true);
    expect(() => process.kill(state.pid, 0)).not.toThrow();
  });

  test('the signed sample webhook and the ION sample each show up as a delivery on the console', async () => {
    const sample = modernSamples().find((s) => s.name === 'order-created')!;
    expect((await postWebhook(runner.ingestUrl, sample)).status).toBe(200);
    expect((await postIon(runner.ingestUrl, fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt'))).status).toBe(200);

    await eventually(
      () => runner.stdout().includes('POST /demo ') && runner.stdout().includes('POST /demo-ion '),
      () => `stdout:\n${runner.stdout()}\nstderr:\n${runner.stderr()}`,
    );
    const out = runner.stdout();
    expect(out).toContain('"id": "demo:80aece08-40e8-4145-8764-6c2f0d38678"');
    expect(out).toMatch(/webhook-signature: v1,/);
    expect(out).toMatch(/elements-webhook-signature: sha256=/);
    // The ION post was verified against the demo stand-in, which says what it is.
    expect(out).toContain('"_localDemo"');
    // Instance secrets never reach the console.
    for (const secret of ['test_client_secret', 'secret_local_demo_token', 'local-demo-order-key', 'local-demo-signature-key', 'whsec_']) {
      expect(out + runner.stderr()).not.toContain(secret);
    }
  });
});
