import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  MAX_ATTEMPTS_LIMIT,
  MAX_BACKOFF_SECONDS,
  retryPolicyFrom,
} from '../functions/core/retry-policy';
import { callbackTimeoutMsFrom, type Environment, webhookMaxAgeSecondsFrom } from '../functions/config';
import { DEFAULTS, ENV, LOCAL_STATE_FILE } from '../functions/contract';
import type { BreakerSettings } from '../functions/core/health';

/** What `npm start -- ...` accepts, validated. */
export interface RunnerOptions {
  /** TCP port of the API Gateway stand-in; 0 picks a free port. */
  readonly port: number;
  /** Absolute path of the folder of instance JSON files. */
  readonly instancesDir: string;
  /** External SQS-compatible endpoint (moto, LocalStack); undefined runs the embedded one. */
  readonly sqsEndpoint?: string;
  /** External DynamoDB-compatible endpoint (moto) for the event ledger; undefined runs the embedded one beside the state file. */
  readonly dynamodbEndpoint?: string;
  /** Queue names: `<prefix>.fifo` and `<prefix>-dlq.fifo`. */
  readonly queuePrefix: string;
  /** Ecwid API base URL for verification/enrichment; undefined runs the built-in demo stand-in. */
  readonly ecwidApiBaseUrl?: string;
  /** Backoff between delivery attempts, in seconds; undefined keeps the stack's default. */
  readonly retryScheduleSeconds?: readonly number[];
  /** Attempts before an event goes to the DLQ; undefined keeps the stack's default. */
  readonly maxAttempts?: number;
  /** Only warnings and errors from the handlers (deliveries to the built-in sink still print). */
  readonly quiet: boolean;
  /** Where the LocalRunnerState JSON is written (absolute). */
  readonly stateFile: string;
  /** Seconds between runs of the poll loop; 0 turns polling off; undefined is DEFAULT_POLL_INTERVAL_SECONDS. */
  readonly pollIntervalSeconds?: number;
  /** Timeout of one callback POST (CALLBACK_TIMEOUT_MS, read as deliver reads it); undefined: the default. */
  readonly callbackTimeoutMs?: number;
  /** Webhook freshness window (WEBHOOK_MAX_AGE_SECONDS, read as ingest reads it); undefined: the default, 48 h. */
  readonly webhookMaxAgeSeconds?: number;
  /** The circuit breaker's thresholds (--breaker-failures ...); what is not given keeps the stack's default. */
  readonly breaker?: Partial<Pick<BreakerSettings, 'failures' | 'spanSeconds' | 'probeSeconds' | 'disableAfterSeconds' | 'slowAfterMs' | 'slowMaxInFlight'>>;
}

/** A bad command line: the message says what is wrong; the runner exits with code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const DEFAULT_PORT = 3000;
export const DEFAULT_INSTANCES_DIR = 'local/instances';
export const DEFAULT_QUEUE_PREFIX = 'ecwid-events-local';
/** The local poll loop runs this often (the deployed poller: every 5 minutes). */
export const DEFAULT_POLL_INTERVAL_SECONDS = 60;
/** SQS queue names: 80 characters, `-dlq.fifo` included. */
const QUEUE_PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,71}$/;

