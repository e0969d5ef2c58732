/**
 * The functions' configuration: the environment the stack sets (names in contract.ts), parsed
 * once per function into a typed config. The Lambda entries (`<function>/index.ts`) parse
 * `process.env` with these; the local runner builds the same objects from its options (starting
 * from the defaults, `deliverConfigFrom({})`), and the CLI reads its callback URL policy here.
 *
 * Reading rules, the same for every function: an unset or empty variable takes its default; a
 * malformed number also takes its default (a typo must not stop ingest answering Ecwid); a
 * malformed retry schedule throws (a cold start that fails loudly beats a silently wrong schedule).
 */
import { DEFAULTS, ENV, READ_MODEL, SINK_HOST } from './contract';
import { callbackUrlPolicyFrom, type CallbackUrlPolicy } from './core/callback/ssrf';
import { ledgerTimingFrom, type LedgerTiming } from './core/ledger';
import { breakerSettings, type BreakerSettings } from './core/health';
import { retryPolicyFrom, type RetryPolicy } from './core/retry-policy';

/** An environment: `process.env` in Lambda, a plain record in tests and the CLI. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** Powertools identity: the stack sets both variables; the fallbacks serve local runs and tests. */
export interface PowertoolsConfig {
  readonly serviceName: string;
  readonly metricsNamespace: string;
}

/** Where the instance configs are read, and how long one is kept (0 = read every time). */
export interface InstanceStoreConfig {
  readonly ssmPrefix: string;
  readonly cacheSeconds: number;
  /**
   * The instance read model's table: when set, instances are read there (DynamoDB, kept in step
   * with Parameter Store by the config-sync function) instead of from Parameter Store.
   */
  readonly readModelTableName?: string;
}

/** The event ledger's table and timing (LEDGER_TABLE_NAME, LEDGER_RETENTION_DAYS; the stack's grants set both). */
export interface LedgerConfig {
  readonly tableName: string;
  readonly timing: LedgerTiming;
}

export interface IngestConfig {
  readonly powertools: PowertoolsConfig;
  readonly instances: InstanceStoreConfig;
  /**
   * The event ledger: each event is recorded before ingest answers (durable dedupe, resumed
   * fan-outs). Unset: events are queued without a record (only the queue's 5-minute window dedupes).
   */
  readonly ledger?: LedgerConfig;
  /** The event queue; unset: every enqueue fails (ingest answers 503) and names the variable. */
  readonly queueUrl?: string;
  /** Webhook sightings for reconciling instances; unset (no poller in the stack): none are recorded. */
  readonly sightingsQueueUrl?: string;
  /** Ingest's body limit; the HTTP API payload limit must agree. */
  readonly maxBodyBytes: number;
  /** Webhooks whose `eventCreated` is further from now are not queued (ENV.webhookMaxAgeSeconds). */
  readonly webhookMaxAgeSeconds: number;
}

export interface DeliverConfig {
  readonly powertools: PowertoolsConfig;
  readonly instances: InstanceStoreConfig;
  /** The event ledger: attempts are counted and states kept there; unset, the handler cannot be built. */
  readonly ledger?: LedgerConfig;
  readonly queueUrl?: string;
  readonly deadLetterQueueUrl?: string;
  readonly ecwidApiBaseUrl: string;
  /** Timeout of one callback POST. */
  readonly callbackTimeoutMs: number;
  /** Backoff schedule and attempt limit (its derived limits: core/retry-policy.ts). */
  readonly retryPolicy: RetryPolicy;
  /** Which callback URLs may be called (https, public addresses; the development switches). */
  readonly callbackUrlPolicy: CallbackUrlPolicy;
  /** The notices topic (receiver failing, circuit open, recovered, disabled); unset: no topic, webhooks only. */
  readonly noticeTopicArn?: string;
  /** The circuit breaker per receiver and the disable period (stack properties; defaults: DEFAULTS). */
  readonly breaker: BreakerSettings;
}

export interface PollConfig {
  readonly powertools: PowertoolsConfig;
  /** Instances, checkpoints and leases all live under this prefix. */
  readonly ssmPrefix: string;
  readonly queueUrl?: string;
  readonly sightingsQueueUrl?: string;
  readonly ecwidApiBaseUrl: string;
  /** Instances polled at the same time; undefined: the handler's default. */
  readonly concurrency?: number;
  /** Stop starting work this long before the Lambda deadline; undefined: the handler's default. */
  readonly safetyMarginMs?: number;
  /** The instance read model's table: when set, instances are listed from it, not from Parameter Store. */
  readonly readModelTableName?: string;
}

export interface SweepConfig {
  readonly powertools: PowertoolsConfig;
  readonly ledgerTableName: string;
  /** Where the sweep sends its tickets: the event queue. */
  readonly queueUrl: string;
  readonly ledgerTiming: LedgerTiming;
}

