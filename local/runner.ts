import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { basename, dirname, extname, join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { DynamoDbLedger, ensureLedgerTable } from '../functions/adapters/aws/dynamodb-ledger';
import { FolderInstanceRepository } from '../functions/adapters/fs/folder-instance-repository';
import { SqsEventQueue } from '../functions/adapters/aws/sqs-event-queue';
import { TRACING_OFF } from '../functions/adapters/aws/tracing';
import { localMachineResolver } from '../functions/adapters/http/host-resolver';
import { deliverConfigFrom, localCallbackUrlPolicy, type DeliverConfig, type LedgerConfig } from '../functions/config';
import { DEFAULT_LEDGER_TIMING } from '../functions/core/ledger';
import { InMemorySightings } from '../functions/core/sightings';
import { queueVisibilityTimeoutSeconds, redriveMaxReceiveCount, retryPolicyOf } from '../functions/core/retry-policy';
import { DEFAULTS, DELIVER_TIMEOUT_SECONDS, INGEST_ROUTE, type LocalRunnerState } from '../functions/contract';
import { breakerSettings, DEFAULT_BREAKER_SETTINGS } from '../functions/core/health';
import { createDeliverHandler } from '../functions/deliver/handler';
import { deliverDependencies } from '../functions/deliver/wiring';
import { createIngestHandler } from '../functions/ingest/handler';
import { startCallbackSink, withSinkCallbacks } from './callback-sink';
import { createConsoleLogger, type ConsoleLogLevel } from './console-logger';
import { startEmbeddedDynamoDb, type DynamoDbEndpoint } from './embedded-dynamodb';
import { countMessages } from '../functions/adapters/aws/sqs-queue-counts';
import { ensureQueues, startEmbeddedSqs, type Queues, type SqsEndpoint } from './embedded-sqs';
import { SqsEventSource } from './event-source';
import { startDemoEcwidApi, type DemoEcwidApi } from './fake-ecwid-api';
import { createHttpGateway } from './http-gateway';
import { DEFAULT_POLL_INTERVAL_SECONDS, type RunnerOptions } from './options';
import { startPollLoop, type PollLoop } from './poll-loop';
import { startSweepLoop } from './sweep-loop';
import { createSweepHandler } from '../functions/sweep/handler';
import { requeueUnfinished } from '../functions/core/ledger-flow';
import { closeServer, listenOnLoopback, LOOPBACK } from './servers';

/**
 * The local runner: the whole pipeline of the stack on one machine, in this process.
 *
 *   HTTP (API Gateway stand-in) -> ingest handler -> SQS FIFO queue -> event source -> deliver handler
 *                                       |                                                 -> callback (or the built-in sink)
 *                                       +-> event ledger (DynamoDB-compatible: embedded dynalite or --dynamodb-endpoint)
 *
 * The handlers are the real ones, created through their factories with local adapters
 * (a folder of instance files, the embedded or given SQS endpoint, the embedded or given
 * DynamoDB endpoint for the ledger, a readable console logger).
 */

export const LOCAL_REGION = 'us-east-1';
/** The stack's deliver timeout, and the queue visibility the retry policy derives from it. */
export const DELIVER_FUNCTION_TIMEOUT_MS = DELIVER_TIMEOUT_SECONDS * 1000;
export const QUEUE_VISIBILITY_TIMEOUT_SECONDS = queueVisibilityTimeoutSeconds(DELIVER_TIMEOUT_SECONDS);
/** The sweep's period here (EventBridge's finest in AWS is a minute): a retry is at most this late. */
export const SWEEP_INTERVAL_MS = 1000;
/** Unfinished events queued again at start (the rest follow through the sweep at their due time). */
const REQUEUE_LIMIT = 1000;
/** Receive loops of the event source (Lambda's minimum concurrency for SQS is 2). */
export const EVENT_SOURCE_POLLERS = 2;

export interface RunnerOutput {
  /** Normal output: status lines, deliveries printed by the sink, handler logs. */
  readonly out: (text: string) => void;
  /** Problems. */
  readonly err: (text: string) => void;
}

export interface StopSummary {
  /** Events still on the main queue (waiting, in flight or backing off) when the runner stopped. */
  readonly queued: number;
  /** Events in the dead-letter queue when the runner stopped. */
  readonly deadLettered: number;
}

export interface LocalRunner {
  /** Shared URL, e.g. http://127.0.0.1:3000/events/ecwid */
  readonly ingestUrl: string;
  readonly sqsEndpoint: string;
  readonly queues: Queues;
  /** The event ledger's DynamoDB-compatible endpoint (embedded engine or --dynamodb-endpoint) and table. */
  readonly dynamodbEndpoint: string;
  readonly ledgerTableName: string;
  /** The embedded ledger's data folder (beside the state file); absent with --dynamodb-endpoint. */
  readonly ledgerFolder?: string;
  readonly sinkOrigin: string;
  /** Base URL the deliver handler verifies and enriches against. */
  readonly ecwidApiBaseUrl: string;
  /** True when that is the built-in demo stand-in. */
  readonly demoEcwidApi: boolean;
  readonly state: LocalRunnerState;
  /** Stops everything in order; resolves with what was left on the queues. Idempotent. */
  stop(): Promise<StopSummary>;
}

/** A problem that stops the runner from starting, with a message meant for the user. */
export class RunnerStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RunnerStartError';
  }
}

