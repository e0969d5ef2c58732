/**
 * Helpers shared by the benchmark groups: statistics, local servers, a stand-in for AWS that
 * answers SDK calls at once, fixture and event factories, child processes with a deadline.
 * Everything listens on 127.0.0.1 only.
 */
import { spawn, type SpawnOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import { ecwidWebhookSignature } from '../functions/core/ecwid/signature';
import { deduplicationId, messageGroupId, type QueuedEvent } from '../functions/core/event';
import type { InstanceDocument } from '../functions/core/instance';

export const REPO_ROOT = path.resolve(__dirname, '..');
export const FIXTURES_DIR = path.join(REPO_ROOT, 'test', 'fixtures');
export const LOOPBACK = '127.0.0.1';
export const BENCH_REGION = 'us-east-1';
export const BENCH_ACCOUNT = '123456789012';

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

export const fixtureJson = <T = Record<string, unknown>>(name: string): T =>
  JSON.parse(readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as T;

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
    storeId,
    entityId: fixture.entityId + sequence,
    data: { ...fixture.data, orderId: `XJ${sequence}` },
  };
}

/** The headers Ecwid sends with a webhook, as API Gateway v2 hands them over (lower case). */
export function webhookHeaders(body: WebhookBody, clientSecret: string): Record<string, string> {
  return {
    'content-type': 'application/json; charset=UTF-8',
    'x-ecwid-webhook-signature': ecwidWebhookSignature(clientSecret, body.eventCreated, body.eventId),
    'user-agent': 'Ecwid webhooks',
  };
}

/** An API Gateway HTTP API (payload 2.0) event for `POST /events/ecwid`. */
export function apiGatewayEvent(body: string, headers: Record<string, string>, sequence: number): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /events/ecwid',
    rawPath: '/events/ecwid',
    rawQueryString: 'eventtype=order.created',
    queryStringParameters: { eventtype: 'order.created' },
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    requestContext: {
      accountId: BENCH_ACCOUNT,
      apiId: 'bench',
      domainName: 'bench.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'bench',
      http: { method: 'POST', path: '/events/ecwid', protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'Ecwid webhooks' },
      requestId: `bench-${sequence}`,
      routeKey: 'POST /events/ecwid',
      stage: '$default',
      time: '01/Mar/2024:12:00:00 +0000',
      timeEpoch: 1709294400000,
    },
    body,
    isBase64Encoded: false,
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
export function sqsRecord(event: QueuedEvent, sequence: number, queueArn: string, body = JSON.stringify(event)): SQSRecord {
  const now = String(Date.now());
  return {
    messageId: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    receiptHandle: `bench-receipt-${sequence}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: 'AROABENCH',
      ApproximateFirstReceiveTimestamp: now,
      MessageGroupId: messageGroupId(event),
      MessageDeduplicationId: deduplicationId(event),
      SequenceNumber: String(18_000_000_000_000_000_000 + sequence),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: BENCH_REGION,
  };
}

// ---- a stand-in for AWS (JSON protocols) --------------------------------------------------------

/** One AWS API call as the stand-in saw it: `SSM.GetParameter`, `SQS.SendMessageBatch`, ... */
export interface AwsCall {
  readonly service: string;
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/** Answers one call with the output object (JSON), or throws an AwsFault. */
export type AwsResponder = (call: AwsCall) => Record<string, unknown>;

export class AwsFault extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** `AmazonSSM.GetParameter` / `AmazonSQS.SendMessageBatch` -> service and operation. */
function parseTarget(target: string | undefined): { service: string; operation: string } {
  const [prefix = '', operation = ''] = (target ?? '').split('.');
  const service = prefix.replace(/^Amazon/, '') || 'unknown';
  return { service, operation };
}

/**
 * Answers like SSM Parameter Store (GetParameter on a map of names) and SQS (SendMessageBatch,
 * SendMessage, ChangeMessageVisibility, DeleteMessageBatch), both JSON protocols. Counts calls.
 */
export class AwsStandIn {
  /** The calls themselves, while `recordCalls` is on (off for timing: a growing log is GC work). */
  readonly calls: AwsCall[] = [];
  recordCalls = true;
  private readonly counts = new Map<string, number>();
  private sequence = 0;
  readonly parameters = new Map<string, string>();

  count(service: string, operation?: string): number {
    let total = 0;
    for (const [key, value] of this.counts) {
      const [callService, callOperation] = key.split('.');
      if (callService === service && (operation === undefined || callOperation === operation)) total += value;
    }
    return total;
  }

  readonly respond: AwsResponder = (call) => {
    const key = `${call.service}.${call.operation}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.sequence += 1;
    if (this.recordCalls) this.calls.push(call);
    const { service, operation, input } = call;
    if (service === 'SSM' && operation === 'GetParameter') {
      const name = String(input.Name);
      const value = this.parameters.get(name);
      if (value === undefined) throw new AwsFault('ParameterNotFound', `Parameter ${name} not found.`);
      return {
        Parameter: {
          Name: name,
          Type: name.includes('/instances/') ? 'SecureString' : 'String',
          Value: value,
          Version: 1,
          LastModifiedDate: 1709294400,
          ARN: `arn:aws:ssm:${BENCH_REGION}:${BENCH_ACCOUNT}:parameter${name}`,
          DataType: 'text',
        },
      };
    }
    if (service === 'SQS' && operation === 'SendMessageBatch') {
      const entries = (input.Entries as Array<{ Id: string; MessageBody: string }>) ?? [];
      return {
        Successful: entries.map((entry, index) => ({
          Id: entry.Id,
          MessageId: `00000000-0000-4000-9000-${String(this.sequence * 10 + index).padStart(12, '0')}`,
          MD5OfMessageBody: createHash('md5').update(entry.MessageBody).digest('hex'),
          SequenceNumber: String(18_000_000_000_000_000_000 + this.sequence),
        })),
        Failed: [],
      };
    }
    if (service === 'SQS' && operation === 'SendMessage') {
      const body = String(input.MessageBody ?? '');
      return {
        MessageId: `00000000-0000-4000-a000-${String(this.sequence).padStart(12, '0')}`,
        MD5OfMessageBody: createHash('md5').update(body).digest('hex'),
      };
    }
    if (service === 'SQS' && (operation === 'ChangeMessageVisibility' || operation === 'DeleteMessage')) return {};
    if (service === 'SQS' && operation === 'DeleteMessageBatch') {
      const entries = (input.Entries as Array<{ Id: string }>) ?? [];
      return { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] };
    }
    throw new AwsFault('UnknownOperation', `the bench stand-in does not answer ${service}.${operation}`);
  };

  /**
   * An SDK v3 request handler that answers in-process: every middleware of the client runs
   * (serialization, SigV4 signing, retries, deserialization, SQS's MD5 checks); only the network does not.
   */
  requestHandler(): InProcessRequestHandler {
    return new InProcessRequestHandler(this.respond);
  }
}

