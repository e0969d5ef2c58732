/**
 * One stand-in for the Ecwid REST API on 127.0.0.1, with pluggable routes: the entity reads
 * deliver makes (v1 orders and products with a key, v3 entities with a bearer token) and the
 * search endpoints the poller pages through (with tokens, 429s and canned answers). The local
 * runner's demo API (local/fake-ecwid-api.ts), the tests and the bench all serve it with their
 * own routes. Base URL: `${origin}/api`, like https://app.ecwid.com/api.
 */
import http from 'node:http';
import type { PollObjectType } from '../functions/core/poll/settings';
import { FakeEcwidStore } from './ecwid-store';
import { flatHeaders, rawServer, readBody } from './servers';

export interface EcwidApiRequest {
  readonly method: string;
  /** Path and query string, as received. */
  readonly url: string;
  /** The path alone. */
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly authorization?: string;
  readonly body: string;
}

export interface EcwidApiAnswer {
  readonly status: number;
  /** JSON-encoded unless a string. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a route does with a request: an answer, `'hang'` (never answer), or undefined (not mine: next route). */
export type EcwidRoute = (request: EcwidApiRequest) => EcwidApiAnswer | 'hang' | undefined;

/** A request with the status it was answered with (undefined: left hanging). */
export type AnsweredRequest = EcwidApiRequest & { readonly status?: number };

export interface EcwidApiOptions {
  /** Tried in order; the first that answers wins. Unmatched requests get `notFound`. */
  readonly routes: readonly EcwidRoute[];
  /** Headers added to every answer. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Answer to a request no route takes (default 404 `{"errorMessage":"not found"}`). */
  readonly notFound?: EcwidApiAnswer;
  /** Sees each request before the routes do. */
  readonly onRequest?: (request: EcwidApiRequest) => void;
  /** Keep `requests` (off for long runs: a growing list). Default true. */
  readonly record?: boolean;
  /** How long close() lets requests in progress finish; default 0 (cut at once). */
  readonly closeGraceMs?: number;
}

export interface EcwidApiHandler {
  readonly listener: http.RequestListener;
  readonly requests: AnsweredRequest[];
}

/** The stand-in as a request listener (for a server that plays other parts too). */
export function ecwidApiHandler(options: EcwidApiOptions): EcwidApiHandler {
  const requests: AnsweredRequest[] = [];
  const notFound = options.notFound ?? { status: 404, body: { errorMessage: 'not found' } };
  const listener: http.RequestListener = (req, res) => {
    void readBody(req).then((body) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: EcwidApiRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: flatHeaders(req),
        authorization: req.headers.authorization,
        body,
      };
      options.onRequest?.(request);
      let answer: EcwidApiAnswer | 'hang' | undefined;
      for (const route of options.routes) {
        answer = route(request);
        if (answer !== undefined) break;
      }
      answer ??= notFound;
      if (options.record !== false) requests.push(answer === 'hang' ? request : { ...request, status: answer.status });
      if (answer === 'hang') return; // left open: the client's deadline has to end it
      const payload = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': 'application/json', ...options.headers, ...answer.headers });
      res.end(payload);
    });
  };
  return { listener, requests };
}

