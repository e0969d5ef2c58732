import { Webhook } from 'standardwebhooks';
import { elementsWebhookSignature } from '../../../functions/core/callback/signing';
import { noticeId, noticeMessage, noticeRequest } from '../../../functions/core/callback/notice';
import { newHealth, notice, recordOutcome, DEFAULT_BREAKER_SETTINGS } from '../../../functions/core/health';

const T0 = new Date('2026-12-07T10:00:00.000Z');
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const gone = recordOutcome(newHealth('shop-a', T0), { ok: false, httpStatus: 410, error: 'HTTP 410 Gone' }, T0, DEFAULT_BREAKER_SETTINGS);
const opened = gone.notices[0];

describe('operational webhook', () => {
  test('is signed like deliveries: a Standard Webhooks library verifies it, and the Elements signature covers the body', () => {
    // Signed now (receivers refuse old timestamps); the notice itself says when it happened.
    const request = noticeRequest(opened, { signatureKey: 'elements-key', webhookSecrets: [SECRET] }, new Date());
    const payload = new Webhook(SECRET).verify(request.body.toString(), {
      'webhook-id': request.headers['webhook-id'],
      'webhook-timestamp': request.headers['webhook-timestamp'],
      'webhook-signature': request.headers['webhook-signature'],
    }) as Record<string, unknown>;
    expect(payload).toEqual({ type: 'receiver.circuit-open', timestamp: T0.toISOString(), data: opened });
    expect(request.headers['Elements-Webhook-Signature']).toBe(elementsWebhookSignature('elements-key', request.body));
    expect(request.headers['Elements-Webhook-Id']).toBe(request.id);
  });

  test('the same notice keeps its id; another notice gets another', () => {
    expect(noticeId(opened)).toMatch(/^notice_[0-9a-f]{32}$/);
    expect(noticeRequest(opened, { webhookSecrets: [] }, new Date(T0.getTime() + 60_000)).id).toBe(noticeId(opened));
    expect(noticeId(notice('recovered', gone.next, T0))).not.toBe(noticeId(opened));
  });

  test('without keys it carries only its id', () => {
    expect(Object.keys(noticeRequest(opened, { webhookSecrets: [] }, T0).headers)).toEqual(['Elements-Webhook-Id']);
  });
});

describe('SNS message', () => {
  test('a short ASCII subject, a readable text, the notice as JSON', () => {
    const { subject, text } = noticeMessage(opened);
    expect(subject).toBe('Ecwid events: shop-a circuit open: deliveries held');
    expect(text.split('\n')).toEqual([
      `Instance shop-a: circuit open: deliveries held (${T0.toISOString()}).`,
      `State: circuit-open; failures in a row: 1 since ${T0.toISOString()}.`,
      'Last error: HTTP 410 Gone (HTTP 410).',
      'Events are held, not dropped, and go out in order once a probe succeeds. `instances health ID` shows the detail.',
      '',
      JSON.stringify(opened),
    ]);
  });

  test('a long instance id still gives a subject SNS accepts', () => {
    const long = { ...opened, instanceId: 'x'.repeat(64), kind: 'disabled' as const, type: 'receiver.disabled' as const };
    const { subject, text } = noticeMessage(long);
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(text).toMatch(/instances resume ID/);
  });
});
