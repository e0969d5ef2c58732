/**
 * `npm start` end to end against malformed and hostile requests: each gets its 4xx (from the
 * API Gateway stand-in or from ingest, as in AWS), nothing reaches the queue or the callback,
 * and the runner keeps serving.
 */
import { request as httpRequest } from 'node:http';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { ecwidWebhookSignature } from '../../functions/core/ecwid/signature';
import { CLIENT_SECRET, instanceDocument, modernSamples, postWebhook } from './support/ecwid-posts';
import {
  eventually,
  killLeftovers,
  queueDepth,
  runnerSqs,
  startRunner,
  tempDir,
  writeInstances,
  type RunnerProcess,
} from './support/runner-process';
import { startCallbackServer, type CallbackServer } from './support/servers';

// Each test drives a separate runner process (start-up, retries with real backoff): Jest's 5 s default is too short.
jest.setTimeout(30_000);

const INSTANCE = 'shop';
const sample = modernSamples().find((s) => s.name === 'order-created')!;

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let runner: RunnerProcess;
let sqs: SQSClient;

beforeAll(async () => {
  folder = tempDir('hostile');
  callbacks = await startCallbackServer(() => 200);
  writeInstances(folder.dir, { [INSTANCE]: instanceDocument(1003, `${callbacks.origin}/${INSTANCE}`) });
  runner = await startRunner(['--instances', folder.dir, '--quiet']);
  sqs = runnerSqs(runner.state);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  sqs?.destroy();
  await callbacks?.close();
  folder?.remove();
});

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** Bodies above this are sent as curl sends them: `Expect: 100-continue`, body only once the server agrees. */
const LARGE_BODY_BYTES = 1024 * 1024;

/** Raw HTTP: the path goes out exactly as written (no URL normalization), the body as given. */
function send(method: string, path: string, headers: Record<string, string>, body?: string | Buffer): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(runner.origin);
    const large = body !== undefined && Buffer.byteLength(body) > LARGE_BODY_BYTES;
    const allHeaders = {
      ...headers,
      ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }),
      ...(large ? { expect: '100-continue' } : {}),
    };
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers: allHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (large) {
      req.on('continue', () => req.end(body));
      req.on('response', () => req.destroyed || req.writableEnded || req.end());
    } else {
      req.end(body);
    }
  });
}

const json = { 'content-type': 'application/json' };
const signed = (signature: string) => ({ ...json, 'x-ecwid-webhook-signature': signature });
const goodSignature = ecwidWebhookSignature(CLIENT_SECRET, sample.json.eventCreated, sample.json.eventId);
const otherStore = JSON.stringify({ ...sample.json, storeId: 999_999 });

test.each<[string, string, string, Record<string, string>, string | Buffer | undefined, number, RegExp]>([
  ['bad JSON', 'POST', '/events/ecwid', signed(goodSignature), '{"eventId": "x", ', 400, /"error"/],
  ['JSON that is not an Ecwid event', 'POST', '/events/ecwid', signed(goodSignature), '[1,2,3]', 400, /"error"/],
  ['wrong content type', 'POST', '/events/ecwid', { 'content-type': 'text/plain', 'x-ecwid-webhook-signature': goodSignature }, sample.text, 415, /content type text\/plain/],
  ['no content type', 'POST', '/events/ecwid', {}, sample.text, 415, /"error"/],
  ['body over ingest\'s 64 KiB limit', 'POST', '/events/ecwid', signed(goodSignature), JSON.stringify({ ...sample.json, pad: 'x'.repeat(70_000) }), 413, /limit is 65536/],
  ['body over API Gateway\'s 10 MiB limit', 'POST', '/events/ecwid', signed(goodSignature), Buffer.alloc(11 * 1024 * 1024, 0x20), 413, /Request Entity Too Large/],
  // Answered 200 without queueing (Ecwid must not retry them), all alike: nothing tells a caller which stores are customers.
  ['bad signature', 'POST', '/events/ecwid', signed('ekmGPQc/IpCwO6woAiM+L8uvY6chew4n6JVQCiDrEVx='), sample.text, 200, /^\{"queued":0,"eventId":"[^"]+"\}$/],
  ['no signature', 'POST', '/events/ecwid', json, sample.text, 200, /^\{"queued":0,"eventId":"[^"]+"\}$/],
  ['signature of another event', 'POST', '/events/ecwid', signed(ecwidWebhookSignature(CLIENT_SECRET, 1, 'other')), sample.text, 200, /^\{"queued":0,"eventId":"[^"]+"\}$/],
  ['unknown store', 'POST', '/events/ecwid', signed(goodSignature), otherStore, 200, /^\{"queued":0,"eventId":"[^"]+"\}$/],
  ['event of another store on an instance route', 'POST', `/events/ecwid/${INSTANCE}`, signed(goodSignature), otherStore, 400, /"error"/],
  ['unknown instance', 'POST', '/events/ecwid/nobody', signed(goodSignature), sample.text, 404, /unknown instance/],
  ['path traversal, encoded', 'POST', '/events/ecwid/..%2F..%2Fetc%2Fpasswd', signed(goodSignature), sample.text, 404, /unknown instance/],
  ['path traversal to the instance file', 'POST', `/events/ecwid/..%2F${INSTANCE}`, signed(goodSignature), sample.text, 404, /unknown instance/],
  ['path traversal, dot segments', 'POST', '/events/ecwid/../../etc/passwd', signed(goodSignature), sample.text, 404, /Not Found/],
  ['an instance id with a NUL byte', 'POST', '/events/ecwid/shop%00.json', signed(goodSignature), sample.text, 404, /unknown instance/],
  ['broken percent-encoding', 'POST', '/events/ecwid/%E0%A4%A', signed(goodSignature), sample.text, 400, /Bad Request/],
  ['GET', 'GET', '/events/ecwid', {}, undefined, 405, /Method Not Allowed/],
  ['another path', 'POST', '/admin', json, '{}', 404, /Not Found/],
])('%s (%s %s)', async (_name, method, path, headers, body, status, answer) => {
  const reply = await send(method, path, headers, body);
  expect(reply.status).toBe(status);
  expect(reply.body).toMatch(answer);
});

test('none of them queued or delivered anything, and the runner still serves', async () => {
  // Ingest enqueues before it answers: anything accepted above would be on the queue or delivered by now.
  expect(await queueDepth(sqs, runner.state.queueUrl)).toBe(0);
  expect(callbacks.requests).toHaveLength(0);

  const response = await postWebhook(`${runner.ingestUrl}/${INSTANCE}`, sample);
  expect(response.status).toBe(200);
  await eventually(() => callbacks.delivered.length === 1, () => 'the valid event was not delivered');
  expect(JSON.parse(callbacks.delivered[0].body).id).toBe(`${INSTANCE}:${sample.json.eventId}`);
  expect(runner.child.exitCode).toBeNull();
});
