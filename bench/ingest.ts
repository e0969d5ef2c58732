/**
 * Ingest in-process: the real handler (createIngestHandler) with the real SsmInstanceRepository and
 * SqsEventQueue, whose SDK clients are answered at once by an in-process stand-in (every SDK
 * middleware runs: serialization, SigV4, retries, deserialization, SQS's MD5 check; the network
 * does not). Logs and EMF metrics go through the real Powertools Logger/Metrics, counted, not printed.
 *
 * Figures:
 * - ingest_us_per_event: median over rounds of the mean time per event, warm, sequential.
 * - ingest_floor_us_per_event: same events, only what any implementation must do for them: JSON.parse
 *   of the body, the HMAC-SHA256 check, JSON.stringify of the queued message and the one
 *   SendMessageBatch that queues it, through the same SQS client and stand-in (so the SDK's
 *   per-call cost is in both). Rounds alternate with the ingest rounds so that load from other
 *   processes hits both alike. (Earlier runs divided by the computation alone, leaving out the
 *   signed request any SQS client must send: a ratio of 55-93 that measured the SDK, not us.)
 * - ingest_floor_with_ledger_us_per_event: the floor plus the one conditional PutItem any
 *   implementation with an event ledger makes before answering (a minimal dedupe record), through a
 *   DynamoDB client configured like the ledger adapter's, answered by the same stand-in.
 * - ingest_overhead_ratio = ingest with the ledger (as the stack deploys it) / the floor with the
 *   ledger's write: the definition (one SendMessageBatch and one conditional write).
 * - ingest_overhead_ratio_without_ledger = ingest without the ledger / floor (the figure before the
 *   ledger existed, kept for comparison).
 * - ingest_compute_floor_us_per_event (extra): the floor without the SendMessageBatch.
 * - ingest_without_sdk_ratio (extra): the same handler with instances in memory and a queue that
 *   only serializes, / the compute floor: our code (and Powertools) without the AWS SDK's share.
 * - sqs_calls_per_event, ssm_calls_per_event: 1000 events over 10 stores (one instance each),
 *   from a cold cache to the end (the first read of each store fills the cache).
 * - ledger_writes_per_event_ingest, ledger_reads_per_event_ingest: the same handler with the event
 *   ledger (the real DynamoDB adapter on the embedded engine, every call counted by a client
 *   middleware), 200 new events, each for one instance: PutItem calls (writes) and GetItem calls.
 *   ledger_calls_per_repeat_ingest: the same 200 posted again (repeats, still undelivered: each is
 *   resumed, its ticket sent again under its first deduplication id): ledger calls per repeat.
 * - ingest_with_ledger_us_per_event: the timed handler with the ledger on (its PutItem answered at
 *   once by the same stand-in), in the same alternating rounds; ingest_ledger_ratio = that /
 *   ingest_us_per_event; ingest_with_ledger_p50_us / _p99_us: each request timed on its own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { Instance } from '../functions/core/instance';
import type { EventQueue, InstanceLookup } from '../functions/core/ports';
import type { IngestHandler } from '../functions/ingest/handler';
import { ssmInstanceName, ssmStoreIndexName } from '../functions/contract';
import {
  BENCH_ACCOUNT,
  BENCH_REGION,
  benchInstance,
  collectGarbage,
  countingStdout,
  type Figures,
  median,
  nowMs,
  orderCreatedBody,
  percentile,
  round,
} from './support';
import { AwsStandIn } from '../testkit/aws';
import { webhookEvent } from '../testkit/events';

export const INGEST_STORES = 10;
export const INGEST_COUNTED_EVENTS = 1000;
const WARMUP_EVENTS = 1000;
const ROUNDS = 21;
const EVENTS_PER_ROUND = 300;
const FLOOR_REPEATS = 10;
const SSM_PREFIX = '/ecwid-events/bench';
const QUEUE_URL = `https://sqs.${BENCH_REGION}.amazonaws.com/${BENCH_ACCOUNT}/ecwid-events-bench.fifo`;
const SIGHTINGS_QUEUE_URL = `https://sqs.${BENCH_REGION}.amazonaws.com/${BENCH_ACCOUNT}/ecwid-events-bench-sightings`;
const FIRST_STORE_ID = 2001;

interface PreparedEvent {
  readonly apiEvent: APIGatewayProxyEventV2;
  readonly clientSecret: string;
}

/** Sets what the stack sets on the function (lib/constructs/relay-function.ts) before the module loads. */
export function setFunctionEnvironment(serviceName: string): void {
  process.env.AWS_REGION ??= BENCH_REGION;
  process.env.POWERTOOLS_SERVICE_NAME = serviceName;
  process.env.POWERTOOLS_METRICS_NAMESPACE = 'EcwidEventsBench';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
  process.env.POWERTOOLS_TRACE_ENABLED = 'false';
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_DEV;
}

