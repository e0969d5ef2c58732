/**
 * The deliver handler under X-Ray, as in Lambda with active tracing: an invocation subsegment, one
 * subsegment per record (groups run in parallel) with its outcome, the AWS calls of the
 * production wiring nested under the record, and neither the Ecwid API call (its URL carries the
 * store's key) nor the callback (its URL may carry a token) in the trace.
 */
import type { SQSEvent } from 'aws-lambda';
import type AWSXRayModule from 'aws-xray-sdk-core';
import AWSXRay from 'aws-xray-sdk-core';
import { createTracer } from '../../functions/adapters/aws/tracing';
import type { CallbackRequest, CallbackResult, CallbackSender, EcwidApi } from '../../functions/core/ports';
import { CONFIG_KEYS } from '../../functions/core/instance';
import { createDeliverHandler } from '../../functions/deliver/handler';
import { ENV, ssmInstanceName } from '../../functions/contract';
import { instance, ionEvent, sqsRecord, webhookEvent } from '../core/deliver-support';
import { MemoryDeadLetterQueue, MemoryLedger, MemoryTicketQueue } from '../../testkit/ledger';
import { ensureLedgerTable } from '../../functions/adapters/aws/dynamodb-ledger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startEmbeddedDynamoDb } from '../../local/embedded-dynamodb';
import { MemoryInstanceStore } from '../../testkit/ports';
import { fixtureJson } from '../../testkit/fixtures';
import { startServer } from '../../testkit/servers';
import { startAwsStandIn } from '../../testkit/aws';
import { allSubsegments, lambdaTracingEnvironment, subsegmentsOf, traceJson, withinSegment } from '../support/xray';

const CALLBACK_TOKEN = 'cb-token-5e1f0a';
const SIGNATURE_KEY = 'SIGNKEY-trace-91c2';
const ORDER_KEY = 'ORDERKEY-trace-3d7b';

const NO_ECWID: EcwidApi = {
  getLegacyOrder: () => Promise.reject(new Error('unexpected')),
  getLegacyProduct: () => Promise.reject(new Error('unexpected')),
  getEntity: () => Promise.reject(new Error('unexpected')),
};

/** Answers per message id (the delivery id ends with the event id, which the records set to it). */
class AnsweringSender implements CallbackSender {
  constructor(private readonly answer: (deliveryId: string) => CallbackResult) {}
  async send(request: CallbackRequest): Promise<CallbackResult> {
    return this.answer(request.headers['Elements-Webhook-Id']);
  }
}

const ledgerPorts = () => ({ ledger: new MemoryLedger(), tickets: new MemoryTicketQueue(), deadLetters: new MemoryDeadLetterQueue() });
const quiet = () => ({ info: jest.fn(), warn: jest.fn(), error: jest.fn() });
const noMetrics = () => ({ addMetric: jest.fn(), publishStoredMetrics: jest.fn() });

describe('deliver handler tracing', () => {
  let environment: ReturnType<typeof lambdaTracingEnvironment>;
  beforeEach(() => {
    environment = lambdaTracingEnvironment();
  });
  afterEach(() => environment.restore());

  it('records the invocation and one subsegment per record with its outcome; ids as metadata; no secret', async () => {
    const shop = instance({
      [CONFIG_KEYS.callbackUrl]: `https://8.8.8.8/hook?token=${CALLBACK_TOKEN}`,
      [CONFIG_KEYS.signatureKey]: SIGNATURE_KEY,
    });
    const deliver = createDeliverHandler({
      instances: new MemoryInstanceStore([shop]),
      ...ledgerPorts(),
      sender: new AnsweringSender((id) => (id.endsWith('B1') ? { ok: false, status: 503, error: 'callback https://8.8.8.8 answered HTTP 503' } : { ok: true, status: 200 })),
      ecwid: NO_ECWID,
      logger: quiet(),
      metrics: noMetrics(),
      tracer: createTracer('deliver-test'),
    });
    const record = (id: string) => sqsRecord({ messageId: id, groupId: id[0], body: JSON.stringify(webhookEvent({ eventId: id, objectId: `object-${id[0]}` })) });
    const event: SQSEvent = { Records: [record('A1'), record('B1')] };

    const { root, result } = await withinSegment(AWSXRay, () => deliver(event));

    // A failed delivery is an outcome (its retry waits in the ledger): no record fails.
    expect(result.batchItemFailures).toEqual([]);
    const [invocation] = subsegmentsOf(root);
    expect(invocation).toMatchObject({
      name: '## handler',
      annotations: { ColdStart: true, Service: 'deliver-test' },
      metadata: { 'deliver-test': { batch: { records: 2, failed: 0 } } },
    });
    const records = invocation.subsegments ?? [];
    expect(records.map((r) => r.name)).toEqual(['### deliver record', '### deliver record']);
    const byMessage = Object.fromEntries(
      records.map((r) => [(r.metadata?.['deliver-test']?.record as { messageId: string }).messageId, r]),
    );
    expect(byMessage.A1).toMatchObject({
      annotations: { outcome: 'delivered', httpStatus: 200 },
      metadata: {
        'deliver-test': {
          record: { messageId: 'A1', messageGroupId: 'A', receiveCount: 1, eventId: 'A1', instanceId: 'shop-a', storeId: '1003', objectType: 'products', eventType: 'UPDATED' },
          delivery: { latencyMs: expect.any(Number) },
        },
      },
    });
    // A retry due later is an outcome: annotated, not recorded as a fault of the trace.
    expect(byMessage.B1.annotations).toEqual({ outcome: 'retrying' });
    expect(byMessage.B1.metadata?.['deliver-test']?.delivery).toMatchObject({ error: 'callback https://8.8.8.8 answered HTTP 503' });
    expect(byMessage.B1.fault).toBeUndefined();

    const trace = traceJson(root);
    for (const secret of [CALLBACK_TOKEN, SIGNATURE_KEY, '/hook']) expect(trace).not.toContain(secret);
  });

  it('annotates a dropped record with the reason', async () => {
    const deliver = createDeliverHandler({
      instances: new MemoryInstanceStore(),
      ...ledgerPorts(),
      sender: new AnsweringSender(() => ({ ok: true, status: 200 })),
      ecwid: NO_ECWID,
      logger: quiet(),
      metrics: noMetrics(),
      tracer: createTracer('deliver-test'),
    });

    const { root } = await withinSegment(AWSXRay, () => deliver({ Records: [sqsRecord({ messageId: 'C1', groupId: 'C' })] }));

    const [record] = subsegmentsOf(root)[0].subsegments ?? [];
    expect(record.annotations).toEqual({ outcome: 'dropped', dropReason: 'instance-deleted' });
  });
});

