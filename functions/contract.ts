/**
 * The deployment contract: what the stack, the functions, the local runner and the CLI must agree
 * on (environment variable names and defaults, the Parameter Store layout, stack outputs, routes,
 * metric names, the rejection table, what the local runner publishes to the CLI). The stack
 * (lib/) imports it to set and wire these, the functions and the CLI to read them, so no side
 * can drift. Constants only: no runtime or infrastructure code here.
 */

// ---- environment ------------------------------------------------------------------------------

/** Environment variables the functions read (parsed once per function by functions/config.ts). */
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
  /** Ports a callback URL may name, comma-separated (default 443,8443; exempt hosts: any). */
  callbackAllowedPorts: 'CALLBACK_ALLOWED_PORTS',
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
  /** The event ledger's DynamoDB table (LEDGER_TABLE below). */
  ledgerTableName: 'LEDGER_TABLE_NAME',
  /** Days a finished event stays in the ledger (the dedupe window for Ecwid's repeats). */
  ledgerRetentionDays: 'LEDGER_RETENTION_DAYS',
  /**
   * Ingest refuses a webhook whose `eventCreated` is further than this from now (seconds): Ecwid
   * signs only `{eventCreated}.{eventId}`, so a captured signature must not work forever.
   */
  webhookMaxAgeSeconds: 'WEBHOOK_MAX_AGE_SECONDS',
  /** The SNS topic of operational notices (receiver failing, circuit open, recovered, disabled). */
  noticeTopicArn: 'NOTICE_TOPIC_ARN',
  /** Circuit breaker per receiver (docs/health.md): failures in a row that may open it... */
  breakerFailures: 'BREAKER_FAILURES',
  /** ...if they span at least this many seconds (a short blip never opens it). */
  breakerSpanSeconds: 'BREAKER_SPAN_SECONDS',
  /** Seconds between probes while it is open. */
  breakerProbeSeconds: 'BREAKER_PROBE_SECONDS',
  /** Seconds without a success, since a receiver began failing, before it is disabled. */
  receiverDisableAfterSeconds: 'RECEIVER_DISABLE_AFTER_SECONDS',
  /** An attempt taking this many milliseconds (answered or still running) marks its receiver slow. */
  slowReceiverAfterMs: 'SLOW_RECEIVER_AFTER_MS',
  /** While a receiver is slow: its attempts in flight at once, across every deliver container. */
  slowReceiverMaxInFlight: 'SLOW_RECEIVER_MAX_IN_FLIGHT',
} as const;

export const DEFAULTS = {
  ssmPrefix: '/ecwid-events',
  /**
   * How long a function reuses an instance config: with the read model, a change is visible
   * within this plus the seconds its change event takes (the promise is 60 s).
   */
  configCacheSeconds: 30,
  ecwidApiBaseUrl: 'https://app.ecwid.com/api',
  /** Ingest's body limit; the HTTP API payload limit must agree. */
  maxBodyBytes: 64 * 1024,
  callbackTimeoutMs: 10_000,
  /** Wider than Ecwid's retry span (24 h in today's docs, 48 h in older ones). */
  webhookMaxAgeSeconds: 48 * 3600,
  /** How far in the future an `eventCreated` may be (clock skew between Ecwid and us). */
  webhookMaxFutureSeconds: 15 * 60,
  /** CloudWatch namespace of the Powertools metrics (the stack's default, the handlers' fallback). */
  metricsNamespace: 'EcwidEvents',
  /** The circuit breaker: at least 10 failures in a row, spanning at least 5 minutes, open it. */
  breakerFailures: 10,
  breakerSpanSeconds: 300,
  breakerProbeSeconds: 60,
  /** A receiver failing for 5 days is disabled (Svix's rule; Standard Webhooks recommends it). */
  receiverDisableAfterSeconds: 5 * 86_400,
  /** Healthy receivers answer in tens of milliseconds; 2 s is 100 times that and a fifth of the callback timeout. */
  slowReceiverAfterMs: 2_000,
  /** Two deliver containers at most wait on a slow receiver (each holds its SQS batch until the attempt ends). */
  slowReceiverMaxInFlight: 2,
} as const;

// ---- Parameter Store layout ---------------------------------------------------------------------

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

