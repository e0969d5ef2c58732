/**
 * The instance configuration: the Open Connectors instance JSON
 * (docs/instances.md, "The instance document") plus our own keys, stored as one SecureString per
 * instance (a JSON file locally). This module is the one reader of configuration keys
 * (`configOf`) and the one place that decides which values are secrets and how they are hidden.
 * Everything else asks it.
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

/** Every configuration key we read, in one place (also for naming a key in messages). */
export const CONFIG_KEYS = {
  storeId: 'ecwid.store.id',
  orderKey: 'ecwid.order.key',
  productKey: 'ecwid.product.key',
  /**
   * Ours: whether unsigned ION posts are taken for this instance. Absent: only when the instance has
   * `ecwid.order.key` (it is set up for ION); `true` also with only `ecwid.access.token`; `false` never.
   */
  ionEnabled: 'ecwid.ion.enabled',
  /** Ours: the Ecwid app's client_secret, key of X-Ecwid-Webhook-Signature. */
  clientSecret: 'ecwid.client.secret',
  /**
   * Ours: the app's previous client_secret during a rotation (`instances rotate-client-secret`):
   * webhooks signed with either verify, so none is lost while Ecwid switches over.
   */
  clientSecretPrevious: 'ecwid.client.secret.previous',
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
   * the changes no webhook reported (see functions/core/poll/settings.ts).
   */
  pollerReconcile: 'event.poller.reconcile',
  /** Ours: the Ecwid event types to deliver (`order.*, product.updated`); others are filtered (core/delivery-controls.ts). */
  eventTypes: 'event.notification.types',
  /** Ours: requests per second to the callback URL, at most. */
  rateLimit: 'event.notification.rate_limit',
  /** Ours: concurrent requests to the callback URL, at most. */
  maxConcurrency: 'event.notification.max_concurrency',
  /** Ours: where operational notices (failing, circuit open, recovered, disabled) are POSTed, signed like deliveries. */
  operationsUrl: 'event.notification.operations.url',
} as const;

/** Instance ids become SSM parameter names and file names: keep them simple. */
export const INSTANCE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export class InvalidInstanceIdError extends Error {
  constructor(id: string) {
    super(`invalid instance id "${id.slice(0, 80)}": use 1-64 letters, digits, "-" or "_", starting with a letter or digit`);
    this.name = 'InvalidInstanceIdError';
  }
}

export function assertInstanceId(id: string): void {
  if (!INSTANCE_ID_PATTERN.test(id)) throw new InvalidInstanceIdError(id);
}

/** `create` of an id that is taken: an instance is never overwritten by accident. */
export class InstanceExistsError extends Error {
  constructor(id: string) {
    super(`instance "${id}" already exists`);
    this.name = 'InstanceExistsError';
  }
}

/** Sort order of listings: by id, code unit by code unit (as SSM and the file system list them). */
export const byInstanceId = (a: Instance, b: Instance): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A boolean key as written: `absent` when missing or empty, `invalid` for anything but true/false. */
export type BooleanSetting = boolean | 'absent' | 'invalid';

/** The typed view of an instance's configuration. Strings are trimmed; empty means absent. */
export interface InstanceConfig {
  readonly storeId: string | undefined;
  /** `event.notification.enabled`: on unless written false (an unreadable value keeps it on). */
  readonly notificationsEnabled: boolean;
  /** The same key as written, for validation. */
  readonly enabledSetting: BooleanSetting;
  readonly callbackUrl: string | undefined;
  readonly signatureKey: string | undefined;
  /** The `whsec_` secrets, oldest first (rotation keeps two). */
  readonly webhookSecrets: readonly string[];
  readonly clientSecret: string | undefined;
  /** Every client secret a webhook may be signed with: the current one, then the previous one. */
  readonly clientSecrets: readonly string[];
  readonly accessToken: string | undefined;
  readonly orderKey: string | undefined;
  /** `ecwid.ion.enabled` as written (see acceptsIon). */
  readonly ionEnabled: BooleanSetting;
  readonly productKey: string | undefined;
  readonly vendorType: string | undefined;
  readonly pollerRefreshInterval: string | undefined;
  readonly pollerConfiguration: string | undefined;
  readonly pollerReconcile: BooleanSetting;
  /** Delivery controls, as written (parsed and checked by core/delivery-controls.ts). */
  readonly eventTypes: string | undefined;
  readonly rateLimit: string | undefined;
  readonly maxConcurrency: string | undefined;
  readonly operationsUrl: string | undefined;
}

