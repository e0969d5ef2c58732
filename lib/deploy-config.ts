/**
 * Deploying from configuration: every property of the stack can be set in `cdk.json`'s context,
 * with `-c key=value`, or in one JSON file named by `-c configFile=path`, without editing code.
 * Values from `-c` arrive as strings, values from cdk.json or the file as JSON; both are read
 * here, and every problem is reported at once.
 */
import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BillingMode } from 'aws-cdk-lib/aws-dynamodb';
import { ApplicationLogLevel, SystemLogLevel } from 'aws-cdk-lib/aws-lambda';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { STAGE_PATTERN } from '../functions/contract';
import { isValidBackoff, MAX_ATTEMPTS_LIMIT, MAX_BACKOFF_SECONDS } from '../functions/core/retry-policy';
import { DELIVER_BATCH_SIZE, DELIVER_TIMEOUT } from './constructs/delivery';
import { MAX_QUEUE_RETENTION } from './constructs/event-queue';
import { validateSsmPrefix } from './constructs/instance-config-access';

/** The settings a deployment can choose; the app turns them into stack props. */
export interface DeployConfig {
  readonly stage?: string;
  readonly alarmEmail?: string;
  readonly noticeEmail?: string;
  readonly retrySchedule?: number[];
  readonly maxAttempts?: number;
  readonly callbackTimeout?: Duration;
  readonly callbackPorts?: number[];
  readonly configCache?: Duration;
  readonly webhookMaxAge?: Duration;
  readonly ingestReservedConcurrency?: number;
  readonly deliveryMaxConcurrency?: number;
  readonly throttlingRateLimit?: number;
  readonly throttlingBurstLimit?: number;
  readonly oldestMessageAgeAlarmThreshold?: Duration;
  readonly logRetention?: RetentionDays;
  readonly logLevel?: ApplicationLogLevel;
  readonly ecwidApiBaseUrl?: string;
  readonly removalPolicy?: RemovalPolicy;
  readonly terminationProtection?: boolean;
  readonly platformLogLevel?: SystemLogLevel;
  readonly tracing?: boolean;
  readonly metricsNamespace?: string;
  readonly polling?: boolean;
  readonly pollSchedule?: Duration;
  readonly configReconcileEvery?: Duration;
  readonly ssmPrefix?: string;
  readonly ledgerRetention?: Duration;
  readonly ledgerBillingMode?: BillingMode;
  readonly ledgerMinEventsPerSecond?: number;
  readonly ledgerMaxEventsPerSecond?: number;
  readonly ledgerTargetUtilizationPercent?: number;
  readonly ledgerWarmEventsPerSecond?: number;
  readonly breakerFailures?: number;
  readonly breakerMinSpan?: Duration;
  readonly breakerProbeInterval?: Duration;
  readonly receiverDisableAfter?: Duration;
  readonly slowReceiverThreshold?: Duration;
  readonly slowReceiverMaxInFlight?: number;
  /** ARN of a customer managed KMS key (the app imports it). */
  readonly ssmKmsKeyArn?: string;
  /** ARN of a customer managed KMS key (the app imports it). */
  readonly queueKmsKeyArn?: string;
  /** ARN of a customer managed KMS key (the app imports it). */
  readonly ledgerKmsKeyArn?: string;
}

/** One bad setting: the context key, and what is wrong with its value. */
export interface DeployConfigProblem {
  readonly key: string;
  readonly message: string;
}

type Parsed<T> = { readonly value: T } | { readonly problem: string };

interface Setting {
  /** The DeployConfig field it fills. */
  readonly field: keyof DeployConfig;
  /** The accepted values, for messages and the README. */
  readonly format: string;
  readonly parse: (value: unknown) => Parsed<unknown>;
}

const DURATION = /^(\d+)\s*(ms|s|m|h|d)?$/i;
const UNIT_SECONDS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value.trim() : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;

function stringOf(check?: (value: string) => string | undefined): (value: unknown) => Parsed<string> {
  return (value) => {
    const t = text(value);
    if (t === undefined || t === '') return { problem: 'must be a non-empty string' };
    const problem = check?.(t);
    return problem ? { problem } : { value: t };
  };
}

function integerOf(min: number, max: number): (value: unknown) => Parsed<number> {
  return (value) => {
    const t = text(value);
    const n = Number(t);
    if (t === undefined || !/^-?\d+$/.test(t) || n < min || n > max) return { problem: `must be a whole number from ${min} to ${max}` };
    return { value: n };
  };
}

