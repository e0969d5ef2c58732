/**
 * The scale simulation: the real ingest and deliver handlers (their factories, the real adapters
 * and caches) in simulated Lambda environments, AWS / Ecwid / receivers answered in-process in
 * virtual time (aws.ts, ecwid.ts, lambda.ts). One run = one traffic pattern for `seconds` of
 * virtual time; everything it reports is counted, not assumed.
 *
 * What it does not model: the CPU time of our code in virtual time (an invocation takes the sum of
 * its waits; the CPU it used on this machine is measured and reported beside), network errors,
 * Lambda environments recycled within the run, retries beyond what the handlers schedule.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { APIGatewayProxyEventV2, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbInstanceDirectory } from '../../functions/adapters/aws/dynamodb-instance-directory';
import { DynamoDbReadModelWriter } from '../../functions/adapters/aws/dynamodb-read-model-writer';
import { KmsDataKeys } from '../../functions/adapters/aws/kms-data-keys';
import { SqsEventQueue } from '../../functions/adapters/aws/sqs-event-queue';
import { SqsDeadLetterQueue } from '../../functions/adapters/aws/sqs-dead-letter-queue';
import { MemoryLedger } from '../../testkit/ledger';
import { SsmConfigSource } from '../../functions/adapters/aws/ssm-config-source';
import { SsmInstanceRepository } from '../../functions/adapters/aws/ssm-instance-repository';
import { ssmInstanceName, ssmStoreIndexName } from '../../functions/contract';
import { createDeliverHandler } from '../../functions/deliver/handler';
import { createIngestHandler } from '../../functions/ingest/handler';
import { CachedInstanceStore } from '../../functions/core/cached-instance-store';
import { reconcile } from '../../functions/core/config-sync';
import { EcwidApiBudget } from '../../functions/core/ecwid/api-budget';
import type { InstanceLookup } from '../../functions/core/ports';
import { SimAws } from './aws';
import { SimCallbacks, SimEcwid, simResolver } from './ecwid';
import { ApiStage, EnvironmentPool, SimFifoQueue, SqsEventSource } from './lambda';
import { makeStores, WebhookTraffic, zipfSampler, type SimStore } from './traffic';
import { seededRandom } from '../support';
import { VirtualTime } from './virtual-time';

export type ConfigPath = 'read-model' | 'ssm';

export interface ScaleOptions {
  readonly stores: number;
  /** Webhooks a second (Poisson). */
  readonly rate: number;
  readonly seconds: number;
  /** Zipf exponent of the store popularity. */
  readonly skew: number;
  readonly config: ConfigPath;
  readonly apiRate: number;
  readonly apiBurst: number;
  readonly ingestConcurrency: number;
  readonly deliverConcurrency: number;
  readonly seed?: number;
  /** Start the deliver side with a backlog of this many events (capacity runs) and no traffic. */
  readonly backlog?: number;
  /** Deliver concurrency already scaled out at the start (capacity runs). */
  readonly deliverWarm?: boolean;
  /** Deliver reads Ecwid through the per-token budget (core/ecwid/api-budget.ts). @default true */
  readonly ecwidBudget?: boolean;
  /** Run one reconcile of the read model at this virtual second (to count its calls). */
  readonly reconcileAt?: number;
  readonly log?: (line: string) => void;
}

export const PREFIX = '/ecwid-events/sim';
const QUEUE = { url: 'https://sqs.us-east-1.amazonaws.com/123456789012/sim.fifo', arn: 'arn:aws:sqs:us-east-1:123456789012:sim.fifo' };
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/sim-dlq.fifo';
const TABLE = 'sim-instances';
const KMS_KEY = 'arn:aws:kms:us-east-1:123456789012:key/sim';
/** Virtual init (cold start) durations, from bench/bundles.ts's cold loads on Lambda's CPU share. */
export const INIT_MS = { ingest: 250, deliver: 300 } as const;