/**
 * Starts the runner: the handlers get their dependencies from config objects built from the
 * options (the process environment is neither read for them nor written).
 */
export async function startLocalRunner(options: RunnerOptions, output: RunnerOutput): Promise<LocalRunner> {
  const cleanup: Array<() => Promise<unknown>> = [];
  const undo = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
  };
  try {
    return await start(options, output, cleanup);
  } catch (error) {
    await undo();
    throw error;
  }
}

async function start(
  options: RunnerOptions,
  output: RunnerOutput,
  cleanup: Array<() => Promise<unknown>>,
): Promise<LocalRunner> {
  const level: ConsoleLogLevel = options.quiet ? 'WARN' : 'INFO';
  requireStateFileFree(options.stateFile);

  const sink = await startCallbackSink((text) => output.out(text));
  cleanup.push(() => sink.close());

  let demoApi: DemoEcwidApi | undefined;
  if (options.ecwidApiBaseUrl === undefined) {
    demoApi = await startDemoEcwidApi(options.quiet ? undefined : (line) => output.out(line));
    cleanup.push(() => demoApi!.close());
  }
  const ecwidApiBaseUrl = options.ecwidApiBaseUrl ?? demoApi!.baseUrl;

  let sqs: SqsEndpoint;
  if (options.sqsEndpoint === undefined) {
    sqs = await startEmbeddedSqs();
    cleanup.push(() => sqs.stop());
  } else {
    sqs = { endpoint: options.sqsEndpoint, stop: async () => undefined };
  }

  // The ledger: the embedded engine keeps its data beside the state file, so a restart with the same
  // state file remembers every event (and answers Ecwid's repeats as duplicates).
  const ledgerFolder = options.dynamodbEndpoint === undefined ? ledgerFolderOf(options.stateFile) : undefined;
  let dynamo: DynamoDbEndpoint;
  if (ledgerFolder !== undefined) {
    try {
      dynamo = await startEmbeddedDynamoDb({ folder: ledgerFolder, thread: true });
    } catch (error) {
      throw new RunnerStartError(
        `cannot open the event ledger in ${ledgerFolder}: ${describe(error)} ` +
          '(is another runner using the same --state-file? give each runner its own)',
        { cause: error },
      );
    }
    cleanup.push(() => dynamo.stop());
  } else {
    dynamo = { endpoint: options.dynamodbEndpoint!, stop: async () => undefined };
  }
  const dynamodb = new DynamoDBClient({
    region: LOCAL_REGION,
    endpoint: dynamo.endpoint,
    ...(ledgerFolder !== undefined || !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  cleanup.push(async () => dynamodb.destroy());
  const ledgerConfig: LedgerConfig = { tableName: `${options.queuePrefix}-ledger`, timing: DEFAULT_LEDGER_TIMING };
  try {
    await ensureLedgerTable(dynamodb, ledgerConfig.tableName);
  } catch (error) {
    throw new RunnerStartError(`cannot create the ledger table ${ledgerConfig.tableName} at ${dynamo.endpoint}: ${describe(error)}`, {
      cause: error,
    });
  }
  // One ledger for ingest and deliver, as one table serves both in AWS.
  const ledger = new DynamoDbLedger({ tableName: ledgerConfig.tableName, client: dynamodb });

  const retryPolicy = retryPolicyOf({ scheduleSeconds: options.retryScheduleSeconds, maxAttempts: options.maxAttempts });
  const embedded = options.sqsEndpoint === undefined;
  const client = new SQSClient({
    // Always the same region: it is in the state file, and LocalStack keeps queues per region.
    region: LOCAL_REGION,
    endpoint: sqs.endpoint,
    // The embedded emulator accepts any credentials; an external endpoint gets the environment's, if any.
    ...(embedded || !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  cleanup.push(async () => client.destroy());

  let queues: Queues;
  try {
    queues = await ensureQueues(client, {
      queueName: `${options.queuePrefix}.fifo`,
      deadLetterQueueName: `${options.queuePrefix}-dlq.fifo`,
      maxReceiveCount: redriveMaxReceiveCount(retryPolicy.maxAttempts),
      visibilityTimeoutSeconds: QUEUE_VISIBILITY_TIMEOUT_SECONDS,
    });
  } catch (error) {
    throw new RunnerStartError(`cannot create the queues at ${sqs.endpoint}: ${describe(error)}`, { cause: error });
  }

  // The deployed deliver function's config, with the runner's queues, Ecwid API, retry policy and
  // the local callback exemption (loopback and plain http: here and only here).
  const deliverConfig: DeliverConfig = {
    ...deliverConfigFrom({}),
    queueUrl: queues.queueUrl,
    deadLetterQueueUrl: queues.deadLetterQueueUrl,
    ecwidApiBaseUrl,
    callbackTimeoutMs: options.callbackTimeoutMs ?? DEFAULTS.callbackTimeoutMs,
    retryPolicy,
    callbackUrlPolicy: localCallbackUrlPolicy(),
    // The runner's ledger, as the stack's grant sets it on the deliver function (its client: `dynamodb`).
    ledger: ledgerConfig,
    // The stack's breaker, thresholds shortened by --breaker-failures, --breaker-seconds, ...
    breaker: breakerSettings({ ...DEFAULT_BREAKER_SETTINGS, ...options.breaker }),
  };

  const instances = new FolderInstanceRepository({
    dir: options.instancesDir,
    warn: (message) => output.err(`instances: ${message}`),
  });
  // Ingest notes the queued webhooks of reconciling instances (sightings) so that their polls skip what webhooks delivered.
  const sightings = new InMemorySightings();
  const queue = new SqsEventQueue({ queueUrl: queues.queueUrl, client });
  const ingestHandler = createIngestHandler({
    instances,
    queue,
    // The same path as in AWS: the handler records them (and logs a failure) after the enqueue.
    sightings,
    ledger,
    ledgerTiming: ledgerConfig.timing,
    // As deployed: a captured webhook signature works only inside the window.
    webhookMaxAgeSeconds: options.webhookMaxAgeSeconds ?? DEFAULTS.webhookMaxAgeSeconds,
    logger: createConsoleLogger({ service: 'ingest', level, write: logWriter(output) }),
    metrics: NO_METRICS,
    tracer: TRACING_OFF,
  });
  const deliverHandler = createDeliverHandler({
    // Operational notices are printed here (and POSTed to an instance's operational webhook, if set).
    ...deliverDependencies(deliverConfig, { sqs: () => client, dynamodb }, {
      publish: async (notice) => output.out(`notice: ${notice.type} ${notice.instanceId} (${notice.consecutiveFailures} failed in a row${notice.lastError ? `; last: ${notice.lastError}` : ''})`),
    }),
    instances: withSinkCallbacks(instances, sink.origin),
    resolveHost: localMachineResolver,
    logger: createConsoleLogger({ service: 'deliver', level, write: logWriter(output) }),
    metrics: NO_METRICS,
    tracer: TRACING_OFF,
  });

  const gateway = createHttpGateway({
    handler: ingestHandler,
    onEvent: demoApi ? (event: APIGatewayProxyEventV2) => demoApi!.observe(event) : undefined,
    log: options.quiet ? undefined : (line) => output.out(`api: ${line}`),
    onHandlerError: (error) => output.err(`ingest handler failed (API Gateway answers 500): ${describe(error)}`),
  });
  const port = await listen(gateway, options.port);
  cleanup.push(() => closeServer(gateway));
  const origin = `http://${LOOPBACK}:${port}`;

  const eventSource = new SqsEventSource({
    client,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    region: LOCAL_REGION,
    handler: deliverHandler,
    pollers: EVENT_SOURCE_POLLERS,
    functionName: 'ecwid-events-deliver-local',
    functionTimeoutMs: DELIVER_FUNCTION_TIMEOUT_MS,
    onError: (message, error) => output.err(`event source: ${message}: ${describe(error)}`),
  });
  eventSource.start();
  cleanup.push(() => eventSource.stop());

  // The embedded queue starts empty: unfinished events the ledger remembers get their tickets
  // again (retries and parked events keep their due time, which the sweep honours).
  const requeued = await requeueUnfinished({ ledger, tickets: queue, clock: () => new Date(), timing: ledgerConfig.timing, limit: REQUEUE_LIMIT });
  if (requeued > 0) output.out(`ledger: ${requeued} unfinished event(s) from the last run queued again`);
  // The scheduled sweep's stand-in (every minute in AWS): retries whose backoff is over, anything stuck.
  const sweepLogger = createConsoleLogger({ service: 'sweep', level, write: logWriter(output) });
  const sweepLoop = startSweepLoop({
    handler: createSweepHandler({
      ledger,
      tickets: queue,
      clock: () => new Date(),
      timing: ledgerConfig.timing,
      // Its "sent tickets" line would come every second while retries run: debug here.
      logger: { info: sweepLogger.debug },
      metrics: NO_METRICS,
    }),
    intervalMs: SWEEP_INTERVAL_MS,
    onError: (error) => output.err(`sweep: the run failed: ${describe(error)}`),
  });
  cleanup.push(() => sweepLoop.stop());

  // The scheduled poll Lambda's stand-in: the same poll over the instances folder.
  const pollStateDir = join(dirname(options.stateFile), 'poller');
  const pollIntervalSeconds = options.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS;
  let pollLoop: PollLoop | undefined;
  if (pollIntervalSeconds > 0) {
    const pollLogger = createConsoleLogger({ service: 'poll', level, write: logWriter(output) });
    pollLoop = startPollLoop({
      intervalSeconds: pollIntervalSeconds,
      instances,
      stateDir: pollStateDir,
      ecwidApiBaseUrl,
      queue,
      sightings,
      telemetry: { log: (logLevel, message, attributes) => pollLogger[logLevel](message, { ...attributes }), count: () => undefined },
      onError: (error) => output.err(`poll: the run failed: ${describe(error)}`),
    });
    cleanup.push(() => pollLoop!.stop());
  }

  const state: LocalRunnerState = {
    pid: process.pid,
    ingestUrl: `${origin}${INGEST_ROUTE}`,
    sqsEndpoint: sqs.endpoint,
    region: LOCAL_REGION,
    queueUrl: queues.queueUrl,
    deadLetterQueueUrl: queues.deadLetterQueueUrl,
    instancesDir: options.instancesDir,
    ecwidApiBaseUrl,
    ...(pollLoop ? { pollStateDir } : {}),
    dynamodbEndpoint: dynamo.endpoint,
    ledgerTableName: ledgerConfig.tableName,
  };
  writeState(options.stateFile, state);
  cleanup.push(async () => removeState(options.stateFile));

  let stopping: Promise<StopSummary> | undefined;
  const stop = (): Promise<StopSummary> => {
    stopping ??= (async () => {
      // Order: no new requests, no new receives (batches in hand finish), count, then tear down.
      await closeServer(gateway);
      await pollLoop?.stop();
      await sweepLoop.stop();
      await eventSource.stop();
      const summary = await summarize(client, queues).catch(() => ({ queued: -1, deadLettered: -1 }));
      if (demoApi) await demoApi.close();
      await sink.close();
      await sqs.stop();
      client.destroy();
      // Last: the handlers are done with the ledger; closing it flushes its folder.
      dynamodb.destroy();
      await dynamo.stop();
      removeState(options.stateFile);
      return summary;
    })();
    return stopping;
  };

  return {
    ingestUrl: state.ingestUrl,
    sqsEndpoint: sqs.endpoint,
    queues,
    dynamodbEndpoint: dynamo.endpoint,
    ledgerTableName: ledgerConfig.tableName,
    ...(ledgerFolder === undefined ? {} : { ledgerFolder }),
    sinkOrigin: sink.origin,
    ecwidApiBaseUrl,
    demoEcwidApi: demoApi !== undefined,
    state,
    stop,
  };
}

/**
 * The embedded ledger's data: a folder beside the state file, named after it
 * (`.local-state/runner-ledger/` by default), so runners with their own state files never share one.
 */
export const ledgerFolderOf = (stateFile: string): string =>
  join(dirname(stateFile), `${basename(stateFile, extname(stateFile))}-ledger`);

/**
 * Refuses a state file a live runner has published: the two would share (and fight over) its ledger
 * folder. A file left by a runner that was killed is taken over.
 */
function requireStateFileFree(file: string): void {
  let pid: unknown;
  try {
    pid = (JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalRunnerState>).pid;
  } catch {
    return; // none, or unreadable: nobody is using it
  }
  if (typeof pid !== 'number' || !isAlive(pid)) return;
  throw new RunnerStartError(
    `another runner (pid ${pid}) is using the state file ${file} and its event ledger: stop it, or give this one its own --state-file`,
  );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function summarize(client: SQSClient, queues: Queues): Promise<StopSummary> {
  const [queued, deadLettered] = await Promise.all([
    countMessages(client, queues.queueUrl),
    countMessages(client, queues.deadLetterQueueUrl),
  ]);
  return { queued, deadLettered };
}

/** No CloudWatch here: the handlers' metrics go nowhere. */
const NO_METRICS = { addMetric: () => undefined, publishStoredMetrics: () => undefined };

/** Handler logs: warnings and errors to stderr, the rest to stdout. */
function logWriter(output: RunnerOutput): (line: string) => void {
  return (line) => (/^\S+ (WARN|ERROR)/.test(line) ? output.err(line) : output.out(line));
}

/** The gateway's port, with a clear message when it is taken. */
async function listen(server: Server, port: number): Promise<number> {
  try {
    return await listenOnLoopback(server, port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new RunnerStartError(
        `port ${port} is already in use on ${LOOPBACK}: stop what uses it or pick another with --port N (0 = any free port)`,
      );
    }
    throw error;
  }
}

function writeState(file: string, state: LocalRunnerState): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the state file if it is still ours (another runner may have taken over the path). */
function removeState(file: string): void {
  try {
    const current = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalRunnerState>;
    if (current.pid === process.pid) rmSync(file, { force: true });
  } catch {
    // already gone or unreadable: nothing of ours to remove
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