/**
 * The typed view of each configuration object already read: ingest asks it of every target
 * several times per request, and the instance caches hand out the same document for many requests.
 * Documents are never changed in place (withConfig and the CLI build new ones).
 */
const CONFIGS = new WeakMap<InstanceDocument['configuration'], InstanceConfig>();

/** The typed view of an instance (or of a bare document). */
export function configOf(source: Instance | InstanceDocument): InstanceConfig {
  const doc = 'document' in source ? source.document : source;
  const { configuration } = doc;
  // Only objects can be remembered (a malformed document is read as before, each time).
  if (typeof configuration !== 'object' || configuration === null) return readConfig(doc);
  const known = CONFIGS.get(configuration);
  if (known !== undefined) return known;
  const config = readConfig(doc);
  Object.freeze(config.webhookSecrets);
  Object.freeze(config.clientSecrets);
  CONFIGS.set(configuration, Object.freeze(config));
  return config;
}

function readConfig(doc: InstanceDocument): InstanceConfig {
  const text = (key: string) => configString(doc, key);
  const enabledSetting = booleanSetting(doc, CONFIG_KEYS.enabled);
  return {
    storeId: text(CONFIG_KEYS.storeId),
    notificationsEnabled: typeof enabledSetting === 'boolean' ? enabledSetting : true,
    enabledSetting,
    callbackUrl: text(CONFIG_KEYS.callbackUrl),
    signatureKey: text(CONFIG_KEYS.signatureKey),
    webhookSecrets: splitSecrets(text(CONFIG_KEYS.webhookSecret)),
    clientSecret: text(CONFIG_KEYS.clientSecret),
    clientSecrets: [text(CONFIG_KEYS.clientSecret), text(CONFIG_KEYS.clientSecretPrevious)].filter((secret): secret is string => secret !== undefined),
    accessToken: text(CONFIG_KEYS.accessToken),
    orderKey: text(CONFIG_KEYS.orderKey),
    ionEnabled: booleanSetting(doc, CONFIG_KEYS.ionEnabled),
    productKey: text(CONFIG_KEYS.productKey),
    vendorType: text(CONFIG_KEYS.vendorType),
    pollerRefreshInterval: text(CONFIG_KEYS.pollerRefreshInterval),
    pollerConfiguration: text(CONFIG_KEYS.pollerConfiguration),
    pollerReconcile: booleanSetting(doc, CONFIG_KEYS.pollerReconcile),
    eventTypes: text(CONFIG_KEYS.eventTypes),
    rateLimit: text(CONFIG_KEYS.rateLimit),
    maxConcurrency: text(CONFIG_KEYS.maxConcurrency),
    operationsUrl: text(CONFIG_KEYS.operationsUrl),
  };
}

/**
 * Whether the instance takes unsigned ION posts: it is set up for them (`ecwid.order.key`), or
 * `ecwid.ion.enabled` turns them on and there is a key to verify them with (order key or access
 * token). `ecwid.ion.enabled` = false refuses them whatever the keys.
 */
export function acceptsIon(config: InstanceConfig): boolean {
  if (config.ionEnabled === false) return false;
  if (config.ionEnabled === true) return config.orderKey !== undefined || config.accessToken !== undefined;
  return config.orderKey !== undefined;
}

/** A copy of the document with some configuration keys set (`undefined` removes a key). */
export function withConfig(doc: InstanceDocument, changes: Readonly<Record<string, ConfigValue | undefined>>): InstanceDocument {
  const configuration: Record<string, ConfigValue> = { ...doc.configuration };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete configuration[key];
    else configuration[key] = value;
  }
  return { ...doc, configuration };
}

