/**
 * AWS for the scale simulation, answered in-process at the command level: a client's `send` is
 * replaced (as aws-sdk-client-mock does), so the real adapters build and read real commands while
 * the SDK's own pipeline (serialize, sign, retry) is skipped. That pipeline's CPU is measured once
 * and added to billed durations (see `calibrateSdkCallMs`). Each answer waits a realistic virtual
 * latency; every call is counted per service and operation and per virtual second.
 *
 * Semantics kept: Parameter Store's shared GetParameter* quota (40/s standard, a token bucket; the
 * SDK's 3 attempts with backoff are modelled here since its retry step is skipped), SecureString
 * reads counted as KMS decrypts, DynamoDB items and the store index, KMS data keys, the FIFO queue
 * (message groups, visibility) in queue.ts.
 */
import { randomBytes } from 'node:crypto';
import { PerSecond, type VirtualTime } from './virtual-time';

type Input = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Output = Record<string, unknown>;
interface SdkClient {
  send(command: { input: unknown }): Promise<unknown>;
}

/** Median latency (ms) of each call from a Lambda function in the same region. */
export const LATENCY_MS: Readonly<Record<string, number>> = {
  'SSM.GetParameter': 12,
  'SSM.GetParameters': 14,
  'SSM.DescribeParameters': 25,
  'DynamoDB.GetItem': 4,
  'DynamoDB.Query': 5,
  'DynamoDB.PutItem': 6,
  'DynamoDB.UpdateItem': 6,
  'DynamoDB.DeleteItem': 6,
  'DynamoDB.Scan': 15,
  'KMS.Decrypt': 6,
  'KMS.GenerateDataKey': 8,
  'SQS.SendMessageBatch': 14,
  'SQS.SendMessage': 12,
  'SQS.ChangeMessageVisibility': 8,
  'SQS.ChangeMessageVisibilityBatch': 9,
  'SQS.DeleteMessageBatch': 9,
  'SQS.ReceiveMessage': 10,
};

