/**
 * The two callback signature schemes, computed over the exact body bytes we send:
 * - Cloud Elements / Open Connectors: `Elements-Webhook-Signature: sha256=<base64 HMAC-SHA256(key, body)>`
 *   with the instance's `event.notification.signature.key` (raw string key).
 * - Standard Webhooks (standardwebhooks.com): `webhook-id`, `webhook-timestamp`,
 *   `webhook-signature: v1,<base64 HMAC-SHA256(base64-decoded secret, "{id}.{timestamp}.{body}")>`
 *   with `event.notification.webhook.secret` (`whsec_<base64>`; several, space-separated, during rotation).
 */
import { createHmac } from 'node:crypto';

const STANDARD_WEBHOOKS_SECRET_PREFIX = 'whsec_';

/** `sha256=` + base64(HMAC-SHA256(key, body)). */
export function elementsWebhookSignature(signatureKey: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', signatureKey).update(body).digest('base64')}`;
}

/** Thrown for an unusable secret; the message never contains the secret. */
export class SigningSecretError extends Error {
  override readonly name = 'SigningSecretError';
}

/** Decodes one `whsec_<base64>` (or bare base64) secret the way the standardwebhooks library does. */
function standardWebhooksKey(secret: string, position: number): Buffer {
  const encoded = secret.startsWith(STANDARD_WEBHOOKS_SECRET_PREFIX)
    ? secret.slice(STANDARD_WEBHOOKS_SECRET_PREFIX.length)
    : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new SigningSecretError(
      `event.notification.webhook.secret #${position} is not "whsec_" followed by base64`,
    );
  }
  return Buffer.from(encoded, 'base64');
}

/**
 * The `webhook-signature` value: one `v1,<base64>` per secret, space-separated, so a receiver holding
 * either the old or the new secret verifies the request during a rotation.
 */
export function standardWebhookSignature(
  secrets: string,
  webhookId: string,
  timestampSeconds: number,
  body: Buffer | string,
): string {
  const keys = secrets
    .split(/\s+/)
    .filter((secret) => secret !== '')
    .map((secret, i) => standardWebhooksKey(secret, i + 1));
  if (keys.length === 0) throw new SigningSecretError('event.notification.webhook.secret is empty');
  const signed = Buffer.concat([Buffer.from(`${webhookId}.${timestampSeconds}.`), Buffer.from(body)]);
  return keys.map((key) => `v1,${createHmac('sha256', key).update(signed).digest('base64')}`).join(' ');
}

export interface SignatureInputs {
  /** Stable across retries: the Elements-Webhook-Id and webhook-id. */
  readonly deliveryId: string;
  readonly body: Buffer;
  /** `event.notification.signature.key`, when set. */
  readonly signatureKey?: string;
  /** `event.notification.webhook.secret`, when set. */
  readonly webhookSecrets?: string;
  /** Signing time (per attempt: Standard Webhooks receivers reject timestamps older than ~5 minutes). */
  readonly now: Date;
}

/** The id and signature headers of one callback request. */
export function signatureHeaders(inputs: SignatureInputs): Record<string, string> {
  const headers: Record<string, string> = { 'Elements-Webhook-Id': inputs.deliveryId };
  if (inputs.signatureKey) {
    headers['Elements-Webhook-Signature'] = elementsWebhookSignature(inputs.signatureKey, inputs.body);
  }
  if (inputs.webhookSecrets) {
    const timestamp = Math.floor(inputs.now.getTime() / 1000);
    headers['webhook-id'] = inputs.deliveryId;
    headers['webhook-timestamp'] = String(timestamp);
    headers['webhook-signature'] = standardWebhookSignature(inputs.webhookSecrets, inputs.deliveryId, timestamp, inputs.body);
  }
  return headers;
}