// ---- the stack ----------------------------------------------------------------------------------

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
  /** The event ledger's DynamoDB table name (the CLI's `events` commands). */
  ledgerTableName: 'LedgerTableName',
  noticeTopicArn: 'NoticeTopicArn',
  /** The instance read model's table (what ingest and deliver read). */
  instanceTableName: 'InstanceTableName',
  /** The config-sync function: the CLI invokes it after a write so the change is visible at once. */
  configSyncFunctionName: 'ConfigSyncFunctionName',
  /** The CloudWatch console address of the stack's dashboard (alarms, queues, deliveries). */
  dashboardUrl: 'DashboardUrl',
  /** The managed policy to attach to operators: what the CLI needs for this stack, nothing more. */
  operatorPolicyArn: 'OperatorPolicyArn',
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

/** The route Ecwid posts to (the shared ingest URL ends with it). */
export const INGEST_ROUTE = '/events/ecwid';
/** Path parameter of the per-instance route: `${INGEST_ROUTE}/{instanceId}` addresses one instance. */
export const INSTANCE_ID_PARAMETER = 'instanceId';
export const INSTANCE_INGEST_ROUTE = `${INGEST_ROUTE}/{${INSTANCE_ID_PARAMETER}}`;

/** The deliver function's timeout (seconds); the queue's visibility timeout derives from it (core/retry-policy.ts). */
export const DELIVER_TIMEOUT_SECONDS = 120;

// ---- ingest answers ----------------------------------------------------------------------------

/**
 * The ingest answers that are not a success, with the status Ecwid acts on.
 * Ecwid retries anything but 200/201/202/204/209, so the status says whether a retry can help:
 * 4xx for requests that will never succeed as sent, 503 for our own temporary failures.
 */
export const REJECTIONS = {
  RouteNotFound: 404,
  MethodNotAllowed: 405,
  TooLarge: 413,
  UnsupportedMediaType: 415,
  Malformed: 400,
  UnknownInstance: 404,
  StoreMismatch: 400,
  /** The instance store or the queue failed: 503 so that Ecwid retries. */
  Unavailable: 503,
} as const;

export type RejectionReason = keyof typeof REJECTIONS;

// ---- metrics (Powertools EMF; the stack's dashboard and alarms read the same names) ---------------

/** Ingest's counters; each rejection also counts `Rejected{Reason}` (e.g. RejectedBadSignature). */
export const INGEST_METRICS = {
  received: 'EventsReceived',
  queued: 'EventsQueued',
  rejected: 'EventsRejected',
  droppedDisabled: 'EventsDroppedDisabled',
  /** Not queued for an instance whose only source is the poller (`event.vendor.type` = `polling`). */
  droppedPollingOnly: 'EventsDroppedPollingOnly',
  /** A webhook not queued because its `eventCreated` is outside the freshness window (a replay, or Ecwid's clock). */
  droppedStale: 'EventsDroppedStale',
  /**
   * Answered 200 and not queued (a retry cannot fix them; 404 / 401 would make Ecwid retry, risk
   * blocking the app, and tell a caller which stores are customers). Each has an alarm.
   */
  droppedUnknownStore: 'EventsDroppedUnknownStore',
  droppedBadSignature: 'EventsDroppedBadSignature',
  /** An ION post not queued for an instance that does not take ION (ecwid.ion.enabled / ecwid.order.key). */
  droppedIonRefused: 'EventsDroppedIonRefused',
  /** A repeat of an event the ledger already holds for that instance (answered 2xx, not queued again). */
  duplicates: 'EventsDuplicate',
  /** An event a previous request recorded but never queued (a fan-out that failed half-way), queued now. */
  resumed: 'EventsResumed',
  /** A not-queued event (disabled, polling only) whose ledger record failed; the answer is unchanged. */
  notRecorded: 'EventsNotRecorded',
  /** Webhook sightings that could not be recorded (the event was queued; a reconciliation poll may repeat it). */
  sightingsNotRecorded: 'SightingsNotRecorded',
  /** An instance left out of a fan-out because the signature does not verify with its secret. */
  excludedBadSignature: 'InstancesExcludedBadSignature',
  /** A bug: the handler answered 500 (counted by the handler, not the core). */
  unexpectedError: 'IngestErrors',
} as const;

export const rejectionMetric = (reason: RejectionReason): string => `Rejected${reason}`;

