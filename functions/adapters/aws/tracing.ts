/**
 * X-Ray tracing through the Powertools Tracer, in the two shapes the handlers need: one
 * subsegment per invocation (what `@tracer.captureLambdaHandler()` does for a class method, for a
 * plain function handler) and one per unit of work inside it (a deliver record, possibly running
 * beside others). Both go through `tracer.provider.captureAsyncFunc` (Powertools' documented
 * escape hatch to the X-Ray SDK), which gives each subsegment its own async context: work that
 * runs in parallel, and the AWS SDK calls it makes, nest under the right parent.
 *
 * Off outside Lambda (no AWS_EXECUTION_ENV) and when POWERTOOLS_TRACE_ENABLED=false (the stack's
 * `tracing` prop): then `traced` only runs the work, and the Tracer is not even loaded. Loading it
 * loads the X-Ray SDK, which costs a cold start ~17-25 ms (npm run bench, tracing on vs off) and turns on async hooks for
 * every promise; a function with tracing off, the local runner and the tests pay none of that.
 *
 * What may go into a trace: ids (event, instance, message), counts, outcomes and the errors the
 * relay already logs (redacted at the source). Never an instance configuration, a URL or a header.
 * The handlers' answers are not recorded either (unlike captureLambdaHandler's default).
 */
import type { Tracer as PowertoolsTracer } from '@aws-lambda-powertools/tracer';
import type { Subsegment } from 'aws-xray-sdk-core';

/** What the relay uses of a Powertools Tracer (a Tracer fits; so does the stand-in used when tracing is off). */
export type Tracer = Pick<
  PowertoolsTracer,
  'isTracingEnabled' | 'captureAWSv3Client' | 'annotateColdStart' | 'addServiceNameAnnotation' | 'addErrorAsMetadata' | 'provider'
>;

/**
 * The module-scope tracer of a handler. HTTP(S) and fetch are never patched, whatever
 * POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS says: the legacy Ecwid Order API carries the store's
 * key in the query string and a callback URL may carry a token, and X-Ray would record both URLs.
 * AWS SDK clients are traced one by one with `tracer.captureAWSv3Client(client)`.
 */
export function createTracer(serviceName: string): Tracer {
  if (!mayTrace()) return TRACING_OFF;
  // Loaded here, not imported, so that nothing loads it when tracing is off. In Lambda it is not
  // even parsed then: the asset ships it beside index.js, as a package of its own (SEPARATELY_BUNDLED_PACKAGES).
  const { Tracer: PowertoolsTracerClass } = require('@aws-lambda-powertools/tracer') as typeof import('@aws-lambda-powertools/tracer');
  const tracer = new PowertoolsTracerClass({ serviceName, captureHTTPsRequests: false });
  METADATA_NAMESPACES.set(tracer, serviceName);
  return tracer;
}

/**
 * False when the Powertools Tracer would certainly disable itself (its own rules): tracing
 * switched off, or not running in Lambda. Anything else is left to the Tracer to decide.
 */
function mayTrace(): boolean {
  return process.env.POWERTOOLS_TRACE_ENABLED?.toLowerCase() !== 'false' && Boolean(process.env.AWS_EXECUTION_ENV);
}

/** The tracer when tracing is off: nothing traced, clients returned as they are. */
export const TRACING_OFF: Tracer = {
  isTracingEnabled: () => false,
  captureAWSv3Client: <T>(client: T): T => client,
  annotateColdStart: () => undefined,
  addServiceNameAnnotation: () => undefined,
  addErrorAsMetadata: () => undefined,
  get provider(): PowertoolsTracer['provider'] {
    throw new Error('tracing is off: there is no X-Ray provider');
  },
};

/** Powertools files metadata under the service name; the Tracer keeps it private. */
const METADATA_NAMESPACES = new WeakMap<Tracer, string>();

/** The subsegment the work runs in, as far as the handlers write to it. */
export interface TraceSpan {
  /** Indexed, for filter expressions: outcomes and statuses, never high-cardinality ids. */
  annotate(key: string, value: string | number | boolean): void;
  /** Not indexed, under the service's namespace: ids and counts; never a secret. */
  metadata(key: string, value: unknown): void;
  /** Marks the subsegment as failed with this error (for errors the work handles itself). */
  error(error: unknown): void;
  /** False when nothing is recorded: skip work that only feeds the trace. */
  readonly recording: boolean;
}

const NO_SPAN: TraceSpan = { annotate: () => undefined, metadata: () => undefined, error: () => undefined, recording: false };

export interface TracedOptions {
  /** The invocation's own subsegment: adds Powertools' ColdStart and Service annotations. */
  readonly invocation?: boolean;
}

/**
 * Runs `work` in a new subsegment named `name` and closes it; an error is recorded on it and
 * rethrown. With tracing off (or no segment to attach to), only runs `work`.
 */
export async function traced<T>(
  tracer: Tracer,
  name: string,
  work: (span: TraceSpan) => Promise<T>,
  options: TracedOptions = {},
): Promise<T> {
  if (!tracer.isTracingEnabled()) return work(NO_SPAN);
  return (await tracer.provider.captureAsyncFunc(name, async (subsegment?: Subsegment) => {
    if (!subsegment) return work(NO_SPAN);
    if (options.invocation) {
      tracer.annotateColdStart();
      tracer.addServiceNameAnnotation();
    }
    const span: TraceSpan = {
      annotate: (key, value) => subsegment.addAnnotation(key, value),
      metadata: (key, value) => subsegment.addMetadata(key, value, METADATA_NAMESPACES.get(tracer) ?? 'default'),
      // Through the Tracer so that POWERTOOLS_TRACER_CAPTURE_ERROR=false is honoured.
      error: (error) => tracer.addErrorAsMetadata(error instanceof Error ? error : new Error(String(error))),
      recording: true,
    };
    try {
      return await work(span);
    } catch (error) {
      span.error(error);
      throw error;
    } finally {
      try {
        subsegment.close();
      } catch {
        // A subsegment that cannot be serialized must not fail the invocation.
      }
    }
  })) as T;
}

/** Powertools' name for an invocation's subsegment (`## index.handler` in Lambda). */
export function invocationSegmentName(): string {
  return `## ${process.env._HANDLER || 'handler'}`;
}