export class SimAwsError extends Error {
  readonly $metadata = { httpStatusCode: 400 };
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** A token bucket in virtual time. */
export class TokenBucket {
  private tokens: number;
  private last = 0;
  constructor(
    private readonly time: VirtualTime,
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = this.time.now;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export interface SsmParameter {
  value: string;
  version: number;
  modifiedAt: number;
  secure: boolean;
}

export class SimAws {
  /** `SSM.GetParameter` -> calls (every attempt counts, throttled ones too). */
  readonly calls = new Map<string, number>();
  readonly perSecond = new Map<string, PerSecond>();
  readonly ssmParameters = new Map<string, SsmParameter>();
  /** table -> key -> item (DynamoDB attribute maps). */
  readonly tables = new Map<string, Map<string, Record<string, any>>>(); // eslint-disable-line @typescript-eslint/no-explicit-any
  /** table|storeId -> item keys: the read model's store index. */
  private readonly storeIndex = new Map<string, Set<string>>();
  /** Throttled GetParameter* attempts (after the modelled SDK retries, the caller got the error when all 3 were). */
  ssmThrottled = 0;
  ssmThrottledCalls = 0;
  /** Bytes of SQS payload sent, for the 64 KB request chunks. */
  readonly kmsKeys = new Map<string, Buffer>();
  /** Messages handed to a queue: (queueUrl, entries) -> the simulated FIFO queue. */
  onSend: (queueUrl: string, entries: ReadonlyArray<{ Id: string; MessageBody: string; MessageGroupId?: string; MessageDeduplicationId?: string }>) => void = () =>
    undefined;
  onChangeVisibility: (queueUrl: string, receiptHandle: string, seconds: number) => void = () => undefined;
  private readonly ssmQuota: TokenBucket;
  /** Latency spread: median x [0.6, 2.2] from a fixed seeded sequence. */
  private readonly random: () => number;

  constructor(
    private readonly time: VirtualTime,
    options: { ssmGetRatePerSecond?: number; random: () => number },
  ) {
    const rate = options.ssmGetRatePerSecond ?? 40;
    this.ssmQuota = new TokenBucket(time, rate, rate);
    this.random = options.random;
  }

  /** Replaces the client's `send` with the simulation. */
  attach<T extends SdkClient>(client: T, service: 'SSM' | 'DynamoDB' | 'KMS' | 'SQS'): T {
    (client as SdkClient).send = (command: { input: unknown }) => this.answer(service, command, (command as { input: Input }).input);
    return client;
  }

  count(key: string): number {
    return this.calls.get(key) ?? 0;
  }

  countService(service: string): number {
    let total = 0;
    for (const [key, value] of this.calls) if (key.startsWith(`${service}.`)) total += value;
    return total;
  }

  series(key: string): PerSecond {
    let series = this.perSecond.get(key);
    if (!series) this.perSecond.set(key, (series = new PerSecond(this.time)));
    return series;
  }

  private record(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
    this.series(key).add();
    this.series(key.split('.')[0]).add();
  }

  private async answer(service: string, command: object, input: Input): Promise<Output> {
    const operation = command.constructor.name.replace(/Command$/, '');
    const key = `${service}.${operation}`;
    for (let attempt = 1; ; attempt++) {
      this.record(key);
      await this.time.sleep(this.latency(key));
      if (service === 'SSM' && operation.startsWith('GetParameter') && !this.ssmQuota.take()) {
        this.ssmThrottledCalls++;
        // The SDK's standard retry: 3 attempts, exponential backoff with jitter (base 100 ms).
        if (attempt < 3) {
          await this.time.sleep(this.random() * 100 * 2 ** (attempt - 1));
          continue;
        }
        this.ssmThrottled++;
        throw new SimAwsError('ThrottlingException', 'Rate exceeded');
      }
      return { $metadata: {}, ...this.handle(service, operation, input) };
    }
  }

  private latency(key: string): number {
    const median = LATENCY_MS[key] ?? 10;
    // Mostly near the median, a tail up to 2.2x.
    const r = this.random();
    return median * (r < 0.9 ? 0.6 + r * 0.9 : 1.4 + (r - 0.9) * 8);
  }

  private handle(service: string, operation: string, input: Input): Output {
    switch (`${service}.${operation}`) {
      case 'SSM.GetParameter': {
        const parameter = this.ssmParameters.get(input.Name);
        if (!parameter) throw new SimAwsError('ParameterNotFound', `Parameter ${input.Name} not found.`);
        if (parameter.secure && input.WithDecryption) this.record('KMS.Decrypt(SSM)');
        return { Parameter: this.parameterOutput(input.Name, parameter) };
      }
      case 'SSM.GetParameters': {
        const found = (input.Names as string[]).filter((name) => this.ssmParameters.has(name));
        for (const name of found) if (this.ssmParameters.get(name)!.secure && input.WithDecryption) this.record('KMS.Decrypt(SSM)');
        return {
          Parameters: found.map((name) => this.parameterOutput(name, this.ssmParameters.get(name)!)),
          InvalidParameters: (input.Names as string[]).filter((name) => !this.ssmParameters.has(name)),
        };
      }
      case 'SSM.DescribeParameters': {
        const path = `${input.ParameterFilters?.[0]?.Values?.[0] ?? ''}/`;
        const names = [...this.ssmParameters.keys()].filter((name) => name.startsWith(path) && !name.slice(path.length).includes('/')).sort();
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const page = names.slice(start, start + (input.MaxResults ?? 50));
        const next = start + page.length;
        return {
          Parameters: page.map((name) => {
            const p = this.ssmParameters.get(name)!;
            return { Name: name, Version: p.version, LastModifiedDate: new Date(p.modifiedAt) };
          }),
          ...(next < names.length ? { NextToken: String(next) } : {}),
        };
      }
      case 'DynamoDB.GetItem': {
        const item = this.table(input.TableName).get(keyOf(input.Key));
        return item ? { Item: item } : {};
      }
      case 'DynamoDB.Query': {
        // The read model's store index (`storeId = :store`), the only query made here.
        const [value] = Object.values(input.ExpressionAttributeValues ?? {}) as Array<{ S: string }>;
        const keys = this.storeIndex.get(`${input.TableName}|${value.S}`) ?? new Set<string>();
        const table = this.table(input.TableName);
        return { Items: [...keys].map((key) => table.get(key)).filter((item) => item !== undefined) };
      }
      case 'DynamoDB.PutItem': {
        const key = keyOf(input.Item, Object.keys(input.Item).slice(0, 1));
        this.unindex(input.TableName, key);
        this.table(input.TableName).set(key, input.Item);
        const storeId = input.Item.storeId?.S;
        if (storeId) {
          const indexKey = `${input.TableName}|${storeId}`;
          if (!this.storeIndex.has(indexKey)) this.storeIndex.set(indexKey, new Set());
          this.storeIndex.get(indexKey)!.add(key);
        }
        return {};
      }
      case 'DynamoDB.DeleteItem':
        this.unindex(input.TableName, keyOf(input.Key));
        this.table(input.TableName).delete(keyOf(input.Key));
        return {};
      case 'DynamoDB.Scan': {
        // Pages of 1 MB: count the pages a real Scan would need (items as stored).
        const items = [...this.table(input.TableName).values()];
        const start = input.ExclusiveStartKey ? Number(input.ExclusiveStartKey.offset.N) : 0;
        let bytes = 0;
        let end = start;
        while (end < items.length && bytes < 1_000_000) bytes += approximateItemBytes(items[end++]);
        return {
          Items: items.slice(start, end),
          ...(end < items.length ? { LastEvaluatedKey: { offset: { N: String(end) } } } : {}),
        };
      }
      case 'KMS.GenerateDataKey': {
        const plaintext = randomBytes(32);
        const blob = randomBytes(48);
        this.kmsKeys.set(blob.toString('base64'), plaintext);
        return { Plaintext: plaintext, CiphertextBlob: blob, KeyId: input.KeyId };
      }
      case 'KMS.Decrypt': {
        const plaintext = this.kmsKeys.get(Buffer.from(input.CiphertextBlob).toString('base64'));
        if (!plaintext) throw new SimAwsError('InvalidCiphertextException', 'unknown ciphertext');
        return { Plaintext: plaintext };
      }
      case 'SQS.SendMessageBatch': {
        this.onSend(input.QueueUrl, input.Entries);
        return { Successful: (input.Entries as Array<{ Id: string }>).map((entry) => ({ Id: entry.Id, MessageId: entry.Id, MD5OfMessageBody: '' })), Failed: [] };
      }
      case 'SQS.SendMessage':
        this.onSend(input.QueueUrl, [{ Id: '0', MessageBody: input.MessageBody, MessageGroupId: input.MessageGroupId, MessageDeduplicationId: input.MessageDeduplicationId }]);
        return { MessageId: 'm' };
      case 'SQS.ChangeMessageVisibility':
        this.onChangeVisibility(input.QueueUrl, input.ReceiptHandle, input.VisibilityTimeout);
        return {};
      case 'SQS.ChangeMessageVisibilityBatch':
        for (const entry of input.Entries as Array<{ ReceiptHandle: string; VisibilityTimeout: number }>) {
          this.onChangeVisibility(input.QueueUrl, entry.ReceiptHandle, entry.VisibilityTimeout);
        }
        return { Successful: (input.Entries as Array<{ Id: string }>).map((entry) => ({ Id: entry.Id })), Failed: [] };
      case 'SQS.DeleteMessageBatch':
        return { Successful: [], Failed: [] };
      default:
        throw new Error(`the scale simulation does not answer ${service}.${operation}`);
    }
  }

  private unindex(tableName: string, key: string): void {
    const storeId = this.table(tableName).get(key)?.storeId?.S;
    if (storeId) this.storeIndex.get(`${tableName}|${storeId}`)?.delete(key);
  }

  private parameterOutput(name: string, p: SsmParameter) {
    return { Name: name, Value: p.value, Version: p.version, LastModifiedDate: new Date(p.modifiedAt), Type: p.secure ? 'SecureString' : 'String' };
  }

  private table(name: string): Map<string, Record<string, any>> { // eslint-disable-line @typescript-eslint/no-explicit-any
    let table = this.tables.get(name);
    if (!table) this.tables.set(name, (table = new Map()));
    return table;
  }
}

/** An item's key as one string (the first attribute is the partition key in every table here). */
function keyOf(key: Record<string, { S?: string; N?: string }>, names = Object.keys(key)): string {
  return names.map((name) => key[name].S ?? key[name].N).join('|');
}

/** Roughly what DynamoDB counts for an item: names plus values (binary and strings by length). */
export function approximateItemBytes(item: Record<string, { S?: string; N?: string; B?: Uint8Array }>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += name.length + (value.S?.length ?? value.B?.length ?? (value.N ? 8 : 1));
  return bytes;
}