describe('deliver handler module (production wiring) under X-Ray', () => {
  it('traces the SSM and ledger calls under the record; the Ecwid API GET and the callback POST are not traced', async () => {
    const aws = await startAwsStandIn();
    const dynamodb = await startEmbeddedDynamoDb();
    const ledgerTable = 'ledger-trace-test';
    const setupClient = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    await ensureLedgerTable(setupClient, ledgerTable);
    setupClient.destroy();
    const v1Orders = fixtureJson('legacy-order-api-v1-orders-response.json');
    const ecwid = await startServer((request) =>
      request.url === `/api/v1/12345/orders?secure_auth_key=${ORDER_KEY}&order=124` ? { status: 200, body: v1Orders } : { status: 404 },
    );
    const callback = await startServer(() => ({ status: 200 }));
    const saved = { ...process.env };
    const environment = lambdaTracingEnvironment();
    const prefix = '/ecwid-events-trace-test';
    const shop = instance({
      [CONFIG_KEYS.storeId]: '12345',
      [CONFIG_KEYS.orderKey]: ORDER_KEY,
      [CONFIG_KEYS.callbackUrl]: `${callback.origin}/hook?token=${CALLBACK_TOKEN}`,
      [CONFIG_KEYS.signatureKey]: SIGNATURE_KEY,
    });
    aws.parameters.set(ssmInstanceName(prefix, shop.id), JSON.stringify(shop.document));
    Object.assign(process.env, {
      [ENV.ssmPrefix]: prefix,
      [ENV.queueUrl]: `${aws.origin}/000000000000/events.fifo`,
      [ENV.deadLetterQueueUrl]: `${aws.origin}/000000000000/events-dlq.fifo`,
      [ENV.ecwidApiBaseUrl]: `${ecwid.origin}/api`,
      [ENV.allowHttpCallbacks]: 'true',
      [ENV.callbackAllowHosts]: '127.0.0.1',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDTRACETEST',
      AWS_SECRET_ACCESS_KEY: 'trace-test-secret',
      AWS_ENDPOINT_URL_SSM: aws.origin,
      AWS_ENDPOINT_URL_SQS: aws.origin,
      AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
      [ENV.ledgerTableName]: ledgerTable,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    try {
      let mod: typeof import('../../functions/deliver/index') | undefined;
      let xray: typeof AWSXRayModule | undefined;
      // The module and the X-Ray SDK it uses must be the same instances as the ones driven here.
      jest.isolateModules(() => {
        mod = require('../../functions/deliver/index');
        xray = require('aws-xray-sdk-core');
      });
      const record = sqsRecord({ messageId: 'ion-1', groupId: 'shop-a:orders:124', body: JSON.stringify(ionEvent()) });

      const { root, result } = await withinSegment(xray!, () => mod!.handler({ Records: [record] }));

      expect(result.batchItemFailures).toEqual([]);
      expect(aws.calls.map((call) => `${call.service}.${call.operation}`)).toEqual(['SSM.GetParameter']);
      expect(ecwid.requests).toHaveLength(1);
      expect(callback.requests).toHaveLength(1);

      const [invocation] = subsegmentsOf(root);
      const [recordSegment] = invocation.subsegments ?? [];
      expect(recordSegment.annotations).toMatchObject({ outcome: 'delivered', httpStatus: 200 });
      // The ledger: read the entry (none: adopted), the object's unfinished events (only itself in
      // the index, which it holds: no BatchGetItem); the receiver gate (the instance, its health
      // record: none yet); claim, record the outcome.
      expect((recordSegment.subsegments ?? []).map((s) => [s.name, s.aws?.operation])).toEqual([
        ['DynamoDB', 'GetItem'],
        ['DynamoDB', 'PutItem'],
        ['DynamoDB', 'Query'],
        ['SSM', 'GetParameter'],
        ['DynamoDB', 'GetItem'],
        ['DynamoDB', 'PutItem'],
        ['DynamoDB', 'PutItem'],
        // Delivered: the object's next parked event, if any, is woken (none here, so no BatchGetItem).
        ['DynamoDB', 'Query'],
        // The receiver's health: read, then write the success (the first record of it).
        ['DynamoDB', 'GetItem'],
        ['DynamoDB', 'PutItem'],
      ]);
      expect(allSubsegments([invocation]).filter((s) => s.http && s.namespace !== 'aws')).toEqual([]);
      const trace = traceJson(root);
      for (const secret of [ORDER_KEY, CALLBACK_TOKEN, SIGNATURE_KEY, 'secure_auth_key', '/hook', ecwid.origin, callback.origin]) {
        expect(trace).not.toContain(secret);
      }
    } finally {
      environment.restore();
      process.env = saved;
      await Promise.all([aws.close(), ecwid.close(), callback.close(), dynamodb.stop()]);
    }
  });
});
