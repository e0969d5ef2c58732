/**
 * Small factories and local servers shared by the deliver-side tests (not a test file itself).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import type { DeadLetterDetails, DeliverTelemetry, QueueMessage, RetryScheduler } from '../../functions/core/deliver';
import type { QueuedEvent } from '../../functions/core/event';
import type { ConfigValue, Instance } from '../../functions/core/instance';
import type { InstanceStore } from '../../functions/core/ports';
import { FIXTURES_DIR, fixtureJson, fixtureText } from '../support/factories';

export { fixtureJson };

/** A fixture file's exact bytes (signatures are over bytes). */
export const fixtureBytes = (name: string): Buffer => readFileSync(path.join(FIXTURES_DIR, name));
/** The fields of a (constructed) ION form post fixture. */
export const ionFixtureFields = (name: string): Record<string, string> => Object.fromEntries(new URLSearchParams(fixtureText(name).trim()));

export const RECEIVED_AT = '2024-03-01T12:00:00.000Z';

/** A modern webhook event as ingest queues it (defaults: product.updated of the docs example). */
export function webhookEvent(overrides: Partial<QueuedEvent> = {}): QueuedEvent {
  return {
    v: 1,
    eventId: '08a78904-0aa0-4c1a-953a-2e33c56236f0',
    instanceId: 'shop-a',
    storeId: '1003',
    source: 'webhook',
    ecwidEventType: 'product.updated',
    objectType: 'products',
    objectId: '66722483',
    eventType: 'UPDATED',
    occurredAt: '2016-07-25T06:58:32.000Z',
    receivedAt: RECEIVED_AT,
    verified: true,
    raw: fixtureJson('modern-product-updated.json'),
    ...overrides,
  };
}

/** A legacy ION event as ingest queues it (defaults: the new_order fixture, store 12345, order 124). */
export function ionEvent(overrides: Partial<QueuedEvent> = {}, fields?: Record<string, string>): QueuedEvent {
  const raw = fields ?? ionFixtureFields('legacy-ion-cannon-new-order.CONSTRUCTED.txt');
  return {
    v: 1,
    eventId: 'ion-0123456789abcdef0123456789abcdef',
    instanceId: 'shop-a',
    storeId: '12345',
    source: 'ion',
    ecwidEventType: raw.event_type,
    objectType: 'orders',
    objectId: raw.order_id,
    eventType: raw.event_type === 'new_order' ? 'CREATED' : 'UPDATED',
    receivedAt: RECEIVED_AT,
    verified: false,
    raw,
    ...overrides,
  };
}

export function instance(configuration: Record<string, ConfigValue> = {}, extra: Partial<Instance['document']> = {}): Instance {
  return {
    id: 'shop-a',
    document: {
      element: { key: 'ecwid' },
      name: 'Shop A',
      tags: ['', 'retail'],
      configuration: { 'event.notification.enabled': 'true', ...configuration },
      ...extra,
    },
  };
}

export class MapInstanceStore implements InstanceStore {
  readonly byId = new Map<string, Instance>();
  constructor(...instances: Instance[]) {
    for (const item of instances) this.byId.set(item.id, item);
  }
  async get(instanceId: string): Promise<Instance | undefined> {
    return this.byId.get(instanceId);
  }
  async findByStore(): Promise<Instance[]> {
    return [...this.byId.values()];
  }
}

export class RecordingRetries implements RetryScheduler {
  readonly retried: { messageId: string; delaySeconds: number }[] = [];
  readonly deadLettered: { message: QueueMessage; details: DeadLetterDetails }[] = [];
  async retryLater(message: QueueMessage, delaySeconds: number): Promise<void> {
    this.retried.push({ messageId: message.messageId, delaySeconds });
  }
  async deadLetter(message: QueueMessage, details: DeadLetterDetails): Promise<void> {
    this.deadLettered.push({ message, details });
  }
  readonly released: string[] = [];
  async release(messages: readonly QueueMessage[]): Promise<void> {
    this.released.push(...messages.map((message) => message.messageId));
  }
}

export interface RecordingTelemetry extends DeliverTelemetry {
  readonly logs: { level: string; message: string; attributes?: Readonly<Record<string, unknown>> }[];
  readonly metrics: { name: string; value: number }[];
  countOf(name: string): number;
}

export function recordingTelemetry(): RecordingTelemetry {
  const logs: RecordingTelemetry['logs'] = [];
  const metrics: RecordingTelemetry['metrics'] = [];
  return {
    logs,
    metrics,
    log: (level, message, attributes) => logs.push({ level, message, attributes }),
    count: (name, value = 1) => metrics.push({ name, value }),
    milliseconds: (name, value) => metrics.push({ name, value }),
    countOf: (name) => metrics.filter((metric) => metric.name === name).reduce((sum, metric) => sum + metric.value, 0),
  };
}

export function queueMessage(body: QueuedEvent | string, overrides: Partial<QueueMessage> = {}): QueueMessage {
  return {
    messageId: 'msg-1',
    receiptHandle: 'receipt-1',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    receiveCount: 1,
    firstReceivedAt: '2024-03-01T12:00:01.000Z',
    messageGroupId: 'shop-a:products:66722483',
    messageDeduplicationId: 'shop-a:08a78904-0aa0-4c1a-953a-2e33c56236f0',
    queueArn: 'arn:aws:sqs:eu-west-1:123456789012:events.fifo',
    ...overrides,
  };
}

export function sqsRecord(options: { messageId: string; groupId: string; body?: string; receiveCount?: number }): SQSRecord {
  return {
    messageId: options.messageId,
    receiptHandle: `receipt-${options.messageId}`,
    body: options.body ?? JSON.stringify(webhookEvent({ eventId: options.messageId })),
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: '1709294400000',
      SenderId: 'AIDATEST',
      ApproximateFirstReceiveTimestamp: '1709294401000',
      MessageGroupId: options.groupId,
      MessageDeduplicationId: `dedup-${options.messageId}`,
      SequenceNumber: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:events.fifo',
    awsRegion: 'eu-west-1',
  };
}

// ---- local HTTP servers --------------------------------------------------------------------------

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** Never answer (for timeouts). */
  readonly hang?: boolean;
  /** Answer after this many milliseconds. */
  readonly delayMs?: number;
}

export interface TestServer {
  readonly origin: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  reply: (request: RecordedRequest) => Reply | Promise<Reply>;
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 with a replaceable reply function; records every request. */
export async function startServer(reply: TestServer['reply'] = () => ({ status: 200 })): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      const answer = await state.reply(recorded);
      if (answer.hang) return;
      const send = (): void => {
        const payload =
          answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(payload);
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  server.on('connection', (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const state: TestServer = {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => accepted,
    reply,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return state;
}

/** A bare server whose handler the test writes (for answers startServer cannot give: partial bodies, resets). */
export async function rawServer(handler: http.RequestListener): Promise<{ origin: string; connections(): number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
