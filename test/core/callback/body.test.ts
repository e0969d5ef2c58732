import { buildCallbackBody, javaUtcDateString, serializeCallbackBody } from '../../../functions/core/callback/body';
import { deliveryId } from '../../../functions/core/event';
import { instance, ionEvent, webhookEvent } from '../deliver-support';
import { fixtureJson } from '../../../testkit/fixtures';

type Sample = { message: Record<string, unknown> & { events: Record<string, unknown>[] } } & Record<string, unknown>;

const SAMPLES = ['cloud-elements-callback-quickbooks-polling.json', 'cloud-elements-callback-netsuite-polling.json'];

/** Fields of the Cloud Elements platform itself (its account and user), with no meaning for us. */
const PLATFORM_ONLY_TOP = ['severity', 'user'];
const PLATFORM_ONLY_MESSAGE = ['accountId', 'companyId', 'userId'];

const keys = (value: object): string[] => Object.keys(value).sort();
const without = (list: string[], drop: string[]): string[] => list.filter((key) => !drop.includes(key)).sort();

describe('callback body (Open Connectors shape)', () => {
  it.each(SAMPLES)('has the key sets of the real sample %s, minus the platform account fields', (name) => {
    const sample = fixtureJson<Sample>(name);
    const body = buildCallbackBody(webhookEvent({ source: 'poll' }), instance(), { entity: {} });

    expect(keys(body)).toEqual(without(keys(sample), PLATFORM_ONLY_TOP));
    expect(keys(body.message)).toEqual(without(keys(sample.message), PLATFORM_ONLY_MESSAGE));
    // Polled events carry pollDate like the (polling) samples; then the event key sets are equal.
    expect(keys(body.message.events[0])).toEqual(keys(sample.message.events[0]));
  });

  it('leaves pollDate out for pushed events and keeps the rest of the event keys', () => {
    const sample = fixtureJson<Sample>(SAMPLES[0]);
    const body = buildCallbackBody(webhookEvent(), instance(), { webhook: {} });
    expect(keys(body.message.events[0])).toEqual(without(keys(sample.message.events[0]), ['pollDate']));
  });

  it('fills the fields from the event and the instance', () => {
    const event = webhookEvent();
    const body = buildCallbackBody(event, instance(), { webhook: event.raw });

    expect(body).toEqual({
      id: 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0',
      createdDate: 'Fri Mar 01 12:00:00 UTC 2024',
      topic: 'instance-shop-a-ecwid-events',
      action: 'create',
      message: {
        elementKey: 'ecwid',
        eventId: 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0',
        instanceId: 'shop-a',
        instance_id: 'shop-a',
        instanceName: 'Shop A',
        instanceTags: ['retail'],
        raw: { webhook: event.raw },
        events: [
          {
            date: '2016-07-25T06:58:32.000Z',
            elementKey: 'ecwid',
            hubKey: 'ecommerce',
            eventType: 'UPDATED',
            objectId: '66722483',
            objectType: 'products',
          },
        ],
      },
    });
  });

  it('uses the receive time as the event date when Ecwid gave none, and the id as the name when unnamed', () => {
    const body = buildCallbackBody(ionEvent({ occurredAt: undefined }), instance({}, { name: '  ' }), {});
    expect(body.message.events[0].date).toBe('2024-03-01T12:00:00.000Z');
    expect(body.message.instanceName).toBe('shop-a');
  });

  it('uses the delivery id of the event as body id and message.eventId', () => {
    const event = webhookEvent();
    const body = buildCallbackBody(event, instance(), {});
    expect(body.id).toBe(deliveryId(event));
    expect(body.message.eventId).toBe(deliveryId(event));
    // The same Ecwid event fanned out to two instances gets two different ids.
    expect(deliveryId({ ...event, instanceId: 'shop-b' })).not.toBe(deliveryId(event));
  });

  it('serializes to the same bytes every time for the same event (stable across retries)', () => {
    const event = webhookEvent();
    const first = serializeCallbackBody(buildCallbackBody(event, instance(), { webhook: event.raw }));
    const second = serializeCallbackBody(buildCallbackBody(JSON.parse(JSON.stringify(event)), instance(), { webhook: event.raw }));
    expect(second.equals(first)).toBe(true);
  });

  it('formats createdDate like Java Date.toString() in UTC, as Open Connectors did', () => {
    // The quickbooks sample: createdDate "Fri Feb 21 16:43:41 UTC 2020" for 2020-02-21T16:43:41Z.
    expect(javaUtcDateString(new Date('2020-02-21T16:43:41Z'))).toBe(fixtureJson<Sample>(SAMPLES[0]).createdDate);
    expect(javaUtcDateString(new Date('2018-08-20T15:30:07Z'))).toBe(fixtureJson<Sample>(SAMPLES[1]).createdDate);
  });
});
