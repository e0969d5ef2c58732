import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import {
  apiGatewayTime,
  createHttpGateway,
  matchRoute,
  toApiGatewayEvent,
  toHttpAnswer,
  type GatewayRequest,
  type IngestHandler,
} from '../../local/http-gateway';

const request = (overrides: Partial<GatewayRequest> = {}): GatewayRequest => ({
  method: 'POST',
  url: '/events/ecwid',
  headers: { host: ['127.0.0.1:3000'], 'content-type': ['application/json'] },
  sourceIp: '127.0.0.1',
  localPort: 3000,
  body: Buffer.from('{"a":1}'),
  ...overrides,
});

const sharedRoute = { kind: 'route', routeKey: 'POST /events/ecwid' } as const;

describe('matchRoute: the stack routes, and API Gateway answers for the rest', () => {
  test.each([
    ['POST', '/events/ecwid', { kind: 'route', routeKey: 'POST /events/ecwid' }],
    ['POST', '/events/ecwid/shop-a', { kind: 'route', routeKey: 'POST /events/ecwid/{instanceId}', pathParameters: { instanceId: 'shop-a' } }],
    // Decoded like API Gateway decodes path parameters: ingest must cope with what it gets.
    ['POST', '/events/ecwid/..%2F..%2Fetc%2Fpasswd', { kind: 'route', routeKey: 'POST /events/ecwid/{instanceId}', pathParameters: { instanceId: '../../etc/passwd' } }],
    ['POST', '/events/ecwid/%E0%A4%A', { kind: 'bad-request' }],
    ['GET', '/events/ecwid', { kind: 'method-not-allowed' }],
    ['PUT', '/events/ecwid/shop-a', { kind: 'method-not-allowed' }],
    ['POST', '/events/ecwid/a/b', { kind: 'not-found' }],
    ['POST', '/events/ecwid/../../etc/passwd', { kind: 'not-found' }],
    ['POST', '/events/ecwid/', { kind: 'not-found' }],
    ['POST', '/', { kind: 'not-found' }],
  ])('%s %s', (method, path, expected) => {
    expect(matchRoute(method, path)).toEqual(expected);
  });
});

describe('toApiGatewayEvent: payload format 2.0', () => {
  test('shape of a JSON post on the instance route', () => {
    const now = new Date('2024-03-12T19:03:58.123Z');
    const event = toApiGatewayEvent(
      request({
        url: '/events/ecwid/shop-a?eventtype=order.updated&x=1&x=2',
        headers: {
          host: ['127.0.0.1:3000'],
          'Content-Type': ['application/json; charset=UTF-8'],
          'X-Ecwid-Webhook-Signature': ['sig'],
          'x-repeated': ['a', 'b'],
          'user-agent': ['curl/8'],
          cookie: ['c1=1; c2=2'],
        },
        sourceIp: '10.0.0.7',
      }),
      { kind: 'route', routeKey: 'POST /events/ecwid/{instanceId}', pathParameters: { instanceId: 'shop-a' } },
      now,
    );
    expect(event).toEqual({
      version: '2.0',
      routeKey: 'POST /events/ecwid/{instanceId}',
      rawPath: '/events/ecwid/shop-a',
      rawQueryString: 'eventtype=order.updated&x=1&x=2',
      cookies: ['c1=1', 'c2=2'],
      headers: {
        host: '127.0.0.1:3000',
        'content-type': 'application/json; charset=UTF-8',
        'x-ecwid-webhook-signature': 'sig',
        'x-repeated': 'a,b',
        'user-agent': 'curl/8',
        'x-forwarded-for': '10.0.0.7',
        'x-forwarded-proto': 'http',
        'x-forwarded-port': '3000',
        'x-amzn-trace-id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
      },
      queryStringParameters: { eventtype: 'order.updated', x: '1,2' },
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: '127.0.0.1',
        domainPrefix: '127',
        http: { method: 'POST', path: '/events/ecwid/shop-a', protocol: 'HTTP/1.1', sourceIp: '10.0.0.7', userAgent: 'curl/8' },
        requestId: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
        routeKey: 'POST /events/ecwid/{instanceId}',
        stage: '$default',
        time: '12/Mar/2024:19:03:58 +0000',
        timeEpoch: now.getTime(),
      },
      pathParameters: { instanceId: 'shop-a' },
      body: '{"a":1}',
      isBase64Encoded: false,
    });
  });

  test.each([
    ['application/json', false],
    ['application/json; charset=UTF-8', false],
    ['text/plain', false],
    ['application/xml', false],
    ['application/x-www-form-urlencoded', true],
    ['application/octet-stream', true],
    [undefined, true],
  ])('content type %s -> isBase64Encoded %s', (contentType, base64) => {
    const body = Buffer.from('owner_id=1&order_id=2');
    const event = toApiGatewayEvent(
      request({ headers: contentType ? { 'content-type': [contentType] } : {}, body }),
      sharedRoute,
    );
    expect(event.isBase64Encoded).toBe(base64);
    expect(event.body).toBe(base64 ? body.toString('base64') : body.toString('utf8'));
  });

  test('no body: no body field, no query fields, no path parameters', () => {
    const event = toApiGatewayEvent(request({ body: Buffer.alloc(0) }), sharedRoute);
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('queryStringParameters');
    expect(event).not.toHaveProperty('pathParameters');
    expect(event).not.toHaveProperty('cookies');
    expect(event.rawQueryString).toBe('');
    expect(event.isBase64Encoded).toBe(false);
  });

  test('requestContext.time pads like API Gateway', () => {
    expect(apiGatewayTime(new Date('2020-01-02T03:04:05Z'))).toBe('02/Jan/2020:03:04:05 +0000');
  });
});

