import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_SCHEDULE_SECONDS } from '../../functions/core/retry-policy';
import { HELP_TEXT, parseRunnerOptions, UsageError, type RunnerOptions } from '../../local/options';
import { LOCAL_STATE_FILE } from '../../functions/contract';

let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'runner-options-'));
  // The default instances folder must exist for the defaults to validate.
  mkdirSync(join(cwd, 'local', 'instances'), { recursive: true });
});

afterEach(() => rmSync(cwd, { recursive: true, force: true }));

function options(argv: string[]): RunnerOptions {
  const parsed = parseRunnerOptions(argv, cwd);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.options;
}

function usageError(argv: string[]): string {
  try {
    parseRunnerOptions(argv, cwd);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`no UsageError for ${JSON.stringify(argv)}`);
}

test('defaults: port 3000, local/instances, embedded queue, demo Ecwid API, the stack retry policy', () => {
  expect(options([])).toEqual({
    port: 3000,
    instancesDir: join(cwd, 'local', 'instances'),
    sqsEndpoint: undefined,
    queuePrefix: 'ecwid-events-local',
    ecwidApiBaseUrl: undefined,
    retryScheduleSeconds: undefined,
    maxAttempts: undefined,
    quiet: false,
    stateFile: join(cwd, LOCAL_STATE_FILE),
  });
});

test('every option, relative paths resolved against the working directory', () => {
  mkdirSync(join(cwd, 'mine'));
  expect(
    options([
      '--port', '0',
      '--instances', 'mine',
      '--sqs-endpoint', 'http://127.0.0.1:5000/',
      '--queue-prefix', 'run_7',
      '--dynamodb-endpoint', 'http://127.0.0.1:5000/',
      '--ecwid-api', 'https://app.ecwid.com/api',
      '--retry-schedule', '1, 2,5',
      '--max-attempts', '3',
      '--state-file', 'state/runner.json',
      '--quiet',
    ]),
  ).toEqual({
    port: 0,
    instancesDir: join(cwd, 'mine'),
    sqsEndpoint: 'http://127.0.0.1:5000',
    queuePrefix: 'run_7',
    dynamodbEndpoint: 'http://127.0.0.1:5000',
    ecwidApiBaseUrl: 'https://app.ecwid.com/api',
    retryScheduleSeconds: [1, 2, 5],
    maxAttempts: 3,
    quiet: true,
    stateFile: join(cwd, 'state', 'runner.json'),
  });
});

test('--help and -h ask for the help text, which lists every option and the real defaults', () => {
  expect(parseRunnerOptions(['--help'], cwd)).toEqual({ help: true });
  expect(parseRunnerOptions(['-h'], cwd)).toEqual({ help: true });
  for (const option of ['--port', '--instances', '--sqs-endpoint', '--queue-prefix', '--dynamodb-endpoint', '--ecwid-api', '--retry-schedule', '--max-attempts', '--state-file', '--quiet', '--help']) {
    expect(HELP_TEXT).toContain(option);
  }
  expect(HELP_TEXT).toContain(DEFAULT_RETRY_SCHEDULE_SECONDS.join(','));
  expect(HELP_TEXT).toContain(String(DEFAULT_MAX_ATTEMPTS));
});

test.each([
  [['--bogus'], /Unknown option '--bogus'/],
  [['serve'], /Unexpected argument 'serve'/],
  [['--port'], /--port <value>' argument missing/],
  [['--port=-1'], /--port must be a whole number from 0 to 65535, got "-1"/],
  [['--port', '65536'], /--port must be a whole number from 0 to 65535/],
  [['--port', '3e3'], /--port must be a whole number/],
  [['--instances', 'missing'], /--instances: folder .*missing does not exist/],
  [['--sqs-endpoint', 'localhost:4566'], /--sqs-endpoint must be an http:\/\/ or https:\/\/ URL/],
  [['--sqs-endpoint', 'ftp://127.0.0.1'], /--sqs-endpoint must be an http:\/\/ or https:\/\/ URL/],
  [['--dynamodb-endpoint', '127.0.0.1:5000'], /--dynamodb-endpoint must be an http:\/\/ or https:\/\/ URL/],
  [['--ecwid-api', 'http://user:pw@127.0.0.1/api'], /--ecwid-api must not contain a user name or password/],
  [['--queue-prefix', 'bad.name'], /--queue-prefix must be 1 to 71 letters/],
  [['--retry-schedule', ''], /--retry-schedule must be comma-separated whole seconds/],
  [['--retry-schedule', '1,,2'], /--retry-schedule must be comma-separated whole seconds/],
  [['--retry-schedule', '1,x'], /got "1,x"/],
  [['--retry-schedule', '43201'], /from 0 to 43200/],
  [['--max-attempts', '0'], /--max-attempts must be a whole number from 1 to 998, got "0"/],
  [['--max-attempts', '999'], /--max-attempts must be a whole number from 1 to 998/],
  [['--max-attempts', '2.5'], /--max-attempts must be a whole number/],
])('%j is refused: %s', (argv, message) => {
  expect(usageError(argv)).toMatch(message);
});

test('a file given as the instances folder is refused', () => {
  writeFileSync(join(cwd, 'file.json'), '{}');
  expect(usageError(['--instances', 'file.json'])).toMatch(/--instances: .*file\.json is not a folder/);
});

test('--breaker-* shorten the circuit breaker; only what is given is set, each checked', () => {
  expect(options(['--breaker-failures', '3', '--breaker-seconds', '0', '--probe-seconds', '2', '--disable-after', '60']).breaker).toEqual({
    failures: 3,
    spanSeconds: 0,
    probeSeconds: 2,
    disableAfterSeconds: 60,
  });
  expect(options(['--probe-seconds', '5']).breaker).toEqual({ probeSeconds: 5 });
  expect(options([]).breaker).toBeUndefined();
  expect(usageError(['--breaker-failures', '0'])).toBe('--breaker-failures must be a whole number from 1 to 2592000, got "0"');
  expect(usageError(['--probe-seconds', 'soon'])).toBe('--probe-seconds must be a whole number from 1 to 2592000, got "soon"');
  for (const option of ['--breaker-failures', '--breaker-seconds', '--probe-seconds', '--disable-after']) expect(HELP_TEXT).toContain(option);
});

test('--slow-after-ms and --slow-max-in-flight set the slow-receiver rule, each checked', () => {
  expect(options(['--slow-after-ms', '300', '--slow-max-in-flight', '1']).breaker).toEqual({ slowAfterMs: 300, slowMaxInFlight: 1 });
  expect(usageError(['--slow-after-ms', '2s'])).toBe('--slow-after-ms must be a whole number from 1 to 600000, got "2s"');
  expect(usageError(['--slow-max-in-flight', '0'])).toBe('--slow-max-in-flight must be a whole number from 1 to 100, got "0"');
  for (const option of ['--slow-after-ms', '--slow-max-in-flight']) expect(HELP_TEXT).toContain(option);
});
