import { ecwidWebhookSignature, verifyEcwidWebhookSignature } from '../../../functions/core/ecwid/signature';
import { fixtureJson } from '../../../testkit/fixtures';

interface SignatureVector {
  client_secret: string;
  eventCreated: number;
  eventId: string;
  message: string;
  'expected_X-Ecwid-Webhook-Signature': string;
}

const vector = fixtureJson<SignatureVector>('modern-signature-test-vector.json');
const expected = vector['expected_X-Ecwid-Webhook-Signature'];

/** The same signature with one byte of the decoded HMAC changed. */
function flipOneByte(signature: string): string {
  const bytes = Buffer.from(signature, 'base64');
  bytes[7] ^= 0x01;
  return bytes.toString('base64');
}

describe('ecwidWebhookSignature', () => {
  it('reproduces the published test vector', () => {
    expect(ecwidWebhookSignature(vector.client_secret, vector.eventCreated, vector.eventId)).toBe(expected);
  });

  it('signs "{eventCreated}.{eventId}" (a string eventCreated gives the same result)', () => {
    expect(`${vector.eventCreated}.${vector.eventId}`).toBe(vector.message);
    expect(ecwidWebhookSignature(vector.client_secret, String(vector.eventCreated), vector.eventId)).toBe(expected);
  });

  it('depends on the secret, the time and the id', () => {
    expect(ecwidWebhookSignature('other', vector.eventCreated, vector.eventId)).not.toBe(expected);
    expect(ecwidWebhookSignature(vector.client_secret, vector.eventCreated + 1, vector.eventId)).not.toBe(expected);
    expect(ecwidWebhookSignature(vector.client_secret, vector.eventCreated, `${vector.eventId}x`)).not.toBe(expected);
  });
});

describe('verifyEcwidWebhookSignature', () => {
  const verify = (header: string | undefined) =>
    verifyEcwidWebhookSignature(header, vector.client_secret, vector.eventCreated, vector.eventId);

  it('accepts the test vector', () => {
    expect(verify(expected)).toBe(true);
  });

  it('tolerates surrounding white space in the header', () => {
    expect(verify(` ${expected} `)).toBe(true);
  });

  it('rejects a signature with one flipped byte', () => {
    const flipped = flipOneByte(expected);
    expect(flipped).not.toBe(expected);
    expect(flipped).toHaveLength(expected.length);
    expect(verify(flipped)).toBe(false);
  });

  it('rejects a missing or empty header', () => {
    expect(verify(undefined)).toBe(false);
    expect(verify('')).toBe(false);
    expect(verifyEcwidWebhookSignature(null, vector.client_secret, vector.eventCreated, vector.eventId)).toBe(false);
  });

  it('fails closed without a secret', () => {
    expect(verifyEcwidWebhookSignature(expected, undefined, vector.eventCreated, vector.eventId)).toBe(false);
    expect(verifyEcwidWebhookSignature(expected, null, vector.eventCreated, vector.eventId)).toBe(false);
    expect(verifyEcwidWebhookSignature(expected, '', vector.eventCreated, vector.eventId)).toBe(false);
  });

  it('rejects a header of another length without throwing', () => {
    expect(verify(expected.slice(0, -1))).toBe(false);
    expect(verify(`${expected}A`)).toBe(false);
  });

  it('handles eventCreated beyond 2^31', () => {
    const created = 7891234567;
    const signature = ecwidWebhookSignature('s3cret', created, 'evt-1');
    expect(verifyEcwidWebhookSignature(signature, 's3cret', created, 'evt-1')).toBe(true);
    expect(verifyEcwidWebhookSignature(signature, 's3cret', created % 2 ** 32, 'evt-1')).toBe(false);
  });
});
