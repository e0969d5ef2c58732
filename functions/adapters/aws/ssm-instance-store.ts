import { ParameterNotFoundError } from '@aws-lambda-powertools/parameters/errors';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SSMClient } from '@aws-sdk/client-ssm';
import { configOf, INSTANCE_ID_PATTERN, type Instance } from '../../core/instance';
import type { InstanceStore } from '../../core/ports';
import { DEFAULTS, ssmInstanceName, ssmStoreIndexName } from '../../contract';
import { parseInstanceDocument, parseStoreIndex } from '../instance-document';

/** Store ids become part of a parameter name; anything else cannot name a parameter (Ecwid's are numeric). */
export const STORE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * "Not found" is remembered for at most this long. Long enough that hostile or misrouted
 * traffic for one unknown store or instance costs at most one SSM call per 30 s per warm
 * Lambda; short enough that a store an operator just added goes live within half a minute,
 * sooner than a change to an existing instance (which the positive cache may hide for
 * `maxAgeSeconds`). Never longer than `maxAgeSeconds`.
 */
export const NOT_FOUND_MAX_AGE_SECONDS = 30;

/** Bounds the memory of the not-found cache when someone sprays random store ids. */
const NOT_FOUND_MAX_ENTRIES = 10_000;

export interface SsmInstanceStoreOptions {
  /** Parameter prefix, e.g. `/ecwid-events` (see settings.ts for the layout). */
  readonly prefix: string;
  /**
   * How long an instance or store index read from SSM is reused.
   * @default DEFAULTS.configCacheSeconds
   */
  readonly maxAgeSeconds?: number;
  /**
   * How long a missing parameter is remembered as missing.
   * @default min(NOT_FOUND_MAX_AGE_SECONDS, maxAgeSeconds)
   */
  readonly notFoundMaxAgeSeconds?: number;
  /** @default a new SSMClient (region and endpoint from the environment) */
  readonly client?: SSMClient;
}

/** SSM could not answer (throttled, denied, unreachable): the caller should answer 503. */
export class InstanceStoreUnavailableError extends Error {
  constructor(parameterName: string, cause: unknown) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : 'unknown error';
    // AWS error messages name the parameter, never its value; nothing else is added here.
    super(`SSM GetParameter ${parameterName} failed (${reason})`, { cause });
    this.name = 'InstanceStoreUnavailableError';
  }
}

/**
 * Read side of the instance configurations in SSM Parameter Store (one SecureString per
 * instance, one String index per store). Found values are cached by Powertools' SSMProvider for
 * `maxAgeSeconds`; missing ones by a small bounded map, so in the steady state a notification
 * costs no SSM call, however many instances exist.
 */
export class SsmInstanceStore implements InstanceStore {
  private readonly prefix: string;
  private readonly maxAgeSeconds: number;
  private readonly notFoundMaxAgeMs: number;
  private readonly provider: SSMProvider;
  /** parameter name -> epoch ms until which it is known not to exist */
  private readonly notFound = new Map<string, number>();

  constructor(opts: SsmInstanceStoreOptions) {
    this.prefix = opts.prefix.replace(/\/+$/, '');
    this.maxAgeSeconds = opts.maxAgeSeconds ?? DEFAULTS.configCacheSeconds;
    const notFoundSeconds = opts.notFoundMaxAgeSeconds ?? Math.min(NOT_FOUND_MAX_AGE_SECONDS, this.maxAgeSeconds);
    this.notFoundMaxAgeMs = Math.max(0, notFoundSeconds) * 1000;
    this.provider = new SSMProvider({ awsSdkV3Client: opts.client ?? new SSMClient({}) });
  }

  async get(instanceId: string): Promise<Instance | undefined> {
    // An id that cannot be a parameter name cannot exist: no call.
    if (!INSTANCE_ID_PATTERN.test(instanceId)) return undefined;
    const name = ssmInstanceName(this.prefix, instanceId);
    const text = await this.read(name);
    if (text === undefined) return undefined;
    return { id: instanceId, document: parseInstanceDocument(text, `SSM parameter ${name}`) };
  }

  async findByStore(storeId: string): Promise<Instance[]> {
    if (!STORE_ID_PATTERN.test(storeId)) return [];
    const indexName = ssmStoreIndexName(this.prefix, storeId);
    const text = await this.read(indexName);
    if (text === undefined) return [];
    const ids = [...new Set(parseStoreIndex(text, `SSM parameter ${indexName}`))];
    const instances = await Promise.all(ids.map((id) => this.get(id)));
    // The index is maintained separately from the instances and may lag behind them:
    // trust only what the instance itself says.
    return instances.filter((instance): instance is Instance => instance !== undefined && configOf(instance).storeId === storeId);
  }

  /** Forgets every cached value (found and not found). */
  clearCache(): void {
    this.provider.clearCache();
    this.notFound.clear();
  }

  /** The parameter's (decrypted) value, or undefined when it does not exist. */
  private async read(name: string): Promise<string | undefined> {
    const missingUntil = this.notFound.get(name);
    if (missingUntil !== undefined) {
      if (missingUntil > Date.now()) return undefined;
      this.notFound.delete(name);
    }
    try {
      return (await this.provider.get(name, {
        maxAge: this.maxAgeSeconds,
        decrypt: true,
        throwOnMissing: true,
      })) as string;
    } catch (error) {
      if (error instanceof ParameterNotFoundError) {
        this.rememberMissing(name);
        return undefined;
      }
      // Powertools wraps the SDK error; report the SDK's own error name and message.
      throw new InstanceStoreUnavailableError(name, error instanceof Error && error.cause ? error.cause : error);
    }
  }

  private rememberMissing(name: string): void {
    if (this.notFoundMaxAgeMs <= 0) return;
    if (this.notFound.size >= NOT_FOUND_MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.notFound.keys().next().value;
      if (oldest !== undefined) this.notFound.delete(oldest);
    }
    this.notFound.set(name, Date.now() + this.notFoundMaxAgeMs);
  }
}
