/**
 * The Lambda bundles `cdk synth` writes to cdk.out, and how long a fresh `node` takes to load one
 * and run one invocation.
 *
 * - ingest_bundle_bytes, deliver_bundle_bytes: size of the minified index.js of each function's
 *   asset (source maps not counted). The asset of a function is found through its template:
 *   Code.S3Key is `<asset hash>.zip`, the bundle is cdk.out/asset.<asset hash>/index.js; which
 *   function it is, the bundle's source map says (it lists functions/<ingest|deliver>/handler.ts).
 * - ingest_cold_load_ratio, deliver_cold_load_ratio: median wall time, spawn to the answer, of
 *   `node bench/cold-start-driver.cjs <bundle> <event>`, divided by the median of `node -e 0` with
 *   the same environment; runs interleaved. Measured: node's own start, loading the bundle and the
 *   AWS SDK v3 clients it requires (from node_modules through NODE_PATH, as the Lambda runtime
 *   provides them from its own folder), then ONE invocation of the path the stack deploys, its AWS
 *   calls over HTTP to local stand-ins: DynamoDB (the instance read model and the event ledger) to
 *   an in-memory dynalite in this process, KMS and SQS to the AWS stand-in (AWS_ENDPOINT_URL_*).
 *   Ingest: the read model's Query + 1 KMS Decrypt, the ledger's record, 1 SendMessageBatch, the
 *   ledger's "queued"; deliver: the read model + KMS, the ledger's reads and writes of one ticket
 *   (the event recorded beforehand, as ingest leaves it), 1 Ecwid API GET, 1 callback POST. Every run
 *   has its own event (a repeat would take the duplicate path).
 *   Not measured: Lambda's own init (sandbox, runtime bootstrap, code download), real AWS latency.
 *   The function's environment comes from the template (NODE_OPTIONS=--enable-source-maps and
 *   POWERTOOLS_TRACE_ENABLED included), plus what the Lambda runtime adds (AWS_EXECUTION_ENV,
 *   LAMBDA_TASK_ROOT, _HANDLER, _X_AMZN_TRACE_ID, AWS_XRAY_*): with the template's active tracing
 *   the handlers load the Powertools Tracer and the X-Ray SDK and send their subsegments over UDP
 *   to a local stand-in for the X-Ray daemon, as in Lambda; a traced run that sends none fails.
 * - ingest_cold_load_ratio_tracing_off, deliver_cold_load_ratio_tracing_off (functions the template
 *   traces): the same cold start with POWERTOOLS_TRACE_ENABLED=false (the stack's `tracing: false`),
 *   run right beside each traced one; the difference is what the Tracer costs a cold start.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbLedger, ensureLedgerTable } from '../functions/adapters/aws/dynamodb-ledger';
import { DynamoDbReadModelWriter } from '../functions/adapters/aws/dynamodb-read-model-writer';
import { KmsDataKeys } from '../functions/adapters/aws/kms-data-keys';
import { READ_MODEL } from '../functions/contract';
import { admit } from '../functions/core/ledger-flow';
import { startEmbeddedDynamoDb } from '../local/embedded-dynamodb';
import {
  BENCH_ACCOUNT,
  BENCH_REGION,
  benchEcwidRoute,
  benchInstance,
  benchSqsRecord,
  type Figures,
  median,
  orderCreatedBody,
  REPO_ROOT,
  round,
  runChild,
} from './support';
import { AwsStandIn } from '../testkit/aws';
import { ecwidApiHandler } from '../testkit/ecwid-api';
import { webhookEvent } from '../testkit/events';
import { LOOPBACK, rawServer } from '../testkit/servers';
import type { QueuedEvent } from '../functions/core/event';
import type { InstanceDocument } from '../functions/core/instance';

/** Where `cdk synth` writes (cdk.json's default); BENCH_CDK_OUT points the suite at another folder. */
export const CDK_OUT = path.resolve(REPO_ROOT, process.env.BENCH_CDK_OUT || 'cdk.out');
const DRIVER = path.join(__dirname, 'cold-start-driver.cjs');
const COLD_RUNS = 11;
const CHILD_TIMEOUT_MS = 30_000;
/** For looking into a cold start: BENCH_COLD_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/cold' (not for figures). */
const COLD_NODE_ARGS = (process.env.BENCH_COLD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const STORE_ID = 4001;
const INSTANCE_ID = 'bench-cold';
/** The stack's tables, in the bench's embedded DynamoDB. */
const COLD_TABLES = { readModel: 'ecwid-events-bench-instances', ledger: 'ecwid-events-bench-ledger' } as const;

export type FunctionRole = 'ingest' | 'deliver';

export interface SynthesizedFunction {
  readonly role: FunctionRole;
  readonly logicalId: string;
  readonly bundle: string;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly environment: Record<string, unknown>;
  readonly architectures: readonly string[];
  readonly tracing: boolean;
}

export interface SynthesizedApp {
  readonly templateFile: string;
  readonly functions: Record<FunctionRole, SynthesizedFunction>;
  /** BatchSize of the deliver function's SQS event source mapping. */
  readonly deliverBatchSize: number;
}

interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
}

