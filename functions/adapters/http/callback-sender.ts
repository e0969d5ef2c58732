/**
 * POSTs one callback. Success is any 2xx; redirects are not followed (a 3xx is a failure, like
 * Ecwid's own webhook sender treats it); one deadline covers connect, request and response.
 *
 * The connection goes to the addresses the SSRF check vetted (a `lookup` that answers with them,
 * while SNI and Host stay the URL's host name), so there is no second DNS answer to rebind.
 * Connections are kept alive in the process-wide agents of ../http/request.ts (shared by every
 * record, every warm invocation and the Ecwid API client).
 */
import type http from 'node:http';
import type https from 'node:https';
import type { LookupFunction } from 'node:net';
import { CALLBACK_EXCERPT_BYTES, type CallbackRequest, type CallbackResult, type CallbackSender, type ResolvedAddress } from '../../core/ports';
import { RETRY_AFTER_STATUSES } from '../../core/retry-policy';
import { agentsOf, retryAfterOf, sendHttpRequest, USER_AGENT, type HttpAgents, type HttpOutcome } from './request';


export interface HttpCallbackSenderOptions {
  readonly timeoutMs: number;
  /** Defaults: the module-scope keep-alive agents. */
  readonly httpsAgent?: https.Agent;
  readonly httpAgent?: http.Agent;
  readonly clock?: () => Date;
}

export class HttpCallbackSender implements CallbackSender {
  private readonly timeoutMs: number;
  private readonly agents: HttpAgents;
  private readonly clock: () => Date;

  constructor(options: HttpCallbackSenderOptions) {
    this.timeoutMs = options.timeoutMs;
    this.agents = agentsOf(options);
    this.clock = options.clock ?? (() => new Date());
  }

  async send(request: CallbackRequest): Promise<CallbackResult> {
    const { url, addresses } = request.target;
    const outcome = await sendHttpRequest({
      method: 'POST',
      url,
      headers: {
        'Content-Type': 'application/json',
        'Content-Length': String(request.body.length),
        'User-Agent': USER_AGENT,
        ...request.headers,
      },
      body: request.body,
      timeoutMs: this.timeoutMs,
      agents: this.agents,
      lookup: pinnedLookup(addresses),
      // The start of the answer, for the ledger's attempt record (the core redacts and trims it).
      readBody: true,
      maxBodyBytes: CALLBACK_EXCERPT_BYTES,
    });
    return toResult(outcome, url, this.clock);
  }
}

function toResult(outcome: HttpOutcome, url: URL, clock: () => Date): CallbackResult {
  const origin = `${url.protocol}//${url.host}`;
  switch (outcome.kind) {
    case 'answered': {
      const { status } = outcome;
      const excerpt = outcome.body.length > 0 ? outcome.body.toString('utf8') : undefined;
      if (status >= 200 && status < 300) return { ok: true, status, ...(excerpt === undefined ? {} : { excerpt }) };
      const retryAfterSeconds = RETRY_AFTER_STATUSES.has(status) ? retryAfterOf(outcome.headers, clock()) : undefined;
      const why = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
      return {
        ok: false,
        errorClass: 'http',
        status,
        retryAfterSeconds,
        error: `callback ${origin} answered HTTP ${status}${why}`,
        ...(excerpt === undefined ? {} : { excerpt }),
      };
    }
    case 'timeout':
      return { ok: false, errorClass: 'timeout', error: `callback ${origin} timed out` };
    case 'failed':
      return { ok: false, errorClass: 'connection', error: `callback ${origin} failed: ${outcome.error.code ?? outcome.error.message}` };
  }
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
