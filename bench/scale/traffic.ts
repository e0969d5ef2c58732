/**
 * The simulated population and its traffic: N stores with one instance each (documents shaped as
 * the CLI writes them), and signed Ecwid order webhooks arriving as a Poisson process, the store
 * drawn from a Zipf distribution (a few stores hot: with s = 1.1 over 10,000 stores the busiest
 * sends ~16% of all events, the top 10 ~40%). An event updates one of the store's 5 most recent
 * orders with probability 0.6 (paid, shipped, ...), else it is a new order.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { ecwidWebhookSignature } from '../../functions/core/ecwid/signature';
import { CONFIG_KEYS, type InstanceDocument } from '../../functions/core/instance';

export interface SimStore {
  readonly storeId: string;
  readonly instanceId: string;
  readonly clientSecret: string;
  readonly document: InstanceDocument;
  readonly recentOrders: string[];
}

export function makeStores(count: number): SimStore[] {
  return Array.from({ length: count }, (_, index) => {
    const storeId = String(10_000_000 + index);
    const instanceId = `store-${storeId}`;
    const clientSecret = `client-secret-${index.toString(36).padStart(8, '0')}`;
    const document: InstanceDocument = {
      element: { key: 'ecwid' },
      name: `Store ${storeId}`,
      tags: ['scale-bench'],
      configuration: {
        [CONFIG_KEYS.storeId]: storeId,
        [CONFIG_KEYS.clientSecret]: clientSecret,
        [CONFIG_KEYS.accessToken]: `secret_${index.toString(36).padStart(24, 'x')}`,
        [CONFIG_KEYS.callbackUrl]: `https://hooks-${index % 700}.example.com/ecwid/events/${index}`,
        [CONFIG_KEYS.webhookSecret]: `whsec_${Buffer.from(`bench-signing-key-${index}`).toString('base64')}`,
        [CONFIG_KEYS.signatureKey]: `signature-key-${index}`,
        [CONFIG_KEYS.enabled]: 'true',
        [CONFIG_KEYS.vendorType]: 'webhook',
      },
    };
    return { storeId, instanceId, clientSecret, document, recentOrders: [] };
  });
}

/** Draws store indexes (0 = busiest) from Zipf(s) over `count` stores. */
export function zipfSampler(count: number, s: number, random: () => number): () => number {
  const cumulative = new Float64Array(count);
  let sum = 0;
  for (let rank = 1; rank <= count; rank++) cumulative[rank - 1] = sum += 1 / rank ** s;
  return () => {
    const target = random() * sum;
    let low = 0;
    let high = count - 1;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (cumulative[mid] < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

/** Share of all events the busiest store sends under Zipf(s). */
export function zipfTopShare(count: number, s: number): number {
  let sum = 0;
  for (let rank = 1; rank <= count; rank++) sum += 1 / rank ** s;
  return 1 / sum;
}

export class WebhookTraffic {
  private sequence = 0;
  private orderSequence = 0;

  constructor(
    private readonly stores: readonly SimStore[],
    private readonly pickStore: () => number,
    private readonly random: () => number,
    private readonly epochSeconds: () => number,
  ) {}

  /** The next webhook as API Gateway hands it to ingest, and which store it is for. */
  next(): { event: APIGatewayProxyEventV2; store: SimStore } {
    const store = this.stores[this.pickStore()];
    const sequence = this.sequence++;
    let orderId: string;
    let eventType: string;
    if (store.recentOrders.length > 0 && this.random() < 0.6) {
      orderId = store.recentOrders[Math.floor(this.random() * store.recentOrders.length)];
      eventType = 'order.updated';
    } else {
      orderId = `SIM${(this.orderSequence++).toString(36).toUpperCase()}`;
      eventType = 'order.created';
      store.recentOrders.push(orderId);
      if (store.recentOrders.length > 5) store.recentOrders.shift();
    }
    const eventCreated = this.epochSeconds();
    const eventId = `sim-${sequence.toString(36)}-${store.storeId}`;
    const body = JSON.stringify({
      eventId,
      eventCreated,
      storeId: Number(store.storeId),
      entityId: 100_000_000 + sequence,
      eventType,
      data: { orderId, newPaymentStatus: 'PAID', newFulfillmentStatus: 'AWAITING_PROCESSING' },
    });
    const headers = {
      'content-type': 'application/json; charset=UTF-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-ecwid-webhook-signature': ecwidWebhookSignature(store.clientSecret, eventCreated, eventId),
      'user-agent': 'Ecwid webhooks',
    };
    const event: APIGatewayProxyEventV2 = {
      version: '2.0',
      routeKey: 'POST /events/ecwid',
      rawPath: '/events/ecwid',
      rawQueryString: `eventtype=${eventType}`,
      queryStringParameters: { eventtype: eventType },
      headers,
      requestContext: {
        accountId: '123456789012',
        apiId: 'sim',
        domainName: 'sim.execute-api.us-east-1.amazonaws.com',
        domainPrefix: 'sim',
        http: { method: 'POST', path: '/events/ecwid', protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'Ecwid webhooks' },
        requestId: `sim-${sequence}`,
        routeKey: 'POST /events/ecwid',
        stage: '$default',
        time: '05/Jan/2026:12:00:00 +0000',
        timeEpoch: eventCreated * 1000,
      },
      body,
      isBase64Encoded: false,
    };
    return { event, store };
  }
}