function positiveNumber(value: unknown): Parsed<number> {
  const t = text(value);
  const n = Number(t);
  if (t === undefined || t === '' || !Number.isFinite(n) || n <= 0) return { problem: 'must be a positive number' };
  return { value: n };
}

function booleanOf(value: unknown): Parsed<boolean> {
  const t = text(value)?.toLowerCase();
  if (t === 'true') return { value: true };
  if (t === 'false') return { value: false };
  return { problem: 'must be true or false' };
}

/** `90` (seconds), `500ms`, `90s`, `5m`, `1h`, `2d`. */
function durationOf(check?: (seconds: number) => string | undefined): (value: unknown) => Parsed<Duration> {
  return (value) => {
    const match = DURATION.exec(text(value) ?? '');
    if (!match) return { problem: 'must be a duration: whole seconds, or a number with ms, s, m, h or d (e.g. 10s, 5m, 1h)' };
    const unit = (match[2] ?? 's').toLowerCase();
    const seconds = Number(match[1]) * UNIT_SECONDS[unit];
    const problem = check?.(seconds);
    if (problem) return { problem };
    return { value: unit === 'ms' ? Duration.millis(Number(match[1])) : Duration.seconds(seconds) };
  };
}

const between = (min: number, max: number, what: string) => (n: number) =>
  n >= min && n <= max ? undefined : `must be ${what}`;

function enumOf<T>(values: Readonly<Record<string, T>>): (value: unknown) => Parsed<T> {
  return (value) => {
    const t = text(value)?.toUpperCase();
    if (t !== undefined && Object.hasOwn(values, t)) return { value: values[t] };
    return { problem: `must be one of ${Object.keys(values).map((k) => k.toLowerCase()).join(', ')}` };
  };
}

/**
 * `60,300,900` or a JSON array `[60, 300, 900]`: each at most SQS's visibility cap, and all of
 * them within the queue's retention (a message must outlive its retries).
 */
function retrySchedule(value: unknown): Parsed<number[]> {
  const parts = Array.isArray(value) ? value.map((v) => text(v) ?? '') : (text(value) ?? '').replace(/^\[|\]$/g, '').split(',');
  const trimmed = parts.map((part) => part.trim());
  if (trimmed.length === 0 || trimmed.every((part) => part === '')) return { problem: 'must list at least one number of seconds' };
  const bad = trimmed.filter((part) => !/^\d+$/.test(part) || !isValidBackoff(Number(part)));
  if (bad.length > 0) {
    return { problem: `must be comma-separated whole seconds from 0 to ${MAX_BACKOFF_SECONDS}; bad: ${bad.map((b) => JSON.stringify(b)).join(', ')}` };
  }
  const seconds = trimmed.map(Number);
  const total = seconds.reduce((sum, s) => sum + s, 0);
  if (total >= MAX_QUEUE_RETENTION.toSeconds()) {
    return { problem: `sums to ${total} s, longer than the queue keeps messages (${MAX_QUEUE_RETENTION.toSeconds()} s)` };
  }
  return { value: seconds };
}

/** `443,8443` or a JSON array `[443, 8443]`: whole numbers from 1 to 65535. */
function portList(value: unknown): Parsed<number[]> {
  const parts = (Array.isArray(value) ? value.map((v) => text(v) ?? '') : (text(value) ?? '').replace(/^\[|\]$/g, '').split(',')).map((part) => part.trim());
  const bad = parts.filter((part) => !/^\d{1,5}$/.test(part) || Number(part) < 1 || Number(part) > 65_535);
  if (parts.length === 0 || bad.length > 0) return { problem: 'must be comma-separated ports from 1 to 65535' };
  return { value: parts.map(Number) };
}

function ssmPrefix(prefix: string): string | undefined {
  try {
    validateSsmPrefix(prefix);
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^ssmPrefix "[^"]*" is invalid: /, '');
  }
}

/** The callbacks of one batch must fit in the deliver function's timeout (below this, in seconds). */
const CALLBACK_TIMEOUT_LIMIT_SECONDS = DELIVER_TIMEOUT.toSeconds() / DELIVER_BATCH_SIZE;

const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const kmsKeyArn = stringOf((arn) => (KMS_KEY_ARN.test(arn) ? undefined : 'must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)'));

