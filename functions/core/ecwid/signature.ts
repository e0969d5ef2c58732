import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header Ecwid signs modern webhooks with (lower-case, as API Gateway v2 delivers it). */
export const ECWID_SIGNATURE_HEADER = 'x-ecwid-webhook-signature';

/**
 * `X-Ecwid-Webhook-Signature` of a webhook: base64(HMAC-SHA256(key = app client_secret,
 * message = "{eventCreated}.{eventId}")). The body is not signed, only the event's identity.
 */
export function ecwidWebhookSignature(clientSecret: string, eventCreated: number | string, eventId: string): string {
  return createHmac('sha256', clientSecret).update(`${eventCreated}.${eventId}`, 'utf8').digest('base64');
}

/**
 * True only when `header` is the signature of this event under `clientSecret`.
 * Fails closed: a missing or empty header or secret is never a match. Constant time in the
 * header's content (a length difference is not secret: every valid signature is 44 characters).
 */
export function verifyEcwidWebhookSignature(
  header: string | undefined | null,
  clientSecret: string | undefined | null,
  eventCreated: number | string,
  eventId: string,
): boolean {
  if (!header || !clientSecret) return false;
  const received = Buffer.from(header.trim(), 'utf8');
  const expected = Buffer.from(ecwidWebhookSignature(clientSecret, eventCreated, eventId), 'utf8');
  if (received.length !== expected.length) return false;
  return timingSafeEqual(received, expected);
}
