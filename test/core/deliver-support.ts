/**
 * Small factories shared by the deliver-side tests (not a test file
 * itself); in-memory ports, local servers, SQS records and fixtures come from the test kit.
 */
import type { SQSRecord } from 'aws-lambda';
import type { QueueMessage } from '../../functions/core/ports';
import type { QueuedEvent } from '../../functions/core/event';
import type { ConfigValue, Instance } from '../../functions/core/instance';
import { sqsRecord as buildSqsRecord, type SqsRecordOptions } from '../../testkit/events';
import { fixtureJson, ionFixtureFields } from '../../testkit/fixtures';

export const RECEIVED_AT = '2024-03-01T12:00:00.000Z';

/** A modern webhook event as ingest queues it (defaults: product.updated of the docs example). */
export function webhookEvent(overrides: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    v: 1,
    eventId: '08a78904-0aa0-4c1a-953a-2e33c56236f0',
    instanceId: 'shop-a',
    storeId: '1003',
    source: 'webhook',
    ecwidEventType: 'product.updated',
    objectType: 'products',
    objectId: '66722483',
    eventType: 'UPDATED',
    occurredAt: '2016-07-25T06:58:32.000Z',
    receivedAt: RECEIVED_AT,
    verified: true,
    raw: fixtureJson('modern-product-updated.json'),
    ...overrides,
  };
}

/** A legacy ION event as ingest queues it (defaults: the new_order fixture, store 12345, order 124). */
export function ionEvent(overrides: Partial<QueuedEvent> = {}, fields?: Record<string, string>): QueuedEvent {
  const raw = fields ?? ionFixtureFields('legacy-ion-cannon-new-order.CONSTRUCTED.txt');
  return {
    v: 1,
    eventId: 'ion-0123456789abcdef0123456789abcdef',
    instanceId: 'shop-a',
    storeId: '12345',
    source: 'ion',
    ecwidEventType: raw.event_type,
    objectType: 'orders',
    objectId: raw.order_id,
    eventType: raw.event_type === 'new_order' ? 'CREATED' : 'UPDATED',
    receivedAt: RECEIVED_AT,
    verified: false,
    raw,
    ...overrides,
  };
}

export function instance(configuration: Record<string, ConfigValue> = {}, extra: Partial<Instance['document']> = {}): Instance {
  return {
    id: 'shop-a',
    document: {
      element: { key: 'ecwid' },
      name: 'Shop A',
      tags: ['', 'retail'],
      configuration: { 'event.notification.enabled': 'true', ...configuration },
      ...extra,
    },
  };
}

export function queueMessage(body: QueuedEvent | string, overrides: Partial<QueueMessage> = {}): QueueMessage {
  return {
    messageId: 'msg-1',
    receiptHandle: 'receipt-1',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    receiveCount: 1,
    firstReceivedAt: '2024-03-01T12:00:01.000Z',
    messageGroupId: 'shop-a:products:66722483',
    messageDeduplicationId: 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0',
    queueArn: 'arn:aws:sqs:eu-west-1:123456789012:events.fifo',
    ...overrides,
  };
}

/** An SQS record of the events queue; its body a webhook event with the message id as event id unless given. */
export const sqsRecord = (options: Omit<SqsRecordOptions, 'body'> & { body?: string }): SQSRecord =>
  buildSqsRecord({ ...options, body: options.body ?? JSON.stringify(webhookEvent({ eventId: options.messageId })) });
