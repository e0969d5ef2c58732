/**
 * Validation of an instance document (docs/instances.md, "Every configuration key"), listing every
 * problem at once. Used by the CLI before it writes a document; the runtime may reuse it.
 *
 * Messages name the key and what is wrong, never the value: most values are secrets, and
 * even a callback URL can carry credentials.
 */
import { checkCallbackUrl, type CallbackUrlPolicy } from './callback/ssrf';
import { CONFIG_KEYS, configOf, splitSecrets, type InstanceDocument } from './instance';
import type { HostResolver } from './ports';
import { isJsonObject } from './json';
import { deliveryControlsOf } from './delivery-controls';
import { pollSettingProblems } from './poll/settings';

export interface InstanceProblem {
  /** Where: `ecwid.store.id`, `configuration`, `tags`, ... */
  readonly path: string;
  readonly message: string;
}

export interface InstanceValidation {
  /** Problems that make the document unusable. Empty when it can be stored. */
  readonly errors: readonly InstanceProblem[];
  /** Things that are probably mistakes but do not stop the document from working. */
  readonly warnings: readonly InstanceProblem[];
}

/**
 * The SSRF policy the callback URL must pass (callback/ssrf.ts) and the resolver its address check
 * asks. Without a policy only the URL's syntax is checked.
 */
export type InstanceValidationOptions =
  | { readonly callbackPolicy?: undefined }
  | { readonly callbackPolicy: CallbackUrlPolicy; readonly resolveHost: HostResolver };

/** The document cannot be used; `problems` holds every error found. */
export class InstanceValidationError extends Error {
  constructor(
    readonly problems: readonly InstanceProblem[],
    subject = 'instance document',
  ) {
    super(`invalid ${subject} (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${formatProblems(problems)}`);
    this.name = 'InstanceValidationError';
  }
}

/** `path: message; path: message` — one line, for errors and logs. */
export const formatProblems = (problems: readonly InstanceProblem[]): string =>
  problems.map((p) => `${p.path}: ${p.message}`).join('; ');

const TOP_LEVEL_KEYS = new Set(['element', 'configuration', 'tags', 'name']);
const KNOWN_CONFIG_KEYS = new Set<string>(Object.values(CONFIG_KEYS));
/** Template values of the seed instance JSON, e.g. `<INSERT_STORE_ID>`. */
const PLACEHOLDER = /^<[^<>]*>$/;
const STORE_ID = /^(0|[1-9][0-9]{0,19})$/;
/** Standard Webhooks: `whsec_` + base64 of 24 to 64 random bytes. */
const WEBHOOK_SECRET = /^whsec_([A-Za-z0-9+/]+={0,2})$/;
const WEBHOOK_SECRET_MIN_BYTES = 24;
const WEBHOOK_SECRET_MAX_BYTES = 64;

/** Problems of one `whsec_` token, or undefined when it is well formed. */
export function webhookSecretProblem(token: string): string | undefined {
  const match = WEBHOOK_SECRET.exec(token);
  if (!match || match[1].length % 4 !== 0) return 'must be whsec_ followed by base64';
  const bytes = Buffer.from(match[1], 'base64').length;
  if (bytes < WEBHOOK_SECRET_MIN_BYTES || bytes > WEBHOOK_SECRET_MAX_BYTES) {
    return `must decode to ${WEBHOOK_SECRET_MIN_BYTES}-${WEBHOOK_SECRET_MAX_BYTES} bytes`;
  }
  return undefined;
}

/**
 * Every check that needs no network: shape, types, required keys, formats, unknown keys.
 * Returns the document typed as an `InstanceDocument` when there is no error.
 */