/** Deliver's outcome counters and its callback latency (milliseconds). */
export const DELIVER_METRICS = {
  succeeded: 'DeliverySucceeded',
  failed: 'DeliveryFailed',
  retried: 'DeliveryRetried',
  deadLettered: 'DeliveryDeadLettered',
  latency: 'DeliveryLatency',
  droppedForged: 'EventsDroppedForged',
  droppedInstanceUnavailable: 'EventsDroppedInstanceUnavailable',
  /** Its receiver was disabled after failing too long (kept in the ledger for `events resend`). */
  droppedReceiverDisabled: 'EventsDroppedReceiverDisabled',
  /** Held for its receiver (paused, circuit open, rate limit): attempts unused. */
  held: 'EventsHeld',
  /** Not a type its instance takes (event.notification.types). */
  filtered: 'EventsFiltered',
  /** Records an invocation had no time left to start (they come back whole: no attempt spent). */
  notStartedInTime: 'RecordsNotStartedInTime',
} as const;

/**
 * Operational notices (core/health-notices.ts). Counts per stack, never per instance: which
 * receiver is in trouble is in the notice, its log line and its health record (docs/health.md).
 */
export const NOTICE_METRICS = {
  published: 'NoticesPublished',
  webhookDelivered: 'NoticeWebhooksDelivered',
  failed: 'NoticesFailed',
} as const;

export const POLL_METRICS = {
  queued: 'PollEventsQueued',
  duplicates: 'PollDuplicatesSkipped',
  reportedByWebhook: 'PollChangesReportedByWebhook',
  authFailed: 'PollAuthFailed',
  rateLimited: 'PollRateLimited',
  unstable: 'PollUnstable',
  rescans: 'PollRescans',
  failed: 'PollFailed',
  stateTruncated: 'PollStateTruncated',
  unusableObjects: 'PollUnusableObjects',
  instancesPolled: 'PollInstancesPolled',
  misconfigured: 'PollMisconfigured',
  skippedLeased: 'PollSkippedLeased',
} as const;

// ---- the local runner (`npm start`) and the CLI's --local mode ---------------------------------

/**
 * Instance files name the runner's built-in callback sink by this host, whatever port it gets:
 * `"event.notification.callback.url": "http://sink.localhost/demo"` delivers to the sink
 * (the path is kept and printed). `.localhost` names this machine (RFC 6761).
 */
export const SINK_HOST = 'sink.localhost';

/** Where a running local runner publishes its LocalRunnerState (relative to the working folder). */
export const LOCAL_STATE_FILE = '.local-state/runner.json';

/**
 * What a running local runner publishes about itself, so the CLI's `--local` mode can find it.
 * Written on start, removed on a clean stop.
 */
export interface LocalRunnerState {
  readonly pid: number;
  /** Shared URL to register, e.g. http://127.0.0.1:3000/events/ecwid */
  readonly ingestUrl: string;
  /** SQS-compatible endpoint (embedded emulator or --sqs-endpoint). */
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Folder of instance JSON files (id = file name without .json). */
  readonly instancesDir: string;
  /** Folder of the poller's per-instance state (checkpoints, leases), when the runner polls. */
  readonly pollStateDir?: string;
  /** The Ecwid API the runner polls and verifies against (for `instances poll --local`). */
  readonly ecwidApiBaseUrl?: string;
  /** The event ledger: its DynamoDB-compatible endpoint (embedded engine or --dynamodb-endpoint) and table. */
  readonly dynamodbEndpoint?: string;
  readonly ledgerTableName?: string;
}

/**
 * The event ledger's DynamoDB table: one item per event of an instance (functions/core/ledger.ts).
 * The stack creates it (lib/constructs/event-ledger.ts), the adapter (adapters/aws/dynamodb-ledger.ts)
 * reads and writes it, and the local runner creates the same table in its embedded engine.
 */
