/**
 * The instance configuration: the Open Connectors instance JSON (docs/instances.md, "The instance document")
 * plus our own keys. Stored as one SecureString per instance.
 */

export type ConfigValue = string | number | boolean;

export interface InstanceDocument {
  readonly element?: { readonly key?: string };
  readonly configuration: Readonly<Record<string, ConfigValue>>;
  readonly tags?: readonly string[];
  readonly name?: string;
}

export interface Instance {
  /** Our id for the instance (SSM parameter name suffix / file name). */
  readonly id: string;
  readonly document: InstanceDocument;
}

/** Every configuration key we read, in one place. */
export const CONFIG_KEYS = {
  storeId: 'ecwid.store.id',
  orderKey: 'ecwid.order.key',
  productKey: 'ecwid.product.key',
  /** Ours: the Ecwid app's client_secret, key of X-Ecwid-Webhook-Signature. */
  clientSecret: 'ecwid.client.secret',
  /** Ours: REST v3 access token (`secret_...`) for verification and enrichment. */
  accessToken: 'ecwid.access.token',
  enabled: 'event.notification.enabled',
  callbackUrl: 'event.notification.callback.url',
  signatureKey: 'event.notification.signature.key',
  /** Ours: Standard Webhooks secrets (`whsec_...`), space-separated for rotation. */
  webhookSecret: 'event.notification.webhook.secret',
  vendorType: 'event.vendor.type',
  pollerRefreshInterval: 'event.poller.refresh_interval',
  pollerConfiguration: 'event.poller.configuration',
  /**
   * Ours: with `event.vendor.type` = `webhook`, also run a reconciliation poll that delivers only
   * the changes no webhook reported (see functions/core/poll-config.ts).
   */
  pollerReconcile: 'event.poller.reconcile',
} as const;

/** Keys whose values are secrets: masked in every output, never logged. */
export const SECRET_CONFIG_KEYS: readonly string[] = [
  CONFIG_KEYS.orderKey,
  CONFIG_KEYS.productKey,
  CONFIG_KEYS.clientSecret,
  CONFIG_KEYS.accessToken,
  CONFIG_KEYS.signatureKey,
  CONFIG_KEYS.webhookSecret,
];

/** A configuration value as a trimmed string, or undefined when absent or empty. */
export function configString(doc: InstanceDocument, key: string): string | undefined {
  const value = doc.configuration[key];
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/**
 * A boolean key as written. Booleans appear both as `true` and `"true"` in instance JSON (any case);
 * `absent` when missing or empty, `invalid` for anything else. The one reading of boolean keys:
 * the runtime (configBoolean), the poller's settings and instance validation all use it.
 */
export function configBooleanValue(doc: InstanceDocument, key: string): boolean | 'absent' | 'invalid' {
  const value = doc.configuration[key];
  if (value === undefined || value === null || value === '') return 'absent';
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return 'invalid';
}

/** The boolean, or `fallback` when the key is absent or not a boolean. */
export function configBoolean(doc: InstanceDocument, key: string, fallback: boolean): boolean {
  const value = configBooleanValue(doc, key);
  return typeof value === 'boolean' ? value : fallback;
}

export const storeIdOf = (instance: Instance): string | undefined =>
  configString(instance.document, CONFIG_KEYS.storeId);

export const notificationsEnabled = (instance: Instance): boolean =>
  configBoolean(instance.document, CONFIG_KEYS.enabled, true);

/** Instance ids become SSM parameter names and file names: keep them simple. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
