import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { ApplicationLogLevel, Architecture, LoggingFormat, Runtime, SystemLogLevel, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** How every function of the relay logs, traces and emits metrics; one value shared by the stack. */
export interface RelayObservability {
  /** Powertools `service` (log field and metrics dimension). Includes the stage so stages never mix. */
  readonly serviceName: string;
  /** CloudWatch namespace of the Powertools (EMF) metrics. */
  readonly metricsNamespace: string;
  /** Minimum level of application logs, for Powertools and for Lambda's log filter alike. */
  readonly logLevel: ApplicationLogLevel;
  readonly logRetention: RetentionDays;
  /** X-Ray active tracing plus the Powertools Tracer. */
  readonly tracing: boolean;
  /**
   * Lambda's own records (START, END, REPORT) are INFO: WARN drops them.
   * @default SystemLogLevel.INFO
   */
  readonly platformLogLevel?: SystemLogLevel;
  /** What happens to the log group when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
}

export interface RelayFunctionProps {
  /** The TypeScript file exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  readonly observability: RelayObservability;
  /** Environment set at creation; resource env vars are added by the owning construct beside their grants. */
  readonly environment?: Record<string, string>;
}

/** The Node.js runtime the bundles target; one constant so runtime and esbuild target agree. */
export const RELAY_RUNTIME = Runtime.NODEJS_22_X;
const ESBUILD_TARGET = 'node22';

/**
 * Packages bundled into a file of their own in the asset (`node_modules/<package>/index.js`,
 * found by the handler's `require` as any package is) rather than into `index.js`: the handlers
 * load them only on a path that is off by default. node parses all of `index.js` on every cold
 * start, code that never runs included: the Powertools Tracer with the X-Ray SDK was ~120 KB of
 * ingest's 236 KB, loaded only with tracing on (functions/adapters/aws/tracing.ts).
 */
export const SEPARATELY_BUNDLED_PACKAGES = ['@aws-lambda-powertools/tracer'] as const;

/**
 * The shell command that bundles `packageName` (minified, the AWS SDK left to the runtime) into the
 * asset, resolved from the project (`inputDir`, where its node_modules are, locally or in Docker).
 */
function separateBundleCommand(packageName: string, inputDir: string, outputDir: string): string {
  const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
  return [
    `cd ${quote(inputDir)} &&`,
    'npx --no-install esbuild',
    quote(packageName),
    '--bundle --platform=node --format=cjs --minify --log-level=warning',
    `--target=${ESBUILD_TARGET}`,
    quote('--external:@aws-sdk/*'),
    quote(`--outfile=${outputDir}/node_modules/${packageName}/index.js`),
  ].join(' ');
}

/**
 * A Lambda function of the relay with the team's defaults: esbuild bundle (local, never Docker),
 * arm64, Node 22, its own log group with retention, JSON logs, Powertools env, optional X-Ray.
 *
 * It gets its own role instead of the default one so that no AWS managed policy is attached
 * (AWSLambdaBasicExecutionRole allows writing to every log group): the role may write only to
 * this function's log group; everything else is granted by the construct that uses the function.
 */
export class RelayFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: Role;
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    super(scope, id);
    const obs = props.observability;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: obs.logRetention,
      removalPolicy: obs.removalPolicy,
    });

    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grants.write(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: RELAY_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      // Lambda drops application logs below this level; Powertools reads the same level (and
      // AWS_LAMBDA_LOG_LEVEL wins over POWERTOOLS_LOG_LEVEL), so the two are set together.
      applicationLogLevelV2: obs.logLevel,
      systemLogLevelV2: obs.platformLogLevel ?? SystemLogLevel.INFO,
      tracing: obs.tracing ? Tracing.ACTIVE : Tracing.DISABLED,
      environment: {
        POWERTOOLS_SERVICE_NAME: obs.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: obs.metricsNamespace,
        POWERTOOLS_LOG_LEVEL: obs.logLevel,
        POWERTOOLS_TRACE_ENABLED: String(obs.tracing),
        // No NODE_OPTIONS=--enable-source-maps: it made every cold start ~40 ms slower (node reads
        // the bundle's map as it loads it; bench/bundles.ts, issue 17). The map still ships beside
        // the bundle: set that variable on a function while debugging to get TypeScript positions.
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.CJS,
        target: ESBUILD_TARGET,
        minify: true,
        sourceMap: true,
        // The original sources would double the bundle; file/line mapping is what we need.
        sourcesContent: false,
        // The Node.js 22 runtime ships AWS SDK v3: keep it out of the bundle.
        externalModules: ['@aws-sdk/*', ...SEPARATELY_BUNDLED_PACKAGES],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir, outputDir) => SEPARATELY_BUNDLED_PACKAGES.map((name) => separateBundleCommand(name, inputDir, outputDir)),
        },
        forceDockerBundling: false,
      },
    });
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose: bundles target node22 and are tested on it; it is a supported Lambda ' +
        'runtime, and moving to a newer one is a deliberate upgrade rather than a side effect of a CDK update.',
    });
    if (obs.tracing) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Active tracing: X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.',
      });
    }
  }
}
