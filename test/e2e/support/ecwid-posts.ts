/** Ecwid's sample posts from test/fixtures, and how Ecwid would send them. */
import { readdirSync } from 'node:fs';
import { ecwidWebhookSignature } from '../../../functions/core/ecwid/signature';
import { FIXTURES_DIR, fixtureText } from '../../../testkit/fixtures';

export { fixtureText };

/** The client secret of the fixtures' signature test vector. */
export const CLIENT_SECRET = 'test_client_secret';
export const WEBHOOK_SECRET = `whsec_${Buffer.from('e2e standard webhooks key, 32 b!').toString('base64')}`;
export const SIGNATURE_KEY = 'e2e-elements-signature-key';

export interface ModernSample {
  /** File name, e.g. modern-order-created.json */
  readonly file: string;
  /** Short name, e.g. order-created (usable as an instance id) */
  readonly name: string;
  readonly text: string;
  readonly json: { eventId: string; eventCreated: number; storeId: number; eventType: string };
}

/**
 * Every modern webhook sample (the signature test vector is not a post), created now: as Ecwid
 * would send it today (ingest refuses a webhook whose eventCreated is outside its window).
 */
export function modernSamples(now: Date = new Date()): ModernSample[] {
  const eventCreated = Math.floor(now.getTime() / 1000);
  return readdirSync(FIXTURES_DIR)
    .filter((file) => /^modern-.*\.json$/.test(file) && file !== 'modern-signature-test-vector.json')
    .sort()
    .map((file) => {
      const text = fixtureText(file).replace(/"eventCreated":\s*\d+/, `"eventCreated": ${eventCreated}`);
      return { file, name: file.replace(/^modern-/, '').replace(/\.json$/, ''), text, json: JSON.parse(text) };
    });
}

/** Posts a webhook sample as Ecwid does: JSON, `?eventtype=`, signed with the app's client secret. */
export function postWebhook(url: string, sample: ModernSample, signature?: string): Promise<Response> {
  const { eventCreated, eventId, eventType } = sample.json;
  return fetch(`${url}?eventtype=${encodeURIComponent(eventType)}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      'x-ecwid-webhook-signature': signature ?? ecwidWebhookSignature(CLIENT_SECRET, eventCreated, eventId),
    },
    body: sample.text,
  });
}

/** Posts an ION form as Ecwid did. */
export function postIon(url: string, form: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.trim(),
  });
}

/** An instance document in the stored format (docs/instances.md, "The instance document"). */
export function instanceDocument(storeId: string | number, callbackUrl: string, extra: Record<string, string> = {}): unknown {
  return {
    element: { key: 'ecwid' },
    configuration: {
      'ecwid.store.id': String(storeId),
      'ecwid.client.secret': CLIENT_SECRET,
      'event.notification.enabled': 'true',
      'event.notification.callback.url': callbackUrl,
      'event.notification.signature.key': SIGNATURE_KEY,
      'event.notification.webhook.secret': WEBHOOK_SECRET,
      ...extra,
    },
    tags: ['e2e'],
    name: `e2e ${storeId}`,
  };
}
