/**
 * The receivers in docs/examples, run as a reader would run them (`node receiver-node.js`,
 * `python3 receiver.py`), behind `npm start`: every Ecwid sample in test/fixtures is posted, and
 * each receiver must verify and accept every genuine delivery (both signature schemes), and
 * reject requests that were tampered with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  fixtureText,
  instanceDocument,
  modernSamples,
  postIon,
  SIGNATURE_KEY,
  WEBHOOK_SECRET,
} from './support/ecwid-posts';
import { ecwidWebhookSignature } from '../../functions/core/ecwid/signature';
import {
  eventually,
  killLeftovers,
  queueDepth,
  ROOT,
  runnerSqs,
  startRunner,
  tempDir,
  writeInstances,
  type RunnerProcess,
} from './support/runner-process';
import { startCallbackServer, startFakeEcwidApi, type CallbackServer, type FakeEcwidApi, type RecordedRequest } from './support/servers';
import { CLIENT_SECRET } from './support/ecwid-posts';

jest.setTimeout(60_000);

const EXAMPLES = join(ROOT, 'docs', 'examples');
const ORDER_KEY = 'e2e-legacy-order-key';

interface Report {
  readonly result: 'accepted' | 'duplicate' | 'rejected';
  readonly id?: string;
  readonly reasons?: string[];
  readonly objectType?: string;
  readonly eventType?: string;
}

interface Receiver {
  readonly name: string;
  readonly origin: string;
  readonly reports: Report[];
  readonly process: ChildProcess;
  stderr(): string;
}

const children: ChildProcess[] = [];

/** Starts an example receiver on a free port with both keys, and reads its JSON lines. */
async function startReceiver(name: string, command: string, file: string): Promise<Receiver> {
  const child = spawn(command, [join(EXAMPLES, file)], {
    cwd: EXAMPLES,
    env: { PATH: process.env.PATH, PORT: '0', WEBHOOK_SECRET, ELEMENTS_SIGNATURE_KEY: SIGNATURE_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const reports: Report[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = stdout.split('\n');
    stdout = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') reports.push(JSON.parse(line) as Report);
  });
  child.stderr.setEncoding('utf8');
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${stderr}`)), 10_000);
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('error', (error) => reject(new Error(`${name} could not start (${command}): ${error.message}`)));
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}): ${stderr}`)));
  });
  return { name, origin, reports, process: child, stderr: () => stderr };
}

const samples = modernSamples();
const RECEIVERS = [
  { prefix: 'node', command: process.execPath, file: 'receiver-node.js' },
  { prefix: 'py', command: 'python3', file: 'receiver.py' },
] as const;
const ION_FORM = fixtureText('legacy-ion-cannon-new-order.CONSTRUCTED.txt');
const ION_STORE = 12345;
const ION_ORDER = '124';

let folder: ReturnType<typeof tempDir>;
let capture: CallbackServer;
let ecwid: FakeEcwidApi;
let runner: RunnerProcess;
let sqs: SQSClient;
const receivers: Record<string, Receiver> = {};

beforeAll(async () => {
  folder = tempDir('receivers');
  capture = await startCallbackServer(() => 200);
  ecwid = await startFakeEcwidApi();
  ecwid.orders.set(`${ION_STORE}/${ION_ORDER}`, { paymentStatus: 'ACCEPTED', fulfillmentStatus: 'NEW', created: '2014-05-06 16:28:06' });
  const instances: Record<string, unknown> = {};
  for (const { prefix, command, file } of RECEIVERS) {
    const receiver = await startReceiver(prefix, command, file);
    receivers[prefix] = receiver;
    // One instance per sample and receiver: several samples share an eventId, which one
    // instance would (rightly) receive only once.
    for (const sample of samples) {
      instances[`${prefix}-${sample.name}`] = instanceDocument(sample.json.storeId, `${receiver.origin}/ecwid?token=t1`);
    }
    instances[`${prefix}-ion`] = instanceDocument(ION_STORE, `${receiver.origin}/ecwid`, { 'ecwid.order.key': ORDER_KEY });
  }
  // A genuine delivery recorded byte for byte, to tamper with.
  instances['capture'] = instanceDocument(1003, `${capture.origin}/capture`);
  writeInstances(folder.dir, instances);
  runner = await startRunner(['--instances', folder.dir, '--ecwid-api', ecwid.baseUrl, '--quiet']);
  sqs = runnerSqs(runner.state);
});