interface SdkHttpRequest {
  headers: Record<string, string>;
  body?: unknown;
}

const utf8 = new TextDecoder();

/** Implements the SDK's HttpHandler interface (handle + config hooks) without a socket. */
export class InProcessRequestHandler {
  constructor(private readonly respond: AwsResponder) {}

  async handle(request: SdkHttpRequest): Promise<{ response: { statusCode: number; headers: Record<string, string>; body: Uint8Array } }> {
    const target = request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'];
    const { service, operation } = parseTarget(target);
    // The SDK's JSON body is a Uint8Array subclass; decode its bytes without calling its string methods.
    const text = typeof request.body === 'string' ? request.body : utf8.decode((request.body as Uint8Array | undefined) ?? new Uint8Array());
    const input = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    return { response: answer(this.respond, { service, operation, input }) };
  }

  updateHttpClientConfig(): void {}

  httpHandlerConfigs(): Record<string, unknown> {
    return {};
  }

  destroy(): void {}
}

function answer(respond: AwsResponder, call: AwsCall): { statusCode: number; headers: Record<string, string>; body: Uint8Array } {
  const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'bench-request' };
  try {
    return { statusCode: 200, headers, body: Buffer.from(JSON.stringify(respond(call))) };
  } catch (error) {
    const fault = error instanceof AwsFault ? error : new AwsFault('InternalError', String(error), 500);
    return {
      statusCode: fault.status,
      headers: { ...headers, 'x-amzn-errortype': fault.code },
      body: Buffer.from(JSON.stringify({ __type: fault.code, message: fault.message })),
    };
  }
}

/** SDK client options that route every call of a client to the stand-in, in-process. */
export function inProcessClientConfig(standIn: AwsStandIn) {
  return {
    region: BENCH_REGION,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret-not-real' },
    requestHandler: standIn.requestHandler(),
  };
}

// ---- local HTTP servers --------------------------------------------------------------------------

export interface LocalServer {
  readonly origin: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  readonly connections: () => number;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (any free port) that counts the TCP connections it accepts. */
export async function startServer(handler: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer(handler);
  let connections = 0;
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    origin: `http://${LOOPBACK}:${port}`,
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads a request body as text. */
export function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * An Ecwid REST API stand-in that answers at once: `GET /v3/{store}/orders/{id}` with an order
 * (the shape of Ecwid's, few fields), 404 for anything else.
 */
export function ecwidApiHandler(): http.RequestListener {
  return (request, response) => {
    const match = /^\/v3\/(\d+)\/(orders|products|customers|categories)\/([^/?]+)/.exec(request.url ?? '');
    request.resume();
    if (!match) {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"errorMessage":"not found"}');
      return;
    }
    const [, storeId, , id] = match;
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        id: decodeURIComponent(id),
        orderNumber: 1,
        vendorOrderNumber: decodeURIComponent(id),
        storeId: Number(storeId),
        total: 42.5,
        email: 'buyer@example.com',
        paymentStatus: 'PAID',
        fulfillmentStatus: 'SHIPPED',
        createDate: '2024-03-01 12:00:00 +0000',
        updateTimestamp: 1709294400,
        items: [{ id: 1, productId: 66722483, name: 'Bench item', quantity: 1, price: 42.5 }],
      }),
    );
  };
}

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
