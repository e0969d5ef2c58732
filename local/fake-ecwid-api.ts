import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ecwidEntityRoutes, ecwidId, startEcwidApi } from '../testkit/ecwid-api';

/**
 * A DEMO STAND-IN for the Ecwid API, used when the runner is started without --ecwid-api so
 * that events needing verification (ION posts) or enrichment can be delivered out of the box.
 * It knows nothing about real stores: it answers with what it saw in the notifications that
 * went through the runner (the statuses of the last ION post or order webhook for an order)
 * and with placeholder entities otherwise. Every answer says so in `_localDemo`. It is the test
 * kit's Ecwid API stand-in (testkit/ecwid-api.ts) with routes over what the runner saw.
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
  const labelled = (id: string) => ({ id: ecwidId(id), _localDemo: DEMO_LABEL });

  const api = await startEcwidApi({
    record: false,
    closeGraceMs: 5_000,
    headers: { 'x-local-demo': 'ecwid-api-stand-in' },
    notFound: { status: 404, body: { errorMessage: 'not a route of the demo Ecwid API' } },
    onRequest: (request) => {
      requestCount += 1;
      log?.(`demo Ecwid API: ${request.method} ${maskSecrets(new URL(request.url, 'http://localhost'))}`);
    },
    routes: [
      (request) => (request.method === 'GET' ? undefined : { status: 405, body: { errorMessage: 'the demo Ecwid API only answers GET' } }),
      ecwidEntityRoutes({
        requireCredentials: true,
        listFields: { _localDemo: DEMO_LABEL },
        v1Order: (storeId, orderId) => {
          const seen = orders.get(`${storeId}/${orderId}`);
          return seen && v1Order(seen);
        },
        v1Product: (_storeId, id) => labelled(id),
        v3Entity: (storeId, collection, id) => (collection === 'orders' ? v3Order(id, orders.get(`${storeId}/${id}`)) : labelled(id)),
      }),
    ],
  });

  return {
    baseUrl: api.baseUrl,
    get requestCount() {
      return requestCount;
    },
    observe: (event) => {
      const seen = ordersIn(event);
      if (seen) orders.set(seen.key, seen.order);
    },
    close: api.close,
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
  return {
    number: ecwidId(order.orderId),
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
    ...(seen?.date ? { createDate: seen.date } : {}),
    ...(seen?.paymentStatus ? { paymentStatus: seen.paymentStatus } : {}),
    ...(seen?.fulfillmentStatus ? { fulfillmentStatus: seen.fulfillmentStatus } : {}),
    _localDemo: DEMO_LABEL,
  };
}

/** The request line without its secrets (the v1 key travels in the query string). */
export function maskSecrets(url: URL): string {
  const masked = new URL(url.href);
  for (const name of [...masked.searchParams.keys()]) {
    if (/key|token|secret/i.test(name)) masked.searchParams.set(name, '***');
  }
  return `${masked.pathname}${masked.search}`;
}
