import { InvalidNotificationError } from '../../../functions/core/ecwid/notification';
import { parseWebhookJson } from '../../../functions/core/ecwid/webhook';
import { fixtureJson, fixtureText } from '../../../testkit/fixtures';
import { webhookBody } from '../../../testkit/events';

function rejection(body: string): InvalidNotificationError {
  try {
    parseWebhookJson(body);
  } catch (error) {
    if (error instanceof InvalidNotificationError) return error;
    throw error;
  }
  throw new Error('expected parseWebhookJson to reject the body');
}

const invalidField = (overrides: Record<string, unknown>): string =>
  rejection(JSON.stringify(webhookBody(overrides))).field;

describe('parseWebhookJson', () => {
  it('parses the order.updated fixture and keeps the whole body as raw', () => {
    const text = fixtureText('modern-order-updated.json');
    const webhook = parseWebhookJson(text);
    expect(webhook).toEqual({
      source: 'webhook',
      eventId: '80aece08-40e8-4145-8764-6c2f0d38678',
      eventCreated: 1234567,
      storeId: '1003',
      eventType: 'order.updated',
      entityId: 450012387,
      data: fixtureJson('modern-order-updated.json').data,
      occurredAt: '1970-01-15T06:56:07.000Z',
      raw: JSON.parse(text),
    });
  });

  it('keeps a string entityId (application events) as a string', () => {
    expect(parseWebhookJson(fixtureText('modern-application-installed.json')).entityId).toBe('1003');
  });

  it('accepts eventCreated beyond 2^31', () => {
    const webhook = parseWebhookJson(fixtureText('modern-customer-created.json'));
    expect(webhook.eventCreated).toBe(7891234567);
    expect(webhook.occurredAt).toBe('2220-01-24T17:36:07.000Z');
  });

  it('accepts storeId as a numeric string and canonicalizes it', () => {
    expect(parseWebhookJson(JSON.stringify(webhookBody({ storeId: '001003' }))).storeId).toBe('1003');
  });

  it('accepts absent and null data', () => {
    expect(parseWebhookJson(JSON.stringify(webhookBody({ data: undefined }))).data).toBeUndefined();
    expect(parseWebhookJson(JSON.stringify(webhookBody({ data: null }))).data).toBeNull();
  });

  it('accepts unknown event types', () => {
    expect(parseWebhookJson(JSON.stringify(webhookBody({ eventType: 'gift_card.redeemed' }))).eventType).toBe(
      'gift_card.redeemed',
    );
  });

  it.each([
    ['not JSON', '{"eventId": '],
    ['an array', '[1,2]'],
    ['a string', '"order.updated"'],
    ['null', 'null'],
    ['empty', ''],
  ])('rejects a body that is %s', (_label, body) => {
    expect(rejection(body).field).toBe('body');
  });

  it.each([
    ['eventId', { eventId: undefined }],
    ['eventId', { eventId: '' }],
    ['eventId', { eventId: 42 }],
    ['eventCreated', { eventCreated: undefined }],
    ['eventCreated', { eventCreated: '1234567' }],
    ['eventCreated', { eventCreated: 1.5 }],
    ['eventCreated', { eventCreated: -1 }],
    ['storeId', { storeId: undefined }],
    ['storeId', { storeId: 'shop-1' }],
    ['storeId', { storeId: 10.5 }],
    ['storeId', { storeId: true }],
    ['entityId', { entityId: undefined }],
    ['entityId', { entityId: '' }],
    ['entityId', { entityId: { id: 1 } }],
    ['eventType', { eventType: undefined }],
    ['eventType', { eventType: 'orderupdated' }],
    ['eventType', { eventType: '.updated' }],
    ['eventType', { eventType: 'order.' }],
    ['eventType', { eventType: 7 }],
    ['data', { data: 'PAID' }],
    ['data', { data: [1] }],
  ])('rejects an invalid %s (%j)', (field, overrides) => {
    expect(invalidField(overrides)).toBe(field);
  });

  it('says which field is wrong in the message', () => {
    expect(rejection(JSON.stringify(webhookBody({ eventId: undefined }))).message).toBe(
      'eventId is required (a non-empty string)',
    );
    expect(rejection(JSON.stringify(webhookBody({ storeId: 'shop-1' }))).message).toMatch(/^storeId /);
  });

  it('lets application and profile events leave out entityId (the store is the entity)', () => {
    for (const eventType of ['application.installed', 'profile.updated']) {
      expect(parseWebhookJson(JSON.stringify(webhookBody({ eventType, entityId: undefined }))).entityId).toBeUndefined();
    }
  });
});
