import { createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  elementsWebhookSignature,
  signatureHeaders,
  SigningSecretError,
  standardWebhookSignature,
} from '../../../functions/core/callback/signing';
import { fixtureBytes, fixtureJson } from '../../../testkit/fixtures';

const whsec = (): string => `whsec_${randomBytes(24).toString('base64')}`;

describe('Elements-Webhook-Signature', () => {
  it('matches the Cloud Elements vector over the exact bytes of the sample file', () => {
    const vector = fixtureJson<Record<string, string>>('cloud-elements-signature-test-vector.COMPUTED.json');
    const body = fixtureBytes('cloud-elements-callback-quickbooks-polling.json');
    // Guard: these are the bytes the vector was computed over (trailing newline included).
    expect(createHash('sha256').update(body).digest('hex')).toBe(vector.body_sha256_hex);

    expect(elementsWebhookSignature(vector.signature_key, body)).toBe(vector['expected_Elements-Webhook-Signature']);
    expect(elementsWebhookSignature(vector.signature_key, body.subarray(0, body.length - 1))).not.toBe(
      vector['expected_Elements-Webhook-Signature'],
    );
  });
});

describe('Standard Webhooks signature', () => {
  const body = Buffer.from(JSON.stringify({ id: 'shop-a:evt-1', message: { raw: { name: 'Café ☕' } } }));

  it('is verified by the standardwebhooks library', () => {
    const secret = whsec();
    const headers = signatureHeaders({ deliveryId: 'shop-a:evt-1', body, webhookSecrets: secret, now: new Date() });

    expect(new Webhook(secret).verify(body.toString('utf8'), headers)).toEqual(JSON.parse(body.toString('utf8')));
    expect(() => new Webhook(whsec()).verify(body.toString('utf8'), headers)).toThrow('No matching signature');
  });

  it('signs with every secret during a rotation, each verifiable on its own', () => {
    const [oldSecret, newSecret] = [whsec(), whsec()];
    const headers = signatureHeaders({
      deliveryId: 'shop-a:evt-1',
      body,
      webhookSecrets: `${oldSecret}  ${newSecret}`,
      now: new Date(),
    });

    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    expect(() => new Webhook(oldSecret).verify(body.toString('utf8'), headers)).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body.toString('utf8'), headers)).not.toThrow();
  });

  it('signs "{id}.{timestamp}.{body}" with the base64-decoded secret', () => {
    const key = Buffer.from('0123456789abcdef0123456789abcdef');
    const signature = standardWebhookSignature(`whsec_${key.toString('base64')}`, 'msg_1', 1700000000, 'hello');
    const library = new Webhook(`whsec_${key.toString('base64')}`).sign('msg_1', new Date(1700000000 * 1000), 'hello');
    expect(signature).toBe(library);
  });

  it('refuses a secret that is not base64, naming its position but never its value', () => {
    const call = (): string => standardWebhookSignature(`${whsec()} whsec_bad$secret`, 'id', 1, 'x');
    expect(call).toThrow(SigningSecretError);
    expect(call).toThrow(/#2/);
    expect(call).not.toThrow(/bad\$secret/);
    expect(() => standardWebhookSignature('   ', 'id', 1, 'x')).toThrow('empty');
  });
});

describe('signatureHeaders', () => {
  const body = Buffer.from('{"a":1}');
  const now = new Date('2024-03-01T12:00:00Z');

  it('always sends Elements-Webhook-Id and only the signatures that are configured', () => {
    expect(signatureHeaders({ deliveryId: 'shop-a:e1', body, now })).toEqual({ 'Elements-Webhook-Id': 'shop-a:e1' });

    const both = signatureHeaders({ deliveryId: 'shop-a:e1', body, now, signatureKey: 'k', webhookSecrets: whsec() });
    expect(Object.keys(both).sort()).toEqual(
      ['Elements-Webhook-Id', 'Elements-Webhook-Signature', 'webhook-id', 'webhook-signature', 'webhook-timestamp'].sort(),
    );
    expect(both['Elements-Webhook-Signature']).toBe(elementsWebhookSignature('k', body));
    expect(both['webhook-id']).toBe('shop-a:e1');
    expect(both['webhook-timestamp']).toBe('1709294400');
  });
});
