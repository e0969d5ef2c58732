/**
 * Running code the way Lambda runs it with active tracing: the Powertools Tracer switched on (it
 * only turns on in a Lambda environment) and an X-Ray segment as the parent of what the code
 * traces. Nothing is sent anywhere: the root segment is never closed, so it is never emitted.
 */
import type AWSXRayModule from 'aws-xray-sdk-core';

type XRay = typeof AWSXRayModule;
type Traced = AWSXRayModule.Segment | AWSXRayModule.Subsegment;

/** What Lambda sets and the Tracer looks at; `restore()` puts the environment back. */
export function lambdaTracingEnvironment(): { restore(): void } {
  const saved = {
    AWS_EXECUTION_ENV: process.env.AWS_EXECUTION_ENV,
    AWS_LAMBDA_INITIALIZATION_TYPE: process.env.AWS_LAMBDA_INITIALIZATION_TYPE,
    POWERTOOLS_TRACE_ENABLED: process.env.POWERTOOLS_TRACE_ENABLED,
  };
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = 'on-demand';
  delete process.env.POWERTOOLS_TRACE_ENABLED;
  return {
    restore: () => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    },
  };
}

/**
 * Runs `work` with a fresh root segment as the current one (as Lambda's facade segment is).
 * `xray` must be the same module instance the code under test uses (mind jest.isolateModules).
 */
export async function withinSegment<T>(xray: XRay, work: () => Promise<T>): Promise<{ result: T; root: AWSXRayModule.Segment }> {
  const root = new xray.Segment('test-invocation');
  const result = await (xray.getNamespace() as unknown as { runPromise<R>(fn: () => Promise<R>): Promise<R> }).runPromise(() => {
    xray.setSegment(root);
    return work();
  });
  return { result, root };
}

export interface SubsegmentView {
  readonly name: string;
  readonly annotations?: Record<string, string | number | boolean>;
  readonly metadata?: Record<string, Record<string, unknown>>;
  readonly subsegments?: SubsegmentView[];
  readonly end_time?: number;
  readonly in_progress?: boolean;
  readonly fault?: boolean;
  readonly error?: boolean;
  readonly cause?: { exceptions?: Array<{ message?: string; type?: string }> };
  readonly namespace?: string;
  readonly aws?: Record<string, unknown>;
  readonly http?: Record<string, unknown>;
}

/** The trace as X-Ray would receive it (the SDK's own JSON form). */
export function traceJson(root: Traced): string {
  return JSON.stringify(root);
}

/** The root's subsegments as plain data. */
export function subsegmentsOf(root: Traced): SubsegmentView[] {
  return (JSON.parse(traceJson(root)) as SubsegmentView).subsegments ?? [];
}

/** Every subsegment of the tree, depth first. */
export function allSubsegments(views: readonly SubsegmentView[]): SubsegmentView[] {
  return views.flatMap((view) => [view, ...allSubsegments(view.subsegments ?? [])]);
}
