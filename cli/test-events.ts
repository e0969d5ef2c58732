/**
 * Realistic Ecwid notifications for `test-event`, shaped like the samples in docs/protocol.md ("Inbound A", "Inbound B"):
 * a signed modern webhook (JSON) or a legacy ION form post. Pure: ids and time are inputs.
 */
import { isIonEventType } from '../functions/core/ecwid/ion';
import { DOCUMENTED_WEBHOOK_TYPES, isDocumentedWebhookType } from '../functions/core/ecwid/webhook-types';
import { ECWID_SIGNATURE_HEADER, ecwidWebhookSignature } from '../functions/core/ecwid/signature';

export interface TestRequest {
  readonly kind: 'webhook' | 'ion';
  /** Appended to the per-instance ingest URL (modern webhooks repeat the type there). */
  readonly query: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The event id when we choose it (webhooks); ION ids are derived by ingest. */
  readonly eventId?: string;
}

export interface TestEventInput {
  readonly type: string;
  readonly storeId: string;
  readonly now: Date;
  /** Unique suffix for ids, e.g. a random hex string. */
  readonly nonce: string;
  /** Order number to use; default a made-up one (deliver may then not verify it). */
  readonly orderId?: string;
  /** Required for modern webhooks: the Ecwid app's client_secret. */
  readonly clientSecret?: string;
}

/** Only what Ecwid sends: a made-up type would be delivered, normalized generically, as if it were real. */
export function assertTestEventType(type: string): void {
  if (!isIonEventType(type) && !isDocumentedWebhookType(type)) {
    const entity = type.split('.')[0];
    const sameEntity = DOCUMENTED_WEBHOOK_TYPES.filter((known) => known.startsWith(`${entity}.`));
    const hint = sameEntity.length > 0 ? sameEntity.join(', ') : 'new_order, order_status_change, or a webhook type like order.created (docs/protocol.md lists all 42)';
    throw new Error(`unknown event type "${type.slice(0, 40)}": use ${hint}`);
  }
}

/** "YYYY-MM-DD hh:mm:ss" in UTC, as ION's `date` field. */
export const ionDate = (date: Date): string => date.toISOString().slice(0, 19).replace('T', ' ');

/** A number from the nonce, so entity ids look like Ecwid's (8-9 digits). */
const numericId = (nonce: string): number => 100_000_000 + (parseInt(nonce.slice(0, 7), 16) % 800_000_000);

export function buildTestRequest(input: TestEventInput): TestRequest {
  assertTestEventType(input.type);
  const storeNumber = Number(input.storeId);
  const storeId: number | string = Number.isSafeInteger(storeNumber) ? storeNumber : input.storeId;
  if (isIonEventType(input.type)) {
    const fields: Record<string, string> = {
      owner_id: input.storeId,
      event_type: input.type,
      date: ionDate(input.now),
      order_id: input.orderId ?? String(numericId(input.nonce) % 100_000),
      payment_status: 'ACCEPTED',
      fulfillment_status: input.type === 'new_order' ? 'NEW' : 'SHIPPED',
    };
    if (input.type === 'order_status_change') {
      fields.old_payment_status = 'ACCEPTED';
      fields.old_fulfillment_status = 'NEW';
    }
    return {
      kind: 'ion',
      query: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    };
  }

  if (!input.clientSecret) {
    throw new Error('the instance has no ecwid.client.secret, so ingest would reject a signed webhook; set it, or use --type new_order');
  }
  const eventId = `test-${input.nonce}`;
  const eventCreated = Math.floor(input.now.getTime() / 1000);
  const [entity, action] = input.type.split('.');
  const entityId = numericId(input.nonce);
  const body: Record<string, unknown> = { eventId, eventCreated, storeId, entityId, eventType: input.type };
  if (entity === 'order' || entity === 'unfinished_order') {
    const data: Record<string, unknown> = {
      orderId: input.orderId ?? `T${input.nonce.slice(0, 4).toUpperCase()}`,
      newPaymentStatus: 'PAID',
      newFulfillmentStatus: 'AWAITING_PROCESSING',
    };
    if (action === 'updated') {
      data.oldPaymentStatus = 'AWAITING_PAYMENT';
      data.oldFulfillmentStatus = 'AWAITING_PROCESSING';
    }
    body.data = data;
  } else if (entity === 'customer') {
    body.data = { customerEmail: 'test-event@example.com' };
  } else if (entity === 'application' || entity === 'profile') {
    // The store is the entity (a string for application.*).
    body.entityId = entity === 'application' ? String(input.storeId) : storeId;
  }
  return {
    kind: 'webhook',
    query: `?eventtype=${encodeURIComponent(input.type)}`,
    headers: {
      'content-type': 'application/json; charset=UTF-8',
      [ECWID_SIGNATURE_HEADER]: ecwidWebhookSignature(input.clientSecret, eventCreated, eventId),
    },
    body: JSON.stringify(body),
    eventId,
  };
}
