/**
 * How `instances list|show` and every other output show an instance document. Which values are
 * secrets is decided in functions/core/instance.ts; this file only chooses what a hidden value
 * looks like. A masked value says only whether a secret is set (and how many, for rotated
 * webhook secrets), never its length or any character of it.
 */
import {
  CONFIG_KEYS,
  isSecretKey,
  redactCallbackUrl,
  splitSecrets,
  type ConfigValue,
  type InstanceDocument,
} from '../functions/core/instance';

export const MASKED = '****(set)';
export const NOT_SET = '(not set)';

/** The masked form of one configuration value. */
export function maskConfigValue(key: string, value: ConfigValue): ConfigValue {
  if (!isSecretKey(key)) return key === CONFIG_KEYS.callbackUrl && typeof value === 'string' ? redactCallbackUrl(value) : value;
  if (value === '' || value === undefined || value === null) return NOT_SET;
  if (key === CONFIG_KEYS.webhookSecret) {
    const count = splitSecrets(value).length;
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