export interface ConfigSyncConfig {
  readonly powertools: PowertoolsConfig;
  readonly ssmPrefix: string;
  readonly readModelTableName: string;
  /** The KMS key that wraps the read model's data keys. */
  readonly readModelKmsKeyId?: string;
}

/** Each function's Powertools identity without the stack's variables (local runs, tests, benches). */
export const FALLBACK_POWERTOOLS = {
  ingest: { serviceName: 'ecwid-events-ingest', metricsNamespace: DEFAULTS.metricsNamespace },
  deliver: { serviceName: 'ecwid-events-deliver', metricsNamespace: DEFAULTS.metricsNamespace },
  poll: { serviceName: 'ecwid-events-poll', metricsNamespace: DEFAULTS.metricsNamespace },
  sweep: { serviceName: 'ecwid-events-sweep', metricsNamespace: DEFAULTS.metricsNamespace },
  configSync: { serviceName: 'ecwid-events-config-sync', metricsNamespace: DEFAULTS.metricsNamespace },
} as const satisfies Record<string, PowertoolsConfig>;

export function ingestConfigFrom(env: Environment): IngestConfig {
  return {
    powertools: powertoolsConfigFrom(env, FALLBACK_POWERTOOLS.ingest),
    instances: instanceStoreConfigFrom(env),
    ...optionalLedgerConfig(env),
    queueUrl: text(env[ENV.queueUrl]),
    sightingsQueueUrl: text(env[ENV.sightingsQueueUrl]),
    maxBodyBytes: DEFAULTS.maxBodyBytes,
    webhookMaxAgeSeconds: webhookMaxAgeSecondsFrom(env),
  };
}

/**
 * The ledger's config when the stack set its table, else undefined. A malformed retention throws
 * (the dedupe window must not silently change).
 */
export function ledgerConfigFrom(env: Environment): LedgerConfig | undefined {
  const tableName = text(env[ENV.ledgerTableName]);
  if (tableName === undefined) return undefined;
  return { tableName, timing: ledgerTimingFrom({ retentionDays: env[ENV.ledgerRetentionDays] }) };
}

const optionalLedgerConfig = (env: Environment): { ledger?: LedgerConfig } => {
  const ledger = ledgerConfigFrom(env);
  return ledger ? { ledger } : {};
};

export function deliverConfigFrom(env: Environment): DeliverConfig {
  return {
    powertools: powertoolsConfigFrom(env, FALLBACK_POWERTOOLS.deliver),
    instances: instanceStoreConfigFrom(env),
    ...optionalLedgerConfig(env),
    queueUrl: text(env[ENV.queueUrl]),
    deadLetterQueueUrl: text(env[ENV.deadLetterQueueUrl]),
    ecwidApiBaseUrl: text(env[ENV.ecwidApiBaseUrl]) ?? DEFAULTS.ecwidApiBaseUrl,
    callbackTimeoutMs: callbackTimeoutMsFrom(env),
    retryPolicy: retryPolicyFrom({ schedule: env[ENV.retrySchedule], maxAttempts: env[ENV.maxAttempts] }),
    callbackUrlPolicy: callbackUrlPolicyOf(env),
    noticeTopicArn: text(env[ENV.noticeTopicArn]),
    breaker: breakerSettingsFrom(env),
  };
}

/** The breaker's thresholds from the stack's variables; a malformed one throws, naming it (the cold start fails loudly). */
export function breakerSettingsFrom(env: Environment): BreakerSettings {
  const whole = (name: string): number | undefined => {
    const value = text(env[name]);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new Error(`${name} must be a whole number, got "${value.slice(0, 30)}"`);
    return Number(value);
  };
  return breakerSettings({
    failures: whole(ENV.breakerFailures),
    spanSeconds: whole(ENV.breakerSpanSeconds),
    probeSeconds: whole(ENV.breakerProbeSeconds),
    disableAfterSeconds: whole(ENV.receiverDisableAfterSeconds),
    slowAfterMs: whole(ENV.slowReceiverAfterMs),
    slowMaxInFlight: whole(ENV.slowReceiverMaxInFlight),
  });
}

export function pollConfigFrom(env: Environment): PollConfig {
  return {
    powertools: powertoolsConfigFrom(env, FALLBACK_POWERTOOLS.poll),
    ssmPrefix: ssmPrefixFrom(env),
    queueUrl: text(env[ENV.queueUrl]),
    sightingsQueueUrl: text(env[ENV.sightingsQueueUrl]),
    ecwidApiBaseUrl: text(env[ENV.ecwidApiBaseUrl]) ?? DEFAULTS.ecwidApiBaseUrl,
    concurrency: envNumber(env[ENV.pollConcurrency], { min: 1, integer: true }),
    safetyMarginMs: envNumber(env[ENV.pollSafetyMarginMs], { min: 1, integer: true }),
    readModelTableName: text(env[READ_MODEL.env.tableName]),
  };
}

