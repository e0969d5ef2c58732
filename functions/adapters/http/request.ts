/**
 * One HTTP(S) request through node:http / node:https, shared by the callback sender and the Ecwid
 * API client. Not `fetch`: the first fetch() of a process loads undici (~30 ms of a cold start
 * against ~9 ms for node:https), and the relay needs nothing undici adds.
 *
 * - One deadline covers connect, request and the whole response (body included).
 * - Redirects are never followed: a 3xx is an answer like any other.
 * - Connections are kept alive in module-scope agents, shared by every client of the process and
 *   every warm invocation. A keep-alive socket the server closed while idle fails before any
 *   answer; Node's docs recommend retrying exactly that case once, on a fresh connection.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { parseRetryAfter } from '../../core/retry-policy';

/** Bumped with package.json's version (a test keeps them equal); not read from disk at run time. */
export const RELAY_VERSION = '0.1.0';
export const USER_AGENT = `ecwid-events/${RELAY_VERSION}`;

export interface HttpAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
}

/** The process-wide keep-alive agents (a connection pool per host and port). */
export const SHARED_AGENTS: HttpAgents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

/** A client's agents: the ones its options name, else the process-wide ones. */
export function agentsOf(options: { readonly httpsAgent?: https.Agent; readonly httpAgent?: http.Agent }): HttpAgents {
  return { https: options.httpsAgent ?? SHARED_AGENTS.https, http: options.httpAgent ?? SHARED_AGENTS.http };
}

export interface HttpRequest {
  readonly method: string;
  /** http: or https:; user info, when present, is sent as Basic auth. */
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  /** Connect, request and response together, the retry on a fresh connection included. */
  readonly timeoutMs: number;
  /** @default SHARED_AGENTS */
  readonly agents?: HttpAgents;
  /** Resolves the host name (the callback sender answers with the vetted addresses). @default DNS */
  readonly lookup?: LookupFunction;
  /** Keep the response body; otherwise it is drained unread (the socket still goes back to the pool). */
  readonly readBody?: boolean;
  /** With `readBody`: keep only this many bytes of it (the rest is drained). @default all of it */
  readonly maxBodyBytes?: number;
}

export type HttpOutcome =
  | {
      readonly kind: 'answered';
      readonly status: number;
      readonly headers: http.IncomingHttpHeaders;
      /** Empty unless `readBody` was set. */
      readonly body: Buffer;
    }
  | { readonly kind: 'timeout' }
  /** No answer: the error names a code (ECONNREFUSED, ...) or Node's message, never the URL's path or query. */
  | { readonly kind: 'failed'; readonly error: NodeJS.ErrnoException };

/** Errors a reused keep-alive socket gives when the server closed it while idle. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const NO_BODY = Buffer.alloc(0);

/** Sends the request; never rejects (every failure is an outcome). */
export async function sendHttpRequest(request: HttpRequest): Promise<HttpOutcome> {
  const deadline = Date.now() + request.timeoutMs;
  const first = await attempt(request, request.timeoutMs);
  if (first.kind !== 'stale-socket') return first;
  const remainingMs = deadline - Date.now();
  if (remainingMs <= 0) return { kind: 'timeout' };
  const second = await attempt(request, remainingMs);
  return second.kind === 'stale-socket' ? { kind: 'failed', error: second.error } : second;
}

/** The answer's `Retry-After` in seconds from `now`, when it has a usable one. */
export function retryAfterOf(headers: http.IncomingHttpHeaders, now: Date): number | undefined {
  const value: string | string[] | undefined = headers['retry-after'];
  return parseRetryAfter(Array.isArray(value) ? value[0] : value, now);
}

type AttemptOutcome = HttpOutcome | { readonly kind: 'stale-socket'; readonly error: NodeJS.ErrnoException };

function attempt(request: HttpRequest, timeoutMs: number): Promise<AttemptOutcome> {
  const { url } = request;
  const secure = url.protocol === 'https:';
  const agents = request.agents ?? SHARED_AGENTS;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let responded = false;
    const settle = (outcome: AttemptOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const onResponse = (res: http.IncomingMessage): void => {
      responded = true;
      const status = res.statusCode ?? 0;
      const chunks: Buffer[] = [];
      const limit = request.maxBodyBytes ?? Infinity;
      let kept = 0;
      if (request.readBody) {
        res.on('data', (chunk: Buffer) => {
          if (kept >= limit) return;
          const part = kept + chunk.length > limit ? chunk.subarray(0, limit - kept) : chunk;
          chunks.push(part);
          kept += part.length;
        });
      } else res.resume();
      res.on('end', () =>
        settle({ kind: 'answered', status, headers: res.headers, body: chunks.length ? Buffer.concat(chunks) : NO_BODY }),
      );
      res.on('error', (error) => settle({ kind: 'failed', error }));
      // A connection lost in the middle of the body closes the response without 'end'.
      res.on('close', () => {
        if (!res.complete) settle({ kind: 'failed', error: Object.assign(new Error('response cut short'), { code: 'ECONNRESET' }) });
      });
    };

    let req: http.ClientRequest;
    try {
      req = (secure ? https : http).request(
        {
          method: request.method,
          // Given so that Node refuses anything but http(s) instead of speaking http to it.
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port === '' ? undefined : Number(url.port),
          path: `${url.pathname}${url.search}`,
          auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
          agent: secure ? agents.https : agents.http,
          lookup: request.lookup,
          headers: request.headers,
        },
        onResponse,
      );
    } catch (error) {
      // Thrown at once for a protocol other than http(s) or a header value Node refuses.
      settle({ kind: 'failed', error: error as NodeJS.ErrnoException });
      return;
    }
    timer = setTimeout(() => {
      req.destroy();
      settle({ kind: 'timeout' });
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!responded && req.reusedSocket && error.code && STALE_SOCKET_CODES.has(error.code)) settle({ kind: 'stale-socket', error });
      else settle({ kind: 'failed', error });
    });
    req.end(request.body);
  });
}
