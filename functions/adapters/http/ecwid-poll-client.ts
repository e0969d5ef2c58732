/**
 * The REST v3 search calls the poller makes: `GET /v3/{storeId}/{orders|products|customers}` with
 * `updatedFrom` / `updatedTo` (Unix seconds, documented for all three), `offset` and `limit`
 * (at most 100), answered `{ total, count, offset, limit, items: [...] }`.
 *
 * Ecwid rate-limits per token (HTTP 429 with Retry-After); the client waits as told (bounded)
 * and tries again, as it does for 5xx, timeouts and network errors, before giving up. 401/403 is
 * never retried: it becomes PollAuthError. The token travels only in the Authorization header and
 * never appears in an error message.
 *
 * Requests go through the deliver side's Ecwid pieces (ecwid-api-client.ts) and so through the shared
 * node:http(s) helper with its keep-alive agents: no `fetch`, whose first call loads undici
 * (~30 ms of a cold start).
 */
import type http from 'node:http';
import type https from 'node:https';
import { agentsOf, retryAfterOf, type HttpAgents } from './request';
import { isJsonObject } from '../../core/json';
import { PollAuthError, PollRateLimitedError } from '../../core/poll/errors';
import { type PollListRequest, type PollPage, type PollSource } from '../../core/ports';
import { type EcwidObject } from '../../core/ecwid/objects';
import { EcwidApiError, noAnswerReason, parseJsonAnswer, sendEcwidGet } from './ecwid-api-client';

export interface EcwidPollClientOptions {
  /** e.g. `https://app.ecwid.com/api` (DEFAULTS.ecwidApiBaseUrl), without a trailing slash. */
  readonly baseUrl: string;
  /** @default 15000 */
  readonly timeoutMs?: number;
  /** Retries of one request after 429, 5xx, a timeout or a network error. @default 4 */
  readonly maxRetries?: number;
  /** Longest single wait, whatever Retry-After says (a longer one gives up instead). @default 60 */
  readonly maxRetryWaitSeconds?: number;
  /**
   * http is for tests and the local runner (an Ecwid stand-in at 127.0.0.1).
   * Defaults: the process-wide keep-alive agents (SHARED_AGENTS).
   */
  readonly httpsAgent?: https.Agent;
  readonly httpAgent?: http.Agent;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly clock?: () => Date;
  /**
   * `throw`: a 429 is thrown at once as EcwidApiError (status 429, Retry-After) for the per-token
   * budget in front of this client to wait out and slow down for (core/poll/budgeted-source.ts);
   * `retry`: the client waits and retries itself (without a budget).
   * @default 'retry'
   */
  readonly onTooManyRequests?: 'retry' | 'throw';
  /** Told about each wait (for metrics and logs). */
  readonly onRetry?: (info: { readonly status?: number; readonly waitSeconds: number; readonly attempt: number }) => void;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_RETRIES = 4;
const DEFAULT_MAX_RETRY_WAIT_SECONDS = 60;
/** Backoff when Ecwid gives no Retry-After: 2 s, 4 s, 8 s, ... */
const BASE_BACKOFF_SECONDS = 2;

export class EcwidPollClient implements PollSource {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryWaitSeconds: number;
  private readonly agents: HttpAgents;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly clock: () => Date;
  private readonly onRetry?: EcwidPollClientOptions['onRetry'];
  private readonly throwTooManyRequests: boolean;

  constructor(options: EcwidPollClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.maxRetryWaitSeconds = options.maxRetryWaitSeconds ?? DEFAULT_MAX_RETRY_WAIT_SECONDS;
    this.agents = agentsOf(options);
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.clock = options.clock ?? (() => new Date());
    this.onRetry = options.onRetry;
    this.throwTooManyRequests = options.onTooManyRequests === 'throw';
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
      const outcome = await sendEcwidGet({
        url,
        described,
        headers: { Authorization: `Bearer ${request.accessToken}` },
        timeoutMs: this.timeoutMs,
        agents: this.agents,
      });
      let status: number | undefined;
      let failure: string;
      let retryAfter: number | undefined;
      if (outcome.kind === 'answered') {
        status = outcome.status;
        if (status === 200) return parsePage(parseJsonAnswer(outcome.body, described), described);
        if (status === 401 || status === 403) {
          throw new PollAuthError(`Ecwid API ${described} answered HTTP ${status}: the access token is not accepted`, status);
        }
        retryAfter = retryAfterOf(outcome.headers, this.clock());
        failure = `Ecwid API ${described} answered HTTP ${status}`;
        if (!isRetryable(status) || (status === 429 && this.throwTooManyRequests)) throw new EcwidApiError(failure, status, retryAfter);
      } else {
        failure = `Ecwid API ${described} failed: ${noAnswerReason(outcome)}`;
      }

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

function parsePage(body: unknown, described: string): PollPage {
  if (!isJsonObject(body) || !Array.isArray(body.items) || typeof body.total !== 'number' || !Number.isFinite(body.total)) {
    throw new EcwidApiError(`Ecwid API ${described} answered 200 without { total, items }`, 200);
  }
  const items = body.items.filter(isJsonObject) as EcwidObject[];
  return { total: body.total, items };
}