/** CloudWatch Logs retention periods, in days. */
const RETENTION_DAYS: ReadonlySet<number> = new Set(
  Object.values(RetentionDays).filter((days): days is number => typeof days === 'number' && days !== RetentionDays.INFINITE),
);
function retentionOf(value: unknown): Parsed<RetentionDays> {
  const t = text(value)?.toLowerCase();
  if (t === 'infinite') return { value: RetentionDays.INFINITE };
  const days = Number(t);
  if (t !== undefined && /^\d+$/.test(t) && RETENTION_DAYS.has(days)) return { value: days as RetentionDays };
  return { problem: `must be a number of days CloudWatch Logs offers (${[...RETENTION_DAYS].join(', ')}) or infinite` };
}

function httpsUrl(url: string): string | undefined {
  try {
    return new URL(url).protocol === 'https:' ? undefined : 'must be an https:// URL';
  } catch {
    return 'must be an https:// URL';
  }
}

/** Every setting, by its context key. */
export const DEPLOY_SETTINGS: Readonly<Record<string, Setting>> = {
  stage: {
    field: 'stage',
    format: 'lower-case letters, digits, -',
    parse: stringOf((stage) => (STAGE_PATTERN.test(stage) ? undefined : 'must be lower-case letters, digits and "-", starting with a letter (max 24)')),
  },
  alarmEmail: {
    field: 'alarmEmail',
    format: 'an email address',
    parse: stringOf((email) => (/^[^@\s]+@[^@\s]+$/.test(email) ? undefined : 'must be an email address')),
  },
  noticeEmail: {
    field: 'noticeEmail',
    format: 'an email address',
    parse: stringOf((email) => (/^[^@\s]+@[^@\s]+$/.test(email) ? undefined : 'must be an email address')),
  },
  retrySchedule: { field: 'retrySchedule', format: 'seconds between attempts, comma-separated (60,300,900)', parse: retrySchedule },
  maxAttempts: { field: 'maxAttempts', format: `a whole number, 1 to ${MAX_ATTEMPTS_LIMIT}`, parse: integerOf(1, MAX_ATTEMPTS_LIMIT) },
  callbackTimeout: {
    field: 'callbackTimeout',
    format: `a duration below ${CALLBACK_TIMEOUT_LIMIT_SECONDS} s (10s)`,
    parse: durationOf((s) =>
      s > 0 && s < CALLBACK_TIMEOUT_LIMIT_SECONDS
        ? undefined
        : `must be more than 0 and less than ${CALLBACK_TIMEOUT_LIMIT_SECONDS} s (${DELIVER_BATCH_SIZE} callbacks must fit in the deliver function's ${DELIVER_TIMEOUT.toSeconds()} s)`,
    ),
  },
  callbackPorts: { field: 'callbackPorts', format: 'ports, comma-separated (443,8443)', parse: portList },
  configCache: { field: 'configCache', format: 'a duration (60s)', parse: durationOf(between(0, 86_400, 'at most a day')) },
  webhookMaxAge: {
    field: 'webhookMaxAge',
    format: 'a duration, 1h to 30d (48h)',
    parse: durationOf(between(3600, 30 * 86_400, 'from 1 hour to 30 days')),
  },
  ingestReservedConcurrency: { field: 'ingestReservedConcurrency', format: 'a whole number, 1 to 10000', parse: integerOf(1, 10_000) },
  deliveryMaxConcurrency: { field: 'deliveryMaxConcurrency', format: 'a whole number, 2 to 1000', parse: integerOf(2, 1000) },
  throttlingRateLimit: { field: 'throttlingRateLimit', format: 'requests per second', parse: positiveNumber },
  throttlingBurstLimit: { field: 'throttlingBurstLimit', format: 'a whole number', parse: integerOf(1, 1_000_000) },
  oldestMessageAgeAlarmThreshold: {
    field: 'oldestMessageAgeAlarmThreshold',
    format: 'a duration, at least 1m (1h)',
    parse: durationOf(between(60, 14 * 86_400, 'from 1 minute to 14 days')),
  },
  logRetention: { field: 'logRetention', format: 'days (30) or infinite', parse: retentionOf },
  logLevel: {
    field: 'logLevel',
    format: 'trace, debug, info, warn, error or fatal',
    parse: enumOf({
      TRACE: ApplicationLogLevel.TRACE,
      DEBUG: ApplicationLogLevel.DEBUG,
      INFO: ApplicationLogLevel.INFO,
      WARN: ApplicationLogLevel.WARN,
      ERROR: ApplicationLogLevel.ERROR,
      FATAL: ApplicationLogLevel.FATAL,
    }),
  },
  ecwidApiBaseUrl: { field: 'ecwidApiBaseUrl', format: 'an https:// URL', parse: stringOf(httpsUrl) },
  removalPolicy: {
    field: 'removalPolicy',
    format: 'retain or destroy',
    parse: enumOf({ RETAIN: RemovalPolicy.RETAIN, DESTROY: RemovalPolicy.DESTROY }),
  },
  terminationProtection: { field: 'terminationProtection', format: 'true or false', parse: booleanOf },
  platformLogLevel: {
    field: 'platformLogLevel',
    format: 'debug, info or warn',
    parse: enumOf({ DEBUG: SystemLogLevel.DEBUG, INFO: SystemLogLevel.INFO, WARN: SystemLogLevel.WARN }),
  },
  tracing: { field: 'tracing', format: 'true or false', parse: booleanOf },
  metricsNamespace: {
    field: 'metricsNamespace',
    format: 'a CloudWatch namespace',
    parse: stringOf((ns) =>
      /^[A-Za-z0-9._/#:\- ]{1,255}$/.test(ns) && !/^AWS\//i.test(ns)
        ? undefined
        : 'must be 1-255 letters, digits or . _ / # : - and not start with AWS/',
    ),
  },
  polling: { field: 'polling', format: 'true or false', parse: booleanOf },
  pollSchedule: {
    field: 'pollSchedule',
    format: 'whole minutes, 1m to 1d (5m)',
    parse: durationOf((s) => (Number.isInteger(s / 60) && s >= 60 && s <= 86_400 ? undefined : 'must be whole minutes from 1m to 1d')),
  },
  configReconcileEvery: {
    field: 'configReconcileEvery',
    format: 'whole minutes, 1m to 1d (5m)',
    parse: durationOf((s) => (Number.isInteger(s / 60) && s >= 60 && s <= 86_400 ? undefined : 'must be whole minutes from 1m to 1d')),
  },
  ssmPrefix: { field: 'ssmPrefix', format: 'a Parameter Store path (/ecwid-events/prod)', parse: stringOf(ssmPrefix) },
  ledgerRetention: {
    field: 'ledgerRetention',
    format: 'whole days, 1d to 3650d (30d)',
    parse: durationOf((s) => (Number.isInteger(s / 86_400) && s >= 86_400 && s <= 3650 * 86_400 ? undefined : 'must be whole days from 1d to 3650d')),
  },
  ledgerBillingMode: {
    field: 'ledgerBillingMode',
    format: 'pay_per_request or provisioned',
    parse: enumOf({ PAY_PER_REQUEST: BillingMode.PAY_PER_REQUEST, PROVISIONED: BillingMode.PROVISIONED }),
  },
  ledgerMinEventsPerSecond: { field: 'ledgerMinEventsPerSecond', format: 'events per second, 0 to 100000 (200)', parse: integerOf(0, 100_000) },
  ledgerMaxEventsPerSecond: { field: 'ledgerMaxEventsPerSecond', format: 'events per second, 1 to 100000 (2000)', parse: integerOf(1, 100_000) },
  ledgerTargetUtilizationPercent: { field: 'ledgerTargetUtilizationPercent', format: 'percent, 20 to 90 (70)', parse: integerOf(20, 90) },
  ledgerWarmEventsPerSecond: { field: 'ledgerWarmEventsPerSecond', format: 'events per second, 100 to 100000 (not pre-warmed)', parse: integerOf(100, 100_000) },
  breakerFailures: { field: 'breakerFailures', format: 'a whole number, 1 to 1000 (10)', parse: integerOf(1, 1000) },
  breakerMinSpan: {
    field: 'breakerMinSpan',
    format: 'whole seconds, 0 to 1d (5m)',
    parse: durationOf((s) => (Number.isInteger(s) && s >= 0 && s <= 86_400 ? undefined : 'must be whole seconds from 0 to 1 day')),
  },
  breakerProbeInterval: {
    field: 'breakerProbeInterval',
    format: 'whole seconds, 1s to 1h (60s)',
    parse: durationOf((s) => (Number.isInteger(s) && s >= 1 && s <= 3600 ? undefined : 'must be whole seconds from 1 s to 1 hour')),
  },
  receiverDisableAfter: {
    field: 'receiverDisableAfter',
    format: 'a duration, 1h to 30d (5d)',
    parse: durationOf((s) => (Number.isInteger(s) && s >= 3600 && s <= 30 * 86_400 ? undefined : 'must be whole seconds from 1 hour to 30 days')),
  },
  slowReceiverThreshold: {
    field: 'slowReceiverThreshold',
    format: 'a duration, 100ms to the callback timeout (2s)',
    parse: durationOf((s) => (Number.isInteger(s * 1000) && s >= 0.1 && s <= 60 ? undefined : 'must be whole milliseconds from 100ms to 60s (and at most the callback timeout)')),
  },
  slowReceiverMaxInFlight: { field: 'slowReceiverMaxInFlight', format: 'a whole number, 1 to 100 (2)', parse: integerOf(1, 100) },
  ssmKmsKey: { field: 'ssmKmsKeyArn', format: 'a KMS key ARN', parse: kmsKeyArn },
  queueKmsKey: { field: 'queueKmsKeyArn', format: 'a KMS key ARN', parse: kmsKeyArn },
  ledgerKmsKey: { field: 'ledgerKmsKeyArn', format: 'a KMS key ARN', parse: kmsKeyArn },
};

/** `-c configFile=deploy/prod.json`: a JSON object of the same keys; context keys win over it. */
export const CONFIG_FILE_KEY = 'configFile';

/** Our keys are camelCase; CDK's own (`@aws-cdk/...`, `aws:cdk:...`, lookups) have other shapes. */
const LOOKS_LIKE_OURS = /^[a-z][A-Za-z0-9]*$/;

/**
 * Reads the deployment settings from the app's context (`all`: every context key and value, for
 * unknown-key checks; `get`: one key's value). Never throws: every problem is in `problems`.
 */
export function readDeployConfig(
  context: Readonly<Record<string, unknown>>,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): { config: DeployConfig; problems: DeployConfigProblem[] } {
  const problems: DeployConfigProblem[] = [];
  let fromFile: Record<string, unknown> = {};
  const file = context[CONFIG_FILE_KEY];
  if (file !== undefined) {
    const path = text(file) ?? '';
    try {
      const parsed: unknown = JSON.parse(readFile(path));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        problems.push({ key: CONFIG_FILE_KEY, message: `${path} must hold a JSON object of settings` });
      } else {
        fromFile = parsed as Record<string, unknown>;
        for (const key of Object.keys(fromFile)) {
          if (!Object.hasOwn(DEPLOY_SETTINGS, key)) problems.push({ key, message: `unknown setting in ${path}${suggestion(key)}` });
        }
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push({ key: CONFIG_FILE_KEY, message: code === 'ENOENT' ? `${path} does not exist` : `${path} is not valid JSON` });
    }
  }
  for (const key of Object.keys(context)) {
    if (key !== CONFIG_FILE_KEY && LOOKS_LIKE_OURS.test(key) && !Object.hasOwn(DEPLOY_SETTINGS, key)) {
      problems.push({ key, message: `unknown setting${suggestion(key)}` });
    }
  }

  const config: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(DEPLOY_SETTINGS)) {
    const raw = context[key] !== undefined ? context[key] : fromFile[key];
    if (raw === undefined || raw === null) continue;
    const parsed = setting.parse(raw);
    if ('problem' in parsed) problems.push({ key, message: `${JSON.stringify(raw)} ${parsed.problem}` });
    else config[setting.field] = parsed.value;
  }
  return { config: config as DeployConfig, problems };
}

/** ` (did you mean retrySchedule?)` for a near miss. */
function suggestion(key: string): string {
  const near = Object.keys(DEPLOY_SETTINGS).find((known) => distance(known.toLowerCase(), key.toLowerCase()) <= 2);
  return near ? ` (did you mean ${near}?)` : `; known: ${Object.keys(DEPLOY_SETTINGS).join(', ')}`;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j += 1) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** One message listing every problem, for the synth error. */
export class DeployConfigError extends Error {
  constructor(readonly problems: readonly DeployConfigProblem[]) {
    super(
      `invalid deployment configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n'),
    );
    this.name = 'DeployConfigError';
  }
}
