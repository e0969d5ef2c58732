import type { EcwidObject, ListableCollection } from './ecwid/objects';
import type { QueuedEvent } from './event';
import type { Instance, InstanceDocument } from './instance';
import type { LedgerEntry } from './ledger';
import type { PollState } from './poll/state';

/** An instance that is stored but cannot be read: named, never its content (it holds secrets). */
export interface UnreadableInstance {
  readonly id: string;
  readonly message: string;
}

/** Every readable instance (sorted by id), and the ones skipped because they are unreadable. */
export interface InstanceListing {
  readonly instances: readonly Instance[];
  /** Both adapters always fill it; stand-ins may leave it out. */
  readonly problems?: readonly UnreadableInstance[];
}

/** What `rebuildIndexes` changed: store ids whose index was written or deleted. */
export interface IndexRebuildResult {
  readonly written: string[];
  readonly deleted: string[];
}

/**
 * The instance configurations: SSM Parameter Store in AWS (adapters/aws/ssm-instance-repository.ts),
 * a folder of JSON files locally (adapters/fs/folder-instance-repository.ts). Ingest and deliver
 * read by id and by store, the poller lists, the CLI also writes.
 *
 * Reads may be cached; `findByStore` must not cost more as the number of instances grows. Reads
 * throw on a backend failure (the caller answers 503); "not found" is not a failure, and neither
 * is an id that cannot exist.
 */
export interface InstanceRepository {
  /** Human description of the backend, e.g. `SSM /ecwid-events/instances/`. */
  readonly location: string;
  get(instanceId: string): Promise<Instance | undefined>;
  findByStore(storeId: string): Promise<Instance[]>;
  /** Every instance; one unreadable instance is reported in `problems`, not thrown. */
  list(): Promise<InstanceListing>;
  /** Stores a new instance; throws `InstanceExistsError` (core/instance.ts) when the id is taken. */
  create(instanceId: string, document: InstanceDocument): Promise<void>;
  /** Creates or replaces the instance (a store index follows its store id). */
  replace(instanceId: string, document: InstanceDocument): Promise<void>;
  /** Resolves false when there was no such instance. */
  delete(instanceId: string): Promise<boolean>;
  /** Rewrites the per-store indexes from the instances (only backends that keep an index). */
  rebuildIndexes?(): Promise<IndexRebuildResult>;
}

/** The part of the repository ingest and deliver use. */
export type InstanceLookup = Pick<InstanceRepository, 'get' | 'findByStore'> & {
  /**
   * Starts reading an instance that `get` will soon be asked for, and returns at once: that `get`
   * then joins the read (or finds it cached). Only lookups that share in-flight reads offer it
   * (otherwise it would read twice). A failed read is not reported here: `get` reports its own.
   */
  readAhead?(instanceId: string): void;
};

/** The queue between ingest and deliver. Resolves only when every message was accepted. */
export interface EventQueue {
  enqueue(events: readonly QueuedEvent[]): Promise<void>;
}

/** Time source, injectable so tests are deterministic. */
export type Clock = () => Date;

// ---- telemetry ---------------------------------------------------------------------------------

/**
 * `debug`: one line per event on the happy path (queued, delivered). Off in the deployed stack
 * (logLevel INFO) for cost: the ledger keeps every event and attempt, the metrics count them.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Logging and metrics, as small as the use cases need; the handlers back it with Powertools. */
export interface Telemetry {
  /** `attributes` carry ids, counts and reasons; never a secret. */
  log(level: LogLevel, message: string, attributes?: Readonly<Record<string, unknown>>): void;
  count(metric: string, value?: number): void;
  /** A duration metric (deliver's latency); a sink that keeps no timings may leave it out. */
  milliseconds?(metric: string, value: number): void;
}

export const NO_TELEMETRY: Telemetry = { log: () => undefined, count: () => undefined };

/**
 * An error as logs, outcomes and dead letters show it: `Name: message`, or the message alone for a
 * plain Error. A SyntaxError shows only its name: JSON.parse quotes the text it failed on, which
 * may be an instance configuration full of secrets. Duck-typed rather than `instanceof`: errors
 * may come from another realm (test runners, VM contexts).
 */
