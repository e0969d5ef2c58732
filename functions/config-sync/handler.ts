/**
 * Config-sync Lambda: keeps the instance read model in step with Parameter Store.
 * - an EventBridge "Parameter Store Change" event for `<prefix>/instances/<id>` (the CLI's writes
 *   and console edits alike) syncs that one instance, within seconds of the change;
 * - the scheduled event (and `{ "action": "reconcile" }`, for an operator) reconciles everything,
 *   which repairs whatever a lost event left behind (AWS delivers service events best effort);
 * - `{ "instanceIds": [...] }` syncs those instances (an operator, or a script after a bulk change).
 * A failure throws: Lambda retries the asynchronous invocation, and the next reconcile repairs the rest.
 * This file only adapts; the decisions are in core/config-sync.ts. No side effects on import.
 */
import type { Context } from 'aws-lambda';
import { CONFIG_SYNC_METRICS } from '../contract';
import { reconcile, syncInstances, type ConfigSyncDeps, type ReconcileResult, type SyncResult } from '../core/config-sync';


export interface ConfigSyncLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
  addContext?(context: Context): void;
}
export interface ConfigSyncMetrics {
  addMetric(name: string, unit: 'Count', value: number): unknown;
  publishStoredMetrics(): unknown;
}

export interface ConfigSyncHandlerDeps extends ConfigSyncDeps {
  /** The instance id a parameter name stands for (undefined: not an instance parameter). */
  readonly instanceIdOf: (parameterName: string) => string | undefined;
  readonly logger: ConfigSyncLogger;
  readonly metrics: ConfigSyncMetrics;
}

export type ConfigSyncOutcome =
  | ({ readonly kind: 'reconcile' } & ReconcileResult)
  | ({ readonly kind: 'sync' } & SyncResult)
  | { readonly kind: 'ignored'; readonly reason: string };

export type ConfigSyncHandler = (event: unknown, context?: Context) => Promise<ConfigSyncOutcome>;

/** What the handler was asked to do, from the shape of the event. */
export type ConfigSyncRequest =
  | { readonly kind: 'reconcile' }
  | { readonly kind: 'sync'; readonly instanceIds: string[] }
  | { readonly kind: 'ignored'; readonly reason: string };

export function createConfigSyncHandler(deps: ConfigSyncHandlerDeps): ConfigSyncHandler {
  const { logger, metrics } = deps;
  const count = (name: string, value: number) => {
    if (value > 0) metrics.addMetric(name, 'Count', value);
  };
  return async (event, context) => {
    if (context) logger.addContext?.(context);
    try {
      const request = configSyncRequestOf(event, deps.instanceIdOf);
      if (request.kind === 'ignored') {
        logger.warn('config sync: event ignored', { reason: request.reason });
        return request;
      }
      const result = request.kind === 'reconcile' ? await reconcile(deps) : await syncInstances(request.instanceIds, deps);
      count(CONFIG_SYNC_METRICS.written, result.written.length);
      count(CONFIG_SYNC_METRICS.removed, result.removed.length);
      count(CONFIG_SYNC_METRICS.invalid, result.invalid.length);
      if (request.kind === 'reconcile') count(CONFIG_SYNC_METRICS.drift, result.written.length + result.removed.length);
      for (const { instanceId, reason } of result.invalid) {
        logger.error('config sync: the instance document in Parameter Store is invalid; the read model keeps the last good version', {
          instanceId,
          reason,
        });
      }
      // Ids only: the documents hold secrets.
      logger.info(`config sync: ${request.kind} done`, {
        written: result.written,
        removed: result.removed,
        unchanged: result.unchanged.length,
        ...(isReconcile(result) ? { sourceCount: result.sourceCount, modelCount: result.modelCount } : {}),
      });
      return { kind: request.kind, ...result } as ConfigSyncOutcome;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

const isReconcile = (result: SyncResult | ReconcileResult): result is ReconcileResult => 'sourceCount' in result;

/** Reads the event: a Parameter Store change, the schedule, or an operator's request. */
export function configSyncRequestOf(event: unknown, instanceIdOf: (name: string) => string | undefined): ConfigSyncRequest {
  if (typeof event !== 'object' || event === null) return { kind: 'ignored', reason: 'the event is not an object' };
  const record = event as Record<string, unknown>;
  const detailType = record['detail-type'];
  if (detailType === 'Scheduled Event' || record.action === 'reconcile') return { kind: 'reconcile' };
  if (detailType === 'Parameter Store Change') {
    const detail = record.detail as Record<string, unknown> | undefined;
    const name = typeof detail?.name === 'string' ? detail.name : '';
    const instanceId = instanceIdOf(name);
    if (!instanceId) return { kind: 'ignored', reason: `parameter ${JSON.stringify(name.slice(0, 300))} is not an instance config` };
    return { kind: 'sync', instanceIds: [instanceId] };
  }
  if (Array.isArray(record.instanceIds) && record.instanceIds.every((id) => typeof id === 'string')) {
    return { kind: 'sync', instanceIds: record.instanceIds as string[] };
  }
  return { kind: 'ignored', reason: 'not a Parameter Store change, a scheduled event or a request this function knows' };
}
