/**
 * The few Ecwid API reads deliver needs: the legacy v1 Order and Product APIs (keys in the query
 * string) and REST v3 entities (bearer token). "Not found" is an answer (null); everything else that
 * is not a usable 200 throws EcwidApiError, which the caller retries like a failed delivery.
 *
 * Keys and tokens never reach an error message: errors describe the request with the key replaced
 * by `***` (the v1 URL carries it in the query string).
 */
import { parseRetryAfter } from '../retry-policy';

/** Entities deliver fetches through REST v3 (`GET /v3/{storeId}/{collection}/{id}`). */
export type EcwidV3Collection = 'orders' | 'products' | 'customers' | 'categories';

export type EcwidEntity = Record<string, unknown>;

/** What verify.ts needs; tests substitute a fake or point the real client at a local server. */
export interface EcwidApi {
  /** Legacy v1 Order API: the order with this number, or null. */
  getLegacyOrder(storeId: string, orderKey: string, orderNumber: string): Promise<EcwidEntity | null>;
  /** Legacy v1 Product API: the product with this id, or null. */
  getLegacyProduct(storeId: string, productKey: string, productId: string): Promise<EcwidEntity | null>;
  /** REST v3: the entity, or null on 404. */
  getEntity(storeId: string, accessToken: string, collection: EcwidV3Collection, id: string): Promise<EcwidEntity | null>;
}

export class EcwidApiError extends Error {
  override readonly name = 'EcwidApiError';
  constructor(
    message: string,
    /** The HTTP status, when Ecwid answered. */
    readonly status?: number,
    /** Ecwid's `Retry-After` on 429/503, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export interface EcwidApiClientOptions {
  /** e.g. `https://app.ecwid.com/api` (DEFAULTS.ecwidApiBaseUrl), without a trailing slash. */
  readonly baseUrl: string;
  /** @default 10000 */
  readonly timeoutMs?: number;
  /** @default globalThis.fetch (keep-alive through Node's shared dispatcher) */
  readonly fetch?: typeof fetch;
  readonly clock?: () => Date;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const REDACTED = '***';

export class EcwidApiClient implements EcwidApi {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly clock: () => Date;

  constructor(options: EcwidApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.clock = options.clock ?? (() => new Date());
  }

  async getLegacyOrder(storeId: string, orderKey: string, orderNumber: string): Promise<EcwidEntity | null> {
    const path = `/v1/${encodeURIComponent(storeId)}/orders`;
    const query = { secure_auth_key: orderKey, order: orderNumber };
    const answer = await this.get(path, query, {});
    if (answer === null) return null;
    const orders = Array.isArray(answer.orders) ? (answer.orders as unknown[]) : [];
    // The v1 filter is by number; a response for another order would not verify anything.
    const order = orders.find(
      (candidate): candidate is EcwidEntity =>
        isObject(candidate) && String(candidate.number ?? '') === String(orderNumber),
    );
    return order ?? null;
  }

  async getLegacyProduct(storeId: string, productKey: string, productId: string): Promise<EcwidEntity | null> {
    const path = `/v1/${encodeURIComponent(storeId)}/product`;
    return this.get(path, { id: productId, secure_auth_key: productKey }, {});
  }

  async getEntity(storeId: string, accessToken: string, collection: EcwidV3Collection, id: string): Promise<EcwidEntity | null> {
    const path = `/v3/${encodeURIComponent(storeId)}/${collection}/${encodeURIComponent(id)}`;
    return this.get(path, {}, { Authorization: `Bearer ${accessToken}` });
  }

  /** GET with a deadline; 404 -> null; other failures -> EcwidApiError with a redacted description. */
  private async get(
    path: string,
    query: Readonly<Record<string, string>>,
    headers: Readonly<Record<string, string>>,
  ): Promise<EcwidEntity | null> {
    const search = new URLSearchParams(query).toString();
    const url = `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
    const described = `GET ${path}${describeQuery(query)}`;
    let response: Response;
    try {
      response = await this.fetchFn(url, {
        method: 'GET',
        headers: { Accept: 'application/json', ...headers },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new EcwidApiError(`Ecwid API ${described} failed: ${networkReason(error)}`);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.clock());
      throw new EcwidApiError(`Ecwid API ${described} answered HTTP ${response.status}`, response.status, retryAfter);
    }
    let parsed: unknown;
    try {
      parsed = await response.json();
    } catch {
      throw new EcwidApiError(`Ecwid API ${described} answered 200 with a body that is not JSON`, 200);
    }
    if (!isObject(parsed)) throw new EcwidApiError(`Ecwid API ${described} answered 200 with a non-object body`, 200);
    return parsed;
  }
}

/** The query for messages: keys and tokens replaced by `***`. */
function describeQuery(query: Readonly<Record<string, string>>): string {
  const entries = Object.entries(query).map(([name, value]) =>
    `${name}=${SECRET_QUERY_PARAMS.has(name) ? REDACTED : encodeURIComponent(value)}`,
  );
  return entries.length ? `?${entries.join('&')}` : '';
}

const SECRET_QUERY_PARAMS = new Set(['secure_auth_key', 'token']);

/** Replaces the values of secret query parameters in any URL-like text (defence in depth for logs). */
export function redactSecretQueryParams(text: string): string {
  return text.replace(/([?&](?:secure_auth_key|token)=)[^&\s"']*/gi, `$1${REDACTED}`);
}

function networkReason(error: unknown): string {
  // Duck-typed: fetch's errors (DOMException, undici's TypeError) may come from another realm.
  const failure = (typeof error === 'object' && error !== null ? error : {}) as { name?: string; message?: string; cause?: unknown };
  if (failure.name === 'TimeoutError' || failure.name === 'AbortError') return 'timed out';
  const cause = (typeof failure.cause === 'object' && failure.cause !== null ? failure.cause : {}) as { code?: string; message?: string };
  // undici reports "fetch failed" with the socket error as cause; neither names the URL's query.
  return redactSecretQueryParams(cause.code ?? cause.message ?? failure.message ?? 'network error');
}

function isObject(value: unknown): value is EcwidEntity {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
