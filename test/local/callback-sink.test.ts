import type { Instance, InstanceDocument } from '../../functions/core/instance';
import type { InstanceLookup } from '../../functions/core/ports';
import { formatDelivery, pointAtSink, startCallbackSink, withSinkCallbacks, type CallbackSink } from '../../local/callback-sink';

const SINK = 'http://127.0.0.1:4321';

const instance = (id: string, callbackUrl: unknown): Instance => ({
  id,
  document: {
    configuration: { 'ecwid.store.id': '1003', 'event.notification.callback.url': callbackUrl },
  } as unknown as InstanceDocument,
});

describe('pointAtSink', () => {
  test('a callback on sink.localhost goes to the running sink, path and query kept', () => {
    const pointed = pointAtSink(instance('demo', 'http://sink.localhost/demo?x=1'), SINK);
    expect(pointed.document.configuration['event.notification.callback.url']).toBe(`${SINK}/demo?x=1`);
    expect(pointed.document.configuration['ecwid.store.id']).toBe('1003');
  });

  test.each([
    'https://example.com/hook',
    'http://127.0.0.1:9999/hook',
    'https://sink.localhost/demo', // only the plain-http placeholder is ours
    'not a url',
  ])('%s is left alone', (url) => {
    const original = instance('other', url);
    expect(pointAtSink(original, SINK)).toBe(original);
  });

  test('the store wrapper rewrites get() and findByStore() results and leaves misses alone', async () => {
    const store: InstanceLookup = {
      get: async (id) => (id === 'demo' ? instance('demo', 'http://sink.localhost/demo') : undefined),
      findByStore: async () => [instance('demo', 'http://sink.localhost/demo'), instance('real', 'https://example.com/')],
    };
    const wrapped = withSinkCallbacks(store, SINK);
    expect((await wrapped.get('demo'))?.document.configuration['event.notification.callback.url']).toBe(`${SINK}/demo`);
    expect(await wrapped.get('missing')).toBeUndefined();
    expect((await wrapped.findByStore('1003')).map((i) => i.document.configuration['event.notification.callback.url'])).toEqual([
      `${SINK}/demo`,
      'https://example.com/',
    ]);
  });
});

describe('the sink server', () => {
  let sink: CallbackSink;
  const printed: string[] = [];

  beforeAll(async () => {
    sink = await startCallbackSink((text) => printed.push(text));
  });
  afterAll(() => sink.close());

  test('accepts a delivery with 200 and prints its headers and pretty body', async () => {
    const response = await fetch(`${sink.origin}/demo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-signature': 'v1,abc' },
      body: '{"id":"demo:e1","message":{"eventId":"demo:e1"}}',
    });
    expect(response.status).toBe(200);
    expect(sink.deliveries).toHaveLength(1);
    expect(sink.deliveries[0]).toMatchObject({ method: 'POST', path: '/demo', body: '{"id":"demo:e1","message":{"eventId":"demo:e1"}}' });
    expect(printed[0]).toContain('delivery #1 to the local sink: POST /demo');
    expect(printed[0]).toContain('webhook-signature: v1,abc');
    expect(printed[0]).toContain('"eventId": "demo:e1"');
  });
});

test('formatDelivery prints non-JSON bodies as they are and cuts very long ones', () => {
  const text = formatDelivery(3, { method: 'POST', path: '/x', headers: { a: 'b' }, body: 'plain' }, 5);
  expect(text.split('\n')).toEqual(['── delivery #3 to the local sink: POST /x (5 bytes)', '   a: b', '   plain']);
  const long = formatDelivery(1, { method: 'POST', path: '/x', headers: {}, body: 'y'.repeat(20_000) }, 20_000);
  expect(long).toContain('… (20000 bytes in all)');
  expect(long.length).toBeLessThan(17_000);
});
