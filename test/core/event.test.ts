import { readdirSync } from 'node:fs';
import { signatureHeaders } from '../../functions/core/callback/signing';
import { parseIonForm } from '../../functions/core/ecwid/ion';
import { parseWebhookJson } from '../../functions/core/ecwid/webhook';
import { compactId, deliveryId, orderingKey } from '../../functions/core/event';
import { FIXTURES_DIR, fixtureText } from '../../testkit/fixtures';

/**
 * The `webhook-id` (and Elements-Webhook-Id, body id) receivers see, pinned byte for byte: the
 * values below were produced by the code before the id moved out of the SQS adapter's rules.
 * A change here breaks receivers that deduplicate on the id.
 */
const WEBHOOK_IDS: Readonly<Record<string, string>> = {
  'legacy-ion-cannon-new-order.CONSTRUCTED.txt': 'shop-a:ion-47ae7ad263ec98c02ed21547910c254a',
  'legacy-ion-cannon-order-status-change.CONSTRUCTED.txt': 'shop-a:ion-3a3f5b8ddb3840dbff185691e0b58c06',
  'modern-application-installed.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-application-subscription-status-changed.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-application-uninstalled.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-category-created.json': 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0',
  'modern-category-deleted.json': 'shop-a:08a78904-0aa0-4c1a-953a-2e33c562336f0',
  'modern-customer-created.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-order-created.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-order-deleted.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-order-updated.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-product-created.json': 'shop-a:08a78904-4c1a-0aa0-953a-2e33c56236f1',
  'modern-product-deleted.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-product-updated.json': 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0',
  'modern-profile-subscription-status-changed.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-profile-updated.json': 'shop-a:80aece08-40e8-4145-8764-6c2f0d38678',
  'modern-unfinished-order-created.json': 'shop-a:95ed494f-362d-4fca-933d-f5c7064b04bb',
};

const eventIdOf = (fixture: string): string =>
  fixture.endsWith('.txt') ? parseIonForm(fixtureText(fixture)).eventId : parseWebhookJson(fixtureText(fixture)).eventId;

const webhookIdHeader = (id: string): string | undefined =>
  signatureHeaders({ deliveryId: id, body: Buffer.from('{}'), webhookSecrets: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', now: new Date(0) })['webhook-id'];

describe('deliveryId: the public webhook-id', () => {
  it('covers every notification fixture', () => {
    const notifications = readdirSync(FIXTURES_DIR).filter(
      (name) => /^legacy-ion-.*\.txt$/.test(name) || (/^modern-.*\.json$/.test(name) && !name.includes('signature')),
    );
    expect(Object.keys(WEBHOOK_IDS).sort()).toEqual(notifications.sort());
  });

  it.each(Object.entries(WEBHOOK_IDS))('%s -> %s', (fixture, expected) => {
    const id = deliveryId({ instanceId: 'shop-a', eventId: eventIdOf(fixture) });
    expect(id).toBe(expected);
    expect(webhookIdHeader(id)).toBe(expected);
  });

  it('keeps the longest instance id readable', () => {
    expect(deliveryId({ instanceId: 'i'.repeat(64), eventId: eventIdOf('modern-order-updated.json') })).toBe(
      `${'i'.repeat(64)}:80aece08-40e8-4145-8764-6c2f0d38678`,
    );
    expect(deliveryId({ instanceId: 'shop-a', eventId: 'poll:orders:1042:1714564800' })).toBe('shop-a:poll:orders:1042:1714564800');
  });

  it('is the SHA-256 of the composition above 128 characters, or with anything but printable ASCII', () => {
    expect(deliveryId({ instanceId: 'shop-a', eventId: 'e'.repeat(121) })).toBe(`shop-a:${'e'.repeat(121)}`);
    expect(deliveryId({ instanceId: 'shop-a', eventId: 'e'.repeat(122) })).toBe('b0828951bfb18b5cc177c558cd6a76f4083520abf30cd86ce0111efbad582d09');
    expect(deliveryId({ instanceId: 'shop-a', eventId: 'évènement' })).toBe('b0dfa3cef685e82dd8f3c9223b6e3e947b42c42a8d9e072dc154707a954bb167');
    expect(deliveryId({ instanceId: 'shop-a', eventId: 'a b' })).toBe('cca308ae646d5de6081c2629f967748c94b77a7141596e5e294c1e82af626fff');
  });
});

describe('orderingKey and compactId', () => {
  it('orders the events of one object of one instance together', () => {
    expect(orderingKey({ instanceId: 'shop-a', objectType: 'orders', objectId: 'B8HGD' })).toBe('shop-a:orders:B8HGD');
  });

  it('compacts to a hash only past the limit it is given', () => {
    expect(compactId('abc', 3)).toBe('abc');
    expect(compactId('abcd', 3)).toMatch(/^[0-9a-f]{64}$/);
  });
});