export interface ScaleResult {
  readonly options: ScaleOptions;
  readonly aws: SimAws;
  readonly ecwid: SimEcwid;
  readonly callbacks: SimCallbacks;
  readonly dnsLookups: number;
  readonly stage: ApiStage;
  readonly ingest: EnvironmentPool<unknown>;
  readonly deliver: EnvironmentPool<unknown>;
  readonly source: SqsEventSource;
  readonly queue: SimFifoQueue;
  readonly posted: number;
  readonly answered: Record<string, number>;
  readonly busiestStore: string;
  readonly stdoutBytes: number;
  readonly cpuMs: number;
  readonly queueDepthAtEnd: number;
  /** Calls made by the reconcile run (when `reconcileAt` is set), by service.operation. */
  readonly reconcileCalls: Record<string, number>;
  /** Per virtual second of the measured run: callbacks delivered, events still queued at its end. */
  readonly deliveredBySecond: ReadonlyArray<{ readonly delivered: number; readonly queuedAtEnd: number }>;
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const log = options.log ?? (() => undefined);
  const time = new VirtualTime();
  const random = seededRandom(options.seed ?? 17);
  const aws = new SimAws(time, { random: seededRandom((options.seed ?? 17) + 1) });
  const stores = makeStores(options.stores);
  const client = <T extends { send: unknown }>(make: () => T, service: 'SSM' | 'DynamoDB' | 'KMS' | 'SQS'): T =>
    aws.attach(make() as unknown as { send(c: { input: unknown }): Promise<unknown> }, service) as unknown as T;

  // Parameter Store as the CLI leaves it: one SecureString per instance, one index per store.
  for (const store of stores) {
    aws.ssmParameters.set(ssmInstanceName(PREFIX, store.instanceId), {
      value: JSON.stringify(store.document),
      version: 1,
      modifiedAt: time.epoch - 86_400_000,
      secure: true,
    });
    aws.ssmParameters.set(ssmStoreIndexName(PREFIX, store.storeId), { value: JSON.stringify([store.instanceId]), version: 1, modifiedAt: time.epoch - 86_400_000, secure: false });
  }