export function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null || typeof (error as Error).message !== 'string') return String(error);
  const { name, message } = error as Error;
  if (name === 'SyntaxError') return name;
  return !name || name === 'Error' ? message : `${name}: ${message}`;
}

// ---- deliver's queue (adapters/aws/sqs-dead-letter-queue.ts) -----------------------------------

/** One received queue message (a ticket), as the handler hands it over (no SQS types in the core). */
export interface QueueMessage {
  readonly messageId: string;
  /** Opaque token for the queue adapter (SQS receipt handle). */
  readonly receiptHandle: string;
  readonly body: string;
  /**
   * SQS ApproximateReceiveCount. Attempts are counted in the ledger; this only tells deliver that
   * an earlier receive of the ticket may have ended without an outcome (core/ledger-flow.ts).
   */
  readonly receiveCount: number;
  /** ISO time of the first receive (SQS ApproximateFirstReceiveTimestamp), when known. */
  readonly firstReceivedAt?: string;
  readonly messageGroupId?: string;
  readonly messageDeduplicationId?: string;
  /** The queue the message came from (SQS eventSourceARN). */
  readonly queueArn?: string;
  /** Set on the dead-letter queue's copy of a dead-lettered event (replayed by an operator). */
  readonly deadLetteredVersion?: number;
  /**
   * The event's first ticket, as ingest queued it (deduplicated on the event's own id), not a
   * later ledger ticket (sweep, wake, resend) or a replay. Absent: treated as a later ticket.
   */
  readonly firstTicket?: boolean;
}

/** What travels with a dead-lettered message (as SQS message attributes). No secrets. */
export interface DeadLetterDetails {
  readonly lastError: string;
  /** Attempts of the round that ended in the dead-letter queue. */
  readonly attempts: number;
  readonly firstReceivedAt?: string;
  readonly lastAttemptAt: string;
  readonly instanceId?: string;
  readonly eventId?: string;
  /** The ledger version of the dead-lettered entry: a replay of this copy starts a new round. */
  readonly ledgerVersion?: number;
}

/**
 * The dead-letter queue (SQS FIFO in AWS). Retries are not here: they wait in the ledger and the
 * sweep sends their tickets (core/ledger-flow.ts).
 */
export interface DeadLetterQueue {
  /** Stores the event of a dead-lettered ledger entry, with its last error. Resolves once stored. */
  deadLetter(entry: LedgerEntry): Promise<void>;
  /** Stores a message that is no event at all (nothing for the ledger), unchanged. */
  deadLetterMessage(message: QueueMessage, details: DeadLetterDetails): Promise<void>;
}

// ---- callbacks (adapters/http) -----------------------------------------------------------------

export interface ResolvedAddress {
  readonly address: string;
  /** 4 or 6 */
  readonly family: number;
}

/** Resolves a host name to all its addresses, like a connect would (adapters/http/host-resolver.ts). */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** A URL that passed `checkCallbackUrl` (callback/ssrf.ts), with the addresses it was checked against. */
export interface VettedTarget {
  readonly url: URL;
  readonly addresses: readonly ResolvedAddress[];
}

export interface CallbackRequest {
  /** The sender connects to these addresses only: no second DNS answer to rebind. */
  readonly target: VettedTarget;
  readonly body: Buffer;
  /** Id and signature headers (callback/signing.ts); the sender adds Content-Type and User-Agent. */
  readonly headers: Readonly<Record<string, string>>;
}

/** How a callback failed: `http` (a non-2xx answer), `timeout`, `connection` (no answer). */
export type CallbackErrorClass = 'http' | 'timeout' | 'connection';

