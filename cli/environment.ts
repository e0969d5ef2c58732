/**
 * Finds the resources a command works on, lazily (a command that only lists instances never
 * calls SQS or CloudFormation): a deployed stack's outputs, the local runner's state file, or
 * explicit endpoints and URLs (moto). Explicit options always win.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { SNSClient } from '@aws-sdk/client-sns';
import { SnsNoticeTopic } from '../functions/adapters/aws/sns-notice-topic';
import type { NoticeTopic } from '../functions/core/health-notices';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDbLedger } from '../functions/adapters/aws/dynamodb-ledger';
import { SqsEventQueue } from '../functions/adapters/aws/sqs-event-queue';
import { DynamoDbHealthStore } from '../functions/adapters/aws/dynamodb-health';
import type { HealthStore } from '../functions/core/health';
import type { Ledger } from '../functions/core/ledger';
import type { TicketQueue } from '../functions/core/ledger-flow';
import { FileCheckpointStore } from '../functions/adapters/fs/file-checkpoint-store';
import { SsmCheckpointStore } from '../functions/adapters/aws/ssm-checkpoint-store';
import { SsmInstanceRepository } from '../functions/adapters/aws/ssm-instance-repository';
import { DynamoDbReadModelWriter } from '../functions/adapters/aws/dynamodb-read-model-writer';
import { KmsDataKeys } from '../functions/adapters/aws/kms-data-keys';
import { ReadModelSyncingRepository } from '../functions/adapters/aws/read-model-syncing-repository';
import { SsmConfigSource } from '../functions/adapters/aws/ssm-config-source';
import { FolderInstanceRepository } from '../functions/adapters/fs/folder-instance-repository';
import type { CheckpointStore } from '../functions/core/ports';
import { localMachineResolver, systemResolver } from '../functions/adapters/http/host-resolver';
import { callbackUrlPolicyOf, localCallbackUrlPolicy } from '../functions/config';
import type { CallbackUrlPolicy } from '../functions/core/callback/ssrf';
import type { HostResolver, InstanceRepository } from '../functions/core/ports';
import {
  DEFAULTS,
  INGEST_ROUTE,
  LOCAL_STATE_FILE,
  STACK_OUTPUTS,
  type LocalRunnerState,
} from '../functions/contract';
import { CliError, EXIT, isErrorLike } from './errors';

/** The options every command accepts (see GLOBAL_OPTIONS in main.ts). */
export interface GlobalOptions {
  readonly stack?: string;
  readonly region?: string;
  readonly local?: boolean;
  readonly stateFile?: string;
  readonly sqsEndpoint?: string;
  readonly ssmEndpoint?: string;
  readonly queueUrl?: string;
  readonly dlqUrl?: string;
  readonly ssmPrefix?: string;
  readonly ingestUrl?: string;
  readonly instancesDir?: string;
  /** KMS key for the instance SecureStrings (else the stack output SsmKmsKeyId, else aws/ssm). */
  readonly kmsKeyId?: string;
  /** DynamoDB endpoint of the event ledger (moto, or the local runner's). */
  readonly dynamodbEndpoint?: string;
  /** The ledger table (instead of the stack output LedgerTableName). */
  readonly ledgerTable?: string;
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** Environment variable naming the default stack (otherwise `--stack` is needed). */
export const STACK_ENV = 'ECWID_EVENTS_STACK';

export interface Queues {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** True for moto / the local runner: features AWS has and emulators lack are not tried. */
  readonly emulated: boolean;
  /** ARNs, from the stack outputs or asked from SQS. */
  arns(): Promise<{ queueArn: string; deadLetterQueueArn: string }>;
}

/** The event ledger, and the queue its resent events go to. */
export interface LedgerAccess {
  readonly ledger: Ledger;
  tickets(): Promise<TicketQueue>;
}

export interface Resources {
  /** One line saying what the CLI is talking to (for `--debug` and errors). */
  describe(): string;
  instances(): Promise<InstanceRepository>;
  queues(): Promise<Queues>;
  /** The shared ingest URL, `https://.../events/ecwid`. */
  ingestUrl(): Promise<string>;
  /** The SSRF policy callback URLs are validated against before they are written. */
  callbackPolicy(): Promise<CallbackUrlPolicy>;
  /** The DNS the callback policy's address check asks (`*.localhost` is this machine with `--local`). */
  readonly resolveHost: HostResolver;
  /** Releases the SDK clients' connections. */
  close(): void;
  /**
   * Where the poller keeps its per-instance state and leases: SSM `<prefix>/poller/`, the local
   * runner's poll folder, or `<instances-dir>/.poller` (`instances poll`).
   */
  pollStates?(): Promise<CheckpointStore>;
  /** The Ecwid API the local runner uses (`--local`), when it published one. */
  ecwidApiBaseUrl?(): Promise<string | undefined>;
  /** The event ledger (`events` commands). */
  ledger?(): Promise<LedgerAccess>;
  /**
   * When the instance was last written (epoch ms: SSM LastModifiedDate, the file's mtime), null when
   * it does not exist: the triage commands compare it with when an event failed.
   */
  instanceChangedAt?(instanceId: string): Promise<number | null | undefined>;
  /** Receiver health records (`instances pause|resume|health`): items of the ledger table. */
  health?(): Promise<HealthStore>;
  /** The stack's notices topic (`NoticeTopicArn`), for the operator's own notices; none locally or without the output. */
  noticeTopic?(): Promise<NoticeTopic | undefined>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function isLoopback(url: string | undefined): boolean {
  if (!url) return false;
  try {
    return LOOPBACK_HOSTS.has(new URL(url).hostname);
  } catch {
    return false;
  }
}

/** The shared ingest route of a base URL: stack outputs may give the API root or the route. */
export function sharedIngestUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith(INGEST_ROUTE) ? trimmed : `${trimmed}${INGEST_ROUTE}`;
}

export function instanceIngestUrl(shared: string, instanceId: string): string {
  return `${sharedIngestUrl(shared)}/${encodeURIComponent(instanceId)}`;
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readLocalState(file: string): Promise<LocalRunnerState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`--local: no local runner state at ${file}; start the runner with "npm start" (or pass --state-file)`);
    }
    throw error;
  }
  let state: LocalRunnerState;
  try {
    state = JSON.parse(text) as LocalRunnerState;
  } catch {
    throw new CliError(`--local: ${file} is not valid JSON`);
  }
  for (const key of ['ingestUrl', 'sqsEndpoint', 'queueUrl', 'deadLetterQueueUrl', 'instancesDir'] as const) {
    if (typeof state[key] !== 'string' || state[key] === '') throw new CliError(`--local: ${file} has no ${key}`);
  }
  if (typeof state.pid === 'number' && !isPidAlive(state.pid)) {
    throw new CliError(`--local: the runner that wrote ${file} (pid ${state.pid}) is not running; start it with "npm start"`);
  }
  return state;
}

