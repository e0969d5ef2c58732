/**
 * What the two Ecwid parsers (ion.ts, webhook.ts) produce: one notification, validated,
 * with the store it belongs to and a stable event id. Normalization (normalize.ts) and
 * the ingest use case (ingest.ts) work on this, never on the raw HTTP body.
 */

interface NotificationBase {
  /** Stable id: Ecwid's eventId, or derived from the fields of an ION post. */
  readonly eventId: string;
  /** Canonical store id: decimal digits without leading zeros. */
  readonly storeId: string;
  /** The original Ecwid type: `new_order`, `order.updated`, ... */
  readonly eventType: string;
  /** When Ecwid says the event happened (ISO 8601), when known. */
  readonly occurredAt?: string;
  /** The decoded body exactly as received (form fields or parsed JSON). */
  readonly raw: Record<string, unknown>;
}

/** A legacy "Instant Order Notification" form post (docs/protocol.md, "Inbound A: ION Cannon form posts"). Unsigned. */
export interface IonNotification extends NotificationBase {
  readonly source: 'ion';
  readonly orderId: string;
  readonly date?: string;
  readonly paymentStatus?: string;
  readonly fulfillmentStatus?: string;
  readonly oldPaymentStatus?: string;
  readonly oldFulfillmentStatus?: string;
}

/** A modern REST v3 webhook (docs/protocol.md, "Inbound B: signed JSON webhooks"). Signed over `{eventCreated}.{eventId}`. */
export interface WebhookNotification extends NotificationBase {
  readonly source: 'webhook';
  /** Unix seconds, as sent: the signature is computed over its decimal form. */
  readonly eventCreated: number;
  /** Absent only for `application.*` / `profile.*`, where the store is the entity. */
  readonly entityId?: string | number;
  readonly data?: Readonly<Record<string, unknown>> | null;
}

export type EcwidNotification = IonNotification | WebhookNotification;

/** A body that is not a valid notification. The message is safe to return to the caller. */
export class InvalidNotificationError extends Error {
  constructor(
    /** The offending field (`order_id`, `eventCreated`, `body`, ...). */
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidNotificationError';
  }
}

const STORE_ID_PATTERN = /^[0-9]{1,20}$/;

/**
 * Store ids are positive integers; they become SSM parameter names and are compared with
 * `ecwid.store.id`, so accept a number or a numeric string and return one canonical form.
 */
export function canonicalStoreId(value: unknown, field: string): string {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return String(value);
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (STORE_ID_PATTERN.test(text)) return text.replace(/^0+(?=[0-9])/, '');
  }
  if (value === undefined || value === null || value === '') {
    throw new InvalidNotificationError(field, `${field} is required (the Ecwid store id)`);
  }
  throw new InvalidNotificationError(field, `${field} must be a store id (a whole number)`);
}
