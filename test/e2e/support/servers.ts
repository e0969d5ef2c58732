/**
 * The two servers an end-to-end test puts around the runner: the customer's callback endpoint
 * and a fake Ecwid API. Both record every request.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { closeServer, listenOnLoopback, LOOPBACK } from '../../../local/servers';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** What the callback endpoint does with one request: a status, or misbehave. */
export type CallbackBehaviour = number | 'hang' | 'reset';

export interface CallbackServer {
  readonly origin: string;
  /** Every request received, answered or not. */
  readonly requests: RecordedRequest[];
  /** Requests answered with a 2xx. */
  readonly delivered: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * `behave(request, attempt)` decides per request; `attempt` counts requests with the same
 * `webhook-id` on the same path (1 for the first).
 */
export async function startCallbackServer(
  behave: (request: RecordedRequest, attempt: number) => CallbackBehaviour = () => 200,
): Promise<CallbackServer> {
  const requests: RecordedRequest[] = [];
  const delivered: RecordedRequest[] = [];
  const attempts = new Map<string, number>();
  const server = createServer((req, res) => {
    void readAll(req).then((body) => {
      const request: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: flat(req), body };
      requests.push(request);
      const key = `${request.path} ${request.headers['webhook-id'] ?? ''}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const behaviour = behave(request, attempt);
      if (behaviour === 'hang') return; // the sender's timeout has to end it
      if (behaviour === 'reset') {
        req.socket.destroy();
        return;
      }
      if (behaviour >= 200 && behaviour < 300) delivered.push(request);
      res.writeHead(behaviour, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  const origin = await listen(server);
  return { origin, requests, delivered, close: () => close(server) };
}

export interface FakeOrder {
  readonly paymentStatus: string;
  readonly fulfillmentStatus: string;
}

export interface FakeEcwidApi {
  /** Base URL for --ecwid-api, e.g. http://127.0.0.1:PORT/api */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** `${storeId}/${orderNumber}` -> the order's current statuses (v1 and v3). */
  readonly orders: Map<string, FakeOrder>;
  close(): Promise<void>;
}

/** A fake Ecwid API: v1 orders from `orders` (count 0 when unknown), any v3 entity as `{id}`. */
export async function startFakeEcwidApi(): Promise<FakeEcwidApi> {
  const requests: RecordedRequest[] = [];
  const orders = new Map<string, FakeOrder>();
  const server = createServer((req, res) => {
    void readAll(req).then((body) => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: flat(req), body });
      const url = new URL(req.url ?? '/', 'http://localhost');
      const v1 = /^\/api\/v1\/(\d+)\/orders$/.exec(url.pathname);
      if (v1) {
        const number = url.searchParams.get('order') ?? '';
        const order = orders.get(`${v1[1]}/${number}`);
        const list = order ? [{ number: Number(number), ...order }] : [];
        return json(res, 200, { count: list.length, total: list.length, orders: list });
      }
      const v3 = /^\/api\/v3\/(\d+)\/(\w+)\/([^/]+)$/.exec(url.pathname);
      if (v3) {
        const order = v3[2] === 'orders' ? orders.get(`${v3[1]}/${v3[3]}`) : undefined;
        return json(res, 200, { id: decodeURIComponent(v3[3]), ...order });
      }
      return json(res, 404, { errorMessage: 'not found' });
    });
  });
  const origin = await listen(server);
  return { baseUrl: `${origin}/api`, requests, orders, close: () => close(server) };
}

/** Open Connectors' signature: sha256= + base64(HMAC-SHA256(key, exact body bytes)). */
export const elementsSignature = (key: string, body: string): string =>
  `sha256=${createHmac('sha256', key).update(body, 'utf8').digest('base64')}`;

/** Standard Webhooks verification (the receiver's side); throws when the signature is wrong. */
export function verifyStandardWebhook(secret: string, request: RecordedRequest): void {
  new Webhook(secret).verify(request.body, {
    'webhook-id': request.headers['webhook-id'] ?? '',
    'webhook-timestamp': request.headers['webhook-timestamp'] ?? '',
    'webhook-signature': request.headers['webhook-signature'] ?? '',
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Request headers as one string each (repeated ones joined). */
export function flat(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) if (values) headers[name] = values.join(', ');
  return headers;
}

/** The whole request body as text (what arrived, even if the request errors). */
export function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function listen(server: Server): Promise<string> {
  return `http://${LOOPBACK}:${await listenOnLoopback(server)}`;
}

/** Closes at once: requests left hanging on purpose are cut, not waited for. */
const close = (server: Server): Promise<void> => closeServer(server, 0);