export interface ResourceDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Where non-fatal problems go (e.g. a file in the instances folder that is not an instance). */
  readonly warn?: (message: string) => void;
}

/** Builds the lazily resolved resources for one CLI run. */
export function createResources(options: GlobalOptions, deps: ResourceDeps): Resources {
  const { env, cwd } = deps;
  const warn = deps.warn ?? (() => undefined);
  const stateFile = resolve(cwd, options.stateFile ?? LOCAL_STATE_FILE);
  const explicit = Boolean(
    options.sqsEndpoint ||
      options.ssmEndpoint ||
      options.queueUrl ||
      options.dlqUrl ||
      options.ingestUrl ||
      options.ssmPrefix ||
      options.instancesDir ||
      options.dynamodbEndpoint ||
      options.ledgerTable,
  );
  const stackName = options.stack ?? env[STACK_ENV];

  let localState: Promise<LocalRunnerState> | undefined;
  const local = () => (localState ??= readLocalState(stateFile));

  let outputs: Promise<Record<string, string>> | undefined;
  const stackOutputs = (wanted: string): Promise<Record<string, string>> => {
    if (!stackName) {
      throw new CliError(
        `no ${wanted}: pass --stack NAME or --stage STAGE (or set ${STACK_ENV}) for a deployed stack, --local for the local runner, or the explicit option`,
        EXIT.usage,
      );
    }
    return (outputs ??= describeStackOutputs(stackName, region(), env));
  };

  const region = (): string | undefined =>
    options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (isLoopback(options.sqsEndpoint) || isLoopback(options.ssmEndpoint) || isLoopback(options.dynamodbEndpoint) ? 'us-east-1' : undefined);

  /** Emulators accept any credentials; give them dummy ones so no AWS profile is needed. */
  const credentialsFor = (endpoint: string | undefined) =>
    isLoopback(endpoint) && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE ? { accessKeyId: 'local', secretAccessKey: 'local' } : undefined;

  const clientConfig = (endpoint: string | undefined, fallbackRegion?: string) => {
    const credentials = credentialsFor(endpoint);
    const chosenRegion = region() ?? fallbackRegion;
    return {
      ...(chosenRegion ? { region: chosenRegion } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    };
  };

  /** An output value, or undefined when the option/state/stack does not give it. */
  const resolveValue = async (
    explicitValue: string | undefined,
    fromState: ((state: LocalRunnerState) => string) | undefined,
    outputKey: string | undefined,
    what: string,
  ): Promise<string> => {
    if (explicitValue) return explicitValue;
    if (options.local && fromState) return fromState(await local());
    if (outputKey && (!explicit || stackName)) {
      const value = (await stackOutputs(what))[outputKey];
      if (value) return value;
      throw new CliError(`stack ${stackName} has no output ${outputKey} (${what}); is it an ecwid-events stack?`);
    }
    throw new CliError(`no ${what}: pass the option for it, --local, or --stack`, EXIT.usage);
  };

  let queues: Promise<Queues> | undefined;
  let ledger: Promise<LedgerAccess> | undefined;
  let instances: Promise<InstanceRepository> | undefined;
  const clients: Array<{ destroy(): void }> = [];

  /** The SSM prefix of the instances and the poller's state: the option, the default for explicit endpoints, or the stack's. */
  const ssmPrefix = async (): Promise<string> => {
    if (options.ssmPrefix) return options.ssmPrefix;
    if (explicit && !stackName) return DEFAULTS.ssmPrefix;
    return resolveValue(undefined, undefined, STACK_OUTPUTS.ssmPrefix, 'SSM prefix');
  };

  let ssm: SSMClient | undefined;
  const ssmClient = (): SSMClient => {
    if (!ssm) {
      ssm = new SSMClient(clientConfig(options.ssmEndpoint));
      clients.push(ssm);
    }
    return ssm;
  };

  /** The ledger table and a client for it (the ledger and the health records share it). */
  let ledgerTableAccess: Promise<{ tableName: string; client: DynamoDBClient }> | undefined;
  const ledgerTable = () =>
    (ledgerTableAccess ??= (async () => {
      const state = options.local ? await local() : undefined;
      if (options.local && !(state?.dynamodbEndpoint && state.ledgerTableName)) {
        throw new CliError('--local: this runner publishes no ledger (started by an older version?); restart it with "npm start"');
      }
      const tableName = await resolveValue(options.ledgerTable, (s) => s.ledgerTableName ?? '', STACK_OUTPUTS.ledgerTableName, 'ledger table (--ledger-table)');
      const endpoint = options.dynamodbEndpoint ?? env.AWS_ENDPOINT_URL_DYNAMODB ?? state?.dynamodbEndpoint;
      const client = new DynamoDBClient(clientConfig(endpoint, state?.region));
      clients.push(client);
      return { tableName, client };
    })());

  const resources: Resources = {
    describe() {
      if (options.local) return `local runner (${stateFile})`;
      if (explicit && !stackName) return `explicit endpoints${options.sqsEndpoint ? ` (SQS ${options.sqsEndpoint})` : ''}`;
      return `stack ${stackName ?? '(none)'}${region() ? ` in ${region()}` : ''}`;
    },

    close() {
      for (const client of clients.splice(0)) client.destroy();
    },

    async noticeTopic() {
      if (options.local || !stackName) return undefined;
      const topicArn = (await stackOutputs('notices topic'))[STACK_OUTPUTS.noticeTopicArn];
      if (!topicArn) return undefined;
      const sns = new SNSClient(clientConfig(undefined));
      clients.push(sns);
      return new SnsNoticeTopic({ topicArn, client: sns });
    },

    instances() {
      return (instances ??= (async (): Promise<InstanceRepository> => {
        if (options.instancesDir) return new FolderInstanceRepository({ dir: resolve(cwd, options.instancesDir), warn });
        if (options.local) return new FolderInstanceRepository({ dir: (await local()).instancesDir, warn });
        const prefix = await ssmPrefix();
        // A stack with a customer managed key grants its functions kms:Decrypt on that key only:
        // instances written with another key would be unreadable there.
        const kmsKeyId = options.kmsKeyId ?? (stackName && !options.ssmPrefix ? (await stackOutputs('SSM prefix'))[STACK_OUTPUTS.ssmKmsKeyId] : undefined);
        // No cache: the CLI must see what it just wrote.
        const repository = new SsmInstanceRepository({ prefix, client: ssmClient(), maxAgeSeconds: 0, ...(kmsKeyId ? { kmsKeyId } : {}) });
        // A stack with an instance read model: each write is synced into it at once (best effort).
        const tableName = stackName && !options.ssmPrefix ? (await stackOutputs('SSM prefix'))[STACK_OUTPUTS.instanceTableName] : undefined;
        if (!tableName) return repository;
        const ddb = new DynamoDBClient(clientConfig(options.dynamodbEndpoint));
        const kms = new KMSClient(clientConfig(undefined));
        clients.push(ddb, kms);
        const source = new SsmConfigSource({ prefix, client: ssmClient() });
        const model = new DynamoDbReadModelWriter({ tableName, client: ddb, dataKeys: new KmsDataKeys({ client: kms }) });
        return new ReadModelSyncingRepository(repository, { source, model, now: () => Date.now() }, warn);
      })());
    },

    queues() {
      return (queues ??= (async (): Promise<Queues> => {
        const queueUrl = await resolveValue(options.queueUrl, (s) => s.queueUrl, STACK_OUTPUTS.queueUrl, 'queue URL (--queue-url)');
        const deadLetterQueueUrl = await resolveValue(
          options.dlqUrl,
          (s) => s.deadLetterQueueUrl,
          STACK_OUTPUTS.deadLetterQueueUrl,
          'dead-letter queue URL (--dlq-url)',
        );
        const state = options.local ? await local() : undefined;
        const endpoint = options.sqsEndpoint ?? state?.sqsEndpoint;
        const sqs = new SQSClient(clientConfig(endpoint, state?.region));
        clients.push(sqs);
        const emulated = Boolean(state) || isLoopback(endpoint) || isLoopback(queueUrl);
        let arns: Promise<{ queueArn: string; deadLetterQueueArn: string }> | undefined;
        return {
          sqs,
          queueUrl,
          deadLetterQueueUrl,
          emulated,
          arns: () =>
            (arns ??= (async () => {
              const fromStack = stackName && !options.queueUrl && !options.local ? await stackOutputs('queue ARNs') : {};
              const arnOf = async (url: string, output: string) =>
                fromStack[output] ??
                (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn ??
                '';
              return {
                queueArn: await arnOf(queueUrl, STACK_OUTPUTS.queueArn),
                deadLetterQueueArn: await arnOf(deadLetterQueueUrl, STACK_OUTPUTS.deadLetterQueueArn),
              };
            })()),
        };
      })());
    },

    async pollStates() {
      if (options.instancesDir) return new FileCheckpointStore({ dir: join(resolve(cwd, options.instancesDir), '.poller') });
      if (options.local) return new FileCheckpointStore({ dir: (await local()).pollStateDir ?? join(dirname(stateFile), 'poller') });
      return new SsmCheckpointStore({ prefix: await ssmPrefix(), client: ssmClient() });
    },

    ledger() {
      return (ledger ??= (async (): Promise<LedgerAccess> => {
        const { tableName, client } = await ledgerTable();
        return {
          ledger: new DynamoDbLedger({ tableName, client }),
          tickets: async () => {
            const { sqs, queueUrl } = await resources.queues();
            return new SqsEventQueue({ queueUrl, client: sqs });
          },
        };
      })());
    },

    async instanceChangedAt(instanceId) {
      const folder = options.instancesDir ? resolve(cwd, options.instancesDir) : options.local ? (await local()).instancesDir : undefined;
      if (folder) {
        try {
          return (await stat(join(folder, `${instanceId}.json`))).mtimeMs;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw error;
        }
      }
      // Explicit SQS endpoints alone (moto) say nothing about where instances live: unknown.
      if (explicit && !stackName && !options.ssmEndpoint && !options.ssmPrefix) return undefined;
      const [read] = await new SsmConfigSource({ prefix: await ssmPrefix(), client: ssmClient() }).read([instanceId]);
      return read ? read.modifiedAt : null;
    },

    async health() {
      const { tableName, client } = await ledgerTable();
      return new DynamoDbHealthStore({ tableName, client });
    },

    async ecwidApiBaseUrl() {
      return options.local ? (await local()).ecwidApiBaseUrl : undefined;
    },

    async ingestUrl() {
      return sharedIngestUrl(await resolveValue(options.ingestUrl, (s) => s.ingestUrl, STACK_OUTPUTS.ingestUrl, 'ingest URL (--ingest-url)'));
    },

    async callbackPolicy() {
      const policy = callbackUrlPolicyOf(env);
      // The local runner delivers to local receivers over plain http: the same exemption as its deliveries.
      return options.local ? localCallbackUrlPolicy(policy) : policy;
    },

    resolveHost: options.local ? localMachineResolver : systemResolver,
  };
  return resources;
}

async function describeStackOutputs(
  stackName: string,
  region: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Record<string, string>> {
  const endpoint = env.AWS_ENDPOINT_URL_CLOUDFORMATION;
  const client = new CloudFormationClient({ ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) });
  let stacks;
  try {
    stacks = (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks ?? [];
  } catch (error) {
    if (isErrorLike(error) && /does not exist/.test(error.message)) {
      throw new CliError(`stack ${stackName} not found${region ? ` in ${region}` : ''} (check --stack and --region)`);
    }
    throw error;
  } finally {
    client.destroy();
  }
  const outputs: Record<string, string> = {};
  for (const output of stacks[0]?.Outputs ?? []) {
    if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
  }
  return outputs;
}
