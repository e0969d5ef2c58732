import diagnosticsChannel from 'node:diagnostics_channel';
import http from 'node:http';
import https from 'node:https';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import AWSXRay from 'aws-xray-sdk-core';
import { createTracer, traced, type TraceSpan } from '../../../functions/adapters/aws/tracing';
import { startServer } from '../../../testkit/servers';
import { startAwsStandIn } from '../../../testkit/aws';
import { allSubsegments, lambdaTracingEnvironment, subsegmentsOf, traceJson, withinSegment } from '../../support/xray';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('traced, with tracing on (as in Lambda)', () => {
  let environment: ReturnType<typeof lambdaTracingEnvironment>;
  beforeEach(() => {
    environment = lambdaTracingEnvironment();
  });
  afterEach(() => environment.restore());

  it('records an invocation subsegment with ColdStart (true once), Service and what the work annotates', async () => {
    const tracer = createTracer('relay-test');
    expect(tracer.isTracingEnabled()).toBe(true);
    const run = () =>
      traced(
        tracer,
        '## handler',
        async (span) => {
          expect(span.recording).toBe(true);
          span.annotate('httpStatus', 200);
          span.metadata('ingest', { eventId: 'e-1' });
          return 'answer';
        },
        { invocation: true },
      );

    const first = await withinSegment(AWSXRay, run);
    const second = await withinSegment(AWSXRay, run);

    expect(first.result).toBe('answer');
    const [invocation] = subsegmentsOf(first.root);
    expect(invocation).toMatchObject({
      name: '## handler',
      annotations: { ColdStart: true, Service: 'relay-test', httpStatus: 200 },
      metadata: { 'relay-test': { ingest: { eventId: 'e-1' } } },
      end_time: expect.any(Number),
    });
    expect(invocation.in_progress).toBeUndefined();
    expect(subsegmentsOf(second.root)[0].annotations).toMatchObject({ ColdStart: false });
  });

  it('nests work that runs in parallel under the right parent, each with its own annotations', async () => {
    const tracer = createTracer('relay-test');
    const record = (name: string, waitMs: number) =>
      traced(tracer, '### record', async (span) => {
        span.annotate('outcome', name);
        await delay(waitMs);
        // Started after the sibling has begun: must still land under this record.
        await traced(tracer, `inner ${name}`, async () => delay(1));
      });

    const { root } = await withinSegment(AWSXRay, () =>
      traced(tracer, '## handler', async () => {
        await Promise.all([record('slow', 30), record('fast', 5)]);
      }),
    );

    const records = subsegmentsOf(root)[0].subsegments ?? [];
    expect(records.map((r) => [r.annotations?.outcome, (r.subsegments ?? []).map((s) => s.name)])).toEqual([
      ['slow', ['inner slow']],
      ['fast', ['inner fast']],
    ]);
    expect(allSubsegments(records).every((s) => typeof s.end_time === 'number')).toBe(true);
  });

  it('records a thrown error on the subsegment, closes it and rethrows', async () => {
    const tracer = createTracer('relay-test');
    let thrown: unknown;
    const { root } = await withinSegment(AWSXRay, () =>
      traced(tracer, '## handler', async () => {
        throw new TypeError('a bug');
      }).catch((error: unknown) => {
        thrown = error;
      }),
    );
    expect(thrown).toBeInstanceOf(TypeError);
    const [invocation] = subsegmentsOf(root);
    expect(invocation.fault).toBe(true);
    expect(invocation.cause?.exceptions?.[0]).toMatchObject({ message: 'a bug', type: 'TypeError' });
    expect(typeof invocation.end_time).toBe('number');
  });

  it('never patches http, https or fetch, even when the environment asks for it', async () => {
    const before = { http: http.request, https: https.request, get: https.get };
    process.env.POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS = 'true';
    try {
      const tracer = createTracer('relay-test');
      expect(tracer.isTracingEnabled()).toBe(true);
    } finally {
      delete process.env.POWERTOOLS_TRACER_CAPTURE_HTTPS_REQUESTS;
    }
    expect({ http: http.request, https: https.request, get: https.get }).toEqual(before);
    expect(diagnosticsChannel.hasSubscribers('undici:request:create')).toBe(false);

    // And behaviourally: a request made inside a traced span leaves no trace of its URL.
    const server = await startServer(() => ({ status: 200, body: {} }));
    try {
      const tracer = createTracer('relay-test');
      const url = `${server.origin}/api/v1/1003/orders?secure_auth_key=KEY-1234&order=1`;
      const { root } = await withinSegment(AWSXRay, () =>
        traced(tracer, '## handler', async () => {
          await new Promise<void>((resolve, reject) =>
            http.get(url, (res) => res.resume().on('end', resolve)).on('error', reject),
          );
        }),
      );
      expect(server.requests).toHaveLength(1);
      expect(subsegmentsOf(root)[0].subsegments).toBeUndefined();
      expect(traceJson(root)).not.toContain('KEY-1234');
      expect(traceJson(root)).not.toContain('/orders');
    } finally {
      await server.close();
    }
  });

  it('traces a client passed through captureAWSv3Client: the call nests under the span, values stay out', async () => {
    const aws = await startAwsStandIn();
    const secretDocument = JSON.stringify({ configuration: { 'ecwid.client.secret': 'CLIENT-SECRET-77' } });
    aws.parameters.set('/ecwid-events/instances/shop-a', secretDocument);
    try {
      const tracer = createTracer('relay-test');
      const ssm = tracer.captureAWSv3Client(
        new SSMClient({ region: 'us-east-1', endpoint: aws.origin, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } }),
      );
      const { root, result } = await withinSegment(AWSXRay, () =>
        traced(tracer, '## handler', () => ssm.send(new GetParameterCommand({ Name: '/ecwid-events/instances/shop-a', WithDecryption: true }))),
      );

      expect(result.Parameter?.Value).toBe(secretDocument);
      const [call] = subsegmentsOf(root)[0].subsegments ?? [];
      expect(call).toMatchObject({ name: 'SSM', namespace: 'aws', aws: expect.objectContaining({ operation: 'GetParameter' }) });
      expect(traceJson(root)).not.toContain('CLIENT-SECRET-77');
      expect(traceJson(root)).not.toContain('test-secret');
    } finally {
      await aws.close();
    }
  });
});