export function checkInstanceDocument(input: unknown): InstanceValidation & { readonly document?: InstanceDocument } {
  const errors: InstanceProblem[] = [];
  const warnings: InstanceProblem[] = [];
  const error = (path: string, message: string) => errors.push({ path, message });
  const warn = (path: string, message: string) => warnings.push({ path, message });

  if (!isJsonObject(input)) {
    error('document', 'must be a JSON object');
    return { errors, warnings };
  }
  for (const key of Object.keys(input)) {
    if (!TOP_LEVEL_KEYS.has(key)) warn(key, 'unknown top-level key, ignored');
  }

  if (input.element !== undefined) {
    if (!isJsonObject(input.element)) error('element', 'must be an object like {"key": "ecwid"}');
    else if (input.element.key !== undefined && input.element.key !== 'ecwid') {
      warn('element.key', 'is not "ecwid"');
    }
  }
  if (input.name !== undefined && typeof input.name !== 'string') error('name', 'must be a string');
  else if (typeof input.name === 'string' && PLACEHOLDER.test(input.name.trim())) {
    error('name', 'still holds the template placeholder');
  }
  if (input.tags !== undefined) {
    if (!Array.isArray(input.tags) || !input.tags.every((tag) => typeof tag === 'string')) {
      error('tags', 'must be an array of strings');
    } else if (input.tags.some((tag: string) => PLACEHOLDER.test(tag.trim()))) {
      error('tags', 'still holds the template placeholder');
    }
  }

  const configuration = input.configuration;
  if (!isJsonObject(configuration)) {
    error('configuration', 'is required and must be an object');
    return { errors, warnings };
  }

  for (const [key, value] of Object.entries(configuration)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      error(key, 'must be a string, number or boolean');
      continue;
    }
    if (typeof value === 'string' && PLACEHOLDER.test(value.trim())) {
      error(key, 'still holds the template placeholder');
    }
    if (!KNOWN_CONFIG_KEYS.has(key)) warn(key, 'unknown configuration key, ignored');
  }
  const text = (key: string): string | undefined => {
    const value = configuration[key];
    if (!['string', 'number', 'boolean'].includes(typeof value)) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' || PLACEHOLDER.test(trimmed) ? undefined : trimmed;
  };
  const hasPlaceholder = (key: string): boolean =>
    typeof configuration[key] === 'string' && PLACEHOLDER.test(String(configuration[key]).trim());

  // Store id: routes every notification to this instance (the store index key).
  const storeId = text(CONFIG_KEYS.storeId);
  if (storeId === undefined) {
    if (!hasPlaceholder(CONFIG_KEYS.storeId)) error(CONFIG_KEYS.storeId, 'is required (the Ecwid store id)');
  } else if (!STORE_ID.test(storeId)) {
    error(CONFIG_KEYS.storeId, 'must be the numeric Ecwid store id (digits, no leading zeros)');
  }

  const callbackUrl = text(CONFIG_KEYS.callbackUrl);
  if (callbackUrl === undefined) {
    if (!hasPlaceholder(CONFIG_KEYS.callbackUrl)) error(CONFIG_KEYS.callbackUrl, 'is required');
  } else {
    const problem = callbackUrlSyntaxProblem(callbackUrl);
    if (problem) error(CONFIG_KEYS.callbackUrl, problem);
  }

  // Read as the runtime reads them (instance.ts, poll/settings.ts).
  const asDocument: InstanceDocument = { configuration: configuration as InstanceDocument['configuration'] };
  const typed = configOf(asDocument);
  if (typed.enabledSetting === 'invalid') error(CONFIG_KEYS.enabled, 'must be true or false');
  if (typed.ionEnabled === 'invalid') error(CONFIG_KEYS.ionEnabled, 'must be true or false');
  if (typed.ionEnabled === true && typed.orderKey === undefined && typed.accessToken === undefined) {
    warn(CONFIG_KEYS.ionEnabled, `true, but without ${CONFIG_KEYS.orderKey} or ${CONFIG_KEYS.accessToken} ION posts cannot be verified and are refused`);
  }

  // Polling keys: the poller's own rules (poll/settings.ts), including what polling needs. A key
  // already in error (a placeholder, a wrong type) is not reported twice.
  const keysInError = new Set(errors.map((problem) => problem.path));
  for (const problem of pollSettingProblems(asDocument)) {
    if (!keysInError.has(problem.key)) error(problem.key, problem.message);
  }

  // Delivery controls: the event-type filter (unknown types are warnings), rate and concurrency caps.
  const controls = deliveryControlsOf(asDocument);
  for (const problem of controls.errors) if (!keysInError.has(problem.key)) error(problem.key, problem.message);
  for (const problem of controls.warnings) warn(problem.key, problem.message);
  const operationsUrl = text(CONFIG_KEYS.operationsUrl);
  if (operationsUrl !== undefined) {
    const problem = callbackUrlSyntaxProblem(operationsUrl);
    if (problem) error(CONFIG_KEYS.operationsUrl, problem);
  }

  const secretValue = configuration[CONFIG_KEYS.webhookSecret];
  if (secretValue !== undefined && secretValue !== '') {
    if (typeof secretValue !== 'string') {
      error(CONFIG_KEYS.webhookSecret, 'must be a string of space-separated whsec_ secrets');
    } else {
      splitSecrets(secretValue).forEach((token, index, all) => {
        const problem = webhookSecretProblem(token);
        if (problem) error(CONFIG_KEYS.webhookSecret, all.length > 1 ? `secret ${index + 1} ${problem}` : problem);
      });
    }
  }

  if (text(CONFIG_KEYS.clientSecret) === undefined && !hasPlaceholder(CONFIG_KEYS.clientSecret)) {
    warn(CONFIG_KEYS.clientSecret, 'not set: signed (modern) Ecwid webhooks for this store will be rejected');
  }
  if (text(CONFIG_KEYS.orderKey) === undefined && !hasPlaceholder(CONFIG_KEYS.orderKey) && typed.ionEnabled !== true && typed.ionEnabled !== false) {
    warn(CONFIG_KEYS.orderKey, `not set: legacy ION posts are refused for this instance (set it, or ${CONFIG_KEYS.ionEnabled} = true with ${CONFIG_KEYS.accessToken})`);
  }

  return errors.length === 0 ? { errors, warnings, document: input as unknown as InstanceDocument } : { errors, warnings };
}

