/**
 * The ingest handler under X-Ray, as in Lambda with active tracing: its invocation subsegment,
 * what it annotates, the AWS calls of the production wiring nested under it, and no secret.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type AWSXRayModule from 'aws-xray-sdk-core';
import AWSXRay from 'aws-xray-sdk-core';
import { createTracer } from '../../functions/adapters/aws/tracing';
import { createIngestHandler } from '../../functions/ingest/handler';
import { ENV, ssmInstanceName, ssmStoreIndexName } from '../../functions/contract';
import { fixedClock, makeInstance, SECRET_A } from '../core/ingest-fakes';
import { MemoryEventQueue, MemoryInstanceStore } from '../../testkit/ports';
import { webhookBody, webhookEvent } from '../../testkit/events';
import { startAwsStandIn } from '../../testkit/aws';
import { allSubsegments, lambdaTracingEnvironment, subsegmentsOf, traceJson, withinSegment } from '../support/xray';

/** A signed `POST /events/ecwid` as API Gateway (HTTP API, payload v2) hands it over. */
const signedWebhook = (body: Record<string, unknown>, secret: string): APIGatewayProxyEventV2 =>
  webhookEvent(body, secret, { requestId: 'req-trace-1' });

const quiet = () => ({ info: jest.fn(), warn: jest.fn(), error: jest.fn() });
const noMetrics = () => ({ addMetric: jest.fn(), publishStoredMetrics: jest.fn() });

describe('ingest handler tracing', () => {
  let environment: ReturnType<typeof lambdaTracingEnvironment>;
  beforeEach(() => {
    environment = lambdaTracingEnvironment();
  });
  afterEach(() => environment.restore());

  it('records one invocation subsegment: cold start, service, HTTP status; ids as metadata; no secret', async () => {
    const handler = createIngestHandler({
      instances: new MemoryInstanceStore([makeInstance('shop-a', { clientSecret: SECRET_A })]),
      queue: new MemoryEventQueue(),
      clock: fixedClock,
      logger: quiet(),
      metrics: noMetrics(),
      tracer: createTracer('ingest-test'),
    });
    const body = webhookBody();
    const event = signedWebhook(body, SECRET_A);

    const { root, result } = await withinSegment(AWSXRay, () => handler(event));

    expect(result.statusCode).toBe(200);
    const [invocation, ...others] = subsegmentsOf(root);
    expect(others).toEqual([]);
    expect(invocation).toMatchObject({
      name: '## handler',
      annotations: { ColdStart: true, Service: 'ingest-test', httpStatus: 200 },
      metadata: { 'ingest-test': { ingest: { requestId: 'req-trace-1', eventId: body.eventId, queued: 1 } } },
    });
    const trace = traceJson(root);
    expect(trace).not.toContain(SECRET_A);
    expect(trace).not.toContain(event.headers['x-ecwid-webhook-signature']);
    expect(trace).not.toContain('order-key-of-shop-a');
  });

  it('annotates a rejection with its status, without marking the trace as failed', async () => {
    const handler = createIngestHandler({
      instances: new MemoryInstanceStore([makeInstance('shop-a', { clientSecret: SECRET_A })]),
      queue: new MemoryEventQueue(),
      logger: quiet(),
      metrics: noMetrics(),
      tracer: createTracer('ingest-test'),
    });

    const { root, result } = await withinSegment(AWSXRay, () => handler(signedWebhook(webhookBody({ eventId: undefined }), SECRET_A)));

    expect(result.statusCode).toBe(400);
    const [invocation] = subsegmentsOf(root);
    expect(invocation.annotations).toMatchObject({ httpStatus: 400 });
    expect(invocation.metadata).toBeUndefined();
    expect(invocation.fault).toBeUndefined();
  });
});

describe('ingest handler module (production wiring) under X-Ray', () => {
  it('traces its SSM and SQS clients under the invocation subsegment; parameter values stay out', async () => {
    const aws = await startAwsStandIn();
    const saved = { ...process.env };
    const environment = lambdaTracingEnvironment();
    const prefix = '/ecwid-events-trace-test';
    const document = makeInstance('shop-a', { clientSecret: SECRET_A }).document;
    aws.parameters.set(ssmInstanceName(prefix, 'shop-a'), JSON.stringify(document));
    aws.parameters.set(ssmStoreIndexName(prefix, '1003'), JSON.stringify(['shop-a']));
    Object.assign(process.env, {
      [ENV.ssmPrefix]: prefix,
      [ENV.queueUrl]: `${aws.origin}/000000000000/events.fifo`,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDTRACETEST',
      AWS_SECRET_ACCESS_KEY: 'trace-test-secret',
      AWS_ENDPOINT_URL_SSM: aws.origin,
      AWS_ENDPOINT_URL_SQS: aws.origin,
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    try {
      let mod: typeof import('../../functions/ingest/index') | undefined;
      let xray: typeof AWSXRayModule | undefined;
      // The module and the X-Ray SDK it uses must be the same instances as the ones driven here.
      jest.isolateModules(() => {
        mod = require('../../functions/ingest/index');
        xray = require('aws-xray-sdk-core');
      });
      // Created now: the production wiring refuses webhooks older than its window (48 h).
      const body = webhookBody({ eventCreated: Math.floor(Date.now() / 1000) });

      const { root, result } = await withinSegment(xray!, () => mod!.handler(signedWebhook(body, SECRET_A)));

      expect(result.statusCode).toBe(200);
      expect(aws.calls.map((call) => `${call.service}.${call.operation}`)).toEqual([
        'SSM.GetParameter',
        'SSM.GetParameter',
        'SQS.SendMessageBatch',
      ]);
      const [invocation] = subsegmentsOf(root);
      expect(invocation.name).toBe('## handler');
      expect(invocation.annotations).toMatchObject({ ColdStart: true, httpStatus: 200 });
      expect((invocation.subsegments ?? []).map((s) => [s.name, s.aws?.operation])).toEqual([
        ['SSM', 'GetParameter'],
        ['SSM', 'GetParameter'],
        ['SQS', 'SendMessageBatch'],
      ]);
      // Only AWS calls are traced: no http subsegment of any kind.
      expect(allSubsegments([invocation]).filter((s) => s.http && s.namespace !== 'aws')).toEqual([]);
      const trace = traceJson(root);
      expect(trace).not.toContain(SECRET_A);
      expect(trace).not.toContain('order-key-of-shop-a');
      expect(trace).not.toContain('trace-test-secret');
    } finally {
      environment.restore();
      process.env = saved;
      await aws.close();
    }
  });
});
