import { InMemorySightings, sightingsOf } from '../../../functions/core/sightings';
import { queuedEvent } from '../../../testkit/events';

describe('sightingsOf', () => {
  test('webhook events of pollable types give (instance, object, Ecwid time); others give nothing', () => {
    const events = [
      queuedEvent({ objectType: 'orders', objectId: 'B8HGD', occurredAt: '2024-05-01T12:00:05.000Z' }),
      queuedEvent({ objectType: 'products', objectId: '77', eventType: 'CREATED', occurredAt: '2024-05-01T12:00:06.000Z' }),
      queuedEvent({ objectType: 'orders', objectId: 'GONE', eventType: 'DELETED' }),
      queuedEvent({ objectType: 'categories', objectId: '9' }),
      queuedEvent({ source: 'ion', objectId: '124' }),
      queuedEvent({ objectId: 'NOTIME', occurredAt: undefined }),
    ];
    expect(sightingsOf(events)).toEqual([
      { instanceId: 'shop-a', objectType: 'orders', objectId: 'B8HGD', at: Date.UTC(2024, 4, 1, 12, 0, 5) / 1000 },
      { instanceId: 'shop-a', objectType: 'products', objectId: '77', at: Date.UTC(2024, 4, 1, 12, 0, 6) / 1000 },
    ]);
  });
});

describe('InMemorySightings', () => {
  test('returns what was recorded until it is acknowledged', async () => {
    const log = new InMemorySightings();
    await log.record(sightingsOf([queuedEvent({ objectId: 'A' }), queuedEvent({ objectId: 'B' })]));
    const received = await log.receive();
    expect(received.map((s) => s.objectId)).toEqual(['A', 'B']);
    expect(await log.receive()).toEqual(received);

    await log.acknowledge([received[0].handle]);
    expect((await log.receive()).map((s) => s.objectId)).toEqual(['B']);
    expect(log.size).toBe(1);
  });
});
