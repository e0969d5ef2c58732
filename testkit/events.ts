/**
 * Builders for what the functions receive: API Gateway HTTP API (payload 2.0) events for ION form
 * posts and signed webhooks, SQS records, queued events, webhook bodies. Each returns a fresh,
 * valid object; pass overrides for what the caller is about.
 */
import { createHash, createHmac } from 'node:crypto';
import type { APIGatewayProxyEventV2, SQSRecord } from 'aws-lambda';
import type { QueuedEvent } from '../functions/core/event';
import { fixtureJson } from './fixtures';

export const TEST_ACCOUNT = '123456789012';
export const TEST_REGION = 'eu-west-1';
export const TEST_QUEUE_ARN = `arn:aws:sqs:${TEST_REGION}:${TEST_ACCOUNT}:events.fifo`;

/** The Content-Type Ecwid sends with a webhook (test/fixtures/modern-webhook-request-headers.http). */
export const ECWID_WEBHOOK_CONTENT_TYPE = 'application/json; charset=UTF-8';

/** `X-Ecwid-Webhook-Signature` computed here from the documented formula (an oracle independent of the code under test). */
export function ecwidSignatureFor(clientSecret: string, eventCreated: number | string, eventId: string): string {
  return createHmac('sha256', clientSecret).update(`${eventCreated}.${eventId}`).digest('base64');
}

/** The signature Ecwid puts on a webhook body (its eventCreated and eventId) with `clientSecret`. */
export const signatureOf = (body: Record<string, unknown>, clientSecret: string): string =>
  ecwidSignatureFor(clientSecret, body.eventCreated as number, body.eventId as string);

/**
 * A webhook body: a modern fixture (order.updated by default) with `overrides` applied; an
 * override of `undefined` removes the field.
 */
export function webhookBody(overrides: Record<string, unknown> = {}, fixture = 'modern-order-updated.json'): Record<string, unknown> {
  const body: Record<string, unknown> = { ...fixtureJson(fixture), ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete body[key];
  return body;
}

export interface ApiGatewayEventOptions {
  /** `{instanceId}` of `/events/ecwid/{instanceId}`; omitted = the shared route `/events/ecwid`. */
  readonly instanceId?: string;
  readonly method?: string;
  /** A path other than the route's (a request API Gateway would not route there). */
  readonly rawPath?: string;
  /** Extra headers (lower-case names, as API Gateway v2 passes them); they win over the defaults. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  /** Send the body base64-encoded, as API Gateway does for binary content types. */
  readonly base64?: boolean;
  readonly requestId?: string;
}

/** An HTTP API (payload format 2.0) event for the ingest routes; `body` undefined = no body. */
export function apiGatewayEvent(body?: string, opts: ApiGatewayEventOptions = {}): APIGatewayProxyEventV2 {
  const method = opts.method ?? 'POST';
  const routeKey = opts.instanceId === undefined ? 'POST /events/ecwid' : 'POST /events/ecwid/{instanceId}';
  const rawPath =
    opts.rawPath ?? (opts.instanceId === undefined ? '/events/ecwid' : `/events/ecwid/${encodeURIComponent(opts.instanceId)}`);
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(opts.query ?? {}).toString(),
    ...(opts.query ? { queryStringParameters: { ...opts.query } } : {}),
    headers: {
      host: 'test-api.execute-api.eu-west-1.amazonaws.com',
      'user-agent': 'Ecwid',
      ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
      ...opts.headers,
    },
    ...(opts.instanceId === undefined ? {} : { pathParameters: { instanceId: opts.instanceId } }),
    requestContext: {
      accountId: TEST_ACCOUNT,
      apiId: 'test-api',
      domainName: 'test-api.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'test-api',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '203.0.113.10', userAgent: 'Ecwid' },
      requestId: opts.requestId ?? 'req-1',
      routeKey,
      stage: '$default',
      time: '01/Mar/2024:12:00:00 +0000',
      timeEpoch: 1709294400000,
    },
    body: body === undefined ? undefined : opts.base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: opts.base64 ?? false,
  };
}

/**
 * A webhook POST as Ecwid sends it: JSON body, `?eventtype=`, and `X-Ecwid-Webhook-Signature`
 * made with `clientSecret` (null: unsigned). `opts.headers` win (a forged signature, another type).
 */
export function webhookEvent(
  body: Record<string, unknown>,
  clientSecret: string | null,
  opts: ApiGatewayEventOptions = {},
): APIGatewayProxyEventV2 {
  const signature = clientSecret === null ? undefined : signatureOf(body, clientSecret);
  return apiGatewayEvent(JSON.stringify(body), {
    ...opts,
    query: opts.query ?? (typeof body.eventType === 'string' ? { eventtype: body.eventType } : undefined),
    headers: {
      'content-type': ECWID_WEBHOOK_CONTENT_TYPE,
      ...(signature === undefined ? {} : { 'x-ecwid-webhook-signature': signature }),
      ...opts.headers,
    },
  });
}

/** A legacy ION form POST (`form`: the encoded body, or its fields). */
export function ionEvent(form: string | Readonly<Record<string, string>>, opts: ApiGatewayEventOptions = {}): APIGatewayProxyEventV2 {
  const body = typeof form === 'string' ? form : new URLSearchParams(form).toString();
  return apiGatewayEvent(body, { ...opts, headers: { 'content-type': 'application/x-www-form-urlencoded', ...opts.headers } });
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

export interface SqsRecordOptions {
  readonly messageId: string;
  readonly body: string;
  readonly groupId: string;
  readonly deduplicationId?: string;
  readonly receiveCount?: number;
  readonly queueArn?: string;
  readonly sequenceNumber?: string;
  /** SentTimestamp and ApproximateFirstReceiveTimestamp (ms); a fixed 2024 time by default. */
  readonly sentAtMs?: number;
}

/** The SQS record Lambda's event source mapping hands the deliver function for one FIFO message. */
export function sqsRecord(opts: SqsRecordOptions): SQSRecord {
  const queueArn = opts.queueArn ?? TEST_QUEUE_ARN;
  const sentAt = opts.sentAtMs ?? 1709294400000;
  return {
    messageId: opts.messageId,
    receiptHandle: `receipt-${opts.messageId}`,
    body: opts.body,
    attributes: {
      ApproximateReceiveCount: String(opts.receiveCount ?? 1),
      SentTimestamp: String(sentAt),
      SenderId: 'AIDATEST',
      ApproximateFirstReceiveTimestamp: String(sentAt + 1000),
      MessageGroupId: opts.groupId,
      MessageDeduplicationId: opts.deduplicationId ?? `dedup-${opts.messageId}`,
      SequenceNumber: opts.sequenceNumber ?? '1',
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(opts.body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? TEST_REGION,
  };
}