export type CallbackResult =
  | {
      readonly ok: true;
      readonly status: number;
      /** The start of the answer's body (up to CALLBACK_EXCERPT_BYTES), not yet redacted. */
      readonly excerpt?: string;
    }
  | {
      readonly ok: false;
      /** @default `http` when there is a status, else `connection` */
      readonly errorClass?: CallbackErrorClass;
      /** Absent when no HTTP answer came (network error, timeout). */
      readonly status?: number;
      readonly excerpt?: string;
      /** From `Retry-After` on a 429/503. */
      readonly retryAfterSeconds?: number;
      /** Safe to log: names the origin, never the path, query or credentials. */
      readonly error: string;
    };

/** Bytes of a callback answer a sender keeps for the ledger (it keeps at most 1 KB after redaction). */
export const CALLBACK_EXCERPT_BYTES = 2048;

/** POSTs one callback (adapters/http/callback-sender.ts). Never throws: every failure is a result. */
export interface CallbackSender {
  send(request: CallbackRequest): Promise<CallbackResult>;
}

// ---- the Ecwid API (adapters/http) -------------------------------------------------------------

/** Entities deliver fetches through REST v3 (`GET /v3/{storeId}/{collection}/{id}`). */
export type EcwidV3Collection = 'orders' | 'products' | 'customers' | 'categories';

export type EcwidEntity = Record<string, unknown>;

/**
 * The Ecwid API reads deliver needs (adapters/http/ecwid-api-client.ts). "Not found" is an answer
 * (null); every other failure throws, with `retryAfterSeconds` when Ecwid sent a Retry-After.
 */
export interface EcwidApi {
  /** Legacy v1 Order API: the order with this number, or null. */
  getLegacyOrder(storeId: string, orderKey: string, orderNumber: string, options?: EcwidReadOptions): Promise<EcwidEntity | null>;
  /** Legacy v1 Product API: the product with this id, or null. */
  getLegacyProduct(storeId: string, productKey: string, productId: string): Promise<EcwidEntity | null>;
  /** REST v3: the entity, or null on 404. */
  getEntity(storeId: string, accessToken: string, collection: EcwidV3Collection, id: string, options?: EcwidReadOptions): Promise<EcwidEntity | null>;
}

export interface EcwidReadOptions {
  /**
   * When the event that needs the entity was received (ISO 8601): an answer obtained by a request
   * started before then may not serve it (core/ecwid/api-budget.ts reuses answers; the HTTP client ignores it).
   */
  readonly receivedAt?: string;
  /**
   * The read verifies an unsigned notification (ION): anyone can cause it, so it may use only a
   * share of the token's budget (core/ecwid/api-budget.ts), and forged posts cannot spend the token.
   */
  readonly unsigned?: boolean;
}

// ---- the poller --------------------------------------------------------------------------------

export interface PollListRequest {
  readonly storeId: string;
  /** REST v3 access token. Never logged. */
  readonly accessToken: string;
  readonly objectType: ListableCollection;
  /** Inclusive bounds, Unix seconds. */
  readonly updatedFrom: number;
  readonly updatedTo: number;
  readonly offset: number;
  readonly limit: number;
}

/** One page of a v3 search: `{ total, count, offset, limit, items }`. */
export interface PollPage {
  readonly total: number;
  readonly items: readonly EcwidObject[];
}

/**
 * Ecwid's list endpoints (adapters/http/ecwid-poll-client.ts). Throws PollAuthError /
 * PollRateLimitedError (poll/errors.ts) or any other error.
 */
export interface PollSource {
  list(request: PollListRequest): Promise<PollPage>;
}

/**
 * Where poll states live (SSM in AWS, a folder locally), plus the per-instance lease that keeps
 * two polls of one instance (the schedule and a CLI backfill) from running at the same time.
 */
export interface CheckpointStore {
  load(instanceId: string): Promise<PollState | undefined>;
  save(instanceId: string, state: PollState): Promise<void>;
  /** Takes the lease for `ttlSeconds`; false when another owner holds an unexpired one. */
  lock(instanceId: string, owner: string, ttlSeconds: number): Promise<boolean>;
  /** Gives the lease back if `owner` still holds it. */
  unlock(instanceId: string, owner: string): Promise<void>;
}
