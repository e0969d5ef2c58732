/**
 * Secrets never reach a log line: a full (not --quiet) run of `npm start` through every path
 * that handles a key — signature checks (good and bad), ION verification through the legacy
 * Order API (key in the query string) including a forged notification, v3 enrichment with a
 * bearer token, signing with both schemes and two rotated secrets, failed callbacks, retries and
 * the dead-letter queue — then the whole console output and the DLQ messages are searched for
 * every secret value.
 */
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ecwidWebhookSignature } from '../../functions/core/ecwid/signature';
import { CLIENT_SECRET, instanceDocument, modernSamples, postIon, postWebhook, SIGNATURE_KEY, WEBHOOK_SECRET } from './support/ecwid-posts';
import { eventually, killLeftovers, queueDepth, runnerSqs, startRunner, tempDir, writeInstances, type RunnerProcess } from './support/runner-process';
import { startCallbackServer, startFakeEcwidApi, type CallbackServer, type FakeEcwidApi } from './support/servers';

jest.setTimeout(30_000);

const ORDER_KEY = 'e2e-redaction-order-key-4f1c';
const PRODUCT_KEY = 'e2e-redaction-product-key-9a2b';
const ACCESS_TOKEN = 'secret_e2e_redaction_token_77';
const ROTATED_SECRET = `whsec_${Buffer.from('rotated standard webhooks key 32!').toString('base64')}`;
const CALLBACK_TOKEN = 'cb-token-in-the-query-5e6f';
const SECRETS = [CLIENT_SECRET, ORDER_KEY, PRODUCT_KEY, ACCESS_TOKEN, SIGNATURE_KEY, WEBHOOK_SECRET, ROTATED_SECRET, CALLBACK_TOKEN];

let folder: ReturnType<typeof tempDir>;
let callbacks: CallbackServer;
let ecwid: FakeEcwidApi;
let runner: RunnerProcess;
let sqs: SQSClient;

beforeAll(async () => {
  folder = tempDir('redaction');
  // The webhook instance's receiver always fails: its event goes through every retry into the DLQ.
  callbacks = await startCallbackServer((request) => (request.path.startsWith('/failing') ? 500 : 200));
  ecwid = await startFakeEcwidApi();
  ecwid.orders.set('12345/124', { paymentStatus: 'ACCEPTED', fulfillmentStatus: 'NEW', created: '2014-05-06 16:28:06' });
  writeInstances(folder.dir, {
    modern: instanceDocument(1003, `${callbacks.origin}/failing?token=${CALLBACK_TOKEN}`, {
      'ecwid.access.token': ACCESS_TOKEN,
      'ecwid.product.key': PRODUCT_KEY,
      'event.notification.webhook.secret': `${WEBHOOK_SECRET} ${ROTATED_SECRET}`,
    }),
    legacy: instanceDocument(12345, `${callbacks.origin}/ok?token=${CALLBACK_TOKEN}`, {
      'ecwid.order.key': ORDER_KEY,
      'ecwid.product.key': PRODUCT_KEY,
    }),
  });
  runner = await startRunner(['--instances', folder.dir, '--ecwid-api', ecwid.baseUrl, '--retry-schedule', '1', '--max-attempts', '2']);
  sqs = runnerSqs(runner.state);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  sqs?.destroy();
  await callbacks?.close();
  await ecwid?.close();
  folder?.remove();
});

test('no secret value appears in the console output or the dead-letter queue after every key-handling path ran', async () => {
  const order = modernSamples().find((sample) => sample.name === 'order-created')!;
  const product = modernSamples().find((sample) => sample.name === 'product-updated')!;
  expect((await postWebhook(runner.ingestUrl, order)).status).toBe(200);
  expect((await postWebhook(runner.ingestUrl, product)).status).toBe(200);
  // A wrong signature (made with another key) is refused: answered 200, nothing queued.
  const forgedSignature = ecwidWebhookSignature('not-the-client-secret', order.json.eventCreated, `${order.json.eventId}-x`);
  const refused = await postWebhook(runner.ingestUrl, order, forgedSignature);
  expect(refused.status).toBe(200);
  expect(await refused.json()).toMatchObject({ queued: 0 });
  // A genuine ION post (the order exists with these statuses) and a forged one (no such order).
  const ion = 'owner_id=12345&event_type=new_order&date=2014-05-06+16%3A28%3A06&order_id=124&payment_status=ACCEPTED&fulfillment_status=NEW';
  expect((await postIon(runner.ingestUrl, ion)).status).toBe(200);
  expect((await postIon(runner.ingestUrl, ion.replace('order_id=124', 'order_id=999'))).status).toBe(200);

  await eventually(
    async () =>
      callbacks.delivered.some((r) => r.path.startsWith('/ok')) &&
      (await queueDepth(sqs, runner.state.queueUrl)) === 0 &&
      (await queueDepth(sqs, runner.state.deadLetterQueueUrl)) === 2,
    () => `stdout:\n${runner.stdout()}\nstderr:\n${runner.stderr()}`,
    25_000,
  );
  // Every path really ran: v1 with the key, v3 with the token, two failed attempts per webhook event.
  expect(ecwid.requests.some((r) => r.url.includes(`secure_auth_key=${ORDER_KEY}`))).toBe(true);
  expect(ecwid.requests.some((r) => r.headers.authorization === `Bearer ${ACCESS_TOKEN}`)).toBe(true);
  expect(callbacks.requests.filter((r) => r.path.startsWith('/failing'))).toHaveLength(4);

  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: runner.state.deadLetterQueueUrl,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      AttributeNames: ['All'],
    }),
  );
  expect(Messages.length).toBeGreaterThan(0);
  expect(Messages[0].MessageAttributes?.lastError?.StringValue).toMatch(/500/);

  // The run logged what happened (so the search below searches something): warnings and errors go to stderr.
  const console = () => `${runner.stdout()}\n${runner.stderr()}`;
  await eventually(
    () => /dropped as forged/.test(console()) && (console().match(/dead-lettered/g) ?? []).length >= 2,
    () => console(),
  );
  const everything = [console(), JSON.stringify(Messages)].join('\n');
  // ...and no secret value, nor any long part of one, is in it.
  for (const secret of SECRETS) {
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(secret.slice(-12));
  }
});