/** Syntax only: an absolute http(s) URL without a fragment. The SSRF policy decides the rest. */
export function callbackUrlSyntaxProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be an https:// URL';
  if (parsed.hash !== '') return 'must not contain a #fragment';
  return undefined;
}

/**
 * All checks, including the SSRF policy on the callback URL (which resolves DNS). Never throws
 * for a bad document: every problem is in `errors`.
 */
export async function validateInstanceDocument(
  input: unknown,
  options: InstanceValidationOptions = {},
): Promise<InstanceValidation & { readonly document?: InstanceDocument }> {
  const result = checkInstanceDocument(input);
  const errors = [...result.errors];
  const configuration = isJsonObject(input) && isJsonObject(input.configuration) ? input.configuration : undefined;
  const url = configuration?.[CONFIG_KEYS.callbackUrl];
  const syntaxOk = !errors.some((p) => p.path === CONFIG_KEYS.callbackUrl);
  if (options.callbackPolicy && typeof url === 'string' && url.trim() !== '' && syntaxOk) {
    const check = await checkCallbackUrl(url.trim(), options.callbackPolicy, options.resolveHost);
    if (!check.ok) errors.push({ path: CONFIG_KEYS.callbackUrl, message: check.reason });
  }
  return errors.length === 0
    ? { errors, warnings: result.warnings, document: input as unknown as InstanceDocument }
    : { errors, warnings: result.warnings };
}

/** Like `validateInstanceDocument`, but throws `InstanceValidationError` listing every error. */
export async function assertValidInstanceDocument(
  input: unknown,
  options: InstanceValidationOptions = {},
): Promise<{ document: InstanceDocument; warnings: readonly InstanceProblem[] }> {
  const result = await validateInstanceDocument(input, options);
  if (!result.document) throw new InstanceValidationError(result.errors);
  return { document: result.document, warnings: result.warnings };
}
