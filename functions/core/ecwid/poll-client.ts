/**
 * The REST v3 search calls the poller makes: `GET /v3/{storeId}/{orders|products|customers}` with
 * `updatedFrom` / `updatedTo` (Unix seconds, documented for all three), `offset` and `limit`
 * (at most 100), answered `{ total, count, offset, limit, items: [...] }`.
 *
 * Ecwid rate-limits per token (HTTP 429 with Retry-After); the client waits as told (bounded)
 * and tries again, as it does for 5xx and network errors, before giving up. 401/403 is never
 * retried: it becomes PollAuthError. The token travels only in the Authorization header and
 * never appears in an error message.
 */
import { parseRetryAfter } from '../retry-policy';
import { PollAuthError, PollRateLimitedError, type PollListRequest, type PollPage, type PollSource, type EcwidObject } from '../poll';
import { EcwidApiError, redactSecretQueryParams } from './api-client';

export interface EcwidPollClientOptions {
  /** e.g. `https://app.ecwid.com/api` (DEFAULTS.ecwidApiBaseUrl), without a trailing slash. */
  readonly baseUrl: string;
  /** @default 15000 */
  readonly timeoutMs?: number;
  /** Retries of one request after 429, 5xx or a network error. @default 4 */
  readonly maxRetries?: number;
  /** Longest single wait, whatever Retry-After says (a longer one gives up instead). @default 60 */
  readonly maxRetryWaitSeconds?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => Date;
  /** Told about each wait (for metrics and logs). */
  readonly onRetry?: (info: { readonly status?: number; readonly waitSeconds: number; readonly attempt: number }) => void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_MAX_RETRY_WAIT_SECONDS = 60;
/** Backoff when Ecwid gives no Retry-After: 2 s, 4 s, 8 s, ... */
const BASE_BACKOFF_SECONDS = 2;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export class EcwidPollClient implements PollSource {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryWaitSeconds: number;
  private readonly fetchFn: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: () => Date;
  private readonly onRetry?: EcwidPollClientOptions['onRetry'];

  constructor(options: EcwidPollClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.maxRetryWaitSeconds = options.maxRetryWaitSeconds ?? DEFAULT_MAX_RETRY_WAIT_SECONDS;
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = options.clock ?? (() => new Date());
    this.onRetry = options.onRetry;
  }

  async list(request: PollListRequest): Promise<PollPage> {
    const query = new URLSearchParams({
      updatedFrom: String(request.updatedFrom),
      updatedTo: String(request.updatedTo),
      offset: String(request.offset),
      limit: String(request.limit),
    }).toString();
    const path = `/v3/${encodeURIComponent(request.storeId)}/${request.objectType}`;
    const described = `GET ${path}?${query}`;
    const url = `${this.baseUrl}${path}?${query}`;

    for (let attempt = 1; ; attempt++) {
      let response: Response | undefined;
      let failure = `Ecwid API ${described} failed`;
      let retryAfter: number | undefined;
      try {
        response = await this.fetchFn(url, {
          method: 'GET',
          headers: { Accept: 'application/json', Authorization: `Bearer ${request.accessToken}` },
          redirect: 'manual',
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        response = undefined;
        failure = `Ecwid API ${described} failed: ${networkReason(error)}`;
      }

      if (response) {
        if (response.status === 200) return parsePage(await readJson(response, described), described);
        await response.body?.cancel();
        if (response.status === 401 || response.status === 403) {
          throw new PollAuthError(`Ecwid API ${described} answered HTTP ${response.status}: the access token is not accepted`, response.status);
        }
        retryAfter = parseRetryAfter(response.headers.get('retry-after'), this.clock());
        failure = `Ecwid API ${described} answered HTTP ${response.status}`;
        if (!isRetryable(response.status)) throw new EcwidApiError(failure, response.status, retryAfter);
      }

      const status = response?.status;
      const wait = retryAfter ?? BASE_BACKOFF_SECONDS * 2 ** (attempt - 1);
      if (attempt > this.maxRetries || wait > this.maxRetryWaitSeconds) {
        if (status === 429) throw new PollRateLimitedError(`${failure} (rate limited; gave up after ${attempt} attempts)`, retryAfter);
        throw new EcwidApiError(`${failure} (gave up after ${attempt} attempts)`, status, retryAfter);
      }
      this.onRetry?.({ status, waitSeconds: wait, attempt });
      await this.sleep(wait * 1000);
    }
  }
}

/** 429 (rate limit) and server trouble are worth another try; any other 4xx is not. */
const isRetryable = (status: number): boolean => status === 429 || status >= 500;

async function readJson(response: Response, described: string): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    throw new EcwidApiError(`Ecwid API ${described} answered 200 with a body that is not JSON`, 200);
  }
}

function parsePage(body: unknown, described: string): PollPage {
  if (!isObject(body) || !Array.isArray(body.items) || typeof body.total !== 'number' || !Number.isFinite(body.total)) {
    throw new EcwidApiError(`Ecwid API ${described} answered 200 without { total, items }`, 200);
  }
  const items = body.items.filter(isObject) as EcwidObject[];
  return { total: body.total, items };
}

function networkReason(error: unknown): string {
  const failure = (typeof error === 'object' && error !== null ? error : {}) as { name?: string; message?: string; cause?: unknown };
  if (failure.name === 'TimeoutError' || failure.name === 'AbortError') return 'timed out';
  const cause = (typeof failure.cause === 'object' && failure.cause !== null ? failure.cause : {}) as { code?: string; message?: string };
  return redactSecretQueryParams(cause.code ?? cause.message ?? failure.message ?? 'network error');
}