/** Throws when a variable the function cannot work without is unset: the cold start fails, naming it. */
export function sweepConfigFrom(env: Environment): SweepConfig {
  return {
    powertools: powertoolsConfigFrom(env, FALLBACK_POWERTOOLS.sweep),
    ledgerTableName: required(env, ENV.ledgerTableName),
    queueUrl: required(env, ENV.queueUrl),
    ledgerTiming: ledgerTimingFrom({ retentionDays: env[ENV.ledgerRetentionDays] }),
  };
}

/** Throws when the read model's table is unset: the cold start fails, naming it. */
export function configSyncConfigFrom(env: Environment): ConfigSyncConfig {
  return {
    powertools: powertoolsConfigFrom(env, FALLBACK_POWERTOOLS.configSync),
    ssmPrefix: ssmPrefixFrom(env),
    readModelTableName: required(env, READ_MODEL.env.tableName),
    readModelKmsKeyId: text(env[READ_MODEL.env.kmsKeyId]),
  };
}

/** CALLBACK_TIMEOUT_MS (the local runner honours it too, as deliver reads it). */
/** The webhook freshness window (seconds): ENV.webhookMaxAgeSeconds, else DEFAULTS.webhookMaxAgeSeconds. */
export function webhookMaxAgeSecondsFrom(env: Environment): number {
  return envNumber(env[ENV.webhookMaxAgeSeconds], { min: 60 }) ?? DEFAULTS.webhookMaxAgeSeconds;
}

export function callbackTimeoutMsFrom(env: Environment): number {
  return envNumber(env[ENV.callbackTimeoutMs], { min: 1 }) ?? DEFAULTS.callbackTimeoutMs;
}

/** The callback URL policy of the development switches (ALLOW_HTTP_CALLBACKS, CALLBACK_ALLOW_HOSTS); by default https only, no exemptions. */
export function callbackUrlPolicyOf(env: Environment): CallbackUrlPolicy {
  return callbackUrlPolicyFrom({
    allowHttp: env[ENV.allowHttpCallbacks],
    allowHosts: env[ENV.callbackAllowHosts],
    allowedPorts: env[ENV.callbackAllowedPorts],
  });
}

/** This machine, as the local runner's callbacks may name it (its sink included). */
export const LOCAL_CALLBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '::1', SINK_HOST];

/**
 * The one local exemption, for the local runner's deliveries and for the CLI's `--local` mode
 * alike: plain http and this machine allowed, on top of `base` (the environment's switches).
 * Both resolve with adapters/http/host-resolver.ts's localMachineResolver (`*.localhost` is loopback).
 */
export function localCallbackUrlPolicy(base: CallbackUrlPolicy = { allowHttp: false, allowHosts: [] }): CallbackUrlPolicy {
  return { ...base, allowHttp: true, allowHosts: [...new Set([...base.allowHosts, ...LOCAL_CALLBACK_HOSTS])] };
}

/**
 * A number from an environment variable, or undefined (the caller's default applies) when it is
 * unset, empty, not a finite number, below `min`, or not whole where `integer` is asked for.
 */
export function envNumber(
  value: string | undefined,
  rule: { readonly min: number; readonly integer?: boolean },
): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number < rule.min || (rule.integer === true && !Number.isInteger(number))) return undefined;
  return number;
}

function powertoolsConfigFrom(env: Environment, fallback: PowertoolsConfig): PowertoolsConfig {
  return {
    serviceName: text(env.POWERTOOLS_SERVICE_NAME) ?? fallback.serviceName,
    metricsNamespace: text(env.POWERTOOLS_METRICS_NAMESPACE) ?? fallback.metricsNamespace,
  };
}

function instanceStoreConfigFrom(env: Environment): InstanceStoreConfig {
  return {
    ssmPrefix: ssmPrefixFrom(env),
    // 0 = no cache (Powertools reads a maxAge of 0 that way).
    cacheSeconds: envNumber(env[ENV.configCacheSeconds], { min: 0 }) ?? DEFAULTS.configCacheSeconds,
    readModelTableName: text(env[READ_MODEL.env.tableName]),
  };
}

const ssmPrefixFrom = (env: Environment): string => text(env[ENV.ssmPrefix]) ?? DEFAULTS.ssmPrefix;

/** A set variable's value; unset and empty are the same (CloudFormation cannot unset, only empty). */
const text = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

function required(env: Environment, name: string): string {
  return requiredValue(text(env[name]), name);
}

/** The one "is not set" rule: a value a function cannot work without, named by its variable. */
export function requiredValue(value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`environment variable ${name} is not set`);
  return value;
}
