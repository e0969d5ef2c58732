import type { SSMClient } from '@aws-sdk/client-ssm';
import type { EventQueue } from '../core/ports';
import { DEFAULTS, ENV } from '../contract';
import { SsmInstanceRepository } from './aws/ssm-instance-repository';

/**
 * What the handlers read from the environment the stack sets (names in ../settings.ts), read
 * the same way by every function.
 */

/**
 * A number from an environment variable, or undefined (the caller's default applies) when it is
 * unset, empty, not a finite number, below `min`, or not whole where `integer` is asked for.
 */
export function envNumber(
  text: string | undefined,
  rule: { readonly min: number; readonly integer?: boolean },
): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < rule.min || (rule.integer === true && !Number.isInteger(value))) return undefined;
  return value;
}

/**
 * The instance configs in Parameter Store: SSM_PREFIX and CONFIG_CACHE_SECONDS (0 = no cache,
 * as Powertools reads a maxAge of 0).
 */
export function ssmInstanceStoreFromEnv(env: NodeJS.ProcessEnv, client: SSMClient): SsmInstanceRepository {
  return new SsmInstanceRepository({
    prefix: env[ENV.ssmPrefix] || DEFAULTS.ssmPrefix,
    maxAgeSeconds: envNumber(env[ENV.configCacheSeconds], { min: 0 }) ?? DEFAULTS.configCacheSeconds,
    client,
  });
}

/** Stands in for a queue whose URL variable is not set: every enqueue fails (ingest answers 503) and names it. */
export function unconfiguredQueue(variable: string): EventQueue {
  return { enqueue: () => Promise.reject(new Error(`environment variable ${variable} is not set`)) };
}
