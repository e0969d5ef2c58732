import { createServer, type IncomingMessage, type Server } from 'node:http';
import { CONFIG_KEYS, configOf, withConfig, type Instance } from '../functions/core/instance';
import type { InstanceLookup } from '../functions/core/ports';
import { SINK_HOST } from '../functions/contract';
import { closeServer, listenOnLoopback, LOOPBACK } from './servers';

/**
 * The demo callback: an HTTP endpoint of the runner that accepts every delivery and prints it
 * (headers and body: signatures are not secrets, the keys that made them never reach it).
 */

/** Bodies larger than this are counted but not printed in full. */
const PRINT_LIMIT_BYTES = 16 * 1024;
/** The sink never holds more than this of one request. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface SinkDelivery {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface CallbackSink {
  /** http://127.0.0.1:PORT */
  readonly origin: string;
  readonly deliveries: readonly SinkDelivery[];
  close(): Promise<void>;
}

/** Starts the sink on 127.0.0.1 (any free port); `print` gets one block of text per delivery. */
export async function startCallbackSink(print: (text: string) => void): Promise<CallbackSink> {
  const deliveries: SinkDelivery[] = [];
  const server: Server = createServer((req, res) => {
    readLimited(req, MAX_BODY_BYTES)
      .then((body) => {
        const delivery: SinkDelivery = {
          method: req.method ?? 'POST',
          path: req.url ?? '/',
          headers: flatHeaders(req),
          body: body.toString('utf8'),
        };
        deliveries.push(delivery);
        print(formatDelivery(deliveries.length, delivery, body.length));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"received":true}');
      })
      .catch(() => {
        res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
        res.end('{"error":"body too large for the local sink"}');
      });
  });
  const port = await listenOnLoopback(server);
  return {
    origin: `http://${LOOPBACK}:${port}`,
    deliveries,
    close: () => closeServer(server),
  };
}

export function formatDelivery(sequence: number, delivery: SinkDelivery, bytes: number): string {
  const lines = [`── delivery #${sequence} to the local sink: ${delivery.method} ${delivery.path} (${bytes} bytes)`];
  for (const [name, value] of Object.entries(delivery.headers)) lines.push(`   ${name}: ${value}`);
  let body = delivery.body;
  try {
    body = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON: print as received
  }
  if (body.length > PRINT_LIMIT_BYTES) body = `${body.slice(0, PRINT_LIMIT_BYTES)}\n… (${bytes} bytes in all)`;
  lines.push(...body.split('\n').map((line) => `   ${line}`));
  return lines.join('\n');
}

/**
 * The instances the deliver handler reads: instances whose callback URL is on SINK_HOST
 * are pointed at the running sink; everything else passes through unchanged.
 */
export function withSinkCallbacks(store: InstanceLookup, sinkOrigin: string): InstanceLookup {
  return {
    get: async (instanceId) => {
      const instance = await store.get(instanceId);
      return instance && pointAtSink(instance, sinkOrigin);
    },
    findByStore: async (storeId) => (await store.findByStore(storeId)).map((instance) => pointAtSink(instance, sinkOrigin)),
  };
}

export function pointAtSink(instance: Instance, sinkOrigin: string): Instance {
  const value = configOf(instance).callbackUrl;
  if (value === undefined) return instance;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return instance;
  }
  if (url.hostname !== SINK_HOST || url.protocol !== 'http:') return instance;
  const target = `${sinkOrigin}${url.pathname}${url.search}`;
  return { ...instance, document: withConfig(instance.document, { [CONFIG_KEYS.callbackUrl]: target }) };
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) {
    if (values) headers[name] = values.join(', ');
  }
  return headers;
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new Error('too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