/** Newest modification time under `dir` (files only), 0 when it does not exist. */
function newestMtime(target: string): number {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)));
  return newest;
}

/**
 * Runs `npx cdk synth --no-validation` when cdk.out is missing or older than the sources that go
 * into it (functions/, lib/, bin/app.ts, package-lock.json), or when `force` is set.
 */
export function ensureSynthesized(log: (line: string) => void, force: boolean): void {
  const manifest = path.join(CDK_OUT, 'manifest.json');
  const built = newestMtime(manifest);
  const sources = Math.max(
    ...['functions', 'lib', path.join('bin', 'app.ts'), 'package-lock.json', 'cdk.json'].map((p) => newestMtime(path.join(REPO_ROOT, p))),
  );
  if (!force && built > 0 && built >= sources) return;
  const why = built === 0 ? 'is missing' : force ? 'is to be rebuilt (--synth)' : 'is older than the sources';
  log(`bundles: ${path.relative(REPO_ROOT, CDK_OUT) || CDK_OUT} ${why}: running npx cdk synth --no-validation`);
  try {
    execFileSync('npx', ['cdk', 'synth', '--no-validation', '--quiet', '--output', CDK_OUT], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 300_000,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? '');
    const reason = stderr.split('\n').find((line) => /Error|error:/.test(line))?.trim() ?? (error as Error).message;
    if (built === 0) throw new Error(`cdk synth failed: ${reason}`);
    // A stack in the middle of an edit should not stop the other figures: measure the last good synth.
    log(`bundles: WARNING cdk synth failed (${reason}); measuring the existing, older cdk.out`);
  }
}

/**
 * Which handler a bundle was built from: its source map lists functions/<role>/handler.ts (other
 * functions of the stack, and bundles without a map, are not ours to measure).
 */
function bundleRole(mapFile: string): FunctionRole | undefined {
  let sources: string[];
  try {
    sources = (JSON.parse(readFileSync(mapFile, 'utf8')) as { sources?: string[] }).sources ?? [];
  } catch {
    return undefined;
  }
  for (const role of ['ingest', 'deliver'] as const) {
    if (sources.some((source) => source.replace(/\\/g, '/').endsWith(`functions/${role}/handler.ts`))) return role;
  }
  return undefined;
}

