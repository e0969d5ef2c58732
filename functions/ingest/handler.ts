import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { givenOrCreatedPowertools, logsDebug, type HandlerLogger, type HandlerMetrics } from '../adapters/aws/powertools';
import { invocationSegmentName, traced, type Tracer } from '../adapters/aws/tracing';
import { FALLBACK_POWERTOOLS } from '../config';
import { INGEST_METRICS } from '../contract';
import { ingest, type IngestRequest } from '../core/ingest';
import type { Clock, EventQueue, InstanceLookup, Telemetry } from '../core/ports';
import type { Ledger, LedgerTiming } from '../core/ledger';
import type { SightingLog } from '../core/sightings';

/**
 * Ingest Lambda (API Gateway HTTP API, payload v2): adapts the event to core/ingest.ts and
 * the result back. All decisions are in the core; this file only decodes. A factory with no
 * side effects on import: the Lambda entry (index.ts) and the local runner give it its dependencies.
 */

export interface IngestHandlerDeps {
  readonly instances: InstanceLookup;
  readonly queue: EventQueue;
  /**
   * Webhook sightings of instances in reconciliation mode (see core/ingest.ts).
   * @default none: nothing is recorded
   */
  readonly sightings?: SightingLog;
  /** @default () => new Date() */
  readonly clock?: Clock;
  /** @default a Powertools Logger of FALLBACK_POWERTOOLS.ingest */
  readonly logger?: HandlerLogger;
  /** @default a Powertools Metrics of FALLBACK_POWERTOOLS.ingest (EMF to stdout) */
  readonly metrics?: HandlerMetrics;
  /** @default DEFAULTS.maxBodyBytes */
  readonly maxBodyBytes?: number;
  /**
   * The event ledger (see core/ingest.ts): durable dedupe and resumed fan-outs.
   * @default none: events are queued without a record
   */
  readonly ledger?: Ledger;
  /** @default DEFAULT_LEDGER_TIMING */
  readonly ledgerTiming?: LedgerTiming;
  /** The webhook freshness window in seconds (core/ingest.ts). @default none */
  readonly webhookMaxAgeSeconds?: number;
  /** @default a Tracer (X-Ray; off outside Lambda and when POWERTOOLS_TRACE_ENABLED=false) */
  readonly tracer?: Tracer;
}

export type IngestHandler = (
  event: APIGatewayProxyEventV2,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

export function createIngestHandler(deps: IngestHandlerDeps): IngestHandler {
  const { logger: log, metrics: meter, tracer: trace } = givenOrCreatedPowertools(deps, FALLBACK_POWERTOOLS.ingest);
  const clock = deps.clock ?? (() => new Date());
  // The Lambda's handler name does not change while it runs.
  const segmentName = invocationSegmentName();

  return (event, context) => traced(trace, segmentName, async (span) => {
    if (context) log.addContext?.(context);
    // Per-invocation keys go on each line (never appendKeys), so nothing leaks into the next request.
    const requestId = event.requestContext?.requestId;
    const debug = logsDebug(log);
    const telemetry: Telemetry = {
      log: (level, message, attributes) => {
        if (level !== 'debug' || debug) log[level]?.(message, { requestId, ...attributes });
      },
      count: (metric, value = 1) => meter.addMetric(metric, MetricUnit.Count, value),
    };
    try {
      const result = await ingest(toIngestRequest(event), {
        instances: deps.instances,
        queue: deps.queue,
        clock,
        telemetry,
        sightings: deps.sightings,
        maxBodyBytes: deps.maxBodyBytes,
        ledger: deps.ledger,
        ledgerTiming: deps.ledgerTiming,
        webhookMaxAgeSeconds: deps.webhookMaxAgeSeconds,
      });
      span.annotate('httpStatus', result.status);
      if ('eventId' in result.body) {
        // Ids only (high cardinality: metadata, not annotations).
        const { eventId, queued } = result.body;
        span.metadata('ingest', { requestId, eventId, queued });
      }
      return jsonResponse(result.status, result.body, result.headers);
    } catch (error) {
      // Only a bug gets here; 500 makes Ecwid retry, and the message stays in the log.
      log.error('ingest failed unexpectedly', { requestId, error: error instanceof Error ? error.stack : String(error) });
      meter.addMetric(INGEST_METRICS.unexpectedError, MetricUnit.Count, 1);
      span.annotate('httpStatus', 500);
      span.error(error);
      return jsonResponse(500, { error: 'internal error' });
    } finally {
      meter.publishStoredMetrics();
    }
  }, { invocation: true });
}

/** API Gateway v2 event -> IngestRequest: base64 undone, path parameter taken when routed. */
export function toIngestRequest(event: APIGatewayProxyEventV2): IngestRequest {
  const body = event.body ?? '';
  return {
    method: event.requestContext?.http?.method ?? '',
    path: event.rawPath ?? '',
    instanceId: event.pathParameters?.instanceId,
    headers: event.headers ?? {},
    body: event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
  };
}

function jsonResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
