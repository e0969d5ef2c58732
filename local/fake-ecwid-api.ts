import { createServer, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { closeServer, listenOnLoopback, LOOPBACK } from './servers';

/**
 * A DEMO STAND-IN for the Ecwid API, used when the runner is started without --ecwid-api so
 * that events needing verification (ION posts) or enrichment can be delivered out of the box.
 * It knows nothing about real stores: it answers with what it saw in the notifications that
 * went through the runner (the statuses of the last ION post or order webhook for an order)
 * and with placeholder entities otherwise. Every answer says so in `_localDemo`.
 */

export const DEMO_LABEL =
  "demo stand-in of the local runner (npm start), not Ecwid: built from the notifications it saw; use --ecwid-api for the real API";

interface SeenOrder {
  readonly orderId: string;
  readonly date?: string;
  readonly paymentStatus?: string;
  readonly fulfillmentStatus?: string;
}

export interface DemoEcwidApi {
  /** Base URL to use as ECWID_API_BASE_URL, e.g. http://127.0.0.1:PORT/api */
  readonly baseUrl: string;
  /** Learns order statuses from a notification on its way to ingest. */
  observe(event: APIGatewayProxyEventV2): void;
  /** Requests answered so far. */
  readonly requestCount: number;
  close(): Promise<void>;
}

/** Starts the stand-in on 127.0.0.1 (any free port). `log` gets one line per request, keys masked. */
export async function startDemoEcwidApi(log?: (line: string) => void): Promise<DemoEcwidApi> {
  const orders = new Map<string, SeenOrder>(); // `${storeId}/${orderId}` -> last seen statuses
  let requestCount = 0;

  const server = createServer((req, res) => {
    requestCount += 1;
    req.resume();
    const url = new URL(req.url ?? '/', 'http://localhost');
    log?.(`demo Ecwid API: ${req.method} ${maskSecrets(url)}`);
    if (req.method !== 'GET') return send(res, 405, { errorMessage: 'the demo Ecwid API only answers GET' });

    const v1 = /^\/api\/v1\/([0-9]+)\/orders$/.exec(url.pathname);
    if (v1) {
      if (!url.searchParams.get('secure_auth_key')) return send(res, 403, { errorMessage: 'secure_auth_key is required' });
      const orderId = url.searchParams.get('order');
      const seen = orderId ? orders.get(`${v1[1]}/${orderId}`) : undefined;
      const list = seen ? [v1Order(seen)] : [];
      return send(res, 200, { count: list.length, total: list.length, orders: list, _localDemo: DEMO_LABEL });
    }

    const v1Product = /^\/api\/v1\/([0-9]+)\/product$/.exec(url.pathname);
    if (v1Product) {
      if (!url.searchParams.get('secure_auth_key')) return send(res, 403, { errorMessage: 'secure_auth_key is required' });
      const id = url.searchParams.get('id') ?? '';
      return send(res, 200, { id: /^[0-9]+$/.test(id) ? Number(id) : id, _localDemo: DEMO_LABEL });
    }

    const v3 = /^\/api\/v3\/([0-9]+)\/([A-Za-z_]+)\/([^/]+)$/.exec(url.pathname);
    if (v3) {
      if (!/^Bearer \S+/.test(req.headers.authorization ?? '')) {
        return send(res, 403, { errorMessage: 'an Authorization: Bearer token is required' });
      }
      const [, storeId, collection, rawId] = v3;
      const id = decodeURIComponent(rawId);
      if (collection === 'orders') return send(res, 200, v3Order(id, orders.get(`${storeId}/${id}`)));
      return send(res, 200, { id: /^[0-9]+$/.test(id) ? Number(id) : id, _localDemo: DEMO_LABEL });
    }
    return send(res, 404, { errorMessage: 'not a route of the demo Ecwid API' });
  });
  const port = await listenOnLoopback(server);

  return {
    baseUrl: `http://${LOOPBACK}:${port}/api`,
    get requestCount() {
      return requestCount;
    },
    observe: (event) => {
      const seen = ordersIn(event);
      if (seen) orders.set(seen.key, seen.order);
    },
    close: () => closeServer(server),
  };
}

/** The order (and its statuses) a notification speaks of: ION form posts and order webhooks. */
export function ordersIn(event: APIGatewayProxyEventV2): { key: string; order: SeenOrder } | undefined {
  if (!event.body) return undefined;
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const contentType = event.headers['content-type'] ?? '';
  if (/application\/x-www-form-urlencoded/i.test(contentType)) {
    const form = new URLSearchParams(text);
    const storeId = form.get('owner_id')?.trim();
    const orderId = form.get('order_id')?.trim();
    if (!storeId || !orderId) return undefined;
    return {
      key: `${storeId}/${orderId}`,
      order: {
        orderId,
        date: form.get('date')?.trim() || undefined,
        paymentStatus: form.get('payment_status')?.trim() || undefined,
        fulfillmentStatus: form.get('fulfillment_status')?.trim() || undefined,
      },
    };
  }
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const data = (body.data ?? {}) as Record<string, unknown>;
    if (typeof body.eventType !== 'string' || !body.eventType.startsWith('order.')) return undefined;
    const orderId = String(data.orderId ?? body.entityId ?? '');
    if (!orderId || body.storeId === undefined) return undefined;
    return {
      key: `${String(body.storeId)}/${orderId}`,
      order: {
        orderId,
        paymentStatus: typeof data.newPaymentStatus === 'string' ? data.newPaymentStatus : undefined,
        fulfillmentStatus: typeof data.newFulfillmentStatus === 'string' ? data.newFulfillmentStatus : undefined,
      },
    };
  } catch {
    return undefined;
  }
}

function v1Order(order: SeenOrder): Record<string, unknown> {
  const number = /^[0-9]+$/.test(order.orderId) ? Number(order.orderId) : order.orderId;
  return {
    number,
    vendorNumber: order.orderId,
    ...(order.date ? { created: order.date } : {}),
    paymentStatus: order.paymentStatus,
    fulfillmentStatus: order.fulfillmentStatus,
    _localDemo: DEMO_LABEL,
  };
}

function v3Order(id: string, seen: SeenOrder | undefined): Record<string, unknown> {
  return {
    id,
    ...(seen?.paymentStatus ? { paymentStatus: seen.paymentStatus } : {}),
    ...(seen?.fulfillmentStatus ? { fulfillmentStatus: seen.fulfillmentStatus } : {}),
    _localDemo: DEMO_LABEL,
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-local-demo': 'ecwid-api-stand-in' });
  res.end(JSON.stringify(body));
}

/** The request line without its secrets (the v1 key travels in the query string). */
export function maskSecrets(url: URL): string {
  const masked = new URL(url.href);
  for (const name of [...masked.searchParams.keys()]) {
    if (/key|token|secret/i.test(name)) masked.searchParams.set(name, '***');
  }
  return `${masked.pathname}${masked.search}`;
}
