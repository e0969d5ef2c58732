/**
 * Which instances are polled, how often and for what: read from the instance configuration.
 *
 * | key | values | default |
 * |---|---|---|
 * | `event.vendor.type` | `webhook` (webhooks only; Open Connectors' `webhooks` too) or `polling` (polling only: ingest ignores its webhooks) | `webhook` |
 * | `event.poller.reconcile` (ours) | `true`: with `webhook`, also poll, delivering only what no webhook reported | `false` |
 * | `event.poller.refresh_interval` | minutes between polls of this instance (whole number, at least 1) | `15` |
 * | `event.poller.configuration` | the objects to poll: JSON object keyed by `orders`, `products`, `customers` (Open Connectors style, values ignored) or a comma-separated list | `orders` |
 *
 * Polling needs `ecwid.access.token` (REST v3, `read_orders` / `read_catalog` / `read_customers`).
 */
import { canonicalStoreId } from '../ecwid/notification';
import { CONFIG_KEYS, configOf, type BooleanSetting, type InstanceDocument } from '../instance';
import { isJsonObject } from '../json';
import { LISTABLE_COLLECTIONS, type ListableCollection } from '../ecwid/objects';

/** What the poller can poll: the Ecwid REST v3 collections listed by update time. */
export const POLL_OBJECT_TYPES = LISTABLE_COLLECTIONS;
export type PollObjectType = ListableCollection;

/**
 * `polling`: the poller is the only source. `reconcile`: webhooks are the source and the poller
 * catches up with what they missed, a little behind real time (RECONCILE_LAG_SECONDS, constants.ts).
 */
export type PollMode = 'polling' | 'reconcile';

export interface PollSettings {
  readonly mode: PollMode;
  readonly intervalMinutes: number;
  readonly objectTypes: readonly PollObjectType[];
}

export const DEFAULT_POLL_INTERVAL_MINUTES = 15;
export const DEFAULT_POLL_OBJECT_TYPES: readonly PollObjectType[] = ['orders'];
/** A week: longer intervals are almost certainly a unit mistake (seconds given as minutes). */
export const MAX_POLL_INTERVAL_MINUTES = 7 * 24 * 60;

export type PollSettingsResult =
  /** The instance is not polled (webhook mode without reconcile). */
  | { readonly kind: 'off' }
  | { readonly kind: 'on'; readonly settings: PollSettings }
  /** Polling is asked for but cannot work; `problems` say why (never a value: it may be secret). */
  | { readonly kind: 'invalid'; readonly problems: readonly string[] };

/** One problem of the polling keys: which key, and what is wrong (never its value). */
export interface PollSettingProblem {
  readonly key: string;
  readonly message: string;
}

/** `webhooks` is what Open Connectors' own instance JSON samples say (test/fixtures). */
const VENDOR_TYPES: Readonly<Record<string, 'webhook' | 'polling'>> = { webhook: 'webhook', webhooks: 'webhook', polling: 'polling' };

/** Every polling key of a document, read once; the rules of this file in one place. */
interface PollKeys {
  /** Undefined when `event.vendor.type` has an unknown value. */
  readonly vendorType: 'webhook' | 'polling' | undefined;
  /** Undefined when `event.poller.reconcile` is neither true nor false. */
  readonly reconcile: boolean | undefined;
  readonly intervalMinutes: number;
  readonly objectTypes: PollObjectType[];
  /**
   * Malformed values of any polling key, and, when polling is (or may be) asked for, what
   * polling needs and is missing. In key order: vendor type, reconcile, interval, objects, store, token.
   */
  readonly problems: PollSettingProblem[];
}

