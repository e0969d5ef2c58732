/**
 * Small factories for ingest's inputs (the instance store, queue and telemetry fakes are
 * testkit/ports.ts). Shared by test/core and test/ingest; not a test file itself.
 */
import type { IngestRequest } from '../../functions/core/ingest';
import { CONFIG_KEYS, type ConfigValue, type Instance } from '../../functions/core/instance';
import { signatureOf } from '../../testkit/events';


export const FIXED_NOW = new Date('2024-03-01T12:00:00.000Z');
export const fixedClock = (): Date => FIXED_NOW;

/** Obviously fake secrets, distinctive enough to search for in logs and bodies. */
export const SECRET_A = 'client-secret-A-7f3e9c1d';
export const SECRET_B = 'client-secret-B-0a5b2e8f';

export interface InstanceOptions {
  readonly storeId?: string;
  readonly clientSecret?: string;
  readonly enabled?: ConfigValue;
  readonly extra?: Record<string, ConfigValue>;
}

export function makeInstance(id: string, opts: InstanceOptions = {}): Instance {
  const configuration: Record<string, ConfigValue> = {
    [CONFIG_KEYS.storeId]: opts.storeId ?? '1003',
    [CONFIG_KEYS.orderKey]: `order-key-of-${id}`,
    [CONFIG_KEYS.callbackUrl]: `https://example.com/hooks/${id}`,
    [CONFIG_KEYS.enabled]: opts.enabled ?? 'true',
    ...opts.extra,
  };
  if (opts.clientSecret !== undefined) configuration[CONFIG_KEYS.clientSecret] = opts.clientSecret;
  return { id, document: { element: { key: 'ecwid' }, configuration, name: `Instance ${id}` } };
}

export interface RequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly instanceId?: string;
  readonly headers?: Record<string, string | undefined>;
}

/** A JSON webhook request signed with `secret` (null: unsigned), unless headers override it. */
export function webhookRequest(
  body: Record<string, unknown> | string,
  secret: string | null = SECRET_A,
  opts: RequestOptions = {},
): IngestRequest {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const signature = typeof body === 'string' || secret === null ? undefined : signatureOf(body, secret);
  return {
    method: opts.method ?? 'POST',
    path: opts.path ?? (opts.instanceId ? `/events/ecwid/${opts.instanceId}` : '/events/ecwid'),
    instanceId: opts.instanceId,
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      ...(signature ? { 'x-ecwid-webhook-signature': signature } : {}),
      ...opts.headers,
    },
    body: Buffer.from(text, 'utf8'),
  };
}

/** An ION form post (the body is form-encoded already). */
export function ionRequest(form: string, opts: RequestOptions = {}): IngestRequest {
  return {
    method: opts.method ?? 'POST',
    path: opts.path ?? (opts.instanceId ? `/events/ecwid/${opts.instanceId}` : '/events/ecwid'),
    instanceId: opts.instanceId,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers },
    body: Buffer.from(form, 'utf8'),
  };
}
