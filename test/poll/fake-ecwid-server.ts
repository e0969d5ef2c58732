/**
 * A fake Ecwid REST v3 API on 127.0.0.1 for the poller: the search endpoints of orders, products
 * and customers over a FakeEcwidStore, with paging, a bearer token, and rate limiting on demand.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { PollObjectType } from '../../functions/core/poll-config';
import { closeServer, listenOnLoopback, LOOPBACK } from '../../local/servers';
import { FakeEcwidStore } from '../core/poll-fakes';

export interface RecordedRequest {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly authorization?: string;
  readonly status: number;
}

export interface FakeEcwidServer {
  /** e.g. http://127.0.0.1:PORT/api (EcwidPollClient's baseUrl). */
  readonly baseUrl: string;
  readonly store: FakeEcwidStore;
  readonly requests: RecordedRequest[];
  /** The token Ecwid accepts; anything else is 403, no token or an expired one is 401. */
  token: string;
  readonly expiredTokens: Set<string>;
  /** Answer 429 (Retry-After: `retryAfterSeconds`) to the next `n` search requests. */
  rateLimitNext(n: number, retryAfterSeconds?: number): void;
  /** Answer every `n`-th search request with 429 (0 = never). */
  rateLimitEvery: number;
  /**
   * Answer the next search requests with these, one each, in order (after the token check, before
   * rate limiting); `hang` never answers (the connection stays open until close()).
   */
  answerNext(...answers: CannedAnswer[]): void;
  /** Runs before a search is answered (change the store between pages). */
  beforeSearch?: (type: PollObjectType, query: Readonly<Record<string, string>>) => void;
  /** TCP connections accepted so far (keep-alive: one for requests made one after the other). */
  connections(): number;
  close(): Promise<void>;
}

export type CannedAnswer =
  | { readonly status: number; readonly body: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly hang: true };

const TYPES: ReadonlySet<string> = new Set(['orders', 'products', 'customers']);

export async function startFakeEcwidServer(storeId = '1003', token = 'secret_fake_token'): Promise<FakeEcwidServer> {
  const store = new FakeEcwidStore();
  const requests: RecordedRequest[] = [];
  let limitedNext = 0;
  let limitedRetryAfter = 1;
  let searches = 0;
  const canned: CannedAnswer[] = [];
  let connections = 0;

  const fake: FakeEcwidServer = {
    baseUrl: '',
    store,
    requests,
    token,
    expiredTokens: new Set(),
    rateLimitEvery: 0,
    rateLimitNext(n, retryAfterSeconds = 1) {
      limitedNext = n;
      limitedRetryAfter = retryAfterSeconds;
    },
    answerNext: (...answers) => void canned.push(...answers),
    connections: () => connections,
    close: async () => undefined,
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ path: url.pathname, query, authorization: req.headers.authorization, status });
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const match = /^\/api\/v3\/([0-9]+)\/([a-z]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !match || match[1] !== storeId || !TYPES.has(match[2])) {
      return send(404, { errorMessage: 'not found' });
    }
    const auth = req.headers.authorization;
    if (!auth || fake.expiredTokens.has(auth.replace(/^Bearer /, ''))) return send(401, { errorMessage: 'token required' });
    if (auth !== `Bearer ${fake.token}`) return send(403, { errorMessage: 'token not accepted' });

    const answer = canned.shift();
    if (answer && 'hang' in answer) return; // left open: the client's deadline has to end it
    if (answer) {
      requests.push({ path: url.pathname, query, authorization: auth, status: answer.status });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      return res.end(answer.body);
    }
    searches += 1;
    if (limitedNext > 0 || (fake.rateLimitEvery > 0 && searches % fake.rateLimitEvery === 0)) {
      if (limitedNext > 0) limitedNext -= 1;
      return send(429, { errorMessage: 'Too many requests' }, { 'retry-after': String(limitedRetryAfter) });
    }
    const type = match[2] as PollObjectType;
    fake.beforeSearch?.(type, query);
    const limit = Math.min(Number(query.limit ?? 100), 100);
    const offset = Number(query.offset ?? 0);
    const from = Number(query.updatedFrom ?? 0);
    const to = Number(query.updatedTo ?? Number.MAX_SAFE_INTEGER);
    const page = store.search(type, from, to, offset, limit);
    return send(200, { total: page.total, count: page.items.length, offset, limit, items: page.items });
  };

  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  server.on('connection', () => void (connections += 1));
  const port = await listenOnLoopback(server);
  return Object.assign(fake, { baseUrl: `http://${LOOPBACK}:${port}/api`, close: () => closeServer(server, 0) });
}