  time.install();
  const stdout = interceptStdout();
  const cpuStart = process.cpuUsage();
  try {
    if (options.config === 'read-model') {
      // The read model as the sync function builds it (real source, writer and data keys), not counted.
      const syncDeps = readModelSyncDeps(time, client);
      await runUntilSettled(time, reconcile(syncDeps));
      aws.calls.clear();
      aws.perSecond.clear();
    }

    const instancesFor = (): InstanceLookup =>
      options.config === 'read-model'
        ? new CachedInstanceStore(
            new DynamoDbInstanceDirectory({
              tableName: TABLE,
              client: client(() => new DynamoDBClient({ region: 'us-east-1' }), 'DynamoDB'),
              dataKeys: new KmsDataKeys({ client: client(() => new KMSClient({ region: 'us-east-1' }), 'KMS'), now: time.epochNow }),
            }),
            { now: time.epochNow },
          )
        : new SsmInstanceRepository({ prefix: PREFIX, client: client(() => new SSMClient({ region: 'us-east-1' }), 'SSM') });

    const queue = new SimFifoQueue(time, QUEUE.url, QUEUE.arn, 720);
    aws.onSend = (url, entries) => {
      if (url === QUEUE.url) queue.send(entries);
    };
    aws.onChangeVisibility = (url, receipt, seconds) => {
      if (url === QUEUE.url) queue.changeVisibility(receipt, seconds);
    };

    const ingest = new EnvironmentPool(time, {
      concurrency: options.ingestConcurrency,
      initMs: INIT_MS.ingest,
      create: () =>
        createIngestHandler({
          instances: instancesFor(),
          queue: new SqsEventQueue({ queueUrl: QUEUE.url, client: client(() => new SQSClient({ region: 'us-east-1' }), 'SQS') }),
          clock: time.date,
        }),
    });

    const ecwid = new SimEcwid(time, seededRandom((options.seed ?? 17) + 2));
    const callbacks = new SimCallbacks(time);
    const dns = simResolver(time, seededRandom((options.seed ?? 17) + 3));
    // One ledger for every deliver environment (a table), in memory: the scale model times SQS and the
    // callbacks. Wake-up tickets go to the simulated queue; retries would need the sweep (not simulated).
    const ledger = new MemoryLedger(time.date);
    const tickets = new SqsEventQueue({ queueUrl: QUEUE.url, client: client(() => new SQSClient({ region: 'us-east-1' }), 'SQS') });
    const deliver = new EnvironmentPool<(event: SQSEvent) => Promise<SQSBatchResponse>>(time, {
      concurrency: options.deliverConcurrency,
      initMs: INIT_MS.deliver,
      create: () =>
        createDeliverHandler({
          instances: instancesFor(),
          ledger,
          tickets,
          deadLetters: new SqsDeadLetterQueue({ queueUrl: QUEUE.url, deadLetterQueueUrl: DLQ_URL, client: client(() => new SQSClient({ region: 'us-east-1' }), 'SQS') }),
          sender: callbacks,
          ecwid: options.ecwidBudget === false ? ecwid : new EcwidApiBudget(ecwid, { now: time.epochNow, sleep: (ms) => time.sleep(ms) }),
          urlPolicy: { allowHttp: false, allowHosts: [] },
          resolveHost: dns.resolve,
          clock: time.date,
        }),
    });

    const stage = new ApiStage(time, options.apiRate, options.apiBurst);
    const traffic = new WebhookTraffic(stores, zipfSampler(stores.length, options.skew, random), random, () => Math.floor(time.epochNow() / 1000));
    const answered: Record<string, number> = {};
    const perStore = new Map<string, number>();
    let posted = 0;
    const post = async (event: APIGatewayProxyEventV2, store: SimStore) => {
      posted++;
      perStore.set(store.storeId, (perStore.get(store.storeId) ?? 0) + 1);
      if (!stage.admit()) {
        answered['429 (API throttle)'] = (answered['429 (API throttle)'] ?? 0) + 1;
        return;
      }
      const outcome = await ingest.invoke((handler) => handler(event));
      const status = outcome ? String(outcome.result.statusCode) : '429 (Lambda throttle)';
      answered[status] = (answered[status] ?? 0) + 1;
    };

    if (options.backlog) {
      // Capacity: a backlog spread over many stores (no store near its Ecwid limit), queued by the
      // real ingest handler (20 at a time) before the deliver side starts.
      const uniform = new WebhookTraffic(stores, () => Math.floor(random() * stores.length), random, () => Math.floor(time.epochNow() / 1000));
      const loaders = Array.from({ length: 20 }, () => ingestHandlerFor(time, client, instancesFor));
      const load = async (loader: (typeof loaders)[number], count: number) => {
        for (let i = 0; i < count; i++) await loader(uniform.next().event);
      };
      await runUntilSettled(time, Promise.all(loaders.map((loader) => load(loader, Math.ceil(options.backlog! / loaders.length)))));
      aws.calls.clear();
      aws.perSecond.clear();
    }
    const source = new SqsEventSource(time, queue, deliver, {
      maxConcurrency: options.deliverConcurrency,
      batchSize: 10,
      ...(options.deliverWarm ? { initialConcurrency: options.deliverConcurrency } : {}),
    });
    // The measured run starts here (seeding and loading took virtual time too).
    const start = time.now;
    const end = start + options.seconds * 1000;
    if (options.backlog) {
      source.dispatch();
    } else {
      // Poisson arrivals, drawn per virtual millisecond.
      const perMs = options.rate / 1000;
      const arrive = () => {
        if (time.now >= end) return;
        for (let n = poisson(perMs, random); n > 0; n--) {
          const { event, store } = traffic.next();
          void post(event, store);
        }
        time.at(time.now + 1, arrive);
      };
      time.at(start, arrive);
    }

    const reconcileCalls: Record<string, number> = {};
    if (options.reconcileAt !== undefined && options.config === 'read-model') {
      time.at(start + options.reconcileAt * 1000, () => {
        const before = new Map(aws.calls);
        void reconcile(readModelSyncDeps(time, client)).then(() => {
          for (const [key, value] of aws.calls) {
            const delta = value - (before.get(key) ?? 0);
            if (delta > 0 && /^(SSM|DynamoDB\.Scan|KMS\.(Decrypt\(SSM\)|GenerateDataKey))/.test(key)) reconcileCalls[key] = delta;
          }
        });
      });
    }

    const deliveredBySecond: Array<{ delivered: number; queuedAtEnd: number }> = [];
    let deliveredBefore = 0;
    const sample = () => {
      deliveredBySecond.push({ delivered: callbacks.delivered.total - deliveredBefore, queuedAtEnd: queue.depth });
      deliveredBefore = callbacks.delivered.total;
      if (time.now + 1000 <= end) time.at(time.now + 1000, sample);
    };
    time.at(start + 1000, sample);

    let nextReport = 10;
    while (time.now < end) {
      await time.run(start + Math.min(options.seconds, nextReport) * 1000);
      log(
        `scale: ${((time.now - start) / 1000).toFixed(0)} s virtual: posted ${posted}, delivered ${callbacks.delivered.total}, queue ${queue.depth}, ` +
          `ingest envs ${ingest.environments} (busy ${ingest.busy}), deliver envs ${deliver.environments} (active ${source.peakActive} peak), ` +
          `SSM ${aws.countService('SSM')}, DynamoDB ${aws.countService('DynamoDB')}, KMS ${aws.countService('KMS')}, Ecwid ${ecwid.gets.total}`,
      );
      nextReport += 10;
      if (options.backlog && queue.depth === 0) break;
    }
    const cpu = process.cpuUsage(cpuStart);
    const busiestStore = [...perStore.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
    return {
      options,
      aws,
      ecwid,
      callbacks,
      dnsLookups: dns.lookups.total,
      stage,
      ingest: ingest as EnvironmentPool<unknown>,
      deliver: deliver as EnvironmentPool<unknown>,
      source,
      queue,
      posted,
      answered,
      busiestStore,
      stdoutBytes: stdout.bytes(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      queueDepthAtEnd: queue.depth,
      reconcileCalls,
      deliveredBySecond,
    };
  } finally {
    stdout.restore();
    time.uninstall();
  }
}

function ingestHandlerFor(
  time: VirtualTime,
  client: <T extends { send: unknown }>(make: () => T, service: 'SSM' | 'DynamoDB' | 'KMS' | 'SQS') => T,
  instancesFor: () => InstanceLookup,
) {
  return createIngestHandler({
    instances: instancesFor(),
    queue: new SqsEventQueue({ queueUrl: QUEUE.url, client: client(() => new SQSClient({ region: 'us-east-1' }), 'SQS') }),
    clock: time.date,
  });
}

function readModelSyncDeps(
  time: VirtualTime,
  client: <T extends { send: unknown }>(make: () => T, service: 'SSM' | 'DynamoDB' | 'KMS' | 'SQS') => T,
) {
  const dataKeys = new KmsDataKeys({ client: client(() => new KMSClient({ region: 'us-east-1' }), 'KMS'), keyId: KMS_KEY, now: time.epochNow });
  return {
    source: new SsmConfigSource({ prefix: PREFIX, client: client(() => new SSMClient({ region: 'us-east-1' }), 'SSM'), sleep: (ms: number) => time.sleep(ms) }),
    model: new DynamoDbReadModelWriter({ tableName: TABLE, client: client(() => new DynamoDBClient({ region: 'us-east-1' }), 'DynamoDB'), dataKeys, now: time.epochNow }),
    now: time.epochNow,
  };
}

/** Runs virtual time until `work` settles. */
async function runUntilSettled<T>(time: VirtualTime, work: Promise<T>): Promise<T> {
  let settled = false;
  const result = work.finally(() => (settled = true));
  while (!settled) {
    if (time.pending === 0) await new Promise((resolve) => setImmediate(resolve));
    await time.run(time.now + 1000);
  }
  return result;
}

/** A Poisson-distributed count with mean `lambda` (Knuth; lambda is small here). */
function poisson(lambda: number, random: () => number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

/** The real stderr, for progress lines while the handlers' output is intercepted. */
export const progress = (line: string): void => {
  realStderrWrite(`${line}\n`);
};
const realStderrWrite = process.stderr.write.bind(process.stderr);

/**
 * Counts (and swallows) what the handlers write: Powertools logs and EMF metrics go to stdout,
 * warnings and errors to stderr; in Lambda both end up in CloudWatch Logs.
 */
function interceptStdout(): { bytes(): number; restore(): void } {
  const originals = { out: process.stdout.write, err: process.stderr.write };
  let bytes = 0;
  const counting = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = counting;
  process.stderr.write = counting;
  return {
    bytes: () => bytes,
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
