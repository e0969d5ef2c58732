/**
 * POSTs one callback. Success is any 2xx; redirects are not followed (a 3xx is a failure, like
 * Ecwid's own webhook sender treats it); one deadline covers connect, request and response.
 *
 * The connection goes to the addresses the SSRF check vetted (a `lookup` that answers with them,
 * while SNI and Host stay the URL's host name), so there is no second DNS answer to rebind.
 * Connections are kept alive in module-scope agents, shared by every record and every warm invocation.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './ssrf';
import { parseRetryAfter, RETRY_AFTER_STATUSES } from '../retry-policy';

/** Bumped with package.json's version (a test keeps them equal); not read from disk at run time. */
export const RELAY_VERSION = '0.1.0';
export const USER_AGENT = `ecwid-events/${RELAY_VERSION}`;

const sharedHttpsAgent = new https.Agent({ keepAlive: true });
const sharedHttpAgent = new http.Agent({ keepAlive: true });

/** A URL that passed `checkCallbackUrl`, with the addresses it was checked against. */
export interface VettedTarget {
  readonly url: URL;
  readonly addresses: readonly ResolvedAddress[];
}

export interface CallbackRequest {
  readonly target: VettedTarget;
  readonly body: Buffer;
  /** Id and signature headers (signing.ts); Content-Type and User-Agent are added here. */
  readonly headers: Readonly<Record<string, string>>;
}

export type CallbackResult =
  | { readonly ok: true; readonly status: number }
  | {
      readonly ok: false;
      /** Absent when no HTTP answer came (network error, timeout). */
      readonly status?: number;
      /** From `Retry-After` on a 429/503. */
      readonly retryAfterSeconds?: number;
      /** Safe to log: names the origin, never the path, query or credentials. */
      readonly error: string;
    };

export interface CallbackSender {
  send(request: CallbackRequest): Promise<CallbackResult>;
}

export interface HttpCallbackSenderOptions {
  readonly timeoutMs: number;
  /** Defaults: the module-scope keep-alive agents. */
  readonly httpsAgent?: https.Agent;
  readonly httpAgent?: http.Agent;
  readonly clock?: () => Date;
}

/** Errors a reused keep-alive socket gives when the server closed it while idle. */
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export class HttpCallbackSender implements CallbackSender {
  private readonly timeoutMs: number;
  private readonly httpsAgent: https.Agent;
  private readonly httpAgent: http.Agent;
  private readonly clock: () => Date;

  constructor(options: HttpCallbackSenderOptions) {
    this.timeoutMs = options.timeoutMs;
    this.httpsAgent = options.httpsAgent ?? sharedHttpsAgent;
    this.httpAgent = options.httpAgent ?? sharedHttpAgent;
    this.clock = options.clock ?? (() => new Date());
  }

  async send(request: CallbackRequest): Promise<CallbackResult> {
    const first = await this.attempt(request);
    // A keep-alive socket the server closed while idle fails before any answer; Node's docs
    // recommend retrying exactly that case once, on a fresh connection.
    if (first.kind === 'stale-socket') return toResult(await this.attempt(request), request.target.url);
    return toResult(first, request.target.url);
  }

  private attempt(request: CallbackRequest): Promise<AttemptOutcome> {
    const { url, addresses } = request.target;
    const secure = url.protocol === 'https:';
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    return new Promise<AttemptOutcome>((resolve) => {
      let settled = false;
      const settle = (outcome: AttemptOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      const options: http.RequestOptions = {
        method: 'POST',
        hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
        agent: secure ? this.httpsAgent : this.httpAgent,
        lookup: pinnedLookup(addresses),
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': String(request.body.length),
          'User-Agent': USER_AGENT,
          ...request.headers,
        },
      };
      const req = (secure ? https : http).request(options, (res) => {
        const status = res.statusCode ?? 0;
        const retryAfter = RETRY_AFTER_STATUSES.has(status)
          ? parseRetryAfter(headerValue(res.headers['retry-after']), this.clock())
          : undefined;
        // Drain the body so the socket goes back to the pool; we never need its content.
        res.resume();
        res.on('end', () => settle({ kind: 'answered', status, retryAfterSeconds: retryAfter }));
        res.on('error', (error) => settle({ kind: 'failed', error }));
      });
      const timer = setTimeout(() => {
        req.destroy();
        settle({ kind: 'timeout' });
      }, this.timeoutMs);
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (req.reusedSocket && error.code && STALE_SOCKET_CODES.has(error.code)) settle({ kind: 'stale-socket', error });
        else settle({ kind: 'failed', error });
      });
      req.end(request.body);
    });
  }
}

type AttemptOutcome =
  | { kind: 'answered'; status: number; retryAfterSeconds?: number }
  | { kind: 'timeout' }
  | { kind: 'stale-socket'; error: NodeJS.ErrnoException }
  | { kind: 'failed'; error: NodeJS.ErrnoException };

function toResult(outcome: AttemptOutcome, url: URL): CallbackResult {
  const origin = `${url.protocol}//${url.host}`;
  switch (outcome.kind) {
    case 'answered': {
      const { status, retryAfterSeconds } = outcome;
      if (status >= 200 && status < 300) return { ok: true, status };
      const why = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
      return { ok: false, status, retryAfterSeconds, error: `callback ${origin} answered HTTP ${status}${why}` };
    }
    case 'timeout':
      return { ok: false, error: `callback ${origin} timed out` };
    case 'stale-socket':
    case 'failed':
      return { ok: false, error: `callback ${origin} failed: ${outcome.error.code ?? outcome.error.message}` };
  }
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A `lookup` that answers with the vetted addresses only. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, options: { all?: boolean; family?: number | string }, callback: (...args: unknown[]) => void) => {
    if (addresses.length === 0) {
      callback(Object.assign(new Error('no vetted address'), { code: 'ENOTFOUND' }));
      return;
    }
    if (options?.all) {
      callback(null, addresses.map(({ address, family }) => ({ address, family })));
      return;
    }
    const wanted = Number(options?.family) || 0;
    const chosen = addresses.find((a) => wanted === 0 || a.family === wanted) ?? addresses[0];
    callback(null, chosen.address, chosen.family);
  }) as unknown as LookupFunction;
}