describe('traced, with tracing off', () => {
  it('outside Lambda: runs the work only, records nothing', async () => {
    const saved = process.env.AWS_EXECUTION_ENV;
    delete process.env.AWS_EXECUTION_ENV;
    try {
      const tracer = createTracer('relay-test');
      expect(tracer.isTracingEnabled()).toBe(false);
      let seen: TraceSpan | undefined;
      const { root, result } = await withinSegment(AWSXRay, () =>
        traced(tracer, '## handler', async (span) => {
          seen = span;
          span.annotate('httpStatus', 200);
          return 7;
        }),
      );
      expect(result).toBe(7);
      expect(seen?.recording).toBe(false);
      expect(subsegmentsOf(root)).toEqual([]);
    } finally {
      if (saved !== undefined) process.env.AWS_EXECUTION_ENV = saved;
    }
  });

  it('does not even load the Powertools Tracer (nor the X-Ray SDK) unless it may trace', () => {
    /** Whether createTracer loaded the Tracer module, in a fresh module registry. */
    const loadsTracer = (): boolean => {
      let loaded = false;
      jest.isolateModules(() => {
        jest.doMock('@aws-lambda-powertools/tracer', () => {
          loaded = true;
          return jest.requireActual('@aws-lambda-powertools/tracer');
        });
        (require('../../../functions/adapters/aws/tracing') as typeof import('../../../functions/adapters/aws/tracing')).createTracer('relay-test');
      });
      return loaded;
    };
    const environment = lambdaTracingEnvironment();
    try {
      expect(loadsTracer()).toBe(true);
      process.env.POWERTOOLS_TRACE_ENABLED = 'false';
      expect(loadsTracer()).toBe(false);
      delete process.env.POWERTOOLS_TRACE_ENABLED;
      delete process.env.AWS_EXECUTION_ENV;
      expect(loadsTracer()).toBe(false);
    } finally {
      environment.restore();
      jest.dontMock('@aws-lambda-powertools/tracer');
    }
  });

  it('in Lambda with POWERTOOLS_TRACE_ENABLED=false (the stack prop off): records nothing', async () => {
    const environment = lambdaTracingEnvironment();
    process.env.POWERTOOLS_TRACE_ENABLED = 'false';
    try {
      const tracer = createTracer('relay-test');
      expect(tracer.isTracingEnabled()).toBe(false);
      const { root } = await withinSegment(AWSXRay, () => traced(tracer, '## handler', async () => undefined, { invocation: true }));
      expect(subsegmentsOf(root)).toEqual([]);
    } finally {
      environment.restore();
    }
  });
});
