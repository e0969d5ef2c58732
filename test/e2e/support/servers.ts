/**
 * The two servers an end-to-end test puts around the runner: the customer's callback endpoint
 * and the test kit's Ecwid API stand-in. Both record every request.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { closeServer, listenOnLoopback, LOOPBACK } from '../../../local/servers';
import { ecwidEntityRoutes, startEcwidApi, type EcwidApiStandIn } from '../../../testkit/ecwid-api';
import { flatHeaders, readBody } from '../../../testkit/servers';

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
    void readBody(req).then((body) => {
      const request: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: flatHeaders(req), body };
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
  /** When the order was created, as v1 writes it (`YYYY-MM-DD hh:mm:ss`); v3 answers it as `createDate`. */
  readonly created?: string;
}

export interface FakeEcwidApi extends EcwidApiStandIn {
  /** `${storeId}/${orderNumber}` -> the order's current statuses (v1 and v3). */
  readonly orders: Map<string, FakeOrder>;
  /** `${collection}/${id}` of v3 entities that are gone (404): what a genuine `*.deleted` webhook reports. */
  readonly deleted: Set<string>;
}

/** The test kit's Ecwid API stand-in: v1 orders from `orders` (count 0 when unknown), any v3 entity as `{id}` unless `deleted`. */
export async function startFakeEcwidApi(): Promise<FakeEcwidApi> {
  const orders = new Map<string, FakeOrder>();
  const deleted = new Set<string>();
  const api = await startEcwidApi({
    routes: [
      ecwidEntityRoutes({
        v1Order: (storeId, number) => {
          const order = orders.get(`${storeId}/${number}`);
          return order && { number: Number(number), ...order };
        },
        v3Entity: (storeId, collection, id) => {
          if (deleted.has(`${collection}/${id}`)) return undefined;
          const order = collection === 'orders' ? orders.get(`${storeId}/${id}`) : undefined;
          return { id, ...order, ...(order?.created ? { createDate: order.created } : {}) };
        },
      }),
    ],
  });
  return { ...api, orders, deleted };
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

async function listen(server: Server): Promise<string> {
  return `http://${LOOPBACK}:${await listenOnLoopback(server)}`;
}

/** Closes at once: requests left hanging on purpose are cut, not waited for. */
const close = (server: Server): Promise<void> => closeServer(server, 0);
