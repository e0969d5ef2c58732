/**
 * Names and defaults of the environment variables the functions read. Imported by the
 * stack (to set them) and by the functions (to read them), so the two cannot drift.
 * Constants only: no runtime or infrastructure code here.
 */
export const ENV = {
  ssmPrefix: 'SSM_PREFIX',
  queueUrl: 'QUEUE_URL',
  configCacheSeconds: 'CONFIG_CACHE_SECONDS',
  ecwidApiBaseUrl: 'ECWID_API_BASE_URL',
  retrySchedule: 'RETRY_SCHEDULE_SECONDS',
  maxAttempts: 'MAX_ATTEMPTS',
  callbackTimeoutMs: 'CALLBACK_TIMEOUT_MS',
  /** Development switch: allow plain-http callback URLs. Never set by the stack. */
  allowHttpCallbacks: 'ALLOW_HTTP_CALLBACKS',
  /** Development switch: comma-separated hosts/IPs exempt from the SSRF address check. */
  callbackAllowHosts: 'CALLBACK_ALLOW_HOSTS',
  /** The FIFO dead-letter queue deliver moves a message to on its last failed attempt. */
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  /**
   * Standard queue of webhook sightings (ingest writes one per queued webhook event, the poller
   * reads them to skip changes a webhook already reported). Unset: no sightings are recorded.
   */
  sightingsQueueUrl: 'SIGHTINGS_QUEUE_URL',
  /** The poller stops starting new work this many ms before the Lambda deadline. */
  pollSafetyMarginMs: 'POLL_SAFETY_MARGIN_MS',
  /** Instances the scheduled poller polls at the same time. */
  pollConcurrency: 'POLL_CONCURRENCY',
} as const;

export const DEFAULTS = {
  ssmPrefix: '/ecwid-events',
  configCacheSeconds: 60,
  ecwidApiBaseUrl: 'https://app.ecwid.com/api',
  /** Ingest's body limit; the HTTP API payload limit must agree. */
  maxBodyBytes: 64 * 1024,
  callbackTimeoutMs: 10_000,
  /** CloudWatch namespace of the Powertools metrics (the stack's default, the handlers' fallback). */
  metricsNamespace: 'EcwidEvents',
} as const;

/** Parameter layout under the prefix: one SecureString per instance, one index per store. */
export const ssmInstanceName = (prefix: string, instanceId: string): string => `${prefix}/instances/${instanceId}`;
export const ssmStoreIndexName = (prefix: string, storeId: string): string => `${prefix}/stores/${storeId}`;
/** The poller's own subtree: per-instance state (checkpoints) and leases. Plain Strings (no secrets). */
export const ssmPollerPath = (prefix: string): string => `${prefix}/poller`;
export const ssmPollStateName = (prefix: string, instanceId: string): string => `${ssmPollerPath(prefix)}/checkpoints/${instanceId}`;
export const ssmPollLeaseName = (prefix: string, instanceId: string): string => `${ssmPollerPath(prefix)}/leases/${instanceId}`;

/**
 * Store index value: a String parameter holding a JSON array of instance ids, e.g. `["shop-a","shop-b"]`.
 * Written by whoever writes instances (the CLI), read by ingest.
 */
export type StoreIndexValue = string[];

/** CloudFormation output keys of the stack; the CLI finds the resources through them. */
export const STACK_OUTPUTS = {
  ingestUrl: 'IngestUrl',
  queueUrl: 'QueueUrl',
  queueArn: 'QueueArn',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  deadLetterQueueArn: 'DeadLetterQueueArn',
  ssmPrefix: 'SsmPrefix',
  /**
   * Optional: the KMS key the instance SecureStrings must be encrypted with, when the stack uses a
   * customer managed key (`ssmKmsKey`). The CLI writes instances with it; absent = `alias/aws/ssm`.
   */
  ssmKmsKeyId: 'SsmKmsKeyId',
} as const;

/**
 * Stages deployed side by side (`cdk deploy -c stage=prod`): each is its own stack with its own
 * parameter subtree, so no stage can read or overwrite another's instances. The CLI uses these
 * to find a stage's stack (then reads STACK_OUTPUTS from it).
 */
export const DEFAULT_STAGE = 'dev';
/** Lower-case letters, digits and hyphens, starting with a letter (it ends up in stack and path names). */
export const STAGE_PATTERN = /^[a-z][a-z0-9-]{0,23}$/;
export const stackNameForStage = (stage: string): string => `EcwidEvents-${stage}`;
export const ssmPrefixForStage = (stage: string): string => `${DEFAULTS.ssmPrefix}/${stage}`;
