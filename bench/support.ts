/**
 * Helpers shared by the benchmark groups: statistics, the bench's Ecwid data and events, stdout
 * counting, child processes with a deadline. The AWS stand-in, event builders, local servers and
 * the Ecwid API stand-in come from the test kit (testkit/). Everything listens on 127.0.0.1 only.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SQSRecord } from 'aws-lambda';
import type { QueuedEvent } from '../functions/core/event';
import { deduplicationId, messageGroupId } from '../functions/adapters/aws/sqs-ids';
import type { InstanceDocument } from '../functions/core/instance';
import { STAND_IN_ACCOUNT, STAND_IN_REGION } from '../testkit/aws';
import { ecwidEntityRoutes, startEcwidApi, type EcwidApiStandIn, type EcwidRoute } from '../testkit/ecwid-api';
import { ECWID_WEBHOOK_CONTENT_TYPE, ecwidSignatureFor, sqsRecord } from '../testkit/events';
import { fixtureJson } from '../testkit/fixtures';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const BENCH_REGION = STAND_IN_REGION;
export const BENCH_ACCOUNT = STAND_IN_ACCOUNT;

/** name -> number, as written to bench/results.json. */
export type Figures = Record<string, number>;

// The AWS SDK prints a Node 20 end-of-support warning once per process: noise in a table.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// ---- statistics ---------------------------------------------------------------------------------

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const round = (value: number, digits = 3): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/**
 * A full garbage collection, so that one timed segment does not pay for the garbage of the one
 * before it (node starts without --expose-gc under tsx; the flag can be set at run time).
 */
export const collectGarbage: () => void = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A deterministic pseudo-random generator (mulberry32): the same faults in every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- fixtures and events ------------------------------------------------------------------------

/** The modern order.created fixture, the body every ingest benchmark posts (ids varied per event). */
export interface WebhookBody {
  eventId: string;
  eventCreated: number;
  storeId: number;
  entityId: number;
  eventType: string;
  data?: Record<string, unknown>;
}

export const ORDER_CREATED_FIXTURE = 'modern-order-created.json';

/** The fixture with its own store, event id and order id; everything else as Ecwid sent it. */
let orderCreatedFixture: WebhookBody | undefined;

export function orderCreatedBody(storeId: number, sequence: number): WebhookBody {
  const fixture = (orderCreatedFixture ??= fixtureJson<WebhookBody>(ORDER_CREATED_FIXTURE));
  return {
    ...fixture,
    eventId: `${fixture.eventId}-${sequence}`,
    // Ingest refuses a webhook created outside its freshness window: the fixture's own date is old.
    eventCreated: Math.floor(Date.now() / 1000),
    storeId,
    entityId: fixture.entityId + sequence,
    data: { ...fixture.data, orderId: `XJ${sequence}` },
  };
}

/** The headers Ecwid sends with a webhook (lower case, as API Gateway v2 hands them over). */
export function webhookHeaders(body: WebhookBody, clientSecret: string): Record<string, string> {
  return {
    'content-type': ECWID_WEBHOOK_CONTENT_TYPE,
    'x-ecwid-webhook-signature': ecwidSignatureFor(clientSecret, body.eventCreated, body.eventId),
    'user-agent': 'Ecwid webhooks',
  };
}

/** An instance configuration as the CLI stores it (all secrets are bench-only values). */
export function benchInstance(storeId: number, callbackUrl: string, index: number): InstanceDocument {
  return {
    element: { key: 'ecwid' },
    name: `Bench store ${storeId}`,
    tags: ['bench'],
    configuration: {
      'ecwid.store.id': String(storeId),
      'ecwid.client.secret': `bench_client_secret_${index}`,
      'ecwid.access.token': `secret_bench_token_${index}`,
      'event.notification.enabled': 'true',
      'event.notification.callback.url': callbackUrl,
      'event.notification.signature.key': `bench-signature-key-${index}`,
      'event.notification.webhook.secret': `whsec_${Buffer.from(`bench webhook secret ${index} 0123456789`).toString('base64')}`,
    },
  };
}

/** The SQS record Lambda's event source hands the deliver function for one queued event. */
export function benchSqsRecord(event: QueuedEvent, sequence: number, queueArn: string): SQSRecord {
  return sqsRecord({
    messageId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    body: JSON.stringify(event),
    groupId: messageGroupId(event),
    deduplicationId: deduplicationId(event),
    queueArn,
    sequenceNumber: String(18_000_000_000_000_000_000 + sequence),
    sentAtMs: Date.now(),
  });
}

// ---- the Ecwid API ---------------------------------------------------------------------------------

/**
 * Ecwid's v3 entity reads for the bench, answered at once: `GET /api/v3/{store}/{collection}/{id}`
 * with an order (the shape of Ecwid's, few fields).
 */
export const benchEcwidRoute: EcwidRoute = ecwidEntityRoutes({
  v3Entity: (storeId, collection, id) =>
    ['orders', 'products', 'customers', 'categories'].includes(collection)
      ? {
          id,
          orderNumber: 1,
          vendorOrderNumber: id,
          storeId: Number(storeId),
          total: 42.5,
          email: 'buyer@example.com',
          paymentStatus: 'PAID',
          fulfillmentStatus: 'SHIPPED',
          createDate: '2024-03-01 12:00:00 +0000',
          updateTimestamp: 1709294400,
          items: [{ id: 1, productId: 66722483, name: 'Bench item', quantity: 1, price: 42.5 }],
        }
      : undefined,
});

/** The test kit's Ecwid API stand-in with the bench's route (nothing recorded: a growing list is GC work). */
export const startBenchEcwidApi = (): Promise<EcwidApiStandIn> => startEcwidApi({ routes: [benchEcwidRoute], record: false });

// ---- stdout capture (log bytes) ------------------------------------------------------------------

/**
 * Runs `fn` with everything written to stdout counted and swallowed (Powertools logs and EMF
 * metrics go there; in Lambda they are CloudWatch Logs ingestion).
 */
export async function countingStdout<T>(fn: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const stdout = process.stdout;
  const original = stdout.write;
  let bytes = 0;
  stdout.write = ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof stdout.write;
  try {
    const result = await fn();
    return { result, bytes };
  } finally {
    stdout.write = original;
  }
}

// ---- child processes -----------------------------------------------------------------------------

export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  /** Spawn to the first stdout line starting with `options.marker` (undefined if none came). */
  readonly markerMs?: number;
  readonly timedOut: boolean;
}

/** Runs a command to its end, or kills it (its own pid) after `timeoutMs`. */
export function runChild(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs: number; marker?: string },
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(command, [...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let markerMs: number | undefined;
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (markerMs === undefined && options.marker !== undefined && stdout.includes(`\n${options.marker}`)) markerMs = nowMs() - started;
    });
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wallMs: nowMs() - started, markerMs, timedOut });
    });
  });
}