function storeSetup(standIn: AwsStandIn): { secrets: Map<number, string> } {
  const secrets = new Map<number, string>();
  for (let index = 0; index < INGEST_STORES; index += 1) {
    const storeId = FIRST_STORE_ID + index;
    const instanceId = `bench-${storeId}`;
    const document = benchInstance(storeId, 'https://callback.example.com/ecwid', index);
    standIn.parameters.set(ssmInstanceName(SSM_PREFIX, instanceId), JSON.stringify(document));
    standIn.parameters.set(ssmStoreIndexName(SSM_PREFIX, String(storeId)), JSON.stringify([instanceId]));
    secrets.set(storeId, String(document.configuration['ecwid.client.secret']));
  }
  return { secrets };
}

/** Events round-robin over the stores, each with its own event id and order id. */
function prepareEvents(count: number, firstSequence: number, secrets: Map<number, string>): PreparedEvent[] {
  const events: PreparedEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    const sequence = firstSequence + i;
    const storeId = FIRST_STORE_ID + (sequence % INGEST_STORES);
    const clientSecret = secrets.get(storeId)!;
    const body = orderCreatedBody(storeId, sequence);
    events.push({ apiEvent: webhookEvent({ ...body }, clientSecret, { requestId: `bench-${sequence}`, headers: { 'user-agent': 'Ecwid webhooks' } }), clientSecret });
  }
  return events;
}

async function createHandler(standIn: AwsStandIn, options: { ledger?: boolean } = {}): Promise<{ handler: IngestHandler; sqs: SQSClient }> {
  // Loaded after the environment is set: the module builds its Powertools Logger/Metrics on load.
  const { createIngestHandler } = await import('../functions/ingest/handler');
  const { SsmInstanceRepository } = await import('../functions/adapters/aws/ssm-instance-repository');
  const { SqsEventQueue } = await import('../functions/adapters/aws/sqs-event-queue');
  const { SqsSightings } = await import('../functions/adapters/aws/sqs-sightings');
  const sqs = new SQSClient(standIn.clientConfig());
  const handler = createIngestHandler({
    instances: new SsmInstanceRepository({ prefix: SSM_PREFIX, maxAgeSeconds: 60, client: new SSMClient(standIn.clientConfig()) }),
    queue: new SqsEventQueue({ queueUrl: QUEUE_URL, client: sqs }),
    // Wired as in the stack with the poller; the bench instances are webhook-only, so it must cost no call.
    sightings: new SqsSightings({ queueUrl: SIGHTINGS_QUEUE_URL, client: sqs }),
    ...(options.ledger ? { ledger: await benchLedger(standIn) } : {}),
  });
  return { handler, sqs };
}

/**
 * The same handler without the AWS SDK: instances from memory, a queue that only serializes the
 * messages. With the full figure it splits ingest's time into our code and the SDK's.
 */