describe('toHttpAnswer: how API Gateway reads a format 2.0 result', () => {
  test('structured result: status, lower-cased headers, cookies, body', () => {
    const answer = toHttpAnswer({
      statusCode: 401,
      headers: { 'Content-Type': 'application/json', 'X-Count': 2 },
      cookies: ['a=1'],
      body: '{"error":"bad signature"}',
    });
    expect(answer.statusCode).toBe(401);
    expect(answer.headers).toEqual({ 'content-type': 'application/json', 'x-count': '2', 'set-cookie': ['a=1'] });
    expect(answer.body.toString()).toBe('{"error":"bad signature"}');
  });

  test('base64 bodies are decoded', () => {
    expect(toHttpAnswer({ statusCode: 200, body: Buffer.from('raw').toString('base64'), isBase64Encoded: true }).body.toString()).toBe('raw');
  });

  test('a string or an object without statusCode is a 200 JSON answer', () => {
    expect(toHttpAnswer('{"ok":true}')).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from('{"ok":true}') });
    const answer = toHttpAnswer({ queued: 1 } as unknown as APIGatewayProxyResultV2);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ queued: 1 });
  });

  test('an impossible status code is a 500', () => {
    expect(toHttpAnswer({ statusCode: 42 }).statusCode).toBe(500);
  });
});

