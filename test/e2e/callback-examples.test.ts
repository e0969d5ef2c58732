/**
 * docs/callback-contract.md against real deliveries: each example under "Examples by object type"
 * is replayed into `npm start` (its `raw.webhook` signed as Ecwid signs it, or its ION form), and
 * what arrives at the callback must be the example, byte for byte apart from `createdDate`; the
 * headers that arrive must be the ones the page's "Headers" table lists.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { ENV } from '../../functions/contract';
import { ecwidWebhookSignature } from '../../functions/core/ecwid/signature';
import { callbackExamples } from '../docs/examples';
import { CLIENT_SECRET, fixtureText } from './support/ecwid-posts';
import { eventually, killLeftovers, ROOT, startRunner, tempDir, writeInstances, type RunnerProcess } from './support/runner-process';
import { startCallbackServer, type CallbackServer } from './support/servers';
import { closeServer, listenOnLoopback, LOOPBACK } from '../../local/servers';

jest.setTimeout(60_000);

const page = readFileSync(join(ROOT, 'docs', 'callback-contract.md'), 'utf8');
const examples = callbackExamples(page);
const JAVA_UTC_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}$/;

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let legacyApi: Server;
let runner: RunnerProcess;

beforeAll(async () => {
  folder = tempDir('examples');
  callbacks = await startCallbackServer(() => 200);
  // The legacy Order API answers with Ecwid's sample order (the ION example's raw.order).
  const orderResponse = fixtureText('legacy-order-api-v1-orders-response.json');
  legacyApi = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(orderResponse);
  });
  const apiPort = await listenOnLoopback(legacyApi);
  writeInstances(folder.dir, {
    'shop-a': {
      element: { key: 'ecwid' },
      name: 'Shop A',
      tags: ['production'],
      configuration: {
        'ecwid.store.id': '1003',
        'ecwid.client.secret': CLIENT_SECRET,
        'ecwid.order.key': 'example-order-key',
        'event.notification.enabled': 'true',
        'event.notification.callback.url': `${callbacks.origin}/ecwid`,
        'event.notification.signature.key': 'example-signature-key',
        'event.notification.webhook.secret': 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      },
    },
  });
  // The documented examples carry fixed, long-past eventCreated values: this test is about the
  // callback bodies, so the webhook freshness window is opened wide (handler-security tests it).
  runner = await startRunner(['--instances', folder.dir, '--ecwid-api', `http://${LOOPBACK}:${apiPort}/api`, '--quiet'], {
    [ENV.webhookMaxAgeSeconds]: String(100 * 365 * 86_400),
  });
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  await callbacks?.close();
  if (legacyApi) await closeServer(legacyApi, 0);
  folder?.remove();
});

/** The request Ecwid would have sent for an example: its webhook, or its ION form. */
function ecwidRequestFor(example: Record<string, any>): { contentType: string; body: string; signature?: string } {
  const { webhook, notification } = example.message.raw;
  if (webhook) {
    return {
      contentType: 'application/json; charset=UTF-8',
      body: JSON.stringify(webhook),
      signature: ecwidWebhookSignature(CLIENT_SECRET, webhook.eventCreated, webhook.eventId),
    };
  }
  return { contentType: 'application/x-www-form-urlencoded', body: new URLSearchParams(notification).toString() };
}

describe('the examples of docs/callback-contract.md are real deliveries', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(14);
  });

  it.each(examples.map((example) => [example.title, example.body]))('%s', async (_title, example) => {
    const request = ecwidRequestFor(example);
    const headers: Record<string, string> = { 'content-type': request.contentType };
    if (request.signature) headers['x-ecwid-webhook-signature'] = request.signature;
    const answer = await fetch(`${runner.ingestUrl}/shop-a`, { method: 'POST', headers, body: request.body });
    expect(answer.status).toBe(200);

    const arrived = () => callbacks.delivered.find((delivery) => delivery.headers['webhook-id'] === example.id);
    await eventually(() => arrived() !== undefined, () => `${example.id} never arrived`);
    const delivery = arrived()!;
    const body = JSON.parse(delivery.body);
    expect(body.createdDate).toMatch(JAVA_UTC_DATE);
    // Byte for byte: the page's JSON, serialized as the relay does, with this run's receive time.
    expect(delivery.body).toBe(JSON.stringify({ ...example, createdDate: body.createdDate }));
  });

  it('sends exactly the headers the Headers table lists (an instance with both signing keys)', () => {
    const table = page.slice(page.indexOf('## Headers'), page.indexOf('## Body'));
    const documented = [...table.matchAll(/^\| `([A-Za-z-]+)` \|/gm)].map((match) => match[1].toLowerCase()).sort();
    expect(documented.length).toBeGreaterThanOrEqual(8);
    for (const delivery of callbacks.delivered) {
      const sent = Object.keys(delivery.headers).filter((name) => !['host', 'connection'].includes(name)).sort();
      expect(sent).toEqual(documented);
    }
  });
});