async function createCoreOnlyHandler(standIn: AwsStandIn): Promise<IngestHandler> {
  const { createIngestHandler } = await import('../functions/ingest/handler');
  const { queuedEventBody } = await import('../functions/adapters/aws/sqs-event-queue');
  const byId = new Map<string, Instance>();
  for (const [name, value] of standIn.parameters) {
    const match = /\/instances\/([^/]+)$/.exec(name);
    if (match) byId.set(match[1], { id: match[1], document: JSON.parse(value) as Instance['document'] });
  }
  const instances: InstanceLookup = {
    get: async (id) => byId.get(id),
    findByStore: async (storeId) => [...byId.values()].filter((instance) => instance.document.configuration['ecwid.store.id'] === storeId),
  };
  let serialized = 0;
  const queue: EventQueue = {
    enqueue: async (events) => {
      for (const event of events) serialized += queuedEventBody(event).length;
    },
  };
  const handler = createIngestHandler({ instances, queue });
  return async (event, context) => {
    const result = await handler(event, context);
    if (serialized < 0) throw new Error('unreachable');
    return result;
  };
}

async function runIngest(handler: IngestHandler, events: readonly PreparedEvent[]): Promise<void> {
  for (const { apiEvent } of events) {
    const result = await handler(apiEvent);
    if (result.statusCode !== 200) throw new Error(`ingest answered ${result.statusCode}: ${String(result.body)}`);
  }
}

/** The unavoidable computation: parse the body, check the HMAC, serialize the queued message. */
function floorMessage({ apiEvent, clientSecret }: PreparedEvent, receivedAt: string): { message: string; groupId: string; dedupId: string } {
  const body = JSON.parse(apiEvent.body!) as { eventId: string; eventCreated: number; storeId: number; data?: { orderId?: string } };
  const expected = createHmac('sha256', clientSecret).update(`${body.eventCreated}.${body.eventId}`).digest();
  const received = Buffer.from(apiEvent.headers['x-ecwid-webhook-signature']!, 'base64');
  if (received.length !== expected.length || !timingSafeEqual(received, expected)) throw new Error('floor: bad signature');
  const message = JSON.stringify({
    v: 1,
    objectType: 'orders',
    objectId: String(body.data?.orderId),
    eventType: 'CREATED',
    eventId: body.eventId,
    instanceId: `bench-${body.storeId}`,
    storeId: String(body.storeId),
    source: 'webhook',
    ecwidEventType: 'order.created',
    receivedAt,
    verified: true,
    raw: body,
  });
  return { message, groupId: `bench-${body.storeId}:orders:${String(body.data?.orderId)}`, dedupId: `bench-${body.storeId}:${body.eventId}` };
}

/** The computation alone, for a whole slice. */
function runComputeFloor(events: readonly PreparedEvent[], receivedAt: string): number {
  let bytes = 0;
  for (const event of events) bytes += floorMessage(event, receivedAt).message.length;
  return bytes;
}

/** The computation and the one SendMessageBatch any implementation must send, per event. */
async function runFloor(sqs: SQSClient, events: readonly PreparedEvent[]): Promise<void> {
  for (const event of events) await sendFloorMessage(sqs, floorMessage(event, new Date().toISOString()));
}

/** The one SendMessageBatch of the floor (one entry, as ingest sends for one instance). */
function sendFloorMessage(sqs: SQSClient, { message, groupId, dedupId }: ReturnType<typeof floorMessage>): Promise<unknown> {
  return sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: QUEUE_URL,
      Entries: [{ Id: '0', MessageBody: message, MessageGroupId: groupId, MessageDeduplicationId: dedupId }],
    }),
  );
}

/**
 * The floor with a ledger: the same, plus the one conditional write any implementation with an
 * event ledger must make before it answers (a dedupe record: key, state, time; refused if one
 * exists), through a DynamoDB client of the same configuration as the ledger adapter's.
 */
