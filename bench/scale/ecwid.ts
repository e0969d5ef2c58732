/**
 * Ecwid and the callback receivers for the scale simulation, at the ports deliver uses (EcwidApi,
 * CallbackSender, the SSRF guard's resolver), in virtual time.
 *
 * The Ecwid stand-in enforces Ecwid's documented limit of 600 requests a minute per access token
 * as a token bucket of 10 a second (burst 10): a request over it gets 429 with `Retry-After: 1`,
 * as the real client reports it (EcwidApiError with status and retryAfterSeconds). Answers take
 * 150-600 ms (uniform), a 429 50 ms.
 */
import { EcwidApiError } from '../../functions/adapters/http/ecwid-api-client';
import type {
  CallbackRequest,
  CallbackResult,
  CallbackSender,
  EcwidApi,
  EcwidEntity,
  EcwidV3Collection,
  HostResolver,
} from '../../functions/core/ports';
import { TokenBucket } from './aws';
import { PerSecond, type VirtualTime } from './virtual-time';

export const ECWID_LIMIT_PER_SECOND = 10;

export class SimEcwid implements EcwidApi {
  private readonly buckets = new Map<string, TokenBucket>();
  readonly gets: PerSecond;
  readonly tooManyRequests: PerSecond;
  /** store id -> [requests, 429s]. */
  readonly byStore = new Map<string, { requests: number; limited: number }>();

  constructor(
    private readonly time: VirtualTime,
    private readonly random: () => number,
    private readonly latency = { minMs: 150, maxMs: 600 },
  ) {
    this.gets = new PerSecond(time);
    this.tooManyRequests = new PerSecond(time);
  }

  async getEntity(storeId: string, accessToken: string, collection: EcwidV3Collection, id: string): Promise<EcwidEntity | null> {
    return this.request(storeId, accessToken, () => ({ id, collection, updateTimestamp: Math.floor(this.time.epochNow() / 1000) - 1 }));
  }

  async getLegacyOrder(storeId: string, orderKey: string, orderNumber: string): Promise<EcwidEntity | null> {
    return this.request(storeId, orderKey, () => ({ number: orderNumber }));
  }

  async getLegacyProduct(storeId: string, productKey: string, productId: string): Promise<EcwidEntity | null> {
    return this.request(storeId, productKey, () => ({ id: productId }));
  }

  private async request(storeId: string, token: string, answer: () => EcwidEntity): Promise<EcwidEntity> {
    this.gets.add();
    const counts = this.byStore.get(storeId) ?? { requests: 0, limited: 0 };
    this.byStore.set(storeId, counts);
    counts.requests++;
    let bucket = this.buckets.get(token);
    if (!bucket) this.buckets.set(token, (bucket = new TokenBucket(this.time, ECWID_LIMIT_PER_SECOND, ECWID_LIMIT_PER_SECOND)));
    if (!bucket.take()) {
      counts.limited++;
      this.tooManyRequests.add();
      await this.time.sleep(50);
      throw new EcwidApiError(`Ecwid API GET /v3/${storeId}/... answered HTTP 429`, 429, 1);
    }
    await this.time.sleep(this.latency.minMs + this.random() * (this.latency.maxMs - this.latency.minMs));
    return answer();
  }
}

/** Receivers that answer 200 after `answerMs`; counts requests and bytes sent. */
export class SimCallbacks implements CallbackSender {
  readonly delivered: PerSecond;
  bytes = 0;
  constructor(
    private readonly time: VirtualTime,
    private readonly answerMs = 200,
  ) {
    this.delivered = new PerSecond(time);
  }

  async send(request: CallbackRequest): Promise<CallbackResult> {
    const { body, headers, target } = request;
    // Request line, the sender's own headers (~120 B) and ours, the body.
    this.bytes += `POST ${target.url.pathname} HTTP/1.1\r\n`.length + 120 + body.length;
    for (const [name, value] of Object.entries(headers)) this.bytes += name.length + String(value).length + 4;
    await this.time.sleep(this.answerMs);
    this.delivered.add();
    return { ok: true, status: 200 };
  }
}

/** The SSRF guard's DNS lookup: a public address after 1-3 ms (Lambda has no DNS cache of its own). */
export function simResolver(time: VirtualTime, random: () => number): { resolve: HostResolver; lookups: PerSecond } {
  const lookups = new PerSecond(time);
  return {
    lookups,
    resolve: async () => {
      lookups.add();
      await time.sleep(1 + random() * 2);
      return [{ address: '93.184.216.34', family: 4 }];
    },
  };
}
