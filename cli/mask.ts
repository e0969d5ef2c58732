/**
 * Masking of instance documents for `instances list|show` and every other output. A masked
 * value says only whether a secret is set (and how many, for rotated webhook secrets), never
 * its length or any character of it.
 */
import { CONFIG_KEYS, SECRET_CONFIG_KEYS, type ConfigValue, type InstanceDocument } from '../functions/core/instance-config';
import { webhookSecrets } from '../functions/core/instance-validation';

export const MASKED = '****(set)';
export const NOT_SET = '(not set)';

/**
 * Secret keys: the declared ones plus anything that looks like one (an Open Connectors
 * document can carry `password`, `api.token`, ...): unknown keys are masked when in doubt.
 */
const SECRET_LOOKING = /secret|passw|token|credential|private|(^|[._-])(api)?key$/i;

export function isSecretKey(key: string): boolean {
  return SECRET_CONFIG_KEYS.includes(key) || SECRET_LOOKING.test(key);
}

/** The masked form of one configuration value. */
export function maskConfigValue(key: string, value: ConfigValue): ConfigValue {
  if (!isSecretKey(key)) return key === CONFIG_KEYS.callbackUrl && typeof value === 'string' ? maskUrlCredentials(value) : value;
  if (value === '' || value === undefined || value === null) return NOT_SET;
  if (key === CONFIG_KEYS.webhookSecret) {
    const count = webhookSecrets(value).length;
    if (count === 0) return NOT_SET;
    return count === 1 ? MASKED : `****(${count} set)`;
  }
  return MASKED;
}

/** A copy of the document with every secret masked; the input is not changed. */
export function maskDocument(doc: InstanceDocument): InstanceDocument {
  const configuration: Record<string, ConfigValue> = {};
  for (const [key, value] of Object.entries(doc.configuration ?? {})) configuration[key] = maskConfigValue(key, value);
  return { ...doc, configuration };
}

/** A URL's `user:password@` part can be a credential: keep the user, hide the password. */
export function maskUrlCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '****';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** Every secret value in a document: to scrub text that might echo one, and for tests. */
export function secretValuesOf(doc: InstanceDocument): string[] {
  const values: string[] = [];
  for (const [key, value] of Object.entries(doc.configuration ?? {})) {
    if (!isSecretKey(key) || value === '' || typeof value === 'boolean') continue;
    values.push(String(value));
    if (key === CONFIG_KEYS.webhookSecret) values.push(...webhookSecrets(value));
  }
  try {
    const password = new URL(String(doc.configuration?.[CONFIG_KEYS.callbackUrl] ?? '')).password;
    if (password) values.push(password);
  } catch {
    // not a URL: nothing to add
  }
  return values;
}
