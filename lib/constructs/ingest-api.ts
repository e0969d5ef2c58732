import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV, INGEST_ROUTE, INSTANCE_INGEST_ROUTE } from '../../functions/contract';
import { acknowledgeQueueKeyGrant } from './event-queue';
import { InstanceConfigAccess } from './instance-config-access';
import { RelayFunction, RelayObservability } from './relay-function';

const INGEST_ENTRY = path.join(__dirname, '..', '..', 'functions', 'ingest', 'index.ts');

export interface IngestApiProps {
  /** The FIFO queue accepted events go to. */
  readonly queue: IQueue;
  /** Where the instance configs are and how to read them. */
  readonly instanceConfig: InstanceConfigAccess;
  /** How long the function keeps an instance config before reading it again. */
  readonly configCache: Duration;
  /** Webhooks created longer ago than this are not queued (core/ingest.ts, freshness). */
  readonly webhookMaxAge: Duration;
  /** Steady-state requests per second the API accepts (over that: HTTP 429, and Ecwid retries). */
  readonly throttlingRateLimit: number;
  /** Requests the API accepts in a burst. */
  readonly throttlingBurstLimit: number;
  /**
   * Concurrency reserved for the ingest function (and its cap: beyond it API Gateway answers 5xx
   * and Ecwid retries).
   *
   * @default - none: the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
  readonly observability: RelayObservability;
  /**
   * What happens to the access log group when the stack is deleted.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The ingest function's entry (a TypeScript file exporting `handler`).
   *
   * @default functions/ingest/index.ts (the Lambda entry; the handler factory is handler.ts)
   */
  readonly entry?: string;
}

/**
 * The public edge: an HTTP API with the two Ecwid routes, a throttled `$default` stage with
 * JSON access logs, and the ingest function that validates, normalizes and enqueues each event
 * before answering Ecwid (Ecwid waits 10 s, so the function gets 8).
 */
export class IngestApi extends Construct {
  public readonly api: HttpApi;
  public readonly stage: HttpStage;
  public readonly function: NodejsFunction;
  /** The ingest function's own log group. */
  public readonly functionLogGroup: LogGroup;
  public readonly accessLogGroup: LogGroup;
  /** The full URL to register in Ecwid: `https://<api>.execute-api.<region>.amazonaws.com/events/ecwid`. */
  public readonly ingestUrl: string;

  constructor(scope: Construct, id: string, props: IngestApiProps) {
    super(scope, id);
    validateThrottling(props.throttlingRateLimit, props.throttlingBurstLimit);

    const ingest = new RelayFunction(this, 'Ingest', {
      entry: props.entry ?? INGEST_ENTRY,
      description: 'Ecwid events: validates and normalizes a notification, enqueues it, answers Ecwid',
      timeout: Duration.seconds(8),
      // Cold starts happen while Ecwid waits; more memory is more CPU for the init.
      memorySize: 512,
      observability: props.observability,
    });
    this.function = ingest.function;
    this.functionLogGroup = ingest.logGroup;
    if (props.reservedConcurrency !== undefined) {
      if (!Number.isInteger(props.reservedConcurrency) || props.reservedConcurrency < 1) {
        throw new Error(`ingestReservedConcurrency must be a positive integer, got ${props.reservedConcurrency}`);
      }
      (this.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions = props.reservedConcurrency;
    }

    this.function.addEnvironment(ENV.queueUrl, props.queue.queueUrl);
    props.queue.grantSendMessages(this.function);
    acknowledgeQueueKeyGrant(props.queue, ingest);

    this.function.addEnvironment(ENV.ssmPrefix, props.instanceConfig.ssmPrefix);
    this.function.addEnvironment(ENV.configCacheSeconds, String(props.configCache.toSeconds()));
    this.function.addEnvironment(ENV.webhookMaxAgeSeconds, String(props.webhookMaxAge.toSeconds()));
    props.instanceConfig.grantRead(this.function, ingest);

    this.api = new HttpApi(this, 'Api', {
      apiName: `${Stack.of(this).stackName}-ingest`,
      description: 'Receives Ecwid event notifications (ION form posts and signed webhooks)',
      // The stage is created below: the default one cannot be throttled or logged.
      createDefaultStage: false,
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: props.observability.logRetention,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      autoDeploy: true,
      throttle: { rateLimit: props.throttlingRateLimit, burstLimit: props.throttlingBurstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const integration = new HttpLambdaIntegration('Ingest', this.function);
    for (const routePath of [INGEST_ROUTE, INSTANCE_INGEST_ROUTE]) {
      const [route] = this.api.addRoutes({ path: routePath, methods: [HttpMethod.POST], integration });
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'Ecwid cannot send credentials: webhooks are authenticated in the function by their HMAC signature ' +
          '(X-Ecwid-Webhook-Signature), legacy ION posts are verified by fetching the order from the Ecwid API.',
      });
    }

    // The `$default` stage's URL is the API root and ends with "/".
    this.ingestUrl = `${this.stage.url}${INGEST_ROUTE.slice(1)}`;
  }
}

function validateThrottling(rate: number, burst: number): void {
  if (!(rate > 0) || !Number.isFinite(rate)) throw new Error(`throttlingRateLimit must be a positive number, got ${rate}`);
  if (!Number.isInteger(burst) || burst < 1) throw new Error(`throttlingBurstLimit must be a positive integer, got ${burst}`);
}

/**
 * One JSON object per request; HTTP API `$context` variables only. No body, no headers: nothing
 * secret. Every byte is paid once per event ($0.50 per GB ingested: ~$0.04 per million events for
 * 87 bytes), so no field repeats what the log event already has: not `requestTime` (each log event
 * carries its timestamp), `protocol` or `responseLength` (Ecwid's answers are a few bytes).
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  error: '$context.error.message',
} as const;
