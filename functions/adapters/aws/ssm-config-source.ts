/**
 * Parameter Store as the source of the instance read model (core/config-sync.ts's ConfigSource).
 *
 * Stamps come from DescribeParameters (metadata only: no value, no KMS call, 50 per page, and a
 * throughput quota of its own, apart from the 40/s GetParameter* quota); pages are paced so that a
 * reconcile of thousands of instances never bursts. Documents come from GetParameters (10 names
 * per call, decrypted: one KMS decrypt per SecureString, billed), only for what changed.
 */
import { DescribeParametersCommand, GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { ConfigSource, SourceRead, VersionStamp } from '../../core/config-sync';
import { INSTANCE_ID_PATTERN } from '../../core/instance';
import { ssmInstanceName } from '../../contract';
import { InvalidInstanceDocumentError, parseInstanceDocument } from '../instance-document';
import { errorText } from '../../core/ports';

/** GetParameters takes at most 10 names. */
const GET_PARAMETERS_MAX_NAMES = 10;
/** DescribeParameters returns at most 50 per page. */
const DESCRIBE_PAGE_SIZE = 50;

export interface SsmConfigSourceOptions {
  /** Parameter prefix, e.g. `/ecwid-events/dev` (contract.ts has the layout). */
  readonly prefix: string;
  readonly client: SSMClient;
  /**
   * Pause between DescribeParameters pages: 200 ms = at most 5 pages (250 instances) a second,
   * 40 s for 10,000 instances.
   * @default 200
   */
  readonly pageIntervalMs?: number;
  /** @default a timer */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class ConfigSourceError extends Error {
  override readonly name = 'ConfigSourceError';
}

export class SsmConfigSource implements ConfigSource {
  private readonly base: string;
  private readonly client: SSMClient;
  private readonly pageIntervalMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** SSM calls made, for benchmarks. */
  readonly calls = { describe: 0, getParameters: 0 };

  constructor(options: SsmConfigSourceOptions) {
    this.base = ssmInstanceName(options.prefix.replace(/\/+$/, ''), '');
    this.client = options.client;
    this.pageIntervalMs = options.pageIntervalMs ?? 200;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  /** The instance id a parameter name stands for, or undefined for any other parameter. */
  instanceIdOf(parameterName: string): string | undefined {
    if (!parameterName.startsWith(this.base)) return undefined;
    const id = parameterName.slice(this.base.length);
    return INSTANCE_ID_PATTERN.test(id) ? id : undefined;
  }

  async stamps(): Promise<VersionStamp[]> {
    const stamps: VersionStamp[] = [];
    let nextToken: string | undefined;
    do {
      if (this.calls.describe > 0 && this.pageIntervalMs > 0) await this.sleep(this.pageIntervalMs);
      this.calls.describe++;
      const page = await this.send('DescribeParameters', () =>
        this.client.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Path', Option: 'OneLevel', Values: [this.base.slice(0, -1)] }],
            MaxResults: DESCRIBE_PAGE_SIZE,
            NextToken: nextToken,
          }),
        ),
      );
      for (const parameter of page.Parameters ?? []) {
        const instanceId = this.instanceIdOf(parameter.Name ?? '');
        if (!instanceId) continue;
        stamps.push({ instanceId, version: parameter.Version ?? 0, modifiedAt: parameter.LastModifiedDate?.getTime() ?? 0 });
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return stamps;
  }

  async read(instanceIds: readonly string[]): Promise<SourceRead[]> {
    const reads: SourceRead[] = [];
    const valid = instanceIds.filter((id) => INSTANCE_ID_PATTERN.test(id));
    for (let start = 0; start < valid.length; start += GET_PARAMETERS_MAX_NAMES) {
      const names = valid.slice(start, start + GET_PARAMETERS_MAX_NAMES).map((id) => `${this.base}${id}`);
      this.calls.getParameters++;
      const answer = await this.send('GetParameters', () =>
        this.client.send(new GetParametersCommand({ Names: names, WithDecryption: true })),
      );
      // Names that do not exist come back in InvalidParameters: they are simply not in the result.
      for (const parameter of answer.Parameters ?? []) {
        const name = parameter.Name ?? '';
        const instanceId = this.instanceIdOf(name);
        if (!instanceId || parameter.Value === undefined) continue;
        const stamp = { instanceId, version: parameter.Version ?? 0, modifiedAt: parameter.LastModifiedDate?.getTime() ?? 0 };
        try {
          reads.push({ ...stamp, document: parseInstanceDocument(parameter.Value, `SSM parameter ${name}`) });
        } catch (error) {
          if (!(error instanceof InvalidInstanceDocumentError)) throw error;
          // The message names the parameter and the problem, never the (secret) content.
          reads.push({ ...stamp, invalid: error.message });
        }
      }
    }
    return reads;
  }

  private async send<T>(operation: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw new ConfigSourceError(`SSM ${operation} under ${this.base} failed (${errorText(error)})`, { cause: error });
    }
  }
}
