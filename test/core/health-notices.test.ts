/**
 * Operational notices on both channels: the topic, and the instance's operational webhook over
 * real HTTP (a local server, the real sender), signed like deliveries and under the SSRF rules.
 */
import { Webhook } from 'standardwebhooks';
import { HttpCallbackSender } from '../../functions/adapters/http/callback-sender';
import { localMachineResolver } from '../../functions/adapters/http/host-resolver';
import { NOTICE_METRICS } from '../../functions/contract';
import { elementsWebhookSignature } from '../../functions/core/callback/signing';
import { DEFAULT_BREAKER_SETTINGS, newHealth, recordOutcome, type HealthNotice } from '../../functions/core/health';
import { sendNotices, type NoticeDeps, type NoticeTopic } from '../../functions/core/health-notices';
import type { Instance } from '../../functions/core/instance';
import { instanceDocument } from '../../testkit/instances';
import { RecordingTelemetry } from '../../testkit/ports';
import { startServer, type TestServer } from '../../testkit/servers';

const T0 = new Date('2026-12-07T10:00:00.000Z');
const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const SIGNATURE_KEY = 'Jw2Nc5Qx9BvElements';
const opened = recordOutcome(newHealth('shop-a', T0), { ok: false, httpStatus: 410, error: 'callback https://shop.example answered HTTP 410' }, T0, DEFAULT_BREAKER_SETTINGS)
  .notices[0];

class RecordingTopic implements NoticeTopic {
  readonly published: HealthNotice[] = [];
  failWith?: Error;
  async publish(notice: HealthNotice): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.published.push(notice);
  }
}

const instanceWith = (operationsUrl?: string): Instance => ({
  id: 'shop-a',
  document: instanceDocument({
    configuration: {
      'event.notification.webhook.secret': SECRET,
      'event.notification.signature.key': SIGNATURE_KEY,
      ...(operationsUrl ? { 'event.notification.operations.url': operationsUrl } : {}),
    },
  }),
});

let server: TestServer;
let topic: RecordingTopic;
let telemetry: RecordingTelemetry;
let deps: NoticeDeps;

beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.reply = () => ({ status: 204 });
  topic = new RecordingTopic();
  telemetry = new RecordingTelemetry();
  deps = {
    topic,
    sender: new HttpCallbackSender({ timeoutMs: 2000 }),
    // The local runner's exemption: http to this machine only.
    urlPolicy: { allowHttp: true, allowHosts: ['127.0.0.1'] },
    resolveHost: localMachineResolver,
    clock: () => new Date(),
    telemetry,
  };
});

describe('sendNotices', () => {
  test('publishes to the topic and POSTs to the operational webhook, signed with the instance keys', async () => {
    const [delivery] = await sendNotices([opened], instanceWith(`${server.origin}/ops?token=Zq3Fv8GtXs1W`), deps);
    expect(delivery).toEqual({ notice: opened, topic: 'published', webhook: 'delivered' });
    expect(topic.published).toEqual([opened]);
    expect(server.requests).toHaveLength(1);
    const request = server.requests[0];
    expect(request.url).toBe('/ops?token=Zq3Fv8GtXs1W');
    expect(request.headers['content-type']).toBe('application/json');
    const payload = new Webhook(SECRET).verify(request.body.toString(), {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    });
    expect(payload).toEqual({ type: 'receiver.circuit-open', timestamp: T0.toISOString(), data: opened });
    expect(request.headers['elements-webhook-signature']).toBe(elementsWebhookSignature(SIGNATURE_KEY, request.body));
    expect(telemetry.countOf(NOTICE_METRICS.published)).toBe(1);
    expect(telemetry.countOf(NOTICE_METRICS.webhookDelivered)).toBe(1);
    expect(telemetry.lines).toContainEqual(expect.objectContaining({ level: 'warn', message: 'receiver circuit-open' }));
  });

  test('a failing webhook and a failing topic are logged and counted, never thrown, and neither stops the other', async () => {
    server.reply = () => ({ status: 500 });
    topic.failWith = new Error('SNS throttled');
    const deliveries = await sendNotices([opened, { ...opened, type: 'receiver.disabled', kind: 'disabled' }], instanceWith(`${server.origin}/ops?token=Zq3Fv8GtXs1W`), deps);
    expect(deliveries.map((d) => [d.topic, d.webhook])).toEqual([
      ['failed', 'failed'],
      ['failed', 'failed'],
    ]);
    expect(deliveries[0].webhookError).toBe(`operational webhook ${server.origin} answered HTTP 500`);
    expect(server.requests).toHaveLength(2);
    expect(telemetry.countOf(NOTICE_METRICS.failed)).toBe(4);
    // The URL's query (a receiver's token) is never logged.
    expect(JSON.stringify(telemetry.lines)).not.toContain('Zq3Fv8');
  });

  test('an operational webhook on a private address is refused by the SSRF rules, the topic still hears', async () => {
    const strict: NoticeDeps = { ...deps, urlPolicy: { allowHttp: false, allowHosts: [] } };
    const [refused] = await sendNotices([opened], instanceWith('https://10.0.0.7/ops'), strict);
    expect(refused).toMatchObject({ topic: 'published', webhook: 'refused' });
    expect(refused.webhookError).toMatch(/10\.0\.0\.7/);
    expect(server.requests).toHaveLength(0);
  });

  test('no operational webhook, no instance, or no topic: only the channels there are', async () => {
    expect(await sendNotices([opened], instanceWith(undefined), deps)).toEqual([{ notice: opened, topic: 'published', webhook: 'none' }]);
    expect(await sendNotices([opened], undefined, deps)).toEqual([{ notice: opened, topic: 'published', webhook: 'none' }]);
    const [webhookOnly] = await sendNotices([opened], instanceWith(`${server.origin}/ops`), { ...deps, topic: undefined });
    expect(webhookOnly).toMatchObject({ topic: 'none', webhook: 'delivered' });
    expect(await sendNotices([], instanceWith(`${server.origin}/ops`), deps)).toEqual([]);
  });
});
