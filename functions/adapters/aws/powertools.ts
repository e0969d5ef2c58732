import { Logger, LogLevelThreshold } from '@aws-lambda-powertools/logger';
import { Metrics, type MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { PowertoolsConfig } from '../../config';
import { createTracer, type Tracer } from './tracing';

/** The part of a Powertools Logger the handlers use; a Logger fits, so does a small fake. */
export interface HandlerLogger {
  /** Optional: a logger without it drops the per-event lines. */
  debug?(message: string, attributes: Record<string, unknown>): void;
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
  addContext?(context: Context): void;
  /** Powertools' threshold of the level in effect (DEBUG is 8). A logger without it is given every line. */
  readonly level?: number;
}

/**
 * Whether DEBUG lines are printed now (read once per invocation: the level may change per
 * invocation). When not, a handler skips its per-event DEBUG lines before Powertools sees them,
 * so they cost nothing at INFO: Logger.debug itself reads the environment twice per call.
 */
export const logsDebug = (logger: HandlerLogger): boolean => logger.level === undefined || logger.level <= LogLevelThreshold.DEBUG;

/** The part of Powertools Metrics the handlers use; a Metrics fits, so does a small fake. */
export interface HandlerMetrics {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
}

export interface HandlerPowertools {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/**
 * The Powertools utilities of one handler, built once by its composition root (`index.ts`) or,
 * when a handler factory is given none, by the factory. Levels and switches
 * (POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_DISABLED, POWERTOOLS_TRACE_ENABLED) stay Powertools' own.
 */
export function createPowertools(config: PowertoolsConfig): HandlerPowertools {
  const { serviceName, metricsNamespace } = config;
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: metricsNamespace, serviceName }),
    tracer: createTracer(serviceName),
  };
}

/**
 * The utilities a handler factory was given, the missing ones built from `fallback` (a factory
 * called without them: tests, benches). The Lambda entries always give all three.
 */
export function givenOrCreatedPowertools(
  given: { readonly logger?: HandlerLogger; readonly metrics?: HandlerMetrics; readonly tracer?: Tracer },
  fallback: PowertoolsConfig,
): { logger: HandlerLogger; metrics: HandlerMetrics; tracer: Tracer } {
  const { logger, metrics, tracer } = given;
  if (logger && metrics && tracer) return { logger, metrics, tracer };
  const created = createPowertools(fallback);
  return { logger: logger ?? created.logger, metrics: metrics ?? created.metrics, tracer: tracer ?? created.tracer };
}