export interface EcwidApiStandIn {
  readonly origin: string;
  /** e.g. http://127.0.0.1:PORT/api (the API clients' baseUrl). */
  readonly baseUrl: string;
  readonly requests: AnsweredRequest[];
  /** TCP connections accepted so far (keep-alive: one for requests made one after the other). */
  connections(): number;
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 (any free port). */
export async function startEcwidApi(options: EcwidApiOptions): Promise<EcwidApiStandIn> {
  const { listener, requests } = ecwidApiHandler(options);
  const server = await rawServer(listener, options.closeGraceMs);
  return { origin: server.origin, baseUrl: `${server.origin}/api`, requests, connections: server.connections, close: server.close };
}

// ---- entity reads (deliver: verification and enrichment) ---------------------------------------

const json = (status: number, body: unknown): EcwidApiAnswer => ({ status, body });

/** An id as Ecwid types it: numbers for numeric ids. */
export const ecwidId = (id: string): string | number => (/^[0-9]+$/.test(id) ? Number(id) : id);

export interface EntityRoutesOptions {
  /** `GET /api/v1/{store}/orders?order=N`: the order in v1's shape, or undefined (an empty list). Omitted: no v1 orders route. */
  readonly v1Order?: (storeId: string, orderNumber: string) => Record<string, unknown> | undefined;
  /** `GET /api/v1/{store}/product?id=N`. Omitted: no v1 product route. */
  readonly v1Product?: (storeId: string, productId: string) => Record<string, unknown>;
  /** `GET /api/v3/{store}/{collection}/{id}`: the entity, or undefined (404). */
  readonly v3Entity?: (storeId: string, collection: string, id: string) => Record<string, unknown> | undefined;
  /** Answer 403 without a v1 `secure_auth_key` or a v3 bearer token, as Ecwid does. Default false. */
  readonly requireCredentials?: boolean;
  /** Fields added to v1 order lists (a label, say). */
  readonly listFields?: Readonly<Record<string, unknown>>;
}

/** The entity routes, over whatever the caller keeps (a map of orders, what the demo saw). */
export function ecwidEntityRoutes(options: EntityRoutesOptions): EcwidRoute {
  return (request) => {
    if (request.method !== 'GET') return undefined;
    const withoutKey = (): EcwidApiAnswer | undefined =>
      options.requireCredentials && !request.query.secure_auth_key ? json(403, { errorMessage: 'secure_auth_key is required' }) : undefined;

    const v1 = /^\/api\/v1\/([0-9]+)\/orders$/.exec(request.path);
    if (v1 && options.v1Order) {
      const refused = withoutKey();
      if (refused) return refused;
      const order = request.query.order ? options.v1Order(v1[1], request.query.order) : undefined;
      const list = order ? [order] : [];
      return json(200, { count: list.length, total: list.length, orders: list, ...options.listFields });
    }

    const v1Product = /^\/api\/v1\/([0-9]+)\/product$/.exec(request.path);
    if (v1Product && options.v1Product) return withoutKey() ?? json(200, options.v1Product(v1Product[1], request.query.id ?? ''));

    const v3 = /^\/api\/v3\/([0-9]+)\/([A-Za-z_]+)\/([^/]+)$/.exec(request.path);
    if (v3 && options.v3Entity) {
      if (options.requireCredentials && !/^Bearer \S+/.test(request.authorization ?? '')) {
        return json(403, { errorMessage: 'an Authorization: Bearer token is required' });
      }
      const entity = options.v3Entity(v3[1], v3[2], decodeURIComponent(v3[3]));
      return entity === undefined ? json(404, { errorMessage: 'not found' }) : json(200, entity);
    }
    return undefined;
  };
}

// ---- searches (the poller) -----------------------------------------------------------------------

/** An answer given once, in order, instead of the store's; `hang` never answers. */
export type CannedAnswer = { readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>> } | { readonly hang: true };

const SEARCHABLE: ReadonlySet<string> = new Set(['orders', 'products', 'customers']);

/**
 * `GET /api/v3/{store}/{orders|products|customers}?updatedFrom&updatedTo&offset&limit` over a
 * FakeEcwidStore, with a bearer token, rate limiting and canned answers on demand.
 */
export class EcwidSearchRoute {
  /** The token Ecwid accepts; anything else is 403, no token or an expired one is 401. */
  token: string;
  readonly expiredTokens = new Set<string>();
  /** Answer every `n`-th search request with 429 (0 = never). */
  rateLimitEvery = 0;
  /** Runs before a search is answered (change the store between pages). */
  beforeSearch?: (type: PollObjectType, query: Readonly<Record<string, string>>) => void;
  private limitedNext = 0;
  private limitedRetryAfter = 1;
  private searches = 0;
  private readonly canned: CannedAnswer[] = [];

  constructor(
    readonly store: FakeEcwidStore,
    readonly storeId: string,
    token: string,
  ) {
    this.token = token;
  }

  /** Answer 429 (Retry-After: `retryAfterSeconds`) to the next `n` search requests. */
  rateLimitNext(n: number, retryAfterSeconds = 1): void {
    this.limitedNext = n;
    this.limitedRetryAfter = retryAfterSeconds;
  }

  /** Answer the next search requests with these, one each, in order (after the token check, before rate limiting). */
  answerNext(...answers: CannedAnswer[]): void {
    this.canned.push(...answers);
  }

  readonly route: EcwidRoute = (request) => {
    const match = /^\/api\/v3\/([0-9]+)\/([a-z]+)$/.exec(request.path);
    if (request.method !== 'GET' || !match || match[1] !== this.storeId || !SEARCHABLE.has(match[2])) return undefined;
    const auth = request.authorization;
    if (!auth || this.expiredTokens.has(auth.replace(/^Bearer /, ''))) return json(401, { errorMessage: 'token required' });
    if (auth !== `Bearer ${this.token}`) return json(403, { errorMessage: 'token not accepted' });

    const canned = this.canned.shift();
    if (canned) return 'hang' in canned ? 'hang' : canned;
    this.searches += 1;
    if (this.limitedNext > 0 || (this.rateLimitEvery > 0 && this.searches % this.rateLimitEvery === 0)) {
      if (this.limitedNext > 0) this.limitedNext -= 1;
      return { status: 429, body: { errorMessage: 'Too many requests' }, headers: { 'retry-after': String(this.limitedRetryAfter) } };
    }
    const type = match[2] as PollObjectType;
    const { query } = request;
    this.beforeSearch?.(type, query);
    const limit = Math.min(Number(query.limit ?? 100), 100);
    const offset = Number(query.offset ?? 0);
    const from = Number(query.updatedFrom ?? 0);
    const to = Number(query.updatedTo ?? Number.MAX_SAFE_INTEGER);
    const page = this.store.search(type, from, to, offset, limit);
    return json(200, { total: page.total, count: page.items.length, offset, limit, items: page.items });
  };
}

/** The search route served on its own: the poller's Ecwid API (store, token and faults on the same object). */
export type EcwidSearchApi = EcwidSearchRoute & EcwidApiStandIn;

export async function startEcwidSearchApi(storeId = '1003', token = 'secret_fake_token'): Promise<EcwidSearchApi> {
  const search = new EcwidSearchRoute(new FakeEcwidStore(), storeId, token);
  const standIn = await startEcwidApi({ routes: [search.route] });
  return Object.assign(search, standIn);
}
