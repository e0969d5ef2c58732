/**
 * Small factories for test data: instance documents, queued events and API Gateway v2 events.
 * Each returns a fresh, valid object; pass overrides for what the test is about.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { QueuedEvent } from '../../functions/core/event';
import { CONFIG_KEYS, type ConfigValue, type InstanceDocument } from '../../functions/core/instance';

export const FIXTURES_DIR = join(__dirname, '..', 'fixtures');

/** A fixture file's text (test/fixtures only). */
export const fixtureText = (name: string): string => readFileSync(join(FIXTURES_DIR, name), 'utf8');
/** A JSON fixture, parsed. */
export const fixtureJson = <T = Record<string, unknown>>(name: string): T => JSON.parse(fixtureText(name)) as T;

export interface InstanceDocumentOptions {
  readonly storeId?: string;
  readonly callbackUrl?: string;
  readonly enabled?: boolean | string;
  /** The Ecwid app client_secret (verifies X-Ecwid-Webhook-Signature). */
  readonly clientSecret?: string;
  readonly name?: string;
  readonly tags?: readonly string[];
  /** Any other configuration keys (they win over the options above). */
  readonly configuration?: Readonly<Record<string, ConfigValue>>;
}

/** An instance document shaped like the Open Connectors instance JSON (docs/instances.md, "The instance document"). */
export function instanceDocument(opts: InstanceDocumentOptions = {}): InstanceDocument {
  const configuration: Record<string, ConfigValue> = {
    [CONFIG_KEYS.orderKey]: 'test-order-key',
    [CONFIG_KEYS.productKey]: 'test-product-key',
    [CONFIG_KEYS.storeId]: opts.storeId ?? '1003',
    [CONFIG_KEYS.enabled]: opts.enabled ?? 'true',
    [CONFIG_KEYS.callbackUrl]: opts.callbackUrl ?? 'https://callback.example.com/ecwid',
    ...(opts.clientSecret === undefined ? {} : { [CONFIG_KEYS.clientSecret]: opts.clientSecret }),
    ...opts.configuration,
  };
  return {
    element: { key: 'ecwid' },
    configuration,
    tags: [...(opts.tags ?? ['test'])],
    name: opts.name ?? 'test instance',
  };
}

/** A valid queued event (a webhook order.updated by default). */
export function queuedEvent(overrides: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    v: 1,
    eventId: 'evt-1',
    instanceId: 'shop-a',
    storeId: '1003',
    source: 'webhook',
    ecwidEventType: 'order.updated',
    objectType: 'orders',
    objectId: 'XJ12H',
    eventType: 'UPDATED',
    occurredAt: '2024-01-01T00:00:00.000Z',
    receivedAt: '2024-01-01T00:00:01.000Z',
    verified: true,
    raw: { eventId: 'evt-1', storeId: 1003, entityId: 103878161, eventType: 'order.updated', data: { orderId: 'XJ12H' } },
    ...overrides,
  };
}

/** `X-Ecwid-Webhook-Signature` computed here from the documented formula (an independent oracle). */
export function ecwidSignatureFor(clientSecret: string, eventCreated: number | string, eventId: string): string {
  return createHmac('sha256', clientSecret).update(`${eventCreated}.${eventId}`).digest('base64');
}

export interface ApiGatewayEventOptions {
  /** `{instanceId}` of `/events/ecwid/{instanceId}`; omitted = the shared route `/events/ecwid`. */
  readonly instanceId?: string;
  readonly method?: string;
  readonly body?: string;
  /** Extra headers (lower-case names, as API Gateway v2 passes them). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  /** Send the body base64-encoded, as API Gateway does for binary content types. */
  readonly base64?: boolean;
  readonly requestId?: string;
}

/** An HTTP API (payload format 2.0) event for the ingest routes. */
export function apiGatewayEvent(opts: ApiGatewayEventOptions = {}): APIGatewayProxyEventV2 {
  const method = opts.method ?? 'POST';
  const routePath = opts.instanceId === undefined ? '/events/ecwid' : '/events/ecwid/{instanceId}';
  const rawPath = opts.instanceId === undefined ? '/events/ecwid' : `/events/ecwid/${encodeURIComponent(opts.instanceId)}`;
  const rawQueryString = new URLSearchParams(opts.query ?? {}).toString();
  const body = opts.body ?? '';
  return {
    version: '2.0',
    routeKey: `POST ${routePath}`,
    rawPath,
    rawQueryString,
    ...(opts.query ? { queryStringParameters: { ...opts.query } } : {}),
    headers: { 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Ecwid-Test', ...opts.headers },
    ...(opts.instanceId === undefined ? {} : { pathParameters: { instanceId: opts.instanceId } }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'test-api',
      domainName: 'test-api.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'test-api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'Ecwid-Test' },
      requestId: opts.requestId ?? 'req-1',
      routeKey: `POST ${routePath}`,
      stage: '$default',
      time: '01/Jan/2024:00:00:00 +0000',
      timeEpoch: 1704067200000,
    },
    body: opts.base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: opts.base64 ?? false,
  };
}

/** A modern webhook POST: JSON body, `?eventtype=`, and a signature made with `clientSecret`. */
export function webhookEvent(
  payload: { eventId: string; eventCreated: number; eventType: string } & Record<string, unknown>,
  opts: { clientSecret: string; instanceId?: string; signature?: string | null },
): APIGatewayProxyEventV2 {
  const signature =
    opts.signature === undefined ? ecwidSignatureFor(opts.clientSecret, payload.eventCreated, payload.eventId) : opts.signature;
  return apiGatewayEvent({
    instanceId: opts.instanceId,
    body: JSON.stringify(payload),
    query: { eventtype: payload.eventType },
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      ...(signature === null ? {} : { 'x-ecwid-webhook-signature': signature }),
    },
  });
}

/** A legacy ION form POST. */
export function ionEvent(fields: Readonly<Record<string, string>>, opts: { instanceId?: string } = {}): APIGatewayProxyEventV2 {
  return apiGatewayEvent({
    instanceId: opts.instanceId,
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}