async function runFloorWithLedger(sqs: SQSClient, dynamodb: DynamoDBClient, events: readonly PreparedEvent[]): Promise<void> {
  for (const event of events) {
    const receivedAt = new Date().toISOString();
    const floor = floorMessage(event, receivedAt);
    const { groupId, dedupId } = floor;
    await dynamodb.send(
      new PutItemCommand({
        TableName: 'bench-ledger-floor',
        Item: { instanceId: { S: groupId }, eventId: { S: dedupId }, status: { S: 'received' }, receivedAt: { S: receivedAt } },
        ConditionExpression: 'attribute_not_exists(instanceId)',
      }),
    );
    await sendFloorMessage(sqs, floor);
  }
}

const LEDGER_EVENTS = 200;

/** The ledger adapter on a DynamoDB client answered by the stand-in (every PutItem accepted). */
async function benchLedger(standIn: AwsStandIn): Promise<import('../functions/core/ledger').Ledger> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDbLedger } = await import('../functions/adapters/aws/dynamodb-ledger');
  return new DynamoDbLedger({ tableName: 'bench-ledger', client: new DynamoDBClient(standIn.clientConfig()) });
}

/** Each request timed on its own (us), for percentiles. */
async function runIngestTimed(handler: IngestHandler, events: readonly PreparedEvent[], into: number[]): Promise<void> {
  for (const { apiEvent } of events) {
    const started = nowMs();
    const result = await handler(apiEvent);
    into.push((nowMs() - started) * 1000);
    if (result.statusCode !== 200) throw new Error(`ingest answered ${result.statusCode}: ${String(result.body)}`);
  }
}

/** The deduplication ids of every message the stand-in was sent in a SendMessageBatch. */
function sentDeduplicationIds(standIn: AwsStandIn): string[] {
  return standIn.calls
    .filter((call) => call.service === 'SQS' && call.operation === 'SendMessageBatch')
    .flatMap((call) => (call.input.Entries as Array<{ MessageDeduplicationId?: string }>).map((entry) => String(entry.MessageDeduplicationId)));
}

