/**
 * Local HTTP servers for tests and the bench, on 127.0.0.1 only: a bare one whose handler the
 * caller writes, and a recording one with a replaceable reply. Both count TCP connections and
 * by default close at once (requests left hanging on purpose are cut, not waited for).
 */
import http from 'node:http';
import { closeServer, listenOnLoopback, LOOPBACK } from '../local/servers';

export { LOOPBACK };

export interface RawServer {
  /** e.g. http://127.0.0.1:PORT */
  readonly origin: string;
  readonly port: number;
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A server whose handler the caller writes (answers the others cannot give: partial bodies, resets).
 * `closeGraceMs`: how long close() lets requests in progress finish (0: cut at once).
 */
export async function rawServer(handler: http.RequestListener, closeGraceMs = 0): Promise<RawServer> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => void (connections += 1));
  const port = await listenOnLoopback(server);
  return { origin: `http://${LOOPBACK}:${port}`, port, connections: () => connections, close: () => closeServer(server, closeGraceMs) };
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query string, as received. */
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Reply {
  readonly status: number;
  /** JSON-encoded unless a string. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Never answer (for timeouts). */
  readonly hang?: boolean;
  /** Answer after this many milliseconds. */
  readonly delayMs?: number;
}

export interface TestServer extends RawServer {
  readonly requests: RecordedRequest[];
  reply: (request: RecordedRequest) => Reply | Promise<Reply>;
}

/** A server with a replaceable reply function (200 by default); records every request. */
export async function startServer(reply: TestServer['reply'] = () => ({ status: 200 })): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = await rawServer((req, res) => {
    void readBytes(req).then(async (body) => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(recorded);
      const answer = await state.reply(recorded);
      if (answer.hang) return;
      const send = (): void => {
        const payload = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(payload);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  const state: TestServer = { ...server, requests, reply };
  return state;
}

/** The whole request body (what arrived, even if the request errors). */
export function readBytes(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', () => resolve(Buffer.concat(chunks)));
  });
}

/** The whole request body as UTF-8 text. */
export const readBody = async (request: http.IncomingMessage): Promise<string> => (await readBytes(request)).toString('utf8');

/** Request headers as one string each (repeated ones joined). */
export function flatHeaders(request: http.IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) if (values) headers[name] = values.join(', ');
  return headers;
}