function readPollKeys(doc: InstanceDocument): PollKeys {
  const problems: PollSettingProblem[] = [];
  const reporter = (key: string) => (message: string) => problems.push({ key, message });
  const config = configOf(doc);

  const vendorText = (config.vendorType ?? 'webhook').toLowerCase();
  const vendorType = Object.hasOwn(VENDOR_TYPES, vendorText) ? VENDOR_TYPES[vendorText] : undefined;
  if (vendorType === undefined) reporter(CONFIG_KEYS.vendorType)('must be "webhook" or "polling"');
  const reconcile = booleanSetting(config.pollerReconcile, reporter(CONFIG_KEYS.pollerReconcile));

  const intervalText = config.pollerRefreshInterval;
  let intervalMinutes = DEFAULT_POLL_INTERVAL_MINUTES;
  if (intervalText !== undefined) {
    intervalMinutes = Number(intervalText);
    if (!/^[0-9]+$/.test(intervalText) || intervalMinutes < 1 || intervalMinutes > MAX_POLL_INTERVAL_MINUTES) {
      reporter(CONFIG_KEYS.pollerRefreshInterval)(`must be a whole number of minutes from 1 to ${MAX_POLL_INTERVAL_MINUTES}`);
    }
  }
  const objectTypes = objectTypesOf(config.pollerConfiguration, reporter(CONFIG_KEYS.pollerConfiguration));

  // What polling needs: checked when polling is asked for, or may be (an unreadable reconcile).
  if (vendorType === 'polling' || reconcile !== false) {
    try {
      canonicalStoreId(config.storeId ?? '', CONFIG_KEYS.storeId);
    } catch {
      reporter(CONFIG_KEYS.storeId)('must be the numeric Ecwid store id');
    }
    if (!config.accessToken) {
      reporter(CONFIG_KEYS.accessToken)('is required for polling (REST v3 token with read access)');
    }
  }
  return { vendorType, reconcile, intervalMinutes, objectTypes, problems };
}

/** Reads the polling settings of an instance, listing every problem at once. */
export function pollSettingsOf(doc: InstanceDocument): PollSettingsResult {
  return settingsFrom(readPollKeys(doc));
}

function settingsFrom(keys: PollKeys): PollSettingsResult {
  // Webhooks only: the other polling keys do not matter (instance validation still reports them).
  if (keys.vendorType === 'webhook' && keys.reconcile === false) return { kind: 'off' };
  if (keys.problems.length > 0) return { kind: 'invalid', problems: keys.problems.map(({ key, message }) => `${key} ${message}`) };
  return {
    kind: 'on',
    settings: { mode: keys.vendorType === 'polling' ? 'polling' : 'reconcile', intervalMinutes: keys.intervalMinutes, objectTypes: keys.objectTypes },
  };
}

/**
 * Every problem of the polling keys, whether or not the instance is polled: a malformed value
 * is an error even where it is ignored today. For instance validation (the CLI).
 */
export function pollSettingProblems(doc: InstanceDocument): PollSettingProblem[] {
  return readPollKeys(doc).problems;
}

/**
 * What ingest does with the webhook and ION events of an instance:
 * - `skip`: `event.vendor.type` is `polling`, so the poller is its only source (even while its
 *   polling settings are invalid: the operator chose polling);
 * - `queue`: webhooks only (also when the vendor type is unreadable: better a duplicate than a loss);
 * - `queue-and-sight`: webhooks plus reconciliation polling, so ingest also records a sighting.
 */
export type WebhookHandling = 'skip' | 'queue' | 'queue-and-sight';

export function webhookHandlingOf(doc: InstanceDocument): WebhookHandling {
  // Called per instance on ingest's request path: the keys are read once.
  const keys = readPollKeys(doc);
  if (keys.vendorType === 'polling') return 'skip';
  return settingsFrom(keys).kind === 'on' ? 'queue-and-sight' : 'queue';
}

/** `{"orders":{},"products":{}}` or `orders, products`; absent or empty: orders only. */
function objectTypesOf(text: string | undefined, problem: (message: string) => void): PollObjectType[] {
  if (text === undefined) return [...DEFAULT_POLL_OBJECT_TYPES];
  let names: string[];
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problem('is not valid JSON');
      return [];
    }
    if (!isJsonObject(parsed)) {
      problem('must be a JSON object keyed by object type');
      return [];
    }
    names = Object.keys(parsed);
  } else {
    names = text.split(',').map((name) => name.trim()).filter((name) => name !== '');
  }
  const unknown = names.filter((name) => !(POLL_OBJECT_TYPES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    problem(
      `names unsupported object types (${unknown.map((n) => JSON.stringify(n.slice(0, 40))).join(', ')}); ` +
        `supported: ${POLL_OBJECT_TYPES.join(', ')}`,
    );
  }
  const chosen = POLL_OBJECT_TYPES.filter((type) => names.includes(type));
  if (chosen.length === 0 && unknown.length === 0) return [...DEFAULT_POLL_OBJECT_TYPES];
  return chosen;
}

/** A boolean key (instance.ts): absent or empty is false; anything else is a problem (undefined). */
function booleanSetting(value: BooleanSetting, problem: (message: string) => void): boolean | undefined {
  if (value === 'invalid') {
    problem('must be true or false');
    return undefined;
  }
  return value === 'absent' ? false : value;
}