afterAll(async () => {
  await runner?.stop();
  killLeftovers();
  for (const child of children) child.kill('SIGKILL');
  sqs?.destroy();
  await capture?.close();
  await ecwid?.close();
  folder?.remove();
});

function post(url: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body });
}

/** A webhook sample posted as Ecwid posts it, to one instance's route. */
function postSample(instanceId: string, text: string, json: { eventCreated: number; eventId: string; eventType: string }) {
  return post(`${runner.ingestUrl}/${instanceId}?eventtype=${encodeURIComponent(json.eventType)}`, text, {
    'content-type': 'application/json; charset=UTF-8',
    'x-ecwid-webhook-signature': ecwidWebhookSignature(CLIENT_SECRET, json.eventCreated, json.eventId),
  });
}

const accepted = (receiver: Receiver) => receiver.reports.filter((report) => report.result === 'accepted');

describe('the example receivers verify real deliveries', () => {
  it('accept every genuine delivery of every Ecwid sample, once each, with both schemes checked', async () => {
    const expectedIds: Record<string, string[]> = {};
    for (const { prefix } of RECEIVERS) {
      expectedIds[prefix] = [];
      for (const sample of samples) {
        const instanceId = `${prefix}-${sample.name}`;
        const response = await postSample(instanceId, sample.text, sample.json);
        expect({ instanceId, status: response.status }).toEqual({ instanceId, status: 200 });
        expectedIds[prefix].push(`${instanceId}:${sample.json.eventId}`);
      }
      const ion = await postIon(`${runner.ingestUrl}/${prefix}-ion`, ION_FORM);
      const { eventId } = (await ion.json()) as { eventId: string };
      expect(ion.status).toBe(200);
      expectedIds[prefix].push(`${prefix}-ion:${eventId}`);
    }
    const captured = samples.find((sample) => sample.name === 'order-created')!;
    expect((await postSample('capture', captured.text, captured.json)).status).toBe(200);

    await eventually(
      () => RECEIVERS.every(({ prefix }) => accepted(receivers[prefix]).length >= expectedIds[prefix].length) && capture.delivered.length === 1,
      () => RECEIVERS.map(({ prefix }) => `${prefix}: ${JSON.stringify(receivers[prefix].reports)}`).join('\n'),
      30_000,
    );
    await eventually(async () => (await queueDepth(sqs, runner.state.queueUrl)) === 0, () => 'the queue never emptied');
    expect(await queueDepth(sqs, runner.state.deadLetterQueueUrl)).toBe(0);

    for (const { prefix } of RECEIVERS) {
      const receiver = receivers[prefix];
      expect(receiver.reports.filter((report) => report.result !== 'accepted')).toEqual([]);
      expect(accepted(receiver).map((report) => report.id).sort()).toEqual([...expectedIds[prefix]].sort());
      expect(accepted(receiver).find((report) => report.id?.startsWith(`${prefix}-ion:`))).toMatchObject({
        objectType: 'orders',
        eventType: 'CREATED',
      });
    }
  });

  describe.each(RECEIVERS.map(({ prefix }) => [prefix]))('%s receiver, given a copy of a genuine request', (prefix) => {
    let genuine: RecordedRequest;
    let url: string;
    let report: Report | undefined;
    /** Sends a copy of the genuine request with `change`d headers; `report` is the receiver's line for it. */
    const replay = async (body: string, change: Record<string, string | undefined> = {}): Promise<Response> => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      for (const name of ['elements-webhook-id', 'elements-webhook-signature', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        const value = name in change ? change[name] : genuine.headers[name];
        if (value !== undefined) headers[name] = value;
      }
      const { reports } = receivers[prefix];
      const before = reports.length;
      const response = await post(url, body, headers);
      // The line is written before the answer, but may reach this process after it.
      await eventually(() => reports.length > before, () => `${prefix} reported nothing for the request`, 5_000);
      report = reports[before];
      return response;
    };
    const lastReport = (): Report | undefined => report;

    beforeAll(() => {
      genuine = capture.delivered[0];
      url = `${receivers[prefix].origin}/ecwid`;
      expect(genuine.headers['elements-webhook-signature']).toMatch(/^sha256=/);
      expect(genuine.headers['webhook-signature']).toMatch(/^v1,/);
    });

    it('accepts it unchanged, then answers 200 to the repeat without processing it again', async () => {
      expect((await replay(genuine.body)).status).toBe(200);
      expect(lastReport()).toMatchObject({ result: 'accepted', id: genuine.headers['webhook-id'] });
      expect((await replay(genuine.body)).status).toBe(200);
      expect(lastReport()).toMatchObject({ result: 'duplicate', id: genuine.headers['webhook-id'] });
    });

    it('rejects a changed body (both schemes fail)', async () => {
      const tampered = genuine.body.replace('"objectId":"XJ12H"', '"objectId":"XJ12I"');
      expect(tampered).not.toBe(genuine.body);
      expect((await replay(tampered)).status).toBe(401);
      expect(lastReport()).toEqual({
        result: 'rejected',
        reasons: ['Elements-Webhook-Signature does not match', 'webhook-signature does not match'],
      });
    });

    it('rejects a wrong Elements-Webhook-Signature even when the Standard Webhooks signature is right', async () => {
      const forged = `sha256=${createHmac('sha256', 'not-the-key').update(genuine.body).digest('base64')}`;
      expect((await replay(genuine.body, { 'elements-webhook-signature': forged })).status).toBe(401);
      expect(lastReport()).toEqual({ result: 'rejected', reasons: ['Elements-Webhook-Signature does not match'] });
    });

    it('rejects a wrong webhook-signature even when the Elements signature is right', async () => {
      const forged = `v1,${createHmac('sha256', Buffer.from('another secret of 32 bytes, ok!!')).update(`${genuine.headers['webhook-id']}.${genuine.headers['webhook-timestamp']}.${genuine.body}`).digest('base64')}`;
      expect((await replay(genuine.body, { 'webhook-signature': forged })).status).toBe(401);
      expect(lastReport()).toEqual({ result: 'rejected', reasons: ['webhook-signature does not match'] });
    });

    it('rejects a correctly signed request whose timestamp is 10 minutes old (replay protection)', async () => {
      const id = `${genuine.headers['webhook-id']}-old`;
      const timestamp = String(Math.floor(Date.now() / 1000) - 600);
      const key = Buffer.from(WEBHOOK_SECRET.slice('whsec_'.length), 'base64');
      const signature = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${genuine.body}`).digest('base64')}`;
      expect((await replay(genuine.body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature })).status).toBe(401);
      expect(lastReport()).toEqual({ result: 'rejected', reasons: ['webhook-timestamp is too old or too new'] });
    });

    it('rejects an unsigned request', async () => {
      const response = await replay(genuine.body, {
        'elements-webhook-signature': undefined,
        'webhook-id': undefined,
        'webhook-timestamp': undefined,
        'webhook-signature': undefined,
      });
      expect(response.status).toBe(401);
      expect(lastReport()).toEqual({
        result: 'rejected',
        reasons: ['missing Elements-Webhook-Signature', 'missing webhook-id, webhook-timestamp or webhook-signature'],
      });
    });
  });
});