/** Reads cdk.out: the stack template, each function's bundle and configuration. */
export function readSynthesizedApp(): SynthesizedApp {
  const manifest = JSON.parse(readFileSync(path.join(CDK_OUT, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const stacks = Object.values(manifest.artifacts).filter((artifact) => artifact.type === 'aws:cloudformation:stack');
  for (const stack of stacks) {
    const templateFile = path.join(CDK_OUT, stack.properties?.templateFile ?? '');
    const template = JSON.parse(readFileSync(templateFile, 'utf8')) as { Resources: Record<string, TemplateResource> };
    const found: Partial<Record<FunctionRole, SynthesizedFunction>> = {};
    const batchSizes = new Map<string, number>();
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type === 'AWS::Lambda::EventSourceMapping') {
        const target = (resource.Properties?.FunctionName as { Ref?: string } | undefined)?.Ref;
        // Lambda's default BatchSize for SQS is 10.
        if (target) batchSizes.set(target, Number(resource.Properties?.BatchSize ?? 10));
      }
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const props = resource.Properties ?? {};
      const s3Key = String((props.Code as { S3Key?: string } | undefined)?.S3Key ?? '');
      const hash = s3Key.replace(/\.zip$/, '');
      const assetDir = path.join(CDK_OUT, `asset.${hash}`);
      const bundle = path.join(assetDir, 'index.js');
      const mapFile = path.join(assetDir, 'index.js.map');
      const role = bundleRole(mapFile);
      if (!role) continue;
      const vars = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {}) as Record<string, unknown>;
      found[role] = {
        role,
        logicalId,
        bundle,
        bundleBytes: statSync(bundle).size,
        sourceMapBytes: newestMtime(mapFile) > 0 ? statSync(mapFile).size : 0,
        memoryMb: Number(props.MemorySize ?? 128),
        timeoutSeconds: Number(props.Timeout ?? 3),
        environment: vars,
        architectures: (props.Architectures as string[] | undefined) ?? ['x86_64'],
        tracing: (props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active',
      };
    }
    if (found.ingest && found.deliver) {
      const deliverBatchSize = batchSizes.get(found.deliver.logicalId) ?? 10;
      return { templateFile, functions: { ingest: found.ingest, deliver: found.deliver }, deliverBatchSize };
    }
  }
  throw new Error(`no stack in ${CDK_OUT} has both an ingest and a deliver function`);
}

/**
 * What the Lambda runtime (Node.js 22, on-demand init) adds to a function's own environment, as
 * far as the relay's code, Powertools or the X-Ray SDK read it. AWS_EXECUTION_ENV is what makes
 * the Tracer turn on (functions/adapters/aws/tracing.ts); LAMBDA_TASK_ROOT puts the X-Ray SDK in its
 * Lambda mode (a facade segment from _X_AMZN_TRACE_ID, no centralized sampling and so no TCP to
 * the daemon, each subsegment sent over UDP as it closes). The daemon address is a local UDP
 * port: sends are fire-and-forget, so nothing waits on it.
 */
function lambdaRuntimeEnvironment(fn: ColdFunction, invocation: ColdInvocation): Record<string, string> {
  return {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_FUNCTION_NAME: `bench-${fn.role}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/bench-${fn.role}`,
    AWS_LAMBDA_LOG_STREAM_NAME: 'bench',
    LAMBDA_TASK_ROOT: path.dirname(fn.bundle),
    _HANDLER: 'index.handler',
    TZ: ':UTC',
    _X_AMZN_TRACE_ID: `Root=${invocation.traceId};Parent=${randomBytes(8).toString('hex')};Sampled=${fn.tracing ? 1 : 0}`,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: invocation.daemonAddress,
  };
}

/** A fresh X-Ray trace id (`1-<epoch seconds, hex>-<96 random bits>`), one per cold run. */
function newTraceId(): string {
  return `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

/** One cold run's trace and where its segments go. */
interface ColdInvocation {
  readonly traceId: string;
  readonly daemonAddress: string;
}

/**
 * A stand-in for the X-Ray daemon: a UDP socket on 127.0.0.1 that counts the segment documents
 * it receives (`{"format":"json","version":1}\n{...}`) per trace id.
 */
async function startXrayDaemonStandIn() {
  const socket = dgram.createSocket('udp4');
  const byTrace = new Map<string, number>();
  socket.on('message', (message) => {
    const document = message.toString('utf8').split('\n')[1] ?? '';
    try {
      const traceId = (JSON.parse(document) as { trace_id?: string }).trace_id ?? '';
      byTrace.set(traceId, (byTrace.get(traceId) ?? 0) + 1);
    } catch {
      byTrace.set('', (byTrace.get('') ?? 0) + 1);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, LOOPBACK, () => resolve());
  });
  return {
    address: `${LOOPBACK}:${socket.address().port}`,
    segments: (traceId: string) => byTrace.get(traceId) ?? 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/** The function's environment from the template, with references to AWS resources replaced by local ones. */
function functionEnvironment(fn: ColdFunction, standInOrigin: string, dynamodbOrigin: string, invocation: ColdInvocation): Record<string, string> {
  const queueUrl = `${standInOrigin}/${BENCH_ACCOUNT}/ecwid-events-bench.fifo`;
  // The template's references to the stack's resources, as local ones.
  const localValues: Record<string, string> = {
    QUEUE_URL: queueUrl,
    DEAD_LETTER_QUEUE_URL: queueUrl.replace('.fifo', '-dlq.fifo'),
    SIGHTINGS_QUEUE_URL: `${standInOrigin}/${BENCH_ACCOUNT}/ecwid-events-bench-sightings`,
    [READ_MODEL.env.tableName]: COLD_TABLES.readModel,
    LEDGER_TABLE_NAME: COLD_TABLES.ledger,
    NOTICE_TOPIC_ARN: `arn:aws:sns:${BENCH_REGION}:${BENCH_ACCOUNT}:ecwid-events-bench-notices`,
  };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(fn.environment)) {
    if (typeof value === 'string') env[name] = value;
    else if (localValues[name]) env[name] = localValues[name];
  }
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    ...env,
    ...lambdaRuntimeEnvironment(fn, invocation),
    // The Lambda runtime provides the AWS SDK v3 (bundled as external); here node_modules does.
    NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
    AWS_REGION: BENCH_REGION,
    AWS_DEFAULT_REGION: BENCH_REGION,
    AWS_ACCESS_KEY_ID: 'AKIDBENCH',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-not-real',
    AWS_ENDPOINT_URL: `http://${LOOPBACK}:9`,
    AWS_ENDPOINT_URL_SQS: standInOrigin,
    AWS_ENDPOINT_URL_SSM: standInOrigin,
    AWS_ENDPOINT_URL_KMS: standInOrigin,
    AWS_ENDPOINT_URL_SNS: standInOrigin,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodbOrigin,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // Local only: the callback and the Ecwid API are plain http on 127.0.0.1.
    ECWID_API_BASE_URL: `${standInOrigin}/api`,
    ALLOW_HTTP_CALLBACKS: 'true',
    CALLBACK_ALLOW_HOSTS: LOOPBACK,
  };
}

