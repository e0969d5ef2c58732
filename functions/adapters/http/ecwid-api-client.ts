/**
 * The few Ecwid API reads deliver needs: the legacy v1 Order and Product APIs (keys in the query
 * string) and REST v3 entities (bearer token). "Not found" is an answer (null); everything else that
 * is not a usable 200 throws EcwidApiError, which the caller retries like a failed delivery.
 *
 * Keys and tokens never reach an error message: errors describe the request with the key replaced
 * by `***` (the v1 URL carries it in the query string).
 *
 * The poller's list client (ecwid-poll-client.ts) sends its requests through the same pieces exported
 * here (sendEcwidGet, noAnswerReason, parseJsonAnswer, EcwidApiError) and request.ts's retryAfterOf.
 */
import type http from 'node:http';
import type https from 'node:https';
import { REDACTED, redactSecretQueryParams, SECRET_QUERY_PARAMS } from '../../core/ecwid/secrets';
import { isJsonObject } from '../../core/json';
import type { EcwidApi, EcwidEntity, EcwidV3Collection } from '../../core/ports';
import { agentsOf, retryAfterOf, sendHttpRequest, USER_AGENT, type HttpAgents, type HttpOutcome } from './request';

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
  /** One deadline for connect, request and the whole response. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * http is for tests and the local runner (ECWID_API_BASE_URL at 127.0.0.1); the base URL is
   * configuration, never input, so there is no SSRF check here.
   * Defaults: the process-wide keep-alive agents (shared with the callback sender).
   */
  readonly httpsAgent?: https.Agent;
  readonly httpAgent?: http.Agent;
  readonly clock?: () => Date;
}

/** One Ecwid API request's timeout, by default. */
export const DEFAULT_ECWID_TIMEOUT_MS = 10_000;
const UTF8 = new TextDecoder();

export class EcwidApiClient implements EcwidApi {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly agents: HttpAgents;
  private readonly clock: () => Date;

  constructor(options: EcwidApiClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ECWID_TIMEOUT_MS;
    this.agents = agentsOf(options);
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
        isJsonObject(candidate) && String(candidate.number ?? '') === String(orderNumber),
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
    const described = `GET ${path}${describeQuery(query)}`;
    const outcome = await sendEcwidGet({
      url: `${this.baseUrl}${path}${search ? `?${search}` : ''}`,
      described,
      headers,
      timeoutMs: this.timeoutMs,
      agents: this.agents,
    });
    if (outcome.kind !== 'answered') throw new EcwidApiError(`Ecwid API ${described} failed: ${noAnswerReason(outcome)}`);
    if (outcome.status === 404) return null;
    if (outcome.status !== 200) {
      const retryAfter = retryAfterOf(outcome.headers, this.clock());
      throw new EcwidApiError(`Ecwid API ${described} answered HTTP ${outcome.status}`, outcome.status, retryAfter);
    }
    const parsed = parseJsonAnswer(outcome.body, described);
    if (!isJsonObject(parsed)) throw new EcwidApiError(`Ecwid API ${described} answered 200 with a non-object body`, 200);
    return parsed;
  }
}

/** One Ecwid API GET as both Ecwid clients (this one and the poller's) send it. */
export interface EcwidGet {
  /** The full URL, secrets included; it never reaches a message. */
  readonly url: string;
  /** The request as messages show it (`GET /v1/...?secure_auth_key=***`). */
  readonly described: string;
  /** Added to Accept and User-Agent (e.g. Authorization). */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly agents: HttpAgents;
}

/**
 * Sends the GET through the shared request helper (node:http(s), keep-alive agents, one deadline,
 * redirects not followed) with the body read. Throws EcwidApiError only for a URL that does not
 * parse (the base URL is configuration); every other failure is an outcome.
 */
export async function sendEcwidGet(request: EcwidGet): Promise<HttpOutcome> {
  let target: URL;
  try {
    target = new URL(request.url);
  } catch {
    throw new EcwidApiError(`Ecwid API ${request.described} failed: invalid base URL`);
  }
  return sendHttpRequest({
    method: 'GET',
    url: target,
    headers: { Accept: 'application/json', 'User-Agent': USER_AGENT, ...request.headers },
    timeoutMs: request.timeoutMs,
    agents: request.agents,
    readBody: true,
  });
}

/** Why no answer came, for messages: `timed out`, or the socket error's code (never a URL's query). */
export function noAnswerReason(outcome: Exclude<HttpOutcome, { kind: 'answered' }>): string {
  if (outcome.kind === 'timeout') return 'timed out';
  // Node's socket errors name the host and port at most, never the path or query; redacted anyway.
  return redactSecretQueryParams(outcome.error.code ?? outcome.error.message ?? 'network error');
}

/** The JSON of a 200 answer; EcwidApiError when it is not JSON. */
export function parseJsonAnswer(body: Buffer, described: string): unknown {
  try {
    // TextDecoder drops a leading BOM, as fetch's json() did.
    return JSON.parse(UTF8.decode(body));
  } catch {
    throw new EcwidApiError(`Ecwid API ${described} answered 200 with a body that is not JSON`, 200);
  }
}

/** The query for messages: keys and tokens replaced by `***`. */
function describeQuery(query: Readonly<Record<string, string>>): string {
  const entries = Object.entries(query).map(([name, value]) =>
    `${name}=${SECRET_QUERY_PARAMS.has(name) ? REDACTED : encodeURIComponent(value)}`,
  );
  return entries.length ? `?${entries.join('&')}` : '';
}