export const HELP_TEXT = `Usage: npm start -- [options]

Runs ecwid-events on this machine: an API Gateway stand-in in front of the ingest handler,
an SQS FIFO queue + dead-letter queue, and the deliver handler fed the way Lambda's SQS
event source feeds it. Everything listens on 127.0.0.1 only.

Options:
  --port N               port of the ingest endpoint (default ${DEFAULT_PORT}; 0 = any free port)
  --instances DIR        folder of instance JSON files, id = file name without .json
                         (default ${DEFAULT_INSTANCES_DIR})
  --sqs-endpoint URL     use this SQS-compatible endpoint (moto, LocalStack) instead of the
                         embedded queue; the queues are created there if missing
  --queue-prefix NAME    queue names NAME.fifo and NAME-dlq.fifo, ledger table NAME-ledger
                         (default ${DEFAULT_QUEUE_PREFIX}); lets several runners share one endpoint
  --dynamodb-endpoint URL
                         keep the event ledger at this DynamoDB-compatible endpoint (moto) instead
                         of the embedded one; the table is created there if missing
  --ecwid-api URL        Ecwid API base URL for verification and enrichment, e.g.
                         https://app.ecwid.com/api (default: a built-in demo stand-in)
  --retry-schedule LIST  seconds between delivery attempts, e.g. 1,2,5 (default: the stack's,
                         ${DEFAULT_RETRY_SCHEDULE_SECONDS.join(',')})
  --max-attempts N       delivery attempts before an event goes to the dead-letter queue
                         (default: the stack's, ${DEFAULT_MAX_ATTEMPTS}; with only --retry-schedule, its length + 1)
  --breaker-failures N   failures in a row that open a receiver's circuit (its events are then
                         held, one probe at a time; default: the stack's, ${DEFAULTS.breakerFailures})
  --breaker-seconds S    ...if they span at least S seconds (default ${DEFAULTS.breakerSpanSeconds})
  --probe-seconds S      seconds between probes while a circuit is open (default ${DEFAULTS.breakerProbeSeconds})
  --disable-after S      a receiver with no success for S seconds since it began failing is
                         disabled, with a notice (default ${DEFAULTS.receiverDisableAfterSeconds}, 5 days)
  --slow-after-ms MS     an attempt taking MS milliseconds marks its receiver slow (default ${DEFAULTS.slowReceiverAfterMs})
  --slow-max-in-flight N while a receiver is slow: its attempts in flight at once (default
                         ${DEFAULTS.slowReceiverMaxInFlight}); its other events wait in the ledger
  --poll-interval N      seconds between runs of the poller over the instances in polling or
                         reconciliation mode, against --ecwid-api (default ${DEFAULT_POLL_INTERVAL_SECONDS};
                         0 = no polling)
  --state-file PATH      where to publish the runner's URLs for the CLI's --local mode
                         (default ${LOCAL_STATE_FILE}); the embedded event ledger keeps its
                         data in the folder ledger/ beside it, so a restart with the same
                         state file remembers every event (repeats are answered as duplicates)
  --quiet                print only warnings and errors from the handlers
  -h, --help             show this help

Stop with Ctrl-C.`;

export type ParseResult = { readonly help: true } | { readonly help: false; readonly options: RunnerOptions };

/**
 * Parses and validates the command line. Throws UsageError for anything wrong: unknown
 * option, stray argument, bad number, unreadable folder, malformed URL or schedule.
 * Relative paths are resolved against `cwd`. From `env`, only CALLBACK_TIMEOUT_MS is taken, as
 * the deliver function takes it.
 */
export function parseRunnerOptions(argv: readonly string[], cwd: string = process.cwd(), env: Environment = process.env): ParseResult {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        instances: { type: 'string' },
        'sqs-endpoint': { type: 'string' },
        'dynamodb-endpoint': { type: 'string' },
        'queue-prefix': { type: 'string' },
        'ecwid-api': { type: 'string' },
        'retry-schedule': { type: 'string' },
        'max-attempts': { type: 'string' },
        'state-file': { type: 'string' },
        'poll-interval': { type: 'string' },
        'breaker-failures': { type: 'string' },
        'breaker-seconds': { type: 'string' },
        'probe-seconds': { type: 'string' },
        'disable-after': { type: 'string' },
        'slow-after-ms': { type: 'string' },
        'slow-max-in-flight': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    // node:util's TypeError (duck-typed: it may come from another realm under a test runner).
    const message = (error as { message?: unknown } | null)?.message;
    throw new UsageError(typeof message === 'string' ? message : String(error));
  }
  if (values.help) return { help: true };

  // Checked in the order of the help text, so the first problem reported is the first listed.
  const port = values.port === undefined ? DEFAULT_PORT : parsePort(values.port);
  const instancesDir = resolve(cwd, values.instances ?? DEFAULT_INSTANCES_DIR);
  requireDirectory(instancesDir, '--instances');

  return {
    help: false,
    options: {
      port,
      instancesDir,
      sqsEndpoint: values['sqs-endpoint'] === undefined ? undefined : parseHttpUrl(values['sqs-endpoint'], '--sqs-endpoint'),
      queuePrefix: values['queue-prefix'] === undefined ? DEFAULT_QUEUE_PREFIX : parseQueuePrefix(values['queue-prefix']),
      dynamodbEndpoint:
        values['dynamodb-endpoint'] === undefined ? undefined : parseHttpUrl(values['dynamodb-endpoint'], '--dynamodb-endpoint'),
      ecwidApiBaseUrl: values['ecwid-api'] === undefined ? undefined : parseHttpUrl(values['ecwid-api'], '--ecwid-api'),
      retryScheduleSeconds:
        values['retry-schedule'] === undefined ? undefined : parseRetrySchedule(values['retry-schedule']),
      maxAttempts: values['max-attempts'] === undefined ? undefined : parseMaxAttempts(values['max-attempts']),
      quiet: values.quiet ?? false,
      stateFile: resolve(cwd, values['state-file'] ?? LOCAL_STATE_FILE),
      pollIntervalSeconds: values['poll-interval'] === undefined ? undefined : parsePollInterval(values['poll-interval']),
      ...breakerOptions(values),
      ...(env[ENV.callbackTimeoutMs] === undefined ? {} : { callbackTimeoutMs: callbackTimeoutMsFrom(env) }),
      ...(env[ENV.webhookMaxAgeSeconds] === undefined ? {} : { webhookMaxAgeSeconds: webhookMaxAgeSecondsFrom(env) }),
    },
  };
}

