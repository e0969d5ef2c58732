/**
 * Deliver in-process: the real handler (createDeliverHandler) with the real SsmInstanceRepository and
 * SqsDeadLetterQueue and an in-memory ledger (SDK clients answered in-process by the stand-in), the real HttpCallbackSender
 * (its module-scope keep-alive agents, as in Lambda) and EcwidApiClient, against local servers:
 * a callback that answers after a delay and an Ecwid API stand-in that answers at once.
 *
 * Figures:
 * - deliver_batch_ratio: wall time of one batch of 10 records for 10 different objects (10 FIFO
 *   message groups) against a callback answering after 100 ms, divided by 100 ms. Parallel
 *   groups approach 1, sequential processing 10. Median of 5 batches after one warm-up batch.
 * - deliver_connections_per_100: TCP connections a fresh callback server accepts for 100
 *   deliveries in a row (10 batches of 10 records of one object: one FIFO group, so one request at
 *   a time). Keep-alive approaches 1, a connection per request 100.
 * - deliver_connections_per_100_parallel (extra): the same 100 deliveries as 10 batches of 10
 *   objects; 10 requests at a time, so keep-alive approaches 10.
 */
import type http from 'node:http';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { SQSEvent } from 'aws-lambda';
import type { QueuedEvent } from '../functions/core/event';
import type { DeliverHandler } from '../functions/deliver/handler';
import { ssmInstanceName, ssmStoreIndexName } from '../functions/contract';
import { setFunctionEnvironment } from './ingest';
import {
  BENCH_ACCOUNT,
  BENCH_REGION,
  benchInstance,
  countingStdout,
  type Figures,
  median,
  nowMs,
  ORDER_CREATED_FIXTURE,
  round,
  type WebhookBody,
  benchSqsRecord,
  startBenchEcwidApi,
} from './support';
import { AwsStandIn } from '../testkit/aws';
import { fixtureJson } from '../testkit/fixtures';
import { rawServer, readBody, type RawServer } from '../testkit/servers';

export const CALLBACK_DELAY_MS = 100;
const BATCH_SIZE = 10;
const TIMED_BATCHES = 5;
const SSM_PREFIX = '/ecwid-events/bench';
const QUEUE_NAME = 'ecwid-events-bench.fifo';
const QUEUE_URL = `https://sqs.${BENCH_REGION}.amazonaws.com/${BENCH_ACCOUNT}/${QUEUE_NAME}`;
const QUEUE_ARN = `arn:aws:sqs:${BENCH_REGION}:${BENCH_ACCOUNT}:${QUEUE_NAME}`;
const STORE_ID = 3001;
const INSTANCE_ID = 'bench-deliver';