/** Ledger calls by ingest per event: new events, then the same events again (duplicates). */
async function benchLedgerCalls(secrets: Map<number, string>, log: (line: string) => void): Promise<Figures> {
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const { DynamoDbLedger, ensureLedgerTable } = await import('../functions/adapters/aws/dynamodb-ledger');
  const { startEmbeddedDynamoDb } = await import('../local/embedded-dynamodb');
  const { createIngestHandler } = await import('../functions/ingest/handler');
  const { SsmInstanceRepository } = await import('../functions/adapters/aws/ssm-instance-repository');
  const { SqsEventQueue } = await import('../functions/adapters/aws/sqs-event-queue');
  const engine = await startEmbeddedDynamoDb();
  const client = new DynamoDBClient({ endpoint: engine.endpoint, region: BENCH_REGION, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    await ensureLedgerTable(client, 'bench-ledger');
    const calls = new Map<string, number>();
    client.middlewareStack.add(
      (next, context) => (args) => {
        const name = context.commandName ?? 'unknown';
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'benchCountLedgerCalls' },
    );
    const standIn = new AwsStandIn();
    storeSetup(standIn);
    const handler = createIngestHandler({
      instances: new SsmInstanceRepository({ prefix: SSM_PREFIX, maxAgeSeconds: 60, client: new SSMClient(standIn.clientConfig()) }),
      queue: new SqsEventQueue({ queueUrl: QUEUE_URL, client: new SQSClient(standIn.clientConfig()) }),
      ledger: new DynamoDbLedger({ tableName: 'bench-ledger', client }),
    });
    const events = prepareEvents(LEDGER_EVENTS, 1_000_000, secrets);
    await countingStdout(() => runIngest(handler, events));
    const writes = calls.get('PutItemCommand') ?? 0;
    const reads = calls.get('GetItemCommand') ?? 0;
    if (standIn.count('SQS', 'SendMessageBatch') !== LEDGER_EVENTS) throw new Error('ledger bench: not every new event was queued once');
    const firstIds = new Set(sentDeduplicationIds(standIn));
    calls.clear();
    await countingStdout(() => runIngest(handler, events));
    const repeatCalls = [...calls.values()].reduce((sum, value) => sum + value, 0);
    // Nothing delivers here, so every entry is still `received`: a repeat resumes it, and its
    // ticket goes out again under the first one's deduplication id (SQS drops it within 5 minutes).
    const sentAgain = sentDeduplicationIds(standIn).length - firstIds.size;
    if (sentDeduplicationIds(standIn).some((id) => !firstIds.has(id))) throw new Error('ledger bench: a repeat was queued as a new message');
    log(
      `ingest with the ledger: ${LEDGER_EVENTS} new events -> ${writes} PutItem, ${reads} GetItem; the same again (undelivered) -> ` +
        `${repeatCalls} calls, ${sentAgain} tickets sent again under their first deduplication id`,
    );
    return {
      ledger_writes_per_event_ingest: round(writes / LEDGER_EVENTS, 2),
      ledger_reads_per_event_ingest: round(reads / LEDGER_EVENTS, 2),
      ledger_calls_per_repeat_ingest: round(repeatCalls / LEDGER_EVENTS, 2),
    };
  } finally {
    client.destroy();
    await engine.stop();
  }
}

export async function benchIngest(log: (line: string) => void): Promise<Figures> {
  setFunctionEnvironment('ecwid-events-bench-ingest');

  // 1. Calls per event: a fresh handler (cold caches), 1000 events over 10 stores.
  const counting = new AwsStandIn();
  const { secrets } = storeSetup(counting);
  const { handler: countingHandler, sqs } = await createHandler(counting);
  const counted = prepareEvents(INGEST_COUNTED_EVENTS, 0, secrets);
  const { bytes: countedLogBytes } = await countingStdout(() => runIngest(countingHandler, counted));
  const sqsCalls = counting.count('SQS');
  const ssmCalls = counting.count('SSM');
  const sentMessages = counting.calls
    .filter((call) => call.operation === 'SendMessageBatch')
    .flatMap((call) => call.input.Entries as Array<{ MessageBody: string }>);
  if (sentMessages.length !== INGEST_COUNTED_EVENTS) {
    throw new Error(`expected ${INGEST_COUNTED_EVENTS} queued messages, the stand-in got ${sentMessages.length}`);
  }
  const messageBytes = median(sentMessages.map((entry) => Buffer.byteLength(entry.MessageBody)));
  log(`ingest: ${INGEST_COUNTED_EVENTS} events -> ${sqsCalls} SQS calls, ${ssmCalls} SSM calls, ${countedLogBytes} bytes of logs`);
  counting.recordCalls = false;
  counting.calls.length = 0;

  // 2. Time per event, warm: the same handler, caches full; ingest and floor rounds alternate.
  const timing = prepareEvents(WARMUP_EVENTS + ROUNDS * EVENTS_PER_ROUND, INGEST_COUNTED_EVENTS, secrets);
  const warmup = timing.slice(0, WARMUP_EVENTS);
  const coreOnlyHandler = await createCoreOnlyHandler(counting);
  const { handler: ledgerHandler } = await createHandler(counting, { ledger: true });
  await countingStdout(async () => {
    await runIngest(countingHandler, warmup);
    await runIngest(coreOnlyHandler, warmup);
    await runIngest(ledgerHandler, warmup);
  });
  const floorDynamodb = new DynamoDBClient(counting.clientConfig());
  await runFloor(sqs, warmup);
  await runFloorWithLedger(sqs, floorDynamodb, warmup);
  runComputeFloor(warmup, new Date().toISOString());
  const ingestRounds: number[] = [];
  const coreRounds: number[] = [];
  const floorRounds: number[] = [];
  const computeRounds: number[] = [];
  const ledgerRounds: number[] = [];
  const ledgerRequests: number[] = [];
  const ledgerFloorRounds: number[] = [];
  await countingStdout(async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const slice = timing.slice(WARMUP_EVENTS + round * EVENTS_PER_ROUND, WARMUP_EVENTS + (round + 1) * EVENTS_PER_ROUND);
      collectGarbage();
      let started = nowMs();
      await runIngest(countingHandler, slice);
      ingestRounds.push(((nowMs() - started) * 1000) / slice.length);
      collectGarbage();
      started = nowMs();
      await runIngest(coreOnlyHandler, slice);
      coreRounds.push(((nowMs() - started) * 1000) / slice.length);
      collectGarbage();
      const before = ledgerRequests.length;
      await runIngestTimed(ledgerHandler, slice, ledgerRequests);
      ledgerRounds.push(ledgerRequests.slice(before).reduce((sum, us) => sum + us, 0) / slice.length);
      collectGarbage();
      started = nowMs();
      await runFloor(sqs, slice);
      floorRounds.push(((nowMs() - started) * 1000) / slice.length);
      collectGarbage();
      started = nowMs();
      await runFloorWithLedger(sqs, floorDynamodb, slice);
      ledgerFloorRounds.push(((nowMs() - started) * 1000) / slice.length);
      collectGarbage();
      // The computation alone is ~100x faster: the slice is repeated so that a round lasts long enough to time.
      started = nowMs();
      for (let repeat = 0; repeat < FLOOR_REPEATS; repeat += 1) runComputeFloor(slice, new Date().toISOString());
      computeRounds.push(((nowMs() - started) * 1000) / (slice.length * FLOOR_REPEATS));
    }
  });
  const ingestUs = median(ingestRounds);
  const coreUs = median(coreRounds);
  const floorUs = median(floorRounds);
  const computeUs = median(computeRounds);
  const ledgerUs = median(ledgerRounds);
  const ledgerFloorUs = median(ledgerFloorRounds);
  floorDynamodb.destroy();
  log(
    `ingest: ${ROUNDS} rounds of ${EVENTS_PER_ROUND}: ingest ${ingestUs.toFixed(1)} us/event, ` +
      `without the SDK ${coreUs.toFixed(1)}, floor (computation + SendMessageBatch) ${floorUs.toFixed(1)}, computation ${computeUs.toFixed(2)}, ` +
      `with the ledger ${ledgerUs.toFixed(1)}, its floor (+ 1 conditional PutItem) ${ledgerFloorUs.toFixed(1)}`,
  );

  return {
    ingest_us_per_event: round(ingestUs, 1),
    ingest_floor_us_per_event: round(floorUs, 1),
    // As deployed (the ledger is always on in the stack): against the floor with its one write.
    ingest_overhead_ratio: round(ledgerUs / ledgerFloorUs, 2),
    ingest_overhead_ratio_without_ledger: round(ingestUs / floorUs, 2),
    ingest_floor_with_ledger_us_per_event: round(ledgerFloorUs, 1),
    ingest_with_ledger_us_per_event: round(ledgerUs, 1),
    ingest_ledger_ratio: round(ledgerUs / ingestUs, 2),
    ingest_with_ledger_p50_us: round(percentile(ledgerRequests, 50), 0),
    ingest_with_ledger_p99_us: round(percentile(ledgerRequests, 99), 0),
    ingest_compute_floor_us_per_event: round(computeUs, 2),
    ingest_without_sdk_ratio: round(coreUs / computeUs, 1),
    sqs_calls_per_event: round(sqsCalls / INGEST_COUNTED_EVENTS, 4),
    ssm_calls_per_event: round(ssmCalls / INGEST_COUNTED_EVENTS, 4),
    ingest_log_bytes_per_event: round(countedLogBytes / INGEST_COUNTED_EVENTS, 0),
    queued_message_bytes: messageBytes,
    ...(await benchLedgerCalls(secrets, log)),
  };
}