/** The --breaker-* options given (none: the key is left out), each checked by the breaker's own rules. */
function breakerOptions(values: Record<string, string | boolean | undefined>): { breaker?: RunnerOptions['breaker'] } {
  const given: Array<[keyof NonNullable<RunnerOptions['breaker']>, string, number, number]> = [
    ['failures', 'breaker-failures', 1, 30 * 86_400],
    ['spanSeconds', 'breaker-seconds', 0, 30 * 86_400],
    ['probeSeconds', 'probe-seconds', 1, 30 * 86_400],
    ['disableAfterSeconds', 'disable-after', 1, 30 * 86_400],
    ['slowAfterMs', 'slow-after-ms', 1, 600_000],
    ['slowMaxInFlight', 'slow-max-in-flight', 1, 100],
  ];
  const breaker: Record<string, number> = {};
  for (const [field, option, min, max] of given) {
    const text = values[option];
    if (typeof text !== 'string') continue;
    const value = parseWholeNumber(text);
    if (value === undefined || value < min || value > max) {
      throw new UsageError(`--${option} must be a whole number from ${min} to ${max}, got "${text}"`);
    }
    breaker[field] = value;
  }
  return Object.keys(breaker).length === 0 ? {} : { breaker };
}

export function parsePollInterval(text: string): number {
  const seconds = parseWholeNumber(text);
  if (seconds === undefined || seconds > 86_400) {
    throw new UsageError(`--poll-interval must be a whole number of seconds from 0 (no polling) to 86400, got "${text}"`);
  }
  return seconds;
}

export function parsePort(text: string): number {
  const port = parseWholeNumber(text);
  if (port === undefined || port > 65_535) {
    throw new UsageError(`--port must be a whole number from 0 to 65535, got "${text}"`);
  }
  return port;
}

export function parseQueuePrefix(text: string): string {
  if (!QUEUE_PREFIX_PATTERN.test(text)) {
    throw new UsageError(`--queue-prefix must be 1 to 71 letters, digits, hyphens or underscores, got "${text}"`);
  }
  return text;
}

/** The stack's own parser (retry-policy.ts) decides what a valid schedule is. */
export function parseRetrySchedule(text: string): number[] {
  const problem = `--retry-schedule must be comma-separated whole seconds from 0 to ${MAX_BACKOFF_SECONDS}, e.g. 1,2,5; got "${text}"`;
  if (text.trim() === '') throw new UsageError(problem);
  try {
    return [...retryPolicyFrom({ schedule: text }).scheduleSeconds];
  } catch {
    throw new UsageError(problem);
  }
}

export function parseMaxAttempts(text: string): number {
  const problem = `--max-attempts must be a whole number from 1 to ${MAX_ATTEMPTS_LIMIT}, got "${text}"`;
  if (!/^\s*[0-9]+\s*$/.test(text)) throw new UsageError(problem);
  try {
    return retryPolicyFrom({ maxAttempts: text }).maxAttempts;
  } catch {
    throw new UsageError(problem);
  }
}

export function parseHttpUrl(text: string, option: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${option} must be an http:// or https:// URL, got "${text}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${option} must be an http:// or https:// URL, got "${text}"`);
  }
  if (url.username || url.password) {
    // Credentials in a URL end up in logs and in the state file.
    throw new UsageError(`${option} must not contain a user name or password`);
  }
  return text.replace(/\/+$/, '');
}

function requireDirectory(path: string, option: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch {
    throw new UsageError(`${option}: folder ${path} does not exist`);
  }
  if (!isDirectory) throw new UsageError(`${option}: ${path} is not a folder`);
}

function parseWholeNumber(text: string): number | undefined {
  if (!/^[0-9]{1,9}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}