/** One local server that plays SSM, SQS (AWS JSON protocols), the Ecwid API and the callback. */
async function startColdStandIn(standIn: AwsStandIn) {
  const ecwid = ecwidApiHandler({ routes: [benchEcwidRoute], record: false });
  let callbacks = 0;
  const handler: http.RequestListener = (request, response) => {
    if (AwsStandIn.isAwsCall(request)) return standIn.handleHttp(request, response);
    if (request.method === 'POST' && request.url?.startsWith('/hook')) {
      callbacks += 1;
      request.resume();
      request.on('end', () => response.writeHead(200).end('ok'));
      return;
    }
    ecwid.listener(request, response);
  };
  const server = await rawServer(handler);
  return { server, callbacks: () => callbacks };
}

interface DriverOutput {
  ok: boolean;
  startupMs?: number;
  loadMs?: number;
  invokeMs?: number;
  result?: unknown;
  error?: string;
}

function parseDriverOutput(stdout: string): DriverOutput {
  const line = stdout.split('\n').reverse().find((l) => l.startsWith('BENCH_RESULT '));
  if (!line) return { ok: false, error: 'no BENCH_RESULT line' };
  return JSON.parse(line.slice('BENCH_RESULT '.length)) as DriverOutput;
}

function checkInvocation(role: FunctionRole, result: unknown): void {
  if (role === 'ingest') {
    const { statusCode, body } = (result as { statusCode?: number; body?: string } | undefined) ?? {};
    // A new event each run: answered 200 and queued (not a duplicate, not dropped).
    if (statusCode !== 200 || !String(body).includes('"queued":1')) throw new Error(`cold ingest invocation answered ${statusCode}: ${JSON.stringify(result)}`);
  } else {
    const failures = (result as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures;
    if (!Array.isArray(failures) || failures.length > 0) throw new Error(`cold deliver invocation failed: ${JSON.stringify(result)}`);
  }
}

export type ColdFunction = Pick<SynthesizedFunction, 'role' | 'bundle' | 'environment' | 'memoryMb' | 'tracing'>;

/** Medians of the cold runs, in ms (answer = spawn to the handler's answer). */
export interface ColdStartStats {
  readonly runs: number;
  readonly baselineMs: number;
  readonly answerMs: Record<FunctionRole, number>;
  readonly exitMs: Record<FunctionRole, number>;
  readonly loadMs: Record<FunctionRole, number>;
  readonly invokeMs: Record<FunctionRole, number>;
  /** X-Ray segment documents the daemon stand-in got from one run before the driver exited (median; 0 untraced). */
  readonly segmentsPerInvocation: Record<FunctionRole, number>;
  /** The same medians with tracing switched off, for the functions the template traces. */
  readonly tracingOff: {
    readonly answerMs: Partial<Record<FunctionRole, number>>;
    readonly loadMs: Partial<Record<FunctionRole, number>>;
    readonly invokeMs: Partial<Record<FunctionRole, number>>;
  };
}

/** As the template deploys the function, or the same with tracing switched off. */
type ColdVariant = 'asDeployed' | 'tracingOff';

/**
 * The stack's two tables in the bench's embedded DynamoDB: the instance read model with the
 * bench instance (sealed under a data key of the AWS stand-in's KMS, as the config-sync function
 * writes it) and the event ledger. Returns the ledger, for recording deliver's events beforehand.
 */
async function coldStartTables(client: DynamoDBClient, standIn: AwsStandIn, document: InstanceDocument): Promise<DynamoDbLedger> {
  await client.send(
    new CreateTableCommand({
      TableName: COLD_TABLES.readModel,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: READ_MODEL.partitionKey, KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: READ_MODEL.partitionKey, AttributeType: 'S' },
        { AttributeName: READ_MODEL.byStoreIndex.partitionKey, AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: READ_MODEL.byStoreIndex.indexName,
          KeySchema: [{ AttributeName: READ_MODEL.byStoreIndex.partitionKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  const writer = new DynamoDbReadModelWriter({
    tableName: COLD_TABLES.readModel,
    client,
    dataKeys: new KmsDataKeys({ client: new KMSClient(standIn.clientConfig()), keyId: 'bench-read-model-key' }),
  });
  const written = await writer.put({ instanceId: INSTANCE_ID, version: 1, modifiedAt: Date.now(), instance: { id: INSTANCE_ID, document }, storeId: String(STORE_ID) });
  if (!written) throw new Error('the bench instance was not written to the read model');
  await ensureLedgerTable(client, COLD_TABLES.ledger);
  return new DynamoDbLedger({ tableName: COLD_TABLES.ledger, client });
}

/**
 * Spawns `node -e 0`, then each function's cold start, `runs` times interleaved (so that load from
 * other processes hits them alike); checks that every invocation succeeded.
 */
export async function measureColdStarts(
  functions: Record<FunctionRole, ColdFunction>,
  runs = COLD_RUNS,
  debug?: (line: string) => void,
): Promise<ColdStartStats> {
  const { ingest, deliver } = functions;
  const standIn = new AwsStandIn();
  const { server, callbacks } = await startColdStandIn(standIn);
  const daemon = await startXrayDaemonStandIn();
  const dynamodb = await startEmbeddedDynamoDb();
  const work = mkdtempSync(path.join(tmpdir(), 'ecwid-events-bench-'));
  const setupClient = new DynamoDBClient({
    region: BENCH_REGION,
    endpoint: dynamodb.endpoint,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench-secret-not-real' },
  });
  try {
    const document = benchInstance(STORE_ID, `${server.origin}/hook`, 0);
    const clientSecret = String(document.configuration['ecwid.client.secret']);
    const ledger = await coldStartTables(setupClient, standIn, document);
    const queueArn = `arn:aws:sqs:${BENCH_REGION}:${BENCH_ACCOUNT}:ecwid-events-bench.fifo`;
    let sequence = 0;
    /** A new event for each run (the same one again would take the duplicate path). */
    const eventFile = async (role: FunctionRole): Promise<string> => {
      sequence += 1;
      const body = orderCreatedBody(STORE_ID, sequence);
      const file = path.join(work, `${role}-event-${sequence}.json`);
      if (role === 'ingest') {
        writeFileSync(file, JSON.stringify(webhookEvent({ ...body }, clientSecret, { requestId: `bench-${sequence}`, headers: { 'user-agent': 'Ecwid webhooks' } })));
        return file;
      }
      const queued: QueuedEvent = {
        v: 1,
        objectType: 'orders',
        objectId: String(body.data?.orderId),
        eventType: 'CREATED',
        eventId: body.eventId,
        instanceId: INSTANCE_ID,
        storeId: String(STORE_ID),
        source: 'webhook',
        ecwidEventType: body.eventType,
        receivedAt: new Date().toISOString(),
        verified: true,
        raw: body as unknown as Record<string, unknown>,
      };
      // Recorded and marked queued as ingest leaves it; the ticket is the record below.
      await admit([queued], { ledger, tickets: { send: async () => undefined }, clock: () => new Date() });
      writeFileSync(file, JSON.stringify({ Records: [benchSqsRecord(queued, sequence, queueArn)] }));
      return file;
    };

    const baseline: number[] = [];
    const emptySamples = () => ({ answer: [] as number[], exit: [] as number[], load: [] as number[], invoke: [] as number[], traces: [] as string[] });
    type Samples = ReturnType<typeof emptySamples>;
    const samples: Record<ColdVariant, Record<FunctionRole, Samples>> = {
      asDeployed: { ingest: emptySamples(), deliver: emptySamples() },
      tracingOff: { ingest: emptySamples(), deliver: emptySamples() },
    };
    // The Tracer's cost: each traced function also runs with tracing switched off as the stack's
    // `tracing: false` would (POWERTOOLS_TRACE_ENABLED=false, trace header not sampled).
    const variantsOf = (fn: ColdFunction): Array<[ColdVariant, ColdFunction]> =>
      fn.tracing
        ? [
            ['asDeployed', fn],
            ['tracingOff', { ...fn, tracing: false, environment: { ...fn.environment, POWERTOOLS_TRACE_ENABLED: 'false' } }],
          ]
        : [['asDeployed', fn]];
    const invocation = (): ColdInvocation => ({ traceId: newTraceId(), daemonAddress: daemon.address });
    let deliverRuns = 0;
    for (let i = 0; i < runs; i += 1) {
      // The baseline gets the same environment (node reads NODE_OPTIONS; the rest costs nothing).
      const baselineEnv = functionEnvironment(ingest, server.origin, dynamodb.endpoint, invocation());
      const bare = await runChild(process.execPath, ['-e', '0'], { env: baselineEnv, timeoutMs: CHILD_TIMEOUT_MS });
      if (bare.code !== 0) throw new Error(`node -e 0 exited with ${bare.code}`);
      baseline.push(bare.wallMs);
      for (const deployed of [ingest, deliver]) {
        const variants = variantsOf(deployed);
        // Which variant goes first alternates, so that neither always follows the other.
        if (i % 2 === 1) variants.reverse();
        for (const [variant, fn] of variants) {
          const run = invocation();
          const child = await runChild(process.execPath, [...COLD_NODE_ARGS, DRIVER, fn.bundle, await eventFile(fn.role)], {
            env: functionEnvironment(fn, server.origin, dynamodb.endpoint, run),
            timeoutMs: CHILD_TIMEOUT_MS,
            marker: 'BENCH_RESULT ',
          });
          const parsed = parseDriverOutput(child.stdout);
          if (child.code !== 0 || !parsed.ok) {
            throw new Error(
              `cold ${fn.role} run (${variant}) failed (exit ${child.code}${child.timedOut ? ', timed out' : ''}): ${parsed.error ?? ''}\n${child.stderr.slice(-2000)}`,
            );
          }
          checkInvocation(fn.role, parsed.result);
          if (fn.role === 'deliver') deliverRuns += 1;
          const into = samples[variant][fn.role];
          // Until the answer, not until exit: a Lambda environment does not exit after an invocation,
          // and node's teardown after a fetch() (undici) adds tens of ms that no invocation pays.
          into.answer.push(child.markerMs ?? child.wallMs);
          into.exit.push(child.wallMs);
          into.load.push(parsed.loadMs ?? 0);
          into.invoke.push(parsed.invokeMs ?? 0);
          into.traces.push(run.traceId);
          debug?.(
            `${fn.role}${variant === 'tracingOff' ? ' (tracing off)' : ''}: answer ${(child.markerMs ?? 0).toFixed(0)} exit ${child.wallMs.toFixed(0)} ` +
              `startup ${parsed.startupMs?.toFixed(0)} load ${parsed.loadMs?.toFixed(0)} invoke ${parsed.invokeMs?.toFixed(0)}`,
          );
        }
      }
    }
    if (callbacks() !== deliverRuns) throw new Error(`the cold deliver runs made ${callbacks()} callbacks, expected ${deliverRuns}`);
    // Loopback datagrams sent before a child exited are queued by now; one turn of the loop reads them.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const segments = (variant: ColdVariant, role: FunctionRole) => samples[variant][role].traces.map(daemon.segments);
    for (const fn of [ingest, deliver]) {
      // The first AWS call's subsegment leaves during the invocation; later ones may still be
      // queued in the X-Ray SDK when the driver exits (Lambda would freeze, not exit), so only
      // "at least one" is certain. None means the Tracer did not run: not what Lambda runs.
      const silent = segments('asDeployed', fn.role).filter((count) => count === 0).length;
      if (fn.tracing && silent > 0) {
        throw new Error(`cold ${fn.role}: ${silent} of ${runs} runs sent no X-Ray segment, although the template has active tracing`);
      }
      if (segments('tracingOff', fn.role).some((count) => count > 0)) {
        throw new Error(`cold ${fn.role}: runs with POWERTOOLS_TRACE_ENABLED=false sent X-Ray segments`);
      }
    }
    const medians = (variant: ColdVariant, pick: (s: Samples) => number[]): Record<FunctionRole, number> => ({
      ingest: median(pick(samples[variant].ingest)),
      deliver: median(pick(samples[variant].deliver)),
    });
    const tracingOff = (pick: (s: Samples) => number[]): Partial<Record<FunctionRole, number>> =>
      Object.fromEntries(
        (['ingest', 'deliver'] as const).filter((role) => samples.tracingOff[role].answer.length > 0).map((role) => [role, median(pick(samples.tracingOff[role]))]),
      );
    return {
      runs,
      baselineMs: median(baseline),
      answerMs: medians('asDeployed', (s) => s.answer),
      exitMs: medians('asDeployed', (s) => s.exit),
      loadMs: medians('asDeployed', (s) => s.load),
      invokeMs: medians('asDeployed', (s) => s.invoke),
      segmentsPerInvocation: {
        ingest: median(segments('asDeployed', 'ingest')),
        deliver: median(segments('asDeployed', 'deliver')),
      },
      tracingOff: {
        answerMs: tracingOff((s) => s.answer),
        loadMs: tracingOff((s) => s.load),
        invokeMs: tracingOff((s) => s.invoke),
      },
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
    setupClient.destroy();
    await dynamodb.stop();
    await daemon.close();
    await server.close();
  }
}

export function describeColdStarts(stats: ColdStartStats): string {
  return (
    `cold start medians of ${stats.runs}: node -e 0 ${stats.baselineMs.toFixed(0)} ms; ` +
    (['ingest', 'deliver'] as const)
      .map((role) => {
        const off = stats.tracingOff.answerMs[role];
        const tracing =
          off === undefined
            ? 'tracing off in the template'
            : `${stats.segmentsPerInvocation[role]} X-Ray segments received; with tracing off ${off.toFixed(0)} ms ` +
              `(load ${stats.tracingOff.loadMs[role]?.toFixed(0)}, invoke ${stats.tracingOff.invokeMs[role]?.toFixed(0)})`;
        return (
          `${role} ${stats.answerMs[role].toFixed(0)} ms to the answer (load ${stats.loadMs[role].toFixed(0)}, ` +
          `invoke ${stats.invokeMs[role].toFixed(0)}), ${stats.exitMs[role].toFixed(0)} ms to exit, ${tracing}`
        );
      })
      .join('; ')
  );
}

export async function benchBundles(log: (line: string) => void, options: { synth: boolean }): Promise<{ figures: Figures; app: SynthesizedApp }> {
  ensureSynthesized(log, options.synth);
  const app = readSynthesizedApp();
  const { ingest, deliver } = app.functions;
  log(
    `bundles: ${path.relative(REPO_ROOT, app.templateFile)}: ingest ${ingest.bundleBytes} B (${ingest.memoryMb} MB), ` +
      `deliver ${deliver.bundleBytes} B (${deliver.memoryMb} MB)`,
  );
  const stats = await measureColdStarts(app.functions, COLD_RUNS, process.env.BENCH_DEBUG ? log : undefined);
  log(`bundles: ${describeColdStarts(stats)}`);
  const base = stats.baselineMs;
  return {
    app,
    figures: {
      ingest_bundle_bytes: ingest.bundleBytes,
      deliver_bundle_bytes: deliver.bundleBytes,
      ingest_cold_load_ratio: round(stats.answerMs.ingest / base, 2),
      deliver_cold_load_ratio: round(stats.answerMs.deliver / base, 2),
      ingest_cold_require_ratio: round(stats.loadMs.ingest / base, 2),
      deliver_cold_require_ratio: round(stats.loadMs.deliver / base, 2),
      ingest_cold_invoke_ratio: round(stats.invokeMs.ingest / base, 2),
      deliver_cold_invoke_ratio: round(stats.invokeMs.deliver / base, 2),
      ...tracingOffFigures(stats),
    },
  };
}

/** `<role>_cold_load_ratio_tracing_off` for each function the template traces (the Tracer's cost is the difference). */
function tracingOffFigures(stats: ColdStartStats): Figures {
  const figures: Figures = {};
  for (const role of ['ingest', 'deliver'] as const) {
    const answer = stats.tracingOff.answerMs[role];
    if (answer !== undefined) figures[`${role}_cold_load_ratio_tracing_off`] = round(answer / stats.baselineMs, 2);
  }
  return figures;
}