/** A callback server that answers 200 after `delayMs`; counts requests. */
async function startCallback(delayMs: number): Promise<RawServer & { requests: () => number; bytes: () => number }> {
  let requests = 0;
  let bytes = 0;
  const handler: http.RequestListener = (request, response) => {
    void readBody(request).then((body) => {
      requests += 1;
      // What leaves AWS per callback (data transfer out): request line, headers, body.
      bytes += `${request.method} ${request.url} HTTP/1.1\r\n`.length + Buffer.byteLength(body) + 2;
      for (let i = 0; i < request.rawHeaders.length; i += 2) bytes += request.rawHeaders[i].length + request.rawHeaders[i + 1].length + 4;
      const answer = () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  };
  const server = await rawServer(handler);
  return { ...server, requests: () => requests, bytes: () => bytes };
}

/** The queued message ingest would write for the order.created fixture, one object per `objectKey`. */
const orderCreated = fixtureJson<WebhookBody>(ORDER_CREATED_FIXTURE);

function queuedEvent(sequence: number, objectKey: number): QueuedEvent {
  const fixture = orderCreated;
  const orderId = `XJ${objectKey}`;
  const raw = { ...fixture, eventId: `${fixture.eventId}-d${sequence}`, storeId: STORE_ID, data: { ...fixture.data, orderId } };
  return {
    v: 1,
    objectType: 'orders',
    objectId: orderId,
    eventType: 'CREATED',
    eventId: raw.eventId,
    instanceId: INSTANCE_ID,
    storeId: String(STORE_ID),
    source: 'webhook',
    ecwidEventType: 'order.created',
    occurredAt: new Date(fixture.eventCreated * 1000).toISOString(),
    receivedAt: new Date().toISOString(),
    verified: true,
    raw,
  };
}

let sequence = 0;

/** A batch of `size` records; `objects` distinct objects (message groups) spread over it. */
function batch(size: number, objects: number, objectBase: number): SQSEvent {
  const records = [];
  for (let i = 0; i < size; i += 1) {
    sequence += 1;
    const event = queuedEvent(sequence, objectBase + (i % objects));
    records.push(benchSqsRecord(event, sequence, QUEUE_ARN));
  }
  return { Records: records };
}

interface DeliverRig {
  readonly handler: DeliverHandler;
  readonly standIn: AwsStandIn;
}

async function createRig(callbackUrl: string, ecwidApiBaseUrl: string): Promise<DeliverRig> {
  const standIn = new AwsStandIn();
  const document = benchInstance(STORE_ID, callbackUrl, 0);
  standIn.parameters.set(ssmInstanceName(SSM_PREFIX, INSTANCE_ID), JSON.stringify(document));
  standIn.parameters.set(ssmStoreIndexName(SSM_PREFIX, String(STORE_ID)), JSON.stringify([INSTANCE_ID]));

  // Loaded after the environment is set: the module builds its Powertools Logger/Metrics on load.
  const { createDeliverHandler } = await import('../functions/deliver/handler');
  const { SsmInstanceRepository } = await import('../functions/adapters/aws/ssm-instance-repository');
  const { SqsDeadLetterQueue } = await import('../functions/adapters/aws/sqs-dead-letter-queue');
  const { MemoryLedger, MemoryTicketQueue } = await import('../testkit/ledger');
  const { HttpCallbackSender } = await import('../functions/adapters/http/callback-sender');
  const { EcwidApiClient } = await import('../functions/adapters/http/ecwid-api-client');
  const handler = createDeliverHandler({
    instances: new SsmInstanceRepository({ prefix: SSM_PREFIX, maxAgeSeconds: 60, client: new SSMClient(standIn.clientConfig()) }),
    // The ledger in memory: this bench measures deliver's own work (the ledger's writes: bench ledger).
    ledger: new MemoryLedger(),
    tickets: new MemoryTicketQueue(),
    deadLetters: new SqsDeadLetterQueue({
      queueUrl: QUEUE_URL,
      deadLetterQueueUrl: QUEUE_URL.replace('.fifo', '-dlq.fifo'),
      client: new SQSClient(standIn.clientConfig()),
    }),
    // The module-scope keep-alive agents, as the deployed handler uses them.
    sender: new HttpCallbackSender({ timeoutMs: 10_000 }),
    ecwid: new EcwidApiClient({ baseUrl: ecwidApiBaseUrl }),
    // Plain http to 127.0.0.1: the local runner's development switches.
    urlPolicy: { allowHttp: true, allowHosts: ['127.0.0.1'] },
  });
  return { handler, standIn };
}

async function deliverBatch(handler: DeliverHandler, event: SQSEvent): Promise<void> {
  const response = await handler(event);
  if (response.batchItemFailures.length > 0) {
    throw new Error(`deliver failed ${response.batchItemFailures.length} of ${event.Records.length} records`);
  }
}

export async function benchDeliver(log: (line: string) => void): Promise<Figures> {
  setFunctionEnvironment('ecwid-events-bench-deliver');
  const ecwid = await startBenchEcwidApi();
  const servers: Array<{ close(): Promise<void> }> = [ecwid];
  try {
    // 1. One batch of 10 objects against a 100 ms callback.
    const slow = await startCallback(CALLBACK_DELAY_MS);
    servers.push(slow);
    const rig = await createRig(`${slow.origin}/hook`, ecwid.baseUrl);
    const walls: number[] = [];
    const { bytes: logBytes } = await countingStdout(async () => {
      await deliverBatch(rig.handler, batch(BATCH_SIZE, BATCH_SIZE, 0));
      for (let i = 0; i < TIMED_BATCHES; i += 1) {
        const event = batch(BATCH_SIZE, BATCH_SIZE, (i + 1) * 100);
        const started = nowMs();
        await deliverBatch(rig.handler, event);
        walls.push(nowMs() - started);
      }
    });
    const deliveredSlow = BATCH_SIZE * (TIMED_BATCHES + 1);
    if (slow.requests() !== deliveredSlow) throw new Error(`callback saw ${slow.requests()} requests, expected ${deliveredSlow}`);
    const batchMs = median(walls);
    log(`deliver: batch of ${BATCH_SIZE} objects vs ${CALLBACK_DELAY_MS} ms callback: ${walls.map((w) => w.toFixed(0)).join(', ')} ms`);

    // 2. Connections for 100 deliveries in a row to one host (a fresh server: nothing pooled yet).
    const sequential = await startCallback(0);
    servers.push(sequential);
    const rigSequential = await createRig(`${sequential.origin}/hook`, ecwid.baseUrl);
    const sequentialStarted = nowMs();
    await countingStdout(async () => {
      for (let i = 0; i < 10; i += 1) await deliverBatch(rigSequential.handler, batch(BATCH_SIZE, 1, 10_000));
    });
    const sequentialMs = nowMs() - sequentialStarted;
    const ssmCalls = rigSequential.standIn.count('SSM');
    const sqsCalls = rigSequential.standIn.count('SQS');

    // 3. The same 100 deliveries, 10 objects per batch (10 at a time).
    const parallel = await startCallback(0);
    servers.push(parallel);
    const rigParallel = await createRig(`${parallel.origin}/hook`, ecwid.baseUrl);
    await countingStdout(async () => {
      for (let i = 0; i < 10; i += 1) await deliverBatch(rigParallel.handler, batch(BATCH_SIZE, BATCH_SIZE, 20_000 + i * 10));
    });
    log(
      `deliver: 100 deliveries: ${sequential.connections()} connections one at a time, ` +
        `${parallel.connections()} ten at a time; ${ecwid.connections()} connections to the Ecwid API stand-in`,
    );

    return {
      deliver_batch_ratio: round(batchMs / CALLBACK_DELAY_MS, 2),
      deliver_batch_ms: round(batchMs, 1),
      deliver_connections_per_100: sequential.connections(),
      deliver_connections_per_100_parallel: parallel.connections(),
      deliver_us_per_event_instant_callback: round((sequentialMs * 1000) / 100, 0),
      deliver_ssm_calls_per_event: round(ssmCalls / 100, 4),
      deliver_sqs_calls_per_event: round(sqsCalls / 100, 4),
      deliver_log_bytes_per_event: round(logBytes / deliveredSlow, 0),
      callback_request_bytes: round(slow.bytes() / deliveredSlow, 0),
    };
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
}