describe('createHttpGateway', () => {
  let server: Server;
  let port: number;
  let handler: jest.MockedFunction<IngestHandler>;
  const observed: APIGatewayProxyEventV2[] = [];

  beforeAll(async () => {
    handler = jest.fn();
    server = createHttpGateway({
      handler: (event) => handler(event),
      maxBodyBytes: 1024,
      integrationTimeoutMs: 300,
      onEvent: (event) => observed.push(event),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    handler.mockReset();
    observed.length = 0;
  });

  interface Reply {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }

  /** Raw HTTP (no URL normalization), optionally streaming the body in chunks without a Content-Length. */
  function send(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers = { ...options.headers };
      if (options.body !== undefined) headers['content-length'] = String(Buffer.byteLength(options.body));
      const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      if (options.chunks) {
        for (const chunk of options.chunks) req.write(chunk);
        req.end();
      } else {
        req.end(options.body);
      }
    });
  }

  test('passes the event to the handler and its answer back as it is', async () => {
    handler.mockResolvedValue({ statusCode: 202, headers: { 'content-type': 'application/json', 'x-test': 'yes' }, body: '{"queued":1}' });
    const reply = await send('POST', '/events/ecwid/shop-a?eventtype=order.created', {
      headers: { 'content-type': 'application/json', 'X-Ecwid-Webhook-Signature': 'abc' },
      body: '{"eventId":"e1"}',
    });
    expect(reply).toMatchObject({ status: 202, body: '{"queued":1}' });
    expect(reply.headers['x-test']).toBe('yes');
    expect(handler).toHaveBeenCalledTimes(1);
    const event = handler.mock.calls[0][0];
    expect(event).toMatchObject({
      routeKey: 'POST /events/ecwid/{instanceId}',
      rawPath: '/events/ecwid/shop-a',
      pathParameters: { instanceId: 'shop-a' },
      headers: { 'x-ecwid-webhook-signature': 'abc', 'content-type': 'application/json' },
      body: '{"eventId":"e1"}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', sourceIp: '127.0.0.1' } },
    });
    expect(observed).toEqual([event]);
  });

  test('form posts arrive base64-encoded, as API Gateway sends them', async () => {
    handler.mockResolvedValue({ statusCode: 200, body: '{}' });
    await send('POST', '/events/ecwid', { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'owner_id=12345&order_id=124' });
    const event = handler.mock.calls[0][0];
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64').toString()).toBe('owner_id=12345&order_id=124');
  });

  test.each([
    ['GET', '/events/ecwid', 405, 'Method Not Allowed'],
    ['DELETE', '/events/ecwid/shop-a', 405, 'Method Not Allowed'],
    ['POST', '/other', 404, 'Not Found'],
    ['POST', '/events/ecwid/../../etc/passwd', 404, 'Not Found'],
    ['POST', '/events/ecwid/%E0%A4%A', 400, 'Bad Request'],
  ])('%s %s -> %d without calling the handler', async (method, path, status, message) => {
    const reply = await send(method, path, { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.body)).toEqual({ message });
    if (status === 405) expect(reply.headers.allow).toBe('POST');
    expect(handler).not.toHaveBeenCalled();
  });

  test('a body over the limit is refused with 413 when Content-Length says so', async () => {
    const reply = await send('POST', '/events/ecwid', { headers: { 'content-type': 'application/json' }, body: Buffer.alloc(1025, 'a') });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toEqual({ message: 'Request Entity Too Large' });
    expect(handler).not.toHaveBeenCalled();
  });

  test('Expect: 100-continue with an oversize Content-Length gets 413 before the body is sent', async () => {
    const reply = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/events/ecwid',
        headers: { 'content-type': 'application/json', 'content-length': '5000', expect: '100-continue' },
      });
      req.on('continue', () => (continued = true));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(reply).toEqual({ status: 413, continued: false });
    expect(handler).not.toHaveBeenCalled();
  });

  test('Expect: 100-continue within the limit goes on as usual', async () => {
    handler.mockResolvedValue({ statusCode: 200, body: 'ok' });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/events/ecwid',
        headers: { 'content-type': 'application/json', 'content-length': '2', expect: '100-continue' },
      });
      req.on('continue', () => req.end('{}'));
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(status).toBe(200);
    expect(handler.mock.calls[0][0].body).toBe('{}');
  });

  test('a chunked body is counted while streaming and refused once over the limit', async () => {
    const chunks = Array.from({ length: 4 }, () => Buffer.alloc(400, 'b'));
    const reply = await send('POST', '/events/ecwid', { headers: { 'content-type': 'application/json' }, chunks });
    expect(reply.status).toBe(413);
    expect(handler).not.toHaveBeenCalled();
  });

  test('a body exactly at the limit reaches the handler', async () => {
    handler.mockResolvedValue({ statusCode: 200, body: '{}' });
    const reply = await send('POST', '/events/ecwid', { headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(1024, 'c') });
    expect(reply.status).toBe(200);
    expect(handler.mock.calls[0][0].body).toHaveLength(1024);
  });

  test('a handler that throws becomes API Gateway 500, and the gateway keeps serving', async () => {
    handler.mockRejectedValueOnce(new Error('boom'));
    const failed = await send('POST', '/events/ecwid', { body: 'x' });
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toEqual({ message: 'Internal Server Error' });
    handler.mockResolvedValueOnce({ statusCode: 200, body: 'ok' });
    expect((await send('POST', '/events/ecwid', { body: 'x' })).status).toBe(200);
  });

  test('a handler slower than the integration timeout becomes 503', async () => {
    handler.mockImplementation(() => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200 }), 1000)));
    const reply = await send('POST', '/events/ecwid', { body: 'x' });
    expect(reply.status).toBe(503);
    expect(JSON.parse(reply.body)).toEqual({ message: 'Service Unavailable' });
  });
});
