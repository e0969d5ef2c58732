import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DEFAULTS } from '../../contract';
import { createTracer, type Tracer } from './tracing';

/**
 * The module-scope Powertools utilities of one handler. The stack sets POWERTOOLS_SERVICE_NAME and
 * POWERTOOLS_METRICS_NAMESPACE; the fallbacks serve local runs and tests.
 */
export function handlerPowertools(fallbackServiceName: string): { logger: Logger; metrics: Metrics; tracer: Tracer } {
  const serviceName = process.env.POWERTOOLS_SERVICE_NAME || fallbackServiceName;
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULTS.metricsNamespace, serviceName }),
    tracer: createTracer(serviceName),
  };
}