export const LEDGER_TABLE = {
  partitionKey: 'instanceId',
  sortKey: 'eventId',
  /** Epoch seconds; set only on finished events (DynamoDB TTL deletes them some time after). */
  timeToLiveAttribute: 'expiresAt',
  /**
   * Each index projects its keys, the table's keys and only attributes that never change after an
   * event is recorded (`projected`), so rewriting an entry costs no index write unless one of the
   * index's keys appears, changes or goes (docs/ledger.md, "Write units"); the query reads the
   * full entries from the table (BatchGetItem) and filters on the rest there.
   */
  indexes: {
    /** An instance's events by arrival, newest first (`events list --instance`). */
    byInstance: { indexName: 'byInstance', partitionKey: 'instanceId', sortKey: 'receivedKey', projected: ['ecwidEventType', 'eventType'] },
    /** One object's events by arrival (`events list --object TYPE:ID`). */
    byObject: { indexName: 'byObject', partitionKey: 'objectKey', sortKey: 'receivedKey', projected: ['ecwidEventType', 'eventType'] },
    /**
     * Events in one status, by the time that matters for it: due time while unfinished (the
     * sweep), else when it got there. Sparse: `received` and `delivered` entries have no
     * `statusTime` and are not in it: nearly every event passes through both, and one partition
     * per status would take every event's put and delete (a hot partition at 2,000 events/s);
     * they are listed per instance instead.
     */
    byStatus: { indexName: 'byStatus', partitionKey: 'status', sortKey: 'statusTime', projected: ['receivedKey', 'ecwidEventType', 'eventType'] },
    /**
     * Sparse: only unfinished events, per object (the per-object order rule reads it). While an
     * event is `received` its entry also carries `receivedDueAt` (when the sweep sends a ticket if
     * none came): the sweep scans this small index for those, as they are not in `byStatus`.
     */
    unfinishedByObject: { indexName: 'unfinishedByObject', partitionKey: 'unfinishedObjectKey', sortKey: 'receivedKey', projected: ['receivedDueAt'] },
  },
  /** Statuses the `byStatus` index leaves out (a listing of them needs an instance). */
  statusesNotIndexed: ['received', 'delivered'],
  /** Set only while an event is `received`: its due time (projected into `unfinishedByObject` for the sweep). */
  receivedDueAttribute: 'receivedDueAt',
} as const;

/** The non-key attributes a ledger index projects (empty: keys only). */
export function ledgerIndexSummary(index: { readonly projected: readonly string[] }): string[] {
  return [...index.projected];
}

/**
 * Receiver health (issue 16) lives in the ledger table: one item per instance, partition
 * `instanceId`, this sort key. It has none of the index attributes (`receivedKey`, `objectKey`,
 * `status`/`statusTime`, `unfinishedObjectKey`), so no ledger index ever lists it; `~` sorts
 * after every event id Ecwid, ION or the poller produce (uuids, `ion-...`, `poll:...`).
 */
export const HEALTH_ITEM_SORT_KEY = '~receiver-health';

/**
 * Sort keys starting with this are the table's own items (HEALTH_ITEM_SORT_KEY): ingest refuses an
 * event id that starts with it, so no event can collide with one.
 */
export const LEDGER_RESERVED_ID_PREFIX = '~';

/**
 * The instance read model (issue 17): a DynamoDB table that ingest and deliver read instead of
 * Parameter Store, kept in step with it by the config-sync function (lib/constructs/instance-read-model.ts,
 * functions/config-sync/). Parameter Store stays the system of record.
 */
export const READ_MODEL = {
  env: {
    /** The read model's table; when unset, the functions read Parameter Store directly (as before). */
    tableName: 'INSTANCE_TABLE_NAME',
    /** The KMS key that wraps the table's data keys (the sync function generates them with it). */
    kmsKeyId: 'INSTANCE_TABLE_KMS_KEY_ID',
  },
  /** One item per instance, keyed by its id. */
  partitionKey: 'instanceId',
  /** Sparse index: the instances of a store (items without a store id are not in it). */
  byStoreIndex: { indexName: 'byStore', partitionKey: 'storeId' },
  /**
   * The item holding the current data key. `#` cannot start an instance id (INSTANCE_ID_PATTERN),
   * so it never collides with an instance.
   */
  dataKeyItemId: '#data-key',
  /**
   * KMS encryption context of every data key: IAM conditions on it keep the functions' kms:Decrypt
   * to this use. The value is the table's purpose, not a secret.
   */
  encryptionContext: { 'ecwid-events:purpose': 'instance-read-model' },
} as const;

/** The config-sync function's counters. */
export const CONFIG_SYNC_METRICS = {
  written: 'ConfigSyncWritten',
  removed: 'ConfigSyncRemoved',
  /** Documents in Parameter Store that do not parse: the read model keeps the last good version. */
  invalid: 'ConfigSyncInvalidDocuments',
  /** Instances a reconcile found out of step: change events that were lost or failed. */
  drift: 'ConfigSyncDrift',
} as const;