/** A configuration value as a trimmed string, or undefined when absent or empty. */
function configString(doc: InstanceDocument, key: string): string | undefined {
  const value = doc.configuration[key];
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

/** Booleans appear both as `true` and `"true"` in instance JSON (any case). */
function booleanSetting(doc: InstanceDocument, key: string): BooleanSetting {
  const value = doc.configuration[key];
  if (value === undefined || value === null || value === '') return 'absent';
  if (typeof value === 'boolean') return value;
  const text = String(value).trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return 'invalid';
}

/** The space-separated `whsec_` secrets of a configuration value (rotation keeps several). */
export const splitSecrets = (value: ConfigValue | undefined): string[] =>
  value === undefined || typeof value === 'boolean' ? [] : String(value).split(/\s+/).filter((token) => token !== '');

// ---- secrets -----------------------------------------------------------------------------------

/** The keys we declare secret: masked in every output, never logged. */
export const SECRET_CONFIG_KEYS: readonly string[] = [
  CONFIG_KEYS.orderKey,
  CONFIG_KEYS.productKey,
  CONFIG_KEYS.clientSecret,
  CONFIG_KEYS.clientSecretPrevious,
  CONFIG_KEYS.accessToken,
  CONFIG_KEYS.signatureKey,
  CONFIG_KEYS.webhookSecret,
];

/**
 * Anything that looks like a secret is one too: an Open Connectors document can carry `password`,
 * `api.token`, ...; unknown keys (and callback URL query parameters) are hidden when in doubt.
 */
const SECRET_LOOKING = /secret|passw|token|credential|private|(^|[._-])(api)?key$/i;

/** Whether the values of this configuration key (or URL query parameter) are secret. */
export function isSecretKey(key: string): boolean {
  return SECRET_CONFIG_KEYS.includes(key) || SECRET_LOOKING.test(key);
}

/**
 * Query parameter names that carry credentials in common receiver URLs although they do not look
 * like one: Azure SAS `sig`, Azure Functions `code`, presigned `X-Amz-Signature`, `auth`, `hmac`...
 */
const SECRET_QUERY_NAME = /^(sig|signature|x-amz-signature|auth|authorization|code|hmac|jwt|sas|session)$/i;

/** Whether the value of this callback URL query parameter is secret. */
export function isSecretQueryParam(name: string): boolean {
  return isSecretKey(name) || SECRET_QUERY_NAME.test(name);
}

/** What a hidden part of a URL is replaced with. */
export const REDACTED_URL_PART = '****';

/**
 * A callback URL as it may be shown: the password of a `user:password@` part and the values of
 * secret-looking query parameters (`?token=...`) are replaced; the rest is kept as written.
 * Text that is not a URL is returned unchanged.
 */
export function redactCallbackUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  const secrets = urlSecretParts(parsed);
  if (secrets.length === 0) return url;
  if (parsed.password) parsed.password = REDACTED_URL_PART;
  // Rebuilt by hand: URLSearchParams would re-encode the parameters that are not secret.
  parsed.search = parsed.search
    .slice(1)
    .split('&')
    .map((pair) => {
      const at = pair.indexOf('=');
      return at > 0 && isSecretQueryParam(safeDecode(pair.slice(0, at))) ? `${pair.slice(0, at)}=${REDACTED_URL_PART}` : pair;
    })
    .join('&');
  return parsed.toString();
}

/**
 * Every secret value of a document, longest first, to scrub from any text that might echo one:
 * the values of secret keys (and each rotated `whsec_` secret), and the callback URL's password
 * and secret query parameters, as written and decoded. Values shorter than 4 characters are left
 * out: scrubbing them would mangle ordinary text, and they protect nothing.
 */
export function secretValuesOf(source: Instance | InstanceDocument): string[] {
  const doc = 'document' in source ? source.document : source;
  const values = new Set<string>();
  for (const [key, value] of Object.entries(doc.configuration ?? {})) {
    if (!isSecretKey(key) || typeof value === 'boolean' || value === undefined || value === null) continue;
    const text = String(value);
    values.add(text);
    values.add(text.trim());
    for (const token of splitSecrets(value)) values.add(token);
  }
  const url = doc.configuration?.[CONFIG_KEYS.callbackUrl];
  if (typeof url === 'string') {
    try {
      for (const part of urlSecretParts(new URL(url.trim()))) {
        values.add(part);
        values.add(safeDecode(part));
      }
    } catch {
      // not a URL: nothing to add
    }
  }
  return [...values].filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
}

/** Replaces every secret of the document in `text` with `replacement`. */
export function scrubSecrets(text: string, secrets: readonly string[], replacement = '***'): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join(replacement);
  return result;
}

/** The URL's password and the values of its secret-looking query parameters, as written. */
function urlSecretParts(url: URL): string[] {
  const parts = url.password ? [url.password] : [];
  for (const pair of url.search.slice(1).split('&')) {
    const at = pair.indexOf('=');
    if (at > 0 && at < pair.length - 1 && isSecretQueryParam(safeDecode(pair.slice(0, at)))) parts.push(pair.slice(at + 1));
  }
  return parts;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
